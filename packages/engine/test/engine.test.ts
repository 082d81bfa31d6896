import { createIdFactory, createTaskSpec, ManualClock, oncePolicy, repeatPolicy } from "@actionqueue/core";
import { Scheduler, deriveRuns, planMisfire, isOverdue } from "@actionqueue/engine";
import { describe, expect, it } from "vitest";

describe("@actionqueue/engine (black box)", () => {
  it("derives, promotes, selects by priority and serialises a concurrency key", () => {
    const clock = new ManualClock({ startMs: 10_000 });
    const ids = createIdFactory(clock);
    const urgent = createTaskSpec({ id: ids.taskId(), runPolicy: oncePolicy(), metadata: { priority: 5 }, constraints: { concurrencyKey: "db" } });
    const batch = createTaskSpec({ id: ids.taskId(), runPolicy: repeatPolicy(3, 1_000), constraints: { concurrencyKey: "db" } });
    const now = clock.now();
    const runs = [
      ...deriveRuns({ task: urgent, alreadyDerived: 0, scheduleOrigin: now, now, ids }).runs,
      ...deriveRuns({ task: batch, alreadyDerived: 0, scheduleOrigin: now, now, ids }).runs,
    ];
    expect(runs.map((r) => r.effectivePriority)).toEqual([5, 0, 0, 0]);

    const s = Scheduler.rebuild([urgent, batch], runs);
    expect(s.nextWakeAt()).toBe(now);
    for (const c of s.promoteDue(now + 1_000)) s.onTransition(c.id, "ready", now + 1_000);
    expect(s.count("ready")).toBe(3);
    expect(s.nextWakeAt()).toBe(now + 2_000);

    const first = s.selectNext(10);
    expect(first.map((r) => r.id)).toEqual([runs[0]!.id]); // one key: only the highest priority
    s.onTransition(runs[0]!.id, "leased", now + 1_000);
    s.onTransition(runs[0]!.id, "running", now + 1_000, 1);
    s.onTransition(runs[0]!.id, "completed", now + 1_001);
    expect(s.selectNext(10).map((r) => r.id)).toEqual([runs[1]!.id]);
  });

  it("plans misfires after downtime without losing accounting", () => {
    const clock = new ManualClock({ startMs: 1_000 });
    const ids = createIdFactory(clock);
    const task = createTaskSpec({ id: ids.taskId(), runPolicy: repeatPolicy(5, 1_000, { kind: "coalesce" }) });
    const runs = deriveRuns({ task, alreadyDerived: 0, scheduleOrigin: 1_000, now: 1_000, ids }).runs;
    const overdue = runs.filter((r) => isOverdue(r, 100_000, 60_000));
    const plan = planMisfire(task.runPolicy, overdue);
    expect(plan.run.map((r) => r.scheduledAt)).toEqual([5_000]);
    expect(plan.run.length + plan.skip.length).toBe(5);
  });
});
