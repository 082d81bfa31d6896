/**
 * Shared helpers of the runtime acceptance tests: real temporary data
 * directories, a queue opener that closes everything a test opened, and small
 * waiting utilities. Everything goes through the public API of
 * `@actionqueue/runtime`.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { ActionQueue } from "@actionqueue/runtime";
import type { ActionQueueOptions, RunView } from "@actionqueue/runtime";

const dirs: string[] = [];
const queues: ActionQueue[] = [];

/** A fresh, empty temporary directory removed after the test. */
export function tempDir(prefix = "aq-rt-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Opens a queue that is closed (abort mode) after the test if the test did not close it. */
export async function openQueue(options: ActionQueueOptions): Promise<ActionQueue> {
  const q = await ActionQueue.open(options);
  queues.push(q);
  return q;
}

afterEach(async () => {
  for (const q of queues.splice(0)) {
    await q.close({ mode: "abort" }).catch(() => undefined);
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Resolves after `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` every 2 ms until it holds (throws after `timeoutMs`). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Lets queued setImmediate/microtask work run (dispatch passes, durable writes). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((r) => setImmediate(r));
  await sleep(5);
}

/** A promise with its resolver, for handlers the test releases on demand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const decoder = new TextDecoder();

/** UTF-8 text of bytes (undefined stays undefined). */
export function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** The attempt results of a run, in order. */
export function results(run: RunView | undefined): (string | undefined)[] {
  return (run?.attempts ?? []).map((a) => a.result);
}

/** The states a run went through, in order. */
export function path(run: RunView | undefined): string[] {
  return (run?.history ?? []).map((h) => h.to);
}

/** Every run of a queue or inspector, following cursors. */
export function allRuns(source: { listRuns(q?: { limit?: number; cursor?: string }): { runs: readonly RunView[]; nextCursor?: string } }): RunView[] {
  const out: RunView[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = source.listRuns({ limit: 10_000, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.runs);
    if (page.nextCursor === undefined) return out;
    cursor = page.nextCursor;
  }
}

/** The error code of a rejected promise or thrown call. */
export async function codeOf(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return (error as { code?: string }).code ?? `no code: ${String(error)}`;
  }
  return undefined;
}

/** Every file under `dir` with its bytes (base64), for a before/after comparison of a data directory. */
export function fileTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const file = join(at, name);
      if (statSync(file).isDirectory()) walk(file);
      else out[file.slice(dir.length)] = readFileSync(file).toString("base64");
    }
  };
  walk(dir);
  return out;
}
