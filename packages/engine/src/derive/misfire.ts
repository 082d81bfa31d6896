/**
 * Misfire policy: what to do with runs whose time passed while the engine was
 * down. A pure plan — which overdue runs to run and which to cancel as skipped.
 * Skipped runs are canceled, not deleted, so run accounting stays exact.
 */
import type { MisfirePolicy, RunId, RunPolicy, RunState, RunStateTransitionCommand } from "@actionqueue/core";

/** What the misfire plan needs of a run. */
export interface MisfireCandidate {
  readonly id: RunId;
  readonly state: RunState;
  readonly scheduledAt: number;
}

/** Runs to let through, and runs to cancel as skipped. Both in `scheduledAt` order. */
export interface MisfirePlan<TRun extends MisfireCandidate> {
  readonly run: readonly TRun[];
  readonly skip: readonly TRun[];
}

/** Default tolerance: a run less than this late (ms) is not a misfire. */
export const DEFAULT_MISFIRE_TOLERANCE_MS = 60_000;

/** True for a scheduled run due before `now − toleranceMs`. */
export function isOverdue(run: MisfireCandidate, now: number, toleranceMs: number = DEFAULT_MISFIRE_TOLERANCE_MS): boolean {
  return run.state === "scheduled" && run.scheduledAt < now - toleranceMs;
}

/** The misfire policy in force for a run policy: once never misfires (always catch up); default `catchUp`. */
export function effectiveMisfirePolicy(policy: RunPolicy): MisfirePolicy {
  if (policy.kind === "once") return { kind: "catchUp" };
  return policy.misfire ?? { kind: "catchUp" };
}

function byTime(a: MisfireCandidate, b: MisfireCandidate): number {
  return a.scheduledAt - b.scheduledAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Plans the overdue runs of one task (pass only overdue runs; see
 * {@link isOverdue}):
 * - `catchUp`: run all, or only the newest `maxRuns`, skipping older ones;
 * - `skip`: run none;
 * - `coalesce`: run one (the newest) for the whole missed window.
 */
export function planMisfire<TRun extends MisfireCandidate>(policy: RunPolicy, overdue: readonly TRun[]): MisfirePlan<TRun> {
  const sorted = [...overdue].sort(byTime);
  const misfire = effectiveMisfirePolicy(policy);
  let keep: number;
  switch (misfire.kind) {
    case "catchUp":
      keep = misfire.maxRuns === undefined ? sorted.length : Math.min(misfire.maxRuns, sorted.length);
      break;
    case "skip":
      keep = 0;
      break;
    case "coalesce":
      keep = Math.min(1, sorted.length);
      break;
  }
  const cut = sorted.length - keep;
  return { run: sorted.slice(cut), skip: sorted.slice(0, cut) };
}

/** Scheduled → Canceled commands for skipped runs, numbered from `firstSequence`. */
export function buildMisfireCancellations(skip: readonly MisfireCandidate[], firstSequence: number, timestamp: number): RunStateTransitionCommand[] {
  return skip.map((run, k) => ({
    kind: "runStateTransition",
    sequence: firstSequence + k,
    timestamp,
    runId: run.id,
    previousState: "scheduled",
    newState: "canceled",
  }));
}
