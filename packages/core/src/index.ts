/**
 * @actionqueue/core — the domain core every other ActionQueue package stands on:
 * ids, the task and run model, the run state machine, mutation commands and the
 * mutation-authority contract, the clock, and the error base.
 */
export {
  ActionQueueError,
  ValidationError,
  TransitionError,
  CommandRejectedError,
  SequenceConflictError,
  StorageError,
  describeValue,
} from "./errors/action-queue-error.js";
export type { ActionQueueErrorOptions, ErrorDetails } from "./errors/action-queue-error.js";
export { ERROR_CODES, errorFamily } from "./errors/error-codes.js";
export type { ErrorCode, ErrorFamily } from "./errors/error-codes.js";

export {
  NIL_ID,
  isNilId,
  createIdFactory,
  parseTaskId,
  parseRunId,
  parseAttemptId,
  parseActorId,
  parseTenantId,
  parseLedgerEntryId,
  parseSubscriptionId,
} from "./ids/ids.js";
export type { TaskId, RunId, AttemptId, ActorId, TenantId, LedgerEntryId, SubscriptionId, IdKind, IdFactory } from "./ids/ids.js";
export { DEPARTMENT_ID_MAX_BYTES, parseDepartmentId } from "./ids/department-id.js";
export type { DepartmentId } from "./ids/department-id.js";

export { SystemClock, ManualClock, systemClock } from "./time/clock.js";
export type { Clock, ClockTimer, ManualClockOptions } from "./time/clock.js";

export {
  U32_MAX,
  oncePolicy,
  repeatPolicy,
  cronPolicy,
  validateRunPolicy,
  parseCronExpression,
  nextCronOccurrences,
} from "./task/run-policy.js";
export type { RunPolicy, OncePolicy, RepeatPolicy, CronPolicy, MisfirePolicy } from "./task/run-policy.js";
export {
  SAFETY_LEVELS,
  CONCURRENCY_KEY_HOLD_POLICIES,
  DEFAULT_TASK_CONSTRAINTS,
  createTaskConstraints,
  validateTaskConstraints,
} from "./task/task-constraints.js";
export type { TaskConstraints, TaskConstraintsInput, SafetyLevel, ConcurrencyKeyHoldPolicy } from "./task/task-constraints.js";
export {
  TASK_NAME_MAX_LENGTH,
  DEFAULT_TASK_METADATA,
  JSON_CONTENT_TYPE,
  createTaskSpec,
  validateTaskSpec,
  validateTaskMetadata,
  payloadJson,
  jsonPayload,
} from "./task/task-spec.js";
export type { TaskSpec, TaskSpecInput, TaskPayload, TaskMetadata } from "./task/task-spec.js";

export {
  RUN_STATES,
  TERMINAL_STATES,
  TRANSITIONS,
  isRunState,
  isTerminalState,
  isValidTransition,
  validTransitions,
  displayRunState,
  transition,
} from "./run/run-state.js";
export type { RunState, Transition } from "./run/run-state.js";
export { RunInstance } from "./run/run-instance.js";
export type { RunInstanceFields, NewRunOptions } from "./run/run-instance.js";

export { ATTEMPT_RESULT_KINDS, AttemptOutcome, countedAttempts } from "./mutation/attempt-outcome.js";
export type { AttemptResultKind } from "./mutation/attempt-outcome.js";
export { MUTATION_COMMAND_KINDS } from "./mutation/commands.js";
export type {
  DurabilityPolicy,
  CommandBase,
  MutationCommand,
  MutationCommandKind,
  UnsequencedCommand,
  TaskCreateCommand,
  RunCreateCommand,
  RunStateTransitionCommand,
  AttemptStartCommand,
  AttemptFinishCommand,
  LeaseAcquireCommand,
  LeaseHeartbeatCommand,
  LeaseExpireCommand,
  LeaseReleaseCommand,
  EnginePauseCommand,
  EngineResumeCommand,
  TaskCancelCommand,
  DependencyDeclareCommand,
  RunSuspendCommand,
  RunResumeCommand,
  BudgetAllocateCommand,
  BudgetConsumeCommand,
  BudgetReplenishCommand,
  SubscriptionCreateCommand,
  SubscriptionCancelCommand,
  SubscriptionTriggerCommand,
  ActorRegisterCommand,
  ActorDeregisterCommand,
  ActorHeartbeatCommand,
  TenantCreateCommand,
  RoleAssignCommand,
  CapabilityGrantCommand,
  CapabilityRevokeCommand,
  LedgerAppendCommand,
} from "./mutation/commands.js";
export type { AppliedMutation, MutationOutcome, MutationAuthority } from "./mutation/authority.js";

export { BUDGET_DIMENSIONS } from "./budget/budget.js";
export type { BudgetDimension, BudgetAllocation, BudgetConsumption } from "./budget/budget.js";
export type { EventFilter } from "./subscription/event-filter.js";
export type { ActorRegistration, HeartbeatPolicy } from "./actor/actor.js";
export type { Role, Permission, TenantRegistration, LedgerEntry } from "./platform/platform.js";
