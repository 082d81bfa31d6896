import { ActionQueueError, createIdFactory, cronPolicy, ManualClock, NIL_ID, oncePolicy, repeatPolicy, U32_MAX } from "@actionqueue/core";
import type { RunPolicy, TaskId } from "@actionqueue/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DerivationError } from "./derivation-error.js";
import { deriveCronWindow, deriveRuns } from "./derive-runs.js";

const MAX = Number.MAX_SAFE_INTEGER;
const clock = new ManualClock({ startMs: 1_000 });
const ids = createIdFactory(clock);
const task = (runPolicy: RunPolicy, priority = 0, id: TaskId = ids.taskId()) => ({ id, runPolicy, metadata: { priority } });
const times = (policy: RunPolicy, origin: number, alreadyDerived = 0, now = 1_000) =>
  deriveRuns({ task: task(policy), alreadyDerived, scheduleOrigin: origin, now, ids }).runs.map((r) => r.scheduledAt);
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return ActionQueueError.is(e) ? e.code : "other";
  }
  return "none";
};

describe("once", () => {
  it("one scheduled run, createdAt = scheduledAt = now, total 1, priority copied", () => {
    const r = deriveRuns({ task: task(oncePolicy(), 7), alreadyDerived: 0, scheduleOrigin: 5, now: 1_234, ids });
    expect(r.totalDerived).toBe(1);
    expect(r.runs).toHaveLength(1);
    const run = r.runs[0]!;
    expect(run.state).toBe("scheduled");
    expect(run.createdAt).toBe(1_234);
    expect(run.scheduledAt).toBe(1_234);
    expect(run.effectivePriority).toBe(7);
  });
  it("a second call derives nothing; more than one existing run is an error", () => {
    const t = task(oncePolicy());
    expect(deriveRuns({ task: t, alreadyDerived: 1, scheduleOrigin: 0, now: 9, ids })).toEqual({ runs: [], totalDerived: 1 });
    expect(codeOf(() => deriveRuns({ task: t, alreadyDerived: 2, scheduleOrigin: 0, now: 9, ids }))).toBe("INVALID_DERIVATION_STATE");
  });
  it("different tasks get different run ids; the clock only sets the time", () => {
    const a = deriveRuns({ task: task(oncePolicy()), alreadyDerived: 0, scheduleOrigin: 0, now: 10, ids }).runs[0]!;
    const b = deriveRuns({ task: task(oncePolicy()), alreadyDerived: 0, scheduleOrigin: 0, now: 99_999, ids }).runs[0]!;
    expect(a.id).not.toBe(b.id);
    expect(b.scheduledAt).toBe(99_999);
  });
  it("nil task id is a typed error; at MAX − 1 the run is due at MAX − 1", () => {
    expect(codeOf(() => deriveRuns({ task: task(oncePolicy(), 0, NIL_ID as TaskId), alreadyDerived: 0, scheduleOrigin: 0, now: 1, ids }))).toBe(
      "INVALID_TASK_ID",
    );
    expect(times(oncePolicy(), 0, 0, MAX - 1)).toEqual([MAX - 1]);
  });
});

describe("repeat", () => {
  it("origin + i·interval", () => {
    expect(times(repeatPolicy(4, 60), 900)).toEqual([900, 960, 1_020, 1_080]);
    expect(times(repeatPolicy(3, 100), 500)).toEqual([500, 600, 700]);
  });
  it("derives only what is missing; clock-independent", () => {
    expect(times(repeatPolicy(4, 60), 900, 2)).toEqual([1_020, 1_080]);
    expect(times(repeatPolicy(5, 100), 500, 2, 1)).toEqual([700, 800, 900]);
    expect(times(repeatPolicy(5, 100), 500, 2, 1e12)).toEqual([700, 800, 900]);
    expect(times(repeatPolicy(3, 100), 500, 3)).toEqual([]);
  });
  it("alreadyDerived > count is an invalid state naming both", () => {
    expect(() => times(repeatPolicy(3, 100), 0, 4)).toThrow(/alreadyDerived 4 exceeds the repeat count 3/);
    expect(codeOf(() => times(repeatPolicy(3, 100), 0, 4))).toBe("INVALID_DERIVATION_STATE");
  });
  it("count or interval 0 is rejected at construction", () => {
    expect(codeOf(() => repeatPolicy(0, 10))).toBe("INVALID_REPEAT_COUNT");
    expect(codeOf(() => repeatPolicy(2, 0))).toBe("INVALID_REPEAT_INTERVAL");
  });
  it("1000 × 60 ends at 999·60", () => {
    const t = times(repeatPolicy(1_000, 60), 0);
    expect(t).toHaveLength(1_000);
    expect(t.at(-1)).toBe(999 * 60);
  });
  it("property: ids unique and count equals the policy's (once and repeat)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant<RunPolicy>(oncePolicy()),
          fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1e9 })).map(([c, i]) => repeatPolicy(c, i)),
        ),
        fc.integer({ min: 0, max: 1e12 }),
        (policy, origin) => {
          const r = deriveRuns({ task: task(policy), alreadyDerived: 0, scheduleOrigin: origin, now: 1, ids });
          const expected = policy.kind === "repeat" ? policy.count : 1;
          expect(r.runs).toHaveLength(expected);
          expect(r.totalDerived).toBe(expected);
          expect(new Set(r.runs.map((x) => x.id)).size).toBe(expected);
        },
      ),
    );
  });
});

describe("repeat overflow (MAX = Number.MAX_SAFE_INTEGER)", () => {
  it("boundaries", () => {
    expect(times(repeatPolicy(1, MAX), 500)).toEqual([500]);
    expect(times(repeatPolicy(2, MAX), 0)).toEqual([0, MAX]);
    expect(times(repeatPolicy(2, MAX), 0, 1)).toEqual([MAX]);
    const half = Math.floor(MAX / 2);
    expect(times(repeatPolicy(3, half), 0)).toEqual([0, half, MAX - 1]);
    expect(times(repeatPolicy(10_000, Math.floor(MAX / 10_000)), 0)).toHaveLength(10_000);
  });
  it("errors before anything is built", () => {
    expect(() => times(repeatPolicy(2, MAX), 1)).toThrow(/addition/);
    expect(() => times(repeatPolicy(3, MAX), 0)).toThrow(/multiplication/);
    expect(() => times(repeatPolicy(U32_MAX, Math.floor(MAX / 2)), 0)).toThrow(/multiplication/);
    expect(() => times(repeatPolicy(U32_MAX, MAX), 0)).toThrow(/multiplication/);
    expect(() => times(repeatPolicy(3, 60), MAX - 100)).toThrow(/addition/);
    expect(() => times(repeatPolicy(3, 60), MAX - 10)).toThrow(/addition/);
    expect(codeOf(() => times(repeatPolicy(3, 60), MAX - 10))).toBe("DERIVATION_OVERFLOW");
    // The error names the policy: its field, and a reason that reads without the task id.
    for (const [policy, origin] of [[repeatPolicy(3, MAX), 0], [repeatPolicy(3, 60), MAX - 10]] as const) {
      let caught: unknown;
      try {
        times(policy, origin);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(DerivationError);
      const error = caught as DerivationError;
      expect(error.details.field).toBe("runPolicy");
      expect(error.reason).toMatch(/^runPolicy repeat \(count 3, intervalMs \d+\) overflows: (multiplication|addition)/);
      expect(error.message).toBe(`task ${error.taskId}: ${error.reason}`);
    }
    const before = ids.runId();
    expect(() => times(repeatPolicy(2, MAX), 1, 1)).toThrow();
    expect(ids.runId() > before).toBe(true);
  });
});

describe("cron", () => {
  const everySecond = cronPolicy("* * * * * *");
  it("initial window of 5, strictly increasing, occurrence at the origin included", () => {
    const t = times(everySecond, 10_000);
    expect(t).toEqual([10_000, 11_000, 12_000, 13_000, 14_000]);
  });
  it("initial derivation is a no-op when runs exist; maxOccurrences 3 caps the window", () => {
    expect(deriveRuns({ task: task(everySecond), alreadyDerived: 2, scheduleOrigin: 0, now: 0, ids })).toEqual({ runs: [], totalDerived: 2 });
    expect(times(cronPolicy("* * * * * *", { maxOccurrences: 3 }), 10_500)).toEqual([11_000, 12_000, 13_000]);
  });
  it("nil task id is an error", () => {
    expect(codeOf(() => deriveRuns({ task: task(everySecond, 0, NIL_ID as TaskId), alreadyDerived: 0, scheduleOrigin: 0, now: 0, ids }))).toBe(
      "INVALID_TASK_ID",
    );
  });
  it("rolling window tops up after the last run and honours maxOccurrences across windows", () => {
    const t = task(cronPolicy("* * * * * *", { maxOccurrences: 7 }));
    const w = deriveCronWindow({ task: t, totalDerived: 5, liveRuns: 2, lastScheduledAt: 14_000, now: 12_500, ids });
    expect(w.runs.map((r) => r.scheduledAt)).toEqual([15_000, 16_000]);
    expect(w.totalDerived).toBe(7);
    expect(deriveCronWindow({ task: t, totalDerived: 7, liveRuns: 0, lastScheduledAt: 16_000, now: 20_000, ids }).runs).toEqual([]);
    const full = deriveCronWindow({ task: task(everySecond), totalDerived: 10, liveRuns: 5, lastScheduledAt: 1, now: 0, ids });
    expect(full.runs).toEqual([]);
  });
  it("after downtime, catchUp replays from the last run; skip starts at now − tolerance", () => {
    const replay = deriveCronWindow({ task: task(everySecond), totalDerived: 5, liveRuns: 0, lastScheduledAt: 14_000, now: 100_000, ids });
    expect(replay.runs[0]?.scheduledAt).toBe(15_000);
    const skip = task(cronPolicy("* * * * * *", { misfire: { kind: "skip" } }));
    const s = deriveCronWindow({ task: skip, totalDerived: 5, liveRuns: 0, lastScheduledAt: 14_000, now: 100_000, ids, toleranceMs: 0 });
    expect(s.runs.map((r) => r.scheduledAt)).toEqual([100_000, 101_000, 102_000, 103_000, 104_000]);
  });
});

describe("startAt (a delayed start)", () => {
  it("once: due at a later startAt; an earlier one (already passed) means now", () => {
    expect(times({ kind: "once", startAt: 5_000 }, 0, 0, 1_000)).toEqual([5_000]);
    expect(times({ kind: "once", startAt: 500 }, 0, 0, 1_000)).toEqual([1_000]);
    const run = deriveRuns({ task: task({ kind: "once", startAt: 5_000 }), alreadyDerived: 0, scheduleOrigin: 0, now: 1_000, ids }).runs[0]!;
    expect(run.createdAt).toBe(1_000);
  });
  it("repeat: run 0 at startAt when it is later than the origin, the origin otherwise", () => {
    expect(times({ kind: "repeat", count: 3, intervalMs: 100, startAt: 9_000 }, 1_000)).toEqual([9_000, 9_100, 9_200]);
    expect(times({ kind: "repeat", count: 2, intervalMs: 100, startAt: 10 }, 1_000)).toEqual([1_000, 1_100]);
  });
  it("cron: the first window begins at startAt (an occurrence at startAt included)", () => {
    expect(times({ kind: "cron", expression: "* * * * * *", startAt: 60_000 }, 1_000)).toEqual([60_000, 61_000, 62_000, 63_000, 64_000]);
    const w = deriveCronWindow({ task: task({ kind: "cron", expression: "* * * * * *", startAt: 60_500 }), totalDerived: 0, liveRuns: 0, lastScheduledAt: undefined, now: 1_000, ids });
    expect(w.runs.map((r) => r.scheduledAt)).toEqual([61_000, 62_000, 63_000, 64_000, 65_000]);
  });
  it("cron: later windows continue after the last run, never before startAt", () => {
    const t = task({ kind: "cron", expression: "* * * * * *", startAt: 60_000 });
    const next = deriveCronWindow({ task: t, totalDerived: 5, liveRuns: 3, lastScheduledAt: 64_000, now: 62_500, ids });
    expect(next.runs.map((r) => r.scheduledAt)).toEqual([65_000, 66_000]);
  });
  it("property: no derived run is due before startAt, nor before now (once) or the origin (repeat)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 1, max: 5 }), (startAt, now, count) => {
        for (const policy of [{ kind: "once", startAt }, { kind: "repeat", count, intervalMs: 1_000, startAt }, { kind: "cron", expression: "*/7 * * * * *", startAt }] as RunPolicy[]) {
          const due = times(policy, now, 0, now);
          expect(due.length).toBeGreaterThan(0);
          expect(due[0]).toBeGreaterThanOrEqual(Math.max(startAt, now));
          if (policy.kind !== "cron") expect(due[0]).toBe(Math.max(startAt, now));
        }
      }),
    );
  });
});
