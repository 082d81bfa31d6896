/**
 * Strict reading of untrusted JSON objects: unknown keys are an error, because
 * a typo (`maxAttempt`) must never silently become a default.
 */
import { ValidationError, closestKey, describeValue } from "@actionqueue/core";

/** Asserts `value` is a plain object whose keys are all in `allowed`; names the first stranger. */
export function assertStrictObject(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("INVALID_FIELD", `${field}: expected a JSON object, got ${describeValue(value)}`, {
      details: { field, value: describeValue(value) },
    });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const near = closestKey(key, allowed);
      throw new ValidationError(
        "UNKNOWN_FIELD",
        `${field}: unknown key ${JSON.stringify(key)}${near === undefined ? "" : ` (did you mean ${near}?)`}; expected one of ${allowed.join(", ")}`,
        { details: { field: `${field}.${key}`, allowed, ...(near === undefined ? {} : { suggestion: near }) } },
      );
    }
  }
  return value as Record<string, unknown>;
}

/**
 * `obj` without those of its `optional` keys whose value is null: JSON
 * clients send null for an absent optional field, and it means "not given"
 * everywhere in a submission. A required key given as null stays, for
 * validation to refuse by name.
 */
export function withoutNulls(obj: Record<string, unknown>, optional: readonly string[]): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of optional) {
    if (obj[key] === null) {
      copy ??= { ...obj };
      delete copy[key];
    }
  }
  return copy ?? obj;
}
