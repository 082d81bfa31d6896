/**
 * Run derivation: the runs a task's policy implies, created `scheduled` with
 * the task's priority as `effectivePriority` and ids from the shared factory.
 * Once and repeat derive exactly their count (checked arithmetic, no partial
 * output); cron materialises a rolling window of future occurrences.
 */
import { RunInstance, nextCronOccurrences } from "@actionqueue/core";
import type { CronPolicy, IdFactory, RunPolicy, TaskId } from "@actionqueue/core";
import { DerivationError } from "./derivation-error.js";

/** What derivation needs of a task (a `TaskSpec` fits). */
export interface DerivableTask {
  readonly id: TaskId;
  readonly runPolicy: RunPolicy;
  readonly metadata: { readonly priority: number };
}

/** Input of {@link deriveRuns}. */
export interface DeriveRunsInput {
  readonly task: DerivableTask;
  /** Runs of this task that already exist (any state). */
  readonly alreadyDerived: number;
  /**
   * Repeat: the time of run 0; cron: occurrences at or after it. Ignored by
   * once. A policy's `startAt` later than this takes its place.
   */
  readonly scheduleOrigin: number;
  /** Creation time of the new runs (epoch ms); also once's `scheduledAt`, unless its `startAt` is later. */
  readonly now: number;
  readonly ids: Pick<IdFactory, "runId">;
  /** Cron: how many occurrences to materialise at most (default {@link DEFAULT_CRON_WINDOW}). */
  readonly cronWindow?: number;
}

/** New runs plus the total the task will have once they are written. */
export interface DerivationResult {
  readonly runs: readonly RunInstance[];
  readonly totalDerived: number;
}

/** Default size of the cron rolling window (future runs kept materialised). */
export const DEFAULT_CRON_WINDOW = 5;

const MAX = Number.MAX_SAFE_INTEGER;

function newRun(task: DerivableTask, ids: Pick<IdFactory, "runId">, scheduledAt: number, now: number): RunInstance {
  return RunInstance.newScheduled({ id: ids.runId(), taskId: task.id, scheduledAt, createdAt: now, priority: task.metadata.priority });
}

/**
 * The repeat schedule's last instant, `origin + (count − 1) · intervalMs`,
 * checked: throws `DERIVATION_OVERFLOW` (naming the multiplication or the
 * addition) when it passes `Number.MAX_SAFE_INTEGER`.
 */
export function repeatLastScheduledAt(taskId: TaskId, count: number, intervalMs: number, origin: number): number {
  const span = (count - 1) * intervalMs;
  if (!Number.isSafeInteger(span)) {
    throw new DerivationError(
      "DERIVATION_OVERFLOW",
      taskId,
      `runPolicy repeat (count ${count}, intervalMs ${intervalMs}) overflows: multiplication (${count} − 1) × ${intervalMs} exceeds ${MAX}`,
      { field: "runPolicy", count, intervalMs },
    );
  }
  const last = origin + span;
  if (!Number.isSafeInteger(last)) {
    throw new DerivationError(
      "DERIVATION_OVERFLOW",
      taskId,
      `runPolicy repeat (count ${count}, intervalMs ${intervalMs}) overflows: addition ${origin} + ${span} exceeds ${MAX}`,
      { field: "runPolicy", origin, span },
    );
  }
  return last;
}

/** When a task's schedule begins: `origin`, or the policy's `startAt` if that is later. */
export function effectiveScheduleOrigin(policy: RunPolicy, origin: number): number {
  const startAt = policy.startAt;
  return startAt !== undefined && startAt > origin ? startAt : origin;
}

/**
 * Derives the runs still missing for a task. A policy's `startAt` later than
 * the origin (`now` for once) takes its place (see {@link effectiveScheduleOrigin}).
 * - once: one run due `now` (or at a later `startAt`) unless one exists (`alreadyDerived > 1` is an error);
 * - repeat: runs `alreadyDerived … count−1`, the i-th due `origin + i·intervalMs`
 *   (clock-independent); `alreadyDerived > count` is an error; overflow is
 *   checked for the whole schedule before anything is built;
 * - cron: only the initial window (nothing if any run exists): up to
 *   `min(cronWindow, maxOccurrences)` occurrences at or after the origin.
 *   Later windows come from {@link deriveCronWindow}.
 *
 * Throws {@link DerivationError}; run construction errors (a nil task id)
 * propagate as core `ValidationError`s. Never returns a partial result.
 */
export function deriveRuns(input: DeriveRunsInput): DerivationResult {
  const { task, alreadyDerived, now, ids } = input;
  const policy = task.runPolicy;
  const scheduleOrigin = effectiveScheduleOrigin(policy, input.scheduleOrigin);
  switch (policy.kind) {
    case "once": {
      if (alreadyDerived > 1) {
        throw new DerivationError("INVALID_DERIVATION_STATE", task.id, `a once policy has at most 1 run, but alreadyDerived is ${alreadyDerived}`, {
          alreadyDerived,
        });
      }
      if (alreadyDerived === 1) return { runs: [], totalDerived: 1 };
      return { runs: [newRun(task, ids, effectiveScheduleOrigin(policy, now), now)], totalDerived: 1 };
    }
    case "repeat": {
      const { count, intervalMs } = policy;
      if (alreadyDerived > count) {
        throw new DerivationError(
          "INVALID_DERIVATION_STATE",
          task.id,
          `alreadyDerived ${alreadyDerived} exceeds the repeat count ${count}`,
          { alreadyDerived, count },
        );
      }
      repeatLastScheduledAt(task.id, count, intervalMs, scheduleOrigin);
      const runs: RunInstance[] = [];
      for (let i = alreadyDerived; i < count; i++) runs.push(newRun(task, ids, scheduleOrigin + i * intervalMs, now));
      return { runs, totalDerived: count };
    }
    case "cron": {
      if (alreadyDerived > 0) return { runs: [], totalDerived: alreadyDerived };
      const window = Math.min(input.cronWindow ?? DEFAULT_CRON_WINDOW, policy.maxOccurrences ?? Number.MAX_SAFE_INTEGER);
      const after = scheduleOrigin > 0 ? scheduleOrigin - 1 : 0;
      const runs = nextCronOccurrences(policy.expression, after, window, policy.timezone).map((at) => newRun(task, ids, at, now));
      return { runs, totalDerived: runs.length };
    }
  }
}

/** Input of {@link deriveCronWindow}. */
export interface CronWindowInput {
  /** The task; a non-cron policy derives nothing here. */
  readonly task: DerivableTask;
  /** Runs of the task that exist, in any state (they all count toward `maxOccurrences`). */
  readonly totalDerived: number;
  /** Non-terminal runs of the task (the current window). */
  readonly liveRuns: number;
  /** Latest `scheduledAt` among the task's runs; absent when it has none. */
  readonly lastScheduledAt: number | undefined;
  readonly now: number;
  readonly ids: Pick<IdFactory, "runId">;
  /** Window size (default {@link DEFAULT_CRON_WINDOW}). */
  readonly cronWindow?: number;
  /** Occurrences older than `now − toleranceMs` count as missed (default 0). */
  readonly toleranceMs?: number;
}

/**
 * Tops a cron task's window up to `cronWindow` live runs without passing
 * `maxOccurrences` (counting every run that exists, canceled ones included).
 * New occurrences follow the latest existing one. Under an unbounded
 * `catchUp` misfire policy missed occurrences are replayed (the window refills
 * from the past); under `skip`, `coalesce` and `catchUp` with `maxRuns`, the
 * refill starts at `now − toleranceMs` — the missed runs already materialised
 * are handled by {@link planMisfire}, which keeps accounting exact.
 */
export function deriveCronWindow(input: CronWindowInput): DerivationResult {
  const { task, totalDerived, liveRuns, now, ids } = input;
  if (task.runPolicy.kind !== "cron") return { runs: [], totalDerived };
  const policy: CronPolicy = task.runPolicy;
  const maxOccurrences = policy.maxOccurrences ?? Number.MAX_SAFE_INTEGER;
  const window = input.cronWindow ?? DEFAULT_CRON_WINDOW;
  if (totalDerived >= maxOccurrences || liveRuns >= window) return { runs: [], totalDerived };
  const n = Math.min(window - liveRuns, maxOccurrences - totalDerived);
  let after = input.lastScheduledAt ?? now - 1;
  const misfire = policy.misfire ?? { kind: "catchUp" };
  const replayAll = misfire.kind === "catchUp" && misfire.maxRuns === undefined;
  if (!replayAll) after = Math.max(after, now - (input.toleranceMs ?? 0) - 1);
  // Nothing before the policy's start, whatever the window already holds.
  if (policy.startAt !== undefined) after = Math.max(after, policy.startAt - 1);
  const runs = nextCronOccurrences(policy.expression, Math.max(0, after), n, policy.timezone).map((at) => newRun(task, ids, at, now));
  return { runs, totalDerived: totalDerived + runs.length };
}
