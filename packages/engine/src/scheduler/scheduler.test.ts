import { createIdFactory, ManualClock } from "@actionqueue/core";
import type { ConcurrencyKeyHoldPolicy, RunId, RunState, TaskId } from "@actionqueue/core";
import { exponentialBackoff, fixedBackoff } from "@actionqueue/executor-local";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { holdsConcurrencyKey } from "../concurrency/key-gate.js";
import { orderReadyRuns } from "../selection/run-order.js";
import { Scheduler } from "./scheduler.js";

const ids = createIdFactory(new ManualClock());

interface MutableRun {
  id: RunId;
  taskId: TaskId;
  state: RunState;
  attemptCount: number;
  createdAt: number;
  scheduledAt: number;
  effectivePriority: number;
  lastStateChangeAt: number;
}

function mk(taskId: TaskId, state: RunState, o: Partial<MutableRun> = {}): MutableRun {
  return { id: ids.runId(), taskId, state, attemptCount: 0, createdAt: 0, scheduledAt: 0, effectivePriority: 0, lastStateChangeAt: 0, ...o };
}

function task(concurrencyKey?: string, concurrencyKeyHoldPolicy: ConcurrencyKeyHoldPolicy = "holdDuringRetry") {
  return { id: ids.taskId(), constraints: concurrencyKey === undefined ? { concurrencyKeyHoldPolicy } : { concurrencyKey, concurrencyKeyHoldPolicy } };
}

describe("scheduler: promotion and wake time", () => {
  it("claims scheduled runs due at or before now, keeps future ones; nextWakeAt is the earliest", () => {
    const t = task();
    const s = new Scheduler();
    s.setTask(t);
    const past = mk(t.id, "scheduled", { scheduledAt: 900 });
    const equal = mk(t.id, "scheduled", { scheduledAt: 1_000 });
    const future = mk(t.id, "scheduled", { scheduledAt: 1_100 });
    for (const r of [future, equal, past]) s.onRunChanged(r);
    expect(s.nextWakeAt()).toBe(900);
    expect(s.promoteDue(1_000).map((r) => r.id)).toEqual([past.id, equal.id]);
    expect(s.nextWakeAt()).toBe(1_100);
    expect(s.promoteDue(1_000)).toEqual([]);
    s.releaseClaim(past.id);
    expect(s.promoteDue(1_000).map((r) => r.id)).toEqual([past.id]);
    expect(s.count("scheduled")).toBe(3);
  });
  it("MAX-scheduled run waits until the clock is MAX", () => {
    const t = task();
    const s = new Scheduler();
    s.setTask(t);
    s.onRunChanged(mk(t.id, "scheduled", { scheduledAt: Number.MAX_SAFE_INTEGER }));
    expect(s.promoteDue(Number.MAX_SAFE_INTEGER - 1)).toEqual([]);
    expect(s.promoteDue(Number.MAX_SAFE_INTEGER)).toHaveLength(1);
  });
  it("retry due at = lastStateChangeAt + backoff of counted attempts (suspended attempts excluded)", () => {
    const t = task();
    const suspendedAttempts = new Map<RunId, number>();
    const s = new Scheduler({ backoff: exponentialBackoff(10, 10_000), countedAttempts: (r) => r.attemptCount - (suspendedAttempts.get(r.id) ?? 0) });
    s.setTask(t);
    const a = mk(t.id, "retryWait", { attemptCount: 1, lastStateChangeAt: 1_000 });
    const b = mk(t.id, "retryWait", { attemptCount: 3, lastStateChangeAt: 1_000 });
    suspendedAttempts.set(b.id, 2);
    const c = mk(t.id, "retryWait", { attemptCount: 2, lastStateChangeAt: 1_000 });
    for (const r of [a, b, c]) s.onRunChanged(r);
    expect([s.retryDueAt(a.id), s.retryDueAt(b.id), s.retryDueAt(c.id)]).toEqual([1_010, 1_010, 1_020]);
    expect(s.nextWakeAt()).toBe(1_010);
    expect(s.promoteDue(1_009)).toEqual([]);
    expect(s.promoteDue(1_010).map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
  });
  it("full jitter gives a run the same retry time in a restarted scheduler, spreads different runs, and stays within the delay", () => {
    const t = task();
    const backoff = fixedBackoff(10_000, { jitter: "full" });
    const runs = Array.from({ length: 50 }, () => mk(t.id, "retryWait", { attemptCount: 1, lastStateChangeAt: 1_000 }));
    const dueIn = (s: Scheduler): number[] => runs.map((r) => s.retryDueAt(r.id)!);
    const before = new Scheduler({ backoff });
    const after = new Scheduler({ backoff }); // the process restarted and rebuilt its schedule
    for (const s of [before, after]) {
      s.setTask(t);
      for (const r of runs) s.onRunChanged(r);
    }
    expect(dueIn(after)).toEqual(dueIn(before));
    expect(dueIn(before).every((d) => d >= 1_000 && d <= 11_000)).toBe(true);
    expect(new Set(dueIn(before)).size).toBeGreaterThan(40);
    // A later attempt of the same run draws another fraction.
    const again = new Scheduler({ backoff });
    again.setTask(t);
    again.onRunChanged({ ...runs[0]!, attemptCount: 2 });
    expect(again.retryDueAt(runs[0]!.id)).not.toBe(dueIn(before)[0]);
  });
  it("fixed 30 s entered at 970 s waits at 999 s and is due at 1000 s; zero delay is immediate", () => {
    const t = task();
    const s = new Scheduler({ backoff: fixedBackoff(30_000) });
    s.setTask(t);
    s.onRunChanged(mk(t.id, "retryWait", { attemptCount: 1, lastStateChangeAt: 970_000 }));
    expect(s.promoteDue(999_000)).toEqual([]);
    expect(s.promoteDue(1_000_000)).toHaveLength(1);
    const z = new Scheduler({ backoff: fixedBackoff(0) });
    z.setTask(t);
    z.onRunChanged(mk(t.id, "retryWait", { attemptCount: 1, lastStateChangeAt: 5 }));
    expect(z.promoteDue(5)).toHaveLength(1);
  });
});

describe("scheduler: selection", () => {
  it("forgetTask drops a task's key constraints: its runs reported afterwards are not key-gated", () => {
    const keyed = task("k");
    const s = new Scheduler();
    s.setTask(keyed);
    for (const r of [mk(keyed.id, "ready"), mk(keyed.id, "ready")]) s.onRunChanged(r);
    expect(s.selectNext(10)).toHaveLength(1); // single flight on key k
    const after = new Scheduler();
    after.setTask(keyed);
    after.forgetTask(keyed.id);
    for (const r of [mk(keyed.id, "ready"), mk(keyed.id, "ready")]) after.onRunChanged(r);
    expect(after.selectNext(10)).toHaveLength(2);
  });
  it("selects in the selection order (matches orderReadyRuns)", () => {
    const t = task();
    const s = new Scheduler();
    s.setTask(t);
    const runs = Array.from({ length: 200 }, (_, i) =>
      mk(t.id, "ready", { effectivePriority: i % 5, scheduledAt: (i * 7) % 13, createdAt: (i * 3) % 11 }),
    );
    for (const r of runs) s.onRunChanged(r);
    const picked = s.selectNext(1_000).map((r) => r.id);
    expect(picked).toEqual(orderReadyRuns(runs).map((r) => r.id));
  });
  it("property: heap selection equals the sorted order for any ready set, in batches", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        (specs, batch) => {
          const t = task();
          const s = new Scheduler();
          s.setTask(t);
          const runs = specs.map(([p, at, c]) => mk(t.id, "ready", { effectivePriority: p, scheduledAt: at, createdAt: c }));
          for (const r of runs) s.onRunChanged(r);
          const picked: RunId[] = [];
          for (let got = s.selectNext(batch); got.length > 0; got = s.selectNext(batch)) picked.push(...got.map((r) => r.id));
          expect(picked).toEqual(orderReadyRuns(runs).map((r) => r.id));
        },
      ),
    );
  });
  it("skips runs whose key another run holds, without losing them; nothing while paused", () => {
    const t = task("k");
    const free = task();
    const s = new Scheduler();
    s.setTask(t);
    s.setTask(free);
    const a = mk(t.id, "ready", { effectivePriority: 3 });
    const b = mk(t.id, "ready", { effectivePriority: 2 });
    const c = mk(free.id, "ready", { effectivePriority: 1 });
    for (const r of [a, b, c]) s.onRunChanged(r);
    s.setPaused(true);
    expect(s.selectNext(10)).toEqual([]);
    s.setPaused(false);
    expect(s.selectNext(10).map((r) => r.id)).toEqual([a.id, c.id]);
    expect(s.keyHolder("k")).toBe(a.id);
    s.onRunChanged({ ...a, state: "running", attemptCount: 1 });
    expect(s.selectNext(10)).toEqual([]);
    s.onRunChanged({ ...a, state: "completed", attemptCount: 1 });
    expect(s.keyHolder("k")).toBeUndefined();
    expect(s.selectNext(10).map((r) => r.id)).toEqual([b.id]);
    expect(s.keyHolder("k")).toBe(b.id);
  });
  it("a released selection claim frees the key and the run is selectable again", () => {
    const t = task("k");
    const s = new Scheduler();
    s.setTask(t);
    const a = mk(t.id, "ready");
    const b = mk(t.id, "ready");
    s.onRunChanged(a);
    s.onRunChanged(b);
    expect(s.selectNext(10).map((r) => r.id)).toEqual([a.id]);
    s.releaseClaim(a.id);
    expect(s.keyHolder("k")).toBeUndefined();
    expect(s.selectNext(10).map((r) => r.id)).toEqual([a.id]);
  });
  it("holdDuringRetry keeps the key through retryWait and the retry; releaseOnRetry frees it", () => {
    for (const policy of ["holdDuringRetry", "releaseOnRetry"] as const) {
      const t = task("k", policy);
      const s = new Scheduler({ backoff: fixedBackoff(0) });
      s.setTask(t);
      const a = mk(t.id, "ready", { effectivePriority: 1 });
      const b = mk(t.id, "ready");
      s.onRunChanged(a);
      s.onRunChanged(b);
      expect(s.selectNext(1).map((r) => r.id)).toEqual([a.id]);
      s.onRunChanged({ ...a, state: "retryWait", attemptCount: 1 });
      const next = s.selectNext(5).map((r) => r.id);
      if (policy === "holdDuringRetry") {
        expect(next).toEqual([]);
        expect(s.keyHolder("k")).toBe(a.id);
        s.onTransition(a.id, "ready", 1);
        expect(s.selectNext(5).map((r) => r.id)).toEqual([a.id]);
        s.onTransition(a.id, "failed", 2);
        expect(s.selectNext(5).map((r) => r.id)).toEqual([b.id]);
      } else {
        expect(next).toEqual([b.id]);
      }
    }
  });
  it("rebuild derives holds from durable state: a suspended holder under hold blocks, a canceled one does not", () => {
    const t = task("k", "holdDuringRetry");
    const held = mk(t.id, "suspended", { attemptCount: 1 });
    const waiting = mk(t.id, "ready");
    const s = Scheduler.rebuild([t], [waiting, held]);
    expect(s.keyHolder("k")).toBe(held.id);
    expect(s.selectNext(5)).toEqual([]);
    s.onRunChanged({ ...held, state: "canceled" });
    expect(s.selectNext(5).map((r) => r.id)).toEqual([waiting.id]);
    expect(s.keyConflicts).toBe(0);
  });
  it("counts track every state change", () => {
    const t = task();
    const s = new Scheduler();
    s.setTask(t);
    const r = mk(t.id, "scheduled");
    s.onRunChanged(r);
    s.onTransition(r.id, "ready", 1);
    s.onTransition(r.id, "leased", 2);
    expect(s.counts()).toMatchObject({ scheduled: 0, ready: 0, leased: 1 });
    s.forget(r.id);
    expect(s.count("leased")).toBe(0);
  });
  it("onClaimedTransition reports a held claim without a lookup, and falls back to the id once the claim is spent or forgotten", () => {
    const t = task();
    const s = new Scheduler();
    s.setTask(t);
    const a = mk(t.id, "scheduled");
    const b = mk(t.id, "scheduled");
    s.onRunChanged(a);
    s.onRunChanged(b);
    const [first, second] = s.promoteDue(0);
    expect(s.onClaimedTransition(first!, "ready", 1)).toBe(true);
    expect(s.counts()).toMatchObject({ scheduled: 1, ready: 1 });
    // Spent: the same object again is reported by id, like onTransition.
    expect(s.onClaimedTransition(first!, "leased", 2)).toBe(true);
    expect(s.counts()).toMatchObject({ scheduled: 1, ready: 0, leased: 1 });
    // Forgotten while claimed: the stale claim changes nothing and is not tracked again.
    s.forget(second!.id);
    expect(s.onClaimedTransition(second!, "ready", 3)).toBe(false);
    expect(s.get(second!.id)).toBeUndefined();
    expect(s.counts()).toMatchObject({ scheduled: 0, ready: 0, leased: 1 });
    // Any look-alike object takes the id path.
    expect(s.onClaimedTransition({ ...first! }, "running", 4)).toBe(true);
    expect(s.get(first!.id)?.state).toBe("running");
  });
});

describe("scheduler: key gate property", () => {
  it("never lets two runs of one key hold it at once, and never loses a run", () => {
    type Op =
      | { kind: "select"; n: number }
      | { kind: "finish"; pick: number; outcome: "completed" | "failed" | "retryWait" | "suspended" | "canceled" }
      | { kind: "wake"; pick: number }
      | { kind: "cancel"; pick: number }
      | { kind: "abandon"; pick: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant("select" as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        kind: fc.constant("finish" as const),
        pick: fc.nat(),
        outcome: fc.constantFrom("completed" as const, "failed" as const, "retryWait" as const, "suspended" as const, "canceled" as const),
      }),
      fc.record({ kind: fc.constant("wake" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("abandon" as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 2, max: 8 }), (ops: Op[], n) => {
        const tasks = [task("k", "holdDuringRetry"), task("k", "releaseOnRetry"), task("j", "holdDuringRetry"), task()];
        const policy = new Map(tasks.map((t) => [t.id, t.constraints]));
        const s = Scheduler.rebuild(tasks, [], { backoff: fixedBackoff(0) });
        const runs: MutableRun[] = Array.from({ length: n }, (_, i) => mk(tasks[i % tasks.length]!.id, "ready", { effectivePriority: i % 3 }));
        for (const r of runs) s.onRunChanged(r);
        let now = 1;
        const report = (r: MutableRun, state: RunState) => {
          r.state = state;
          r.lastStateChangeAt = now++;
          s.onRunChanged(r);
        };
        const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
        const check = () => {
          const holders = new Map<string, RunId>();
          for (const r of runs) {
            const c = policy.get(r.taskId)!;
            if (c.concurrencyKey === undefined || !holdsConcurrencyKey(r, c.concurrencyKeyHoldPolicy)) continue;
            expect(holders.has(c.concurrencyKey)).toBe(false);
            holders.set(c.concurrencyKey, r.id);
            expect(s.keyHolder(c.concurrencyKey)).toBe(r.id);
          }
        };
        for (const o of ops) {
          if (o.kind === "select") {
            for (const sel of s.selectNext(o.n)) {
              const r = runs.find((x) => x.id === sel.id)!;
              expect(r.state).toBe("ready");
              report(r, "leased");
              r.attemptCount += 1;
              report(r, "running");
            }
          } else if (o.kind === "finish") {
            const r = pick(runs.filter((x) => x.state === "running"), o.pick);
            if (r) report(r, o.outcome);
          } else if (o.kind === "wake") {
            const r = pick(runs.filter((x) => x.state === "retryWait" || x.state === "suspended"), o.pick);
            if (r) report(r, r.state === "retryWait" && o.pick % 2 === 0 ? "failed" : "ready");
          } else if (o.kind === "cancel") {
            const r = pick(runs.filter((x) => x.state !== "completed" && x.state !== "failed" && x.state !== "canceled"), o.pick);
            if (r) report(r, "canceled");
          } else {
            const r = pick(runs.filter((x) => x.state === "leased" || x.state === "running"), o.pick);
            if (r) report(r, "ready"); // lease lost (Running → Ready is modelled as recovery)
          }
          check();
        }
        // Drain: every live run must eventually be selectable (nothing lost).
        for (let round = 0; round < 4 * n + 4; round++) {
          for (const r of runs) if (r.state === "retryWait" || r.state === "suspended") report(r, "ready");
          for (const r of runs) if (r.state === "running" || r.state === "leased") report(r, "completed");
          for (const sel of s.selectNext(n)) {
            const r = runs.find((x) => x.id === sel.id)!;
            r.attemptCount += 1;
            report(r, "running");
          }
          check();
        }
        for (const r of runs) if (r.state === "running") report(r, "completed");
        for (const r of runs) expect(["completed", "failed", "canceled"]).toContain(r.state);
      }),
      { numRuns: 300 },
    );
  });
});

describe("scheduler: selectOne", () => {
  it("claims what selectNext(1) would, one at a time: order, key holds and pause alike", () => {
    const keyed = task("k");
    const plain = task();
    const build = (): { s: Scheduler; runs: MutableRun[] } => {
      const s = new Scheduler();
      s.setTask(keyed);
      s.setTask(plain);
      const runs = [
        mk(keyed.id, "ready", { scheduledAt: 1 }),
        mk(plain.id, "ready", { scheduledAt: 2, effectivePriority: 5 }),
        mk(keyed.id, "ready", { scheduledAt: 3 }),
        mk(plain.id, "ready", { scheduledAt: 4 }),
      ];
      for (const r of runs) s.onRunChanged(r);
      return { s, runs };
    };
    const one = build();
    const many = build();
    const picked = (pick: () => { id: RunId } | undefined): RunId[] => {
      const out: RunId[] = [];
      for (let r = pick(); r !== undefined; r = pick()) out.push(r.id);
      return out;
    };
    const a = picked(() => one.s.selectOne());
    const b = picked(() => many.s.selectNext(1)[0]);
    // Priority first, then the first keyed run; its twin waits for the key.
    expect(a).toEqual([one.runs[1]!.id, one.runs[0]!.id, one.runs[3]!.id]);
    expect(b).toEqual([many.runs[1]!.id, many.runs[0]!.id, many.runs[3]!.id]);
    // The key holder finishes: its twin becomes selectable.
    one.s.onRunChanged({ ...one.runs[0]!, state: "completed" });
    expect(one.s.selectOne()?.id).toBe(one.runs[2]!.id);
    const paused = build().s;
    paused.setPaused(true);
    expect(paused.selectOne()).toBeUndefined();
    paused.setPaused(false);
    expect(paused.selectOne()).toBeDefined();
  });
});
