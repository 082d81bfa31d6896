/**
 * A policy's `startAt`: a delayed job (once), a repeat schedule that begins
 * later, a cron schedule with nothing before a date. Nothing is dispatched
 * before `startAt`, the start survives restarts and snapshots, it is part of
 * the spec a resubmission must match, and a bad one is refused with nothing
 * written.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActionQueueError, ManualClock } from "@actionqueue/core";
import { ActionQueue, parseSubmitJson } from "@actionqueue/runtime";
import type { ActionQueueOptions } from "@actionqueue/runtime";
import { openQueue, settle, tempDir, waitFor } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 5, 8, 30); // a Monday, 08:30 UTC

function recorder(clock: ManualClock): { seen: { runId: string; at: number }[]; options: (dataDir: string) => ActionQueueOptions } {
  const seen: { runId: string; at: number }[] = [];
  return {
    seen,
    options: (dataDir) => ({
      dataDir,
      clock,
      handler: (ctx) => {
        seen.push({ runId: ctx.runId, at: clock.now() });
      },
    }),
  };
}

function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.set(p, readFileSync(p).toString("base64"));
    }
  };
  walk(dir);
  return out;
}

describe("startAt", () => {
  it("a once task with a startAt runs at that time, not before", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const { seen, options } = recorder(clock);
    const q = await openQueue(options(tempDir()));
    q.start();
    const { runIds } = await q.submit({ runPolicy: { kind: "once", startAt: T0 + 60_000 } });
    const runId = runIds[0]!;
    expect(q.getRun(runId)?.scheduledAt).toBe(T0 + 60_000);
    expect(q.explain(runId)).toMatchObject({ kind: "scheduled", dueAt: T0 + 60_000 });
    clock.advance(59_999);
    await settle();
    expect(seen).toEqual([]);
    clock.advance(1);
    await waitFor(() => q.getRun(runId)?.state === "completed", "the delayed run to complete");
    expect(seen).toEqual([{ runId, at: T0 + 60_000 }]);
  });

  it("a startAt already passed at submission means now", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const { seen, options } = recorder(clock);
    const q = await openQueue(options(tempDir()));
    q.start();
    const { runIds } = await q.submit({ runPolicy: { kind: "once", startAt: T0 - 3_600_000 } });
    await waitFor(() => seen.length === 1, "the run to start");
    expect(q.getRun(runIds[0]!)?.scheduledAt).toBe(T0);
    expect(q.getTask(q.getRun(runIds[0]!)!.taskId)?.runPolicy).toEqual({ kind: "once", startAt: T0 - 3_600_000 });
  });

  it("repeat runs begin at startAt; cron occurrences at or after it", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const { options } = recorder(clock);
    const q = await openQueue(options(tempDir()));
    const repeat = await q.submit({ runPolicy: { kind: "repeat", count: 3, intervalMs: 1_000, startAt: T0 + 10_000 } });
    expect(repeat.runIds.map((id) => q.getRun(id)!.scheduledAt - T0)).toEqual([10_000, 11_000, 12_000]);
    const nextWeek = T0 + 7 * 86_400_000;
    const cron = await q.submit({ runPolicy: { kind: "cron", expression: "0 9 * * 1", startAt: nextWeek } });
    expect(cron.runIds.map((id) => new Date(q.getRun(id)!.scheduledAt).toISOString())).toEqual([
      "2026-01-12T09:00:00.000Z",
      "2026-01-19T09:00:00.000Z",
      "2026-01-26T09:00:00.000Z",
      "2026-02-02T09:00:00.000Z",
      "2026-02-09T09:00:00.000Z",
    ]);
  });

  it("survives a restart from the WAL and from a snapshot, and runs once after it", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const { seen, options } = recorder(clock);
    const dataDir = tempDir();
    let q = await ActionQueue.open(options(dataDir));
    const { taskId, runIds } = await q.submit({ runPolicy: { kind: "once", startAt: T0 + 5_000 } });
    const cron = await q.submit({ runPolicy: { kind: "cron", expression: "*/10 * * * * *", maxOccurrences: 2, startAt: T0 + 60_000 } });
    await q.close();
    q = await ActionQueue.open(options(dataDir));
    expect(q.getTask(taskId)?.runPolicy).toEqual({ kind: "once", startAt: T0 + 5_000 });
    await q.writeSnapshot();
    await q.close();
    q = await openQueue(options(dataDir));
    expect(q.getTask(taskId)?.runPolicy).toEqual({ kind: "once", startAt: T0 + 5_000 });
    expect(q.getTask(cron.taskId)?.runPolicy).toEqual({ kind: "cron", expression: "*/10 * * * * *", maxOccurrences: 2, startAt: T0 + 60_000 });
    expect(q.getRun(runIds[0]!)?.state).toBe("scheduled");
    q.start();
    await settle();
    expect(seen).toEqual([]);
    clock.advance(5_000);
    await waitFor(() => seen.length === 1, "the delayed run");
    clock.advance(54_999);
    await settle();
    expect(seen).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => seen.length === 2, "the first cron run");
    clock.advance(10_000);
    await waitFor(() => seen.length === 3, "the second cron run");
    expect(seen.map((s) => s.at - T0)).toEqual([5_000, 60_000, 70_000]);
  });

  it("is part of the spec: the same startAt is the same task, another one a mismatch", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const q = await openQueue(recorder(clock).options(tempDir()));
    const first = await q.submit({ runPolicy: { kind: "once", startAt: T0 + 1_000 } });
    const again = await q.submit({ taskId: first.taskId, runPolicy: { kind: "once", startAt: T0 + 1_000 } });
    expect(again).toMatchObject({ taskId: first.taskId, runIds: first.runIds, existing: true });
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "once", startAt: T0 + 2_000 } })).rejects.toMatchObject({ code: "TASK_SPEC_MISMATCH" });
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "once" } })).rejects.toMatchObject({ code: "TASK_SPEC_MISMATCH" });
  });

  it("a bad startAt is refused naming field and value, and writes nothing", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const dataDir = tempDir();
    const q = await openQueue(recorder(clock).options(dataDir));
    await q.submit({ runPolicy: { kind: "once" } });
    const before = filesOf(dataDir);
    const stats = q.stats();
    const bad: unknown[] = [
      { kind: "once", startAt: -1 },
      { kind: "once", startAt: 1.5 },
      { kind: "once", startAt: "tomorrow" },
      { kind: "once", startAt: new Date(T0) },
      { kind: "repeat", count: 2, intervalMs: 1, startAt: Number.NaN },
      { kind: "cron", expression: "0 * * * *", startAt: Number.MAX_SAFE_INTEGER },
      // Valid on its own, but the cron schedule has no occurrence after it.
      { kind: "cron", expression: "0 * * * *", startAt: Date.UTC(3000, 0, 1) },
    ];
    for (const runPolicy of bad) {
      const error: unknown = await q.submit({ runPolicy: runPolicy as never }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ActionQueueError.is(error), String(error)).toBe(true);
      expect((error as ActionQueueError).code).toBe("INVALID_START_AT");
      expect((error as ActionQueueError).details.field).toBe("runPolicy.startAt");
    }
    expect(q.stats()).toEqual(stats);
    expect(filesOf(dataDir)).toEqual(before);
  });

  it("JSON submissions (daemon, CLI) take startAt too; null is not given", () => {
    expect(parseSubmitJson({ runPolicy: { kind: "once", startAt: T0 } }).runPolicy).toEqual({ kind: "once", startAt: T0 });
    expect(parseSubmitJson({ runPolicy: { kind: "repeat", count: 2, intervalMs: 5, startAt: null } }).runPolicy).toEqual({ kind: "repeat", count: 2, intervalMs: 5 });
    expect(() => parseSubmitJson({ runPolicy: { kind: "once", startAt: "2026-01-01" } })).toThrow(/runPolicy\.startAt/);
  });
});
