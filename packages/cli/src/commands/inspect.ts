/**
 * The read-only commands: `stats`, `tasks list|get`, `runs list|get|explain`.
 * They go through the runtime's inspector, so they never create, lock or
 * modify anything in the data directory and work while `run` holds the lock;
 * with `--url` they ask a running daemon instead (see ../remote.ts).
 */
import type { Command } from "commander";
import { RUN_STATES, isRunState } from "@actionqueue/core";
import type { RunState } from "@actionqueue/core";
import { CliError, notFound } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { parseIntegerOption, runIdArgument, taskIdArgument } from "../inputs.js";
import { formatKeyValues, formatPolicy, formatTable, formatTimestamp, plural } from "../output.js";
import type { ListRunsQuery, RunView, Stats, TaskView } from "../internal/runtime.js";
import type { ActionRunner, OptionBag } from "./action.js";
import { argument, optionalString } from "./action.js";
import { withReader } from "../remote.js";

const URL_HELP = "ask the daemon at this URL (e.g. http://127.0.0.1:8787) instead of reading the data directory";

/** Largest page a list command asks for. */
export const MAX_LIST_LIMIT = 10_000;

function limitOption(options: OptionBag): number | undefined {
  const text = optionalString(options, "limit");
  return text === undefined ? undefined : parseIntegerOption(text, "--limit", 1, MAX_LIST_LIMIT);
}

function cursorOption(options: OptionBag): string | undefined {
  const cursor = optionalString(options, "cursor");
  if (cursor === "") throw new CliError("INVALID_OPTION", `--cursor "": expected the nextCursor of a previous page`);
  return cursor;
}

/** Parses `--state` (one of the run states, e.g. `ready`, `retryWait`). */
export function parseStateOption(text: string): RunState {
  if (isRunState(text)) return text;
  const match = RUN_STATES.find((state) => state.toLowerCase() === text.toLowerCase().replace(/[-_]/g, ""));
  if (match !== undefined) return match;
  throw new CliError("INVALID_OPTION", `--state ${JSON.stringify(text)}: expected one of ${RUN_STATES.join(", ")}`);
}

/** Text form of the stats object. */
export function formatStats(stats: Stats): string {
  const byState = Object.entries(stats.runsByState).map(([state, n]) => [`  ${state}`, n] as const);
  const byResult = Object.entries(stats.attemptsByResult)
    .map(([result, n]) => `${result} ${n}`)
    .join(", ");
  return formatKeyValues([
    ["tasks", stats.tasks],
    ["runs", stats.runs],
    ...byState,
    ["attempts", byResult],
    ["latest sequence", stats.latestSequence],
    ["paused", stats.paused ? "yes" : "no"],
  ]);
}

function taskRow(task: TaskView): string[] {
  return [
    task.taskId,
    task.name ?? "-",
    formatPolicy(task.runPolicy),
    String(task.runIds.length),
    String(task.metadata.priority),
    formatTimestamp(task.createdAt),
    task.canceledAt === undefined ? "" : "canceled",
  ];
}

/** Text form of one task. */
export function formatTask(task: TaskView): string {
  return (
    formatKeyValues([
      ["task", task.taskId],
      ["name", task.name],
      ["run policy", formatPolicy(task.runPolicy)],
      ["time zone", task.runPolicy.kind === "cron" ? task.runPolicy.timezone : undefined],
      ["starts at", task.runPolicy.startAt === undefined ? undefined : formatTimestamp(task.runPolicy.startAt)],
      ["created", formatTimestamp(task.createdAt)],
      ["canceled", task.canceledAt === undefined ? undefined : formatTimestamp(task.canceledAt)],
      ["priority", task.metadata.priority],
      ["tags", task.metadata.tags.length === 0 ? undefined : task.metadata.tags.join(", ")],
      ["description", task.metadata.description],
      ["content type", task.contentType],
      ["payload", `${plural(task.payload.length, "byte")}`],
      ["runs", task.runIds.length],
    ]) + task.runIds.map((runId) => `  run ${runId}\n`).join("")
  );
}

function runRow(run: RunView): string[] {
  return [run.runId, run.taskId, run.state, String(run.attemptCount), formatTimestamp(run.scheduledAt)];
}

/** Text form of one run with its history and attempts. */
export function formatRun(run: RunView): string {
  const head = formatKeyValues([
    ["run", run.runId],
    ["task", run.taskId],
    ["state", run.state],
    ["scheduled", formatTimestamp(run.scheduledAt)],
    ["created", formatTimestamp(run.createdAt)],
    ["priority", run.priority],
    ["attempts", run.attemptCount],
    ["current attempt", run.currentAttemptId],
    ["lease", run.lease === undefined ? undefined : `${run.lease.owner} until ${formatTimestamp(run.lease.expiresAt)}`],
  ]);
  const history = run.history.map((entry) => `  ${formatTimestamp(entry.at)}  ${entry.from ?? "-"} -> ${entry.to}\n`).join("");
  const attempts = run.attempts
    .map((attempt) => {
      const result = attempt.result ?? "in progress";
      const detail = attempt.error === undefined ? "" : `: ${attempt.error}`;
      const output = attempt.output === undefined ? "" : ` (${plural(attempt.output.length, "byte")} of output)`;
      return `  #${attempt.attemptNumber} ${attempt.attemptId}  ${formatTimestamp(attempt.startedAt)}  ${result}${detail}${output}\n`;
    })
    .join("");
  return `${head}history\n${history}${run.attempts.length === 0 ? "" : `attempts\n${attempts}`}`;
}

function pageFooter(nextCursor: string | undefined): string {
  return nextCursor === undefined ? "" : `more: --cursor ${nextCursor}\n`;
}

async function stats(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const value = await withReader(ctx, options, (inspector) => inspector.stats());
  return { value, text: formatStats(value) };
}

async function listTasks(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const limit = limitOption(options);
  const cursor = cursorOption(options);
  const page = await withReader(ctx, options, (inspector) =>
    inspector.listTasks({ ...(limit === undefined ? {} : { limit }), ...(cursor === undefined ? {} : { cursor }) }),
  );
  const text =
    formatTable(["TASK", "NAME", "POLICY", "RUNS", "PRIORITY", "CREATED", ""], page.tasks.map(taskRow), "no tasks") +
    pageFooter(page.nextCursor);
  return { value: page, text };
}

async function getTask(ctx: CommandContext, id: string, options: OptionBag): Promise<CommandResult> {
  const taskId = taskIdArgument(id);
  const task = await withReader(ctx, options, async (inspector, dataDir) => {
    const found = await inspector.getTask(taskId);
    if (found === undefined) throw notFound(`task ${taskId} not found in ${dataDir}`);
    return found;
  });
  return { value: task, text: formatTask(task) };
}

async function listRuns(ctx: CommandContext, options: OptionBag): Promise<CommandResult> {
  const stateText = optionalString(options, "state");
  const taskText = optionalString(options, "task");
  const state = stateText === undefined ? undefined : parseStateOption(stateText);
  const taskId = taskText === undefined ? undefined : taskIdArgument(taskText, "--task");
  const limit = limitOption(options);
  const cursor = cursorOption(options);
  const query: ListRunsQuery = {
    ...(state === undefined ? {} : { state }),
    ...(taskId === undefined ? {} : { taskId }),
    ...(limit === undefined ? {} : { limit }),
    ...(cursor === undefined ? {} : { cursor }),
  };
  const page = await withReader(ctx, options, (inspector) => inspector.listRuns(query));
  const text = formatTable(["RUN", "TASK", "STATE", "ATTEMPTS", "SCHEDULED"], page.runs.map(runRow), "no runs") + pageFooter(page.nextCursor);
  return { value: page, text };
}

async function getRun(ctx: CommandContext, id: string, options: OptionBag): Promise<CommandResult> {
  const runId = runIdArgument(id);
  const run = await withReader(ctx, options, async (inspector, dataDir) => {
    const found = await inspector.getRun(runId);
    if (found === undefined) throw notFound(`run ${runId} not found in ${dataDir}`);
    return found;
  });
  return { value: run, text: formatRun(run) };
}

async function explainRun(ctx: CommandContext, id: string, options: OptionBag): Promise<CommandResult> {
  const runId = runIdArgument(id);
  const explanation = await withReader(ctx, options, async (inspector, dataDir) => {
    if ((await inspector.getRun(runId)) === undefined) throw notFound(`run ${runId} not found in ${dataDir}`);
    return inspector.explain(runId);
  });
  // The runtime's message names its API method (resumeRun); here the way out is a command.
  if (explanation.kind === "suspended") {
    const message = `run is suspended; resume it with \`actionqueue resume-run ${explanation.runId}\``;
    return { value: { ...explanation, message }, text: `${explanation.runId}  ${explanation.kind}\n${message}\n` };
  }
  return { value: explanation, text: `${explanation.runId}  ${explanation.kind}\n${explanation.message}\n` };
}

/** Registers `stats`, `tasks` and `runs`. */
export function registerInspect(program: Command, run: ActionRunner): void {
  program
    .command("stats")
    .description("Counters of the data directory (read-only)")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, _args, options) => stats(ctx, options)));

  const tasks = program.command("tasks").description("List and show tasks (read-only)");
  tasks
    .command("list")
    .description("List tasks in task-id order (creation order for minted ids; a --task-id given at submit sorts by its value)")
    .option("--limit <n>", `page size (1..${MAX_LIST_LIMIT}, default 100)`)
    .option("--cursor <cursor>", "continue after a previous page")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, _args, options) => listTasks(ctx, options)));
  tasks
    .command("get")
    .description("Show one task")
    .argument("<id>", "task id (ULID)")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, args, options) => getTask(ctx, argument(args, 0), options)));

  const runs = program.command("runs").description("List, show and explain runs (read-only)");
  runs
    .command("list")
    .description("List runs in creation order")
    .option("--state <state>", `only runs in this state (${RUN_STATES.join(", ")})`)
    .option("--task <id>", "only runs of this task")
    .option("--limit <n>", `page size (1..${MAX_LIST_LIMIT}, default 100)`)
    .option("--cursor <cursor>", "continue after a previous page")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, _args, options) => listRuns(ctx, options)));
  runs
    .command("get")
    .description("Show one run with its history and attempts")
    .argument("<id>", "run id (ULID)")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, args, options) => getRun(ctx, argument(args, 0), options)));
  runs
    .command("explain")
    .description("Say why a run is (not) running now")
    .argument("<id>", "run id (ULID)")
    .option("--url <url>", URL_HELP)
    .action(run((ctx, args, options) => explainRun(ctx, argument(args, 0), options)));
}
