import { ActionQueueError, createIdFactory, ManualClock, RunInstance } from "@actionqueue/core";
import type { DurabilityPolicy, MutationAuthority, MutationCommand, MutationOutcome, TaskId } from "@actionqueue/core";
import { exponentialBackoff, fixedBackoff } from "@actionqueue/executor-local";
import { describe, expect, it } from "vitest";
import { buildPromotionCommands, promoteRetryWaitRuns, promoteScheduledRuns, submitDuePromotions } from "./promotion.js";
import { Scheduler } from "./scheduler.js";

const ids = createIdFactory(new ManualClock());
const taskId = ids.taskId();

function scheduled(scheduledAt: number, t: TaskId = taskId): RunInstance {
  return RunInstance.newScheduled({ id: ids.runId(), taskId: t, scheduledAt, createdAt: 0, priority: 4 });
}

function retryWait(lastStateChangeAt: number, attemptCount: number): RunInstance {
  return RunInstance.restore({
    id: ids.runId(),
    taskId,
    state: "retryWait",
    attemptCount,
    createdAt: 0,
    scheduledAt: 0,
    effectivePriority: 0,
    lastStateChangeAt,
  });
}

/** A minimal in-memory authority: checks sequences, records commands. */
class FakeAuthority implements MutationAuthority {
  readonly log: MutationCommand[] = [];
  failNext = false;
  #latest: number;
  constructor(latest = 0) {
    this.#latest = latest;
  }
  async submitCommand(command: MutationCommand, durability: DurabilityPolicy): Promise<MutationOutcome> {
    return (await this.submitBatch([command], durability))[0]!;
  }
  submitBatch(commands: readonly MutationCommand[], _d: DurabilityPolicy): Promise<readonly MutationOutcome[]> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new ActionQueueError("COMMAND_REJECTED", "refused"));
    }
    const out: MutationOutcome[] = [];
    for (const c of commands) {
      if (c.sequence !== this.#latest + 1) return Promise.reject(new Error(`sequence ${c.sequence}, expected ${this.#latest + 1}`));
      this.#latest = c.sequence;
      this.log.push(c);
      out.push({ sequence: c.sequence, applied: { kind: "noOp" } });
    }
    return Promise.resolve(out);
  }
  latestSequence(): number {
    return this.#latest;
  }
}

describe("Scheduled → Ready (pure)", () => {
  it("past and equal promoted, future kept, fields preserved, empty ok", () => {
    const past = scheduled(900);
    const equal = scheduled(1_000);
    const future = scheduled(1_100);
    const { promoted, remaining } = promoteScheduledRuns([future, past, equal], 1_000);
    expect(promoted.map((r) => r.id)).toEqual([past.id, equal.id]);
    expect(remaining).toEqual([future]);
    expect(promoted[0]!.toFields()).toEqual({ ...past.toFields(), state: "ready" });
    expect(past.state).toBe("scheduled");
    expect(promoteScheduledRuns([], 5)).toEqual({ promoted: [], remaining: [] });
  });
  it("clock MAX promotes a run at MAX; MAX − 1 does not", () => {
    const r = scheduled(Number.MAX_SAFE_INTEGER);
    expect(promoteScheduledRuns([r], Number.MAX_SAFE_INTEGER - 1).promoted).toEqual([]);
    expect(promoteScheduledRuns([r], Number.MAX_SAFE_INTEGER).promoted).toHaveLength(1);
  });
});

describe("RetryWait → Ready (pure)", () => {
  it("fixed 30 s entered at 970 s: waits at 999 s, promoted at 1000 s; zero delay immediate", () => {
    const r = retryWait(970_000, 1);
    expect(promoteRetryWaitRuns([r], 999_000, fixedBackoff(30_000)).promoted).toEqual([]);
    expect(promoteRetryWaitRuns([r], 1_000_000, fixedBackoff(30_000)).promoted).toHaveLength(1);
    expect(promoteRetryWaitRuns([r], 970_000, fixedBackoff(0)).promoted).toHaveLength(1);
  });
  it("exponential base 10 ms: attempt 1 due at 1010, attempt 2 at 1020; suspended attempts do not grow it", () => {
    const s = exponentialBackoff(10, 1_000);
    const a1 = retryWait(1_000, 1);
    const a2 = retryWait(1_000, 2);
    expect(promoteRetryWaitRuns([a1, a2], 1_010, s).promoted.map((r) => r.id)).toEqual([a1.id]);
    expect(promoteRetryWaitRuns([a1, a2], 1_020, s).promoted).toHaveLength(2);
    expect(promoteRetryWaitRuns([a2], 1_010, s, () => 1).promoted).toHaveLength(1);
  });
  it("with full jitter, promotes exactly when the scheduler says the retry is due", () => {
    const backoff = fixedBackoff(10_000, { jitter: "full" });
    const runs = Array.from({ length: 20 }, () => retryWait(1_000, 1));
    const scheduler = new Scheduler({ backoff });
    scheduler.setTask({ id: taskId, constraints: { concurrencyKeyHoldPolicy: "holdDuringRetry" } });
    for (const r of runs) {
      scheduler.onRunChanged(r);
      const due = scheduler.retryDueAt(r.id)!;
      expect(promoteRetryWaitRuns([r], due - 1, backoff).promoted).toEqual([]);
      expect(promoteRetryWaitRuns([r], due, backoff).promoted).toHaveLength(1);
    }
  });
  it("empty ok; a non-retryWait input is an invalid transition", () => {
    expect(promoteRetryWaitRuns([], 0, fixedBackoff(1))).toEqual({ promoted: [], remaining: [] });
    expect(() => promoteRetryWaitRuns([scheduled(0)], 0, fixedBackoff(1))).toThrow(/retryWait/);
  });
});

describe("authority-mediated promotion", () => {
  it("one command with sequence latest + 1 for the due run; the MAX-scheduled run remains", async () => {
    const authority = new FakeAuthority(6);
    const s = new Scheduler();
    s.setTask({ id: taskId, constraints: { concurrencyKeyHoldPolicy: "holdDuringRetry" } });
    const due = scheduled(1_000);
    const later = scheduled(Number.MAX_SAFE_INTEGER);
    s.onRunChanged(due);
    s.onRunChanged(later);
    const report = await submitDuePromotions(s, 1_000, authority);
    expect(report.promoted.map((r) => r.id)).toEqual([due.id]);
    expect(authority.log).toEqual([
      { kind: "runStateTransition", sequence: 7, timestamp: 1_000, runId: due.id, previousState: "scheduled", newState: "ready" },
    ]);
    expect(s.get(due.id)?.state).toBe("ready");
    expect(s.get(due.id)?.lastStateChangeAt).toBe(1_000);
    expect(s.count("scheduled")).toBe(1);
    expect(s.selectNext(5).map((r) => r.id)).toEqual([due.id]);
  });
  it("scheduled and retry promotions share one batch with consecutive sequences", async () => {
    const authority = new FakeAuthority();
    const s = new Scheduler({ backoff: fixedBackoff(10) });
    s.setTask({ id: taskId, constraints: { concurrencyKeyHoldPolicy: "holdDuringRetry" } });
    const a = scheduled(5);
    const b = retryWait(0, 1);
    s.onRunChanged(a);
    s.onRunChanged(b);
    await submitDuePromotions(s, 10, authority);
    expect(authority.log.map((c) => [c.sequence, c.kind === "runStateTransition" && c.previousState])).toEqual([
      [1, "scheduled"],
      [2, "retryWait"],
    ]);
    expect(s.count("ready")).toBe(2);
  });
  it("a refused batch changes nothing and names the runs; the runs stay claimable", async () => {
    const authority = new FakeAuthority();
    authority.failNext = true;
    const s = new Scheduler();
    s.setTask({ id: taskId, constraints: { concurrencyKeyHoldPolicy: "holdDuringRetry" } });
    const a = scheduled(5);
    s.onRunChanged(a);
    const err = await submitDuePromotions(s, 10, authority).catch((e: unknown) => e);
    expect(ActionQueueError.is(err) && err.message).toContain(a.id);
    expect(s.get(a.id)?.state).toBe("scheduled");
    await submitDuePromotions(s, 10, authority);
    expect(s.get(a.id)?.state).toBe("ready");
  });
  it("sequence overflow is an error before submission", () => {
    expect(() => buildPromotionCommands([scheduled(0), scheduled(0)], Number.MAX_SAFE_INTEGER, 0)).toThrow(/overflow/);
  });
});
