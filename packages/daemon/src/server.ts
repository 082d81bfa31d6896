/**
 * The fastify application factory: probes, the `/api/v1` read and control
 * routes, `/metrics` and the event stream, JSON error envelopes for every
 * failure (including the framework's own: unknown route, a path the router
 * refuses, bad JSON, body too large, wrong media type). It has no socket of
 * its own, so tests drive it with `inject()`; {@link startDaemon} listens
 * with it.
 */
import Fastify, { LogController } from "fastify";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Logger } from "pino";
import type { AuthConfig } from "./auth.js";
import { daemonError, errorResponse } from "./errors.js";
import { parseJsonBody } from "./internal/json-body.js";
import { MAX_PATH_PARAM_LENGTH, routerError } from "./internal/router-errors.js";
import type { DaemonMetrics } from "./metrics.js";
import { registerControlRoutes } from "./routes/control.js";
import { registerObservabilityRoutes } from "./routes/observability.js";
import { registerProbeRoutes } from "./routes/probes.js";
import { registerReadRoutes } from "./routes/read.js";
import type { EventHub } from "./sse.js";
import type { DaemonState } from "./state.js";

/** Default request body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The daemon's lifecycle state (the queue appears in it once recovered). */
  readonly state: DaemonState;
  /** Protection of the mutating routes. */
  readonly auth: AuthConfig;
  /** Serves `/metrics` when given. */
  readonly metrics?: DaemonMetrics;
  /** Serves `/api/v1/events` when given. */
  readonly events?: EventHub;
  /** Request errors (5xx) are logged here; nothing is logged when absent. */
  readonly logger?: Logger;
  /** Largest accepted request body in bytes (default 1 MiB); larger → 413. */
  readonly bodyLimitBytes?: number;
}

/** Builds the daemon's HTTP application (not listening). */
export function createServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // A client must finish sending its request within 30 s (slow-loris guard; event streams are unaffected).
    requestTimeout: 30_000,
    // Ids longer than fastify's default (100) reach the routes' own validation (400 INVALID_ID naming them) instead of a 414.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // Paths the router refuses (bad percent-encoding, a parameter still over the limit) get the error envelope too.
    frameworkErrors: (error, request, reply) => {
      const refusal = routerError(error, request.method, request.url, findRoute) ?? error;
      const { status, body, internal } = errorResponse(refusal);
      if (internal) options.logger?.error({ err: error, method: request.method, url: request.url }, "request failed");
      void (reply as FastifyReply).code(status).send(body);
    },
  }) as unknown as FastifyInstance;
  function findRoute(method: string, url: string) {
    return app.findRoute({ method, url });
  }
  const logger = options.logger;
  // JSON only: a text body is refused with 415 instead of reaching the validators as a string.
  app.removeContentTypeParser("text/plain");
  // Many clients send `content-type: application/json` with an empty body on a
  // bodiless POST (cancel, pause): parseJsonBody treats that as no body. Like
  // fastify's parser it refuses __proto__/constructor poisoning, but names the
  // key instead of calling the body "not valid JSON". The body limit still applies.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    let value: unknown;
    try {
      value = parseJsonBody(typeof body === "string" ? body : body.toString("utf8"));
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, value);
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = errorResponse(error);
    if (internal) logger?.error({ err: error, method: request.method, url: request.url }, "request failed");
    else if (status >= 500) logger?.warn({ code: body.error.code, method: request.method, url: request.url }, body.error.message);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = errorResponse(daemonError("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0] ?? ""}`));
    return reply.code(status).send(body);
  });
  const metrics = options.metrics;
  if (metrics !== undefined) {
    app.addHook("onResponse", (request, reply, done) => {
      // Unmatched URLs share one label so scanners cannot blow up the series count.
      metrics.observeRequest(request.method, request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
  app.addHook("preClose", (done) => {
    options.events?.closeAll();
    done();
  });

  const ctx = { state: options.state, auth: options.auth, metrics: options.metrics, events: options.events };
  registerProbeRoutes(app, ctx);
  registerReadRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  registerObservabilityRoutes(app, ctx);
  return app;
}
