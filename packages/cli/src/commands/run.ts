/**
 * `actionqueue run`: loads a handler module, opens the queue for writing (the
 * writer lock makes a second `run` on the same directory fail), and processes
 * work until idle (`--until-idle`) or until SIGINT/SIGTERM, then closes with
 * drain. A live progress line is drawn on a terminal; `--json` prints a final
 * summary object instead.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { ActionQueueError } from "@actionqueue/core";
import { CliError, errorReport } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { parseIntegerOption } from "../inputs.js";
import { formatError, formatKeyValues } from "../output.js";
import { ProgressReporter, emptyCounters, formatElapsed, runsPerSecond } from "../progress.js";
import type { RunCounters } from "../progress.js";
import { loadHandlerModule, parseDuration } from "../internal/runtime.js";
import { openQueue } from "./open.js";
import type { LoadedHandlers, Stats } from "../internal/runtime.js";
import type { ActionRunner, OptionBag } from "./action.js";
import { flag, optionalString, requiredString } from "./action.js";

/** Largest `--concurrency`. */
export const MAX_CONCURRENCY = 10_000;

/**
 * The absolute path of `--handler MODULE` (relative to `cwd`), checked to be
 * a file. `FILE_UNREADABLE` (exit 3) names the path as given and resolved:
 * importing a missing file would instead name the runtime file that
 * imported it.
 */
export function handlerFile(path: string, cwd: string): string {
  const label = `--handler ${JSON.stringify(path)}`;
  if (path === "") throw new CliError("FILE_UNREADABLE", `${label}: expected a module path`);
  const absolute = resolve(cwd, path);
  try {
    if (!statSync(absolute).isFile()) throw new CliError("FILE_UNREADABLE", `${label}: ${absolute} is not a file`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError("FILE_UNREADABLE", `${label}: cannot read ${absolute}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`, {
      cause: error,
    });
  }
  return absolute;
}

/**
 * Loads `--handler MODULE` (relative to `cwd`) before anything is opened.
 * Throws `FILE_UNREADABLE` for a missing file and `INVALID_HANDLER_MODULE`
 * (both exit 3) when it does not load or exports no handler.
 */
export async function loadHandlers(path: string, cwd: string): Promise<LoadedHandlers> {
  const label = `--handler ${JSON.stringify(path)}`;
  const absolute = handlerFile(path, cwd);
  let loaded: LoadedHandlers;
  try {
    loaded = await loadHandlerModule(absolute);
  } catch (error) {
    const message = ActionQueueError.is(error) || error instanceof Error ? error.message : String(error);
    throw new CliError("INVALID_HANDLER_MODULE", `${label}: cannot load ${absolute}: ${message}`, { cause: error });
  }
  const named = loaded.handlers === undefined ? 0 : Object.keys(loaded.handlers).length;
  if (loaded.handler === undefined && named === 0) {
    throw new CliError("INVALID_HANDLER_MODULE", `${label}: ${absolute} exports no handler: expected a default export function or named function exports`);
  }
  return loaded;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The summary `run` prints when it stops. */
export interface RunSummary extends RunCounters {
  readonly stoppedBy: "idle" | "signal";
  readonly elapsedMs: number;
  readonly runsPerSecond: number;
  readonly stats: Stats;
}

/**
 * Why an idle stop happened. A paused queue dispatches nothing, so
 * `--until-idle` stops at once although runs wait: "no work left" would hide
 * that, and the way out.
 */
function idleReason(stats: Stats): string {
  const waiting = stats.paused ? stats.runsByState.ready + stats.runsByState.scheduled + stats.runsByState.retryWait : 0;
  if (waiting === 0) return "idle (no work left)";
  return `idle: the queue is paused and ${waiting} ${waiting === 1 ? "run waits" : "runs wait"} (\`actionqueue resume\` dispatches them)`;
}

/** Text form of a run summary. */
export function formatRunSummary(summary: RunSummary): string {
  return formatKeyValues([
    ["stopped by", summary.stoppedBy === "idle" ? idleReason(summary.stats) : "signal"],
    ["runs completed", summary.runsCompleted],
    ["runs failed", summary.runsFailed],
    ["runs canceled", summary.runsCanceled === 0 ? undefined : summary.runsCanceled],
    ["attempts", summary.attemptsFinished],
    ["failed attempts", summary.attemptsFailed],
    ["timed-out attempts", summary.attemptsTimedOut === 0 ? undefined : summary.attemptsTimedOut],
    ["suspended attempts", summary.attemptsSuspended === 0 ? undefined : summary.attemptsSuspended],
    ["retries", summary.retries],
    ["elapsed", formatElapsed(summary.elapsedMs)],
    ["rate", `${summary.runsPerSecond.toFixed(1)} runs/s`],
  ]);
}

async function runCommand(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const handlerPath = requiredString(options, "handler", "--handler <module>");
  const concurrencyText = optionalString(options, "concurrency");
  const concurrency = concurrencyText === undefined ? undefined : parseIntegerOption(concurrencyText, "--concurrency", 1, MAX_CONCURRENCY);
  const untilIdle = flag(options, "untilIdle");
  const retainText = optionalString(options, "retain");
  const retainMs = retainText === undefined ? undefined : parseDuration(retainText, "--retain");
  const handlers = await loadHandlers(handlerPath, ctx.io.cwd);
  const dataDir = ctx.dataDir();

  const queue = await openQueue(ctx, {
    dataDir,
    ...(handlers.handler === undefined ? {} : { handler: handlers.handler }),
    ...(handlers.handlers === undefined ? {} : { handlers: handlers.handlers }),
    ...(handlers.gates === undefined ? {} : { gates: handlers.gates }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(retainMs === undefined ? {} : { retention: { olderThanMs: retainMs } }),
  });

  const counters = emptyCounters();
  const unsubscribe = [
    queue.on("attempt:started", () => void counters.inFlight++),
    queue.on("attempt:finished", (event) => {
      counters.inFlight = Math.max(0, counters.inFlight - 1);
      counters.attemptsFinished++;
      // Each result has its own counter: a suspension is not a failure.
      if (event.result === "failure") counters.attemptsFailed++;
      else if (event.result === "timeout") counters.attemptsTimedOut++;
      else if (event.result === "suspended") counters.attemptsSuspended++;
    }),
    queue.on("run:retrying", () => void counters.retries++),
    queue.on("run:completed", () => void counters.runsCompleted++),
    queue.on("run:failed", () => void counters.runsFailed++),
    queue.on("run:canceled", () => void counters.runsCanceled++),
  ];
  const progress = new ProgressReporter({ stream: ctx.io.stderr, enabled: ctx.io.stderr.isTTY === true && !ctx.json, counters });

  let stoppedBy: RunSummary["stoppedBy"] = "idle";
  let signals = 0;
  let onSignal: () => void = () => undefined;
  const signalled = new Promise<void>((resolveSignal) => {
    onSignal = resolveSignal;
  });
  let fatal: unknown;
  const failed = new Promise<void>((resolveFailed) => {
    unsubscribe.push(
      queue.on("error", (event) => {
        fatal ??= event.error;
        resolveFailed();
      }),
    );
  });
  const stopListening = ctx.io.onSignal(() => {
    signals++;
    stoppedBy = "signal";
    onSignal();
    if (signals === 1) {
      progress.stop();
      if (!ctx.json) ctx.io.stderr.write("stopping: letting attempts in flight finish (interrupt again to stop at once)\n");
    }
    if (signals === 2) {
      // A second signal while draining: stop waiting. Every acknowledged change
      // is already durable; attempts in flight are retried by the next start.
      progress.stop();
      const error = new CliError("INTERRUPTED", "interrupted twice: stopped without waiting for attempts in flight (the next run retries them)");
      ctx.io.stderr.write(formatError(errorReport(error), ctx.json));
      ctx.io.exit(error.exitCode);
    }
  });

  let keepAlive: ReturnType<typeof setInterval> | undefined;
  try {
    progress.start();
    queue.start();
    // Without --until-idle the process waits for a signal: an idle queue holds
    // no timer, so keep the event loop alive until one arrives.
    if (!untilIdle) keepAlive = setInterval(() => undefined, 2 ** 30);
    const work = untilIdle ? queue.runUntilIdle() : new Promise<void>(() => undefined);
    // After close, a pending runUntilIdle settles with CLOSED: nobody needs it then.
    work.catch(() => undefined);
    await Promise.race([work, signalled, failed]);
    if (fatal !== undefined) throw asError(fatal);
  } catch (error) {
    clearInterval(keepAlive);
    progress.stop();
    stopListening();
    for (const off of unsubscribe) off();
    await queue.close({ mode: "abort" }).catch(() => undefined);
    throw error;
  }
  progress.stop();
  await queue.close({ mode: "drain" });
  clearInterval(keepAlive);
  stopListening();
  for (const off of unsubscribe) off();
  if (fatal !== undefined) throw asError(fatal);
  // Read after the drain, so runs finished while draining are counted.
  const stats: Stats = queue.stats();

  const elapsedMs = Math.round(progress.elapsedMs());
  const summary: RunSummary = { ...counters, stoppedBy, elapsedMs, runsPerSecond: Number(runsPerSecond(counters, elapsedMs).toFixed(3)), stats };
  return { value: summary, text: formatRunSummary(summary) };
}

/** Registers `run`. */
export function registerRun(program: Command, run: ActionRunner): void {
  program
    .command("run")
    .description("Process work with a handler module until stopped (SIGINT/SIGTERM drain gracefully)")
    .option("--handler <module>", "required: JS module: default export = handler, or named exports = handlers per task name")
    .option("--concurrency <n>", `attempts in flight at once (1..${MAX_CONCURRENCY}, default 16)`)
    .option("--until-idle", "stop when no work is left (runs due within the idle horizon are waited for)")
    .option("--retain <duration>", "purge finished tasks (with their runs) this long after they finished, e.g. 7d (default: keep them)")
    .action(run((ctx, _args, options) => runCommand(ctx, options)));
}

