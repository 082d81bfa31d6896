/**
 * Listings page through every run and task in id order, and statistics count
 * every attempt, across restarts: when the clock stepped back between two
 * sessions, when a deterministic test clock starts at the same instant again,
 * when tasks carry caller-chosen ids in any order, and when the figures are
 * read back from the WAL or from a snapshot.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, parseTaskId } from "@actionqueue/core";
import { TerminalError, fixedBackoff } from "@actionqueue/runtime";
import type { ActionQueue, HandlerContext } from "@actionqueue/runtime";
import { allRuns, openQueue, tempDir } from "./helpers.js";

/** Every run id, one page of `limit` at a time. */
function pagedRunIds(q: ActionQueue, query: { state?: "completed" | "failed" } = {}, limit = 1): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = q.listRuns({ ...query, limit, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...page.runs.map((r) => r.runId));
    if (page.nextCursor === undefined) return ids;
    cursor = page.nextCursor;
  }
}

/** Every task id, one page of `limit` at a time. */
function pagedTaskIds(q: ActionQueue, limit = 1): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = q.listTasks({ limit, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...page.tasks.map((t) => t.taskId));
    if (page.nextCursor === undefined) return ids;
    cursor = page.nextCursor;
  }
}

const sorted = (ids: readonly string[]): string[] => ids.slice().sort();

describe("listing order and statistics across restarts", () => {
  it("pages every run, in creation order, after the clock stepped back between sessions", async () => {
    const dataDir = tempDir();
    let q = await openQueue({ dataDir, clock: new ManualClock({ startMs: 2_000_000_000_000 }), handler: () => undefined });
    const first = [(await q.submit({ runPolicy: { kind: "once" } })).runIds[0]!, (await q.submit({ runPolicy: { kind: "once" } })).runIds[0]!];
    await q.close();
    // A day earlier, with another random sequence: without continuing after the stored ids, the new run sorted first.
    q = await openQueue({ dataDir, clock: new ManualClock({ startMs: 2_000_000_000_000 - 86_400_000, seed: 7 }), handler: () => undefined });
    const later = (await q.submit({ runPolicy: { kind: "once" } })).runIds[0]!;
    expect(later > first[1]!).toBe(true);
    expect(pagedRunIds(q)).toEqual([...first, later]);
    expect(allRuns(q).map((r) => r.runId)).toEqual([...first, later]);
  });

  it("submits again after a restart with the same deterministic clock (no id minted twice)", async () => {
    const dataDir = tempDir();
    const session = async (): Promise<string[]> => {
      const q = await openQueue({ dataDir, clock: new ManualClock(), handler: () => undefined });
      const { taskId, runIds } = await q.submit({ runPolicy: { kind: "repeat", count: 2, intervalMs: 1000 } });
      await q.close();
      return [taskId, ...runIds];
    };
    const a = await session();
    // Before, the second session minted the first session's ids again and its submit failed with ALREADY_EXISTS.
    const b = await session();
    expect(new Set([...a, ...b]).size).toBe(6);
    const q = await openQueue({ dataDir, clock: new ManualClock(), handler: () => undefined });
    expect(pagedRunIds(q)).toEqual([a[1], a[2], b[1], b[2]]);
  });

  it("pages every task in id order when callers chose the ids in any order, also after a restart", async () => {
    const dataDir = tempDir();
    const ids = ["01HF00000000000000000000T9", "01HF00000000000000000000T3", "01HF00000000000000000000T5", "01HF00000000000000000000T1"].map(parseTaskId);
    let q = await openQueue({ dataDir, handler: () => undefined });
    for (const taskId of ids) await q.submit({ taskId, runPolicy: { kind: "once" } });
    // Before, listing walked arrival order with an id cursor: a page ending at T9 hid T3, T5 and T1.
    expect(pagedTaskIds(q)).toEqual(sorted(ids));
    expect(pagedTaskIds(q, 3)).toEqual(sorted(ids));
    await q.close();
    q = await openQueue({ dataDir, handler: () => undefined });
    expect(pagedTaskIds(q)).toEqual(sorted(ids));
    await q.submit({ taskId: parseTaskId("01HF00000000000000000000T0"), runPolicy: { kind: "once" } });
    expect(pagedTaskIds(q, 2)).toEqual(sorted([...ids, "01HF00000000000000000000T0"]));
  });

  it("counts attempts by result and pages runs by state identically live, from the WAL and from a snapshot", async () => {
    const dataDir = tempDir();
    // Run i: success, a failure then success, a timeout-free terminal failure, or retries exhausted.
    const handler = (ctx: HandlerContext<{ i: number }>): void => {
      const i = ctx.json().i;
      if (i % 4 === 1 && ctx.attemptNumber === 1) throw new Error("once");
      if (i % 4 === 2) throw new TerminalError("never");
      if (i % 4 === 3) throw new Error("always");
    };
    const options = { dataDir, concurrency: 8, backoff: fixedBackoff(0), handler };
    let q = await openQueue(options);
    await q.submitMany(Array.from({ length: 60 }, (_, i) => ({ payload: { i }, runPolicy: { kind: "once" as const }, constraints: { maxAttempts: 2 } })));
    await q.runUntilIdle();
    const stats = q.stats();
    const live = { ...stats, attemptsByResult: { ...stats.attemptsByResult } };
    // 15 of each kind: 15 + 30 + 15 + 30 attempts; successes 15 + 15, failures 15 + 15 + 30.
    expect(live.attemptsByResult).toEqual({ success: 30, failure: 60, timeout: 0, suspended: 0 });
    const completed = pagedRunIds(q, { state: "completed" }, 7);
    const failed = pagedRunIds(q, { state: "failed" }, 7);
    expect(completed).toHaveLength(30);
    expect(failed).toHaveLength(30);
    expect(completed).toEqual(sorted(completed));
    expect(sorted([...completed, ...failed])).toEqual(pagedRunIds(q));
    await q.close();

    // From the WAL alone.
    q = await openQueue({ ...options, snapshotEvery: 0 });
    expect(q.stats()).toEqual(live);
    expect(pagedRunIds(q, { state: "completed" }, 7)).toEqual(completed);
    await q.close();

    // From a snapshot, then a WAL tail that finishes more attempts.
    q = await openQueue(options);
    await q.writeSnapshot();
    await q.submit({ payload: { i: 60 }, runPolicy: { kind: "once" } });
    await q.runUntilIdle();
    await q.close();
    q = await openQueue(options);
    expect(q.recoveryReport.snapshot).toBeDefined();
    expect(q.recoveryReport.walRecordsReplayed).toBeGreaterThan(0);
    live.attemptsByResult.success += 1;
    completed.push(allRuns(q).at(-1)!.runId);
    expect(q.stats().attemptsByResult).toEqual(live.attemptsByResult);
    expect(pagedRunIds(q, { state: "failed" }, 4)).toEqual(failed);
    expect(pagedRunIds(q, { state: "completed" }, 4)).toEqual(completed);
  });
});
