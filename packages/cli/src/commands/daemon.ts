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
import { DAEMON_FLAG_HELP, daemonOptionsFromFlags, interruptedMessage, runDaemonProcess } from "@actionqueue/daemon";
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

/** Registers `daemon`, with the flags the daemon package describes (its own binary prints the same help). */
export function registerDaemon(program: Command, run: ActionRunner): void {
  const command = program
    .command("daemon")
    .description("Serve the data directory over HTTP and run its tasks with a handler module until SIGINT/SIGTERM");
  for (const { flags, description } of DAEMON_FLAG_HELP) command.option(flags, description);
  command.action(run((ctx, _args, options) => daemonCommand(ctx, options)));
}
