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
export { assertWellFormedText, isWellFormedText } from "./internal/well-formed.js";
export { assertKnownKeys, closestKey } from "./internal/known-keys.js";
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
export type { TaskId, RunId, AttemptId, ActorId, TenantId, LedgerEntryId, SubscriptionId, IdKind, IdFactory, IdFactoryOptions } from "./ids/ids.js";
export { DEPARTMENT_ID_MAX_BYTES, parseDepartmentId } from "./ids/department-id.js";
export type { DepartmentId } from "./ids/department-id.js";

export { SystemClock, ManualClock, systemClock } from "./time/clock.js";
export type { Clock, ClockTimer, ManualClockOptions } from "./time/clock.js";

export {
  U32_MAX,
  ONCE_POLICY,
  oncePolicy,
  repeatPolicy,
  cronPolicy,
  validateRunPolicy,
  parseCronExpression,
  nextCronOccurrences,
  CRON_HORIZON_MS,
  MAX_START_AT_MS,
  canonicalTimeZone,
  mayDeriveMoreRuns,
  ONCE_POLICY_FIELDS,
  REPEAT_POLICY_FIELDS,
  CRON_POLICY_FIELDS,
  RUN_POLICY_FIELDS,
  MISFIRE_FIELDS,
} from "./task/run-policy.js";
export type { RunPolicy, OncePolicy, RepeatPolicy, CronPolicy, MisfirePolicy } from "./task/run-policy.js";
export {
  SAFETY_LEVELS,
  CONCURRENCY_KEY_HOLD_POLICIES,
  DEFAULT_TASK_CONSTRAINTS,
  CONSTRAINT_FIELDS,
  createTaskConstraints,
  validateTaskConstraints,
} from "./task/task-constraints.js";
export type { TaskConstraints, TaskConstraintsInput, SafetyLevel, ConcurrencyKeyHoldPolicy } from "./task/task-constraints.js";
export { RETRY_BACKOFF_FIELDS, MAX_RETRY_DELAY_MS, validateRetryBackoff } from "./task/retry-backoff.js";
export type { RetryBackoff, FixedRetryBackoff, ExponentialRetryBackoff } from "./task/retry-backoff.js";
export {
  TASK_NAME_MAX_LENGTH,
  DEFAULT_TASK_METADATA,
  METADATA_FIELDS,
  EMPTY_PAYLOAD_BYTES,
  EMPTY_TASK_PAYLOAD,
  JSON_CONTENT_TYPE,
  createTaskSpec,
  validateTaskSpec,
  validateTaskMetadata,
  payloadJson,
  jsonPayload,
  withRunPolicy,
  withConstraints,
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

export { ATTEMPT_RESULT_KINDS, AttemptOutcome, countedAttempts, validateAttemptOutcome } from "./mutation/attempt-outcome.js";
export type { AttemptResultKind } from "./mutation/attempt-outcome.js";
export { MUTATION_COMMAND_KINDS } from "./mutation/commands.js";
export { validateCommandShape } from "./mutation/validate-command.js";
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
  TaskPurgeCommand,
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
  RunDispatchCommand,
  RunFinishCommand,
  RunsPromoteCommand,
  TaskSubmitCommand,
  RunsDispatchCommand,
} from "./mutation/commands.js";
export type { AppliedMutation, MutationOutcome, MutationAuthority, GroupCommitMutationAuthority } from "./mutation/authority.js";

// Extension types (budget, subscriptions, actors, platform).
export {
  BUDGET_DIMENSIONS,
  isBudgetDimension,
  validateBudgetDimension,
  validateBudgetLimit,
  budgetAllocation,
  validateBudgetAllocation,
  budgetConsumption,
  validateBudgetConsumption,
} from "./budget/budget.js";
export type { BudgetDimension, BudgetAllocation, BudgetConsumption } from "./budget/budget.js";
export { EVENT_FILTER_KINDS, eventFilter, validateEventFilter } from "./subscription/event-filter.js";
export type { EventFilter } from "./subscription/event-filter.js";
export { checkEvent, eventMatchesFilter } from "./subscription/event.js";
export type { ActionQueueEvent, ActiveSubscription, SubscriptionSource } from "./subscription/event.js";
export {
  DEFAULT_HEARTBEAT_MULTIPLIER,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_POLICY,
  actorCapabilities,
  validateActorCapabilities,
  satisfiesCapabilities,
  actorRegistration,
  validateActorRegistration,
  heartbeatPolicy,
  validateHeartbeatPolicy,
  heartbeatTimeoutMs,
} from "./actor/actor.js";
export type { ActorRegistration, ActorRegistrationInput, ActorCapabilities, HeartbeatPolicy } from "./actor/actor.js";
export {
  ROLE_KINDS,
  PERMISSION_KINDS,
  customRole,
  validateRole,
  customPermission,
  validatePermission,
  tenantRegistration,
  validateTenantRegistration,
  ledgerEntry,
  validateLedgerEntry,
} from "./platform/platform.js";
export type { Role, Permission, TenantRegistration, LedgerEntry, LedgerEntryInput } from "./platform/platform.js";

// JSON codecs of every persisted type.
export { bytesToBase64, bytesFromBase64 } from "./codec/base64.js";
export {
  taskPayloadToJson,
  taskPayloadFromJson,
  taskMetadataToJson,
  taskMetadataFromJson,
  taskConstraintsToJson,
  taskConstraintsFromJson,
  runPolicyToJson,
  runPolicyFromJson,
  taskSpecToJson,
  taskSpecFromJson,
} from "./codec/task-codec.js";
export type {
  TaskPayloadJson,
  TaskMetadataJson,
  TaskConstraintsJson,
  MisfirePolicyJson,
  RunPolicyJson,
  TaskSpecJson,
} from "./codec/task-codec.js";
export { runInstanceToJson, runInstanceFromJson, attemptOutcomeToJson, attemptOutcomeFromJson } from "./codec/run-codec.js";
export type { RunInstanceJson, AttemptOutcomeJson } from "./codec/run-codec.js";
export {
  budgetAllocationToJson,
  budgetAllocationFromJson,
  budgetConsumptionToJson,
  budgetConsumptionFromJson,
  eventFilterToJson,
  eventFilterFromJson,
  actorRegistrationToJson,
  actorRegistrationFromJson,
  heartbeatPolicyToJson,
  heartbeatPolicyFromJson,
  tenantRegistrationToJson,
  tenantRegistrationFromJson,
  roleToJson,
  roleFromJson,
  permissionToJson,
  permissionFromJson,
  ledgerEntryToJson,
  ledgerEntryFromJson,
} from "./codec/extension-codec.js";
export type {
  BudgetAllocationJson,
  BudgetConsumptionJson,
  EventFilterJson,
  ActorRegistrationJson,
  HeartbeatPolicyJson,
  TenantRegistrationJson,
  RoleJson,
  PermissionJson,
  LedgerEntryJson,
} from "./codec/extension-codec.js";
