/**
 * Timeout classification and cancellation-cooperation classification. The
 * runner enforces deadlines with the injected clock's timers; this module only
 * names what happened, so both the runner and its tests share one definition.
 */

/** Whether an attempt finished within its timeout. Equal to the limit is in time. */
export type TimeoutClassification = "notConfigured" | "completedInTime" | "timedOut";

/** Default cancellation-poll latency (ms) above which a cooperative handler counts as a breach. */
export const DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS = 250;

/**
 * Classifies an attempt's elapsed time against its timeout: no timeout →
 * `notConfigured`; `elapsedMs <= timeoutMs` → `completedInTime`; otherwise
 * `timedOut` (strictly greater).
 */
export function classifyTimeout(timeoutMs: number | undefined, elapsedMs: number): TimeoutClassification {
  if (timeoutMs === undefined) return "notConfigured";
  return elapsedMs > timeoutMs ? "timedOut" : "completedInTime";
}

/** The durable failure message of a timed-out attempt: `attempt timed out after 5000ms`. */
export function timeoutMessage(timeoutMs: number): string {
  return `attempt timed out after ${timeoutMs}ms`;
}

/**
 * How a handler reacted to cancellation after a timeout:
 * - `notApplicable`: the attempt did not time out;
 * - `cooperative`: it observed the abort within the threshold;
 * - `cooperativeThresholdBreach`: it observed it, but later than the threshold;
 * - `nonCooperative`: it never observed it (or no latency is known).
 */
export type CancellationCooperation = "notApplicable" | "cooperative" | "cooperativeThresholdBreach" | "nonCooperative";

/**
 * Classifies cooperation from the timeout classification and the observed
 * latency (ms between the abort request and the handler's first observation,
 * `undefined` when never observed).
 */
export function classifyCooperation(
  classification: TimeoutClassification,
  observationLatencyMs: number | undefined,
  thresholdMs: number = DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS,
): CancellationCooperation {
  if (classification !== "timedOut") return "notApplicable";
  if (observationLatencyMs === undefined) return "nonCooperative";
  return observationLatencyMs > thresholdMs ? "cooperativeThresholdBreach" : "cooperative";
}
