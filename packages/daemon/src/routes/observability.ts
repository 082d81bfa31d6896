/**
 * `GET /metrics` (Prometheus text exposition) and `GET /api/v1/events` (the
 * Server-Sent Events stream of engine events, optionally limited with
 * `?events=run:completed,run:failed`).
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, daemonError } from "../errors.js";
import { parseWith } from "../internal/validate.js";
import { STREAMED_EVENTS } from "../sse.js";
import { requireQueue } from "../state.js";
import type { RouteContext } from "./context.js";

const eventsQuery = z.strictObject({ events: z.string().optional() });

/** Registers `/metrics` (when metrics are on) and `/api/v1/events` (when the hub is on). */
export function registerObservabilityRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const metrics = ctx.metrics;
  if (metrics !== undefined) {
    app.get("/metrics", async (_request, reply) => {
      const { contentType, text } = await metrics.render();
      return reply.header("content-type", contentType).send(text);
    });
  }

  const hub = ctx.events;
  if (hub !== undefined) {
    app.get("/api/v1/events", (request, reply) => {
      const query = parseWith(eventsQuery, request.query, "query");
      let only: Set<string> | undefined;
      if (query.events !== undefined) {
        only = new Set(query.events.split(",").map((name) => name.trim()).filter((name) => name !== ""));
        for (const name of only) {
          if (!(STREAMED_EVENTS as readonly string[]).includes(name)) {
            throw new HttpError(400, "INVALID_FIELD", `events: unknown event ${JSON.stringify(name)}; expected some of ${STREAMED_EVENTS.join(", ")}`, {
              field: "events",
            });
          }
        }
      }
      requireQueue(ctx.state);
      if (ctx.state.phase !== "ready") throw daemonError("NOT_READY", "the daemon is not ready");
      reply.hijack();
      hub.open(reply.raw, only);
    });
  }
}
