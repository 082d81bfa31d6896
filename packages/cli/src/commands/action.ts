/**
 * Glue between commander actions and command implementations: an
 * {@link ActionRunner} turns a command function into a commander action, and
 * small readers pull typed values out of commander's option bag.
 */
import { CliError } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";

/** Commander's parsed options of one command (globals merged in). */
export type OptionBag = Readonly<Record<string, unknown>>;

/** A command implementation: positional arguments and options in, a result out. */
export type CommandFunction = (ctx: CommandContext, args: readonly string[], options: OptionBag) => Promise<CommandResult>;

/** Wraps a command function into a commander action callback. */
export type ActionRunner = (fn: CommandFunction) => (...commanderArgs: unknown[]) => Promise<void>;

/** A string option, or `undefined` when absent. */
export function optionalString(options: OptionBag, key: string): string | undefined {
  const value = options[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * A string option the command cannot do without; `MISSING_VALUE` (exit 2)
 * naming `flag` when absent. Checked in the action rather than with
 * commander's `requiredOption`: commander reports a missing required option
 * before an unknown one, so a mistyped `--run-polcy` was reported only as
 * `--run-policy` missing, while an action runs after unknown options are refused.
 */
export function requiredString(options: OptionBag, key: string, flag: string): string {
  const value = optionalString(options, key);
  if (value === undefined) throw new CliError("MISSING_VALUE", `required option '${flag}' not specified`);
  return value;
}

/** A boolean flag (absent = false). */
export function flag(options: OptionBag, key: string): boolean {
  return options[key] === true;
}

/** The positional argument at `index` (commander has already checked it is present). */
export function argument(args: readonly string[], index: number): string {
  return args[index] ?? "";
}
