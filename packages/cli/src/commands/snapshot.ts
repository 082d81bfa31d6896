/**
 * `actionqueue snapshot`: opens the queue for writing, writes one snapshot
 * now (so the next open replays less of the WAL) and closes.
 */
import type { Command } from "commander";
import type { CommandContext, CommandResult } from "../context.js";
import type { ActionRunner } from "./action.js";
import { withQueue } from "./open.js";

async function snapshot(ctx: CommandContext): Promise<CommandResult> {
  const { sequence } = await withQueue(ctx, (queue) => queue.writeSnapshot());
  return { value: { sequence }, text: `snapshot written at sequence ${sequence}\n` };
}

/** Registers `snapshot`. */
export function registerSnapshot(program: Command, run: ActionRunner): void {
  program
    .command("snapshot")
    .description("Write a snapshot of the current state now")
    .action(run((ctx) => snapshot(ctx)));
}
