/**
 * Retry backoff in milliseconds: fixed, or exponential with a cap, each with
 * optional full jitter drawn from the injected clock's `random()`. The attempt
 * number fed in is the *counted* one: suspended attempts never grow the delay.
 */
import { ValidationError, describeValue } from "@actionqueue/core";
import type { Clock } from "@actionqueue/core";

/** `none` (default): the exact delay. `full`: uniform in `[0, delay]` (integer ms). */
export type BackoffJitter = "none" | "full";

/** The same delay before every retry. */
export interface FixedBackoff {
  readonly kind: "fixed";
  readonly delayMs: number;
  readonly jitter?: BackoffJitter;
}

/** `min(maxMs, baseMs × 2^(n−1))` before the retry after the n-th counted attempt. */
export interface ExponentialBackoff {
  readonly kind: "exponential";
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter?: BackoffJitter;
}

/** How long a run waits in `retryWait` before it is ready again. */
export type BackoffStrategy = FixedBackoff | ExponentialBackoff;

/** The runtime default: a fixed 5 s delay. */
export const DEFAULT_BACKOFF: BackoffStrategy = Object.freeze({ kind: "fixed", delayMs: 5_000 });

function checkMs(field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError("INVALID_DURATION", `invalid ${field} ${describeValue(value)}: expected whole milliseconds ≥ 0`, {
      details: { field, value: describeValue(value) },
    });
  }
}

/**
 * Validates a strategy: delays are whole non-negative milliseconds, jitter is
 * `none` or `full`, and an exponential base may not exceed its cap. Throws a
 * `ValidationError` (`INVALID_DURATION` / `INVALID_CONFIG`) naming the field.
 */
export function validateBackoff(strategy: BackoffStrategy): void {
  if (strategy.jitter !== undefined && strategy.jitter !== "none" && strategy.jitter !== "full") {
    throw new ValidationError("INVALID_CONFIG", `invalid backoff.jitter ${describeValue(strategy.jitter)}: expected "none" or "full"`, {
      details: { field: "backoff.jitter" },
    });
  }
  switch (strategy.kind) {
    case "fixed":
      checkMs("backoff.delayMs", strategy.delayMs);
      return;
    case "exponential":
      checkMs("backoff.baseMs", strategy.baseMs);
      checkMs("backoff.maxMs", strategy.maxMs);
      if (strategy.baseMs > strategy.maxMs) {
        throw new ValidationError(
          "INVALID_CONFIG",
          `invalid exponential backoff: baseMs ${strategy.baseMs} exceeds maxMs ${strategy.maxMs}`,
          { details: { field: "backoff.baseMs", baseMs: strategy.baseMs, maxMs: strategy.maxMs } },
        );
      }
      return;
    default:
      throw new ValidationError("INVALID_CONFIG", `invalid backoff.kind ${describeValue((strategy as { kind?: unknown }).kind)}`, {
        details: { field: "backoff.kind" },
      });
  }
}

/** A validated fixed strategy. */
export function fixedBackoff(delayMs: number, options: { jitter?: BackoffJitter } = {}): FixedBackoff {
  const s: FixedBackoff = options.jitter === undefined ? { kind: "fixed", delayMs } : { kind: "fixed", delayMs, jitter: options.jitter };
  validateBackoff(s);
  return s;
}

/** A validated exponential strategy; throws when `baseMs > maxMs`. */
export function exponentialBackoff(baseMs: number, maxMs: number, options: { jitter?: BackoffJitter } = {}): ExponentialBackoff {
  const s: ExponentialBackoff =
    options.jitter === undefined ? { kind: "exponential", baseMs, maxMs } : { kind: "exponential", baseMs, maxMs, jitter: options.jitter };
  validateBackoff(s);
  return s;
}

/**
 * The un-jittered delay (ms) before the retry that follows the `attempt`-th
 * counted attempt (first retry: `attempt = 1`; 0 acts like 1). Exponential
 * growth saturates at the cap instead of overflowing.
 */
export function baseDelayMs(strategy: BackoffStrategy, attempt: number): number {
  if (strategy.kind === "fixed") return strategy.delayMs;
  const exponent = attempt > 1 ? attempt - 1 : 0;
  if (exponent >= 1024) return strategy.maxMs;
  const raw = strategy.baseMs * 2 ** exponent;
  return raw >= strategy.maxMs ? strategy.maxMs : raw;
}

/**
 * The delay (ms) before the retry that follows the `attempt`-th counted
 * attempt, with full jitter (from `clock.random()`) when the strategy asks for
 * it. Always a whole number of milliseconds in `[0, baseDelayMs]`.
 */
export function backoffDelayMs(strategy: BackoffStrategy, attempt: number, clock?: Pick<Clock, "random">): number {
  const delay = baseDelayMs(strategy, attempt);
  if (strategy.jitter !== "full" || delay === 0) return delay;
  if (clock === undefined) {
    throw new ValidationError("INVALID_CONFIG", "full-jitter backoff needs a clock for randomness", { details: { field: "clock" } });
  }
  return Math.floor(clock.random() * (delay + 1));
}

/** When a run that entered `retryWait` at `enteredAt` becomes due: `enteredAt + delayMs`, saturating at `Number.MAX_SAFE_INTEGER`. */
export function retryDueAt(enteredAt: number, delayMs: number): number {
  const due = enteredAt + delayMs;
  return due > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : due;
}
