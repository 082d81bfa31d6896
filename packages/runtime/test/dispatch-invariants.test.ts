/**
 * Dispatch invariants as a property: for any mix of once/repeat tasks with
 * scripted per-attempt outcomes, the queue creates exactly the implied runs,
 * calls the handler exactly once per durable attempt, never beyond
 * maxAttempts, ends every run in the state the retry table dictates, and
 * reads back the same after a restart.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { oncePolicy, repeatPolicy } from "@actionqueue/core";
import { TerminalError, fixedBackoff } from "@actionqueue/runtime";
import type { HandlerContext } from "@actionqueue/runtime";
import { allRuns, openQueue, tempDir } from "./helpers.js";

type Outcome = "ok" | "retry" | "terminal";

interface TaskPlan {
  readonly count: number; // 0 = once
  readonly maxAttempts: number;
  readonly script: readonly Outcome[];
}

const taskArb: fc.Arbitrary<TaskPlan> = fc.record({
  count: fc.integer({ min: 0, max: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  script: fc.array(fc.constantFrom<Outcome>("ok", "retry", "retry", "terminal"), { minLength: 1, maxLength: 5 }),
});

/** The attempts and final state the retry table implies for a script. */
function expected(plan: TaskPlan): { attempts: number; state: "completed" | "failed" } {
  for (let n = 1; n <= plan.maxAttempts; n += 1) {
    const outcome = plan.script[Math.min(n - 1, plan.script.length - 1)]!;
    if (outcome === "ok") return { attempts: n, state: "completed" };
    if (outcome === "terminal") return { attempts: n, state: "failed" };
  }
  return { attempts: plan.maxAttempts, state: "failed" };
}

describe("dispatch invariants", () => {
  it("hold for random task mixes and outcome scripts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(taskArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 6 }), async (plans, concurrency) => {
        const dataDir = tempDir();
        const calls = new Map<string, number>();
        const handler = (ctx: HandlerContext<{ t: number }>): string => {
          calls.set(ctx.runId, (calls.get(ctx.runId) ?? 0) + 1);
          const plan = plans[ctx.json().t]!;
          const outcome = plan.script[Math.min(ctx.attemptNumber - 1, plan.script.length - 1)]!;
          if (outcome === "retry") throw new Error(`retry ${ctx.attemptNumber}`);
          if (outcome === "terminal") throw new TerminalError("terminal");
          return `ok ${ctx.attemptNumber}`;
        };
        const q = await openQueue({ dataDir, concurrency, backoff: fixedBackoff(0), handler });
        const taskRuns: string[][] = [];
        for (const [t, plan] of plans.entries()) {
          const runPolicy = plan.count === 0 ? oncePolicy() : repeatPolicy(plan.count, 1);
          const { runIds } = await q.submit({ runPolicy, payload: { t }, constraints: { maxAttempts: plan.maxAttempts } });
          taskRuns.push([...runIds]);
        }
        await q.runUntilIdle();
        const runs = allRuns(q);
        expect(runs).toHaveLength(plans.reduce((n, p) => n + Math.max(1, p.count), 0));
        for (const [t, plan] of plans.entries()) {
          const want = expected(plan);
          expect(taskRuns[t]).toHaveLength(Math.max(1, plan.count));
          for (const runId of taskRuns[t]!) {
            const run = q.getRun(runId)!;
            expect(run.state).toBe(want.state);
            expect(run.attempts).toHaveLength(want.attempts);
            expect(calls.get(runId)).toBe(want.attempts);
          }
        }
        await q.close();
        const reopened = await openQueue({ dataDir, handler: () => undefined });
        await reopened.runUntilIdle();
        expect(allRuns(reopened)).toEqual(runs);
        await reopened.close();
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});
