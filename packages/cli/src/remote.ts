/**
 * `--url URL` for the read commands: the same views (`stats`, tasks, runs,
 * explain) fetched from a running daemon's `/api/v1` instead of read from
 * the data directory. Base64 bytes from the wire are decoded back, so the
 * output is the same either way. A daemon that cannot be reached (refused,
 * timed out, not ready, not a daemon) is `DAEMON_UNREACHABLE`, exit 5,
 * naming the URL; the daemon's own errors keep their codes, and one the CLI
 * has no code for (such as 404 for a path under `--url` it does not serve)
 * is `INTERNAL`, exit 4, naming the status and the daemon's message.
 */
import { ActionQueueError, errorFamily } from "@actionqueue/core";
import type { ErrorCode } from "@actionqueue/core";
import { CliError } from "./cli-error.js";
import type { CommandContext } from "./context.js";
import { withInspector } from "./commands/open.js";
import type { OptionBag } from "./commands/action.js";
import { optionalString } from "./commands/action.js";
import type { Explanation, ListRunsQuery, RunPage, RunView, Stats, TaskView } from "./internal/runtime.js";

/** How long one request to the daemon may take, ms. */
export const REMOTE_TIMEOUT_MS = 10_000;

/** What the read commands need, from a directory or from a daemon. */
export interface ReadSource {
  stats(): Stats | Promise<Stats>;
  listTasks(query?: { limit?: number; cursor?: string }): { tasks: TaskView[]; nextCursor?: string } | Promise<{ tasks: TaskView[]; nextCursor?: string }>;
  getTask(id: string): TaskView | undefined | Promise<TaskView | undefined>;
  listRuns(query?: ListRunsQuery): RunPage | Promise<RunPage>;
  getRun(id: string): RunView | undefined | Promise<RunView | undefined>;
  explain(id: string): Explanation | Promise<Explanation>;
}

/** Parses `--url`: an absolute http(s) URL; throws `INVALID_OPTION` (exit 3) otherwise. */
export function parseDaemonUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError("INVALID_OPTION", `--url ${JSON.stringify(text)}: expected the daemon's base URL, e.g. http://127.0.0.1:8787`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError("INVALID_OPTION", `--url ${JSON.stringify(text)}: expected an http:// or https:// URL`);
  }
  return url;
}

function fromBase64(value: unknown): Uint8Array {
  return typeof value === "string" ? new Uint8Array(Buffer.from(value, "base64")) : new Uint8Array();
}

function taskFromWire(task: TaskView): TaskView {
  return { ...task, payload: fromBase64(task.payload) };
}

function runFromWire(run: RunView): RunView {
  return {
    ...run,
    attempts: run.attempts.map((attempt) => (attempt.output === undefined ? attempt : { ...attempt, output: fromBase64(attempt.output) })),
  };
}

/** A daemon's read API. */
export class RemoteReader implements ReadSource {
  readonly #base: URL;
  readonly #label: string;

  constructor(url: URL) {
    this.#base = url;
    this.#label = url.href.replace(/\/$/, "");
  }

  async #get<T>(path: string, query: Record<string, string | number | undefined> = {}, allowNotFound = false): Promise<T | undefined> {
    const url = new URL(path.replace(/^\//, ""), this.#base.href.endsWith("/") ? this.#base : `${this.#base.href}/`);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(REMOTE_TIMEOUT_MS), headers: { accept: "application/json" } });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError("DAEMON_UNREACHABLE", `cannot reach the daemon at ${this.#label}: ${reason}`, { cause: error });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new CliError("DAEMON_UNREACHABLE", `${this.#label} answered ${response.status} without JSON: is it an ActionQueue daemon?`, { cause: error });
    }
    if (response.ok) return body as T;
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof error?.code === "string" ? error.code : "";
    const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
    if (response.status === 404 && code === "NOT_FOUND" && allowNotFound) return undefined;
    // A daemon that answered is reachable, even with ROUTE_NOT_FOUND (a wrong
    // path in --url): calling it unreachable would send the user to check
    // that it runs instead of checking the URL.
    if (response.status === 503 || code === "") {
      throw new CliError("DAEMON_UNREACHABLE", `the daemon at ${this.#label} cannot answer: ${message}`);
    }
    if (errorFamily(code) !== undefined) throw new ActionQueueError(code as ErrorCode, `${message} (daemon at ${this.#label})`);
    const hint = code === "ROUTE_NOT_FOUND" ? " (is --url the daemon's base URL?)" : "";
    throw new CliError("INTERNAL", `the daemon at ${this.#label} answered ${response.status} ${code}: ${message}${hint}`);
  }

  async stats(): Promise<Stats> {
    return (await this.#get<Stats>("api/v1/stats"))!;
  }

  async listTasks(query: { limit?: number; cursor?: string } = {}): Promise<{ tasks: TaskView[]; nextCursor?: string }> {
    const page = (await this.#get<{ tasks: TaskView[]; nextCursor?: string }>("api/v1/tasks", query))!;
    return { ...page, tasks: page.tasks.map(taskFromWire) };
  }

  async getTask(id: string): Promise<TaskView | undefined> {
    const task = await this.#get<TaskView>(`api/v1/tasks/${encodeURIComponent(id)}`, {}, true);
    return task === undefined ? undefined : taskFromWire(task);
  }

  async listRuns(query: ListRunsQuery = {}): Promise<RunPage> {
    const page = (await this.#get<RunPage>("api/v1/runs", { state: query.state, taskId: query.taskId, limit: query.limit, cursor: query.cursor }))!;
    return { ...page, runs: page.runs.map(runFromWire) };
  }

  async getRun(id: string): Promise<RunView | undefined> {
    const run = await this.#get<RunView>(`api/v1/runs/${encodeURIComponent(id)}`, {}, true);
    return run === undefined ? undefined : runFromWire(run);
  }

  async explain(id: string): Promise<Explanation> {
    return (await this.#get<Explanation>(`api/v1/runs/${encodeURIComponent(id)}/explain`))!;
  }
}

/**
 * Runs `fn` against the daemon named by `--url` when given, else against a
 * read-only inspector of the data directory. `where` names the source for
 * messages (the URL or the directory).
 */
export async function withReader<T>(ctx: CommandContext, options: OptionBag, fn: (reader: ReadSource, where: string) => T | Promise<T>): Promise<T> {
  const text = optionalString(options, "url");
  if (text === undefined) return withInspector(ctx, fn);
  const url = parseDaemonUrl(text);
  return fn(new RemoteReader(url), url.href.replace(/\/$/, ""));
}
