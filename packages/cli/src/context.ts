/**
 * What a command receives (its streams, environment, the parsed global
 * options) and what it returns (a value for `--json`, text for people, and
 * optionally a failure), so commands never print or exit by themselves.
 */
import type { ErrorReport } from "./cli-error.js";
import { errorReport } from "./cli-error.js";
import { resolveDataDir } from "./data-dir.js";
import { formatWarning } from "./output.js";

/** A writable text stream (process.stdout or a test buffer). */
export interface TextStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
export type SignalSubscriber = (listener: (signal: NodeJS.Signals) => void) => () => void;

/** The process around the CLI, injectable for tests. */
export interface CliIo {
  readonly stdout: TextStream;
  readonly stderr: TextStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir: string;
  /** Shutdown signals (default: the process's SIGINT and SIGTERM). */
  readonly onSignal: SignalSubscriber;
  /** Ends the process at once (default `process.exit`); used only when a second signal cuts a drain short. */
  readonly exit: (code: number) => void;
}

/** Options every command accepts. */
export interface GlobalOptions {
  readonly json: boolean;
  readonly dataDir?: string;
}

/** Everything a command's action may use. */
export interface CommandContext {
  readonly io: CliIo;
  /** `--json` was given. */
  readonly json: boolean;
  /** The resolved, absolute data directory (throws an input error for an empty `--data-dir`). */
  dataDir(): string;
  /** Prints a warning on stderr (text mode only). */
  warn(message: string): void;
}

/** What a command produced. */
export interface CommandResult {
  /** Printed as JSON with `--json`. */
  readonly value: unknown;
  /** Printed otherwise. */
  readonly text: string;
  /** Set when the command ran but reports a failure (e.g. `wal verify` found damage). */
  readonly failure?: ErrorReport;
}

/** Builds a command context from the streams and the global options. */
export function createContext(io: CliIo, options: GlobalOptions): CommandContext {
  let resolved: string | undefined;
  return {
    io,
    json: options.json,
    dataDir: () => (resolved ??= resolveDataDir({ flag: options.dataDir, env: io.env, homeDir: io.homeDir, cwd: io.cwd })),
    warn: (message) => {
      if (!options.json) io.stderr.write(formatWarning(message));
    },
  };
}

/** A result that reports `error` as a failure after printing `value`/`text`. */
export function failedResult(value: unknown, text: string, error: unknown): CommandResult {
  return { value, text, failure: errorReport(error) };
}
