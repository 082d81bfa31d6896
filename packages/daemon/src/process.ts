/**
 * The daemon as a process: flags and environment turned into
 * {@link DaemonOptions} (token from `--token-file` or `ACTIONQUEUE_TOKEN`,
 * human durations), and a runner that prints the listening address as one
 * JSON line on stdout once the data directory is open, serves until
 * SIGTERM/SIGINT and shuts down gracefully (or, on a second signal, at once).
 * Both `actionqueue daemon` and this package's `actionqueue-daemon` binary
 * run through here.
 */
import { readFileSync } from "node:fs";
import { ValidationError } from "@actionqueue/core";
import { parseDuration } from "@actionqueue/runtime";
import { TOKEN_ENV, validateToken } from "./auth.js";
import { startDaemon } from "./daemon.js";
import type { DaemonOptions } from "./daemon.js";
import { isLogLevel, LOG_LEVELS } from "./logger.js";

/** The daemon's command-line flags, as strings (commander or `util.parseArgs` output). */
export interface DaemonFlags {
  readonly dataDir: string;
  readonly bind?: string | undefined;
  readonly handler?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly allowUnauthenticatedControl?: boolean | undefined;
  readonly grace?: string | undefined;
  readonly retain?: string | undefined;
  readonly logLevel?: string | undefined;
}

function invalid(field: string, message: string, cause?: unknown): ValidationError {
  return new ValidationError("INVALID_CONFIG", message, { details: { field }, ...(cause === undefined ? {} : { cause }) });
}

/** Reads the token: `--token-file` first, then `ACTIONQUEUE_TOKEN`. Throws `INVALID_CONFIG` naming the source. */
export function resolveToken(tokenFile: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, "utf8");
    } catch (error) {
      throw invalid("tokenFile", `--token-file ${JSON.stringify(tokenFile)}: cannot read it: ${(error as Error).message}`, error);
    }
    try {
      return validateToken(text.trim(), `--token-file ${JSON.stringify(tokenFile)}`);
    } catch (error) {
      throw invalid("tokenFile", (error as Error).message);
    }
  }
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv === undefined || fromEnv === "") return undefined;
  try {
    return validateToken(fromEnv.trim(), TOKEN_ENV);
  } catch (error) {
    throw invalid("token", (error as Error).message);
  }
}

/** A duration flag (`--grace`, `--retain`) in ms, if given; `INVALID_CONFIG` naming the flag and value otherwise. */
function durationFlag(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text, `--${field}`);
  } catch (error) {
    throw invalid(field, (error as Error).message, error);
  }
}

/** Converts flags into {@link DaemonOptions}; throws `INVALID_CONFIG` naming the flag. */
export function daemonOptionsFromFlags(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>): DaemonOptions {
  let concurrency: number | undefined;
  if (flags.concurrency !== undefined) {
    concurrency = /^\d+$/.test(flags.concurrency) ? Number(flags.concurrency) : NaN;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
      throw invalid("concurrency", `--concurrency ${JSON.stringify(flags.concurrency)}: expected an integer from 1 to 10000`);
    }
  }
  const graceMs = durationFlag(flags.grace, "grace");
  const retainMs = durationFlag(flags.retain, "retain");
  if (flags.logLevel !== undefined && !isLogLevel(flags.logLevel)) {
    throw invalid("logLevel", `--log-level ${JSON.stringify(flags.logLevel)}: expected one of ${LOG_LEVELS.join(", ")}`);
  }
  const token = resolveToken(flags.tokenFile, env);
  const logLevel = flags.logLevel ?? env.ACTIONQUEUE_LOG_LEVEL;
  return {
    dataDir: flags.dataDir,
    ...(flags.bind === undefined ? {} : { bind: flags.bind }),
    ...(flags.handler === undefined ? {} : { handlerModule: flags.handler }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(token === undefined ? {} : { token }),
    ...(flags.allowUnauthenticatedControl === true ? { allowUnauthenticatedControl: true } : {}),
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(retainMs === undefined ? {} : { retainMs }),
    ...(isLogLevel(logLevel) ? { logLevel } : {}),
  };
}

/** The process around the daemon (injectable for tests). */
export interface DaemonProcessIo {
  readonly stdout: { write(text: string): unknown };
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  readonly onSignal: (listener: (signal: NodeJS.Signals) => void) => () => void;
}

/** How a daemon process ended. */
export interface DaemonRunSummary {
  readonly url: string;
  /** The signal that started the shutdown. */
  readonly stoppedBy: NodeJS.Signals;
  /**
   * True when a second signal cut the drain short: attempts still in flight
   * were abandoned (recovery retries them at the next start). Callers exit
   * with 4 and `INTERRUPTED` then, as `actionqueue run` does; see
   * {@link interruptedMessage}.
   */
  readonly interrupted: boolean;
}

/** The error message of a shutdown that a second signal cut short (code `INTERRUPTED`, exit 4). */
export function interruptedMessage(summary: DaemonRunSummary): string {
  return `interrupted twice (${summary.stoppedBy}, then another signal while draining): stopped without waiting for attempts in flight; they were abandoned and are recovered and retried at the next start`;
}

/**
 * Runs the daemon until a shutdown signal: prints `{"listening":"URL"}` on
 * stdout once the socket listens and the data directory is open (nothing
 * when the open is refused), waits for SIGINT/SIGTERM, then closes
 * gracefully. A second signal while draining stops waiting at once and
 * resolves with `interrupted: true`: the caller should exit, abandoning the
 * attempts in flight (they are retried by the next start). Rejects when the
 * daemon cannot start or the queue fails while serving.
 */
export async function runDaemonProcess(options: DaemonOptions, io: DaemonProcessIo): Promise<DaemonRunSummary> {
  let received: NodeJS.Signals | undefined;
  let wake: () => void = () => undefined;
  const signalled = new Promise<void>((resolve) => (wake = resolve));
  let force: () => void = () => undefined;
  const forced = new Promise<void>((resolve) => (force = resolve));
  const stop = io.onSignal((signal) => {
    if (received === undefined) {
      received = signal;
      wake();
    } else {
      force();
    }
  });
  try {
    const daemon = await startDaemon({ ...options, onListening: (url) => void io.stdout.write(`${JSON.stringify({ listening: url })}\n`) });
    if (received === undefined) {
      const failure = await Promise.race([signalled.then(() => undefined), daemon.failed.then((error) => ({ error }))]);
      if (failure !== undefined) {
        await daemon.close({ mode: "abort" }).catch(() => undefined);
        throw failure.error;
      }
    }
    const draining = daemon.close({ mode: "drain" }).then(() => false);
    // A second signal: stop waiting for the drain (the WAL keeps every acknowledged change).
    const interrupted = await Promise.race([draining, forced.then(() => true)]);
    return { url: daemon.url, stoppedBy: received ?? "SIGTERM", interrupted };
  } finally {
    stop();
  }
}
