/**
 * Root of every error ActionQueue throws. Callers recognise errors by their
 * stable `code` (or the static `is()` guards), never only by `instanceof`,
 * because two copies of a package may be installed side by side.
 */
import type { ErrorCode, ErrorFamily } from "./error-codes.js";
import { ERROR_CODES } from "./error-codes.js";

/** Structured detail carried by an error: the field, the value and what was expected. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options accepted by every ActionQueue error constructor. */
export interface ActionQueueErrorOptions {
  /** Structured detail (field names, offending values, ids). */
  readonly details?: ErrorDetails;
  /** The underlying error, if this one wraps another. */
  readonly cause?: unknown;
}

const MARK = Symbol.for("actionqueue.error");

/** Base class of every ActionQueue error. */
export class ActionQueueError extends Error {
  /** Stable machine-readable code from {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** Structured detail; never contains secrets. */
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: ActionQueueErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, MARK, { value: true });
  }

  /** The family of this error's code (validation, transition, storage, ...). */
  get family(): ErrorFamily {
    return ERROR_CODES[this.code];
  }

  /** True for any ActionQueue error, even one thrown by another copy of the package. */
  static is(value: unknown): value is ActionQueueError {
    return (
      typeof value === "object" &&
      value !== null &&
      ((value as Record<symbol, unknown>)[MARK] === true || value instanceof ActionQueueError)
    );
  }

  /** True when `value` is an ActionQueue error with the given code. */
  static hasCode(value: unknown, code: ErrorCode): value is ActionQueueError {
    return ActionQueueError.is(value) && value.code === code;
  }
}

/** Bad input: a field, a value and what was expected. */
export class ValidationError extends ActionQueueError {}

/** An illegal run-state transition or attempt operation. */
export class TransitionError extends ActionQueueError {}

/** A command the mutation authority refused because of the current durable state. */
export class CommandRejectedError extends ActionQueueError {}

/** The caller's expected WAL sequence is not the next one. */
export class SequenceConflictError extends ActionQueueError {
  /** The sequence the authority would assign next. */
  readonly expected: number;
  /** The sequence the command carried. */
  readonly actual: number;

  constructor(expected: number, actual: number) {
    super(
      "SEQUENCE_CONFLICT",
      `sequence conflict: command carries sequence ${actual}, the next sequence is ${expected}`,
      { details: { expected, actual } },
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Storage failure: I/O, damage, lock, poisoned writer. */
export class StorageError extends ActionQueueError {}

/** Describes an arbitrary value for an error message, briefly and safely. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value;
}
