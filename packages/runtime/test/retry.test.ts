/**
 * Retry cap and attempt lineage: retries never create runs and never exceed
 * maxAttempts; every attempt keeps its own id, outcome, error and output, and
 * that history is identical after a restart. Also the runUntilIdle horizon
 * and backoff timing under a manual clock.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { ActionQueue, TerminalError, exponentialBackoff, fixedBackoff, retryableFailure, success, suspended } from "@actionqueue/runtime";
import type { Handler, HandlerContext, RunView } from "@actionqueue/runtime";
import { deferred, openQueue, results, settle, tempDir, text, waitFor } from "./helpers.js";

/** A handler that plays one scripted behaviour per attempt of each run (by attempt count seen so far). */
function scripted(plan: readonly ((ctx: HandlerContext) => unknown)[]): Handler<never> {
  const calls = new Map<RunId, number>();
  return (ctx) => {
    const n = calls.get(ctx.runId) ?? 0;
    calls.set(ctx.runId, n + 1);
    const step = plan[Math.min(n, plan.length - 1)]!;
    return step(ctx);
  };
}

const fail = (message: string) => (): never => {
  throw new Error(message);
};
/** Never settles by itself; ends only when the attempt's signal aborts. */
const hang = (ctx: HandlerContext): Promise<void> =>
  new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));

async function runOnce(plan: readonly ((ctx: HandlerContext) => unknown)[], maxAttempts: number, extra: { timeoutMs?: number } = {}) {
  const dataDir = tempDir();
  const q = await openQueue({ dataDir, handler: scripted(plan), backoff: fixedBackoff(0) });
  const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts, ...extra } });
  await q.runUntilIdle();
  const run = q.getRun(runIds[0]!)!;
  const stats = q.stats();
  await q.close();
  const reopened = await openQueue({ dataDir, handler: () => undefined });
  expect(reopened.getRun(run.runId), "identical after restart").toEqual(run);
  expect(reopened.stats().runs).toBe(1); // retries never create runs
  await reopened.close();
  return { run, stats };
}

describe("retry cap", () => {
  it("maxAttempts 1, retryable failure: one failure, Failed", async () => {
    const { run } = await runOnce([fail("boom")], 1);
    expect(run.state).toBe("failed");
    expect(results(run)).toEqual(["failure"]);
  });

  it("maxAttempts 3, retryable ×3: three failures, Failed, never a fourth", async () => {
    const { run } = await runOnce([fail("a"), fail("b"), fail("c"), () => "never"], 3);
    expect(run.state).toBe("failed");
    expect(results(run)).toEqual(["failure", "failure", "failure"]);
    expect(run.attempts.map((a) => a.error)).toEqual(["a", "b", "c"]);
    expect(run.history.map((h) => h.to).filter((s) => s === "retryWait")).toHaveLength(2);
  });

  it("maxAttempts 3, timeout ×3: three timeouts, Failed", async () => {
    const { run, stats } = await runOnce([hang], 3, { timeoutMs: 20 });
    expect(run.state).toBe("failed");
    expect(results(run)).toEqual(["timeout", "timeout", "timeout"]);
    expect(run.attempts[0]!.error).toMatch(/timed out/);
    expect(stats.attemptsByResult).toEqual({ success: 0, failure: 0, timeout: 3, suspended: 0 });
  });

  it("a TerminalError (or terminalFailure) fails at once despite attempts left", async () => {
    const { run } = await runOnce([() => {
      throw new TerminalError("bad input");
    }], 5);
    expect(run.state).toBe("failed");
    expect(results(run)).toEqual(["failure"]);
    expect(run.attempts[0]!.error).toBe("bad input");
  });

  it("success first: one attempt, Completed", async () => {
    const { run } = await runOnce([() => undefined], 3);
    expect(run.state).toBe("completed");
    expect(results(run)).toEqual(["success"]);
  });

  it("a repeat task's runs retry independently and the task never gains runs", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: scripted([fail("x"), fail("y"), () => undefined]), backoff: fixedBackoff(0) });
    const { runIds } = await q.submit({ runPolicy: repeatPolicy(3, 1), constraints: { maxAttempts: 2 } });
    await q.runUntilIdle();
    const runs = runIds.map((id) => q.getRun(id)!);
    expect(runs.map((r) => r.state)).toEqual(["failed", "failed", "failed"]);
    expect(runs.map((r) => r.attempts.length)).toEqual([2, 2, 2]);
    expect(q.stats().runs).toBe(3);
  });
});

describe("attempt lineage and outputs", () => {
  it("fail, fail, succeed: three distinct attempts with errors then output, identical after a restart and via inspect", async () => {
    const dataDir = tempDir();
    const q = await openQueue({
      dataDir,
      handler: scripted([
        (ctx) => retryableFailure(`attempt ${ctx.attemptNumber} failed`),
        (ctx) => {
          throw new Error(`attempt ${ctx.attemptNumber} failed`);
        },
        (ctx) => ({ answer: 42, attempt: ctx.attemptNumber, of: ctx.maxAttempts }),
      ]),
      backoff: fixedBackoff(0),
    });
    const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 3 } });
    await q.runUntilIdle();
    const run = q.getRun(runIds[0]!)!;
    expect(run.state).toBe("completed");
    expect(run.attemptCount).toBe(3);
    expect(run.attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3]);
    expect(new Set(run.attempts.map((a) => a.attemptId)).size).toBe(3);
    expect(run.attempts.map((a) => a.error)).toEqual(["attempt 1 failed", "attempt 2 failed", undefined]);
    expect(run.attempts.slice(0, 2).every((a) => a.output === undefined)).toBe(true);
    expect(JSON.parse(text(run.attempts[2]!.output)!)).toEqual({ answer: 42, attempt: 3, of: 3 });
    expect(run.attempts.every((a) => a.finishedAt !== undefined && a.finishedAt >= a.startedAt)).toBe(true);
    expect(run.history.map((h) => h.to)).toEqual([
      "scheduled", "ready", "leased", "running", "retryWait",
      "ready", "leased", "running", "retryWait",
      "ready", "leased", "running", "completed",
    ]);
    await q.close();

    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.getRun(run.runId)).toEqual(run);
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.getRun(run.runId)).toEqual(run);
  });

  it("outputs round-trip as bytes, strings and JSON; a suspended attempt keeps partial output", async () => {
    const dataDir = tempDir();
    const q = await openQueue({
      dataDir,
      handlers: {
        bytes: () => success(new Uint8Array([0, 1, 2, 255])),
        str: () => "plain text ✓",
        json: (ctx: HandlerContext<{ n: number }>) => ({ doubled: ctx.json().n * 2 }),
        none: () => undefined,
        part: () => suspended("half done"),
      },
    });
    const ids: Record<string, RunId> = {};
    for (const name of ["bytes", "str", "json", "none", "part"]) {
      ids[name] = (await q.submit({ name, runPolicy: oncePolicy(), payload: { n: 21 } })).runIds[0]!;
    }
    await q.runUntilIdle();
    const check = (get: (id: RunId) => RunView | undefined): void => {
      expect([...get(ids.bytes!)!.attempts[0]!.output!]).toEqual([0, 1, 2, 255]);
      expect(text(get(ids.str!)!.attempts[0]!.output)).toBe("plain text ✓");
      expect(JSON.parse(text(get(ids.json!)!.attempts[0]!.output)!)).toEqual({ doubled: 42 });
      expect(get(ids.none!)!.attempts[0]!.output).toBeUndefined();
      const part = get(ids.part!)!;
      expect(part.state).toBe("suspended");
      expect(part.attempts[0]).toMatchObject({ result: "suspended" });
      expect(text(part.attempts[0]!.output)).toBe("half done");
    };
    check((id) => q.getRun(id));
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    check((id) => q2.getRun(id));
  });

  it("mixed outcomes timeout, failure, success: three ordered attempts, ids unique across runs", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: scripted([hang, fail("flaky"), () => "ok"]), backoff: fixedBackoff(0) });
    const a = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 3, timeoutMs: 25 } });
    const b = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 3, timeoutMs: 25 } });
    await q.runUntilIdle();
    const runs = [a, b].map((s) => q.getRun(s.runIds[0]!)!);
    for (const run of runs) {
      expect(run.state).toBe("completed");
      expect(results(run)).toEqual(["timeout", "failure", "success"]);
      expect(text(run.attempts[2]!.output)).toBe("ok");
    }
    const all = runs.flatMap((r) => r.attempts.map((x) => x.attemptId));
    expect(new Set(all).size).toBe(6);
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(runs.map((r) => q2.getRun(r.runId))).toEqual(runs);
  });
});

describe("backoff and the runUntilIdle horizon", () => {
  it("a retry waits out its backoff on the clock: nothing runs until the clock reaches the due time", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: Date.UTC(2025, 0, 1) });
    const t0 = clock.now();
    const q = await openQueue({ dataDir, clock, idleHorizonMs: 0, backoff: exponentialBackoff(1_000, 10_000), handler: scripted([fail("1"), fail("2"), () => undefined]) });
    const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 3 } });
    const id = runIds[0]!;
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("retryWait");
    expect(q.explain(id)).toMatchObject({ kind: "retryWait", retryAt: t0 + 1_000, attemptCount: 1 });
    clock.advance(999);
    await q.runUntilIdle();
    expect(q.getRun(id)!.attempts).toHaveLength(1);
    clock.advance(1);
    await q.runUntilIdle();
    expect(q.getRun(id)!.attempts).toHaveLength(2);
    expect(q.explain(id)).toMatchObject({ kind: "retryWait", retryAt: t0 + 1_000 + 2_000 });
    clock.advance(2_000);
    await q.runUntilIdle();
    expect(q.getRun(id)!.state).toBe("completed");
  });

  it("waits for retries and runs due within idleHorizonMs, not for those beyond it", async () => {
    const dataDir = tempDir();
    const started = Date.now();
    const q = await openQueue({
      dataDir,
      idleHorizonMs: 2_000,
      backoff: fixedBackoff(150),
      handler: () => undefined,
      handlers: { flaky: scripted([fail("once"), () => undefined]) },
    });
    const retrying = await q.submit({ name: "flaky", runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } });
    const near = await q.submit({ runPolicy: repeatPolicy(2, 300) }); // second run due in 300 ms
    const far = await q.submit({ runPolicy: repeatPolicy(2, 60_000) }); // second run due in a minute
    await q.runUntilIdle();
    expect(q.getRun(retrying.runIds[0]!)!.state).toBe("completed");
    expect(near.runIds.map((id) => q.getRun(id)!.state)).toEqual(["completed", "completed"]);
    expect(far.runIds.map((id) => q.getRun(id)!.state)).toEqual(["completed", "scheduled"]);
    expect(q.explain(far.runIds[1]!)).toMatchObject({ kind: "scheduled" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a timed-out handler that ignores its signal cannot hold runUntilIdle hostage, and its late result is ignored", async () => {
    const dataDir = tempDir();
    let late = false;
    const release = deferred();
    const q = await openQueue({
      dataDir,
      handler: async () => {
        await release.promise; // ignores its signal; settles only when the test says so
        late = true;
        return "too late";
      },
    });
    const { runIds } = await q.submit({ runPolicy: oncePolicy(), constraints: { timeoutMs: 20 } });
    await q.runUntilIdle();
    const run = q.getRun(runIds[0]!)!;
    expect(late).toBe(false);
    expect(run.state).toBe("failed");
    expect(results(run)).toEqual(["timeout"]);
    release.resolve();
    await waitFor(() => late, "late settle");
    await settle();
    expect(q.getRun(runIds[0]!)).toEqual(run);
  });
});
