/**
 * Control through the public API: cancellation of tasks, runs and running
 * runs (the handler sees its signal abort, its late result is ignored),
 * negative transitions, pause/resume across restarts and the close modes.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, createIdFactory, cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { MutationCommand, RunId } from "@actionqueue/core";
import { openStorage, openStorageReadOnly } from "@actionqueue/storage";
import { ActionQueue, fixedBackoff } from "@actionqueue/runtime";
import type { ActionQueueEvents, HandlerContext } from "@actionqueue/runtime";
import { codeOf, deferred, openQueue, results, settle, tempDir, waitFor } from "./helpers.js";

describe("cancellation", () => {
  it("cancels a scheduled run and a ready run; each emits run:canceled with its previous state", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => undefined });
    const canceled: ActionQueueEvents["run:canceled"][] = [];
    q.on("run:canceled", (e) => canceled.push(e));
    const repeat = await q.submit({ runPolicy: repeatPolicy(3, 60_000) });
    await q.pause();
    const once = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle(); // paused: promotes but dispatches nothing
    expect(q.getRun(once.runIds[0]!)!.state).toBe("ready");
    expect(q.explain(once.runIds[0]!)).toMatchObject({ kind: "enginePaused" });
    await q.cancelRun(once.runIds[0]!);
    await q.cancelRun(repeat.runIds[2]!);
    await settle();
    expect(canceled.map((e) => [e.runId, e.previousState])).toEqual([
      [once.runIds[0], "ready"],
      [repeat.runIds[2], "scheduled"],
    ]);
    await q.resume();
    clock.advance(200_000);
    await q.runUntilIdle();
    expect(repeat.runIds.map((id) => q.getRun(id)!.state)).toEqual(["completed", "completed", "canceled"]);
    expect(q.getRun(once.runIds[0]!)!.attempts).toEqual([]);
    expect(q.explain(once.runIds[0]!)).toMatchObject({ kind: "terminal", state: "canceled" });
  });

  it("cancelTask cancels every non-terminal run of the task, is idempotent and survives a restart", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => undefined });
    const { taskId, runIds } = await q.submit({ runPolicy: repeatPolicy(4, 60_000) });
    await q.runUntilIdle();
    expect(await q.cancelTask(taskId)).toEqual({ canceledRuns: 3 });
    expect(await q.cancelTask(taskId)).toEqual({ canceledRuns: 0 });
    clock.advance(600_000);
    await q.runUntilIdle();
    const states = runIds.map((id) => q.getRun(id)!.state);
    expect(states).toEqual(["completed", "canceled", "canceled", "canceled"]);
    expect(q.getTask(taskId)!.canceledAt).toBeDefined();
    expect(q.explain(runIds[1]!).message).toMatch(/task was canceled/);
    await q.close();
    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => undefined });
    await q2.runUntilIdle();
    expect(runIds.map((id) => q2.getRun(id)!.state)).toEqual(states);
    expect(q2.stats().attemptsByResult.success).toBe(1);
  });

  it("cancels a running run: its handler sees the signal abort with reason cancel, its late result is ignored, the key is freed", async () => {
    const dataDir = tempDir();
    const aborted: unknown[] = [];
    const release = deferred();
    let finishedLate = false;
    let handlerCalled = false;
    const q = await openQueue({
      dataDir,
      concurrency: 4,
      handlers: {
        slow: async (ctx: HandlerContext) => {
          handlerCalled = true;
          ctx.signal.addEventListener("abort", () => aborted.push(ctx.signal.reason));
          await release.promise; // ignores the abort on purpose, then "succeeds" late
          finishedLate = true;
          return "late output";
        },
        quick: () => "quick",
      },
    });
    const errors: unknown[] = [];
    q.on("error", (e) => errors.push(e.error));
    const slow = await q.submit({ name: "slow", runPolicy: oncePolicy(), constraints: { concurrencyKey: "k", maxAttempts: 3 } });
    const waiter = await q.submit({ name: "quick", runPolicy: oncePolicy(), constraints: { concurrencyKey: "k" } });
    q.start();
    // "running" is durable before the handler is called; wait for the call itself.
    await waitFor(() => handlerCalled, "slow handler called");
    expect(q.getRun(slow.runIds[0]!)!.state).toBe("running");
    await settle();
    expect(q.explain(waiter.runIds[0]!)).toMatchObject({ kind: "concurrencyKeyHeld", heldBy: slow.runIds[0] });

    await q.cancelRun(slow.runIds[0]!);
    expect(aborted).toEqual(["cancel"]);
    expect(q.getRun(slow.runIds[0]!)!.state).toBe("canceled");
    await q.runUntilIdle();
    expect(q.getRun(waiter.runIds[0]!)!.state).toBe("completed"); // key freed by the cancellation

    release.resolve();
    await waitFor(() => finishedLate, "late finish");
    await settle();
    const run = q.getRun(slow.runIds[0]!)!;
    expect(run.state).toBe("canceled");
    expect(run.attempts).toHaveLength(1);
    // The cancellation ended the attempt: it has an end time (the run's) and no result.
    const canceledAt = run.history[run.history.length - 1]!.at;
    expect(run.attempts[0]).toMatchObject({ finishedAt: canceledAt });
    expect(run.attempts[0]!.result).toBeUndefined();
    expect(run.attempts[0]!.output).toBeUndefined();
    expect(q.stats().attemptsByResult).toEqual({ success: 1, failure: 0, timeout: 0, suspended: 0 });
    expect(errors).toEqual([]);
    // The queue keeps working after the late result.
    const after = await q.submit({ name: "quick", runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(after.runIds[0]!)!.state).toBe("completed");
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.getRun(slow.runIds[0]!)).toEqual(run);
  });
});

describe("negative transitions", () => {
  it("refuses control calls that would leave a terminal state, on unknown and malformed ids, and changes nothing", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, backoff: fixedBackoff(0), handlers: { ok: () => undefined, bad: () => Promise.reject(new Error("x")) } });
    const done = await q.submit({ name: "ok", runPolicy: oncePolicy() });
    const failed = await q.submit({ name: "bad", runPolicy: oncePolicy() });
    await q.runUntilIdle();
    const before = q.stats();
    expect(await codeOf(() => q.cancelRun(done.runIds[0]!))).toBe("INVALID_TRANSITION");
    expect(await codeOf(() => q.cancelRun(failed.runIds[0]!))).toBe("INVALID_TRANSITION");
    expect(await codeOf(() => q.resumeRun(done.runIds[0]!))).toBe("INVALID_TRANSITION");
    const unknown = createIdFactory(new ManualClock()).runId();
    expect(await codeOf(() => q.cancelRun(unknown))).toBe("NOT_FOUND");
    expect(await codeOf(() => q.resumeRun(unknown))).toBe("NOT_FOUND");
    expect(await codeOf(() => q.cancelRun("nope"))).toBe("INVALID_ID");
    expect(await codeOf(() => q.cancelTask("nope"))).toBe("INVALID_ID");
    expect(() => q.explain(unknown)).toThrow(/does not exist/);
    expect(q.getRun(unknown)).toBeUndefined();
    expect(q.stats()).toEqual(before);
    // The queue is still healthy.
    const more = await q.submit({ name: "ok", runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(more.runIds[0]!)!.state).toBe("completed");
  });

  it("the data directory refuses illegal transitions and a second attempt finish written behind the queue's back", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, backoff: fixedBackoff(0), handlers: { ok: () => undefined, bad: () => Promise.reject(new Error("x")) } });
    const done = (await q.submit({ name: "ok", runPolicy: oncePolicy() })).runIds[0]!;
    const failed = (await q.submit({ name: "bad", runPolicy: oncePolicy() })).runIds[0]!;
    await q.pause();
    const canceled = (await q.submit({ name: "ok", runPolicy: oncePolicy() })).runIds[0]!;
    const scheduled = (await q.submit({ name: "ok", runPolicy: repeatPolicy(2, 3_600_000) })).runIds[1]!;
    await q.resume();
    await q.cancelRun(canceled);
    await q.runUntilIdle();
    const finishedAttempt = q.getRun(done)!.attempts[0]!.attemptId;
    await q.close();

    const storage = await openStorage({ dataDir });
    const seq = (): number => storage.authority.latestSequence() + 1;
    const t = Date.now();
    const tr = (runId: RunId, previousState: string, newState: string): MutationCommand =>
      ({ kind: "runStateTransition", sequence: seq(), timestamp: t, runId, previousState, newState }) as MutationCommand;
    const attempts: [MutationCommand, string][] = [
      [tr(done, "completed", "ready"), "INVALID_TRANSITION"],
      [tr(failed, "failed", "running"), "INVALID_TRANSITION"],
      [tr(canceled, "canceled", "ready"), "INVALID_TRANSITION"],
      [tr(scheduled, "scheduled", "running"), "INVALID_TRANSITION"],
    ];
    const latest = storage.authority.latestSequence();
    for (const [command, code] of attempts) {
      expect(await codeOf(() => storage.authority.submitCommand(command, "immediate"))).toBe(code);
    }
    const second = { kind: "attemptFinish", sequence: seq(), timestamp: t, runId: done, attemptId: finishedAttempt, outcome: { result: "success" } };
    expect(await codeOf(() => storage.authority.submitCommand(second as never, "immediate"))).toMatch(/ATTEMPT_FINISH/);
    expect(storage.authority.latestSequence()).toBe(latest);
    await storage.close();

    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect([done, failed, canceled, scheduled].map((id) => q2.getRun(id)!.state)).toEqual(["completed", "failed", "canceled", "scheduled"]);
    expect(results(q2.getRun(done))).toEqual(["success"]);
  });
});

describe("pause and resume", () => {
  it("pause is durable: nothing is dispatched, also after a restart, until resume", async () => {
    const dataDir = tempDir();
    const calls: string[] = [];
    const handler = (ctx: HandlerContext): void => void calls.push(ctx.runId);
    const q = await openQueue({ dataDir, handler });
    const events: string[] = [];
    q.on("engine:paused", () => events.push("paused"));
    q.on("engine:resumed", () => events.push("resumed"));
    await q.pause();
    await q.pause(); // idempotent
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(calls).toEqual([]);
    expect(q.stats().paused).toBe(true);
    await q.close();

    const q2 = await openQueue({ dataDir, handler });
    expect(q2.stats().paused).toBe(true);
    await q2.runUntilIdle();
    expect(calls).toEqual([]);
    expect(q2.explain(runIds[0]!)).toMatchObject({ kind: "enginePaused" });
    q2.on("engine:resumed", () => events.push("resumed"));
    await q2.resume();
    await q2.runUntilIdle();
    expect(calls).toEqual(runIds);
    expect(q2.stats().paused).toBe(false);
    expect(events).toEqual(["paused", "resumed"]);
  });
});

describe("control timestamps", () => {
  it("cancelRun, cancelTask, pause and resume record the injected clock's time, not a WAL sequence or the wall clock", async () => {
    // The Rust daemon stamped control events with their WAL sequence number.
    const dataDir = tempDir();
    const t0 = Date.UTC(2031, 4, 6, 7, 8, 9, 123); // years from Date.now(), and no sequence number
    const clock = new ManualClock({ startMs: t0 });
    const q = await openQueue({ dataDir, clock, handler: () => undefined });
    const once = await q.submit({ runPolicy: oncePolicy() });
    const repeat = await q.submit({ runPolicy: repeatPolicy(2, 60_000) });
    const seen: [string, number][] = [];
    q.on("engine:paused", (e) => void seen.push(["paused", e.at]));
    q.on("engine:resumed", (e) => void seen.push(["resumed", e.at]));
    q.on("run:canceled", (e) => void seen.push(["run canceled", e.at]));
    q.on("task:canceled", (e) => void seen.push(["task canceled", e.at]));

    clock.set(t0 + 1_001);
    await q.pause();
    clock.set(t0 + 2_002);
    await q.cancelRun(once.runIds[0]!);
    clock.set(t0 + 3_003);
    await q.cancelTask(repeat.taskId);
    clock.set(t0 + 4_004);
    await q.resume();
    await settle();
    expect(seen).toEqual([
      ["paused", t0 + 1_001],
      ["run canceled", t0 + 2_002],
      ["run canceled", t0 + 3_003],
      ["run canceled", t0 + 3_003],
      ["task canceled", t0 + 3_003],
      ["resumed", t0 + 4_004],
    ]);
    await q.close();

    // What the WAL holds, read back from disk.
    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.getRun(once.runIds[0]!)!.history.at(-1)).toEqual({ from: "scheduled", to: "canceled", at: t0 + 2_002 });
    for (const runId of repeat.runIds) {
      expect(inspector.getRun(runId)!.history.at(-1)).toEqual({ from: "scheduled", to: "canceled", at: t0 + 3_003 });
    }
    expect(inspector.getTask(repeat.taskId)!.canceledAt).toBe(t0 + 3_003);
    expect(openStorageReadOnly({ dataDir }).projection.engine()).toEqual({ paused: false, pausedAt: t0 + 1_001, resumedAt: t0 + 4_004 });
  });
});

describe("close", () => {
  it("drain (default) lets in-flight attempts finish and then releases the lock", async () => {
    const dataDir = tempDir();
    const q = await ActionQueue.open({ dataDir, handler: () => new Promise((r) => setTimeout(() => r("done"), 150)) });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    q.start();
    await waitFor(() => q.inFlight === 1, "in flight");
    await q.close();
    await q.close(); // idempotent
    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.getRun(runIds[0]!)!.state).toBe("completed");
    const q2 = await openQueue({ dataDir, handler: () => undefined }); // lock released
    expect(q2.recoveryReport.reconciledRuns).toEqual([]);
  });

  it("a draining close derives no cron run, not even for occurrences that fall due while it drains", async () => {
    // The Rust loop kept deriving cron runs in drain mode (Gap 11).
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: Date.UTC(2025, 0, 1, 0, 0, 0) });
    const release = deferred();
    let calls = 0;
    const q = await openQueue({
      dataDir,
      clock,
      cronWindow: 2,
      leaseTimeoutMs: 600_000, // no heartbeat falls due while the clock jumps
      handler: async () => {
        calls += 1;
        await release.promise;
      },
    });
    const t0 = clock.now();
    const { taskId, runIds } = await q.submit({ runPolicy: cronPolicy("*/10 * * * * *") }); // every 10 s, from t0
    expect(runIds.map((id) => q.getRun(id)!.scheduledAt)).toEqual([t0, t0 + 10_000]);
    q.start();
    await waitFor(() => calls === 1, "the first occurrence running");
    const closing = q.close(); // drain
    clock.advance(60_000); // the second occurrence and five more fall due while it drains
    release.resolve(); // the first finishes: outside a close this refills the window
    await closing;

    const inspector = await ActionQueue.inspect(dataDir);
    const runs = inspector.listRuns({ taskId }).runs;
    expect(runs.map((r) => [r.runId, r.state])).toEqual([
      [runIds[0], "completed"],
      [runIds[1], "scheduled"], // due, but a draining queue dispatches nothing new
    ]);
    expect(calls).toBe(1);
  });

  it("drain with graceMs aborts attempts that outlive the grace period", async () => {
    const dataDir = tempDir();
    const reasons: unknown[] = [];
    let called = 0;
    const q = await ActionQueue.open({
      dataDir,
      handler: (ctx) =>
        new Promise<void>((resolve) => {
          called += 1;
          ctx.signal.addEventListener("abort", () => {
            reasons.push(ctx.signal.reason);
            resolve();
          });
        }),
    });
    const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } });
    q.start();
    await waitFor(() => called === 1, "handler called");
    const t = Date.now();
    await q.close({ graceMs: 100 });
    expect(Date.now() - t).toBeGreaterThanOrEqual(90);
    expect(reasons).toEqual(["shutdown"]);
    const run = (await ActionQueue.inspect(dataDir)).getRun(runIds[0]!)!;
    expect(run.state).toBe("retryWait");
    expect(results(run)).toEqual(["failure"]);
  });

  it("abort mode aborts in-flight handlers at once; the next start retries them per the retry table", async () => {
    const dataDir = tempDir();
    const reasons: unknown[] = [];
    let called = 0;
    const q = await ActionQueue.open({
      dataDir,
      concurrency: 4,
      handler: (ctx) =>
        new Promise<void>((resolve) => {
          called += 1;
          ctx.signal.addEventListener("abort", () => {
            reasons.push(ctx.signal.reason);
            resolve();
          });
        }),
    });
    const a = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 3 } });
    const b = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 1 } });
    q.start();
    await waitFor(() => called === 2, "both handlers called");
    const t = Date.now();
    await q.close({ mode: "abort" });
    expect(Date.now() - t).toBeLessThan(3_000); // not the 30 s drain grace
    expect(reasons).toEqual(["shutdown", "shutdown"]);
    const q2 = await openQueue({ dataDir, backoff: fixedBackoff(0), handler: () => "second life" });
    await q2.runUntilIdle();
    const ra = q2.getRun(a.runIds[0]!)!;
    const rb = q2.getRun(b.runIds[0]!)!;
    expect(ra.state).toBe("completed");
    expect(results(ra)).toEqual(["failure", "success"]);
    expect(rb.state).toBe("failed"); // its one attempt was used
    expect(results(rb)).toEqual(["failure"]);
  });
});
