/**
 * @actionqueue/engine — run derivation and misfire planning, run indices,
 * promotion, selection order, the concurrency-key gate, leases, the in-memory
 * {@link Scheduler} the runtime drives, and the attempt-finish seam between
 * executor and storage.
 */
export { DEFAULT_CRON_WINDOW, deriveRuns, deriveCronWindow, effectiveScheduleOrigin, repeatLastScheduledAt } from "./derive/derive-runs.js";
export type { DerivableTask, DeriveRunsInput, DerivationResult, CronWindowInput } from "./derive/derive-runs.js";
export { DerivationError } from "./derive/derivation-error.js";
export {
  DEFAULT_MISFIRE_TOLERANCE_MS,
  isOverdue,
  effectiveMisfirePolicy,
  planMisfire,
  buildMisfireCancellations,
} from "./derive/misfire.js";
export type { MisfireCandidate, MisfirePlan } from "./derive/misfire.js";

export { ScheduledIndex, ReadyIndex, RunningIndex, TerminalIndex } from "./indices/run-indices.js";
export type { IndexedRun } from "./indices/run-indices.js";

export { compareForSelection, selectedBefore, orderReadyRuns } from "./selection/run-order.js";
export type { OrderedRun } from "./selection/run-order.js";

export { ConcurrencyKeyGate, holdsConcurrencyKey, keyLifecycleAction, buildKeyGate } from "./concurrency/key-gate.js";
export type {
  KeyAcquireResult,
  KeyReleaseResult,
  KeyHoldingRun,
  KeyLifecycleAction,
  KeyedTask,
  GateRun,
  RebuiltKeyGate,
} from "./concurrency/key-gate.js";

export {
  DEFAULT_LEASE_POLICY,
  LOCAL_LEASE_OWNER,
  createLeasePolicy,
  isLeaseExpired,
  heartbeatDueAt,
  needsHeartbeat,
  acquireLeaseSlot,
  buildLeaseAcquire,
  buildLeaseHeartbeat,
  buildLeaseExpire,
  buildLeaseRelease,
  StaleFencingTokenError,
} from "./lease/lease.js";
export type { Lease, LeasePolicy, LeaseSlotResult, LeaseAcquireInput } from "./lease/lease.js";
export { LeaseTable } from "./lease/lease-table.js";

export { Scheduler } from "./scheduler/scheduler.js";
export { jitterFraction } from "./scheduler/jitter.js";
export type { SchedulerOptions, SchedulerRun, SchedulerRunInput, SchedulerTaskInput, SchedulerCounts } from "./scheduler/scheduler.js";
export {
  promoteScheduledRuns,
  promoteRetryWaitRuns,
  retryReadyAt,
  buildPromotionCommands,
  submitDuePromotions,
  PromotionSubmissionError,
} from "./scheduler/promotion.js";
export type { PromotionPartition, SubmitPromotionsOptions, PromotionReport } from "./scheduler/promotion.js";
export {
  AttemptFinishSubmissionError,
  buildAttemptFinishCommand,
  mapExecutorResponseToOutcome,
  submitAttemptFinishViaAuthority,
  submitAttemptFinishInGroupCommit,
  submitFencedAttemptFinish,
} from "./scheduler/attempt-finish.js";
