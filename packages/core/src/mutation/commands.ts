/**
 * Mutation commands: every durable change ActionQueue can make, one variant per
 * change. Each carries the WAL sequence the caller expects to be assigned
 * (`latestSequence + 1`) and a timestamp in epoch milliseconds. Storage maps
 * each command to exactly one WAL event.
 */
import type { ActorRegistration } from "../actor/actor.js";
import type { BudgetDimension } from "../budget/budget.js";
import type { ActorId, AttemptId, RunId, SubscriptionId, TaskId, TenantId } from "../ids/ids.js";
import type { LedgerEntry, Permission, Role, TenantRegistration } from "../platform/platform.js";
import type { RunInstance } from "../run/run-instance.js";
import type { RunState } from "../run/run-state.js";
import type { EventFilter } from "../subscription/event-filter.js";
import type { TaskSpec } from "../task/task-spec.js";
import type { AttemptOutcome } from "./attempt-outcome.js";

/** When a submitted command must be durable. */
export type DurabilityPolicy = "immediate" | "deferred";

/** Fields every command carries. */
export interface CommandBase {
  /** The WAL sequence the caller expects this command to receive. */
  readonly sequence: number;
  /** When the change happened, epoch milliseconds. */
  readonly timestamp: number;
}

/** Creates a task (its id must be new). */
export interface TaskCreateCommand extends CommandBase {
  readonly kind: "taskCreate";
  readonly taskSpec: TaskSpec;
}
/** Creates a run of an existing task, in state `scheduled`. */
export interface RunCreateCommand extends CommandBase {
  readonly kind: "runCreate";
  readonly run: RunInstance;
}
/**
 * Creates a task and its first runs in one event: exactly the changes of
 * `taskCreate` followed by one `runCreate` per run (and refused, as a whole,
 * wherever one of them would be), in one WAL record. Each run belongs to the
 * task, is listed once, and is fresh: scheduled, no attempts, last changed
 * when it was created. The runtime submits every task this way.
 */
export interface TaskSubmitCommand extends CommandBase {
  readonly kind: "taskSubmit";
  readonly taskSpec: TaskSpec;
  readonly runs: readonly RunInstance[];
}
/** Compare-and-set state change: applies only if the run is in `previousState`. */
export interface RunStateTransitionCommand extends CommandBase {
  readonly kind: "runStateTransition";
  readonly runId: RunId;
  readonly previousState: RunState;
  readonly newState: RunState;
}
/** Starts an attempt on a running run. */
export interface AttemptStartCommand extends CommandBase {
  readonly kind: "attemptStart";
  readonly runId: RunId;
  readonly attemptId: AttemptId;
}
/** Finishes the run's active attempt, which must be `attemptId` (the fencing token). */
export interface AttemptFinishCommand extends CommandBase {
  readonly kind: "attemptFinish";
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly outcome: AttemptOutcome;
}
/**
 * Dispatches a ready run in one event: leases it to `owner` until `expiresAt`
 * and starts attempt `attemptId`. It makes exactly the changes of
 * `ready → leased`, `leaseAcquire`, `leased → running` and `attemptStart`
 * submitted in a row (and is refused wherever one of them would be), in one
 * WAL record instead of four: the dispatch loop starts every run this way.
 */
export interface RunDispatchCommand extends CommandBase {
  readonly kind: "runDispatch";
  readonly runId: RunId;
  readonly owner: string;
  readonly expiresAt: number;
  readonly attemptId: AttemptId;
}
/**
 * Dispatches several ready runs in one event: run `runIds[i]` is leased to
 * `owner` until `expiresAt` and starts attempt `attemptIds[i]`. It makes
 * exactly the changes of one `runDispatch` per run, in list order (and is
 * refused, as a whole, wherever one of them would be), in one WAL record:
 * the dispatch loop starts the runs of one pass this way. The lists are
 * non-empty, of equal length, and name each run once.
 */
export interface RunsDispatchCommand extends CommandBase {
  readonly kind: "runsDispatch";
  readonly owner: string;
  readonly expiresAt: number;
  readonly runIds: readonly RunId[];
  readonly attemptIds: readonly AttemptId[];
}
/**
 * Finishes a running run's active attempt and moves the run out of running
 * in one event. It makes exactly the changes of `attemptFinish` followed by
 * `running → newState` (and is refused wherever one of them would be), in one
 * WAL record instead of two: the dispatch loop ends every attempt this way.
 */
export interface RunFinishCommand extends CommandBase {
  readonly kind: "runFinish";
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly outcome: AttemptOutcome;
  /** Where the run goes from running: completed, failed, retryWait, suspended or canceled. */
  readonly newState: RunState;
}
/**
 * Acquires a lease on a ready run for `owner` until `expiresAt`. `attemptId` is
 * the fencing token: the attempt this lease is for.
 */
export interface LeaseAcquireCommand extends CommandBase {
  readonly kind: "leaseAcquire";
  readonly runId: RunId;
  readonly owner: string;
  readonly expiresAt: number;
  readonly attemptId: AttemptId;
}
/** Extends a lease; the owner and fencing token must match and the expiry may not move back. */
export interface LeaseHeartbeatCommand extends CommandBase {
  readonly kind: "leaseHeartbeat";
  readonly runId: RunId;
  readonly owner: string;
  readonly expiresAt: number;
  readonly attemptId: AttemptId;
}
/** Records that a lease ran out; owner and expiry must match the current lease. */
export interface LeaseExpireCommand extends CommandBase {
  readonly kind: "leaseExpire";
  readonly runId: RunId;
  readonly owner: string;
  readonly expiresAt: number;
}
/** Gives a lease back; owner and expiry must match the current lease. */
export interface LeaseReleaseCommand extends CommandBase {
  readonly kind: "leaseRelease";
  readonly runId: RunId;
  readonly owner: string;
  readonly expiresAt: number;
}
/** Stops dispatching new work (not while already paused). */
export interface EnginePauseCommand extends CommandBase {
  readonly kind: "enginePause";
}
/** Resumes dispatching (only while paused). */
export interface EngineResumeCommand extends CommandBase {
  readonly kind: "engineResume";
}
/** Cancels a task: no new runs; its non-terminal runs are canceled by separate transitions. */
export interface TaskCancelCommand extends CommandBase {
  readonly kind: "taskCancel";
  readonly taskId: TaskId;
}
/**
 * Removes a finished task with its runs and their attempt history: every run
 * is terminal and the policy will derive no more (a cron task must be
 * canceled or have reached `maxOccurrences`), and no dependency, budget or
 * subscription names the task. Its id becomes free again.
 */
export interface TaskPurgeCommand extends CommandBase {
  readonly kind: "taskPurge";
  readonly taskId: TaskId;
}
/**
 * Promotes runs to ready in one event: each listed run moves from
 * `scheduled` or `retryWait` to `ready`, in list order. It makes exactly the
 * changes of one `runStateTransition` per run (and is refused, as a whole,
 * wherever one of them would be), in one WAL record instead of one per run:
 * the dispatch loop promotes every due run this way. The list is non-empty
 * and names each run once.
 */
export interface RunsPromoteCommand extends CommandBase {
  readonly kind: "runsPromote";
  readonly runIds: readonly RunId[];
}
/** Declares that a task waits for others (non-empty; all must exist). */
export interface DependencyDeclareCommand extends CommandBase {
  readonly kind: "dependencyDeclare";
  readonly taskId: TaskId;
  readonly dependsOn: readonly TaskId[];
}
/** Suspends a running run (preemption; the attempt does not count). */
export interface RunSuspendCommand extends CommandBase {
  readonly kind: "runSuspend";
  readonly runId: RunId;
  readonly reason?: string;
}
/** Makes a suspended run ready again. */
export interface RunResumeCommand extends CommandBase {
  readonly kind: "runResume";
  readonly runId: RunId;
}
/** Allocates a budget (limit ≥ 1) on one dimension of a task. */
export interface BudgetAllocateCommand extends CommandBase {
  readonly kind: "budgetAllocate";
  readonly taskId: TaskId;
  readonly dimension: BudgetDimension;
  readonly limit: number;
}
/** Consumes from a task's budget (amount ≥ 1). */
export interface BudgetConsumeCommand extends CommandBase {
  readonly kind: "budgetConsume";
  readonly taskId: TaskId;
  readonly dimension: BudgetDimension;
  readonly amount: number;
}
/** Resets a budget to a new limit (≥ 1); the allocation must exist. */
export interface BudgetReplenishCommand extends CommandBase {
  readonly kind: "budgetReplenish";
  readonly taskId: TaskId;
  readonly dimension: BudgetDimension;
  readonly newLimit: number;
}
/** Creates a subscription of a task to events. */
export interface SubscriptionCreateCommand extends CommandBase {
  readonly kind: "subscriptionCreate";
  readonly subscriptionId: SubscriptionId;
  readonly taskId: TaskId;
  readonly filter: EventFilter;
}
/** Cancels an active subscription. */
export interface SubscriptionCancelCommand extends CommandBase {
  readonly kind: "subscriptionCancel";
  readonly subscriptionId: SubscriptionId;
}
/** Marks a subscription as triggered. */
export interface SubscriptionTriggerCommand extends CommandBase {
  readonly kind: "subscriptionTrigger";
  readonly subscriptionId: SubscriptionId;
}
/** Registers a remote actor. */
export interface ActorRegisterCommand extends CommandBase {
  readonly kind: "actorRegister";
  readonly registration: ActorRegistration;
}
/** Deregisters an actor. */
export interface ActorDeregisterCommand extends CommandBase {
  readonly kind: "actorDeregister";
  readonly actorId: ActorId;
}
/** Records an actor heartbeat. */
export interface ActorHeartbeatCommand extends CommandBase {
  readonly kind: "actorHeartbeat";
  readonly actorId: ActorId;
}
/** Creates a tenant. */
export interface TenantCreateCommand extends CommandBase {
  readonly kind: "tenantCreate";
  readonly registration: TenantRegistration;
}
/** Assigns an actor's role within a tenant. */
export interface RoleAssignCommand extends CommandBase {
  readonly kind: "roleAssign";
  readonly actorId: ActorId;
  readonly role: Role;
  readonly tenantId: TenantId;
}
/** Grants a permission to an actor within a tenant. */
export interface CapabilityGrantCommand extends CommandBase {
  readonly kind: "capabilityGrant";
  readonly actorId: ActorId;
  readonly capability: Permission;
  readonly tenantId: TenantId;
}
/** Revokes a permission from an actor within a tenant. */
export interface CapabilityRevokeCommand extends CommandBase {
  readonly kind: "capabilityRevoke";
  readonly actorId: ActorId;
  readonly capability: Permission;
  readonly tenantId: TenantId;
}
/** Appends a ledger entry. */
export interface LedgerAppendCommand extends CommandBase {
  readonly kind: "ledgerAppend";
  readonly entry: LedgerEntry;
}

/** Every durable change, discriminated by `kind`. */
export type MutationCommand =
  | TaskCreateCommand
  | RunCreateCommand
  | RunStateTransitionCommand
  | AttemptStartCommand
  | AttemptFinishCommand
  | LeaseAcquireCommand
  | LeaseHeartbeatCommand
  | LeaseExpireCommand
  | LeaseReleaseCommand
  | EnginePauseCommand
  | EngineResumeCommand
  | TaskCancelCommand
  | DependencyDeclareCommand
  | RunSuspendCommand
  | RunResumeCommand
  | BudgetAllocateCommand
  | BudgetConsumeCommand
  | BudgetReplenishCommand
  | SubscriptionCreateCommand
  | SubscriptionCancelCommand
  | SubscriptionTriggerCommand
  | ActorRegisterCommand
  | ActorDeregisterCommand
  | ActorHeartbeatCommand
  | TenantCreateCommand
  | RoleAssignCommand
  | CapabilityGrantCommand
  | CapabilityRevokeCommand
  | LedgerAppendCommand
  | RunDispatchCommand
  | RunFinishCommand
  | TaskPurgeCommand
  | RunsPromoteCommand
  | TaskSubmitCommand
  | RunsDispatchCommand;

/** The `kind` of a command. */
export type MutationCommandKind = MutationCommand["kind"];

/** Every command kind, in a stable order (storage uses it for event tags). */
export const MUTATION_COMMAND_KINDS: readonly MutationCommandKind[] = [
  "taskCreate",
  "runCreate",
  "runStateTransition",
  "attemptStart",
  "attemptFinish",
  "leaseAcquire",
  "leaseHeartbeat",
  "leaseExpire",
  "leaseRelease",
  "enginePause",
  "engineResume",
  "taskCancel",
  "dependencyDeclare",
  "runSuspend",
  "runResume",
  "budgetAllocate",
  "budgetConsume",
  "budgetReplenish",
  "subscriptionCreate",
  "subscriptionCancel",
  "subscriptionTrigger",
  "actorRegister",
  "actorDeregister",
  "actorHeartbeat",
  "tenantCreate",
  "roleAssign",
  "capabilityGrant",
  "capabilityRevoke",
  "ledgerAppend",
  "runDispatch",
  "runFinish",
  "taskPurge",
  "runsPromote",
  "taskSubmit",
  "runsDispatch",
];

/** A command without its sequence: what callers build before the authority numbers it. */
export type UnsequencedCommand = MutationCommand extends infer TCommand
  ? TCommand extends MutationCommand
    ? Omit<TCommand, "sequence">
    : never
  : never;
