/**
 * Helpers for the JSON decoders: read a plain object, refuse keys we do not
 * know (`UNKNOWN_FIELD`), fetch required and optional members with their JSON
 * type checked (`INVALID_FIELD`). Domain rules are left to the validators.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";

/** A JSON object as read from untrusted input. */
export type JsonRecord = Readonly<Record<string, unknown>>;

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return describeValue(value);
}

/** Requires a plain object whose keys are all in `allowed`; the error names the first unknown key. */
export function readObject(value: unknown, path: string, allowed: readonly string[]): JsonRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ValidationError("INVALID_FIELD", `invalid ${path} ${typeName(value)}: expected a JSON object`, {
      details: { field: path, value: typeName(value) },
    });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ValidationError("UNKNOWN_FIELD", `unknown field ${JSON.stringify(key)} in ${path}: expected only ${allowed.join(", ")}`, {
        details: { field: `${path}.${key}`, key },
      });
    }
  }
  return value as JsonRecord;
}

/** A required member; `INVALID_FIELD` when it is absent or null. */
export function required(obj: JsonRecord, key: string, path: string): unknown {
  const value = obj[key];
  if (value === undefined || value === null) {
    throw new ValidationError("INVALID_FIELD", `missing field ${path}.${key}`, { details: { field: `${path}.${key}` } });
  }
  return value;
}

/** An optional member: absent and null both mean "none". */
export function optional(obj: JsonRecord, key: string): unknown {
  const value = obj[key];
  return value === null ? undefined : value;
}

/** Requires a JSON string. */
export function asString(value: unknown, field: string): string {
  if (typeof value !== "string") {
    throw new ValidationError("INVALID_FIELD", `invalid ${field} ${typeName(value)}: expected a string`, {
      details: { field, value: typeName(value) },
    });
  }
  return value;
}

/** Requires a JSON number (range rules are the domain validator's). */
export function asNumber(value: unknown, field: string): number {
  if (typeof value !== "number") {
    throw new ValidationError("INVALID_FIELD", `invalid ${field} ${typeName(value)}: expected a number`, {
      details: { field, value: typeName(value) },
    });
  }
  return value;
}

/** Requires an array of strings. */
export function asStringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) {
    throw new ValidationError("INVALID_FIELD", `invalid ${field} ${typeName(value)}: expected an array of strings`, {
      details: { field, value: typeName(value) },
    });
  }
  return value.map((entry, i) => asString(entry, `${field}[${i}]`));
}

/** Maps an optional member through `read`, keeping "none" as undefined. */
export function optionalWith<T>(obj: JsonRecord, key: string, read: (value: unknown) => T): T | undefined {
  const value = optional(obj, key);
  return value === undefined ? undefined : read(value);
}
