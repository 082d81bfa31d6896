/**
 * Glue between commander actions and command implementations: an
 * {@link ActionRunner} turns a command function into a commander action, and
 * small readers pull typed values out of commander's option bag.
 */
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

/** A boolean flag (absent = false). */
export function flag(options: OptionBag, key: string): boolean {
  return options[key] === true;
}

/** The positional argument at `index` (commander has already checked it is present). */
export function argument(args: readonly string[], index: number): string {
  return args[index] ?? "";
}
