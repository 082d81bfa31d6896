/**
 * The daemon itself: validates its options, loads the handler module, starts
 * listening (so `/healthz` and `/ready` answer during recovery), opens and
 * recovers the data directory, announces itself (`onListening`) only once it
 * holds the directory's lock, then dispatches with the handlers while
 * serving HTTP. `close()` shuts down in order: stop accepting requests, let
 * in-flight attempts finish within the grace period, flush the WAL and
 * release the directory lock.
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { ValidationError, describeValue } from "@actionqueue/core";
import { ActionQueue, loadHandlerModule } from "@actionqueue/runtime";
import type { LoadedHandlers } from "@actionqueue/runtime";
import type { LevelWithSilent, Logger } from "pino";
import { MIN_TOKEN_LENGTH } from "./auth.js";
import { DEFAULT_BIND, baseUrl, isLoopback, parseBindAddress } from "./bind.js";
import { attachRunLogging, createLogger } from "./logger.js";
import { DaemonMetrics } from "./metrics.js";
import { createServer } from "./server.js";
import { EventHub } from "./sse.js";
import { createDaemonState } from "./state.js";
import type { DaemonState } from "./state.js";

/** Default grace period for in-flight attempts at shutdown, ms. */
export const DEFAULT_GRACE_MS = 30_000;

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  /** The data directory (created if missing); the daemon holds its writer lock. */
  readonly dataDir: string;
  /** `HOST:PORT` or `[IPV6]:PORT` (default `127.0.0.1:8787`; port 0 picks a free port). */
  readonly bind?: string;
  /** Path of a handler module (same contract as `actionqueue run --handler`). Without it nothing is dispatched. */
  readonly handlerModule?: string;
  /** Attempts in flight at once (default 16). */
  readonly concurrency?: number;
  /**
   * Bearer token required by the mutating routes (at least 16 characters).
   * `undefined` is the same as leaving it out, so `process.env.ACTIONQUEUE_TOKEN`
   * can be passed as it is.
   */
  readonly token?: string | undefined;
  /** Let mutating routes through without a token (refused together with a token). */
  readonly allowUnauthenticatedControl?: boolean;
  /** How long in-flight attempts may take to finish at shutdown, ms (default 30 000). */
  readonly graceMs?: number;
  /** Purge finished tasks this many ms after they finished (the runtime's `retention`; needs a handler module, which starts dispatching). */
  readonly retainMs?: number;
  /** Largest request body, bytes (default 1 MiB). */
  readonly bodyLimitBytes?: number;
  /** Log level (default `info`); ignored when `logger` is given. */
  readonly logLevel?: LevelWithSilent;
  /** Where logs go (default: JSON lines on stderr). */
  readonly logger?: Logger;
  /**
   * Called with the base URL once the daemon is up: the socket listens and
   * the data directory is open (its lock taken, recovery finished). Never
   * called when the open is refused (`LOCK_HELD`, damage), so a supervisor
   * waiting for it never mistakes a daemon about to exit for a running one.
   */
  readonly onListening?: (url: string) => void;
}

/** A running daemon. */
export interface RunningDaemon {
  /** The base URL it serves (`http://127.0.0.1:41234`). */
  readonly url: string;
  /** Lifecycle state (phase and queue). */
  readonly state: DaemonState;
  /** Settles with the error when the queue stops on its own (e.g. a WAL write failed). */
  readonly failed: Promise<unknown>;
  /**
   * Graceful shutdown: stop accepting requests, drain in-flight attempts for
   * up to `graceMs` (or abort them at once with `mode: 'abort'`), flush and
   * release the lock. Idempotent: later calls return the first call's promise.
   */
  close(options?: { readonly mode?: "drain" | "abort" }): Promise<void>;
}

function invalid(field: string, message: string): ValidationError {
  return new ValidationError("INVALID_CONFIG", message, { details: { field } });
}

/**
 * Loads the handler module at `path` (relative to the working directory).
 * A missing file is named here: the import's own error names the runtime
 * file that imported it, an internal path that tells the operator nothing.
 */
async function loadHandlers(path: string): Promise<LoadedHandlers> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    const flag = path === absolute ? "--handler" : `--handler ${JSON.stringify(path)}`;
    throw invalid("handlerModule", `${flag}: handler module ${absolute} does not exist`);
  }
  return loadHandlerModule(absolute);
}

/** Checks the options that can be checked without touching the disk; throws `INVALID_CONFIG` naming the option. */
export function validateDaemonOptions(options: DaemonOptions): { host: string; port: number } {
  if (typeof options.dataDir !== "string" || options.dataDir.trim() === "") throw invalid("dataDir", "--data-dir: expected a directory path");
  const bind = parseBindAddress(options.bind ?? DEFAULT_BIND);
  if (options.token !== undefined && typeof options.token !== "string") {
    throw invalid("token", `invalid token ${describeValue(options.token)}: expected a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH) {
    throw invalid("token", `the token must be at least ${MIN_TOKEN_LENGTH} characters long`);
  }
  if (options.token !== undefined && options.allowUnauthenticatedControl === true) {
    throw invalid("allowUnauthenticatedControl", "--allow-unauthenticated-control cannot be combined with a token: choose one");
  }
  if (options.token === undefined && !isLoopback(bind.host)) {
    throw invalid(
      "bind",
      `--bind ${options.bind ?? DEFAULT_BIND}: refusing to listen on a non-loopback address without a token; configure one with --token-file FILE or ACTIONQUEUE_TOKEN`,
    );
  }
  if (options.retainMs !== undefined && options.handlerModule === undefined) {
    // Retention runs in the dispatch loop, which never starts without handlers: it would silently do nothing.
    throw invalid("retainMs", "--retain needs --handler: finished tasks are purged while dispatching, and without a handler module nothing is dispatched");
  }
  if (options.graceMs !== undefined && (!Number.isInteger(options.graceMs) || options.graceMs < 0)) {
    throw invalid("graceMs", `grace period ${String(options.graceMs)}: expected a non-negative integer of milliseconds`);
  }
  return bind;
}

/**
 * Starts the daemon and resolves once recovery has finished and it is ready
 * (the socket already listens during recovery, answering `/ready` with 503
 * `recovering`; `onListening` is called once the directory is open).
 * Throws `INVALID_CONFIG` for bad options (`retainMs` without
 * `handlerModule` included) or an unloadable handler module,
 * `LOCK_HELD` when another process has the data directory, and storage
 * errors for a damaged directory; nothing keeps running when it throws.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const bind = validateDaemonOptions(options);
  const handlers: LoadedHandlers | undefined = options.handlerModule === undefined ? undefined : await loadHandlers(options.handlerModule);
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? "info" });
  const state = createDaemonState();
  const metrics = new DaemonMetrics(state);
  const events = new EventHub();
  const app = createServer({
    state,
    auth: {
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.allowUnauthenticatedControl === undefined ? {} : { allowUnauthenticatedControl: options.allowUnauthenticatedControl }),
    },
    metrics,
    events,
    logger,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
  });

  await app.listen({ host: bind.host, port: bind.port });
  const address = app.server.address() as AddressInfo;
  const url = baseUrl(bind.host, address.port);
  logger.info({ url, dataDir: options.dataDir, control: options.token !== undefined ? "token" : options.allowUnauthenticatedControl === true ? "open" : "disabled" }, "listening");

  let queue: ActionQueue;
  const started = performance.now();
  try {
    queue = await ActionQueue.open({
      dataDir: options.dataDir,
      ...(handlers?.handler === undefined ? {} : { handler: handlers.handler }),
      ...(handlers?.handlers === undefined ? {} : { handlers: handlers.handlers }),
      ...(handlers?.gates === undefined ? {} : { gates: handlers.gates }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.retainMs === undefined ? {} : { retention: { olderThanMs: options.retainMs } }),
    });
  } catch (error) {
    state.phase = "failed";
    state.failure = error instanceof Error ? error.message : String(error);
    await app.close();
    throw error;
  }
  const report = queue.recoveryReport;
  logger.info(
    {
      durationMs: Math.round(performance.now() - started),
      latestSequence: report.latestSequence,
      walRecordsReplayed: report.walRecordsReplayed,
      snapshotSequence: report.snapshot?.sequence ?? null,
      reconciledRuns: report.reconciledRuns.length,
      truncations: report.truncations.length,
    },
    "recovered",
  );
  for (const cut of report.truncations) logger.warn({ ...cut }, "recovery removed a torn WAL tail (never acknowledged)");

  const detach = [metrics.attach(queue), events.attach(queue), attachRunLogging(queue, logger)];
  let onFailed: (error: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => (onFailed = resolve));
  detach.push(
    queue.on("error", (event) => {
      state.phase = "failed";
      state.failure = event.error instanceof Error ? event.error.message : String(event.error);
      onFailed(event.error);
    }),
  );
  state.queue = queue;
  state.phase = "ready";
  if (handlers !== undefined) queue.start();
  else logger.warn("no handler module: serving and accepting submissions, but dispatching nothing (pass --handler MODULE)");
  // Announced only now: before the open, a locked or unreadable directory could still make the daemon exit.
  options.onListening?.(url);

  let closing: Promise<void> | undefined;
  const close = async (mode: "drain" | "abort"): Promise<void> => {
    if (state.phase !== "failed") state.phase = "draining";
    logger.info({ mode, graceMs: options.graceMs ?? DEFAULT_GRACE_MS, inFlight: queue.inFlight }, "shutting down");
    await app.close();
    await queue.close({ mode, graceMs: options.graceMs ?? DEFAULT_GRACE_MS });
    for (const off of detach) off();
    logger.info("stopped; data directory released");
  };
  return {
    url,
    state,
    failed,
    close: (closeOptions = {}) => {
      closing ??= close(closeOptions.mode ?? "drain");
      return closing;
    },
  };
}
