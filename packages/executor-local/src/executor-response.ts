/**
 * ExecutorResponse: how one attempt ended from the executor's point of view,
 * with exactly the variants of the Rust original (success, retryable failure,
 * terminal failure, timeout, suspended). The engine maps it to a durable
 * attempt outcome (`scheduler/attempt-finish`).
 */

/** Every `kind` of {@link ExecutorResponse}, in a stable order. */
export const EXECUTOR_RESPONSE_KINDS = [
  "success",
  "retryableFailure",
  "terminalFailure",
  "timeout",
  "suspended",
] as const;

/** The discriminant of {@link ExecutorResponse}. */
export type ExecutorResponseKind = (typeof EXECUTOR_RESPONSE_KINDS)[number];

/** The handler finished; `output` (never empty when present) is stored on the attempt. */
export interface SuccessResponse {
  readonly kind: "success";
  readonly output?: Uint8Array;
}

/** The attempt failed but may be retried (within `maxAttempts`). */
export interface RetryableFailureResponse {
  readonly kind: "retryableFailure";
  /** Non-empty failure message. */
  readonly error: string;
}

/** The attempt failed and must not be retried. */
export interface TerminalFailureResponse {
  readonly kind: "terminalFailure";
  /** Non-empty failure message. */
  readonly error: string;
}

/** The attempt ran past its deadline; retried like a retryable failure. */
export interface TimeoutResponse {
  readonly kind: "timeout";
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
}

/** The handler yielded (preemption); does not count toward `maxAttempts`. */
export interface SuspendedResponse {
  readonly kind: "suspended";
  readonly output?: Uint8Array;
}

/** How one attempt ended, as the executor reports it. */
export type ExecutorResponse =
  | SuccessResponse
  | RetryableFailureResponse
  | TerminalFailureResponse
  | TimeoutResponse
  | SuspendedResponse;

/** True for responses after which the run cannot be retried (success, terminal failure). */
export function isTerminalResponse(response: ExecutorResponse): boolean {
  return response.kind === "success" || response.kind === "terminalFailure";
}

/** True only for a retryable failure (a timeout is retried through the retry table, not flagged here). */
export function isRetryableResponse(response: ExecutorResponse): boolean {
  return response.kind === "retryableFailure";
}
