/**
 * Black-box test helpers: start the real daemon binary (`dist/main.js`) as a
 * child process on an ephemeral port of 127.0.0.1, read the listening
 * address from its first stdout line, talk HTTP to it, and stop it with a
 * signal.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built daemon binary. */
export const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
/** The handler module of the tests. */
export const HANDLERS = fileURLToPath(new URL("./fixtures/handlers.mjs", import.meta.url));
/** A token long enough to be accepted. */
export const TOKEN = "black-box-token-0123456789";
/** Authorization header carrying {@link TOKEN}. */
export const AUTH = { authorization: `Bearer ${TOKEN}` } as const;

const roots: string[] = [];

/** A fresh temporary directory (removed by {@link cleanup}). */
export function tempDir(prefix = "aq-daemon-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

const children = new Set<ChildProcess>();

/** Kills any daemon still running and removes temporary directories. */
export function cleanup(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A daemon child process. */
export interface DaemonChild {
  readonly child: ChildProcess;
  /** Base URL read from the `{"listening": …}` line (undefined if it never listened). */
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the daemon; resolves once it prints its address, or rejects with its exit code, stdout and stderr if it exits first. */
export function spawnDaemon(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<DaemonChild> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ACTIONQUEUE_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  let err = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) {
        try {
          const url = (JSON.parse(line) as { listening: string }).listening;
          resolve({ child, url, stdout: () => out, stderr: () => err, exited });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
    void exited.then(({ code }) => reject(Object.assign(new Error(`daemon exited ${String(code)} before listening: ${err}`), { code, stdout: out, stderr: err })));
  });
}

/** Polls `/ready` until it answers 200. */
export async function waitReady(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/ready`);
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a daemon on a temp data dir (or `dataDir`) with the test handlers and token, and waits until ready. */
export async function startReady(options: { dataDir?: string; extra?: readonly string[]; env?: Record<string, string> } = {}): Promise<DaemonChild & { dataDir: string }> {
  const dataDir = options.dataDir ?? join(tempDir(), "data");
  const daemon = await spawnDaemon(
    ["--data-dir", dataDir, "--bind", "127.0.0.1:0", "--handler", HANDLERS, "--log-level", "warn", "--grace", "5s", ...(options.extra ?? [])],
    { ACTIONQUEUE_TOKEN: TOKEN, ...options.env },
  );
  await waitReady(daemon.url);
  return { ...daemon, dataDir };
}

/** Sends SIGTERM and waits for the exit. */
export async function stop(daemon: DaemonChild): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  daemon.child.kill("SIGTERM");
  return daemon.exited;
}

/** A JSON request; returns the status and parsed body. */
export async function api(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.body);
  }
  const res = await fetch(`${url}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body: parsed };
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
