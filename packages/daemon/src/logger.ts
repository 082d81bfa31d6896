/**
 * Structured logs (pino, JSON lines on stderr so stdout stays free for the
 * one `{"listening": URL}` line). Engine events about a run are logged with
 * `runId` and `attemptId` on every line — `attemptId` is the run's latest
 * attempt, or null before its first one — so a run's story can be grepped.
 */
import { pino } from "pino";
import type { Logger, LevelWithSilent } from "pino";
import type { AttemptId, RunId } from "@actionqueue/core";
import type { ActionQueue } from "@actionqueue/runtime";

export type { Logger } from "pino";

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** True for a member of {@link LOG_LEVELS}. */
export function isLogLevel(value: unknown): value is LevelWithSilent {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** A pino logger writing JSON lines to stderr (or `destination`). */
export function createLogger(options: { readonly level?: LevelWithSilent; readonly destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    { level: options.level ?? "info", base: { service: "actionqueue-daemon" }, timestamp: pino.stdTimeFunctions.isoTime },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * Logs the queue's run events: attempts at debug (failures at warn), run
 * outcomes at info (failures at warn), leases that expired at warn. Returns
 * the unsubscribe function.
 */
export function attachRunLogging(queue: Pick<ActionQueue, "on">, logger: Logger): () => void {
  const lastAttempt = new Map<RunId, AttemptId>();
  const ids = (runId: RunId): { runId: RunId; attemptId: AttemptId | null } => ({ runId, attemptId: lastAttempt.get(runId) ?? null });
  const settled = (runId: RunId): void => void lastAttempt.delete(runId);
  const offs = [
    queue.on("task:submitted", (e) => logger.info({ taskId: e.taskId, runIds: e.runIds }, "task submitted")),
    queue.on("task:canceled", (e) => logger.info({ taskId: e.taskId }, "task canceled")),
    queue.on("task:purged", (e) => logger.debug({ taskId: e.taskId, runs: e.runIds.length }, "task purged")),
    queue.on("attempt:started", (e) => {
      lastAttempt.set(e.runId, e.attemptId);
      logger.debug({ runId: e.runId, attemptId: e.attemptId, taskId: e.taskId, attemptNumber: e.attemptNumber, lagMs: e.lagMs }, "attempt started");
    }),
    queue.on("attempt:finished", (e) => {
      const fields = { runId: e.runId, attemptId: e.attemptId, taskId: e.taskId, result: e.result, durationMs: e.durationMs };
      if (e.result === "success" || e.result === "suspended") logger.debug(fields, "attempt finished");
      else logger.warn({ ...fields, error: e.error }, "attempt failed");
    }),
    queue.on("run:retrying", (e) => logger.info({ ...ids(e.runId), taskId: e.taskId, retryAt: new Date(e.retryAt).toISOString() }, "run will retry")),
    queue.on("run:completed", (e) => {
      logger.info({ ...ids(e.runId), taskId: e.taskId }, "run completed");
      settled(e.runId);
    }),
    queue.on("run:failed", (e) => {
      logger.warn({ ...ids(e.runId), taskId: e.taskId, error: e.error }, "run failed");
      settled(e.runId);
    }),
    queue.on("run:canceled", (e) => {
      logger.info({ ...ids(e.runId), taskId: e.taskId, previousState: e.previousState }, "run canceled");
      settled(e.runId);
    }),
    queue.on("run:suspended", (e) => logger.info({ ...ids(e.runId), taskId: e.taskId }, "run suspended")),
    queue.on("run:resumed", (e) => logger.info({ ...ids(e.runId), taskId: e.taskId }, "run resumed")),
    queue.on("lease:expired", (e) => logger.warn({ ...ids(e.runId), owner: e.owner }, "lease expired")),
    queue.on("engine:paused", () => logger.info("engine paused")),
    queue.on("engine:resumed", () => logger.info("engine resumed")),
    queue.on("snapshot:written", (e) => logger.info({ sequence: e.sequence }, "snapshot written")),
    queue.on("error", (e) => logger.error({ err: e.error }, "queue failed")),
  ];
  return () => {
    for (const off of offs) off();
  };
}
