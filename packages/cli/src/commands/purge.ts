/**
 * `actionqueue purge`: removes finished tasks, with their runs and attempt
 * history, from the data directory (see `ActionQueue.purge`). Its options are
 * checked before the queue is opened for writing.
 */
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { parseIntegerOption } from "../inputs.js";
import { parseDuration } from "../internal/runtime.js";
import type { PurgeOptions, TerminalRunState } from "../internal/runtime.js";
import { formatKeyValues } from "../output.js";
import type { ActionRunner, OptionBag } from "./action.js";
import { optionalString } from "./action.js";
import { withQueue } from "./open.js";

const STATES: readonly TerminalRunState[] = ["completed", "failed", "canceled"];

/** `--states completed,failed`: the terminal states named, each checked. */
function parseStates(text: string): TerminalRunState[] {
  const states = text.split(",").map((s) => s.trim());
  for (const state of states) {
    if (!STATES.includes(state as TerminalRunState)) {
      throw new CliError("INVALID_OPTION", `--states ${JSON.stringify(text)}: ${JSON.stringify(state)} is not one of completed, failed, canceled`);
    }
  }
  return states as TerminalRunState[];
}

/** The purge options of the command line. */
export function purgeOptionsOf(options: OptionBag): PurgeOptions {
  const olderThan = optionalString(options, "olderThan");
  const states = optionalString(options, "states");
  const limit = optionalString(options, "limit");
  const purge: { -readonly [K in keyof PurgeOptions]: PurgeOptions[K] } = {};
  if (olderThan !== undefined) purge.olderThanMs = olderThan.trim() === "0" ? 0 : parseDuration(olderThan, "--older-than");
  if (states !== undefined) purge.states = parseStates(states);
  // At least 1, as every other --limit: a purge of 0 tasks would only open and lock the directory.
  if (limit !== undefined) purge.limit = parseIntegerOption(limit, "--limit", 1, Number.MAX_SAFE_INTEGER);
  return purge;
}

async function purge(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const selection = purgeOptionsOf(options);
  const { tasks, runs } = await withQueue(ctx, (queue) => queue.purge(selection));
  return { value: { tasks, runs }, text: formatKeyValues([["tasks purged", tasks], ["runs purged", runs]]) };
}

/** Registers `purge`. */
export function registerPurge(program: Command, run: ActionRunner): void {
  program
    .command("purge")
    .description("Remove finished tasks (every run terminal, nothing more to derive) with their runs and attempt history")
    .option("--older-than <duration>", "only tasks that finished at least this long ago (e.g. 7d, 12h, 30m)")
    .option("--states <list>", "only tasks whose runs all ended in these states (comma-separated: completed, failed, canceled)")
    .option("--limit <n>", "at most this many tasks (at least 1)")
    .action(run((ctx, _args, options) => purge(ctx, options)));
}
