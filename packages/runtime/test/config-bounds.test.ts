/**
 * The documented range of every numeric option of `ActionQueue.open`: each
 * value just outside it (and each non-integer) is refused with
 * `INVALID_CONFIG` naming the option and the value, before anything exists
 * on disk; each value at its edge opens a working queue.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { ActionQueue, exponentialBackoff, fixedBackoff } from "@actionqueue/runtime";
import type { ActionQueueOptions, BackoffStrategy } from "@actionqueue/runtime";
import { openQueue, tempDir } from "./helpers.js";

type NumericOptions = Omit<ActionQueueOptions, "dataDir">;

const MAX = Number.MAX_SAFE_INTEGER;
/** Built by hand: the helpers would refuse them before `open` could. */
const fixed = (delayMs: number): BackoffStrategy => ({ kind: "fixed", delayMs });
const exponential = (baseMs: number, maxMs: number): BackoffStrategy => ({ kind: "exponential", baseMs, maxMs });

/** [options, the field the error names, the value as the message shows it]. */
const REFUSED: readonly [NumericOptions, string, string][] = [
  [{ concurrency: 0 }, "concurrency", "0"],
  [{ concurrency: 10_001 }, "concurrency", "10001"],
  [{ concurrency: 1.5 }, "concurrency", "1.5"],
  [{ concurrency: "16" as never }, "concurrency", '"16"'],
  [{ leaseTimeoutMs: 999 }, "leaseTimeoutMs", "999"],
  [{ leaseTimeoutMs: 86_400_001 }, "leaseTimeoutMs", "86400001"],
  [{ leaseTimeoutMs: Number.NaN }, "leaseTimeoutMs", "NaN"],
  [{ snapshotEvery: -1 }, "snapshotEvery", "-1"],
  [{ snapshotEvery: MAX + 1 }, "snapshotEvery", "9007199254740992"],
  [{ snapshotEvery: Number.POSITIVE_INFINITY }, "snapshotEvery", "Infinity"],
  [{ idleHorizonMs: -1 }, "idleHorizonMs", "-1"],
  [{ idleHorizonMs: 86_400_001 }, "idleHorizonMs", "86400001"],
  [{ cronWindow: 0 }, "cronWindow", "0"],
  [{ cronWindow: 1_001 }, "cronWindow", "1001"],
  [{ deferredFlushMs: 0 }, "deferredFlushMs", "0"],
  [{ deferredFlushMs: 51 }, "deferredFlushMs", "51"],
  [{ backoff: fixed(-1) }, "backoff.delayMs", "-1"],
  [{ backoff: fixed(0.5) }, "backoff.delayMs", "0.5"],
  [{ backoff: exponential(-1, 1_000) }, "backoff.baseMs", "-1"],
  [{ backoff: exponential(0, MAX + 1) }, "backoff.maxMs", "9007199254740992"],
  [{ backoff: exponential(1_001, 1_000) }, "backoff.baseMs", "1001"], // above its cap: "baseMs 1001 exceeds maxMs 1000"
  [{ retention: { olderThanMs: -1 } }, "retention.olderThanMs", "-1"],
  [{ retention: { olderThanMs: 0, everyMs: 99 } }, "retention.everyMs", "99"],
];

/** Values at the edges of the same ranges. */
const ACCEPTED: readonly NumericOptions[] = [
  { concurrency: 1 },
  { concurrency: 10_000 },
  { leaseTimeoutMs: 1_000 },
  { leaseTimeoutMs: 86_400_000 },
  { snapshotEvery: 0 }, // never
  { snapshotEvery: 1 },
  { snapshotEvery: MAX },
  { idleHorizonMs: 0 },
  { idleHorizonMs: 86_400_000 },
  { cronWindow: 1 },
  { cronWindow: 1_000 },
  { deferredFlushMs: 1 },
  { deferredFlushMs: 50 },
  { backoff: fixedBackoff(0) },
  { backoff: fixedBackoff(MAX) },
  { backoff: exponentialBackoff(0, 0) },
  { backoff: exponentialBackoff(1_000, 1_000) }, // base equal to its cap
  { backoff: exponentialBackoff(0, MAX) },
  { retention: { olderThanMs: 0, everyMs: 100 } },
];

describe("option bounds through ActionQueue.open", () => {
  it.each(REFUSED.map(([options, field, value]) => [`${field} ${value}`, options, field, value] as const))(
    "refuses %s with INVALID_CONFIG naming the option and the value, creating nothing",
    async (_name, options, field, value) => {
      const dataDir = join(tempDir(), "never-created");
      const error = await ActionQueue.open({ dataDir, handler: () => undefined, ...options }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string; details?: Record<string, unknown> },
      );
      expect(error?.code).toBe("INVALID_CONFIG");
      expect(error?.details?.field).toBe(field);
      expect(error?.message).toContain(`${field.split(".").pop()!} ${value}`);
      expect(existsSync(dataDir)).toBe(false);
    },
  );

  it.each(ACCEPTED.map((options) => [JSON.stringify(options), options] as const))("accepts %s and runs a task", async (_name, options) => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => "ok", ...options });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(runIds[0]!)!.state).toBe("completed");
    await q.close();
  });

  it("snapshotEvery 0 means never, not after every event", async () => {
    const dataDir = tempDir();
    // On the event loop, so that close() waits for any snapshot begun (a worker's build would be abandoned).
    const q = await openQueue({ dataDir, snapshotEvery: 0, snapshotInWorker: false, handler: () => undefined });
    const written: number[] = [];
    q.on("snapshot:written", (e) => void written.push(e.sequence));
    for (let i = 0; i < 5; i += 1) await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    await q.close();
    expect(written).toEqual([]);
    expect(readdirSync(join(dataDir, "snapshots"))).toEqual([]);
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.recoveryReport.snapshot).toBeUndefined();
    expect(q2.stats().runsByState.completed).toBe(5);
  });
});

describe("option keys and null through ActionQueue.open", () => {
  it("an unknown option is refused by name with the option it likely meant, creating nothing", async () => {
    const dataDir = join(tempDir(), "never-created");
    for (const [key, near] of [
      ["concurency", "concurrency"],
      ["Concurrency", "concurrency"],
      ["snapshotevery", "snapshotEvery"],
      ["frobnicate", undefined],
    ] as const) {
      const error = await ActionQueue.open({ dataDir, handler: () => undefined, [key]: 4 }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string; details?: Record<string, unknown> },
      );
      expect(error?.code).toBe("INVALID_CONFIG");
      expect(error?.details?.field).toBe(key);
      expect(error?.message).toContain(`unknown option "${key}"`);
      if (near !== undefined) expect(error?.message).toContain(`did you mean ${near}?`);
      else expect(error?.message).not.toContain("did you mean");
      expect(existsSync(dataDir)).toBe(false);
    }
  });

  it("a dataDir that names a file is refused by name (it was a bare ENOTDIR), leaving the file alone", async () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "keep me");
    const error = await ActionQueue.open({ dataDir: file, handler: () => undefined }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error?.code).toBe("INVALID_CONFIG");
    expect(error?.message).toContain(`invalid option dataDir ${JSON.stringify(file)}: it names a file, not a directory`);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });

  it("null for an optional option means its default, as in a submission", async () => {
    const dataDir = tempDir();
    const none = null as never;
    const q = await openQueue({
      dataDir,
      handler: () => "ok",
      handlers: none,
      concurrency: none,
      clock: none,
      backoff: none,
      snapshotEvery: none,
      snapshotInWorker: none,
      leaseTimeoutMs: none,
      owner: none,
      idleHorizonMs: none,
      cronWindow: none,
      deferredFlushMs: none,
      walSyncMode: none,
      walPreallocate: none,
      retention: none,
    });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(runIds[0]!)!.state).toBe("completed");
    await q.close();
  });

  it("an owner that UTF-8 cannot store is refused; inspect() of a non-path names dataDir", async () => {
    const error = await ActionQueue.open({ dataDir: tempDir(), handler: () => undefined, owner: "w\uD800" }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
    );
    expect([error?.code, error?.details?.field]).toEqual(["INVALID_CONFIG", "owner"]);
    const inspect = await ActionQueue.inspect(5 as never).then(
      () => undefined,
      (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
    );
    expect([inspect?.code, inspect?.details?.field]).toEqual(["INVALID_CONFIG", "dataDir"]);
  });

  it("a handler's error message with a lone surrogate reads the same before and after a restart", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => Promise.reject(new Error("bad \uD800 byte")) });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    const before = q.getRun(runIds[0]!)!.attempts[0]!.error;
    expect(before).toBe("bad \uFFFD byte");
    await q.close();
    const reopened = await openQueue({ dataDir, handler: () => undefined });
    expect(reopened.getRun(runIds[0]!)!.attempts[0]!.error).toBe(before);
    await reopened.close();
  });
});
