/**
 * Mutating routes: submit (the same strict validation as the CLI), cancel a
 * task or a run, resume a suspended run, pause and resume the engine, purge
 * finished tasks. Each
 * answers only after the change is durable, and each is behind the bearer
 * token check of {@link checkControlAccess}, made before the body is read.
 * None takes query parameters, so any is refused by name.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parseSubmitJson } from "@actionqueue/runtime";
import type { PurgeOptions } from "@actionqueue/runtime";
import { checkControlAccess } from "../auth.js";
import { HttpError } from "../errors.js";
import { refuseQuery, runIdField, taskIdField } from "../internal/validate.js";
import { requireQueue } from "../state.js";
import type { RouteContext } from "./context.js";

function idParam(request: FastifyRequest): unknown {
  return (request.params as Record<string, unknown> | undefined)?.id;
}

const PURGE_KEYS: ReadonlySet<string> = new Set(["olderThanMs", "finishedBefore", "states", "limit"]);

/** The purge options of a request body (none: every finished task); unknown keys are refused by name. The runtime checks the values. */
function purgeOptions(body: unknown): PurgeOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "INVALID_FIELD", "the purge body must be a JSON object", { field: "body" });
  for (const key of Object.keys(body)) {
    if (!PURGE_KEYS.has(key)) {
      throw new HttpError(400, "INVALID_FIELD", `unknown purge option ${JSON.stringify(key)}: expected olderThanMs, finishedBefore, states or limit`, { field: `body.${key}` });
    }
  }
  return body;
}

/** Registers the mutating routes under `/api/v1`. */
export function registerControlRoutes(app: FastifyInstance, ctx: RouteContext): void {
  // Run as an onRequest hook, before the body is read: an unauthenticated
  // client gets 401/403 whatever it sends, never a 413 or 415 that tells it
  // about the body limit or spends the time reading the body.
  const guard = (request: FastifyRequest): Promise<void> => {
    const denied = checkControlAccess(ctx.auth, request.headers.authorization);
    return denied === undefined ? Promise.resolve() : Promise.reject(denied);
  };

  app.post("/api/v1/tasks", { onRequest: guard }, async (request, reply) => {
    refuseQuery(request.query);
    const queue = requireQueue(ctx.state);
    const body: unknown = request.body;
    // parseSubmitJson names unknown keys and bad values; a bad taskId is named here.
    if (typeof body === "object" && body !== null && "taskId" in body && body.taskId !== null) taskIdField(body.taskId, "taskId");
    const submission = parseSubmitJson(body);
    const result = await queue.submit(submission);
    return reply.code(result.existing ? 200 : 201).send(result);
  });

  app.post("/api/v1/tasks/:id/cancel", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const taskId = taskIdField(idParam(request), "id");
    const queue = requireQueue(ctx.state);
    const task = queue.getTask(taskId);
    if (task === undefined) throw new HttpError(404, "NOT_FOUND", `task ${taskId} not found`);
    const alreadyCanceled = task.canceledAt !== undefined;
    const { canceledRuns } = await queue.cancelTask(taskId);
    return { taskId, status: alreadyCanceled ? "alreadyCanceled" : "canceled", canceledRuns };
  });

  app.post("/api/v1/runs/:id/cancel", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const runId = runIdField(idParam(request), "id");
    const queue = requireQueue(ctx.state);
    const run = queue.getRun(runId);
    if (run === undefined) throw new HttpError(404, "NOT_FOUND", `run ${runId} not found`);
    if (run.state === "canceled") return { runId, status: "alreadyCanceled" };
    await queue.cancelRun(runId); // a completed or failed run: INVALID_TRANSITION → 409
    return { runId, status: "canceled", previousState: run.state };
  });

  app.post("/api/v1/runs/:id/resume", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const runId = runIdField(idParam(request), "id");
    const queue = requireQueue(ctx.state);
    if (queue.getRun(runId) === undefined) throw new HttpError(404, "NOT_FOUND", `run ${runId} not found`);
    await queue.resumeRun(runId); // not suspended: INVALID_TRANSITION → 409
    return { runId, status: "resumed" };
  });

  app.post("/api/v1/engine/pause", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const queue = requireQueue(ctx.state);
    if (queue.stats().paused) return { status: "alreadyPaused" };
    await queue.pause();
    return { status: "paused" };
  });

  app.post("/api/v1/purge", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const options = purgeOptions(request.body);
    return requireQueue(ctx.state).purge(options);
  });

  app.post("/api/v1/engine/resume", { onRequest: guard }, async (request) => {
    refuseQuery(request.query);
    const queue = requireQueue(ctx.state);
    if (!queue.stats().paused) return { status: "alreadyResumed" };
    await queue.resume();
    return { status: "resumed" };
  });
}
