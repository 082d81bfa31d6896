import { createIdFactory, ManualClock } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OrderedRun } from "./run-order.js";
import { compareForSelection, orderReadyRuns } from "./run-order.js";

const ids = createIdFactory(new ManualClock());
const run = (effectivePriority: number, createdAt: number, scheduledAt = 0, id: RunId = ids.runId()): OrderedRun => ({
  id,
  effectivePriority,
  createdAt,
  scheduledAt,
});

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe("selection order", () => {
  it("priority desc, then time asc: (8,1000),(5,1100),(5,1200),(1,1300)", () => {
    const a = run(8, 1_000);
    const b = run(5, 1_100);
    const c = run(5, 1_200);
    const d = run(1, 1_300);
    expect(orderReadyRuns([d, c, b, a])).toEqual([a, b, c, d]);
  });
  it("a priority snapshot beats the run's own field", () => {
    const a = run(0, 1_000);
    const b = run(0, 2_000);
    expect(orderReadyRuns([a, b], (r) => (r === b ? 10 : 0))).toEqual([b, a]);
  });
  it("every permutation orders the same; stable on repeat", () => {
    const runs = [run(3, 5), run(3, 5, 1), run(3, 4), run(9, 9), run(3, 5)];
    const expected = orderReadyRuns(runs);
    for (const p of permutations(runs)) expect(orderReadyRuns(p)).toEqual(expected);
    expect(orderReadyRuns(expected)).toEqual(expected);
  });
  it("full ties are broken by RunId (creation order)", () => {
    const first = run(1, 1, 1);
    const second = run(1, 1, 1);
    expect(orderReadyRuns([second, first])).toEqual([first, second]);
  });
  it("property: a strict total order consistent with priority, time and id", () => {
    const arb = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }).map((s) => s as RunId),
      effectivePriority: fc.integer({ min: -3, max: 3 }),
      scheduledAt: fc.integer({ min: 0, max: 5 }),
      createdAt: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        const ab = compareForSelection(a, b);
        expect(Math.sign(ab)).toBe(-Math.sign(compareForSelection(b, a)));
        if (ab === 0) expect(a.id).toBe(b.id);
        if (ab < 0 && compareForSelection(b, c) < 0) expect(compareForSelection(a, c)).toBeLessThan(0);
        if (a.effectivePriority > b.effectivePriority) expect(ab).toBeLessThan(0);
        if (a.effectivePriority === b.effectivePriority && a.scheduledAt < b.scheduledAt) expect(ab).toBeLessThan(0);
        if (a.effectivePriority === b.effectivePriority && a.scheduledAt === b.scheduledAt && a.createdAt < b.createdAt) expect(ab).toBeLessThan(0);
      }),
    );
  });
});
