/**
 * Small validation helpers shared by the validating factories, the command
 * shape check and the JSON codecs. Private: not exported from the package.
 * Every helper throws a `ValidationError` whose message names the field, the
 * offending value and what was expected.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import type { ErrorCode } from "../errors/error-codes.js";

/** Largest u32, the Rust width of counts and multipliers. */
export const U32 = 4_294_967_295;
/** i32 bounds, the Rust width of priorities. */
export const I32_MIN = -2_147_483_648;
export const I32_MAX = 2_147_483_647;

/** Throws a `ValidationError` naming field, value and expectation. */
export function fail(code: ErrorCode, field: string, value: unknown, expected: string): never {
  throw new ValidationError(code, `invalid ${field} ${describeValue(value)}: expected ${expected}`, {
    details: { field, value: describeValue(value) },
  });
}

/** True for a safe integer ≥ 0. */
export function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** True for a safe integer from `min` to `max`. */
export function isIntInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** Requires epoch milliseconds: a safe integer ≥ 0 (`INVALID_TIMESTAMP`). */
export function requireTimestamp(field: string, value: unknown): number {
  if (!isNonNegativeInt(value)) fail("INVALID_TIMESTAMP", field, value, "epoch milliseconds (a safe integer ≥ 0)");
  return value;
}

/** Requires a string (`INVALID_FIELD`). */
export function requireString(field: string, value: unknown): string {
  if (typeof value !== "string") fail("INVALID_FIELD", field, value, "a string");
  return value;
}

/** Requires a non-empty string, reporting `code` when it is empty or not a string. */
export function requireNonEmpty(code: ErrorCode, field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) fail(code, field, value, "a non-empty string");
  return value;
}

/** Requires a Uint8Array (`INVALID_FIELD`). */
export function requireBytes(field: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) fail("INVALID_FIELD", field, value, "a Uint8Array");
  return value;
}

/**
 * Requires an id already in canonical form: `parse` must accept it and return
 * it unchanged (uppercase ULID), so persisted ids compare and sort correctly.
 */
export function requireCanonicalId<T extends string>(parse: (value: unknown) => T, field: string, value: unknown): T {
  const id = requireId(parse, field, value);
  if (id !== value) fail("INVALID_ID", field, value, `the canonical (uppercase) ULID ${id}`);
  return id;
}

/** Parses an id with `parse`, re-throwing `INVALID_ID` with the field named (the original is the cause). */
export function requireId<T extends string>(parse: (value: unknown) => T, field: string, value: unknown): T {
  try {
    return parse(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ValidationError("INVALID_ID", `invalid ${field}: ${reason}`, {
      details: { field, value: describeValue(value) },
      cause,
    });
  }
}
