/**
 * The handler contract: `async (ctx) => output`. A handler receives an
 * {@link HandlerContext} and returns nothing (success), one of the output
 * helpers, or a plain value that becomes the attempt's output. A thrown error
 * is a retryable failure; a thrown {@link TerminalError} is terminal.
 */
import { ActionQueueError, isWellFormedText } from "@actionqueue/core";
import type { AttemptId, RunId, SafetyLevel, TaskId } from "@actionqueue/core";
import type { ExecutorResponse, RetryableFailureResponse, SuspendedResponse, SuccessResponse, TerminalFailureResponse } from "./executor-response.js";

/** Attempt metadata a handler may use to adapt its behaviour. */
export interface AttemptMetadata {
  /** 1-based number of this attempt (suspended attempts excluded when the runtime counts them). */
  readonly attemptNumber: number;
  /** Attempts allowed for the run (≥ 1). */
  readonly maxAttempts: number;
  /** Per-attempt limit in milliseconds; absent means no timeout. */
  readonly timeoutMs: number | undefined;
  /** How dangerous a retry is (classification only). */
  readonly safetyLevel: SafetyLevel;
}

/**
 * What a handler receives. `signal` aborts on timeout, cancellation and
 * shutdown; its `reason` is an {@link AttemptAbortReason}.
 */
export interface HandlerContext<TPayload = unknown> extends AttemptMetadata {
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly taskId: TaskId;
  /** The task's payload bytes: this attempt's own copy, made when first read (a handler may change it in place; a retry still gets the task's bytes). */
  readonly payload: Uint8Array;
  /** The payload's content type, if the task declared one. */
  readonly contentType: string | undefined;
  /** The same values as the flat fields, grouped. */
  readonly metadata: AttemptMetadata;
  /** Aborts when the attempt times out, is canceled or the engine shuts down. */
  readonly signal: AbortSignal;
  /**
   * Parses the payload as UTF-8 JSON (cached). Throws a {@link TerminalError}
   * when the payload is not JSON, since retrying cannot fix it.
   */
  json(): TPayload;
}

/**
 * A handler. Its return value (or resolution) is normalised by
 * {@link toExecutorResponse}: `undefined`/`null` → success without output, an
 * output helper → itself, `Uint8Array` → output bytes, `string` → UTF-8 bytes,
 * anything else → its JSON text.
 */
export type Handler<TPayload = unknown> = (ctx: HandlerContext<TPayload>) => unknown;

/** Why an attempt's signal aborted. */
export type AttemptAbortReason = "timeout" | "cancel" | "shutdown" | "budget";

const OUTPUT_MARK = Symbol.for("actionqueue.handlerOutput");

/** A response marked as built by an output helper (so plain returned data is never mistaken for one). */
export type MarkedOutput<TResponse> = TResponse & { readonly [OUTPUT_MARK]: true };

/** An explicit handler output built by {@link success}, {@link retryableFailure}, {@link terminalFailure} or {@link suspended}. */
export type HandlerOutput =
  | MarkedOutput<SuccessResponse>
  | MarkedOutput<RetryableFailureResponse>
  | MarkedOutput<TerminalFailureResponse>
  | MarkedOutput<SuspendedResponse>;

const encoder = new TextEncoder();

function toBytes(output: Uint8Array | string): Uint8Array {
  return typeof output === "string" ? encoder.encode(output) : output;
}

function mark<T extends object>(value: T): T & { readonly [OUTPUT_MARK]: true } {
  Object.defineProperty(value, OUTPUT_MARK, { value: true });
  return value as T & { readonly [OUTPUT_MARK]: true };
}

const SUCCESS_EMPTY: MarkedOutput<SuccessResponse> = Object.freeze(mark({ kind: "success" as const }));
const SUSPENDED_EMPTY: MarkedOutput<SuspendedResponse> = Object.freeze(mark({ kind: "suspended" as const }));

/** Success, optionally with output (strings are encoded as UTF-8; empty output means none). */
export function success(output?: Uint8Array | string): MarkedOutput<SuccessResponse> {
  if (output === undefined) return SUCCESS_EMPTY;
  const bytes = toBytes(output);
  return bytes.length === 0 ? SUCCESS_EMPTY : mark({ kind: "success" as const, output: bytes });
}

/** A failure the retry table may retry; an empty message is replaced by a generic one. */
export function retryableFailure(error: string): MarkedOutput<RetryableFailureResponse> {
  return mark({ kind: "retryableFailure" as const, error: nonEmpty(error) });
}

/** A failure that ends the run (no retry). */
export function terminalFailure(error: string): MarkedOutput<TerminalFailureResponse> {
  return mark({ kind: "terminalFailure" as const, error: nonEmpty(error) });
}

/** Suspends the run (does not count toward `maxAttempts`), optionally keeping partial output. */
export function suspended(output?: Uint8Array | string): MarkedOutput<SuspendedResponse> {
  if (output === undefined) return SUSPENDED_EMPTY;
  const bytes = toBytes(output);
  return bytes.length === 0 ? SUSPENDED_EMPTY : mark({ kind: "suspended" as const, output: bytes });
}

/** True for a value built by one of the output helpers. */
export function isHandlerOutput(value: unknown): value is HandlerOutput {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[OUTPUT_MARK] === true;
}

function nonEmpty(message: string): string {
  return typeof message === "string" && message.length > 0 ? storable(message) : "handler failed without a message";
}

/**
 * A message as the WAL will give it back: UTF-8 has no lone surrogates and
 * stores U+FFFD in their place, so they are replaced before the message is
 * recorded, or a run's error would read differently after a restart.
 */
function storable(message: string): string {
  const bounded = message.length > MAX_ERROR_MESSAGE_CHARS ? truncatedMessage(message) : message;
  return isWellFormedText(bounded) ? bounded : bounded.replace(/\p{Cs}/gu, "\uFFFD");
}

/**
 * Longest error message recorded, in UTF-16 code units. An error that quotes
 * a whole response body could otherwise exceed what one WAL record holds
 * (16 MiB), and every attempt's message is kept in memory with its run.
 */
export const MAX_ERROR_MESSAGE_CHARS = 65_536;

function truncatedMessage(message: string): string {
  // A cut through a surrogate pair leaves a lone half, which storable() replaces.
  return `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}… (truncated: ${message.length} characters in all)`;
}

/**
 * Thrown by a handler to fail the run without retry. Recognised by its code
 * `TERMINAL_HANDLER_ERROR` too, so a copy from another package version works.
 */
export class TerminalError extends ActionQueueError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TERMINAL_HANDLER_ERROR", message, options.cause === undefined ? {} : { cause: options.cause });
  }

  /** True for any error whose `code` is `TERMINAL_HANDLER_ERROR`. */
  static isTerminal(value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    try {
      return (value as { code?: unknown }).code === "TERMINAL_HANDLER_ERROR";
    } catch {
      return false; // a throwing `code` getter: not ours
    }
  }
}

/** The message of a thrown value, never empty, as the WAL stores it (lone surrogates replaced by U+FFFD). */
export function errorMessage(error: unknown): string {
  return storable(rawErrorMessage(error));
}

function rawErrorMessage(error: unknown): string {
  try {
    return describeThrown(error);
  } catch (cause) {
    // A getter that throws (message, name, toJSON): the handler's failure is still recorded, never lost in a crash.
    return `handler threw a value whose message could not be read (${cause instanceof Error ? cause.name : typeof cause})`;
  }
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) {
    // Subclasses may assign anything to message (or leave it undefined): only a non-empty string is a message.
    const message: unknown = error.message;
    if (typeof message === "string" && message.length > 0) return message;
    const name: unknown = error.name;
    return typeof name === "string" && name.length > 0 ? name : "handler threw an error without a message";
  }
  if (typeof error === "string" && error.length > 0) return error;
  try {
    const text = JSON.stringify(error);
    if (typeof text === "string" && text.length > 0) return `handler threw ${text}`;
  } catch {
    // fall through: unserialisable thrown value
  }
  return `handler threw ${String(error)}`;
}

/** Maps a thrown value: {@link TerminalError} (by code) → terminal failure, anything else → retryable failure. */
export function errorToResponse(error: unknown): ExecutorResponse {
  const message = errorMessage(error);
  return TerminalError.isTerminal(error)
    ? { kind: "terminalFailure", error: message }
    : { kind: "retryableFailure", error: message };
}

/**
 * Normalises a handler's return value into an {@link ExecutorResponse}.
 * A value `JSON.stringify` cannot encode (a function, a BigInt, a cycle) is a
 * terminal failure, because retrying would return it again.
 */
export function toExecutorResponse(value: unknown): ExecutorResponse {
  if (value === undefined || value === null) return SUCCESS_EMPTY;
  if (isHandlerOutput(value)) return value;
  if (value instanceof Uint8Array) return value.length === 0 ? SUCCESS_EMPTY : { kind: "success", output: value };
  if (typeof value === "string") return value.length === 0 ? SUCCESS_EMPTY : { kind: "success", output: encoder.encode(value) };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    return { kind: "terminalFailure", error: `handler returned a value that is not JSON-serialisable: ${errorMessage(cause)}` };
  }
  if (text === undefined) {
    return { kind: "terminalFailure", error: `handler returned a value that is not JSON-serialisable: ${typeof value}` };
  }
  return { kind: "success", output: encoder.encode(text) };
}
