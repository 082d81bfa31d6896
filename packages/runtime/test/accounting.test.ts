/**
 * Run accounting: exactly the runs a policy implies are created, each runs
 * once, and the durable record (runs, attempts, history, stats) is the same
 * after a restart and through the read-only inspector.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock, oncePolicy, repeatPolicy } from "@actionqueue/core";
import { ActionQueue, fixedBackoff, isNoHandlerError } from "@actionqueue/runtime";
import type { HandlerContext } from "@actionqueue/runtime";
import { scanWal } from "@actionqueue/storage";
import { allRuns, codeOf, openQueue, path, results, tempDir, text } from "./helpers.js";

describe("once accounting", () => {
  it("creates one run that completes with one successful attempt, the same after restart and via inspect", async () => {
    const dataDir = tempDir();
    const seen: string[] = [];
    const q = await openQueue({ dataDir, handler: (ctx) => void seen.push(`${ctx.runId} ${ctx.attemptId}`) });
    const events: string[] = [];
    for (const name of ["task:submitted", "run:ready", "attempt:started", "attempt:finished", "run:completed"] as const) {
      q.on(name, () => events.push(name));
    }
    const { taskId, runIds, existing } = await q.submit({ runPolicy: oncePolicy(), payload: { hello: "world" } });
    expect(existing).toBe(false);
    expect(runIds).toHaveLength(1);
    await q.runUntilIdle();

    const run = q.getRun(runIds[0]!)!;
    expect(run.state).toBe("completed");
    expect(run.attemptCount).toBe(1);
    expect(results(run)).toEqual(["success"]);
    expect(seen).toEqual([`${run.runId} ${run.attempts[0]!.attemptId}`]);
    expect(path(run)).toEqual(["scheduled", "ready", "leased", "running", "completed"]);
    expect(run.history[0]!.from).toBeNull();
    expect(q.explain(run.runId)).toMatchObject({ kind: "terminal", state: "completed" });
    expect(events).toEqual(["task:submitted", "run:ready", "attempt:started", "attempt:finished", "run:completed"]);
    const stats = q.stats();
    expect(stats).toMatchObject({ tasks: 1, runs: 1, paused: false });
    expect(stats.runsByState).toMatchObject({ completed: 1, ready: 0, running: 0, scheduled: 0, leased: 0 });
    expect(stats.attemptsByResult).toEqual({ success: 1, failure: 0, timeout: 0, suspended: 0 });
    expect(q.getTask(taskId)!.runIds).toEqual(runIds);
    expect(text(q.getTask(taskId)!.payload)).toBe('{"hello":"world"}');
    await q.close();

    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.getRun(run.runId)).toEqual(run);
    expect(inspector.stats().runsByState).toEqual(stats.runsByState);

    const again = await openQueue({ dataDir, handler: () => void seen.push("again") });
    expect(again.recoveryReport.reconciledRuns).toEqual([]);
    expect(again.getRun(run.runId)).toEqual(run);
    await again.runUntilIdle();
    expect(seen).toHaveLength(1);
    expect(again.stats().runsByState).toEqual(stats.runsByState);
  });

  it("routes by task name; a name without a handler fails terminally with a clear error, not a crash", async () => {
    const dataDir = tempDir();
    const calls: string[] = [];
    const q = await openQueue({
      dataDir,
      handlers: {
        email: (ctx: HandlerContext<{ to: string }>) => void calls.push(`email:${ctx.json().to}`),
        sms: () => void calls.push("sms"),
      },
    });
    const email = await q.submit({ name: "email", runPolicy: oncePolicy(), payload: { to: "a@b.c" } });
    const sms = await q.submit({ name: "sms", runPolicy: oncePolicy() });
    const fax = await q.submit({ name: "fax", runPolicy: oncePolicy(), constraints: { maxAttempts: 5 } });
    const anonymous = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(calls.sort()).toEqual(["email:a@b.c", "sms"]);
    expect(q.getRun(email.runIds[0]!)!.state).toBe("completed");
    expect(q.getRun(sms.runIds[0]!)!.state).toBe("completed");
    for (const r of [fax, anonymous]) {
      const run = q.getRun(r.runIds[0]!)!;
      expect(run.state).toBe("failed");
      expect(run.attempts).toHaveLength(1); // terminal: no retry despite maxAttempts 5
      expect(isNoHandlerError(run.attempts[0]!.error)).toBe(true);
    }
    expect(q.getRun(fax.runIds[0]!)!.attempts[0]!.error).toContain('"fax"');
  });
});

describe("repeat accounting", () => {
  for (const [count, intervalMs] of [
    [3, 60_000],
    [6, 30_000],
  ] as const) {
    it(`repeat ${count}×${intervalMs / 1000}s creates exactly ${count} runs, each completed once; ids survive a restart`, async () => {
      const dataDir = tempDir();
      const clock = new ManualClock({ startMs: Date.UTC(2025, 0, 1) });
      const t0 = clock.now();
      const seen = new Map<string, number>();
      const handler = (ctx: HandlerContext): void => void seen.set(ctx.runId, (seen.get(ctx.runId) ?? 0) + 1);
      const q = await openQueue({ dataDir, handler, clock, idleHorizonMs: 0 });
      const { taskId, runIds } = await q.submit({ runPolicy: repeatPolicy(count, intervalMs) });
      expect(runIds).toHaveLength(count);
      expect(runIds.map((id) => q.getRun(id)!.scheduledAt)).toEqual(runIds.map((_, i) => t0 + i * intervalMs));
      await q.runUntilIdle();
      expect(q.stats().runsByState).toMatchObject({ completed: 1, scheduled: count - 1 });
      await q.close();

      const q2 = await openQueue({ dataDir, handler, clock, idleHorizonMs: 0 });
      expect(q2.getTask(taskId)!.runIds).toEqual(runIds);
      for (let i = 1; i < count; i += 1) {
        clock.advance(intervalMs);
        await q2.runUntilIdle();
        expect(q2.stats().runsByState.completed).toBe(i + 1);
      }
      clock.advance(10 * intervalMs);
      await q2.runUntilIdle();
      await q2.close();

      const inspector = await ActionQueue.inspect(dataDir);
      const runs = allRuns(inspector);
      expect(runs.map((r) => r.runId)).toEqual(runIds); // no N+1
      expect(runs.every((r) => r.state === "completed" && r.attempts.length === 1)).toBe(true);
      expect([...seen.values()]).toEqual(runIds.map(() => 1));
      expect(inspector.stats()).toMatchObject({ tasks: 1, runs: count });
    });
  }
});

describe("submit", () => {
  it("is idempotent for an existing taskId with the same spec and refuses a different spec, also after a restart", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const first = await q.submit({ name: "a", runPolicy: repeatPolicy(2, 60_000), payload: { n: 1 } });
    const seq = q.stats().latestSequence;
    const same = await q.submit({ taskId: first.taskId, name: "a", runPolicy: repeatPolicy(2, 60_000), payload: { n: 1 } });
    expect(same).toMatchObject({ taskId: first.taskId, runIds: first.runIds, existing: true });
    expect(q.stats().latestSequence).toBe(seq);
    expect(await codeOf(() => q.submit({ taskId: first.taskId, name: "a", runPolicy: repeatPolicy(2, 60_000), payload: { n: 2 } }))).toBe(
      "TASK_SPEC_MISMATCH",
    );
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    const again = await q2.submit({ taskId: first.taskId, name: "a", runPolicy: repeatPolicy(2, 60_000), payload: { n: 1 } });
    expect(again).toMatchObject({ existing: true, runIds: first.runIds });
    expect(q2.stats()).toMatchObject({ tasks: 1, runs: 2 });
  });

  it("a policy spelling out the default misfire (catchUp) is the same spec as one leaving it out, and the other way round; another misfire is not", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const implicit = await q.submit({ runPolicy: { kind: "cron", expression: "0 0 1 1 *" } });
    const explicit = await q.submit({ taskId: implicit.taskId, runPolicy: { kind: "cron", expression: "0 0 1 1 *", misfire: { kind: "catchUp" } } });
    expect(explicit).toMatchObject({ existing: true, runIds: implicit.runIds });
    const spelt = await q.submit({ runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, misfire: { kind: "catchUp" } } });
    expect(await q.submit({ taskId: spelt.taskId, runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000 } })).toMatchObject({ existing: true });
    expect(await codeOf(() => q.submit({ taskId: spelt.taskId, runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, misfire: { kind: "skip" } } }))).toBe(
      "TASK_SPEC_MISMATCH",
    );
    expect(
      await codeOf(() => q.submit({ taskId: spelt.taskId, runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, misfire: { kind: "catchUp", maxRuns: 1 } } })),
    ).toBe("TASK_SPEC_MISMATCH");
  });

  it("writes nothing for a rejected spec", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined, backoff: fixedBackoff(0) });
    await q.submit({ runPolicy: oncePolicy() });
    const before = q.stats();
    const bad = [
      { runPolicy: { kind: "repeat", count: 0, intervalMs: 1000 } },
      { runPolicy: { kind: "repeat", count: 3, intervalMs: Number.MAX_SAFE_INTEGER } }, // derivation overflow
      { runPolicy: { kind: "cron", expression: "not a cron" } },
      { runPolicy: oncePolicy(), constraints: { maxAttempts: 0 } },
      { runPolicy: oncePolicy(), payload: () => 1 },
      { runPolicy: oncePolicy(), taskId: "not-a-ulid" },
    ];
    for (const input of bad) {
      const code = await codeOf(() => q.submit(input as never));
      expect(code, JSON.stringify(input)).toBeDefined();
    }
    expect(q.stats()).toEqual(before);
    await q.close();
    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.stats()).toMatchObject({ tasks: 1, runs: 1, latestSequence: before.latestSequence });
  });

  it("refuses a second writer on the same directory and reopens after close", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    expect(await codeOf(() => ActionQueue.open({ dataDir, handler: () => undefined }))).toBe("LOCK_HELD");
    const inspector = await ActionQueue.inspect(dataDir); // read-only works while locked
    expect(inspector.stats().tasks).toBe(0);
    await q.close();
    expect(await codeOf(() => q.submit({ runPolicy: oncePolicy() }))).toBe("CLOSED");
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.stats().tasks).toBe(0);
  });

  it("keeps the WAL zero-filled ahead of its data unless walPreallocate is false", async () => {
    for (const walPreallocate of [true, false]) {
      const dataDir = tempDir();
      const queue = await ActionQueue.open({ dataDir, handler: () => undefined, walPreallocate });
      await queue.submit({ runPolicy: oncePolicy() });
      const walDir = join(dataDir, "wal");
      const segment = join(walDir, readdirSync(walDir)[0]!);
      const dataEnd = scanWal(walDir).segments[0]!.validEnd;
      expect(statSync(segment).size > dataEnd).toBe(walPreallocate);
      await queue.close();
      expect(statSync(segment).size).toBe(dataEnd);
    }
  });

  it("rejects bad options before touching the disk", async () => {
    expect(await codeOf(() => ActionQueue.open({ dataDir: tempDir(), concurrency: 0 }))).toBe("INVALID_CONFIG");
    expect(await codeOf(() => ActionQueue.open({ dataDir: "" }))).toBe("INVALID_CONFIG");
    expect(await codeOf(() => ActionQueue.open({ dataDir: tempDir(), handlers: { x: 3 as never } }))).toBe("INVALID_CONFIG");
    expect(await codeOf(() => ActionQueue.open({ dataDir: tempDir(), leaseTimeoutMs: 10 }))).toBe("INVALID_CONFIG");
    expect(await codeOf(() => ActionQueue.open({ dataDir: tempDir(), snapshotInWorker: "yes" as never }))).toBe("INVALID_CONFIG");
    const badPreallocate = `${tempDir()}/never-created`;
    await expect(ActionQueue.open({ dataDir: badPreallocate, walPreallocate: "no" as never })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: 'invalid option walPreallocate "no": expected true or false',
    });
    expect(existsSync(badPreallocate)).toBe(false);
    const badSync = `${tempDir()}/never-created`;
    await expect(ActionQueue.open({ dataDir: badSync, walSyncMode: "osync" as never })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: expect.stringContaining("walSyncMode"),
    });
    expect(existsSync(badSync)).toBe(false);
    // inspect creates nothing, and reports a missing directory as a rejection (not a synchronous throw).
    const missing = `${tempDir()}/missing`;
    expect(await ActionQueue.inspect(missing).catch((e: { code?: string }) => e.code)).toBe("STORAGE_IO");
  });
});
