/**
 * The public shapes of the embedded ActionQueue: options, submissions, views
 * of tasks and runs, statistics and explanations. The CLI and the daemon print
 * these objects as they are, so field names are part of the contract.
 */
import type { DispatchGate } from "./gates/dispatch-gate.js";
import type {
  AttemptId,
  AttemptResultKind,
  Clock,
  RunId,
  RunPolicy,
  RunState,
  TaskConstraints,
  TaskConstraintsInput,
  TaskId,
  TaskMetadata,
} from "@actionqueue/core";
import type { BackoffStrategy, Handler } from "@actionqueue/executor-local";
import type { WalSyncMode } from "@actionqueue/storage";
import type { RetentionOptions } from "./purge.js";

/** Handlers by task name; a task without a name uses `default`. */
export type HandlerMap = Readonly<Record<string, Handler<never>>>;

/** Options of {@link ActionQueue.open}. */
export interface ActionQueueOptions {
  /** Data directory (created if missing); holds `wal/`, `snapshots/` and the writer `LOCK`. */
  readonly dataDir: string;
  /** The handler of every task (or of tasks without a name when `handlers` is also given). */
  readonly handler?: Handler<never>;
  /** Handlers routed by task `name`. A task whose name has no handler fails terminally. */
  readonly handlers?: HandlerMap;
  /** Attempts in flight at once (default 16, 1..10000). */
  readonly concurrency?: number;
  /** Time, timers and randomness (default: the system clock). */
  readonly clock?: Clock;
  /** Retry backoff (default: fixed 5 s; delays in whole ms ≥ 0, an exponential `baseMs` ≤ its `maxMs`). */
  readonly backoff?: BackoffStrategy;
  /**
   * Write a snapshot after this many WAL events, wherever they come from
   * (default 500 000; 0 disables; at most `Number.MAX_SAFE_INTEGER`).
   * Snapshots are built in a worker thread from the durable files, so the
   * dispatch loop does not wait for them; the cost is CPU on another core,
   * proportional to the number of stored runs. Recovery replays at most about
   * this many events beyond the newest snapshot (about 1 M events/s).
   */
  readonly snapshotEvery?: number;
  /**
   * Build snapshots in a worker thread (default true): the dispatch loop never
   * waits for one, but while it builds, the worker holds a second copy of the
   * state (about as much memory as the queue's own). `false` encodes on the
   * event loop instead: no extra memory, a pause proportional to the stored
   * runs (about 0.4 s per 130k).
   */
  readonly snapshotInWorker?: boolean;
  /** Lease length for in-process attempts, ms (default 30 000, 1 000..86 400 000; heartbeats every third of it). */
  readonly leaseTimeoutMs?: number;
  /** The lease owner name written to the WAL (default `local:<pid>`). */
  readonly owner?: string;
  /**
   * How far ahead `runUntilIdle()` waits for work that is not due yet, ms
   * (default 10 000, 0..86 400 000): scheduled runs and retries due within it are waited for.
   */
  readonly idleHorizonMs?: number;
  /** How many future cron runs are materialised per task (default 5, 1..1000). */
  readonly cronWindow?: number;
  /** WAL `deferred` flush bound, ms (default 20, 1..50). Submissions and state changes are `immediate`. */
  readonly deferredFlushMs?: number;
  /**
   * How WAL writes become durable: `writeThrough` (the default where the
   * platform has `O_DSYNC`: each group commit is one write that returns once
   * durable) or `fdatasync` (a write, then an fdatasync). Both make every
   * acknowledged change durable; see `WalSyncMode` in `@actionqueue/storage`.
   */
  readonly walSyncMode?: WalSyncMode;
  /**
   * Keep the WAL's last segment zero-filled ahead of its data (default
   * true): group commits then overwrite existing blocks instead of growing
   * the file, which makes each durable write cheaper on ext4 and XFS. Turn
   * off on copy-on-write file systems (btrfs, ZFS), where it gains nothing.
   * The WAL's format is the same either way.
   */
  readonly walPreallocate?: boolean;
  /**
   * Purges finished tasks automatically while the queue is started: every
   * `everyMs`, those that finished at least `olderThanMs` ago (see
   * {@link ActionQueue.purge}). Off by default: every task and run is kept,
   * at 0.75–0.9 KB of heap per finished once-task.
   */
  readonly retention?: RetentionOptions;
  /**
   * Eligibility gates, asked in order about every run before it is
   * dispatched (rate limits, budgets, routing; see {@link DispatchGate} and
   * the built-in `rateLimit` and `concurrencyLimit`). Default: none.
   */
  readonly gates?: readonly DispatchGate[];
}

/** What to submit. */
export interface SubmitInput {
  /** Routes to `handlers[name]`. */
  readonly name?: string;
  /** Bytes, or any JSON value (stored as JSON with content type `application/json`). */
  readonly payload?: unknown;
  readonly contentType?: string;
  readonly runPolicy: RunPolicy;
  readonly constraints?: TaskConstraintsInput;
  readonly metadata?: Partial<TaskMetadata>;
  /** Supply to make the submission idempotent: the same id and spec returns the existing task. */
  readonly taskId?: TaskId;
}

/** The result of a submission. */
export interface SubmitResult {
  readonly taskId: TaskId;
  readonly runIds: readonly RunId[];
  /** True when `taskId` already existed with the same spec and nothing was written. */
  readonly existing: boolean;
  readonly latestSequence: number;
}

/** A task as seen from outside. */
export interface TaskView {
  readonly taskId: TaskId;
  readonly name?: string;
  readonly runPolicy: RunPolicy;
  readonly constraints: TaskConstraints;
  readonly metadata: TaskMetadata;
  readonly contentType?: string;
  /** A copy of the task's payload bytes (changing it changes nothing in the queue). */
  readonly payload: Uint8Array;
  readonly createdAt: number;
  readonly canceledAt?: number;
  readonly runIds: readonly RunId[];
}

/** One attempt in a run's history. */
export interface AttemptView {
  readonly attemptId: AttemptId;
  readonly attemptNumber: number;
  readonly startedAt: number;
  /** When the attempt ended: with a `result`, or without one when its run was canceled while the handler ran. Absent while it runs. */
  readonly finishedAt?: number;
  /** The handler's reported outcome; absent while running and for an attempt ended by cancellation (not counted in `stats().attemptsByResult`). */
  readonly result?: AttemptResultKind;
  readonly error?: string;
  /** A copy of the handler's output, if any (changing it changes nothing in the queue). */
  readonly output?: Uint8Array;
}

/** A state change in a run's history. */
export interface RunHistoryEntry {
  readonly from: RunState | null;
  readonly to: RunState;
  readonly at: number;
}

/** A run as seen from outside, with its attempt history. */
export interface RunView {
  readonly runId: RunId;
  readonly taskId: TaskId;
  readonly state: RunState;
  readonly createdAt: number;
  readonly scheduledAt: number;
  readonly priority: number;
  readonly attemptCount: number;
  readonly currentAttemptId?: AttemptId;
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
  readonly attempts: readonly AttemptView[];
  readonly history: readonly RunHistoryEntry[];
}

/** Filter and page of {@link ActionQueue.listRuns}. */
export interface ListRunsQuery {
  readonly state?: RunState;
  readonly taskId?: TaskId;
  /** Page size (default 100, at most 10 000). */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** A page of runs, ordered by run id (creation order). */
export interface RunPage {
  readonly runs: readonly RunView[];
  /** Present when more runs match. */
  readonly nextCursor?: string;
}

/** Counters of the whole data directory. */
export interface Stats {
  readonly tasks: number;
  readonly runs: number;
  readonly runsByState: {
    readonly scheduled: number;
    readonly ready: number;
    readonly leased: number;
    readonly running: number;
    readonly retryWait: number;
    readonly suspended: number;
    readonly completed: number;
    readonly failed: number;
    readonly canceled: number;
  };
  readonly attemptsByResult: {
    readonly success: number;
    readonly failure: number;
    readonly timeout: number;
    readonly suspended: number;
  };
  readonly latestSequence: number;
  readonly paused: boolean;
}

/** Why a run is not running now. */
export type Explanation =
  | { readonly kind: "scheduled"; readonly runId: RunId; readonly dueAt: number; readonly message: string }
  | { readonly kind: "retryWait"; readonly runId: RunId; readonly retryAt: number; readonly attemptCount: number; readonly message: string }
  | { readonly kind: "concurrencyKeyHeld"; readonly runId: RunId; readonly key: string; readonly heldBy: RunId; readonly message: string }
  | { readonly kind: "enginePaused"; readonly runId: RunId; readonly message: string }
  | { readonly kind: "gateHeld"; readonly runId: RunId; readonly gate: string; readonly reason: string; readonly until?: number; readonly message: string }
  | { readonly kind: "ready"; readonly runId: RunId; readonly message: string }
  | { readonly kind: "leased"; readonly runId: RunId; readonly owner: string; readonly expiresAt: number; readonly message: string }
  | { readonly kind: "running"; readonly runId: RunId; readonly attemptId?: AttemptId; readonly message: string }
  | { readonly kind: "suspended"; readonly runId: RunId; readonly message: string }
  | {
      readonly kind: "terminal";
      readonly runId: RunId;
      readonly state: "completed" | "failed" | "canceled";
      readonly lastError?: string;
      readonly message: string;
    }
  | { readonly kind: "taskCanceled"; readonly runId: RunId; readonly message: string };

/** Options of {@link ActionQueue.close}. */
export interface CloseOptions {
  /**
   * `drain` (default): stop dispatching, let in-flight attempts finish (up to
   * `graceMs`, then abort them). `abort`: abort in-flight attempts at once;
   * their runs are retried by the next start per the retry table.
   */
  readonly mode?: "drain" | "abort";
  /** How long to wait for in-flight attempts when draining (default 30 000 ms). */
  readonly graceMs?: number;
}
