/**
 * The uncertainty clause, done for real: after a crash nobody knows whether a
 * Leased or Running run's work happened. Such runs are made eligible again
 * through ordinary, durable commands, so the next start sees the same:
 * - Leased: the lease is expired (the run becomes Ready);
 * - Running: the open attempt is closed as a failure "attempt abandoned:
 *   process stopped while it was running" (it counts toward maxAttempts), the
 *   lease is expired, and the run goes through the retry table: RetryWait if
 *   attempts remain, Failed otherwise.
 */
import { AttemptOutcome, countedAttempts } from "@actionqueue/core";
import type { Clock, DurabilityPolicy, RunId, RunState, UnsequencedCommand } from "@actionqueue/core";
import type { StorageMutationAuthority } from "../authority/storage-authority.js";
import type { Projection } from "../projection/projection.js";

/** The message recorded on an attempt abandoned by a crash. */
export const ABANDONED_ATTEMPT_MESSAGE = "attempt abandoned: process stopped while it was running";

/** What reconciliation did to one run. */
export interface ReconciledRun {
  readonly runId: RunId;
  readonly from: RunState;
  readonly to: RunState;
  /** The attempt closed as abandoned, if one was open. */
  readonly abandonedAttemptId?: string;
}

/** Makes every Leased/Running run eligible again, one atomic batch per run. */
export async function reconcileInFlightRuns(
  projection: Projection,
  authority: StorageMutationAuthority,
  clock: Clock,
  durability: DurabilityPolicy,
): Promise<ReconciledRun[]> {
  const done: ReconciledRun[] = [];
  const inFlight = [...projection.runsInState("leased"), ...projection.runsInState("running")];
  for (const runId of inFlight) {
    const run = projection.getRun(runId)!;
    const lease = projection.lease(runId);
    const now = clock.now();
    const steps: UnsequencedCommand[] = [];
    let to: RunState = "ready";
    const abandoned = run.currentAttemptId;
    if (run.state === "running") {
      if (abandoned !== undefined) {
        steps.push({ kind: "attemptFinish", timestamp: now, runId, attemptId: abandoned, outcome: AttemptOutcome.failure(ABANDONED_ATTEMPT_MESSAGE) });
      }
      if (lease !== undefined) steps.push({ kind: "leaseExpire", timestamp: now, runId, owner: lease.owner, expiresAt: lease.expiresAt });
      const maxAttempts = projection.getTask(run.taskId)?.spec.constraints.maxAttempts ?? 1;
      const suspended = projection.attempts(runId).filter((a) => a.outcome?.result === "suspended").length;
      to = countedAttempts(run.attemptCount, suspended) < maxAttempts ? "retryWait" : "failed";
      steps.push({ kind: "runStateTransition", timestamp: now, runId, previousState: "running", newState: to });
    } else if (lease !== undefined) {
      steps.push({ kind: "leaseExpire", timestamp: now, runId, owner: lease.owner, expiresAt: lease.expiresAt });
    } else {
      steps.push({ kind: "runStateTransition", timestamp: now, runId, previousState: "leased", newState: "ready" });
    }
    const first = authority.latestSequence() + 1;
    const commands = steps.map((step, i) => ({ ...step, sequence: first + i }));
    await authority.submitBatch(commands, durability);
    done.push({ runId, from: run.state, to, ...(abandoned === undefined ? {} : { abandonedAttemptId: abandoned }) });
  }
  return done;
}
