/**
 * Concurrency keys are enforced by the engine (single flight per key, under
 * both hold policies) and suspended runs wait for resumeRun, across restarts,
 * without using up maxAttempts.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, oncePolicy } from "@actionqueue/core";
import type { ConcurrencyKeyHoldPolicy, RunId } from "@actionqueue/core";
import { exponentialBackoff, fixedBackoff, suspended } from "@actionqueue/runtime";
import type { HandlerContext } from "@actionqueue/runtime";
import { openQueue, results, settle, sleep, tempDir } from "./helpers.js";

describe("concurrency-key single flight", () => {
  it("never runs two attempts of one key at once, while different keys and key-less runs run in parallel", async () => {
    const dataDir = tempDir();
    const running = new Map<string, number>();
    const maxByKey = new Map<string, number>();
    let total = 0;
    let maxTotal = 0;
    const q = await openQueue({
      dataDir,
      concurrency: 8,
      backoff: fixedBackoff(0),
      handler: async (ctx: HandlerContext<{ key: string; fail: boolean }>) => {
        const { key, fail } = ctx.json();
        running.set(key, (running.get(key) ?? 0) + 1);
        maxByKey.set(key, Math.max(maxByKey.get(key) ?? 0, running.get(key)!));
        total += 1;
        maxTotal = Math.max(maxTotal, total);
        await sleep(3);
        running.set(key, running.get(key)! - 1);
        total -= 1;
        if (fail && ctx.attemptNumber === 1) throw new Error("retry me");
      },
    });
    const submitted: RunId[] = [];
    for (let i = 0; i < 12; i += 1) {
      for (const key of ["a", "b", "none"]) {
        const constraints = key === "none" ? { maxAttempts: 2 } : { concurrencyKey: key, maxAttempts: 2 };
        const { runIds } = await q.submit({ runPolicy: oncePolicy(), payload: { key, fail: i % 3 === 0 }, constraints });
        submitted.push(...runIds);
      }
    }
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(36);
    expect(maxByKey.get("a")).toBe(1);
    expect(maxByKey.get("b")).toBe(1);
    expect(maxByKey.get("none")!).toBeGreaterThan(1);
    expect(maxTotal).toBeGreaterThan(2);
  });

  for (const policy of ["holdDuringRetry", "releaseOnRetry"] as ConcurrencyKeyHoldPolicy[]) {
    it(`a retrying holder ${policy === "holdDuringRetry" ? "keeps" : "frees"} its key (${policy})`, async () => {
      const dataDir = tempDir();
      const clock = new ManualClock();
      const order: string[] = [];
      let aCalls = 0;
      const q = await openQueue({
        dataDir,
        clock,
        idleHorizonMs: 0,
        backoff: fixedBackoff(10_000),
        handlers: {
          a: () => {
            order.push(`a${++aCalls}`);
            if (aCalls === 1) throw new Error("first try fails");
          },
          b: () => void order.push("b"),
        },
      });
      const constraints = { concurrencyKey: "k", concurrencyKeyHoldPolicy: policy, maxAttempts: 2 };
      const a = (await q.submit({ name: "a", runPolicy: oncePolicy(), constraints })).runIds[0]!;
      const b = (await q.submit({ name: "b", runPolicy: oncePolicy(), constraints })).runIds[0]!;
      await q.runUntilIdle();
      expect(q.getRun(a)!.state).toBe("retryWait");
      if (policy === "holdDuringRetry") {
        expect(q.getRun(b)!.state).toBe("ready");
        expect(q.explain(b)).toMatchObject({ kind: "concurrencyKeyHeld", key: "k", heldBy: a });
        expect(order).toEqual(["a1"]);
      } else {
        expect(q.getRun(b)!.state).toBe("completed");
        expect(order).toEqual(["a1", "b"]);
      }
      clock.advance(10_000);
      await q.runUntilIdle();
      expect([q.getRun(a)!.state, q.getRun(b)!.state]).toEqual(["completed", "completed"]);
      expect(order).toEqual(policy === "holdDuringRetry" ? ["a1", "a2", "b"] : ["a1", "b", "a2"]);
    });

    it(`a suspended holder ${policy === "holdDuringRetry" ? "keeps" : "frees"} its key (${policy}), also after a restart`, async () => {
      const dataDir = tempDir();
      const handlers = { a: () => suspended("waiting for approval"), b: () => undefined };
      const constraints = { concurrencyKey: "k", concurrencyKeyHoldPolicy: policy };
      const q = await openQueue({ dataDir, handlers });
      const a = (await q.submit({ name: "a", runPolicy: oncePolicy(), constraints })).runIds[0]!;
      await q.runUntilIdle();
      const b = (await q.submit({ name: "b", runPolicy: oncePolicy(), constraints })).runIds[0]!;
      await q.runUntilIdle();
      expect(q.getRun(a)!.state).toBe("suspended");
      expect(q.getRun(b)!.state).toBe(policy === "holdDuringRetry" ? "ready" : "completed");
      await q.close();

      const q2 = await openQueue({ dataDir, handlers });
      await q2.runUntilIdle();
      expect(q2.getRun(a)!.state).toBe("suspended");
      expect(q2.getRun(b)!.state).toBe(policy === "holdDuringRetry" ? "ready" : "completed");
      if (policy === "holdDuringRetry") expect(q2.explain(b)).toMatchObject({ kind: "concurrencyKeyHeld", heldBy: a });
      await q2.cancelRun(a); // freeing the key lets b run
      await q2.runUntilIdle();
      expect(q2.getRun(b)!.state).toBe("completed");
    });
  }
});

describe("key release on every terminal path", () => {
  it("a retry-waiting holder that is canceled frees its key under holdDuringRetry (no leak)", async () => {
    const clock = new ManualClock();
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      idleHorizonMs: 0,
      backoff: fixedBackoff(60_000),
      handlers: { a: () => Promise.reject(new Error("fails")), b: () => undefined },
    });
    const constraints = { concurrencyKey: "k", maxAttempts: 3 };
    const a = (await q.submit({ name: "a", runPolicy: oncePolicy(), constraints })).runIds[0]!;
    const b = (await q.submit({ name: "b", runPolicy: oncePolicy(), constraints })).runIds[0]!;
    await q.runUntilIdle();
    expect([q.getRun(a)!.state, q.getRun(b)!.state]).toEqual(["retryWait", "ready"]);
    await q.cancelRun(a);
    await q.runUntilIdle();
    expect(q.getRun(b)!.state).toBe("completed");
  });
});

describe("suspend and resume", () => {
  it("suspensions do not inflate the exponential backoff of a later failure", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      idleHorizonMs: 0,
      backoff: exponentialBackoff(1_000, 60_000),
      handler: () => {
        calls += 1;
        if (calls <= 2) return suspended();
        if (calls === 3) throw new Error("first real failure");
        return "ok";
      },
    });
    const id = (await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } })).runIds[0]!;
    for (let i = 0; i < 2; i += 1) {
      await q.runUntilIdle();
      await q.resumeRun(id);
    }
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("retryWait");
    // Counted attempts: 1 (the suspensions do not count), so the delay is the base, not 4 s.
    expect(q.explain(id)).toMatchObject({ kind: "retryWait", retryAt: clock.now() + 1_000 });
    clock.advance(1_000);
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("completed");
    expect(results(q.getRun(id))).toEqual(["suspended", "suspended", "failure", "success"]);
  });


  it("a suspended run waits (runUntilIdle does not), resumes with resumeRun, and suspensions do not use maxAttempts", async () => {
    const dataDir = tempDir();
    let calls = 0;
    const handler = (ctx: HandlerContext): unknown => {
      calls += 1;
      return calls <= 2 ? suspended(`paused at step ${calls}`) : { finishedOnAttempt: ctx.attemptNumber };
    };
    const q = await openQueue({ dataDir, handler });
    const events: string[] = [];
    for (const name of ["run:suspended", "run:resumed", "run:completed"] as const) q.on(name, () => events.push(name));
    const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 1 } });
    const id = runIds[0]!;
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("suspended");
    expect(q.explain(id)).toMatchObject({ kind: "suspended" });
    await q.resumeRun(id);
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("suspended");
    await q.close();

    const q2 = await openQueue({ dataDir, handler });
    q2.on("run:resumed", () => events.push("run:resumed"));
    q2.on("run:completed", () => events.push("run:completed"));
    await q2.runUntilIdle();
    expect(q2.getRun(id)!.state).toBe("suspended");
    expect(calls).toBe(2);
    await q2.resumeRun(id);
    await q2.runUntilIdle();
    await settle();
    const run = q2.getRun(id)!;
    expect(run.state).toBe("completed"); // maxAttempts 1, yet two suspensions before it
    expect(results(run)).toEqual(["suspended", "suspended", "success"]);
    expect(run.history.map((h) => h.to).filter((s) => s === "suspended")).toHaveLength(2);
    expect(events).toEqual(["run:suspended", "run:resumed", "run:suspended", "run:resumed", "run:completed"]);
  });
});
