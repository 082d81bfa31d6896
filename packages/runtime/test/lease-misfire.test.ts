/**
 * Leases and misfire. A lease held by a process that is gone is expired at
 * start-up (the uncertainty clause): a Leased run becomes Ready, a Running
 * run's open attempt is closed as abandoned and counted, and the run goes
 * through the retry table. A live attempt's lease is heartbeated on the
 * queue's clock. Repeat runs missed during downtime follow their misfire policy.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, createIdFactory, cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { MisfirePolicy, MutationCommand, RunId, RunState } from "@actionqueue/core";
import { ABANDONED_ATTEMPT_MESSAGE, openStorage } from "@actionqueue/storage";
import { ActionQueue, fixedBackoff } from "@actionqueue/runtime";
import { deferred, openQueue, path, results, settle, tempDir, waitFor } from "./helpers.js";

/** Writes, as a crashed worker "dead-host" would have, a lease (and optionally a started attempt) on `runId`. */
async function leaseAsDeadWorker(dataDir: string, runId: RunId, alsoStart: boolean, clock: ManualClock): Promise<string> {
  const storage = await openStorage({ dataDir, clock, reconcile: false }); // a raw writer: no start-up reconciliation
  const attemptId = createIdFactory(clock).attemptId();
  const now = clock.now();
  let seq = storage.authority.latestSequence();
  const tr = (previousState: RunState, newState: RunState): MutationCommand => ({
    kind: "runStateTransition",
    sequence: ++seq,
    timestamp: now,
    runId,
    previousState,
    newState,
  });
  const commands: MutationCommand[] = [
    ...(storage.projection.runState(runId) === "scheduled" ? [tr("scheduled", "ready")] : []),
    tr("ready", "leased"),
    { kind: "leaseAcquire", sequence: ++seq, timestamp: now, runId, owner: "dead-host", expiresAt: now + 30_000, attemptId },
  ];
  if (alsoStart) commands.push(tr("leased", "running"), { kind: "attemptStart", sequence: ++seq, timestamp: now, runId, attemptId });
  try {
    await storage.authority.submitBatch(commands, "immediate");
  } finally {
    await storage.close();
  }
  return attemptId;
}

describe("lease expiry", () => {
  it("a Leased run of a dead owner is shown leased, then expired at start-up and completed with one attempt", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, handler: () => undefined });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.close();
    await leaseAsDeadWorker(dataDir, runIds[0]!, false, clock);

    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.getRun(runIds[0]!)).toMatchObject({ state: "leased", lease: { owner: "dead-host", expiresAt: clock.now() + 30_000 } });
    expect(inspector.explain(runIds[0]!)).toMatchObject({ kind: "leased", owner: "dead-host" });

    clock.advance(1_000);
    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => "ok" });
    expect(q2.recoveryReport.reconciledRuns).toEqual([{ runId: runIds[0], from: "leased", to: "ready" }]);
    const expired: string[] = [];
    q2.on("lease:expired", (e) => expired.push(e.runId)); // held back until the loop starts, so this hears it
    await q2.runUntilIdle();
    expect(expired).toEqual([runIds[0]]);
    const run = q2.getRun(runIds[0]!)!;
    expect(run.state).toBe("completed");
    expect(run.lease).toBeUndefined();
    expect(results(run)).toEqual(["success"]);
    expect(path(run)).toEqual(["scheduled", "ready", "leased", "ready", "leased", "running", "completed"]); // ready → leased → (expired) ready
    await q2.close();
    const q3 = await openQueue({ dataDir, clock, handler: () => undefined });
    expect(q3.getRun(run.runId)).toEqual(run); // expiry is durable: no phantom state
    expect(q3.stats().runs).toBe(1);
  });

  it("a Running run of a dead owner gets its attempt closed as abandoned (counted) and is retried; both attempts survive a restart", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const q = await openQueue({ dataDir, clock, handler: () => undefined });
    const twice = (await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } })).runIds[0]!;
    const single = (await q.submit({ runPolicy: oncePolicy(), constraints: { maxAttempts: 1 } })).runIds[0]!;
    await q.close();
    const abandoned = await leaseAsDeadWorker(dataDir, twice, true, clock);
    await leaseAsDeadWorker(dataDir, single, true, clock);

    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, backoff: fixedBackoff(0), handler: () => "ok" });
    expect(q2.recoveryReport.reconciledRuns.map((r) => [r.runId, r.from, r.to])).toEqual([
      [twice, "running", "retryWait"],
      [single, "running", "failed"],
    ]);
    await q2.runUntilIdle();
    const run = q2.getRun(twice)!;
    expect(run.state).toBe("completed");
    expect(run.attempts.map((a) => [a.result, a.error])).toEqual([
      ["failure", ABANDONED_ATTEMPT_MESSAGE],
      ["success", undefined],
    ]);
    expect(run.attempts[0]!.attemptId).toBe(abandoned);
    expect(q2.getRun(single)!.state).toBe("failed"); // no attempt left: never run again
    expect(q2.getRun(single)!.attempts).toHaveLength(1);
    await q2.close();
    const q3 = await openQueue({ dataDir, clock, handler: () => undefined });
    expect(q3.getRun(twice)).toEqual(run);
  });

  it("a live attempt's lease is heartbeated on the queue's clock and released when the attempt ends", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const release = deferred();
    let called = false;
    const q = await openQueue({
      dataDir,
      clock,
      leaseTimeoutMs: 3_000,
      handler: () => {
        called = true;
        return release.promise;
      },
    });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    const id = runIds[0]!;
    q.start();
    await waitFor(() => called, "handler called"); // heartbeats cover attempts whose handler runs
    const first = q.getRun(id)!.lease!.expiresAt;
    expect(first).toBe(clock.now() + 3_000);
    let last = first;
    for (let i = 0; i < 6; i += 1) {
      clock.advance(1_000);
      await settle();
      const lease = q.getRun(id)!.lease!;
      expect(lease.expiresAt).toBeGreaterThan(clock.now()); // never lapses while the handler works
      expect(lease.expiresAt).toBeGreaterThanOrEqual(last);
      last = lease.expiresAt;
    }
    expect(last).toBeGreaterThan(first);
    release.resolve();
    await q.runUntilIdle();
    const run = q.getRun(id)!;
    expect(run.state).toBe("completed");
    expect(run.lease).toBeUndefined();
    expect(run.attempts).toHaveLength(1);
  });
});

describe("misfire after downtime", () => {
  const T0 = Date.UTC(2025, 5, 1);
  const cases: [string, MisfirePolicy | undefined, number][] = [
    ["catchUp (default)", undefined, 5],
    ["catchUp maxRuns 2", { kind: "catchUp", maxRuns: 2 }, 2],
    ["skip", { kind: "skip" }, 0],
    ["coalesce", { kind: "coalesce" }, 1],
  ];
  for (const [label, misfire, expectedRuns] of cases) {
    it(`${label}: of 5 missed runs, ${expectedRuns} run and the rest are canceled`, async () => {
      const dataDir = tempDir();
      const clock = new ManualClock({ startMs: T0 });
      const calls: RunId[] = [];
      const q = await openQueue({ dataDir, clock, handler: (ctx) => void calls.push(ctx.runId) });
      const { runIds } = await q.submit({ runPolicy: repeatPolicy(5, 1_000, misfire) });
      await q.close(); // never started: all five are missed

      clock.set(T0 + 3_600_000); // an hour of downtime
      const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: (ctx) => void calls.push(ctx.runId) });
      const canceledEvents: RunId[] = [];
      q2.on("run:canceled", (e) => void canceledEvents.push(e.runId));
      await q2.runUntilIdle();
      const states = runIds.map((id) => q2.getRun(id)!.state);
      // Misfire cancellations at start-up are reported like any other cancellation.
      expect(canceledEvents.sort()).toEqual(runIds.filter((_, i) => states[i] === "canceled").sort());
      expect(states.filter((s) => s === "completed")).toHaveLength(expectedRuns);
      expect(states.filter((s) => s === "canceled")).toHaveLength(5 - expectedRuns);
      expect(calls).toHaveLength(expectedRuns);
      // The newest occurrences are the ones kept.
      expect(states.slice(5 - expectedRuns).every((s) => s === "completed")).toBe(true);
      expect(q2.stats().runs).toBe(5); // nothing re-derived
      await q2.close();
      const q3 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: (ctx) => void calls.push(ctx.runId) });
      await q3.runUntilIdle();
      expect(runIds.map((id) => q3.getRun(id)!.state)).toEqual(states);
      expect(calls).toHaveLength(expectedRuns);
    });
  }

  it("a queue that is never started promotes nothing, however long it stays open: the policy judges every missed run", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: T0 });
    const q = await openQueue({ dataDir, clock, handler: () => undefined });
    const readyEvents: RunId[] = [];
    q.on("run:ready", (e) => void readyEvents.push(e.runId));
    const { runIds } = await q.submit({ runPolicy: repeatPolicy(3, 1_000, { kind: "skip" }) });
    // Well past the loop's next passes (it used to promote the first, already due run here).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runIds.map((id) => q.getRun(id)!.state)).toEqual(["scheduled", "scheduled", "scheduled"]);
    expect(q.explain(runIds[0]!)).toMatchObject({ kind: "ready" }); // due: it goes as soon as the queue starts
    expect(readyEvents).toEqual([]);
    await q.close();
    clock.set(T0 + 3_600_000);
    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => undefined });
    await q2.runUntilIdle();
    expect(runIds.map((id) => q2.getRun(id)!.state)).toEqual(["canceled", "canceled", "canceled"]);
    await q2.close();
  });

  it("skip cancels only the runs overdue beyond the tolerance; runs still due in the future keep their schedule", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock({ startMs: T0 });
    const q = await openQueue({ dataDir, clock, handler: () => undefined });
    const { runIds } = await q.submit({ runPolicy: repeatPolicy(6, 60_000, { kind: "skip" }) }); // T0, +1m, ..., +5m
    await q.close();
    clock.set(T0 + 150_000); // 2.5 min later: T0 and T0+1m are >1 min late, T0+2m is 30 s late
    const q2 = await openQueue({ dataDir, clock, idleHorizonMs: 0, handler: () => undefined });
    await q2.runUntilIdle();
    expect(runIds.map((id) => q2.getRun(id)!.state)).toEqual(["canceled", "canceled", "completed", "scheduled", "scheduled", "scheduled"]);
    clock.advance(300_000);
    await q2.runUntilIdle();
    expect(runIds.map((id) => q2.getRun(id)!.state)).toEqual(["canceled", "canceled", "completed", "completed", "completed", "completed"]);
  });

  const cronCases: [string, MisfirePolicy | undefined, number][] = [
    ["skip", { kind: "skip" }, 0],
    ["coalesce", { kind: "coalesce" }, 1],
    ["catchUp maxRuns 2", { kind: "catchUp", maxRuns: 2 }, 2],
  ];
  for (const [label, misfire, ran] of cronCases) {
    it(`cron, ${label}: after an hour down, ${ran} missed occurrence(s) run and the schedule resumes from now, not the past`, async () => {
      const dataDir = tempDir();
      const clock = new ManualClock({ startMs: T0 });
      const calls: number[] = [];
      const handler = (): void => void calls.push(clock.now());
      const q = await openQueue({ dataDir, clock, cronWindow: 3, handler });
      const { taskId, runIds } = await q.submit({ runPolicy: cronPolicy("*/10 * * * * *", misfire === undefined ? {} : { misfire }) });
      expect(runIds).toHaveLength(3);
      await q.close();

      const downUntil = T0 + 3_600_000 + 5_000; // between two occurrences
      clock.set(downUntil);
      const q2 = await openQueue({ dataDir, clock, cronWindow: 3, idleHorizonMs: 0, handler });
      await q2.runUntilIdle();
      const old = runIds.map((id) => q2.getRun(id)!.state);
      expect(old.filter((st) => st === "completed")).toHaveLength(ran);
      expect(old.filter((st) => st === "canceled")).toHaveLength(3 - ran);
      expect(calls).toHaveLength(ran);
      const fresh = q2.getTask(taskId)!.runIds.slice(3).map((id) => q2.getRun(id)!);
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.every((r) => r.scheduledAt > downUntil && r.state === "scheduled")).toBe(true); // nothing from the missed hour
      clock.advance(10_000);
      await q2.runUntilIdle();
      expect(calls).toHaveLength(ran + 1);
    });
  }
});
