/**
 * The typed events of a running ActionQueue. Each is emitted only after the
 * change it reports is durable, so a subscriber never hears of a state the WAL
 * does not hold. Metrics, logs and UIs subscribe; the engine imports none of them.
 */
import type { AttemptId, AttemptResultKind, RunId, RunState, TaskId } from "@actionqueue/core";

/** Every event name and its payload. Times are epoch milliseconds. */
export interface ActionQueueEvents {
  /** A task and its runs were durably created. */
  "task:submitted": { readonly taskId: TaskId; readonly runIds: readonly RunId[]; readonly at: number };
  /** A task was canceled. */
  "task:canceled": { readonly taskId: TaskId; readonly at: number };
  /** A finished task and its runs were durably purged (see `ActionQueue.purge`). */
  "task:purged": { readonly taskId: TaskId; readonly runIds: readonly RunId[]; readonly at: number };
  /** A run became eligible for dispatch. */
  "run:ready": { readonly runId: RunId; readonly taskId: TaskId; readonly at: number };
  /** A handler is about to be called. `lagMs` is how late the run started versus its due time. */
  "attempt:started": {
    readonly runId: RunId;
    readonly taskId: TaskId;
    readonly attemptId: AttemptId;
    readonly attemptNumber: number;
    readonly at: number;
    readonly lagMs: number;
  };
  /** An attempt's outcome is durable. */
  "attempt:finished": {
    readonly runId: RunId;
    readonly taskId: TaskId;
    readonly attemptId: AttemptId;
    readonly result: AttemptResultKind;
    readonly error?: string;
    readonly durationMs: number;
    readonly at: number;
  };
  /** A failed attempt will be retried at `retryAt`. */
  "run:retrying": { readonly runId: RunId; readonly taskId: TaskId; readonly retryAt: number; readonly at: number };
  "run:completed": { readonly runId: RunId; readonly taskId: TaskId; readonly at: number };
  "run:failed": { readonly runId: RunId; readonly taskId: TaskId; readonly error?: string; readonly at: number };
  "run:canceled": { readonly runId: RunId; readonly taskId: TaskId; readonly previousState: RunState; readonly at: number };
  "run:suspended": { readonly runId: RunId; readonly taskId: TaskId; readonly at: number };
  "run:resumed": { readonly runId: RunId; readonly taskId: TaskId; readonly at: number };
  /** A lease ran out (or was found held by a dead process at recovery). */
  "lease:expired": { readonly runId: RunId; readonly owner: string; readonly at: number };
  "engine:paused": { readonly at: number };
  "engine:resumed": { readonly at: number };
  /** A snapshot was written. */
  "snapshot:written": { readonly sequence: number; readonly at: number };
  /** Something went wrong outside any caller's promise (e.g. the WAL failed and the queue stopped). */
  error: { readonly error: unknown };
}

/** An event name. */
export type ActionQueueEventName = keyof ActionQueueEvents;

/** A listener of one event. */
export type ActionQueueListener<TName extends ActionQueueEventName> = (event: ActionQueueEvents[TName]) => void;
