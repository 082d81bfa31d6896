/**
 * A task's own retry backoff (`constraints.backoff`): how long its runs wait
 * in `retryWait` between attempts, in place of the queue's backoff. Fixed, or
 * exponential with a cap, each with optional full jitter.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { assertKnownKeys } from "../internal/known-keys.js";

/** The same delay before every retry; `jitter: "full"` draws it uniformly from `[0, delayMs]`. */
export interface FixedRetryBackoff {
  readonly kind: "fixed";
  readonly delayMs: number;
  readonly jitter?: "full";
}

/** `min(maxMs, baseMs × 2^(n−1))` before the retry after the n-th counted attempt; `jitter: "full"` as for fixed. */
export interface ExponentialRetryBackoff {
  readonly kind: "exponential";
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter?: "full";
}

/** A task's retry backoff. */
export type RetryBackoff = FixedRetryBackoff | ExponentialRetryBackoff;

/** Every field a retry backoff may have (`delayMs` only with fixed, `baseMs`/`maxMs` only with exponential). */
export const RETRY_BACKOFF_FIELDS: readonly string[] = ["kind", "delayMs", "baseMs", "maxMs", "jitter"];

/** Longest delay accepted: 2^31 − 1 ms (about 24.8 days). */
export const MAX_RETRY_DELAY_MS = 2_147_483_647;

/**
 * A copy with the fields its kind has; `jitter: "none"` (the default) and
 * null fields are left out. Anything that is not an object of a known kind is
 * returned as given, for {@link validateRetryBackoff} to name.
 */
export function copyRetryBackoff(backoff: RetryBackoff): RetryBackoff {
  if (typeof backoff !== "object" || backoff === null || Array.isArray(backoff)) return backoff;
  assertKnownKeys(backoff, "constraints.backoff", RETRY_BACKOFF_FIELDS);
  const jitter = (backoff as { jitter?: unknown }).jitter;
  const keepJitter = jitter != null && jitter !== "none";
  if (backoff.kind === "fixed") {
    assertKnownKeys(backoff, "constraints.backoff", ["kind", "delayMs", "jitter"]);
    return keepJitter ? { kind: "fixed", delayMs: backoff.delayMs, jitter: jitter as "full" } : { kind: "fixed", delayMs: backoff.delayMs };
  }
  if (backoff.kind === "exponential") {
    assertKnownKeys(backoff, "constraints.backoff", ["kind", "baseMs", "maxMs", "jitter"]);
    const copy = { kind: "exponential" as const, baseMs: backoff.baseMs, maxMs: backoff.maxMs };
    return keepJitter ? { ...copy, jitter: jitter as "full" } : copy;
  }
  return backoff;
}

function refuse(field: string, value: unknown, expected: string): never {
  throw new ValidationError("INVALID_BACKOFF", `invalid ${field} ${describeValue(value)}: expected ${expected}`, {
    details: { field, value: describeValue(value) },
  });
}

function checkDelay(field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > MAX_RETRY_DELAY_MS) {
    refuse(field, value, `whole milliseconds from 0 to ${MAX_RETRY_DELAY_MS}`);
  }
}

/** Checks a retry backoff; throws `INVALID_BACKOFF` naming the field (`constraints.backoff.delayMs`, ...). */
export function validateRetryBackoff(backoff: unknown, field = "constraints.backoff"): asserts backoff is RetryBackoff {
  if (typeof backoff !== "object" || backoff === null || Array.isArray(backoff)) {
    refuse(field, backoff, '{ kind: "fixed", delayMs } or { kind: "exponential", baseMs, maxMs }');
  }
  const b = backoff as { kind?: unknown; delayMs?: unknown; baseMs?: unknown; maxMs?: unknown; jitter?: unknown };
  if (b.jitter !== undefined && b.jitter !== "full") refuse(`${field}.jitter`, b.jitter, '"full" (or leave it out for none)');
  if (b.kind === "fixed") {
    checkDelay(`${field}.delayMs`, b.delayMs);
    return;
  }
  if (b.kind === "exponential") {
    checkDelay(`${field}.baseMs`, b.baseMs);
    checkDelay(`${field}.maxMs`, b.maxMs);
    if ((b.baseMs as number) > (b.maxMs as number)) refuse(`${field}.baseMs`, b.baseMs, `at most maxMs (${String(b.maxMs)})`);
    return;
  }
  refuse(`${field}.kind`, b.kind, '"fixed" or "exponential"');
}
