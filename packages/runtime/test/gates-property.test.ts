/**
 * Dispatch gates as a property: for random gate configurations (a global
 * rate limit, a per-name rate limit, a per-name concurrency limit, or two of
 * them), random tasks (names, concurrency keys, retry scripts) and random
 * steps (submit, advance the ManualClock, finish handlers, cancel a run,
 * recheck), on a real queue:
 *   1. no sliding window of `perMs` holds more than `max` starts of a rate-limited key;
 *   2. no more than `max` handlers of a concurrency-limited key run at once;
 *   3. the queue's own concurrency is never exceeded;
 *   4. a ready run no gate limits starts when a slot is free (held runs do not block it);
 *   5. a ready run that did not start is explained legitimately: held by a gate
 *      that would hold it now, its concurrency key held, or waiting for a slot;
 *   6. once handlers are released and the clock moves, every run ends and
 *      `runUntilIdle` resolves.
 * Handlers wait on deferreds the test controls, so the clock never moves
 * between a dispatch and its handler's start: a start's `clock.now()` is the
 * time the gates saw.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "@actionqueue/core";
import { concurrencyLimit, fixedBackoff, rateLimit } from "@actionqueue/runtime";
import type { ActionQueue, DispatchGate, GateCandidate, HandlerContext } from "@actionqueue/runtime";
import { deferred, openQueue, settle, tempDir, waitFor } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 5);
const NAMES = ["a", "b", "c"] as const;
type Name = (typeof NAMES)[number];

type GateSpec =
  | { readonly kind: "globalRate"; readonly max: number; readonly perMs: number }
  | { readonly kind: "nameRate"; readonly max: number; readonly perMs: number; readonly names: readonly Name[] }
  | { readonly kind: "nameConc"; readonly max: number; readonly names: readonly Name[] };

interface TaskPlan {
  readonly name: Name;
  readonly key: "k1" | "k2" | undefined;
  readonly maxAttempts: 1 | 2;
  /** The outcome of attempt n is script[min(n - 1, length - 1)]. */
  readonly script: readonly ("ok" | "throw")[];
}

type Step =
  | { readonly kind: "submit"; readonly tasks: readonly TaskPlan[] }
  | { readonly kind: "advance"; readonly ms: number }
  /** To the next time a rate-limited start leaves its window, plus `delta` ms; `recheck`: then look at every hold again. */
  | { readonly kind: "edge"; readonly delta: -1 | 0 | 1; readonly recheck: boolean }
  | { readonly kind: "finish"; readonly picks: readonly number[] }
  | { readonly kind: "cancel"; readonly pick: number }
  | { readonly kind: "recheck" };

interface Scenario {
  readonly gates: readonly GateSpec[];
  /** Submitted before `start()`: a backlog the first pass meets. */
  readonly initial: readonly TaskPlan[];
  readonly concurrency: number;
  readonly backoffMs: number;
  readonly steps: readonly Step[];
}

const namesArb = fc.subarray([...NAMES], { minLength: 1 });
const perMsArb = fc.constantFrom(500, 1_000);
const gateArbs = {
  globalRate: fc.record({ kind: fc.constant("globalRate" as const), max: fc.integer({ min: 1, max: 3 }), perMs: perMsArb }),
  nameRate: fc.record({ kind: fc.constant("nameRate" as const), max: fc.integer({ min: 1, max: 3 }), perMs: perMsArb, names: namesArb }),
  nameConc: fc.record({ kind: fc.constant("nameConc" as const), max: fc.integer({ min: 1, max: 2 }), names: namesArb }),
};
/** One gate or two of different kinds, in either order. */
const gatesArb: fc.Arbitrary<GateSpec[]> = fc
  .uniqueArray(fc.constantFrom("globalRate" as const, "nameRate" as const, "nameConc" as const), { minLength: 1, maxLength: 2 })
  .chain((kinds) => fc.tuple(...kinds.map((k): fc.Arbitrary<GateSpec> => gateArbs[k])));

const taskArb: fc.Arbitrary<TaskPlan> = fc.record({
  name: fc.constantFrom(...NAMES),
  key: fc.constantFrom(undefined, undefined, undefined, "k1" as const, "k2" as const),
  maxAttempts: fc.constantFrom(1 as const, 2 as const),
  script: fc.array(fc.constantFrom("ok" as const, "ok" as const, "throw" as const), { minLength: 1, maxLength: 2 }),
});

/** Clock moves around the window edges (perMs is 500 or 1000) as well as anywhere in 0–1500 ms. */
const advanceMsArb = fc.oneof(fc.constantFrom(0, 1, 250, 499, 500, 501, 999, 1_000, 1_001, 1_500), fc.integer({ min: 0, max: 1_500 }));

/** A mix of tasks, or a burst of one kind (several runs of a name at once meet the per-name limits). */
const tasksArb: fc.Arbitrary<TaskPlan[]> = fc.oneof(
  fc.array(taskArb, { minLength: 1, maxLength: 5 }),
  fc.tuple(taskArb, fc.integer({ min: 2, max: 4 })).map(([t, n]) => Array.from({ length: n }, () => t)),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("submit" as const), tasks: tasksArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: advanceMsArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("edge" as const), delta: fc.constantFrom(-1 as const, 0 as const, 1 as const), recheck: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("finish" as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.constant({ kind: "recheck" as const }), weight: 1 },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  gates: gatesArb,
  initial: fc.oneof(fc.array(taskArb, { maxLength: 6 }), tasksArb),
  // Small queues more often: full slots and held runs meet more.
  concurrency: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 8 })),
  backoffMs: fc.constantFrom(0, 300),
  steps: fc.array(stepArb, { minLength: 3, maxLength: 14 }),
});

function gateName(spec: GateSpec): string {
  return spec.kind;
}

function toGate(spec: GateSpec): DispatchGate {
  const nameKey = (names: readonly Name[]) => (run: GateCandidate) =>
    run.task.name !== undefined && (names as readonly string[]).includes(run.task.name) ? run.task.name : undefined;
  switch (spec.kind) {
    case "globalRate":
      return rateLimit({ max: spec.max, perMs: spec.perMs, name: gateName(spec) });
    case "nameRate":
      return rateLimit({ max: spec.max, perMs: spec.perMs, by: nameKey(spec.names), name: gateName(spec) });
    case "nameConc":
      return concurrencyLimit({ max: spec.max, by: nameKey(spec.names), name: gateName(spec) });
  }
}

/** The key a gate limits a run of `name` by; undefined: not limited. */
function keyOf(spec: GateSpec, name: Name): string | undefined {
  if (spec.kind === "globalRate") return "";
  return spec.names.includes(name) ? name : undefined;
}

interface Start {
  readonly at: number;
  readonly name: Name;
  readonly runId: string;
}

interface Live {
  readonly name: Name;
  readonly release: () => void;
}

const TERMINAL = new Set(["completed", "failed", "canceled"]);

async function runScenario(sc: Scenario): Promise<void> {
  const clock = new ManualClock({ startMs: T0 });
  const plans: TaskPlan[] = [];
  const starts: Start[] = [];
  /** Handlers started and neither returned nor aborted. */
  const live = new Map<string, Live>();
  const violations: string[] = [];
  const runIds: string[] = [];
  const nameOfRun = new Map<string, Name>();
  let draining = false;

  const handler = async (ctx: HandlerContext<{ t: number }>): Promise<void> => {
    const plan = plans[ctx.json().t]!;
    const at = clock.now();
    // Invariants 2 and 3, at the instant a handler starts.
    if (live.size + 1 > sc.concurrency) violations.push(`queue concurrency ${sc.concurrency} exceeded at ${at - T0} by ${ctx.runId}`);
    for (const spec of sc.gates) {
      if (spec.kind !== "nameConc" || keyOf(spec, plan.name) === undefined) continue;
      const same = [...live.values()].filter((l) => l.name === plan.name).length;
      if (same + 1 > spec.max) violations.push(`concurrencyLimit ${spec.max} of "${plan.name}" exceeded at ${at - T0} by ${ctx.runId}`);
    }
    starts.push({ at, name: plan.name, runId: ctx.runId });
    const d = deferred();
    const entry: Live = { name: plan.name, release: d.resolve };
    live.set(ctx.runId, entry);
    // A cancel frees the place at once (the loop forgets the attempt in the same call).
    ctx.signal.addEventListener("abort", () => {
      if (live.get(ctx.runId) === entry) live.delete(ctx.runId);
      d.resolve();
    });
    if (draining) d.resolve();
    await d.promise;
    if (live.get(ctx.runId) === entry) live.delete(ctx.runId);
    if (ctx.signal.aborted) return;
    const outcome = plan.script[Math.min(ctx.attemptNumber - 1, plan.script.length - 1)]!;
    if (outcome === "throw") throw new Error(`scripted failure of attempt ${ctx.attemptNumber}`);
  };

  const q: ActionQueue = await openQueue({
    dataDir: tempDir("aq-gates-prop-"),
    clock,
    concurrency: sc.concurrency,
    backoff: fixedBackoff(sc.backoffMs),
    gates: sc.gates.map(toGate),
    handler,
  });
  const submit = async (tasks: readonly TaskPlan[]): Promise<void> => {
    for (const plan of tasks) {
      plans.push(plan);
      const { runIds: ids } = await q.submit({
        name: plan.name,
        payload: { t: plans.length - 1 },
        runPolicy: { kind: "once" },
        constraints: { maxAttempts: plan.maxAttempts, ...(plan.key === undefined ? {} : { concurrencyKey: plan.key }) },
      });
      for (const id of ids) {
        runIds.push(id);
        nameOfRun.set(id, plan.name);
      }
    }
  };

  const running = (): number => q.stats().runsByState.running;
  /** Waits until every running run has a live handler and nothing moves any more. */
  const quiesce = async (what: string): Promise<void> => {
    for (let i = 0; i < 2; i++) {
      await settle();
      await waitFor(() => running() === live.size, `${what}: every running run's handler started or finished`, 3_000);
    }
  };

  const startsIn = (spec: GateSpec, key: string): number[] =>
    starts.filter((s) => spec.kind === "globalRate" || s.name === key).map((s) => s.at);

  /** Whether the model of `spec` holds a run of `name` now. */
  const modelHolds = (spec: GateSpec, name: Name, now: number): boolean => {
    const key = keyOf(spec, name);
    if (key === undefined) return false;
    if (spec.kind === "nameConc") return [...live.values()].filter((l) => l.name === name).length >= spec.max;
    return startsIn(spec, key).filter((at) => at > now - spec.perMs).length >= spec.max;
  };

  const check = (where: string): void => {
    if (violations.length > 0) expect.fail(`${where}: ${violations.join("; ")}`);
    const now = clock.now();
    // 1. Rate limits over every sliding window, from the handlers' start times.
    for (const spec of sc.gates) {
      if (spec.kind === "nameConc") continue;
      const keys = spec.kind === "globalRate" ? [""] : spec.names;
      for (const key of keys) {
        const ts = startsIn(spec, key);
        for (let i = 0; i + spec.max < ts.length; i++) {
          if (ts[i + spec.max]! - ts[i]! < spec.perMs) {
            expect.fail(`${where}: ${spec.max + 1} starts of ${spec.kind} key "${key}" within ${spec.perMs} ms: ${ts.slice(i, i + spec.max + 1).map((t) => t - T0).join(", ")}`);
          }
        }
      }
    }
    // 3. (again, at rest) and 4/5: every ready run is explained legitimately.
    expect(live.size, `${where}: handlers in flight`).toBeLessThanOrEqual(sc.concurrency);
    const slotFree = live.size < sc.concurrency;
    for (const run of q.listRuns({ state: "ready", limit: 10_000 }).runs) {
      const name = nameOfRun.get(run.runId)!;
      const e = q.explain(run.runId);
      const ctx = `${where}: ready run ${run.runId} of "${name}" at +${now - T0} (${live.size}/${sc.concurrency} busy) explained ${JSON.stringify(e)}`;
      if (e.kind === "concurrencyKeyHeld") {
        expect(TERMINAL.has(q.getRun(e.heldBy)?.state ?? "completed"), ctx).toBe(false);
        continue;
      }
      const limitedBy = sc.gates.filter((s) => keyOf(s, name) !== undefined);
      if (e.kind === "ready") {
        // Waiting for a slot is legitimate only when every slot is busy.
        if (slotFree) expect.fail(limitedBy.length === 0 ? `${ctx}: starved although no gate limits it (invariant 4)` : `${ctx}: not started with a slot free`);
        continue;
      }
      expect(e.kind, ctx).toBe("gateHeld");
      if (e.kind !== "gateHeld") continue;
      const spec = sc.gates.find((s) => gateName(s) === e.gate);
      expect(spec, `${ctx}: unknown gate`).toBeDefined();
      if (!modelHolds(spec!, name, now)) {
        // Also with every slot busy: a hold whose time came is given back at once (the loop once
        // kept it, and its wake timer fired again and again for the past time, until a slot freed).
        expect.fail(`${ctx}: held by ${e.gate}, which would admit it now`);
      }
      if (spec!.kind !== "nameConc" && slotFree) {
        const ts = startsIn(spec!, keyOf(spec!, name)!);
        expect(e.until, `${ctx}: until`).toBe(ts[ts.length - spec!.max]! + spec!.perMs);
      }
    }
  };

  await submit(sc.initial);
  q.start();
  await quiesce("start");
  check("start");
  for (const [i, step] of sc.steps.entries()) {
    const where = `step ${i} ${JSON.stringify(step)}`;
    switch (step.kind) {
      case "submit":
        await submit(step.tasks);
        break;
      case "advance":
        clock.advance(step.ms);
        break;
      case "edge": {
        // Rate-limit edges are where an off-by-one shows: just before, at, or just after a start leaves its window.
        const now = clock.now();
        const edges = sc.gates.flatMap((g) => (g.kind === "nameConc" ? [] : starts.filter((st) => keyOf(g, st.name) !== undefined).map((st) => st.at + g.perMs + step.delta)));
        const next = Math.min(...edges.filter((t) => t > now));
        if (Number.isFinite(next)) clock.advance(next - now);
        // A pass at the edge itself (a hold's own timer fires only at its end).
        if (step.recheck) q.recheckGates();
        break;
      }
      case "finish": {
        const inFlight = [...live.values()];
        if (inFlight.length === 0) break;
        for (const pick of new Set(step.picks.map((p) => p % inFlight.length))) inFlight[pick]!.release();
        break;
      }
      case "cancel": {
        const open = runIds.filter((id) => !TERMINAL.has(q.getRun(id)!.state));
        if (open.length > 0) await q.cancelRun(open[step.pick % open.length]!);
        break;
      }
      case "recheck":
        q.recheckGates();
        break;
    }
    await quiesce(where);
    check(where);
  }

  // 6. Liveness: release everything, move the clock past every window, and every run ends.
  draining = true;
  const longest = Math.max(1, sc.backoffMs, ...sc.gates.map((s) => (s.kind === "nameConc" ? 1 : s.perMs)));
  for (let round = 0; ; round++) {
    for (const l of [...live.values()]) l.release();
    await quiesce(`drain round ${round}`);
    check(`drain round ${round}`);
    if (runIds.every((id) => TERMINAL.has(q.getRun(id)!.state)) && live.size === 0) break;
    expect(round, `drain: runs still open ${JSON.stringify(runIds.map((id) => q.getRun(id)!.state))}`).toBeLessThan(4 * runIds.length + 10);
    clock.advance(longest);
  }
  let idle = false;
  await Promise.race([q.runUntilIdle().then(() => (idle = true)), waitFor(() => idle, "runUntilIdle", 5_000)]);
  expect(idle, "runUntilIdle resolved").toBe(true);
  // The premise of invariant 1: each handler started at its attempt's (dispatch) time.
  const byRun = new Map<string, number[]>();
  for (const s of starts) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s.at]);
  for (const id of runIds) {
    expect(q.getRun(id)!.attempts.map((a) => a.startedAt), `attempt start times of ${id}`).toEqual(byRun.get(id) ?? []);
  }
  await q.close();
}

describe("dispatch gates (property)", () => {
  it("keep their limits, hold only what they must, and let every run end", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: 50 });
  }, 120_000);
});
