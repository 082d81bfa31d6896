/**
 * Purging finished tasks: which ones may go, and the checks of the options
 * of {@link ActionQueue.purge} and of `retention`. A task is finished when
 * every run it has is terminal and its policy will derive no more (a cron
 * task must be canceled or have had all of its `maxOccurrences`); it is
 * purged only once no remaining task depends on it. Removing it takes its
 * runs and attempt history out of memory, snapshots and the WAL's future.
 */
import type { RunId, RunState, TaskId } from "@actionqueue/core";
import { ValidationError, closestKey, describeValue, isTerminalState, mayDeriveMoreRuns } from "@actionqueue/core";
import type { ProjectionView } from "@actionqueue/storage";

/** The terminal run states a purge can select by. */
export type TerminalRunState = "completed" | "failed" | "canceled";

const TERMINAL_STATES: readonly TerminalRunState[] = ["completed", "failed", "canceled"];

/** What {@link ActionQueue.purge} removes. Without options: every finished task. */
export interface PurgeOptions {
  /** Only tasks that finished (their last run ended) at or before this time, epoch ms (default: now). */
  readonly finishedBefore?: number;
  /** Only tasks that finished at least this many ms ago; with `finishedBefore`, the earlier cut-off applies. */
  readonly olderThanMs?: number;
  /** Only tasks whose runs all ended in one of these states (default: completed, failed and canceled). */
  readonly states?: readonly TerminalRunState[];
  /** At most this many tasks (default: no limit). */
  readonly limit?: number;
}

/** What a purge removed. */
export interface PurgeResult {
  /** Tasks removed. */
  readonly tasks: number;
  /** Runs removed with them. */
  readonly runs: number;
}

/** Purging finished tasks automatically while the queue is started (see {@link ActionQueue.purge}). */
export interface RetentionOptions {
  /** Purge tasks that finished at least this many ms ago. */
  readonly olderThanMs: number;
  /** Only tasks whose runs all ended in one of these states (default: all three). */
  readonly states?: readonly TerminalRunState[];
  /** How often to look, ms (default: `olderThanMs`, at least 1 s and at most 1 h). */
  readonly everyMs?: number;
}

/** Purge options checked, with the cut-off resolved against `now`. */
export interface PurgeSelection {
  readonly cutoff: number;
  readonly states: ReadonlySet<RunState>;
  readonly limit: number;
}

/** {@link RetentionOptions} checked, with defaults. */
export interface ResolvedRetention {
  readonly olderThanMs: number;
  readonly states: readonly TerminalRunState[];
  readonly everyMs: number;
}

function invalid(code: "INVALID_FIELD" | "INVALID_CONFIG", field: string, value: unknown, expected: string): never {
  const what = code === "INVALID_CONFIG" ? "option" : "purge option";
  throw new ValidationError(code, `invalid ${what} ${field} ${describeValue(value)}: expected ${expected}`, { details: { field, value: describeValue(value) } });
}

const PURGE_KEYS: readonly (keyof PurgeOptions)[] = ["finishedBefore", "olderThanMs", "states", "limit"];
const RETENTION_KEYS: readonly (keyof RetentionOptions)[] = ["olderThanMs", "states", "everyMs"];

/**
 * Refuses a key the options do not have. A misspelt `olderThanMs` would
 * otherwise be ignored, and a purge without a cut-off removes every finished
 * task: a typo must never widen what is deleted.
 */
function refuseUnknownKeys(code: "INVALID_FIELD" | "INVALID_CONFIG", prefix: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const near = closestKey(key, allowed);
    const field = `${prefix}${key}`;
    const what = code === "INVALID_CONFIG" ? "option" : "purge option";
    throw new ValidationError(
      code === "INVALID_CONFIG" ? "INVALID_CONFIG" : "UNKNOWN_FIELD",
      `unknown ${what} ${field}${near === undefined ? "" : ` (did you mean ${prefix}${near}?)`}; expected one of ${allowed.join(", ")}`,
      { details: { field, ...(near === undefined ? {} : { suggestion: `${prefix}${near}` }) } },
    );
  }
}

function nonNegativeInteger(code: "INVALID_FIELD" | "INVALID_CONFIG", field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) invalid(code, field, value, "a whole number of at least 0");
  return value;
}

function terminalStates(code: "INVALID_FIELD" | "INVALID_CONFIG", field: string, value: unknown): TerminalRunState[] {
  if (value === undefined) return [...TERMINAL_STATES];
  if (!Array.isArray(value) || value.length === 0) invalid(code, field, value, 'a non-empty list of "completed", "failed", "canceled"');
  for (const state of value as unknown[]) {
    if (!TERMINAL_STATES.includes(state as TerminalRunState)) invalid(code, field, state, '"completed", "failed" or "canceled"');
  }
  return value as TerminalRunState[];
}

/** Checks {@link PurgeOptions}; throws `INVALID_FIELD` naming the option and value. */
export function resolvePurgeOptions(options: PurgeOptions, now: number): PurgeSelection {
  // A list is not the options: purge(["completed"]) read as no options at all and purged every finished task.
  if (typeof options !== "object" || options === null || Array.isArray(options)) invalid("INVALID_FIELD", "options", options, "an object");
  refuseUnknownKeys("INVALID_FIELD", "", options, PURGE_KEYS);
  let cutoff = now;
  if (options.finishedBefore !== undefined) cutoff = Math.min(cutoff, nonNegativeInteger("INVALID_FIELD", "finishedBefore", options.finishedBefore));
  if (options.olderThanMs !== undefined) cutoff = Math.min(cutoff, now - nonNegativeInteger("INVALID_FIELD", "olderThanMs", options.olderThanMs));
  const limit = options.limit === undefined ? Number.POSITIVE_INFINITY : nonNegativeInteger("INVALID_FIELD", "limit", options.limit);
  return { cutoff, states: new Set<RunState>(terminalStates("INVALID_FIELD", "states", options.states)), limit };
}

/** Checks the `retention` option; throws `INVALID_CONFIG` naming the field. */
export function resolveRetention(value: unknown): ResolvedRetention | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) invalid("INVALID_CONFIG", "retention", value, "an object with olderThanMs");
  refuseUnknownKeys("INVALID_CONFIG", "retention.", value, RETENTION_KEYS);
  const retention = value as RetentionOptions;
  const olderThanMs = nonNegativeInteger("INVALID_CONFIG", "retention.olderThanMs", retention.olderThanMs);
  const states = terminalStates("INVALID_CONFIG", "retention.states", retention.states);
  const everyMs =
    retention.everyMs === undefined ? Math.min(3_600_000, Math.max(1_000, olderThanMs)) : nonNegativeInteger("INVALID_CONFIG", "retention.everyMs", retention.everyMs);
  if (everyMs < 100) invalid("INVALID_CONFIG", "retention.everyMs", everyMs, "at least 100 ms");
  return { olderThanMs, states, everyMs };
}

/** Tasks some remaining task still waits for: they stay until their dependents are gone. */
export function prerequisitesInUse(projection: ProjectionView): Set<TaskId> {
  const inUse = new Set<TaskId>();
  for (const dependent of projection.tasksWithDependencies()) for (const prerequisite of projection.dependencies(dependent)) inUse.add(prerequisite);
  return inUse;
}

/**
 * The runs of task `taskId` if it may be purged under `selection`: finished,
 * by the cut-off, every run in a selected state, and not a prerequisite in
 * use. Undefined otherwise.
 */
export function purgeableRuns(projection: ProjectionView, taskId: TaskId, selection: PurgeSelection, inUse: ReadonlySet<TaskId>): RunId[] | undefined {
  const task = projection.getTask(taskId);
  if (task === undefined || inUse.has(taskId)) return undefined;
  const runIds = projection.runsOfTask(taskId);
  if (mayDeriveMoreRuns(task.spec.runPolicy, task.canceledAt !== undefined, runIds.length)) return undefined;
  // A task without runs (a cron task canceled before its first) finished when it was canceled.
  let finishedAt = task.canceledAt ?? task.createdAt;
  for (const runId of runIds) {
    const state = projection.runState(runId);
    if (state === undefined || !isTerminalState(state) || !selection.states.has(state)) return undefined;
    finishedAt = Math.max(finishedAt, projection.runLastChangeAt(runId) ?? finishedAt);
  }
  return finishedAt <= selection.cutoff ? runIds : undefined;
}
