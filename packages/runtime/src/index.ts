/**
 * @actionqueue/runtime — the embedded ActionQueue: `ActionQueue.open()` on a
 * data directory, `submit()` tasks, and a durable dispatch loop that runs your
 * handlers, retries within limits and survives `kill -9`.
 */
export { ActionQueue, MAX_RUNS_PER_TASK } from "./action-queue.js";
export { QueueInspector } from "./queue-inspector.js";
export { loadHandlerModule } from "./handlers/handler-module.js";
export type { LoadedHandlers } from "./handlers/handler-module.js";
export { isNoHandlerError } from "./dispatch-loop.js";
export type { WalWriterStats, RecoveryReport, WalSyncMode } from "@actionqueue/storage";
export type { ActionQueueEvents, ActionQueueEventName, ActionQueueListener } from "./events/event-map.js";
export { parseDuration, formatDuration } from "./input/duration.js";
export { parseRunPolicyText, formatRunPolicy } from "./input/run-policy-text.js";
export { parseStartAtText } from "./input/start-at-text.js";
export type { DispatchGate, GateCandidate, GateHold, GateHoldInfo } from "./gates/dispatch-gate.js";
export { rateLimit } from "./gates/rate-limit.js";
export type { RateLimitOptions } from "./gates/rate-limit.js";
export { concurrencyLimit } from "./gates/concurrency-limit.js";
export type { ConcurrencyLimitOptions } from "./gates/concurrency-limit.js";
export { encodeJsonPayload } from "./input/json-payload.js";
export { MAX_HANDLER_OUTPUT_BYTES } from "./output-limit.js";
export {
  CONSTRAINT_KEYS,
  METADATA_KEYS,
  parseConstraintsJson,
  parseMetadataJson,
  parseRunPolicyJson,
  parseSubmitJson,
} from "./input/submit-input.js";
export type { ValidatedSubmission } from "./input/submit-input.js";
export type { PurgeOptions, PurgeResult, RetentionOptions, TerminalRunState } from "./purge.js";
export type {
  ActionQueueOptions,
  HandlerMap,
  SubmitInput,
  SubmitResult,
  TaskView,
  AttemptView,
  RunHistoryEntry,
  RunView,
  ListRunsQuery,
  RunPage,
  Stats,
  Explanation,
  CloseOptions,
} from "./types.js";
export {
  TerminalError,
  success,
  retryableFailure,
  terminalFailure,
  suspended,
  fixedBackoff,
  exponentialBackoff,
  MAX_ERROR_MESSAGE_CHARS,
} from "@actionqueue/executor-local";
export type { Handler, HandlerContext, BackoffStrategy } from "@actionqueue/executor-local";
