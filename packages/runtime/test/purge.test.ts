/**
 * Purging finished tasks through the public API: what goes and what stays,
 * the cut-off and state filters, batches and limits, bad options, automatic
 * retention, and that a purge survives a restart (WAL replay and snapshot).
 */
import { describe, expect, it } from "vitest";
import { ManualClock, cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import { ActionQueue, TerminalError, fixedBackoff } from "@actionqueue/runtime";
import type { ActionQueueEvents, HandlerContext } from "@actionqueue/runtime";
import { codeOf, deferred, openQueue, settle, tempDir, waitFor } from "./helpers.js";

/** Handler by payload: "ok" completes, "fail" fails terminally. */
const handler = (ctx: HandlerContext<string>): void => {
  if (ctx.json() === "fail") throw new TerminalError("no");
};

describe("purge", () => {
  it("removes finished tasks with their runs, filtered by the states their runs ended in; stays removed after a restart", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler });
    const ok = await q.submit({ runPolicy: oncePolicy(), payload: "ok" });
    const repeated = await q.submit({ runPolicy: repeatPolicy(3, 1_000), payload: "ok" });
    const failed = await q.submit({ runPolicy: oncePolicy(), payload: "fail" });
    clock.advance(5_000);
    await q.runUntilIdle();
    await q.pause(); // so that the next task is canceled before it runs
    const canceled = await q.submit({ runPolicy: oncePolicy(), payload: "ok" });
    await q.cancelTask(canceled.taskId);
    await q.resume();
    expect(q.stats()).toMatchObject({ tasks: 4, runs: 6, runsByState: { completed: 4, failed: 1, canceled: 1 } });
    const purged: ActionQueueEvents["task:purged"][] = [];
    q.on("task:purged", (e) => purged.push(e));

    expect(await q.purge({ states: ["completed"] })).toEqual({ tasks: 2, runs: 4 });
    expect(purged.map((e) => e.taskId).sort()).toEqual([ok.taskId, repeated.taskId].sort());
    expect(purged.find((e) => e.taskId === repeated.taskId)!.runIds).toEqual(repeated.runIds);
    expect(q.getTask(ok.taskId)).toBeUndefined();
    expect(q.getTask(failed.taskId)?.runIds).toEqual(failed.runIds);
    expect(q.getTask(canceled.taskId)).toBeDefined();
    expect(q.getRun(repeated.runIds[1]!)).toBeUndefined();
    expect(q.stats()).toMatchObject({ tasks: 2, runs: 2, runsByState: { completed: 0, failed: 1, canceled: 1 }, attemptsByResult: { success: 0, failure: 1 } });
    expect(await codeOf(() => q.explain(ok.runIds[0]!))).toBe("NOT_FOUND");

    expect(await q.purge()).toEqual({ tasks: 2, runs: 2 });
    expect(q.stats()).toMatchObject({ tasks: 0, runs: 0 });
    await q.close();

    const again = await ActionQueue.open({ dataDir, clock, handler });
    expect(again.stats()).toMatchObject({ tasks: 0, runs: 0 });
    await again.writeSnapshot();
    await again.close();
    const fromSnapshot = await ActionQueue.open({ dataDir, clock, handler });
    expect(fromSnapshot.stats()).toMatchObject({ tasks: 0, runs: 0 });
    // The id is free again: submitting it creates a new task.
    const resubmitted = await fromSnapshot.submit({ taskId: ok.taskId, runPolicy: oncePolicy(), payload: "ok" });
    expect(resubmitted).toMatchObject({ taskId: ok.taskId, existing: false });
    await fromSnapshot.close();
  });

  it("keeps unfinished tasks: a running run, a future run, a cron task still deriving; a canceled cron task goes", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const release = deferred();
    const q = await openQueue({
      dataDir,
      clock,
      idleHorizonMs: 0,
      handlers: { slow: () => release.promise, quick: () => undefined },
    });
    const running = await q.submit({ name: "slow", runPolicy: oncePolicy() });
    const later = await q.submit({ name: "quick", runPolicy: repeatPolicy(2, 60_000) });
    const cron = await q.submit({ name: "quick", runPolicy: cronPolicy("* * * * *") });
    const done = await q.submit({ name: "quick", runPolicy: oncePolicy() });
    q.start();
    await waitFor(() => q.getRun(running.runIds[0]!)?.state === "running" && q.getRun(done.runIds[0]!)?.state === "completed", "one running, one done");
    expect(await q.purge()).toEqual({ tasks: 1, runs: 1 });
    for (const kept of [running, later, cron]) expect(q.getTask(kept.taskId)).toBeDefined();
    release.resolve();
    await waitFor(() => q.getRun(running.runIds[0]!)?.state === "completed", "the slow run to finish");
    await q.cancelTask(cron.taskId);
    expect(await q.purge()).toEqual({ tasks: 2, runs: 1 + cron.runIds.length });
    expect(q.getTask(later.taskId)).toBeDefined();
  });

  it("selects by when a task finished (finishedBefore, olderThanMs) and stops at limit, across batches", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, concurrency: 64, idleHorizonMs: 0, handler: () => undefined });
    await q.submitMany(Array.from({ length: 1_500 }, () => ({ runPolicy: oncePolicy() })));
    await q.runUntilIdle();
    const firstBatchEnd = clock.now();
    clock.advance(10_000);
    await q.submitMany(Array.from({ length: 1_200 }, () => ({ runPolicy: oncePolicy() })));
    await q.runUntilIdle();
    clock.advance(1_000);
    // Only the first 1,500 finished 10 s or more ago.
    expect(await q.purge({ olderThanMs: 5_000, limit: 1_100 })).toEqual({ tasks: 1_100, runs: 1_100 });
    expect(await q.purge({ finishedBefore: firstBatchEnd })).toEqual({ tasks: 400, runs: 400 });
    expect(await q.purge({ finishedBefore: firstBatchEnd })).toEqual({ tasks: 0, runs: 0 });
    expect(await q.purge({ limit: 0 })).toEqual({ tasks: 0, runs: 0 });
    expect(await q.purge()).toEqual({ tasks: 1_200, runs: 1_200 });
    expect(q.stats().tasks).toBe(0);
  });

  it("refuses bad options with an error naming the option, and purges nothing", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, idleHorizonMs: 0, handler: () => undefined });
    await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    const sequence = q.stats().latestSequence;
    const bad: [unknown, string][] = [
      [{ olderThanMs: -1 }, "olderThanMs -1"],
      [{ finishedBefore: "yesterday" }, 'finishedBefore "yesterday"'],
      [{ states: ["running"] }, 'states "running"'],
      [{ states: [] }, "states array(0)"],
      [{ limit: 1.5 }, "limit 1.5"],
      [null, "options null"],
    ];
    for (const [options, named] of bad) {
      const error = await q.purge(options as never).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe("INVALID_FIELD");
      expect(error?.message).toContain(`invalid purge option ${named}`);
    }
    expect(q.stats()).toMatchObject({ tasks: 1, latestSequence: sequence });
    // A misspelt key is refused, not ignored: ignored, it purged every finished task.
    for (const [options, message] of [
      [{ olderThanMS: 60_000 }, "unknown purge option olderThanMS (did you mean olderThanMs?)"],
      [{ limt: 1 }, "unknown purge option limt (did you mean limit?)"],
    ] as const) {
      const error = await q.purge(options as never).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe("UNKNOWN_FIELD");
      expect(error?.message).toContain(message);
    }
    expect(q.stats()).toMatchObject({ tasks: 1, latestSequence: sequence });
    await q.close();
    const typo = await codeOf(() => ActionQueue.open({ dataDir: tempDir(), handler: () => undefined, retention: { olderThanMS: 1_000 } as never }));
    expect(typo).toBe("INVALID_CONFIG");
  });

  it("retention purges finished tasks on its own while the queue is started, and checks its option at open", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, backoff: fixedBackoff(0), handler: () => undefined, retention: { olderThanMs: 60_000, everyMs: 10_000 } });
    const purged: string[] = [];
    q.on("task:purged", (e) => purged.push(e.taskId));
    const old = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    clock.advance(55_000);
    const recent = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    clock.advance(10_000); // the sixth check: `old` finished 65 s ago, `recent` 10 s ago
    await waitFor(() => purged.length === 1, "the automatic purge");
    expect(purged).toEqual([old.taskId]);
    expect(q.getTask(recent.taskId)).toBeDefined();
    // Each check arms the next once it is done: advance one period at a time.
    for (let i = 0; i < 10 && purged.length < 2; i++) {
      clock.advance(10_000);
      await settle();
    }
    expect(purged).toEqual([old.taskId, recent.taskId]);
    expect(q.stats().tasks).toBe(0);

    for (const [retention, named] of [
      [{ olderThanMs: -5 }, "retention.olderThanMs -5"],
      [{ olderThanMs: 1_000, everyMs: 10 }, "retention.everyMs 10"],
      [{ olderThanMs: 1_000, states: ["ready"] }, 'retention.states "ready"'],
      ["daily", 'retention "daily"'],
    ] as const) {
      const error = await ActionQueue.open({ dataDir: tempDir(), handler: () => undefined, retention: retention as never }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe("INVALID_CONFIG");
      expect(error?.message).toContain(`invalid option ${named}`);
    }
  });
});
