import { describe, expect, it } from "vitest";
import { AttemptOutcome, RUN_STATES, RunInstance, createTaskSpec } from "@actionqueue/core";
import type { AttemptId, RunId, TaskId, UnsequencedCommand } from "@actionqueue/core";
import { Projection } from "./projection.js";
import { stateCode } from "./records.js";

const T = (n: number): TaskId => `01HF0000000000000000000T${String(n).padStart(2, "0")}` as TaskId;
const R = (n: number): RunId => `01HF0000000000000000000R${String(n).padStart(2, "0")}` as RunId;
const A = (n: number): AttemptId => `01HF0000000000000000000A${String(n).padStart(2, "0")}` as AttemptId;

/** A projection plus a helper that numbers commands. */
function setup() {
  const p = new Projection();
  const apply = (c: UnsequencedCommand, sequence = p.latestSequence + 1) => p.apply({ ...c, sequence });
  const task = (n: number, maxAttempts = 3) => apply({ kind: "taskCreate", timestamp: 1000, taskSpec: createTaskSpec({ id: T(n), runPolicy: { kind: "once" }, constraints: { maxAttempts } }) });
  const run = (n: number, t = 1) => apply({ kind: "runCreate", timestamp: 1000, run: RunInstance.newScheduled({ id: R(n), taskId: T(t), scheduledAt: 1000, createdAt: 1000 }) });
  const move = (n: number, from: Parameters<typeof p.runState>[0] extends never ? never : string, to: string, at = 1000) =>
    apply({ kind: "runStateTransition", timestamp: at, runId: R(n), previousState: from as never, newState: to as never });
  const lease = (kind: "leaseAcquire" | "leaseHeartbeat", n: number, owner: string, expiresAt: number, attempt = 1) =>
    apply({ kind, timestamp: 1000, runId: R(n), owner, expiresAt, attemptId: A(attempt) });
  const close = (kind: "leaseExpire" | "leaseRelease", n: number, owner: string, expiresAt: number) => apply({ kind, timestamp: 1000, runId: R(n), owner, expiresAt });
  return { p, apply, task, run, move, lease, close };
}

describe("projection (replay reducer)", () => {
  it("starts empty", () => {
    const p = new Projection();
    expect(p.latestSequence).toBe(0);
    expect(p.taskCount + p.runCount).toBe(0);
    expect(p.isEnginePaused()).toBe(false);
  });

  it("pause 1000 + resume 2000 keeps both times; a second pause or an early resume is refused", () => {
    const { p, apply } = setup();
    apply({ kind: "enginePause", timestamp: 1000 });
    expect(() => apply({ kind: "enginePause", timestamp: 1001 })).toThrow(/already paused \(since 1000\)/);
    expect(() => apply({ kind: "engineResume", timestamp: 999 })).toThrow(/before the pause/);
    apply({ kind: "engineResume", timestamp: 2000 });
    expect(p.engine()).toEqual({ paused: false, pausedAt: 1000, resumedAt: 2000 });
    expect(() => apply({ kind: "engineResume", timestamp: 3000 })).toThrow(/not paused/);
  });

  it("accepts gaps in replay but never a sequence at or below the latest; a refused event keeps latest", () => {
    const { p, apply, task, run } = setup();
    apply({ kind: "enginePause", timestamp: 1 }, 1);
    apply({ kind: "engineResume", timestamp: 2 }, 5);
    expect(() => apply({ kind: "enginePause", timestamp: 3 }, 5)).toThrow(/sequence conflict/);
    task(1);
    run(1);
    const latest = p.latestSequence;
    expect(() => apply({ kind: "attemptStart", timestamp: 1, runId: R(1), attemptId: A(1) })).toThrow(/only start while running/);
    expect(p.latestSequence).toBe(latest);
    apply({ kind: "runStateTransition", timestamp: 1, runId: R(1), previousState: "scheduled", newState: "ready" }, latest + 1);
  });

  it("refuses leaving a terminal state and a run created in another state than scheduled", () => {
    const { task, run, move, apply } = setup();
    task(1);
    run(1);
    move(1, "scheduled", "canceled");
    expect(() => move(1, "canceled", "ready")).toThrow(/invalid transition/);
    const ready = RunInstance.newReady({ id: R(2), taskId: T(1), scheduledAt: 1, createdAt: 1 });
    expect(() => apply({ kind: "runCreate", timestamp: 1, run: ready })).toThrow(/must be created scheduled/);
  });

  it("task cancel sets canceledAt once; a second cancel keeps the first time", () => {
    const { p, apply, task } = setup();
    task(1);
    apply({ kind: "taskCancel", timestamp: 5000, taskId: T(1) });
    expect(() => apply({ kind: "taskCancel", timestamp: 6000, taskId: T(1) })).toThrow(/already canceled at 5000/);
    expect(p.getTask(T(1))?.canceledAt).toBe(5000);
    expect(() => apply({ kind: "taskCancel", timestamp: 1, taskId: T(9) })).toThrow(/unknown task/);
  });

  it("attempts: finish without start refused; start makes it active; a wrong id is refused; the match clears it", () => {
    const { p, apply, task, run, move, lease } = setup();
    task(1);
    run(1);
    move(1, "scheduled", "ready");
    lease("leaseAcquire", 1, "w1", 5000);
    move(1, "ready", "leased");
    move(1, "leased", "running");
    expect(() => apply({ kind: "attemptFinish", timestamp: 1, runId: R(1), attemptId: A(1), outcome: AttemptOutcome.success() })).toThrow(/no attempt is active/);
    apply({ kind: "attemptStart", timestamp: 1100, runId: R(1), attemptId: A(1) });
    expect(p.activeAttemptId(R(1))).toBe(A(1));
    expect(p.getRun(R(1))?.attemptCount).toBe(1);
    expect(() => apply({ kind: "attemptFinish", timestamp: 1, runId: R(1), attemptId: A(2), outcome: AttemptOutcome.success() })).toThrow(/not the active attempt/);
    apply({ kind: "attemptFinish", timestamp: 1200, runId: R(1), attemptId: A(1), outcome: AttemptOutcome.timeout("timed out") });
    expect(p.activeAttemptId(R(1))).toBeUndefined();
    expect(p.attempts(R(1))).toEqual([{ attemptId: A(1), startedAt: 1100, finishedAt: 1200, outcome: { result: "timeout", error: "timed out" } }]);
    move(1, "running", "retryWait");
    expect(p.lease(R(1))).toBeUndefined();
  });

  it("leases: heartbeats move forward only; expire/release need the exact owner and expiry; a leased run returns to ready with a history entry", () => {
    const { p, task, run, move, lease, close } = setup();
    task(1);
    run(1);
    expect(() => lease("leaseAcquire", 1, "w1", 5000)).toThrow(/requires state ready or leased/);
    move(1, "scheduled", "ready");
    lease("leaseAcquire", 1, "w1", 5000);
    expect(() => lease("leaseAcquire", 1, "w2", 5000)).toThrow(/already active/);
    move(1, "ready", "leased");
    lease("leaseHeartbeat", 1, "w1", 6000);
    lease("leaseHeartbeat", 1, "w1", 6500);
    lease("leaseHeartbeat", 1, "w1", 6500);
    expect(() => lease("leaseHeartbeat", 1, "w1", 6000)).toThrow(/back from 6500 to 6000/);
    expect(() => lease("leaseHeartbeat", 1, "w2", 7000)).toThrow(/owned by "w1"/);
    expect(() => lease("leaseHeartbeat", 1, "w1", 7000, 2)).toThrow(/STALE|belongs to/);
    expect(() => close("leaseRelease", 1, "w1", 4999)).toThrow(/expiry is 6500/);
    close("leaseExpire", 1, "w1", 6500);
    expect(p.runState(R(1))).toBe("ready");
    expect(p.lease(R(1))).toBeUndefined();
    expect(p.runHistory(R(1)).map((h) => h.to)).toEqual(["scheduled", "ready", "leased", "ready"]);
    expect(() => close("leaseRelease", 1, "w1", 6500)).toThrow(/needs an active lease/);
    lease("leaseAcquire", 1, "worker-2", 7000, 3);
    expect(p.lease(R(1))).toMatchObject({ owner: "worker-2", expiresAt: 7000, attemptId: A(3) });
  });

  it("dependencies, suspend/resume, budgets and subscriptions", () => {
    const { p, apply, task, run, move, lease } = setup();
    task(1);
    task(2);
    task(3);
    apply({ kind: "dependencyDeclare", timestamp: 1, taskId: T(2), dependsOn: [T(1)] });
    apply({ kind: "dependencyDeclare", timestamp: 1, taskId: T(3), dependsOn: [T(2)] });
    expect(p.dependencies(T(3))).toEqual([T(2)]);
    expect(() => apply({ kind: "dependencyDeclare", timestamp: 1, taskId: T(3), dependsOn: [] })).toThrow(/at least one/);
    run(1);
    move(1, "scheduled", "ready");
    lease("leaseAcquire", 1, "w", 9);
    move(1, "ready", "leased");
    move(1, "leased", "running");
    apply({ kind: "runSuspend", timestamp: 1, runId: R(1), reason: "preempted" });
    apply({ kind: "runResume", timestamp: 2, runId: R(1) });
    expect(p.runState(R(1))).toBe("ready");
    expect(() => apply({ kind: "runResume", timestamp: 2, runId: R(1) })).toThrow(/expected previous state suspended/);
    apply({ kind: "budgetAllocate", timestamp: 1, taskId: T(1), dimension: "token", limit: 500 });
    apply({ kind: "budgetConsume", timestamp: 1, taskId: T(1), dimension: "token", amount: 200 });
    expect(p.budget(T(1), "token")).toMatchObject({ limit: 500, consumed: 200, exhausted: false });
    apply({ kind: "budgetConsume", timestamp: 1, taskId: T(1), dimension: "token", amount: 300 });
    expect(p.budget(T(1), "token")?.exhausted).toBe(true);
    apply({ kind: "budgetReplenish", timestamp: 1, taskId: T(1), dimension: "token", newLimit: 200 });
    expect(p.budget(T(1), "token")).toMatchObject({ limit: 200, consumed: 0, exhausted: false });
    const subscriptionId = "01HF0000000000000000000S01" as never;
    apply({ kind: "subscriptionCreate", timestamp: 1, subscriptionId, taskId: T(1), filter: { kind: "taskCompleted", taskId: T(1) } });
    expect(() => apply({ kind: "subscriptionCreate", timestamp: 1, subscriptionId, taskId: T(1), filter: { kind: "taskCompleted", taskId: T(1) } })).toThrow(/already exists/);
    apply({ kind: "subscriptionTrigger", timestamp: 5, subscriptionId });
    apply({ kind: "subscriptionCancel", timestamp: 6, subscriptionId });
    expect(p.subscription(subscriptionId)).toMatchObject({ triggeredAt: 5, canceledAt: 6 });
  });

  it("applyBatch is all-or-nothing", () => {
    const { p, task } = setup();
    task(1);
    const before = p.latestSequence;
    expect(() =>
      p.applyBatch([
        { kind: "runCreate", sequence: before + 1, timestamp: 1, run: RunInstance.newScheduled({ id: R(1), taskId: T(1), scheduledAt: 1, createdAt: 1 }) },
        { kind: "runStateTransition", sequence: before + 2, timestamp: 1, runId: R(1), previousState: "scheduled", newState: "ready" },
        { kind: "taskCancel", sequence: before + 3, timestamp: 1, taskId: T(7) },
      ]),
    ).toThrow(/unknown task/);
    expect(p.latestSequence).toBe(before);
    expect(p.getRun(R(1))).toBeUndefined();
    expect(p.runsOfTask(T(1))).toEqual([]);
    expect(p.countsByState().scheduled + p.countsByState().ready).toBe(0);
  });

  it("hands out copies: changing a returned run changes nothing", () => {
    const { p, task, run } = setup();
    task(1);
    run(1);
    p.getRun(R(1))!.transitionTo("ready");
    expect(p.runState(R(1))).toBe("scheduled");
  });

  it("lists and counts runs by state, whether the state is indexed (leased) or only counted (scheduled, ready, terminal)", () => {
    const { p, task, run, move } = setup();
    task(1);
    for (let n = 1; n <= 5; n++) run(n);
    move(1, "scheduled", "canceled");
    move(2, "scheduled", "ready");
    move(3, "scheduled", "canceled");
    move(5, "scheduled", "ready");
    move(5, "ready", "leased");
    expect(p.countsByState()).toMatchObject({ scheduled: 1, ready: 1, leased: 1, canceled: 2, completed: 0 });
    expect(p.runsInState("canceled")).toEqual([R(1), R(3)]);
    expect(p.runsInState("ready")).toEqual([R(2)]);
    expect(p.runsInState("scheduled")).toEqual([R(4)]);
    expect(p.runsInState("leased")).toEqual([R(5)]);
    expect(p.runsOfTask(T(1))).toEqual([R(1), R(2), R(3), R(4), R(5)]);
  });

  it("packs history but hands out full, detached entries (times before creation included)", () => {
    const { p, task, run, move } = setup();
    task(1);
    run(1);
    move(1, "scheduled", "ready", 1500);
    move(1, "ready", "canceled", 900);
    expect(p.runHistory(R(1))).toEqual([
      { from: null, to: "scheduled", at: 1000 },
      { from: "scheduled", to: "ready", at: 1500 },
      { from: "ready", to: "canceled", at: 900 },
    ]);
    // A reader's copy is detached from the record.
    (p.runHistory(R(1)) as unknown as unknown[]).length = 0;
    expect(p.runHistory(R(1))).toHaveLength(3);
  });

  it("keeps a long history (a run suspended and resumed many times) whole, through refused batches, and trimmed once terminal", () => {
    const { p, task, run, move, apply } = setup();
    task(1, 50);
    run(1);
    move(1, "scheduled", "ready", 1001);
    const expected: string[] = ["scheduled", "ready"];
    for (let i = 0; i < 12; i++) {
      const at = 1002 + i * 10;
      apply({ kind: "runDispatch", timestamp: at, runId: R(1), owner: "w", expiresAt: at + 100, attemptId: A(i + 1) });
      apply({ kind: "runFinish", timestamp: at + 1, runId: R(1), attemptId: A(i + 1), outcome: AttemptOutcome.suspended(), newState: "suspended" });
      // Every third cycle, a batch that would resume and dispatch the run again is refused at its end: nothing of it stays.
      if (i % 3 === 0) {
        const first = p.latestSequence + 1;
        const refused: UnsequencedCommand[] = [
          { kind: "runResume", timestamp: at + 2, runId: R(1) },
          { kind: "runDispatch", timestamp: at + 2, runId: R(1), owner: "w", expiresAt: at + 100, attemptId: A(90) },
          { kind: "runStateTransition", timestamp: at + 2, runId: R(1), previousState: "ready", newState: "completed" },
        ];
        const before = p.runHistory(R(1));
        expect(() => p.applyBatch(refused.map((c, k) => ({ ...c, sequence: first + k })), true)).toThrow();
        expect(p.runHistory(R(1))).toEqual(before);
      }
      apply({ kind: "runResume", timestamp: at + 2, runId: R(1) });
      expected.push("leased", "running", "suspended", "ready");
    }
    apply({ kind: "runDispatch", timestamp: 2000, runId: R(1), owner: "w", expiresAt: 2100, attemptId: A(40) });
    apply({ kind: "runFinish", timestamp: 2001, runId: R(1), attemptId: A(40), outcome: AttemptOutcome.success(), newState: "completed" });
    expected.push("leased", "running", "completed");
    const history = p.runHistory(R(1));
    expect(history.map((h) => h.to)).toEqual(expected);
    expect(history.at(-1)).toEqual({ from: "running", to: "completed", at: 2001 });
    expect(history[3]).toEqual({ from: "leased", to: "running", at: 1002 });
  });

  it("rolls back a refused batch completely: run records, per-task lists, state counts and attempts", () => {
    const { p, task, run, move } = setup();
    task(1);
    run(1);
    move(1, "scheduled", "ready");
    const before = { counts: p.countsByState(), runs: p.runsOfTask(T(1)), history: p.runHistory(R(1)), latest: p.latestSequence };
    const first = p.latestSequence + 1;
    const batch: UnsequencedCommand[] = [
      { kind: "runCreate", timestamp: 1000, run: RunInstance.newScheduled({ id: R(2), taskId: T(1), scheduledAt: 1000, createdAt: 1000 }) },
      { kind: "runStateTransition", timestamp: 1000, runId: R(1), previousState: "ready", newState: "leased" },
      { kind: "runStateTransition", timestamp: 1000, runId: R(1), previousState: "leased", newState: "running" },
      { kind: "attemptStart", timestamp: 1000, runId: R(1), attemptId: A(1) },
      { kind: "taskCancel", timestamp: 1000, taskId: T(1) },
      // Refused: the attempt is still active.
      { kind: "runStateTransition", timestamp: 1000, runId: R(1), previousState: "running", newState: "completed" },
    ];
    expect(() => p.applyBatch(batch.map((c, i) => ({ ...c, sequence: first + i })), true)).toThrow(/attempt/);
    expect(p.countsByState()).toEqual(before.counts);
    expect(p.runsOfTask(T(1))).toEqual(before.runs);
    expect(p.runHistory(R(1))).toEqual(before.history);
    expect(p.attempts(R(1))).toEqual([]);
    expect(p.getRun(R(2))).toBeUndefined();
    expect(p.isTaskCanceled(T(1))).toBe(false);
    expect(p.latestSequence).toBe(before.latest);
  });

  it("refuses a duplicate run or task id whatever its order, also below an id a refused batch left behind", () => {
    const { p, task, run } = setup();
    task(1);
    for (const n of [3, 1, 2]) run(n);
    expect(() => run(2)).toThrow(/already exists/);
    expect(() => run(3)).toThrow(/already exists/);
    expect(() => task(1)).toThrow(/already exists/);
    // A batch that created run 9 and then failed: 9 is gone, 5 and 9 can still be created.
    const first = p.latestSequence + 1;
    expect(() =>
      p.applyBatch(
        [
          { kind: "runCreate", sequence: first, timestamp: 1000, run: RunInstance.newScheduled({ id: R(9), taskId: T(1), scheduledAt: 1000, createdAt: 1000 }) },
          { kind: "runStateTransition", sequence: first + 1, timestamp: 1000, runId: R(9), previousState: "ready", newState: "leased" },
        ],
        true,
      ),
    ).toThrow();
    expect(p.getRun(R(9))).toBeUndefined();
    run(5);
    run(9);
    expect(() => run(5)).toThrow(/already exists/);
    expect(() => run(9)).toThrow(/already exists/);
    expect(p.runsOfTask(T(1))).toEqual([R(1), R(2), R(3), R(5), R(9)]);
  });
});

describe("packed history codes", () => {
  it("code each state by its index in RUN_STATES, the order snapshots and histories are written in", () => {
    expect(RUN_STATES.map((s) => stateCode(s))).toEqual(RUN_STATES.map((_, i) => i));
  });
});
