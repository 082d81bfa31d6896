/**
 * `actionqueue submit`: validates every flag and reads every file first, then
 * opens the queue, submits one task and closes. A submission rejected by those
 * checks never opens (or creates) the data directory; one the queue itself
 * refuses (too many runs, a record over the size limit) removes the directory
 * again when this command created it.
 */
import { existsSync, rmSync, rmdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ActionQueueError, JSON_CONTENT_TYPE, ValidationError, createTaskSpec, parseTaskId, validateRunPolicy } from "@actionqueue/core";
import type { RunPolicy, TaskConstraintsInput, TaskId, TaskMetadata } from "@actionqueue/core";
import { MAX_PAYLOAD_BYTES } from "@actionqueue/storage";
import { CliError, labelled, labelledAsync } from "../cli-error.js";
import type { CommandContext, CommandResult } from "../context.js";
import { parseJsonText, readInputFile, readJsonArgument } from "../inputs.js";
import { formatKeyValues, formatPolicy, formatTimestamp } from "../output.js";
import { encodeJsonPayload, parseConstraintsJson, parseMetadataJson, parseRunPolicyText, parseStartAtText } from "../internal/runtime.js";
import { openQueue } from "./open.js";
import type { SubmitInput } from "../internal/runtime.js";
import type { ActionRunner } from "./action.js";
import { optionalString, requiredString } from "./action.js";

// Any valid ULID: stands in for the id the queue will mint, so the whole spec
// can be validated before anything is opened.
const PLACEHOLDER_TASK_ID = parseTaskId("01ARZ3NDEKTSV4RRFFQ69G5FAV");

/** A submission whose every field has been checked. */
export interface PreparedSubmission {
  readonly input: SubmitInput;
  /** The policy's canonical text (`repeat:3:1m`). */
  readonly runPolicyText: string;
  /** A cron policy's time zone, as the queue keeps it (canonical spelling). */
  readonly timezone?: string;
}

/** The raw flag values of `submit`. */
export interface SubmitFlags {
  readonly runPolicy: string;
  readonly name?: string | undefined;
  readonly taskId?: string | undefined;
  readonly payload?: string | undefined;
  readonly payloadJson?: string | undefined;
  readonly contentType?: string | undefined;
  readonly constraints?: string | undefined;
  readonly metadata?: string | undefined;
  /** `--start-at`: +DELAY, an ISO date-time with zone, or epoch ms. */
  readonly startAt?: string | undefined;
  /** `--timezone`: the IANA zone a cron expression is read in. */
  readonly timezone?: string | undefined;
}

/**
 * Validates the flags of `submit` and reads its files, without opening the
 * queue. Throws an input error (exit 3) naming the first bad flag and value.
 */
export function prepareSubmission(flags: SubmitFlags, cwd: string, now: number = Date.now()): PreparedSubmission {
  if (flags.payload !== undefined && flags.payloadJson !== undefined) {
    throw new CliError("CONFLICTING_OPTIONS", "--payload and --payload-json cannot be used together");
  }
  let runPolicy: RunPolicy = parseRunPolicyText(flags.runPolicy, "--run-policy");
  if (flags.timezone !== undefined) {
    if (runPolicy.kind !== "cron") throw new CliError("CONFLICTING_OPTIONS", `--timezone applies to a cron policy only, not to --run-policy ${JSON.stringify(flags.runPolicy)}`);
    runPolicy = { ...runPolicy, timezone: flags.timezone };
    checkTimezone(runPolicy, flags.timezone);
  }
  if (flags.startAt !== undefined) runPolicy = { ...runPolicy, startAt: parseStartAtText(flags.startAt, now, "--start-at") };
  const taskId: TaskId | undefined = flags.taskId === undefined ? undefined : labelled(`--task-id`, () => parseTaskId(flags.taskId));
  let payload: Uint8Array | undefined;
  let contentType = flags.contentType;
  if (flags.payload !== undefined) {
    if (flags.payload !== "") checkPayloadFileSize(flags.payload, cwd);
    payload = new Uint8Array(readInputFile(flags.payload, "--payload", cwd));
  } else if (flags.payloadJson !== undefined) {
    const value = parseJsonText(flags.payloadJson, `--payload-json ${JSON.stringify(flags.payloadJson)}`);
    payload = encodeJsonPayload(value, "--payload-json");
    contentType ??= JSON_CONTENT_TYPE;
  }
  let constraints: TaskConstraintsInput | undefined;
  if (flags.constraints !== undefined) {
    const read = readJsonArgument(flags.constraints, "--constraints", cwd);
    constraints = labelled(read.label, () => parseConstraintsJson(read.value, read.label));
  }
  let metadata: Partial<TaskMetadata> | undefined;
  if (flags.metadata !== undefined) {
    const read = readJsonArgument(flags.metadata, "--metadata", cwd);
    metadata = labelled(read.label, () => parseMetadataJson(read.value, read.label));
  }
  const input: SubmitInput = {
    runPolicy,
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(taskId === undefined ? {} : { taskId }),
    ...(payload === undefined ? {} : { payload }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(constraints === undefined ? {} : { constraints }),
    ...(metadata === undefined ? {} : { metadata }),
  };
  // The whole spec, as the queue will build it, so name/content-type limits fail here.
  const spec = createTaskSpec({
    id: taskId ?? PLACEHOLDER_TASK_ID,
    runPolicy,
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(payload === undefined ? {} : { payload }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(constraints === undefined ? {} : { constraints }),
    ...(metadata === undefined ? {} : { metadata }),
  });
  const timezone = spec.runPolicy.kind === "cron" ? spec.runPolicy.timezone : undefined;
  return timezone === undefined ? { input, runPolicyText: formatPolicy(runPolicy) } : { input, runPolicyText: formatPolicy(runPolicy), timezone };
}

/**
 * Validates the policy `--timezone` went into. Core names the zone
 * `runPolicy.timezone`, a field the CLI user never typed: the refusal names
 * the flag instead, keeping the code.
 */
function checkTimezone(runPolicy: RunPolicy, timezone: string): void {
  try {
    validateRunPolicy(runPolicy);
  } catch (error) {
    if (!ActionQueueError.is(error) || error.code !== "INVALID_TIME_ZONE") throw error;
    throw new ValidationError(
      error.code,
      `--timezone ${JSON.stringify(timezone)}: expected an IANA time zone name such as "Europe/Berlin" or "America/New_York"`,
      { cause: error, details: error.details },
    );
  }
}

/**
 * Refuses a `--payload` file over the WAL's record limit by its size, before
 * it is read or the queue opened; the queue's own refusal would name an
 * encoded command, not the flag.
 */
function checkPayloadFileSize(path: string, cwd: string): void {
  // Only a regular file has a size to check; anything else is left to readInputFile, which names the problem.
  const stats = statSync(resolve(cwd, path), { throwIfNoEntry: false });
  if (stats === undefined || !stats.isFile() || stats.size <= MAX_PAYLOAD_BYTES) return;
  throw new ValidationError(
    "INVALID_PAYLOAD",
    `--payload ${JSON.stringify(path)}: the file is ${stats.size} bytes; a payload must fit in a WAL record of at most ${MAX_PAYLOAD_BYTES} bytes`,
    { details: { field: "payload", bytes: stats.size, max: MAX_PAYLOAD_BYTES } },
  );
}

/** An error about the run policy the queue found while deriving the runs (too many, or a schedule past the largest time). */
function isRunPolicyError(error: ActionQueueError): boolean {
  const field = error.details.field;
  return typeof field === "string" && field.startsWith("runPolicy");
}

/** The queue's refusal of a record made too large by the payload (a file just under the limit, with the rest of the task). */
function isPayloadError(error: ActionQueueError): boolean {
  return error.details.field === "payload";
}

/**
 * The outermost directory that opening `dataDir` would create (the data
 * directory itself or a missing ancestor of it), or `undefined` when
 * `dataDir` already exists.
 */
export function outermostMissingDir(dataDir: string): string | undefined {
  let missing: string | undefined;
  for (let dir = dataDir; !existsSync(dir); dir = dirname(dir)) {
    missing = dir;
    if (dirname(dir) === dir) break;
  }
  return missing;
}

/**
 * Removes the data directory (nothing was ever written there) and then each
 * missing ancestor opening created, up to `created`, only while empty: a
 * directory another process put something in meanwhile stays.
 */
function removeCreated(dataDir: string, created: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  // `created` is dataDir or one of its ancestors (outermostMissingDir walked up to it), so the walk ends there.
  for (let dir = dataDir; dir !== created; ) {
    dir = dirname(dir);
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (or gone): leave it and everything above it
    }
  }
}

/** How many run ids the text output lists; `--json` lists them all. */
const SHOWN_RUN_IDS = 10;

/** The run id lines of the text output: a repeat policy can create many thousands, and a terminal full of ids helps nobody. */
function formatRunIds(runIds: readonly string[]): string {
  const shown = runIds.slice(0, SHOWN_RUN_IDS).map((runId) => `  run ${runId}\n`);
  const hidden = runIds.length - shown.length;
  return shown.join("") + (hidden > 0 ? `  … and ${hidden} more (use --json for all)\n` : "");
}

async function submit(ctx: CommandContext, flags: SubmitFlags): Promise<CommandResult> {
  const prepared = prepareSubmission(flags, ctx.io.cwd);
  const dataDir = ctx.dataDir();
  const created = outermostMissingDir(dataDir);
  const queue = await openQueue(ctx, { dataDir });
  let result;
  try {
    const submitted = () => labelledAsync(`--run-policy ${JSON.stringify(flags.runPolicy)}`, isRunPolicyError, () => queue.submit(prepared.input));
    result = flags.payload === undefined ? await submitted() : await labelledAsync(`--payload ${JSON.stringify(flags.payload)}`, isPayloadError, submitted);
  } catch (error) {
    // Read while the lock is held: a sequence of 0 means no writer ever wrote
    // here, so removing the directory loses nothing (another process may have
    // created it between the existence check and the open).
    const untouched = queue.stats().latestSequence === 0;
    await queue.close();
    // Opening created the directory (and a WAL segment) although nothing was
    // submitted: remove it, so a refusal leaves no trace, as the checks before
    // the open promise.
    if (created !== undefined && untouched) removeCreated(dataDir, created);
    throw error;
  }
  await queue.close();
  const value = {
    taskId: result.taskId,
    runIds: result.runIds,
    runPolicy: prepared.runPolicyText,
    ...(prepared.input.runPolicy.startAt === undefined ? {} : { startAt: prepared.input.runPolicy.startAt }),
    ...(prepared.timezone === undefined ? {} : { timezone: prepared.timezone }),
    latestSequence: result.latestSequence,
    existing: result.existing,
  };
  const text =
    formatKeyValues([
      ["task", result.taskId],
      ["status", result.existing ? "already submitted (nothing written)" : "submitted"],
      ["run policy", prepared.runPolicyText],
      ["time zone", prepared.timezone],
      ["starts at", prepared.input.runPolicy.startAt === undefined ? undefined : formatTimestamp(prepared.input.runPolicy.startAt)],
      ["runs", result.runIds.length],
      ["latest sequence", result.latestSequence],
    ]) + formatRunIds(result.runIds);
  return { value, text };
}

/** Registers `submit` on the program. */
export function registerSubmit(program: Command, run: ActionRunner): void {
  program
    .command("submit")
    .description("Submit a task: its runs are created now and executed by `actionqueue run`")
    .option("--run-policy <policy>", "required: once | repeat:COUNT:INTERVAL (e.g. repeat:5:60s) | cron:EXPR")
    .option("--name <name>", "task name; routes to the handler module's export of that name")
    .option("--task-id <ulid>", "task id (makes the submission idempotent); minted when absent")
    .option("--payload <file>", "payload bytes read from a file")
    .option("--payload-json <json>", "payload as JSON text (content type application/json)")
    .option("--content-type <type>", "content type of the payload")
    .option("--constraints <json|@file>", "maxAttempts, timeoutMs, concurrencyKey, concurrencyKeyHoldPolicy, safetyLevel, requiredCapabilities, backoff")
    .option("--metadata <json|@file>", "tags, priority, description")
    .option("--timezone <zone>", "cron only: the IANA time zone its expression is read in (default UTC), e.g. Europe/Berlin")
    .option("--start-at <time>", "nothing runs before this time: +DELAY (+10m), an ISO date-time with zone (2026-12-01T09:00:00Z) or epoch ms")
    .action(
      run((ctx, _args, options) =>
        submit(ctx, {
          runPolicy: requiredString(options, "runPolicy", "--run-policy <policy>"),
          name: optionalString(options, "name"),
          taskId: optionalString(options, "taskId"),
          payload: optionalString(options, "payload"),
          payloadJson: optionalString(options, "payloadJson"),
          contentType: optionalString(options, "contentType"),
          constraints: optionalString(options, "constraints"),
          metadata: optionalString(options, "metadata"),
          startAt: optionalString(options, "startAt"),
          timezone: optionalString(options, "timezone"),
        }),
      ),
    );
}
