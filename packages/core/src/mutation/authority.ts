/**
 * The mutation authority: the only way durable state changes. It validates a
 * command against current state, writes it ahead, applies it in memory and
 * tells the caller once the record is durable.
 */
import type { AttemptId, RunId, SubscriptionId, TaskId } from "../ids/ids.js";
import type { BudgetDimension } from "../budget/budget.js";
import type { RunState } from "../run/run-state.js";
import type { AttemptOutcome } from "./attempt-outcome.js";
import type { DurabilityPolicy, MutationCommand } from "./commands.js";

/** What a command changed, as reported back to the caller. */
export type AppliedMutation =
  | { readonly kind: "taskCreate"; readonly taskId: TaskId }
  | { readonly kind: "runCreate"; readonly runId: RunId; readonly taskId: TaskId }
  | { readonly kind: "runStateTransition"; readonly runId: RunId; readonly previousState: RunState; readonly newState: RunState }
  | { readonly kind: "attemptStart"; readonly runId: RunId; readonly attemptId: AttemptId }
  | { readonly kind: "attemptFinish"; readonly runId: RunId; readonly attemptId: AttemptId; readonly outcome: AttemptOutcome }
  | {
      readonly kind: "leaseAcquire" | "leaseHeartbeat" | "leaseExpire" | "leaseRelease";
      readonly runId: RunId;
      readonly owner: string;
      readonly expiresAt: number;
    }
  | { readonly kind: "runDispatch"; readonly runId: RunId; readonly owner: string; readonly expiresAt: number; readonly attemptId: AttemptId }
  | { readonly kind: "runFinish"; readonly runId: RunId; readonly attemptId: AttemptId; readonly outcome: AttemptOutcome; readonly newState: RunState }
  | { readonly kind: "enginePause" | "engineResume" }
  | { readonly kind: "taskCancel"; readonly taskId: TaskId }
  | { readonly kind: "taskPurge"; readonly taskId: TaskId }
  | { readonly kind: "runsPromote"; readonly runIds: readonly RunId[] }
  | { readonly kind: "taskSubmit"; readonly taskId: TaskId; readonly runIds: readonly RunId[] }
  | {
      readonly kind: "runsDispatch";
      readonly runIds: readonly RunId[];
      readonly attemptIds: readonly AttemptId[];
      readonly owner: string;
      readonly expiresAt: number;
    }
  | { readonly kind: "dependencyDeclare"; readonly taskId: TaskId; readonly dependsOn: readonly TaskId[] }
  | { readonly kind: "runSuspend" | "runResume"; readonly runId: RunId }
  | { readonly kind: "budgetAllocate"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly limit: number }
  | { readonly kind: "budgetConsume"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly amount: number }
  | { readonly kind: "budgetReplenish"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly newLimit: number }
  | { readonly kind: "subscriptionCreate"; readonly subscriptionId: SubscriptionId; readonly taskId: TaskId }
  | { readonly kind: "subscriptionCancel" | "subscriptionTrigger"; readonly subscriptionId: SubscriptionId }
  | { readonly kind: "noOp" };

/** The result of an accepted command. */
export interface MutationOutcome {
  /** The WAL sequence actually assigned. */
  readonly sequence: number;
  readonly applied: AppliedMutation;
}

/**
 * The storage-owned gate every durable change passes through.
 *
 * Contract: commands are validated and applied in memory synchronously, in
 * submission order, during the call; the returned promise settles when the
 * record is durable per `durability` (`immediate`: fsynced; `deferred`: within
 * the implementation's bounded delay). A rejected command changes nothing and
 * the promise rejects with a typed error (`SEQUENCE_CONFLICT` when
 * `command.sequence !== latestSequence() + 1`). After an I/O failure the
 * authority is poisoned: every later call rejects with `AUTHORITY_POISONED`.
 */
export interface MutationAuthority {
  /** Validates, appends, applies; resolves once durable. */
  submitCommand(command: MutationCommand, durability: DurabilityPolicy): Promise<MutationOutcome>;
  /**
   * Submits commands as one atomic unit: all are validated (each against the
   * state the previous ones leave) before any is applied, and they become
   * durable together — after a crash either all or none are present.
   */
  submitBatch(commands: readonly MutationCommand[], durability: DurabilityPolicy): Promise<readonly MutationOutcome[]>;
  /** The sequence of the last accepted command (0 when none). */
  latestSequence(): number;
}

/**
 * A {@link MutationAuthority} that can also report durability per group
 * commit. `submitBatchDurable` validates, applies and writes exactly as
 * `submitBatch` does, but its promise resolves with nothing and is shared by
 * every batch that joins the same group commit, so a hot loop (one batch per
 * job) allocates no promise or outcome per call. Whether the batch was
 * accepted is known synchronously: `latestSequence()` moved by
 * `commands.length`; a refused batch's promise rejects with the refusal.
 */
export interface GroupCommitMutationAuthority extends MutationAuthority {
  submitBatchDurable(commands: readonly MutationCommand[], durability: DurabilityPolicy): Promise<void>;
  /**
   * Optional hint: ends the group commit being filled here. What was
   * submitted so far goes to disk in the next write, started at once when
   * none is in progress, and later submissions in the one after. Durability
   * and order do not change; a caller whose records come in bursts (the
   * dispatch loop) uses it to keep one burst's write from waiting for the next.
   */
  commitBoundary?(): void;
}
