import { createIdFactory, cronPolicy, ManualClock, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { RunState } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { buildMisfireCancellations, isOverdue, planMisfire } from "./misfire.js";

const ids = createIdFactory(new ManualClock());
const run = (scheduledAt: number, state: RunState = "scheduled") => ({ id: ids.runId(), state, scheduledAt });

describe("misfire", () => {
  const overdue = [run(3_000), run(1_000), run(2_000), run(4_000), run(5_000)];
  const at = (xs: readonly { scheduledAt: number }[]) => xs.map((x) => x.scheduledAt);

  it("overdue = scheduled and due before now − tolerance", () => {
    expect(isOverdue(run(1_000), 2_000, 500)).toBe(true);
    expect(isOverdue(run(1_500), 2_000, 500)).toBe(false);
    expect(isOverdue(run(1_000, "ready"), 2_000, 500)).toBe(false);
  });
  it("catchUp (default) runs all; with maxRuns the newest only", () => {
    expect(at(planMisfire(repeatPolicy(5, 1_000), overdue).run)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
    const p = planMisfire(repeatPolicy(5, 1_000, { kind: "catchUp", maxRuns: 2 }), overdue);
    expect(at(p.run)).toEqual([4_000, 5_000]);
    expect(at(p.skip)).toEqual([1_000, 2_000, 3_000]);
  });
  it("skip runs none; coalesce runs one (the newest)", () => {
    expect(planMisfire(repeatPolicy(5, 1_000, { kind: "skip" }), overdue).run).toEqual([]);
    const c = planMisfire(cronPolicy("* * * * *", { misfire: { kind: "coalesce" } }), overdue);
    expect(at(c.run)).toEqual([5_000]);
    expect(c.skip).toHaveLength(4);
    expect(planMisfire(repeatPolicy(5, 1_000, { kind: "coalesce" }), [])).toEqual({ run: [], skip: [] });
  });
  it("once always runs; accounting: run + skip = overdue", () => {
    const o = [run(1)];
    expect(planMisfire(oncePolicy(), o).run).toEqual(o);
    for (const m of [{ kind: "skip" }, { kind: "coalesce" }, { kind: "catchUp", maxRuns: 3 }] as const) {
      const p = planMisfire(repeatPolicy(5, 1_000, m), overdue);
      expect(p.run.length + p.skip.length).toBe(overdue.length);
    }
  });
  it("skipped runs become Scheduled → Canceled commands with consecutive sequences", () => {
    const skip = [run(1), run(2)];
    const cmds = buildMisfireCancellations(skip, 8, 99);
    expect(cmds.map((c) => [c.sequence, c.runId, c.previousState, c.newState, c.timestamp])).toEqual([
      [8, skip[0]!.id, "scheduled", "canceled", 99],
      [9, skip[1]!.id, "scheduled", "canceled", 99],
    ]);
  });
});
