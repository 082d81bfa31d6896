/** Remote actors: registration, capabilities and heartbeat policy. */
import type { DepartmentId } from "../ids/department-id.js";
import type { ActorId, TenantId } from "../ids/ids.js";

/** A registered remote actor. `identity` is also its lease owner string. */
export interface ActorRegistration {
  readonly actorId: ActorId;
  readonly identity: string;
  /** Non-empty list of non-empty capability strings. */
  readonly capabilities: readonly string[];
  readonly department?: DepartmentId;
  /** Expected heartbeat interval in milliseconds, ≥ 1. */
  readonly heartbeatIntervalMs: number;
  readonly tenantId?: TenantId;
}

/** When an actor counts as dead: `intervalMs × timeoutMultiplier` without a heartbeat. */
export interface HeartbeatPolicy {
  readonly intervalMs: number;
  readonly timeoutMultiplier: number;
}
