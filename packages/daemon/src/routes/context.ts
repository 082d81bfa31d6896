/**
 * What every route module receives from the server factory: the daemon
 * state, the auth configuration and the optional metrics and event hub.
 */
import type { AuthConfig } from "../auth.js";
import type { DaemonMetrics } from "../metrics.js";
import type { EventHub } from "../sse.js";
import type { DaemonState } from "../state.js";

/** Shared dependencies of the route modules. */
export interface RouteContext {
  readonly state: DaemonState;
  readonly auth: AuthConfig;
  readonly metrics: DaemonMetrics | undefined;
  readonly events: EventHub | undefined;
}
