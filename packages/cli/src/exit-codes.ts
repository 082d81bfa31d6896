/**
 * Exit codes of the `actionqueue` binary and the mapping from error codes to
 * them. Scripts branch on these numbers, so they never change meaning:
 * 2 usage, 3 invalid input, 4 runtime or storage, 5 daemon unreachable.
 */
import { errorFamily } from "@actionqueue/core";

/** Every exit code the binary uses. */
export const EXIT_CODES = {
  /** The command did what was asked. */
  ok: 0,
  /** Unknown command or flag, missing value or command. */
  usage: 2,
  /** A value was given but is wrong: policy, JSON, id, file, constraint, unknown id. */
  invalidInput: 3,
  /** The runtime or storage failed: damage, lock held by another writer, I/O. */
  runtime: 4,
  /** The daemon named by `--url` could not be reached (reserved for the daemon). */
  daemonUnreachable: 5,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * Error codes the CLI raises itself (in addition to the core `ERROR_CODES`
 * table), each with its exit code.
 */
export const CLI_ERROR_CODES = {
  UNKNOWN_COMMAND: EXIT_CODES.usage,
  UNKNOWN_OPTION: EXIT_CODES.usage,
  MISSING_COMMAND: EXIT_CODES.usage,
  MISSING_VALUE: EXIT_CODES.usage,
  UNEXPECTED_ARGUMENT: EXIT_CODES.usage,
  CONFLICTING_OPTIONS: EXIT_CODES.usage,
  USAGE: EXIT_CODES.usage,
  INVALID_OPTION: EXIT_CODES.invalidInput,
  INVALID_JSON: EXIT_CODES.invalidInput,
  FILE_UNREADABLE: EXIT_CODES.invalidInput,
  INVALID_HANDLER_MODULE: EXIT_CODES.invalidInput,
  DATA_DIR_MISSING: EXIT_CODES.runtime,
  DATA_DIR_INVALID: EXIT_CODES.runtime,
  WAL_DAMAGED: EXIT_CODES.runtime,
  INTERRUPTED: EXIT_CODES.runtime,
  INTERNAL: EXIT_CODES.runtime,
  DAEMON_UNREACHABLE: EXIT_CODES.daemonUnreachable,
} as const satisfies Record<string, ExitCode>;

/** A code from {@link CLI_ERROR_CODES}. */
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

// Conflicts that are not about the caller's input: another writer moved the
// log on, or this process lost the right to write.
const RUNTIME_CONFLICTS: ReadonlySet<string> = new Set(["SEQUENCE_CONFLICT", "STALE_FENCING_TOKEN"]);

/**
 * The exit code of an error code: the CLI's own codes first, then the core
 * table by family (validation, not_found, transition and input conflicts → 3;
 * storage, handler and unknown codes → 4).
 */
export function exitCodeForCode(code: string): ExitCode {
  if (Object.hasOwn(CLI_ERROR_CODES, code)) return CLI_ERROR_CODES[code as CliErrorCode];
  switch (errorFamily(code)) {
    case "validation":
    case "not_found":
    case "transition":
      return EXIT_CODES.invalidInput;
    case "conflict":
      return RUNTIME_CONFLICTS.has(code) ? EXIT_CODES.runtime : EXIT_CODES.invalidInput;
    case "storage":
    case "handler":
    case undefined:
      return EXIT_CODES.runtime;
  }
}
