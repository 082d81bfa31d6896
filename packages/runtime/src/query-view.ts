/**
 * Read-side views over the durable projection: tasks, runs with their attempt
 * history, paged listings, statistics and `explain()`. Shared by the live
 * queue and the read-only inspector, so both answer exactly alike.
 */
import type { RunId, RunInstance, RunState } from "@actionqueue/core";
import { ActionQueueError, CommandRejectedError, ValidationError, describeValue, isRunState, parseRunId, parseTaskId } from "@actionqueue/core";
import { holdsConcurrencyKey } from "@actionqueue/engine";
import type { ProjectionView } from "@actionqueue/storage";
import type { AttemptView, Explanation, ListRunsQuery, RunPage, RunView, Stats, TaskView } from "./types.js";
import type { GateHoldInfo } from "./gates/dispatch-gate.js";

/** Live facts only the running queue knows (the inspector has none of them). */
export interface LiveFacts {
  /** When a retryWait run becomes ready again. */
  retryDueAt(run: RunInstance): number | undefined;
  /** The run holding a concurrency key, if any. */
  keyHolder(key: string): RunId | undefined;
  /** Why a ready run is held by a dispatch gate, if it is. */
  gateHold?(runId: RunId): GateHoldInfo | undefined;
}

/** States whose runs the projection keeps in a set (runs spend an attempt's time there, not their life). */
const INDEXED_STATES: ReadonlySet<RunState> = new Set<RunState>(["leased", "running", "retryWait", "suspended"]);

const DEFAULT_PAGE = 100;
const MAX_PAGE = 10_000;

function pageLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError("INVALID_FIELD", `limit ${describeValue(limit)}: expected an integer from 1 to ${MAX_PAGE}`, {
      details: { field: "limit", value: describeValue(limit) },
    });
  }
  return limit;
}

/**
 * The query of a listing: `undefined` is the default page; anything but an
 * object is refused (a string or number read as "no filter", null threw a
 * TypeError), as `purge` refuses its options.
 */
function queryOf<T extends object>(method: string, query: T | undefined): Partial<T> {
  if (query === undefined) return {};
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    throw new ValidationError("INVALID_FIELD", `${method} query ${describeValue(query)}: expected an object (omit it for the first page)`, {
      details: { field: "query", value: describeValue(query) },
    });
  }
  return query;
}

/**
 * An id given in a query field, refused under that field's name: the id
 * parser only knows the kind of id, and a cursor and a task filter are both ids.
 */
function idIn<T>(field: string, parse: (value: unknown) => T, value: unknown): T {
  try {
    return parse(value);
  } catch (error) {
    if (!ActionQueueError.is(error)) throw error;
    throw new ValidationError(error.code, `${field}: ${error.message}`, { details: { ...error.details, field }, cause: error });
  }
}

/** Read API over a projection. */
export class QueryView {
  readonly #projection: ProjectionView;
  readonly #live: LiveFacts | undefined;
  #statsCache: { sequence: number; stats: Stats } | undefined;

  constructor(projection: ProjectionView, live?: LiveFacts) {
    this.#projection = projection;
    this.#live = live;
  }

  /** A task with its run ids, or undefined. Throws `INVALID_ID` for a malformed id. */
  getTask(id: string): TaskView | undefined {
    const taskId = parseTaskId(id);
    const record = this.#projection.getTask(taskId);
    if (!record) return undefined;
    const spec = record.spec;
    return {
      taskId,
      ...(spec.name === undefined ? {} : { name: spec.name }),
      runPolicy: spec.runPolicy,
      constraints: spec.constraints,
      metadata: spec.metadata,
      ...(spec.payload.contentType === undefined ? {} : { contentType: spec.payload.contentType }),
      // A copy: the caller may change it in place; the task's bytes are what handlers get.
      payload: spec.payload.bytes.slice(),
      createdAt: record.createdAt,
      ...(record.canceledAt === undefined ? {} : { canceledAt: record.canceledAt }),
      runIds: this.#projection.runsOfTask(taskId),
    };
  }

  /** Tasks in creation order, paged by task id. */
  listTasks(given?: { limit?: number; cursor?: string }): { tasks: TaskView[]; nextCursor?: string } {
    const query = queryOf("listTasks", given);
    const limit = pageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : idIn("cursor", parseTaskId, query.cursor);
    const tasks: TaskView[] = [];
    let more = false;
    for (const taskId of this.#projection.taskIdsInIdOrder(after)) {
      if (tasks.length === limit) {
        more = true;
        break;
      }
      tasks.push(this.getTask(taskId)!);
    }
    const last = tasks[tasks.length - 1];
    return more && last ? { tasks, nextCursor: last.taskId } : { tasks };
  }

  /** A run with its attempt and state history, or undefined. Throws `INVALID_ID` for a malformed id. */
  getRun(id: string): RunView | undefined {
    const runId = parseRunId(id);
    const run = this.#projection.getRun(runId);
    if (!run) return undefined;
    const attempts: AttemptView[] = this.#projection.attempts(runId).map((a, i) => ({
      attemptId: a.attemptId,
      attemptNumber: i + 1,
      startedAt: a.startedAt,
      ...(a.finishedAt === undefined ? {} : { finishedAt: a.finishedAt }),
      ...(a.outcome === undefined ? {} : { result: a.outcome.result }),
      ...(a.outcome?.error === undefined ? {} : { error: a.outcome.error }),
      ...(a.outcome?.output === undefined ? {} : { output: a.outcome.output.slice() }),
    }));
    const lease = this.#projection.lease(runId);
    return {
      runId,
      taskId: run.taskId,
      state: run.state,
      createdAt: run.createdAt,
      scheduledAt: run.scheduledAt,
      priority: run.effectivePriority,
      attemptCount: run.attemptCount,
      ...(run.currentAttemptId === undefined ? {} : { currentAttemptId: run.currentAttemptId }),
      ...(lease === undefined ? {} : { lease: { owner: lease.owner, expiresAt: lease.expiresAt } }),
      attempts,
      history: this.#projection.runHistory(runId).map((h) => ({ from: h.from, to: h.to, at: h.at })),
    };
  }

  /** Runs in run-id (creation) order, filtered by state and/or task, paged. */
  listRuns(given?: ListRunsQuery): RunPage {
    const query = queryOf("listRuns", given);
    const limit = pageLimit(query.limit);
    if (query.state !== undefined && !isRunState(query.state)) {
      throw new ValidationError(
        "INVALID_FIELD",
        `state ${describeValue(query.state)}: expected one of scheduled, ready, leased, running, retryWait, suspended, completed, failed, canceled`,
        { details: { field: "state", value: describeValue(query.state) } },
      );
    }
    const after = query.cursor === undefined ? undefined : idIn("cursor", parseRunId, query.cursor);
    // Sets small enough to sort (a task's runs, runs mid-attempt, waiting or
    // suspended) are listed from their index; any other listing walks the runs
    // in id order from the cursor and stops after one page, rather than
    // collect and sort every run in the state on each page.
    let candidates: Iterable<RunId>;
    if (query.taskId !== undefined) candidates = this.#projection.runsOfTask(idIn("taskId", parseTaskId, query.taskId));
    else if (query.state !== undefined && INDEXED_STATES.has(query.state)) candidates = this.#projection.runsInState(query.state);
    else candidates = this.#projection.runIdsInIdOrder(after);
    const runs: RunView[] = [];
    let more = false;
    for (const runId of candidates) {
      if (after !== undefined && runId <= after) continue;
      if (query.state !== undefined && this.#projection.runState(runId) !== query.state) continue;
      if (runs.length === limit) {
        more = true;
        break;
      }
      runs.push(this.getRun(runId)!);
    }
    const last = runs[runs.length - 1];
    return more && last ? { runs, nextCursor: last.runId } : { runs };
  }

  /** Counters over the whole data directory (cached per WAL sequence). */
  stats(): Stats {
    const sequence = this.#projection.latestSequence;
    if (this.#statsCache?.sequence === sequence) return this.#statsCache.stats;
    const c = this.#projection.countsByState();
    const attemptsByResult = this.#projection.attemptResultCounts();
    const stats: Stats = {
      tasks: this.#projection.taskCount,
      runs: this.#projection.runCount,
      runsByState: {
        scheduled: c.scheduled,
        ready: c.ready,
        leased: c.leased,
        running: c.running,
        retryWait: c.retryWait,
        suspended: c.suspended,
        completed: c.completed,
        failed: c.failed,
        canceled: c.canceled,
      },
      attemptsByResult,
      latestSequence: sequence,
      paused: this.#projection.isEnginePaused(),
    };
    this.#statsCache = { sequence, stats };
    return stats;
  }

  /** Why a run is not running now (or that it is). Throws `NOT_FOUND` for an unknown run. */
  explain(id: string, now: number): Explanation {
    const explanation = this.#explain(id, now);
    if (!explanation) throw new CommandRejectedError("NOT_FOUND", `run ${id} does not exist`, { details: { runId: id } });
    return explanation;
  }

  #explain(id: string, now: number): Explanation | undefined {
    const runId = parseRunId(id);
    const run = this.#projection.getRun(runId);
    if (!run) return undefined;
    const task = this.#projection.getTask(run.taskId);
    const state: RunState = run.state;
    const iso = (ms: number): string => new Date(ms).toISOString();
    switch (state) {
      case "completed":
      case "failed":
      case "canceled": {
        const attempts = this.#projection.attempts(runId);
        const lastError = [...attempts].reverse().find((a) => a.outcome?.error !== undefined)?.outcome?.error;
        const how =
          state === "completed"
            ? `completed after ${run.attemptCount} attempt(s)`
            : state === "failed"
              ? `failed after ${run.attemptCount} attempt(s)${lastError ? `: ${lastError}` : ""}`
              : task?.canceledAt !== undefined
                ? "canceled because its task was canceled"
                : "canceled";
        return { kind: "terminal", runId, state, ...(lastError === undefined ? {} : { lastError }), message: `run is terminal: ${how}` };
      }
      case "running":
        return {
          kind: "running",
          runId,
          ...(run.currentAttemptId === undefined ? {} : { attemptId: run.currentAttemptId }),
          message: `run is running attempt ${run.attemptCount}${run.currentAttemptId ? ` (${run.currentAttemptId})` : ""}`,
        };
      case "leased": {
        const lease = this.#projection.lease(runId);
        return {
          kind: "leased",
          runId,
          owner: lease?.owner ?? "unknown",
          expiresAt: lease?.expiresAt ?? 0,
          message: `run is leased by ${lease?.owner ?? "unknown"} until ${lease ? iso(lease.expiresAt) : "unknown"}`,
        };
      }
      case "suspended":
        return { kind: "suspended", runId, message: "run is suspended; resume it with resumeRun" };
      case "scheduled":
        if (run.scheduledAt > now) {
          return { kind: "scheduled", runId, dueAt: run.scheduledAt, message: `run is scheduled for ${iso(run.scheduledAt)}` };
        }
        break;
      case "retryWait": {
        const retryAt = this.#live?.retryDueAt(run);
        if (retryAt === undefined || retryAt > now) {
          return {
            kind: "retryWait",
            runId,
            retryAt: retryAt ?? run.lastStateChangeAt,
            attemptCount: run.attemptCount,
            message:
              retryAt === undefined
                ? `run is waiting to retry after attempt ${run.attemptCount} (since ${iso(run.lastStateChangeAt)})`
                : `run is waiting out its backoff until ${iso(retryAt)} after attempt ${run.attemptCount}`,
          };
        }
        break;
      }
      case "ready":
        break;
    }
    if (this.#projection.isEnginePaused()) {
      return { kind: "enginePaused", runId, message: "the engine is paused; resume it to dispatch runs" };
    }
    const key = task?.spec.constraints.concurrencyKey;
    if (key !== undefined) {
      const holder = this.#live?.keyHolder(key) ?? this.#durableKeyHolder(key, runId);
      if (holder !== undefined && holder !== runId) {
        return {
          kind: "concurrencyKeyHeld",
          runId,
          key,
          heldBy: holder,
          message: `concurrency key ${JSON.stringify(key)} is held by run ${holder}`,
        };
      }
    }
    const held = this.#live?.gateHold?.(runId);
    if (held !== undefined) {
      const until = held.until === undefined ? "" : ` until ${iso(held.until)}`;
      return {
        kind: "gateHeld",
        runId,
        gate: held.gate,
        reason: held.reason,
        ...(held.until === undefined ? {} : { until: held.until }),
        message: `run is held by gate ${JSON.stringify(held.gate)}${until}: ${held.reason}`,
      };
    }
    return { kind: "ready", runId, message: "run is ready and will be dispatched when a slot is free" };
  }

  /** The key holder as durable state says it, by the engine's hold rule (leased, running, and under holdDuringRetry also retrying, suspended or re-readied runs). */
  #durableKeyHolder(key: string, except: RunId): RunId | undefined {
    // The engine's hold rule, applied to durable state, so the inspector and the live gate agree.
    for (const state of ["running", "leased", "retryWait", "suspended", "ready"] as const) {
      for (const runId of this.#projection.runsInState(state)) {
        if (runId === except) continue;
        const run = this.#projection.getRun(runId);
        const spec = run ? this.#projection.getTask(run.taskId)?.spec : undefined;
        if (!run || spec?.constraints.concurrencyKey !== key) continue;
        if (holdsConcurrencyKey(run, spec.constraints.concurrencyKeyHoldPolicy)) return runId;
      }
    }
    return undefined;
  }

}
