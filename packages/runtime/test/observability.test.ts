/**
 * Events, cron windows, snapshots, listings, priorities and explanations,
 * all through the public API.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock, cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { ActionQueue, fixedBackoff } from "@actionqueue/runtime";
import type { ActionQueueEventName } from "@actionqueue/runtime";
import { allRuns, openQueue, settle, tempDir, waitFor } from "./helpers.js";

describe("events", () => {
  it("reports retries, failures, cancellations and task events in order, and survives a throwing listener", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    let calls = 0;
    const q = await openQueue({
      dataDir,
      clock,
      idleHorizonMs: 0,
      backoff: fixedBackoff(1_000),
      handler: () => {
        calls += 1;
        throw new Error(`nope ${calls}`);
      },
    });
    const log: string[] = [];
    const names: ActionQueueEventName[] = [
      "task:submitted",
      "task:canceled",
      "run:ready",
      "attempt:started",
      "attempt:finished",
      "run:retrying",
      "run:completed",
      "run:failed",
      "run:canceled",
    ];
    for (const name of names) q.on(name, () => log.push(name));
    const errors: unknown[] = [];
    q.on("error", (e) => errors.push(e.error));
    q.on("attempt:started", () => {
      throw new Error("listener bug");
    });
    let retryAt = 0;
    q.on("run:retrying", (e) => (retryAt = e.retryAt));
    let failure: string | undefined;
    q.on("run:failed", (e) => (failure = e.error));
    const attemptNumbers: number[] = [];
    q.on("attempt:started", (e) => attemptNumbers.push(e.attemptNumber));

    await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } });
    await q.runUntilIdle();
    expect(retryAt).toBe(clock.now() + 1_000);
    clock.advance(1_000);
    await q.runUntilIdle();
    expect(failure).toBe("nope 2");
    const repeat = await q.submit({ runPolicy: repeatPolicy(2, 3_600_000) });
    await q.runUntilIdle();
    clock.advance(1_000);
    await q.runUntilIdle();
    await q.cancelTask(repeat.taskId);
    await settle();
    expect(log).toEqual([
      "task:submitted",
      "run:ready",
      "attempt:started",
      "attempt:finished",
      "run:retrying",
      "run:ready",
      "attempt:started",
      "attempt:finished",
      "run:failed",
      "task:submitted", // the repeat task: maxAttempts 1, so its first run fails at once
      "run:ready",
      "attempt:started",
      "attempt:finished",
      "run:failed",
      "run:canceled", // its second run, an hour away
      "task:canceled",
    ]);
    expect(attemptNumbers).toEqual([1, 2, 1]);
    expect(errors).toHaveLength(3); // one per attempt:started, and the loop carried on
    expect((errors[0] as Error).message).toBe("listener bug");
  });

  it("unsubscribing stops delivery", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    let n = 0;
    const off = q.on("run:completed", () => void (n += 1));
    await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    off();
    await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(n).toBe(1);
  });
});

describe("cron", () => {
  it("keeps a window of future runs, tops it up as runs finish, never exceeds maxOccurrences, across a restart", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: Date.UTC(2025, 0, 1, 0, 0, 0) });
    const handler = (): void => undefined;
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, cronWindow: 3, handler });
    const { taskId, runIds } = await q.submit({ runPolicy: cronPolicy("*/10 * * * * *", { maxOccurrences: 7 }) }); // every 10 s
    expect(runIds).toHaveLength(3);
    const t0 = clock.now();
    expect(runIds.map((id) => q.getRun(id)!.scheduledAt)).toEqual([t0, t0 + 10_000, t0 + 20_000]);
    await q.runUntilIdle();
    expect(q.getTask(taskId)!.runIds).toHaveLength(4); // one finished, one added
    clock.advance(10_000);
    await q.runUntilIdle();
    expect(q.getTask(taskId)!.runIds).toHaveLength(5);
    await q.close();

    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, cronWindow: 3, handler });
    for (let i = 0; i < 10; i += 1) {
      clock.advance(10_000);
      await q2.runUntilIdle();
    }
    const runs = q2.getTask(taskId)!.runIds.map((id) => q2.getRun(id)!);
    expect(runs).toHaveLength(7);
    expect(runs.every((r) => r.state === "completed" && r.attempts.length === 1)).toBe(true);
    expect(runs.map((r) => r.scheduledAt)).toEqual(runs.map((_, i) => t0 + i * 10_000));
  });
});

describe("cron and cancellation", () => {
  it("canceling occurrences refills the window; canceled ones count toward maxOccurrences", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: Date.UTC(2025, 0, 1, 0, 0, 0) });
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, cronWindow: 3, handler: () => undefined });
    await q.pause();
    const { taskId, runIds } = await q.submit({ runPolicy: cronPolicy("*/10 * * * * *", { maxOccurrences: 5 }) });
    await q.cancelRun(runIds[0]!);
    await q.cancelRun(runIds[1]!);
    const states = (): string[] => q.getTask(taskId)!.runIds.map((id) => q.getRun(id)!.state);
    expect(states()).toEqual(["canceled", "canceled", "scheduled", "scheduled", "scheduled"]);
    await q.resume();
    clock.advance(60_000);
    await q.runUntilIdle();
    expect(states()).toEqual(["canceled", "canceled", "completed", "completed", "completed"]);
  });
});

describe("snapshots", () => {
  it("writes snapshots every N events and recovers from snapshot + WAL tail to the same state", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, snapshotEvery: 40, handler: (ctx) => `out ${ctx.runId}` });
    for (let i = 0; i < 30; i += 1) await q.submit({ runPolicy: oncePolicy(), payload: { i } });
    await q.runUntilIdle();
    const written: number[] = [];
    q.on("snapshot:written", (e) => void written.push(e.sequence));
    const explicit = await q.writeSnapshot();
    expect(explicit.encodedIn).toBe("worker");
    // Automatic snapshots (every 40 events) may be reported too.
    expect(written).toContain(explicit.sequence);
    await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    const runs = allRuns(q);
    const stats = q.stats();
    await q.close();
    expect(readdirSync(join(dataDir, "snapshots")).length).toBeGreaterThan(0);

    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.recoveryReport.snapshot?.sequence).toBeGreaterThanOrEqual(explicit.sequence);
    expect(q2.recoveryReport.walRecordsReplayed).toBeLessThan(stats.latestSequence);
    expect(allRuns(q2)).toEqual(runs);
    expect(q2.stats()).toEqual(stats);
  });
});

describe("automatic snapshots", () => {
  it("are reported as snapshot:written with the sequence they cover", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, snapshotEvery: 20, handler: () => undefined });
    const written: number[] = [];
    q.on("snapshot:written", (e) => void written.push(e.sequence));
    for (let i = 0; i < 10; i += 1) await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    await waitFor(() => written.length > 0, "an automatic snapshot", 15_000);
    expect(written[0]).toBeGreaterThanOrEqual(20);
    expect(readdirSync(join(dataDir, "snapshots")).length).toBeGreaterThan(0);
    await q.close();
  });
});

describe("the snapshot counter", () => {
  it("counts every durable event: submissions and control calls of a queue that never starts still snapshot", async () => {
    // The Rust loop counted only the events of its own tick (Gap 11): a
    // process that only submits and controls never snapshotted.
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, snapshotEvery: 3, handler: () => undefined });
    const written: number[] = [];
    q.on("snapshot:written", (e) => void written.push(e.sequence));
    const submitted = [];
    for (let i = 0; i < 3; i += 1) submitted.push(await q.submit({ runPolicy: oncePolicy() })); // events 1–3
    await waitFor(() => written.length === 1, "a snapshot after three submissions", 15_000);
    expect(written).toEqual([3]);

    await q.pause(); // 4
    await q.cancelRun(submitted[0]!.runIds[0]!); // 5
    await q.resume(); // 6
    await waitFor(() => written.length === 2, "a snapshot after three control calls", 15_000);
    expect(written).toEqual([3, 6]);
    expect(q.stats().latestSequence).toBe(6); // nothing was dispatched: no event of the loop
    await q.close();

    const q2 = await openQueue({ dataDir, snapshotEvery: 3, handler: () => undefined });
    expect(q2.recoveryReport.snapshot?.sequence).toBe(6);
    expect(q2.recoveryReport.walRecordsReplayed).toBe(0);
    expect(q2.getRun(submitted[0]!.runIds[0]!)!.state).toBe("canceled");
    expect(q2.stats().runsByState.scheduled + q2.stats().runsByState.ready).toBe(2);
  });
});

describe("snapshots on the event loop", () => {
  it("snapshotInWorker: false still writes snapshots that recover to the same state", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, snapshotInWorker: false, handler: () => undefined });
    for (let i = 0; i < 5; i += 1) await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    const { sequence, encodedIn } = await q.writeSnapshot();
    expect(encodedIn).toBe("caller");
    const stats = q.stats();
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.recoveryReport.snapshot?.sequence).toBe(sequence);
    expect(q2.stats()).toEqual(stats);
    await q2.close();
  });
});

describe("listings, priority and explain", () => {

  it("pages runs and tasks by cursor, filters by state and task", async () => {
    const q = await openQueue({ dataDir: tempDir(), backoff: fixedBackoff(0), handlers: { ok: () => undefined, bad: () => Promise.reject(new Error("x")) } });
    const ok: RunId[] = [];
    for (let i = 0; i < 25; i += 1) ok.push(...(await q.submit({ name: "ok", runPolicy: oncePolicy() })).runIds);
    const bad = await q.submit({ name: "bad", runPolicy: repeatPolicy(3, 1) });
    await q.runUntilIdle();
    const seen: RunId[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = q.listRuns({ limit: 7, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.runs.map((r) => r.runId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(4);
    expect(seen).toEqual([...ok, ...bad.runIds]); // creation order
    expect(q.listRuns({ state: "failed" }).runs.map((r) => r.runId)).toEqual(bad.runIds);
    expect(q.listRuns({ taskId: bad.taskId, state: "completed" }).runs).toEqual([]);
    expect(q.listTasks({ limit: 100 }).tasks).toHaveLength(26);
    expect(() => q.listRuns({ state: "nope" as never })).toThrow(/state/);
    expect(() => q.listRuns({ limit: 0 })).toThrow(/limit/);
    const firstTasks = q.listTasks({ limit: 20 });
    expect(firstTasks.tasks).toHaveLength(20);
    const restTasks = q.listTasks({ limit: 20, cursor: firstTasks.nextCursor! });
    expect(restTasks.tasks).toHaveLength(6);
    expect(restTasks.nextCursor).toBeUndefined();
    expect(() => q.getTask("not-an-id")).toThrow(expect.objectContaining({ code: "INVALID_ID" }) as Error);
    expect(() => q.getRun("not-an-id")).toThrow(expect.objectContaining({ code: "INVALID_ID" }) as Error);
  });

  it("dispatches by metadata priority, then creation order", async () => {
    const order: number[] = [];
    const q = await openQueue({ dataDir: tempDir(), concurrency: 1, handler: (ctx) => void order.push(Number(ctx.json())) });
    await q.pause();
    for (const [n, priority] of [
      [1, 0],
      [2, 5],
      [3, 0],
      [4, 9],
      [5, 5],
    ] as const) {
      await q.submit({ runPolicy: oncePolicy(), payload: n, metadata: { priority } });
    }
    await q.resume();
    await q.runUntilIdle();
    expect(order).toEqual([4, 2, 5, 1, 3]);
  });

  it("explains scheduled, retrying and terminal runs with times and errors", async () => {
    const clock = new ManualClock();
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      idleHorizonMs: 0,
      backoff: fixedBackoff(5_000),
      handlers: { bad: () => Promise.reject(new Error("disk full")), ok: () => undefined },
    });
    const later = await q.submit({ name: "ok", runPolicy: repeatPolicy(2, 60_000) });
    const flaky = await q.submit({ name: "bad", runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } });
    await q.runUntilIdle();
    expect(q.explain(later.runIds[1]!)).toMatchObject({ kind: "scheduled", dueAt: clock.now() + 60_000 });
    expect(q.explain(flaky.runIds[0]!)).toMatchObject({ kind: "retryWait", retryAt: clock.now() + 5_000, attemptCount: 1 });
    clock.advance(5_000);
    await q.runUntilIdle();
    expect(q.explain(flaky.runIds[0]!)).toMatchObject({ kind: "terminal", state: "failed", lastError: "disk full" });
    expect(q.explain(flaky.runIds[0]!).message).toMatch(/failed after 2 attempt/);
    // The read-only inspector explains from durable state alone (on the system clock).
    const inspector = await ActionQueue.inspect(q.dataDir);
    expect(inspector.explain(flaky.runIds[0]!)).toMatchObject({ kind: "terminal", state: "failed", lastError: "disk full" });
  });
});
