import { createIdFactory, ManualClock } from "@actionqueue/core";
import type { RunState, TaskId } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { ConcurrencyKeyGate, buildKeyGate, holdsConcurrencyKey, keyLifecycleAction } from "./key-gate.js";

const ids = createIdFactory(new ManualClock());

describe("key gate table", () => {
  it("acquire: free, re-entrant, occupied (unchanged)", () => {
    const gate = new ConcurrencyKeyGate();
    const a = ids.runId();
    const b = ids.runId();
    expect(gate.acquire("k", a)).toEqual({ kind: "acquired" });
    expect(gate.acquire("k", a)).toEqual({ kind: "acquired" });
    expect(gate.acquire("k", b)).toEqual({ kind: "occupied", holder: a });
    expect(gate.holderOf("k")).toBe(a);
  });
  it("release: holder releases; other or free is notHeld, unchanged", () => {
    const gate = new ConcurrencyKeyGate();
    const a = ids.runId();
    const b = ids.runId();
    expect(gate.release("k", a)).toBe("notHeld");
    gate.acquire("k", a);
    expect(gate.release("k", b)).toBe("notHeld");
    expect(gate.holderOf("k")).toBe(a);
    expect(gate.release("k", a)).toBe("released");
    expect(gate.holderOf("k")).toBeUndefined();
  });
  it("keys are independent; one run may hold several; releasing one keeps the others", () => {
    const gate = new ConcurrencyKeyGate();
    const a = ids.runId();
    const b = ids.runId();
    expect(gate.acquire("k1", a).kind).toBe("acquired");
    expect(gate.acquire("k2", b).kind).toBe("acquired");
    expect(gate.acquire("k3", a).kind).toBe("acquired");
    gate.release("k1", a);
    expect(gate.holderOf("k3")).toBe(a);
    expect(gate.size).toBe(2);
  });
  it("a 3-run cycle serialises", () => {
    const gate = new ConcurrencyKeyGate();
    const [a, b, c] = [ids.runId(), ids.runId(), ids.runId()];
    const order: string[] = [];
    const pending = [a, b, c];
    while (pending.length > 0) {
      const winners = pending.filter((r) => gate.acquire("k", r).kind === "acquired");
      expect(winners).toHaveLength(1);
      order.push(winners[0]!);
      gate.release("k", winners[0]!);
      pending.splice(pending.indexOf(winners[0]!), 1);
    }
    expect(order).toEqual([a, b, c]);
  });
});

describe("key lifecycle (derived from state)", () => {
  const s = (state: RunState, attemptCount = 1) => ({ state, attemptCount });
  it("ready → leased acquires; running → completed releases; scheduled → ready nothing", () => {
    expect(keyLifecycleAction(s("ready", 0), s("leased", 0), "holdDuringRetry")).toBe("acquire");
    expect(keyLifecycleAction(s("leased"), s("running"), "holdDuringRetry")).toBe("none");
    expect(keyLifecycleAction(s("running"), s("completed"), "holdDuringRetry")).toBe("release");
    expect(keyLifecycleAction(s("scheduled", 0), s("ready", 0), "releaseOnRetry")).toBe("none");
  });
  it("hold keeps on retryWait / suspended; releaseOnRetry releases", () => {
    expect(keyLifecycleAction(s("running"), s("retryWait"), "holdDuringRetry")).toBe("none");
    expect(keyLifecycleAction(s("running"), s("suspended"), "holdDuringRetry")).toBe("none");
    expect(keyLifecycleAction(s("running"), s("retryWait"), "releaseOnRetry")).toBe("release");
    expect(keyLifecycleAction(s("running"), s("suspended"), "releaseOnRetry")).toBe("release");
  });
  it("suspended → canceled releases under hold; retryWait → failed / canceled releases under hold (Gap 4 fixed)", () => {
    expect(keyLifecycleAction(s("suspended"), s("canceled"), "holdDuringRetry")).toBe("release");
    expect(keyLifecycleAction(s("retryWait"), s("failed"), "holdDuringRetry")).toBe("release");
    expect(keyLifecycleAction(s("retryWait"), s("canceled"), "holdDuringRetry")).toBe("release");
  });
  it("a retry back in ready keeps its key under hold only", () => {
    expect(holdsConcurrencyKey(s("ready", 1), "holdDuringRetry")).toBe(true);
    expect(holdsConcurrencyKey(s("ready", 1), "releaseOnRetry")).toBe(false);
    expect(holdsConcurrencyKey(s("ready", 0), "holdDuringRetry")).toBe(false);
  });
  it("the gate is rebuilt from durable state; active runs win a conflict (Gap 4: not memory-only)", () => {
    const [t1, t2, t3] = [ids.taskId(), ids.taskId(), ids.taskId()];
    const tasks = new Map<TaskId, { concurrencyKey?: string; concurrencyKeyHoldPolicy: "holdDuringRetry" | "releaseOnRetry" }>([
      [t1, { concurrencyKey: "k", concurrencyKeyHoldPolicy: "holdDuringRetry" }],
      [t2, { concurrencyKey: "j", concurrencyKeyHoldPolicy: "releaseOnRetry" }],
      [t3, { concurrencyKeyHoldPolicy: "holdDuringRetry" }],
    ]);
    const waiting = { id: ids.runId(), taskId: t1, state: "retryWait" as const, attemptCount: 1 };
    const running = { id: ids.runId(), taskId: t1, state: "running" as const, attemptCount: 1 };
    const released = { id: ids.runId(), taskId: t2, state: "retryWait" as const, attemptCount: 1 };
    const keyless = { id: ids.runId(), taskId: t3, state: "running" as const, attemptCount: 1 };
    const { gate, conflicts } = buildKeyGate([waiting, running, released, keyless], (t) => tasks.get(t));
    expect(gate.holderOf("k")).toBe(running.id);
    expect(gate.holderOf("j")).toBeUndefined();
    expect(gate.size).toBe(1);
    expect(conflicts).toEqual([{ key: "k", holder: running.id, runId: waiting.id }]);
  });
});
