/**
 * The CLI's own error and the one function that turns anything thrown into
 * what the user sees: a stable code, a one-line message and an exit code.
 */
import { ActionQueueError, ValidationError } from "@actionqueue/core";
import type { CliErrorCode, ExitCode } from "./exit-codes.js";
import { CLI_ERROR_CODES, EXIT_CODES, exitCodeForCode } from "./exit-codes.js";

/** An error raised by the CLI itself (usage, files, data directory). */
export class CliError extends Error {
  /** Stable code from {@link CLI_ERROR_CODES}. */
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.code = code;
  }

  /** The exit code this error ends the process with. */
  get exitCode(): ExitCode {
    return CLI_ERROR_CODES[this.code];
  }
}

/** What is printed for a failure, and how the process exits. */
export interface ErrorReport {
  readonly code: string;
  /** One line, no `error:` prefix. */
  readonly message: string;
  readonly exitCode: ExitCode;
}

/** Collapses a message to a single line (commander adds suggestions on a second line). */
export function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(" ");
}

/** Classifies anything thrown into an {@link ErrorReport}. */
export function errorReport(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return { code: error.code, message: oneLine(error.message), exitCode: error.exitCode };
  }
  if (ActionQueueError.is(error)) {
    return { code: error.code, message: oneLine(error.message), exitCode: exitCodeForCode(error.code) };
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: typeof errno === "string" ? "STORAGE_IO" : "INTERNAL",
    message: oneLine(message),
    exitCode: EXIT_CODES.runtime,
  };
}

/**
 * Runs `fn`, prefixing the message of any ActionQueue error it throws with
 * `label` (e.g. `--constraints`) unless the message already names it, so
 * every input error says which flag was wrong. The code is kept.
 */
export function labelled<T>(label: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw withLabel(label, error, () => true);
  }
}

/** `error` with its message prefixed by `label`, when it is an ActionQueue error `applies` picks that does not name it yet. */
function withLabel(label: string, error: unknown, applies: (error: ActionQueueError) => boolean): unknown {
  if (ActionQueueError.is(error) && applies(error) && !error.message.startsWith(label)) {
    return new ValidationError(error.code, `${label}: ${error.message}`, { cause: error, details: error.details });
  }
  return error;
}

/** {@link labelled} for an async step, prefixing only the errors `applies` picks. */
export async function labelledAsync<T>(label: string, applies: (error: ActionQueueError) => boolean, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw withLabel(label, error, applies);
  }
}

/** A `NOT_FOUND` error (exit 3): the id is well formed but names nothing in the data directory. */
export function notFound(message: string): ActionQueueError {
  return new ActionQueueError("NOT_FOUND", message);
}
