/**
 * @actionqueue/executor-local — runs handlers in-process: the handler contract
 * and output helpers, executor responses, the attempt runner with real timeout
 * enforcement and cancellation, the retry decision table and backoff.
 */
export { EXECUTOR_RESPONSE_KINDS, isRetryableResponse, isTerminalResponse } from "./executor-response.js";
export type {
  ExecutorResponse,
  ExecutorResponseKind,
  SuccessResponse,
  RetryableFailureResponse,
  TerminalFailureResponse,
  TimeoutResponse,
  SuspendedResponse,
} from "./executor-response.js";
export {
  TerminalError,
  success,
  retryableFailure,
  terminalFailure,
  suspended,
  isHandlerOutput,
  toExecutorResponse,
  errorToResponse,
  errorMessage,
  MAX_ERROR_MESSAGE_CHARS,
} from "./handler.js";
export type { Handler, HandlerContext, HandlerOutput, MarkedOutput, AttemptMetadata, AttemptAbortReason } from "./handler.js";
export { AttemptContext } from "./attempt-context.js";
export type { AttemptRequest } from "./attempt-context.js";
export { AttemptRunner, runAttempt } from "./attempt-runner.js";
export type { AttemptHandle, AttemptResult, AttemptResultCallback, AttemptRunnerOptions, LateSettlement } from "./attempt-runner.js";
export { DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS, classifyTimeout, classifyCooperation, timeoutMessage } from "./timeout.js";
export type { TimeoutClassification, CancellationCooperation } from "./timeout.js";
export { decideRetry, canRetry } from "./retry.js";
export type { RetryDecision, RetryDecisionInput } from "./retry.js";
export {
  DEFAULT_BACKOFF,
  validateBackoff,
  fixedBackoff,
  exponentialBackoff,
  baseDelayMs,
  backoffDelayMs,
  retryDueAt,
} from "./backoff.js";
export type { BackoffStrategy, BackoffJitter, FixedBackoff, ExponentialBackoff } from "./backoff.js";
