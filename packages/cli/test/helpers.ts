/**
 * Test helpers: run the real built `actionqueue` binary as a child process on
 * temporary data directories, and hash a directory tree to prove a command
 * left it byte-for-byte unchanged.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built binary. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
/** Test handler modules. */
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Result of one CLI invocation. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link cli}. */
export interface CliOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
  /** A command the binary runs under (`["setpriv", …]`): spawned as `prefix… node bin args…`. */
  readonly prefix?: readonly string[];
}

const roots: string[] = [];

/** A fresh temporary directory (removed by {@link cleanupTempDirs}). */
export function tempDir(prefix = "aq-cli-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

/** Removes every directory made by {@link tempDir}. */
export function cleanupTempDirs(): void {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function childEnv(extra: CliOptions["env"]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: tempDir("aq-cli-home-"), NO_COLOR: "1" };
  delete env.ACTIONQUEUE_DATA_DIR;
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Starts the binary without waiting for it. */
export function startCli(
  args: readonly string[],
  options: CliOptions = {},
): ChildProcess & { result: Promise<CliRun>; output: () => { stdout: string; stderr: string } } {
  const command = [...(options.prefix ?? []), process.execPath, BIN, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd ?? FIXTURES,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // A safety net only: a hung child is killed well after any test would have failed.
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 110_000);
  const result = new Promise<CliRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return Object.assign(child, { result, output: () => ({ stdout, stderr }) });
}

/** Runs the binary to completion. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(args, options).result;
}

/** Runs the binary with `--json` and parses stdout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: callers pick the shape
export async function cliJson<T = any>(args: readonly string[], options: CliOptions = {}): Promise<{ run: CliRun; json: T }> {
  const run = await cli([...args, "--json"], options);
  if (run.code !== 0) throw new Error(`actionqueue ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return { run, json: JSON.parse(run.stdout) as T };
}

/** Parses the one-line JSON error on stderr. */
export function jsonError(run: CliRun): { code: string; message: string } {
  const lines = run.stderr.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one stderr line, got: ${run.stderr}`);
  return (JSON.parse(lines[0]!) as { error: { code: string; message: string } }).error;
}

/**
 * A fingerprint of a directory tree: every entry's relative path, kind, size
 * and (for files) SHA-256. A missing directory fingerprints as `<missing>`.
 */
export function hashTree(root: string): string {
  if (!existsSync(root)) return "<missing>";
  const lines: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const stat = statSync(path);
      if (stat.isDirectory()) {
        lines.push(`d ${relPath}`);
        walk(path, relPath);
      } else {
        lines.push(`f ${relPath} ${stat.size} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`);
      }
    }
  };
  walk(root, "");
  return lines.join("\n");
}

/** Polls `condition` every 25 ms until true or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Submits `count` once-tasks (JSON mode) and returns their ids. */
export async function submitOnce(dataDir: string, count: number, extra: readonly string[] = []): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { json } = await cliJson<{ taskId: string }>(["submit", "--data-dir", dataDir, "--run-policy", "once", ...extra]);
    ids.push(json.taskId);
  }
  return ids;
}
