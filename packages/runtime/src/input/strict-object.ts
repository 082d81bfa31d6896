/**
 * Strict reading of untrusted JSON objects: unknown keys are an error, because
 * a typo (`maxAttempt`) must never silently become a default.
 */
import { ValidationError, describeValue } from "@actionqueue/core";

/** Asserts `value` is a plain object whose keys are all in `allowed`; names the first stranger. */
export function assertStrictObject(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("INVALID_FIELD", `${field}: expected a JSON object, got ${describeValue(value)}`, {
      details: { field, value: describeValue(value) },
    });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(
        "UNKNOWN_FIELD",
        `${field}: unknown key ${JSON.stringify(key)}; expected one of ${allowed.join(", ")}`,
        { details: { field: `${field}.${key}`, allowed } },
      );
    }
  }
  return value as Record<string, unknown>;
}
