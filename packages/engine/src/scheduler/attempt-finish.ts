/**
 * The seam between executor and storage (port of the Rust
 * `scheduler/attempt_finish`): maps an executor response to the durable
 * attempt outcome and submits the attempt-finish command through the mutation
 * authority. Retryable and terminal failures both record `failure`; the run's
 * next transition (RetryWait or Failed) carries the distinction.
 */
import { ActionQueueError, AttemptOutcome } from "@actionqueue/core";
import type {
  AttemptFinishCommand,
  AttemptId,
  DurabilityPolicy,
  GroupCommitMutationAuthority,
  MutationAuthority,
  MutationCommand,
  MutationOutcome,
  RunFinishCommand,
  RunId,
  RunState,
} from "@actionqueue/core";
import type { LeaseTable } from "../lease/lease-table.js";
import type { ExecutorResponse } from "@actionqueue/executor-local";
import { timeoutMessage } from "@actionqueue/executor-local";

/**
 * Maps an executor response to the canonical attempt outcome: success and
 * suspended keep their output (empty bytes → none); both failure kinds become
 * `failure` with their message; a timeout becomes `timeout` with
 * `attempt timed out after {timeoutMs}ms`.
 */
export function mapExecutorResponseToOutcome(response: ExecutorResponse): AttemptOutcome {
  switch (response.kind) {
    case "success":
      return response.output === undefined ? AttemptOutcome.success() : AttemptOutcome.successWithOutput(response.output);
    case "retryableFailure":
    case "terminalFailure":
      return AttemptOutcome.failure(response.error);
    case "timeout":
      return AttemptOutcome.timeout(timeoutMessage(response.timeoutMs));
    case "suspended":
      return response.output === undefined ? AttemptOutcome.suspended() : AttemptOutcome.suspendedWithOutput(response.output);
  }
}

/** Builds the attempt-finish command for `response` (the attempt id is the fencing token). */
export function buildAttemptFinishCommand(
  sequence: number,
  runId: RunId,
  attemptId: AttemptId,
  response: ExecutorResponse,
  timestamp: number,
): AttemptFinishCommand {
  return { kind: "attemptFinish", sequence, runId, attemptId, outcome: mapExecutorResponseToOutcome(response), timestamp };
}

/**
 * The authority rejected or failed an attempt-finish submission. `runId` names
 * the run; `cause` is the authority's own error (the Rust `into_source`).
 */
export class AttemptFinishSubmissionError extends ActionQueueError {
  readonly runId: RunId;

  constructor(runId: RunId, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("ATTEMPT_FINISH_SUBMISSION", `attempt-finish authority error for run ${runId}: ${reason}`, {
      details: { runId },
      cause,
    });
    this.runId = runId;
  }
}

/**
 * Submits a built attempt-finish command through the authority. Resolves with
 * the authority's outcome; rejects with {@link AttemptFinishSubmissionError}
 * wrapping whatever the authority threw or rejected with.
 *
 * With `nextState` (the run's transition out of Running, numbered right after
 * the finish), both go as one atomic batch, so a crash can never leave a
 * finished attempt on a run that is still Running; the outcome is the
 * finish's.
 */
export function submitAttemptFinishViaAuthority(
  finishCommand: AttemptFinishCommand,
  durability: DurabilityPolicy,
  authority: MutationAuthority,
  nextState?: MutationCommand,
): Promise<MutationOutcome> {
  const fail = (cause: unknown): never => {
    throw new AttemptFinishSubmissionError(finishCommand.runId, cause);
  };
  try {
    if (nextState === undefined) return authority.submitCommand(finishCommand, durability).then(undefined, fail);
    return authority.submitBatch([finishCommand, nextState], durability).then((outcomes) => outcomes[0]!, fail);
  } catch (cause) {
    return Promise.reject(new AttemptFinishSubmissionError(finishCommand.runId, cause));
  }
}

/**
 * The finish and the run's move out of running as one `runFinish` command,
 * when `nextState` is that move (a `running → x` transition, or a suspension
 * without a reason, of the same run at the same time, numbered right after
 * the finish); undefined otherwise.
 */
function fusedFinish(finish: AttemptFinishCommand, nextState: MutationCommand): RunFinishCommand | undefined {
  let newState: RunState;
  if (nextState.kind === "runStateTransition" && nextState.previousState === "running") newState = nextState.newState;
  else if (nextState.kind === "runSuspend" && nextState.reason === undefined) newState = "suspended";
  else return undefined;
  if (nextState.runId !== finish.runId || nextState.timestamp !== finish.timestamp || nextState.sequence !== finish.sequence + 1) return undefined;
  return { kind: "runFinish", sequence: finish.sequence, timestamp: finish.timestamp, runId: finish.runId, attemptId: finish.attemptId, outcome: finish.outcome, newState };
}

/**
 * {@link submitAttemptFinishViaAuthority} for a dispatch loop that finishes
 * many attempts per group commit: the same changes, atomic with `nextState`,
 * through `submitBatchDurable`, so the promise is the group commit's, shared
 * with every other batch in it, and resolves with nothing. When `nextState`
 * is the run's move out of running (the usual case) both travel as one
 * `runFinish` record, which makes exactly their changes: the authority's
 * `latestSequence()` then moves by one, not two.
 * A refusal rejects with {@link AttemptFinishSubmissionError} naming the run,
 * as in {@link submitAttemptFinishViaAuthority}; the caller knows of it
 * synchronously too (`latestSequence()` did not move). A later write failure
 * rejects the shared promise with the authority's `AUTHORITY_POISONED`.
 */
export function submitAttemptFinishInGroupCommit(
  finishCommand: AttemptFinishCommand,
  durability: DurabilityPolicy,
  authority: GroupCommitMutationAuthority,
  nextState?: MutationCommand,
): Promise<void> {
  const before = authority.latestSequence();
  let durable: Promise<void>;
  try {
    let batch: MutationCommand[];
    if (nextState === undefined) batch = [finishCommand];
    else {
      const fused = fusedFinish(finishCommand, nextState);
      batch = fused === undefined ? [finishCommand, nextState] : [fused];
    }
    durable = authority.submitBatchDurable(batch, durability);
  } catch (cause) {
    return Promise.reject(new AttemptFinishSubmissionError(finishCommand.runId, cause));
  }
  if (authority.latestSequence() !== before) return durable;
  return durable.then(
    () => {
      throw new AttemptFinishSubmissionError(finishCommand.runId, new Error("the authority accepted nothing"));
    },
    (cause: unknown) => {
      throw new AttemptFinishSubmissionError(finishCommand.runId, cause);
    },
  );
}

/**
 * {@link submitAttemptFinishViaAuthority} behind the engine's own fence: the
 * command's attempt id must be the fencing token of the run's current lease in
 * `leases`, otherwise it throws `STALE_FENCING_TOKEN` without submitting (the
 * authority would refuse it too; this keeps a stale worker off the WAL path).
 */
export function submitFencedAttemptFinish(
  finishCommand: AttemptFinishCommand,
  durability: DurabilityPolicy,
  authority: MutationAuthority,
  leases: Pick<LeaseTable, "assertCurrent">,
): Promise<MutationOutcome> {
  leases.assertCurrent(finishCommand.runId, finishCommand.attemptId);
  return submitAttemptFinishViaAuthority(finishCommand, durability, authority);
}
