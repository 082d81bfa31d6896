/**
 * Scheduled → Ready and RetryWait → Ready promotion: pure partitions (the Rust
 * behaviour, for tests and tools) and the authority-mediated path the runtime
 * uses — claim due runs from the {@link Scheduler}, submit one
 * `runStateTransition` per run as one atomic batch numbered from
 * `latestSequence() + 1`, then update the scheduler.
 */
import { ActionQueueError, TransitionError } from "@actionqueue/core";
import type { DurabilityPolicy, MutationAuthority, MutationOutcome, RunId, RunInstance, RunState, RunStateTransitionCommand } from "@actionqueue/core";
import type { BackoffStrategy } from "@actionqueue/executor-local";
import { backoffDelayMs, retryDueAt } from "@actionqueue/executor-local";
import { jitterFraction } from "./jitter.js";
import type { Scheduler, SchedulerRun } from "./scheduler.js";

/** Promoted copies and the runs left waiting, both in input order. */
export interface PromotionPartition {
  readonly promoted: readonly RunInstance[];
  readonly remaining: readonly RunInstance[];
}

/** Pure Scheduled → Ready: runs with `scheduledAt <= now` are promoted (copies; only the state changes). */
export function promoteScheduledRuns(runs: readonly RunInstance[], now: number): PromotionPartition {
  const promoted: RunInstance[] = [];
  const remaining: RunInstance[] = [];
  for (const run of runs) {
    if (run.state === "scheduled" && run.scheduledAt <= now) {
      const copy = run.clone();
      copy.transitionTo("ready");
      promoted.push(copy);
    } else {
      remaining.push(run);
    }
  }
  return { promoted, remaining };
}

/**
 * When a retry-waiting run is ready again: `lastStateChangeAt + delay`, the
 * delay from `backoff` for its counted attempts (default `attemptCount`;
 * pass the count without suspended attempts).
 */
export function retryReadyAt(run: Pick<RunInstance, "id" | "lastStateChangeAt" | "attemptCount">, backoff: BackoffStrategy, countedAttempts?: number): number {
  const counted = countedAttempts ?? run.attemptCount;
  // The scheduler's jitter: a fraction fixed by run and attempt, so both agree.
  const jitter = backoff.jitter === "full" ? { random: () => jitterFraction(run.id, counted) } : undefined;
  return retryDueAt(run.lastStateChangeAt, backoffDelayMs(backoff, counted, jitter));
}

/**
 * Pure RetryWait → Ready: promotes runs whose {@link retryReadyAt} is `<= now`.
 * Throws `INVALID_TRANSITION` if any input is not in retryWait. With full
 * jitter the due time is the scheduler's (see `jitterFraction`).
 */
export function promoteRetryWaitRuns(
  runs: readonly RunInstance[],
  now: number,
  backoff: BackoffStrategy,
  countedAttempts?: (run: RunInstance) => number,
): PromotionPartition {
  for (const run of runs) {
    if (run.state !== "retryWait") {
      throw new TransitionError("INVALID_TRANSITION", `run ${run.id}: retry promotion needs retryWait, not ${run.state}`, {
        details: { runId: run.id, from: run.state, to: "ready" },
      });
    }
  }
  const promoted: RunInstance[] = [];
  const remaining: RunInstance[] = [];
  for (const run of runs) {
    if (retryReadyAt(run, backoff, countedAttempts?.(run)) <= now) {
      const copy = run.clone();
      copy.transitionTo("ready");
      promoted.push(copy);
    } else {
      remaining.push(run);
    }
  }
  return { promoted, remaining };
}

/** `previousState → ready` commands for `runs`, numbered from `firstSequence`. */
export function buildPromotionCommands(
  runs: readonly { readonly id: RunId; readonly state: RunState }[],
  firstSequence: number,
  timestamp: number,
): RunStateTransitionCommand[] {
  if (!Number.isSafeInteger(firstSequence + runs.length)) {
    throw new ActionQueueError("INVALID_COMMAND", `sequence overflow: ${firstSequence} + ${runs.length} exceeds ${Number.MAX_SAFE_INTEGER}`);
  }
  const out = new Array<RunStateTransitionCommand>(runs.length);
  for (let k = 0; k < runs.length; k++) {
    const run = runs[k]!;
    out[k] = { kind: "runStateTransition", sequence: firstSequence + k, timestamp, runId: run.id, previousState: run.state, newState: "ready" };
  }
  return out;
}

/** A promotion batch the authority refused; `runIds` names the runs, `cause` is the authority's error. */
export class PromotionSubmissionError extends ActionQueueError {
  readonly runIds: readonly RunId[];

  constructor(runIds: readonly RunId[], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("COMMAND_REJECTED", `promotion of ${runIds.length} run(s) failed (first ${runIds[0] ?? "none"}): ${reason}`, {
      details: { runIds: runIds.slice(0, 10) },
      cause,
    });
    this.runIds = runIds;
  }
}

/** Options of {@link submitDuePromotions}. */
export interface SubmitPromotionsOptions {
  /** Durability of the batch (default `immediate`). */
  readonly durability?: DurabilityPolicy;
  /** At most this many runs per call (default: all due). */
  readonly limit?: number;
}

/** What {@link submitDuePromotions} promoted. */
export interface PromotionReport {
  readonly promoted: readonly SchedulerRun[];
  readonly outcomes: readonly MutationOutcome[];
}

/**
 * Promotes every run due at `now` (scheduled and retry-waiting) through the
 * authority as one atomic batch with sequences `latestSequence() + 1 …`, each
 * stamped `now`. On success the scheduler sees the runs as ready (selection can
 * pick them at once); on failure the claims are released, nothing changed, and
 * a {@link PromotionSubmissionError} is thrown.
 */
export async function submitDuePromotions(
  scheduler: Scheduler,
  now: number,
  authority: MutationAuthority,
  options: SubmitPromotionsOptions = {},
): Promise<PromotionReport> {
  const claims = scheduler.promoteDue(now, options.limit);
  if (claims.length === 0) return { promoted: claims, outcomes: [] };
  const previous = claims.map((c) => c.state);
  let outcomes: readonly MutationOutcome[];
  try {
    const commands = buildPromotionCommands(claims, authority.latestSequence() + 1, now);
    outcomes = await authority.submitBatch(commands, options.durability ?? "immediate");
  } catch (cause) {
    for (const c of claims) scheduler.releaseClaim(c.id);
    throw new PromotionSubmissionError(
      claims.map((c) => c.id),
      cause,
    );
  }
  for (let k = 0; k < claims.length; k++) {
    const c = claims[k]!;
    if (c.state !== previous[k]) continue; // reported changed meanwhile; the newer report wins
    scheduler.onTransition(c.id, "ready", now);
  }
  return { promoted: claims, outcomes };
}
