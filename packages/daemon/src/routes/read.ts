/**
 * Read routes: stats, tasks and runs (cursor pagination, `state` / `taskId`
 * filters), one run with its attempt history (outputs and payloads as
 * base64), and `explain`. They read the live queue's in-memory projection.
 * A query parameter a route does not take is refused by name.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ListRunsQuery } from "@actionqueue/runtime";
import { HttpError } from "../errors.js";
import { toWire } from "../internal/wire.js";
import { parseWith, refuseQuery, runIdField, runStateField, taskIdField } from "../internal/validate.js";
import { requireQueue } from "../state.js";
import type { RouteContext } from "./context.js";

/** Largest page size of the list routes. */
export const MAX_PAGE_SIZE = 10_000;

const limitSchema = z
  .string()
  .regex(/^\d+$/, `expected an integer from 1 to ${MAX_PAGE_SIZE}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_PAGE_SIZE, `expected an integer from 1 to ${MAX_PAGE_SIZE}`);
const cursorSchema = z.string().min(1, "expected the nextCursor of a previous page");

const taskListQuery = z.strictObject({ limit: limitSchema.optional(), cursor: cursorSchema.optional() });
const runListQuery = z.strictObject({
  limit: limitSchema.optional(),
  cursor: cursorSchema.optional(),
  state: z.string().optional(),
  taskId: z.string().optional(),
});
const idParams = z.object({ id: z.string() });

/** Registers the read routes under `/api/v1`. */
export function registerReadRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/api/v1/stats", (request) => {
    refuseQuery(request.query);
    return requireQueue(ctx.state).stats();
  });

  app.get("/api/v1/tasks", (request) => {
    const query = parseWith(taskListQuery, request.query, "query");
    const queue = requireQueue(ctx.state);
    if (query.cursor !== undefined) taskIdField(query.cursor, "cursor");
    const page = queue.listTasks({
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return toWire(page);
  });

  app.get("/api/v1/tasks/:id", (request) => {
    refuseQuery(request.query);
    const { id } = parseWith(idParams, request.params, "path");
    const taskId = taskIdField(id, "id");
    const task = requireQueue(ctx.state).getTask(taskId);
    if (task === undefined) throw notFound(`task ${taskId} not found`);
    return toWire(task);
  });

  app.get("/api/v1/runs", (request) => {
    const q = parseWith(runListQuery, request.query, "query");
    const query: ListRunsQuery = {
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.cursor === undefined ? {} : { cursor: runIdField(q.cursor, "cursor") }),
      ...(q.state === undefined ? {} : { state: runStateField(q.state, "state") }),
      ...(q.taskId === undefined ? {} : { taskId: taskIdField(q.taskId, "taskId") }),
    };
    return toWire(requireQueue(ctx.state).listRuns(query));
  });

  app.get("/api/v1/runs/:id", (request) => {
    refuseQuery(request.query);
    const { id } = parseWith(idParams, request.params, "path");
    const runId = runIdField(id, "id");
    const run = requireQueue(ctx.state).getRun(runId);
    if (run === undefined) throw notFound(`run ${runId} not found`);
    return toWire(run);
  });

  app.get("/api/v1/runs/:id/explain", (request) => {
    refuseQuery(request.query);
    const { id } = parseWith(idParams, request.params, "path");
    const runId = runIdField(id, "id");
    const queue = requireQueue(ctx.state);
    if (queue.getRun(runId) === undefined) throw notFound(`run ${runId} not found`);
    return toWire(queue.explain(runId));
  });
}

function notFound(message: string): HttpError {
  return new HttpError(404, "NOT_FOUND", message);
}
