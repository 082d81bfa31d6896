/**
 * TaskConstraints: how a task's runs may execute — attempts, timeout,
 * concurrency key and its hold policy, safety level, required capabilities.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { assertKnownKeys } from "../internal/known-keys.js";
import { assertWellFormedText } from "../internal/well-formed.js";
import { U32_MAX } from "./run-policy.js";
import { copyRetryBackoff, validateRetryBackoff } from "./retry-backoff.js";
import type { RetryBackoff } from "./retry-backoff.js";

/** How dangerous a retry is. Classification only; the engine acts on none of it. */
export type SafetyLevel = "pure" | "idempotent" | "transactional";
/** Every safety level, in order. */
export const SAFETY_LEVELS: readonly SafetyLevel[] = ["pure", "idempotent", "transactional"];

/** Whether a run keeps its concurrency key while it waits out a retry backoff. */
export type ConcurrencyKeyHoldPolicy = "holdDuringRetry" | "releaseOnRetry";
/** Every hold policy, in order. */
export const CONCURRENCY_KEY_HOLD_POLICIES: readonly ConcurrencyKeyHoldPolicy[] = ["holdDuringRetry", "releaseOnRetry"];

/** Execution constraints of a task. */
export interface TaskConstraints {
  /** Attempts allowed per run, ≥ 1 (suspended attempts do not count). Default 1. */
  readonly maxAttempts: number;
  /** Per-attempt timeout in milliseconds (≥ 1); absent means no timeout. */
  readonly timeoutMs?: number;
  /** Runs sharing a key never run concurrently; non-empty when present. */
  readonly concurrencyKey?: string;
  /** Default `holdDuringRetry`. */
  readonly concurrencyKeyHoldPolicy: ConcurrencyKeyHoldPolicy;
  /** Default `pure`. */
  readonly safetyLevel: SafetyLevel;
  /** Capabilities a remote executor must all hold; non-empty list of non-empty strings when present. */
  readonly requiredCapabilities?: readonly string[];
  /** This task's retry backoff, in place of the queue's; absent: the queue's. */
  readonly backoff?: RetryBackoff;
}

/** Every field of {@link TaskConstraints}: any other key in an input is refused. */
export const CONSTRAINT_FIELDS: readonly (keyof TaskConstraints)[] = [
  "maxAttempts",
  "timeoutMs",
  "concurrencyKey",
  "concurrencyKeyHoldPolicy",
  "safetyLevel",
  "requiredCapabilities",
  "backoff",
];

/** What a caller may pass: every field optional, defaults filled in. */
export type TaskConstraintsInput = Partial<TaskConstraints>;

/**
 * The defaults: one attempt, no timeout, no key, `holdDuringRetry`, `pure`.
 * Frozen and shared: {@link createTaskConstraints} returns this very object
 * for input that asks for nothing but the defaults.
 */
export const DEFAULT_TASK_CONSTRAINTS: TaskConstraints = Object.freeze({
  maxAttempts: 1,
  concurrencyKeyHoldPolicy: "holdDuringRetry",
  safetyLevel: "pure",
});

/**
 * Builds validated constraints from partial input. Throws on the first failure,
 * in the order maxAttempts, timeoutMs, concurrencyKey, hold policy, safety
 * level, requiredCapabilities, backoff; the error names the field and the value.
 */
export function createTaskConstraints(input: TaskConstraintsInput | null = {}): TaskConstraints {
  const c = buildTaskConstraints(input);
  // The shared defaults are valid: validation has nothing to say about them.
  if (c !== DEFAULT_TASK_CONSTRAINTS) validateTaskConstraints(c);
  return c;
}

/**
 * Constraints from partial input, not validated yet: a field given as
 * `undefined` or `null` is the same as one left out (its default, or no key
 * at all).
 * Shared by {@link createTaskConstraints} and `withConstraints`, which
 * validates the whole spec itself.
 */
export function buildTaskConstraints(given: TaskConstraintsInput | null = {}): TaskConstraints {
  const input = given ?? {};
  // A number, string or list has none of the fields, so it read as "all defaults": refused by name instead.
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError("INVALID_FIELD", `invalid constraints ${describeValue(input)}: expected an object (omit it for the defaults)`, {
      details: { field: "constraints", value: describeValue(input) },
    });
  }
  assertKnownKeys(input, "constraints", CONSTRAINT_FIELDS);
  const maxAttempts = input.maxAttempts ?? 1;
  const concurrencyKeyHoldPolicy = input.concurrencyKeyHoldPolicy ?? "holdDuringRetry";
  const safetyLevel = input.safetyLevel ?? "pure";
  // Input that spells out nothing but the defaults shares the frozen defaults:
  // no allocation per task. (`== null`: null means "not given", as undefined does.)
  if (
    maxAttempts === 1 &&
    concurrencyKeyHoldPolicy === "holdDuringRetry" &&
    safetyLevel === "pure" &&
    input.timeoutMs == null &&
    input.concurrencyKey == null &&
    input.requiredCapabilities == null &&
    input.backoff == null
  ) {
    return DEFAULT_TASK_CONSTRAINTS;
  }
  // Assignment, not conditional spreads: those are slow on Node 20 and this runs per submission.
  const c: { -readonly [K in keyof TaskConstraints]: TaskConstraints[K] } = { maxAttempts, concurrencyKeyHoldPolicy, safetyLevel };
  if (input.timeoutMs != null) c.timeoutMs = input.timeoutMs;
  if (input.concurrencyKey != null) c.concurrencyKey = input.concurrencyKey;
  // Copied only when it is a list: anything else is left for validation to refuse by name (spreading a string split it into characters).
  if (input.requiredCapabilities != null) {
    const listed = input.requiredCapabilities as unknown;
    c.requiredCapabilities = Array.isArray(listed) ? [...(listed as readonly string[])] : (listed as readonly string[]);
  }
  if (input.backoff != null) c.backoff = copyRetryBackoff(input.backoff);
  return c;
}

/** Checks every rule of {@link TaskConstraints}; throws a `ValidationError` on the first failure. */
export function validateTaskConstraints(c: TaskConstraints): void {
  if (typeof c.maxAttempts !== "number" || !Number.isSafeInteger(c.maxAttempts) || c.maxAttempts < 1 || c.maxAttempts > U32_MAX) {
    throw new ValidationError(
      "INVALID_MAX_ATTEMPTS",
      `invalid constraints.maxAttempts ${describeValue(c.maxAttempts)}: expected an integer of at least 1`,
      { details: { field: "constraints.maxAttempts", value: c.maxAttempts } },
    );
  }
  if (c.timeoutMs !== undefined) {
    if (c.timeoutMs === 0) {
      throw new ValidationError("ZERO_TIMEOUT", "invalid constraints.timeoutMs 0: a timeout must be at least 1 ms (omit it for no timeout)", {
        details: { field: "constraints.timeoutMs", value: 0 },
      });
    }
    if (typeof c.timeoutMs !== "number" || !Number.isSafeInteger(c.timeoutMs) || c.timeoutMs < 1) {
      throw new ValidationError(
        "INVALID_TIMEOUT",
        `invalid constraints.timeoutMs ${describeValue(c.timeoutMs)}: expected a whole number of milliseconds of at least 1`,
        { details: { field: "constraints.timeoutMs", value: describeValue(c.timeoutMs) } },
      );
    }
  }
  if (c.concurrencyKey !== undefined && (typeof c.concurrencyKey !== "string" || c.concurrencyKey.length === 0)) {
    throw new ValidationError(
      "EMPTY_CONCURRENCY_KEY",
      `invalid constraints.concurrencyKey ${describeValue(c.concurrencyKey)}: expected a non-empty string (omit it for no key)`,
      { details: { field: "constraints.concurrencyKey", value: describeValue(c.concurrencyKey) } },
    );
  }
  if (!CONCURRENCY_KEY_HOLD_POLICIES.includes(c.concurrencyKeyHoldPolicy)) {
    throw new ValidationError(
      "INVALID_CONCURRENCY_KEY_HOLD_POLICY",
      `invalid constraints.concurrencyKeyHoldPolicy ${describeValue(c.concurrencyKeyHoldPolicy)}: expected "holdDuringRetry" or "releaseOnRetry"`,
      { details: { field: "constraints.concurrencyKeyHoldPolicy", value: describeValue(c.concurrencyKeyHoldPolicy) } },
    );
  }
  if (!SAFETY_LEVELS.includes(c.safetyLevel)) {
    throw new ValidationError(
      "INVALID_SAFETY_LEVEL",
      `invalid constraints.safetyLevel ${describeValue(c.safetyLevel)}: expected "pure", "idempotent" or "transactional"`,
      { details: { field: "constraints.safetyLevel", value: describeValue(c.safetyLevel) } },
    );
  }
  if (c.requiredCapabilities !== undefined) {
    if (!Array.isArray(c.requiredCapabilities)) {
      throw new ValidationError(
        "INVALID_CAPABILITIES",
        `invalid constraints.requiredCapabilities ${describeValue(c.requiredCapabilities)}: expected a non-empty list of capability names`,
        { details: { field: "constraints.requiredCapabilities", value: describeValue(c.requiredCapabilities) } },
      );
    }
    if (c.requiredCapabilities.length === 0) {
      throw new ValidationError(
        "EMPTY_CAPABILITIES",
        "invalid constraints.requiredCapabilities: the list is empty; omit it to accept any executor",
        { details: { field: "constraints.requiredCapabilities" } },
      );
    }
    const bad = c.requiredCapabilities.findIndex((x) => typeof x !== "string" || x.length === 0);
    if (bad >= 0) {
      throw new ValidationError(
        "EMPTY_CAPABILITY_ENTRY",
        `invalid constraints.requiredCapabilities[${bad}] ${describeValue(c.requiredCapabilities[bad])}: entries must be non-empty strings`,
        { details: { field: `constraints.requiredCapabilities[${bad}]` } },
      );
    }
    const capabilities: readonly string[] = c.requiredCapabilities;
    capabilities.forEach((capability, i) => assertWellFormedText(`constraints.requiredCapabilities[${i}]`, capability));
  }
  if (c.concurrencyKey !== undefined) assertWellFormedText("constraints.concurrencyKey", c.concurrencyKey);
  if (c.backoff !== undefined) validateRetryBackoff(c.backoff);
}
