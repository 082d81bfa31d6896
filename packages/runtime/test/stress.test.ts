/**
 * Stress: 10,000 tasks at concurrency 64 — a mix of instant, slow, flaky and
 * keyed handlers — end with every run terminal and none stuck, the handler
 * called exactly once per durable attempt, never above maxAttempts, and the
 * same numbers after a restart.
 */
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { ActionQueue, TerminalError, fixedBackoff } from "@actionqueue/runtime";
import type { HandlerContext, SubmitInput } from "@actionqueue/runtime";
import { allRuns, openQueue, tempDir } from "./helpers.js";

const TASKS = 10_000;
const CONCURRENCY = 64;

describe("stress", () => {
  it(`${TASKS} tasks at concurrency ${CONCURRENCY}: all terminal, none stuck`, async () => {
    const dataDir = tempDir();
    const calls = new Map<RunId, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const keyHolders = new Map<string, number>();
    let keyViolations = 0;
    const q = await openQueue({
      dataDir,
      concurrency: CONCURRENCY,
      backoff: fixedBackoff(0),
      handler: async (ctx: HandlerContext<{ i: number; key?: string }>) => {
        const { i, key } = ctx.json();
        calls.set(ctx.runId, (calls.get(ctx.runId) ?? 0) + 1);
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (key !== undefined) {
          keyHolders.set(key, (keyHolders.get(key) ?? 0) + 1);
          if (keyHolders.get(key)! > 1) keyViolations += 1;
        }
        try {
          if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1 + (i % 5)));
          else await Promise.resolve();
          if (i % 10 === 3 && ctx.attemptNumber < 3) throw new Error("flaky");
          if (i % 97 === 0) throw new Error("always fails");
          return i % 50 === 0 ? { i } : undefined;
        } finally {
          inFlight -= 1;
          if (key !== undefined) keyHolders.set(key, keyHolders.get(key)! - 1);
        }
      },
    });
    const started = Date.now();
    q.start();
    const inputs: SubmitInput[] = [];
    for (let i = 0; i < TASKS; i += 1) {
      const key = i % 20 === 0 ? `k${i % 3}` : undefined;
      inputs.push({
        runPolicy: oncePolicy(),
        payload: key === undefined ? { i } : { i, key },
        constraints: { maxAttempts: 3, ...(key === undefined ? {} : { concurrencyKey: key }) },
      });
    }
    // Submit in concurrent batches while the loop already works.
    for (let i = 0; i < inputs.length; i += 500) await Promise.all(inputs.slice(i, i + 500).map((input) => q.submit(input)));
    await q.runUntilIdle();
    const elapsed = Date.now() - started;

    const stats = q.stats();
    const expectedFailed = Math.floor((TASKS - 1) / 97) + 1;
    expect(stats.runs).toBe(TASKS);
    expect(stats.runsByState).toEqual({
      scheduled: 0,
      ready: 0,
      leased: 0,
      running: 0,
      retryWait: 0,
      suspended: 0,
      completed: TASKS - expectedFailed,
      failed: expectedFailed,
      canceled: 0,
    });
    expect(q.inFlight).toBe(0);
    expect(maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxInFlight).toBeGreaterThan(CONCURRENCY / 4); // the slots are really used
    expect(keyViolations).toBe(0);
    const attempts = stats.attemptsByResult.success + stats.attemptsByResult.failure + stats.attemptsByResult.timeout;
    expect([...calls.values()].reduce((a, b) => a + b, 0)).toBe(attempts); // one handler call per durable attempt
    expect(Math.max(...calls.values())).toBeLessThanOrEqual(3);
    await q.close();
    console.log(`stress: ${TASKS} tasks, ${attempts} attempts in ${elapsed} ms (${Math.round((attempts * 1000) / elapsed)} attempts/s), up to ${maxInFlight} handlers at once`);

    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.stats().runsByState).toEqual(stats.runsByState);
    const runs = allRuns(inspector);
    expect(runs.every((r) => r.attempts.length <= 3 && r.attempts.length === calls.get(r.runId))).toBe(true);
  }, 60_000);

  // The original engine's dispatch shapes: few slots or many, handlers that
  // take a random 1–10 ms or none, and a mix that fails terminally. Each
  // must dispatch every run exactly once and leave none leased or running.
  const shapes = [
    { tasks: 100, concurrency: 4, work: "random 1–10 ms" },
    { tasks: 200, concurrency: 4, work: "instant" },
    { tasks: 100, concurrency: 1, work: "random 1–10 ms" },
    { tasks: 150, concurrency: 8, work: "random 1–10 ms" },
    { tasks: 100, concurrency: 4, work: "success or terminal failure" },
  ] as const;
  it.each(shapes)("$tasks tasks at concurrency $concurrency, $work: one dispatch each, all terminal", async ({ tasks, concurrency, work }) => {
    const calls = new Map<RunId, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const q = await openQueue({
      dataDir: tempDir(),
      concurrency,
      handler: async (ctx: HandlerContext<{ i: number }>) => {
        const { i } = ctx.json();
        calls.set(ctx.runId, (calls.get(ctx.runId) ?? 0) + 1);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          if (work !== "instant") await new Promise((r) => setTimeout(r, 1 + ((i * 7) % 10)));
          if (work === "success or terminal failure" && i % 3 === 0) throw new TerminalError(`task ${i} fails for good`);
        } finally {
          inFlight -= 1;
        }
      },
    });
    q.start();
    await Promise.all(Array.from({ length: tasks }, (_, i) => q.submit({ runPolicy: oncePolicy(), payload: { i }, constraints: { maxAttempts: 3 } })));
    await q.runUntilIdle();
    const stats = q.stats();
    const failed = work === "success or terminal failure" ? Math.ceil(tasks / 3) : 0;
    expect(stats.runsByState).toMatchObject({ leased: 0, running: 0, ready: 0, scheduled: 0, retryWait: 0, completed: tasks - failed, failed });
    expect(calls.size).toBe(tasks);
    expect([...calls.values()].every((n) => n === 1)).toBe(true); // a terminal failure is not retried
    expect(maxInFlight).toBeLessThanOrEqual(concurrency);
    if (concurrency === 1) expect(maxInFlight).toBe(1);
  });
});
