/**
 * Liveness and readiness. `/healthz` answers as long as the process serves
 * HTTP; `/ready` answers 200 only when recovery has finished and the daemon
 * is not draining, so a load balancer never sends work to a daemon that
 * cannot take it.
 */
import type { FastifyInstance } from "fastify";
import type { RouteContext } from "./context.js";

/** Registers `GET /healthz` and `GET /ready`. */
export function registerProbeRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/ready", (_request, reply) => {
    const ready = ctx.state.phase === "ready" && ctx.state.queue !== undefined;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? "ready" : ctx.state.phase,
      ...(ctx.state.failure === undefined ? {} : { reason: ctx.state.failure }),
    });
  });
}
