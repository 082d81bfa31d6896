import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attemptId, expectCode, runId, runningRun, taskId } from "../../test/support.js";
import type { AttemptId, RunId, TaskId } from "../ids/ids.js";
import { NIL_ID } from "../ids/ids.js";
import { U32_MAX } from "../task/run-policy.js";
import { RunInstance } from "./run-instance.js";
import { RUN_STATES, TRANSITIONS, isTerminalState } from "./run-state.js";

describe("RunInstance constructors", () => {
  it("newReady rejects scheduledAt after createdAt with both values", () => {
    const r = runId();
    const error = expectCode(
      () => RunInstance.newReady({ id: r, taskId: taskId(), scheduledAt: 2000, createdAt: 1000, priority: 5 }),
      "READY_SCHEDULED_AT_AFTER_CREATED_AT",
    );
    expect(error.details).toEqual({ runId: r, scheduledAt: 2000, createdAt: 1000 });
    expect(error.message).toContain("scheduledAt");
  });

  it("newReady keeps the priority; newScheduled defaults it to 0 and allows future schedules", () => {
    expect(RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 1000, createdAt: 1000, priority: 5 }).effectivePriority).toBe(5);
    const s = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 9000, createdAt: 1000 });
    expect([s.state, s.effectivePriority, s.attemptCount, s.lastStateChangeAt]).toEqual(["scheduled", 0, 0, 1000]);
  });

  it("rejects a nil run id, then a nil task id", () => {
    expectCode(() => RunInstance.newScheduled({ id: NIL_ID as RunId, taskId: NIL_ID as TaskId, scheduledAt: 0, createdAt: 0 }), "INVALID_RUN_ID");
    expectCode(() => RunInstance.newScheduled({ id: runId(), taskId: NIL_ID as TaskId, scheduledAt: 0, createdAt: 0 }), "INVALID_TASK_ID");
    expectCode(() => RunInstance.newReady({ id: NIL_ID as RunId, taskId: taskId(), scheduledAt: 0, createdAt: 0 }), "INVALID_RUN_ID");
  });

  it("rejects bad times and priorities", () => {
    expectCode(() => RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: -1, createdAt: 0 }), "INVALID_TIMESTAMP");
    expectCode(() => RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 1.5 }), "INVALID_TIMESTAMP");
    expectCode(() => RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0, priority: 2 ** 31 }), "INVALID_PRIORITY");
  });

  it("stores ids in canonical form", () => {
    const r = runId();
    const t = taskId();
    const run = RunInstance.newScheduled({ id: r.toLowerCase() as RunId, taskId: t.toLowerCase() as TaskId, scheduledAt: 0, createdAt: 0 });
    expect([run.id, run.taskId]).toEqual([r, t]);
  });
});

describe("RunInstance transitions", () => {
  it("scheduled → running is INVALID_TRANSITION naming both states", () => {
    const run = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0 });
    const error = expectCode(() => run.transitionTo("running"), "INVALID_TRANSITION");
    expect(error.details).toMatchObject({ runId: run.id, from: "scheduled", to: "running" });
    expect(run.state).toBe("scheduled");
  });

  it("leaving running with an active attempt (other than to canceled) is ATTEMPT_IN_PROGRESS", () => {
    for (const to of ["retryWait", "suspended", "completed", "failed"] as const) {
      const run = runningRun();
      const a = attemptId();
      run.startAttempt(a);
      const error = expectCode(() => run.transitionTo(to), "ATTEMPT_IN_PROGRESS");
      expect(error.details).toEqual({ runId: run.id, activeAttemptId: a });
      expect([run.state, run.currentAttemptId]).toEqual(["running", a]);
    }
  });

  it("running → canceled with an active attempt succeeds and drops the attempt", () => {
    const run = runningRun();
    run.startAttempt(attemptId());
    run.transitionTo("canceled");
    expect(run.state).toBe("canceled");
    expect(run.currentAttemptId).toBeUndefined();
    expect(run.attemptCount).toBe(1);
    expect(run.isTerminal).toBe(true);
  });

  it("promoteToReady keeps or replaces the priority", () => {
    const a = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 10, createdAt: 0 });
    a.promoteToReady();
    expect([a.state, a.effectivePriority]).toEqual(["ready", 0]);
    const b = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 10, createdAt: 0 });
    b.promoteToReady(9);
    expect([b.state, b.effectivePriority]).toEqual(["ready", 9]);
  });

  it("promoteToReady from an illegal state or with a bad priority changes nothing", () => {
    const run = runningRun();
    expectCode(() => run.promoteToReady(3), "INVALID_TRANSITION");
    const s = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 10, createdAt: 0 });
    expectCode(() => s.promoteToReady(1.5), "INVALID_PRIORITY");
    expect([s.state, s.effectivePriority]).toEqual(["scheduled", 0]);
  });

  it("setEffectivePriority only while ready", () => {
    const run = RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0 });
    run.setEffectivePriority(-4);
    expect(run.effectivePriority).toBe(-4);
    run.transitionTo("leased");
    const error = expectCode(() => run.setEffectivePriority(1), "PRIORITY_MUTATION_REQUIRES_READY");
    expect(error.details).toEqual({ runId: run.id, currentState: "leased" });
    expect(run.effectivePriority).toBe(-4);
  });

  it("recordStateChangeAt overwrites, and rejects non-timestamps", () => {
    const run = runningRun();
    run.recordStateChangeAt(5000);
    expect(run.lastStateChangeAt).toBe(5000);
    expectCode(() => run.recordStateChangeAt(-1), "INVALID_TIMESTAMP");
    expect(run.lastStateChangeAt).toBe(5000);
  });
});

describe("RunInstance attempts", () => {
  it("startAttempt requires running", () => {
    const run = RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0 });
    const error = expectCode(() => run.startAttempt(attemptId()), "ATTEMPT_START_REQUIRES_RUNNING");
    expect(error.details).toEqual({ runId: run.id, currentState: "ready" });
    expect(run.attemptCount).toBe(0);
  });

  it("startAttempt refuses a second active attempt", () => {
    const run = runningRun();
    const a = attemptId();
    run.startAttempt(a);
    const error = expectCode(() => run.startAttempt(attemptId()), "ATTEMPT_ALREADY_ACTIVE");
    expect(error.details).toEqual({ runId: run.id, activeAttemptId: a });
    expect(run.attemptCount).toBe(1);
  });

  it("startAttempt at the u32 limit is ATTEMPT_COUNT_OVERFLOW", () => {
    const fields = runningRun().toFields();
    const run = RunInstance.restore({ ...fields, attemptCount: U32_MAX });
    const error = expectCode(() => run.startAttempt(attemptId()), "ATTEMPT_COUNT_OVERFLOW");
    expect(error.details).toEqual({ runId: run.id });
    expect(run.currentAttemptId).toBeUndefined();
  });

  it("startAttempt rejects a malformed attempt id", () => {
    const run = runningRun();
    expectCode(() => run.startAttempt("nope" as AttemptId), "INVALID_ID");
    expect(run.attemptCount).toBe(0);
  });

  it("finishAttempt requires running, an active attempt and the same attempt id", () => {
    const ready = RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0 });
    expect(expectCode(() => ready.finishAttempt(attemptId()), "ATTEMPT_FINISH_REQUIRES_RUNNING").details).toEqual({
      runId: ready.id,
      currentState: "ready",
    });
    const run = runningRun();
    expect(expectCode(() => run.finishAttempt(attemptId()), "NO_ACTIVE_ATTEMPT").details).toEqual({ runId: run.id });
    const a = attemptId();
    const b = attemptId();
    run.startAttempt(a);
    const error = expectCode(() => run.finishAttempt(b), "ATTEMPT_OWNERSHIP_MISMATCH");
    expect(error.details).toEqual({ runId: run.id, expectedAttemptId: a, actualAttemptId: b });
    expect(run.currentAttemptId).toBe(a);
    run.finishAttempt(a);
    expect([run.state, run.currentAttemptId, run.attemptCount]).toEqual(["running", undefined, 1]);
  });

  it("walks the normal sequence and counts every started attempt", () => {
    const run = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 1_700_000_000_000, createdAt: 1_699_999_000_000 });
    for (const s of ["ready", "leased", "running"] as const) run.transitionTo(s);
    const a = attemptId();
    run.startAttempt(a);
    run.finishAttempt(a);
    run.transitionTo("suspended");
    run.transitionTo("ready");
    run.transitionTo("leased");
    run.transitionTo("running");
    const b = attemptId();
    run.startAttempt(b);
    run.finishAttempt(b);
    run.transitionTo("completed");
    expect([run.state, run.attemptCount, run.isTerminal]).toEqual(["completed", 2, true]);
  });

  it("clone is detached", () => {
    const run = runningRun();
    const copy = run.clone();
    run.startAttempt(attemptId());
    expect(copy.attemptCount).toBe(0);
  });
});

describe("RunInstance.restore", () => {
  it("rejects an active attempt outside running", () => {
    for (const state of RUN_STATES.filter((s) => s !== "running")) {
      const fields = { ...runningRun().toFields(), state, currentAttemptId: attemptId() };
      expectCode(() => RunInstance.restore(fields), "INVALID_RUN_INSTANCE");
    }
  });

  it("accepts a ready run scheduled after its creation (the Rust decode invariant is false)", () => {
    const run = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 2000, createdAt: 1000 });
    run.promoteToReady();
    expect(RunInstance.restore(run.toFields()).toFields()).toEqual(run.toFields());
  });

  it("rejects unknown states, nil ids and bad counts/priorities", () => {
    const fields = runningRun().toFields();
    expectCode(() => RunInstance.restore({ ...fields, state: "Running" as never }), "INVALID_RUN_INSTANCE");
    expectCode(() => RunInstance.restore({ ...fields, id: NIL_ID as RunId }), "INVALID_RUN_ID");
    expectCode(() => RunInstance.restore({ ...fields, attemptCount: -1 }), "INVALID_RUN_INSTANCE");
    expectCode(() => RunInstance.restore({ ...fields, attemptCount: U32_MAX + 1 }), "INVALID_RUN_INSTANCE");
    expectCode(() => RunInstance.restore({ ...fields, effectivePriority: 2 ** 31 }), "INVALID_RUN_INSTANCE");
    expectCode(() => RunInstance.restore({ ...fields, lastStateChangeAt: Number.NaN }), "INVALID_TIMESTAMP");
  });
});

describe("RunInstance property: random operations", () => {
  type Op = { op: "to"; state: (typeof RUN_STATES)[number] } | { op: "start" } | { op: "finish"; stale: boolean };
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    fc.constantFrom(...RUN_STATES).map<Op>((state) => ({ op: "to", state })),
    fc.constant<Op>({ op: "start" }),
    fc.boolean().map<Op>((stale) => ({ op: "finish", stale })),
  );

  it("never leaves a terminal state, never takes an illegal edge, and a failed operation changes nothing", () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
        const run = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 5, createdAt: 0 });
        let previousCount = 0;
        for (const op of ops) {
          const before = run.toFields();
          try {
            if (op.op === "to") run.transitionTo(op.state);
            else if (op.op === "start") run.startAttempt(attemptId());
            else run.finishAttempt(op.stale || run.currentAttemptId === undefined ? attemptId() : run.currentAttemptId);
            if (op.op === "to") {
              expect(TRANSITIONS[before.state]).toContain(op.state);
              expect(isTerminalState(before.state)).toBe(false);
            } else {
              expect(run.state).toBe(before.state);
            }
          } catch {
            expect(run.toFields()).toEqual(before);
          }
          if (run.state !== "running") expect(run.currentAttemptId).toBeUndefined();
          expect(run.attemptCount).toBeGreaterThanOrEqual(previousCount);
          previousCount = run.attemptCount;
        }
      }),
      { numRuns: 500 },
    );
  });
});
