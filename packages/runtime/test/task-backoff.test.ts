/**
 * A task's own retry backoff (`constraints.backoff`) in place of the queue's:
 * its runs wait exactly that long between attempts, through restarts and
 * snapshots; tasks without one keep the queue's; a bad one is refused with
 * nothing written.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "@actionqueue/core";
import { ActionQueue, parseSubmitJson } from "@actionqueue/runtime";
import type { RetryBackoff } from "@actionqueue/core";
import { openQueue, settle, tempDir, waitFor } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 5);

describe("per-task retry backoff", () => {
  it("a task's backoff replaces the queue's; a task without one keeps the queue's", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const starts = new Map<string, number[]>();
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      backoff: { kind: "fixed", delayMs: 60_000 },
      handler: (ctx) => {
        starts.set(ctx.taskId, [...(starts.get(ctx.taskId) ?? []), clock.now() - T0]);
        throw new Error("again");
      },
    });
    q.start();
    const own = await q.submit({ constraints: { maxAttempts: 4, backoff: { kind: "exponential", baseMs: 1_000, maxMs: 3_000 } }, runPolicy: { kind: "once" } });
    const queues = await q.submit({ constraints: { maxAttempts: 2 }, runPolicy: { kind: "once" } });
    await waitFor(() => starts.get(own.taskId)?.length === 1 && starts.get(queues.taskId)?.length === 1, "first attempts");
    for (let t = 0; t < 8_000; t += 500) {
      clock.advance(500);
      await settle(2);
    }
    await waitFor(() => starts.get(own.taskId)?.length === 4, "four attempts of the task with its own backoff");
    // 1 s, 2 s, then capped at 3 s: attempts at 0, 1, 3, 6 s.
    expect(starts.get(own.taskId)).toEqual([0, 1_000, 3_000, 6_000]);
    expect(starts.get(queues.taskId)).toEqual([0]);
    expect(q.explain(queues.runIds[0]!)).toMatchObject({ kind: "retryWait", retryAt: T0 + 60_000 });
    expect(q.getTask(own.taskId)?.constraints.backoff).toEqual({ kind: "exponential", baseMs: 1_000, maxMs: 3_000 });
  });

  it("submitMany gives a task without a concurrency key its own backoff too", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const q = await openQueue({ dataDir: tempDir(), clock, backoff: { kind: "fixed", delayMs: 0 }, handler: () => { throw new Error("again"); } });
    q.start();
    const [own] = await q.submitMany([{ runPolicy: { kind: "once" }, constraints: { maxAttempts: 2, backoff: { kind: "fixed", delayMs: 5_000 } } }]);
    await waitFor(() => q.getRun(own!.runIds[0]!)?.state === "retryWait", "the first failure");
    expect(q.explain(own!.runIds[0]!)).toMatchObject({ kind: "retryWait", retryAt: T0 + 5_000 });
  });

  it("survives a restart and a snapshot: a retry-waiting run keeps its task's due time", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const dataDir = tempDir();
    let failing = true;
    const options = { dataDir, clock, handler: () => { if (failing) throw new Error("not yet"); } };
    let q = await ActionQueue.open(options);
    q.start();
    const backoff: RetryBackoff = { kind: "fixed", delayMs: 7_000, jitter: "full" };
    const { taskId, runIds } = await q.submit({ constraints: { maxAttempts: 2, backoff }, runPolicy: { kind: "once" } });
    await waitFor(() => q.getRun(runIds[0]!)?.state === "retryWait", "the first failure");
    const due = (q.explain(runIds[0]!) as { retryAt: number }).retryAt;
    expect(due).toBeGreaterThanOrEqual(T0);
    expect(due).toBeLessThanOrEqual(T0 + 7_000);
    await q.close();
    q = await ActionQueue.open(options);
    await q.writeSnapshot();
    await q.close();
    q = await openQueue(options);
    expect(q.getTask(taskId)?.constraints.backoff).toEqual(backoff);
    expect(q.explain(runIds[0]!)).toMatchObject({ kind: "retryWait", retryAt: due });
    failing = false;
    q.start();
    clock.set(due);
    await waitFor(() => q.getRun(runIds[0]!)?.state === "completed", "the retry");
  });

  it("refuses a bad backoff naming the field, and writes nothing", async () => {
    const q = await openQueue({ dataDir: tempDir(), clock: new ManualClock({ startMs: T0 }), handler: () => undefined });
    const before = q.stats();
    const cases: [unknown, string, string][] = [
      [{ kind: "linear", delayMs: 5 }, "INVALID_BACKOFF", "constraints.backoff.kind"],
      [{ kind: "fixed", delayMs: -1 }, "INVALID_BACKOFF", "constraints.backoff.delayMs"],
      [{ kind: "fixed", delayMs: 1.5 }, "INVALID_BACKOFF", "constraints.backoff.delayMs"],
      [{ kind: "fixed" }, "INVALID_BACKOFF", "constraints.backoff.delayMs"],
      [{ kind: "exponential", baseMs: 5_000, maxMs: 1_000 }, "INVALID_BACKOFF", "constraints.backoff.baseMs"],
      [{ kind: "fixed", delayMs: 5, jitter: "half" }, "INVALID_BACKOFF", "constraints.backoff.jitter"],
      [{ kind: "fixed", delayMs: 5, maxMs: 9 }, "UNKNOWN_FIELD", "constraints.backoff.maxMs"],
      ["5s", "INVALID_BACKOFF", "constraints.backoff"],
    ];
    for (const [backoff, code, field] of cases) {
      await expect(q.submit({ runPolicy: { kind: "once" }, constraints: { backoff: backoff as RetryBackoff } }), JSON.stringify(backoff)).rejects.toMatchObject({
        code,
        details: { field },
      });
    }
    expect(q.stats()).toEqual(before);
  });

  it("is part of the spec; jitter none is the default spelt out; JSON submissions take it", async () => {
    const q = await openQueue({ dataDir: tempDir(), clock: new ManualClock({ startMs: T0 }), handler: () => undefined });
    const first = await q.submit({ runPolicy: { kind: "once" }, constraints: { backoff: { kind: "fixed", delayMs: 100 } } });
    expect((await q.submit({ taskId: first.taskId, runPolicy: { kind: "once" }, constraints: { backoff: { kind: "fixed", delayMs: 100, jitter: "none" } as never } })).existing).toBe(true);
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "once" }, constraints: { backoff: { kind: "fixed", delayMs: 101 } } })).rejects.toMatchObject({ code: "TASK_SPEC_MISMATCH" });
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "once" } })).rejects.toMatchObject({ code: "TASK_SPEC_MISMATCH" });
    expect(parseSubmitJson({ runPolicy: "once", constraints: { backoff: { kind: "exponential", baseMs: 10, maxMs: 20, jitter: null } } }).constraints).toEqual({
      backoff: { kind: "exponential", baseMs: 10, maxMs: 20, jitter: null },
    });
  });
});
