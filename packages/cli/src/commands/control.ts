/**
 * The writing control commands: `cancel task|run`, `pause`, `resume`,
 * `resume-run`. Each validates its id and looks the target up read-only
 * first, so a wrong or pointless request never opens the queue for writing;
 * then it opens (taking the writer lock), does one thing, and closes.
 */
import type { Command } from "commander";
import { TransitionError, isTerminalState } from "@actionqueue/core";
import type { RunId, RunState, TaskId } from "@actionqueue/core";
import { notFound } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { runIdArgument, taskIdArgument } from "../inputs.js";
import { formatKeyValues } from "../output.js";
import type { ActionRunner } from "./action.js";
import { argument } from "./action.js";
import { withInspector, withQueue } from "./open.js";

async function cancelTask(ctx: CommandContext, id: string): Promise<CommandResult> {
  const taskId: TaskId = taskIdArgument(id);
  const before = await withInspector(ctx, (inspector, dataDir) => {
    const task = inspector.getTask(taskId);
    if (task === undefined) throw notFound(`task ${taskId} not found in ${dataDir}`);
    const live = task.runIds.filter((runId) => {
      const run = inspector.getRun(runId);
      return run !== undefined && !isTerminalState(run.state);
    });
    return { alreadyCanceled: task.canceledAt !== undefined, liveRuns: live.length };
  });
  if (before.alreadyCanceled && before.liveRuns === 0) {
    const value = { taskId, status: "already_canceled", canceledRuns: 0 };
    return { value, text: `task ${taskId} was already canceled; nothing to do\n` };
  }
  const { canceledRuns } = await withQueue(ctx, (queue) => queue.cancelTask(taskId));
  const value = { taskId, status: "canceled", canceledRuns };
  return { value, text: formatKeyValues([["task", taskId], ["status", "canceled"], ["runs canceled", canceledRuns]]) };
}

async function cancelRun(ctx: CommandContext, id: string): Promise<CommandResult> {
  const runId: RunId = runIdArgument(id);
  const previous = await runState(ctx, runId);
  if (isTerminalState(previous)) {
    const status = previous === "canceled" ? "already_canceled" : "already_terminal";
    return { value: { runId, status, state: previous }, text: `run ${runId} is already ${previous}; nothing to do\n` };
  }
  await withQueue(ctx, (queue) => queue.cancelRun(runId));
  return {
    value: { runId, status: "canceled", previousState: previous, state: "canceled" },
    text: formatKeyValues([["run", runId], ["status", "canceled"], ["previous state", previous]]),
  };
}

async function runState(ctx: CommandContext, runId: RunId): Promise<RunState> {
  return withInspector(ctx, (inspector, dataDir) => {
    const run = inspector.getRun(runId);
    if (run === undefined) throw notFound(`run ${runId} not found in ${dataDir}`);
    return run.state;
  });
}

async function resumeRun(ctx: CommandContext, id: string): Promise<CommandResult> {
  const runId: RunId = runIdArgument(id);
  const previous = await runState(ctx, runId);
  if (previous !== "suspended") {
    throw new TransitionError("INVALID_TRANSITION", `run ${runId} is ${previous}, not suspended: only a suspended run can be resumed`, {
      details: { runId, state: previous },
    });
  }
  const state = await withQueue(ctx, async (queue) => {
    await queue.resumeRun(runId);
    return queue.getRun(runId)?.state;
  });
  return {
    value: { runId, status: "resumed", previousState: previous, state },
    text: formatKeyValues([["run", runId], ["status", "resumed"], ["state", state]]),
  };
}

async function setPaused(ctx: CommandContext, paused: boolean): Promise<CommandResult> {
  const wasPaused = await withInspector(ctx, (inspector) => inspector.stats().paused);
  const verb = paused ? "paused" : "resumed";
  if (wasPaused === paused) {
    return { value: { paused, changed: false, status: `already_${verb}` }, text: `the queue is already ${verb}; nothing to do\n` };
  }
  await withQueue(ctx, (queue) => (paused ? queue.pause() : queue.resume()));
  return { value: { paused, changed: true, status: verb }, text: `the queue is ${verb}\n` };
}

/** Registers `cancel task|run`, `pause`, `resume` and `resume-run`. */
export function registerControl(program: Command, run: ActionRunner): void {
  const cancel = program.command("cancel").description("Cancel a task (all its runs) or one run");
  cancel
    .command("task")
    .description("Cancel a task and every run of it that has not finished")
    .argument("<id>", "task id (ULID)")
    .action(run((ctx, args) => cancelTask(ctx, argument(args, 0))));
  cancel
    .command("run")
    .description("Cancel one run")
    .argument("<id>", "run id (ULID)")
    .action(run((ctx, args) => cancelRun(ctx, argument(args, 0))));
  program
    .command("pause")
    .description("Pause dispatch for the whole data directory (in-flight attempts finish)")
    .action(run((ctx) => setPaused(ctx, true)));
  program
    .command("resume")
    .description("Resume dispatch after pause")
    .action(run((ctx) => setPaused(ctx, false)));
  program
    .command("resume-run")
    .description("Resume a suspended run")
    .argument("<id>", "run id (ULID)")
    .action(run((ctx, args) => resumeRun(ctx, argument(args, 0))));
}
