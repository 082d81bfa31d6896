/**
 * The retry decision table: from how an attempt ended, its counted attempt
 * number and `maxAttempts`, the run's next state. Retries never create runs
 * and never exceed the cap ("no N+1"); suspension bypasses the cap entirely.
 */
import { ValidationError, describeValue } from "@actionqueue/core";
import type { Clock } from "@actionqueue/core";
import type { BackoffStrategy } from "./backoff.js";
import { backoffDelayMs } from "./backoff.js";
import type { ExecutorResponseKind } from "./executor-response.js";

/** Input of {@link decideRetry}. */
export interface RetryDecisionInput {
  /** How the attempt ended. */
  readonly outcome: ExecutorResponseKind;
  /** 1-based attempt number, counting only non-suspended attempts. */
  readonly attemptNumber: number;
  /** The task's cap (≥ 1). */
  readonly maxAttempts: number;
}

/** The run's next state after an attempt. */
export type RetryDecision =
  | { readonly kind: "completed" }
  | { readonly kind: "retryWait"; readonly delayMs: number }
  | { readonly kind: "failed" }
  | { readonly kind: "suspended" };

const COMPLETED: RetryDecision = Object.freeze({ kind: "completed" });
const FAILED: RetryDecision = Object.freeze({ kind: "failed" });
const SUSPENDED: RetryDecision = Object.freeze({ kind: "suspended" });
const RETRY_NOW: RetryDecision = Object.freeze({ kind: "retryWait", delayMs: 0 });

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/**
 * Decides the next state, in this order:
 * 1. `suspended` → `suspended`, without validating the numbers (a suspended
 *    attempt may exceed the cap);
 * 2. validation: `maxAttempts` 0 → `INVALID_MAX_ATTEMPTS`, `attemptNumber` 0 →
 *    `INVALID_ATTEMPT_NUMBER`, `attemptNumber > maxAttempts` →
 *    `ATTEMPT_EXCEEDS_CAP` (all `ValidationError`s);
 * 3. success → `completed`; terminal failure → `failed`; retryable failure or
 *    timeout → `retryWait` below the cap, `failed` at it.
 *
 * The `retryWait` delay comes from `backoff` for `attemptNumber` (0 when no
 * strategy is given); jitter draws from `clock.random()`.
 */
export function decideRetry(input: RetryDecisionInput, backoff?: BackoffStrategy, clock?: Pick<Clock, "random">): RetryDecision {
  const { outcome, attemptNumber, maxAttempts } = input;
  if (outcome === "suspended") return SUSPENDED;
  if (!isCount(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError("INVALID_MAX_ATTEMPTS", `invalid maxAttempts ${describeValue(maxAttempts)}: expected an integer of at least 1`, {
      details: { field: "maxAttempts", value: describeValue(maxAttempts) },
    });
  }
  if (!isCount(attemptNumber) || attemptNumber < 1) {
    throw new ValidationError(
      "INVALID_ATTEMPT_NUMBER",
      `invalid attemptNumber ${describeValue(attemptNumber)}: attempts are numbered from 1`,
      { details: { field: "attemptNumber", value: describeValue(attemptNumber) } },
    );
  }
  if (attemptNumber > maxAttempts) {
    throw new ValidationError(
      "ATTEMPT_EXCEEDS_CAP",
      `attempt ${attemptNumber} exceeds the cap of ${maxAttempts} attempts; no attempt ${maxAttempts + 1} may run`,
      { details: { attemptNumber, maxAttempts } },
    );
  }
  switch (outcome) {
    case "success":
      return COMPLETED;
    case "terminalFailure":
      return FAILED;
    case "retryableFailure":
    case "timeout":
      if (attemptNumber === maxAttempts) return FAILED;
      if (backoff === undefined) return RETRY_NOW;
      return { kind: "retryWait", delayMs: backoffDelayMs(backoff, attemptNumber, clock) };
  }
}

/** True when the decision retries the run. */
export function canRetry(decision: RetryDecision): boolean {
  return decision.kind === "retryWait";
}
