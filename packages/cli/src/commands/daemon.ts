/**
 * `actionqueue daemon`: serves the data directory over HTTP (see
 * @actionqueue/daemon) and dispatches its runs to a handler module until
 * SIGINT/SIGTERM, then shuts down gracefully; a second signal stops at once
 * (exit 4, `INTERRUPTED`, as `run`). The listening address is printed first,
 * as one JSON line on stdout (`{"listening":"http://…"}`), once the data
 * directory is open, so scripts and tests can find an ephemeral port and
 * know the daemon holds the directory.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_BIND, TOKEN_ENV, daemonOptionsFromFlags, interruptedMessage, runDaemonProcess } from "@actionqueue/daemon";
import { CliError } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import type { ActionRunner, OptionBag } from "./action.js";
import { flag, optionalString } from "./action.js";
import { handlerFile } from "./run.js";

async function daemonCommand(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const relative = (path: string | undefined): string | undefined => (path === undefined ? undefined : resolve(ctx.io.cwd, path));
  // Checked here, as `run` does, so the error names the path the user typed.
  const handler = optionalString(options, "handler");
  const daemonOptions = daemonOptionsFromFlags(
    {
      dataDir: ctx.dataDir(),
      bind: optionalString(options, "bind"),
      handler: handler === undefined ? undefined : handlerFile(handler, ctx.io.cwd),
      concurrency: optionalString(options, "concurrency"),
      tokenFile: relative(optionalString(options, "tokenFile")),
      allowUnauthenticatedControl: flag(options, "allowUnauthenticatedControl"),
      grace: optionalString(options, "grace"),
      retain: optionalString(options, "retain"),
      logLevel: optionalString(options, "logLevel"),
    },
    ctx.io.env,
  );
  const summary = await runDaemonProcess(daemonOptions, { stdout: ctx.io.stdout, onSignal: ctx.io.onSignal });
  if (summary.interrupted) throw new CliError("INTERRUPTED", interruptedMessage(summary));
  return { value: { stopped: true, url: summary.url, stoppedBy: summary.stoppedBy }, text: `daemon at ${summary.url} stopped by ${summary.stoppedBy}\n` };
}

/** Registers `daemon`. */
export function registerDaemon(program: Command, run: ActionRunner): void {
  program
    .command("daemon")
    .description("Serve the data directory over HTTP and run its tasks with a handler module until SIGINT/SIGTERM")
    .option("--bind <addr>", `HOST:PORT or [IPV6]:PORT to listen on (default ${DEFAULT_BIND}; port 0 picks a free one)`)
    .option("--handler <module>", "JS module: default export = handler, or named exports = handlers per task name (without it nothing is dispatched)")
    .option("--concurrency <n>", "attempts in flight at once (1..10000, default 16)")
    .option("--token-file <file>", `file holding the bearer token of the mutating routes (else $${TOKEN_ENV})`)
    .option("--allow-unauthenticated-control", "let mutating routes through without a token (loopback only)")
    .option("--grace <duration>", "how long in-flight attempts may finish at shutdown (default 30s)")
    .option("--retain <duration>", "purge finished tasks (with their runs) this long after they finished, e.g. 7d (default: keep them); needs --handler")
    .option("--log-level <level>", "trace, debug, info (default), warn, error, fatal or silent")
    .action(run((ctx, _args, options) => daemonCommand(ctx, options)));
}
