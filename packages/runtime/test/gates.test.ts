/**
 * Dispatch gates, the loop's extension seam: the built-in rate and
 * concurrency limits and a custom gate, through the public API on real data
 * directories. A held run stays ready and keeps its place, later runs a gate
 * admits are not stuck behind it, `explain()` says which gate holds it and
 * why, and bad gate options are refused before anything is opened.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "@actionqueue/core";
import { ActionQueue, concurrencyLimit, rateLimit } from "@actionqueue/runtime";
import type { DispatchGate, HandlerContext } from "@actionqueue/runtime";
import { deferred, openQueue, settle, tempDir, waitFor } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 5);

describe("rateLimit", () => {
  it("dispatches at most max per window over the whole queue; a held run is explained", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const starts: number[] = [];
    const q = await openQueue({ dataDir: tempDir(), clock, gates: [rateLimit({ max: 3, perMs: 1_000 })], handler: () => void starts.push(clock.now() - T0) });
    const submitted = await q.submitMany(Array.from({ length: 10 }, () => ({ runPolicy: { kind: "once" } })));
    q.start();
    await waitFor(() => starts.length === 3, "the first three");
    await settle();
    expect(starts).toHaveLength(3);
    const waiting = submitted.map((s) => s.runIds[0]!).find((id) => q.getRun(id)?.state === "ready")!;
    expect(q.explain(waiting)).toMatchObject({ kind: "gateHeld", gate: "rateLimit", until: T0 + 1_000, reason: "rate limit of 3 per 1000 ms reached" });
    clock.advance(999);
    await settle();
    expect(starts).toHaveLength(3);
    for (let step = 0; step < 4; step++) {
      clock.advance(step === 0 ? 1 : 1_000);
      await waitFor(() => starts.length === Math.min(10, 3 * (step + 2)), `window ${step + 2}`);
    }
    expect(starts).toEqual([0, 0, 0, 1_000, 1_000, 1_000, 2_000, 2_000, 2_000, 3_000]);
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(10);
  });

  it("per key: a limited name waits while other names go past it", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const seen: string[] = [];
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      gates: [rateLimit({ max: 1, perMs: 60_000, by: (run) => (run.task.name === "email" ? "email" : undefined) })],
      handler: (ctx: HandlerContext) => void seen.push(ctx.taskId),
      handlers: {},
    });
    const emails = await q.submitMany([1, 2, 3].map(() => ({ name: "email", runPolicy: { kind: "once" } })));
    const sms = await q.submitMany([1, 2, 3].map(() => ({ name: "sms", runPolicy: { kind: "once" } })));
    q.start();
    await waitFor(() => seen.length === 4, "one email and every sms");
    await settle();
    expect(seen).toHaveLength(4);
    expect(sms.every((s) => seen.includes(s.taskId))).toBe(true);
    const held = emails.map((e) => e.runIds[0]!).filter((id) => q.getRun(id)?.state === "ready");
    expect(held).toHaveLength(2);
    expect(q.explain(held[0]!)).toMatchObject({ kind: "gateHeld", reason: 'rate limit of 1 per 60000 ms reached for "email"' });
    clock.advance(60_000);
    await waitFor(() => seen.length === 5, "the second email a minute later");
  });
});

describe("a hold whose time came while every slot is busy", () => {
  it("is given back at once: the run reads as waiting for a slot, not as held until a past time", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const releases: (() => void)[] = [];
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      concurrency: 2,
      gates: [rateLimit({ max: 1, perMs: 1_000, by: (run) => (run.task.name === "a" ? "a" : undefined) })],
      handler: async () => {
        const d = deferred();
        releases.push(d.resolve);
        await d.promise;
      },
    });
    const [, a2] = await q.submitMany([{ name: "a", runPolicy: { kind: "once" } }, { name: "a", runPolicy: { kind: "once" } }]);
    await q.submit({ name: "b", runPolicy: { kind: "once" } });
    q.start();
    await waitFor(() => releases.length === 2, "a1 and b1");
    expect(q.explain(a2!.runIds[0]!)).toMatchObject({ kind: "gateHeld", until: T0 + 1_000 });
    clock.advance(1_500);
    await settle();
    expect(q.explain(a2!.runIds[0]!)).toMatchObject({ kind: "ready" });
    releases[0]!();
    await waitFor(() => releases.length === 3, "a2 once a slot frees");
    for (const release of releases) release();
  });
});

describe("a hold on every run, once nothing waits", () => {
  it("holds nothing: runUntilIdle resolves after the last held run is canceled", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const first = deferred();
    const q = await openQueue({ dataDir: tempDir(), clock, concurrency: 1, gates: [rateLimit({ max: 1, perMs: 500 })], handler: () => first.promise });
    const [a, b] = await q.submitMany([{ runPolicy: { kind: "once" } }, { runPolicy: { kind: "once" } }]);
    q.start();
    await waitFor(() => q.getRun(a!.runIds[0]!)?.state === "running", "the first run");
    first.resolve();
    await waitFor(() => q.getRun(a!.runIds[0]!)?.state === "completed", "the first run to complete");
    expect(q.explain(b!.runIds[0]!)).toMatchObject({ kind: "gateHeld", until: T0 + 500 });
    await q.cancelRun(b!.runIds[0]!);
    let idle = false;
    void q.runUntilIdle().then(() => (idle = true));
    await waitFor(() => idle, "runUntilIdle with nothing left to hold", 2_000);
  });
});

describe("concurrencyLimit", () => {
  it("keeps at most max attempts of a key in flight; a finish or a cancel frees a place", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const releases = new Map<string, () => void>();
    let running = 0;
    let most = 0;
    const q = await openQueue({
      dataDir: tempDir(),
      clock,
      concurrency: 8,
      gates: [concurrencyLimit({ max: 2, by: (run) => run.task.name })],
      handler: async (ctx: HandlerContext) => {
        running += 1;
        most = Math.max(most, running);
        const d = deferred();
        releases.set(ctx.runId, d.resolve);
        ctx.signal.addEventListener("abort", () => d.resolve());
        await d.promise;
        running -= 1;
      },
    });
    const jobs = await q.submitMany(Array.from({ length: 6 }, () => ({ name: "resize", runPolicy: { kind: "once" } })));
    q.start();
    await waitFor(() => releases.size === 2, "two in flight");
    await settle();
    expect(releases.size).toBe(2);
    const heldRun = jobs.map((j) => j.runIds[0]!).find((id) => q.getRun(id)?.state === "ready")!;
    expect(q.explain(heldRun)).toMatchObject({ kind: "gateHeld", gate: "concurrencyLimit", reason: '2 attempt(s) of "resize" already in flight' });
    // A cancel of a running attempt frees its place too.
    const [first, second] = [...releases.keys()];
    await q.cancelRun(first!);
    await waitFor(() => releases.size === 3, "a third after the cancel");
    releases.get(second!)!();
    await waitFor(() => releases.size === 4, "a fourth after a finish");
    for (let i = 0; i < 20 && releases.size < 6; i++) {
      for (const release of releases.values()) release();
      await settle();
    }
    for (const release of releases.values()) release();
    await q.runUntilIdle();
    expect(most).toBe(2);
    expect(q.stats().runsByState).toMatchObject({ completed: 5, canceled: 1 });
  });
});

describe("a custom gate", () => {
  it("holds runs until recheckGates(); runUntilIdle does not wait for a hold with no end", async () => {
    let open = false;
    const calls: string[] = [];
    const gate: DispatchGate = {
      name: "maintenance-window",
      admit: (run) => (open ? undefined : { reason: `downstream closed for ${run.task.name ?? "?"}` }),
      dispatched: (run) => void calls.push(run.runId),
    };
    const ran: string[] = [];
    const q = await openQueue({ dataDir: tempDir(), gates: [gate], handler: (ctx) => void ran.push(ctx.runId) });
    const { runIds } = await q.submit({ name: "sync", runPolicy: { kind: "once" } });
    await q.runUntilIdle();
    expect(ran).toEqual([]);
    expect(q.explain(runIds[0]!)).toMatchObject({ kind: "gateHeld", gate: "maintenance-window", reason: "downstream closed for sync" });
    expect(q.explain(runIds[0]!)).not.toHaveProperty("until");
    open = true;
    q.recheckGates();
    await waitFor(() => ran.length === 1, "the run after the recheck");
    expect(calls).toEqual(runIds);
  });

  it("a gate that throws stops the queue with an error event, as a storage failure does", async () => {
    const q = await openQueue({
      dataDir: tempDir(),
      gates: [{ name: "broken", admit: () => { throw new Error("gate bug"); } }],
      handler: () => undefined,
    });
    const errors: unknown[] = [];
    q.on("error", ({ error }) => void errors.push(error));
    await q.submit({ runPolicy: { kind: "once" } });
    q.start();
    await waitFor(() => errors.length === 1, "the error event");
    expect(String(errors[0])).toContain("gate bug");
  });

  it("a runUntilIdle() waiting when the queue stops rejects with AUTHORITY_POISONED instead of waiting forever", async () => {
    let broken = false;
    const q = await openQueue({
      dataDir: tempDir(),
      gates: [{ name: "flaky", admit: () => { if (broken) throw new Error("gate bug"); return undefined; } }],
      handler: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    q.on("error", () => undefined);
    await q.submit({ runPolicy: { kind: "once" } });
    const idle = q.runUntilIdle().then(
      () => "resolved",
      (e: unknown) => (e as { code?: string }).code,
    );
    await waitFor(() => q.stats().runsByState.running === 1, "the first run");
    broken = true;
    await q.submit({ runPolicy: { kind: "once" } });
    expect(await idle).toBe("AUTHORITY_POISONED");
  });
});

describe("gate options", () => {
  it("are checked before the data directory is touched", async () => {
    const dataDir = join(tempDir(), "never-created");
    const bad: [unknown, string][] = [
      [{}, "gates"],
      [[null], "gates[0]"],
      [[{ admit: () => undefined }], "gates[0]"],
      [[{ name: "x" }], "gates[0]"],
      [[{ name: "x", admit: () => undefined, finished: 5 }], "gates[0]"],
    ];
    for (const [gates, field] of bad) {
      await expect(ActionQueue.open({ dataDir, handler: () => undefined, gates: gates as never })).rejects.toMatchObject({ code: "INVALID_CONFIG", details: { field } });
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(() => rateLimit({ max: 0, perMs: 1_000 })).toThrow(/rateLimit max 0/);
    expect(() => rateLimit({ max: 1, perMs: 1.5 })).toThrow(/rateLimit perMs 1.5/);
    expect(() => concurrencyLimit({ max: 2, by: "name" as never })).toThrow(/concurrencyLimit by/);
  });
});

describe("gates and runUntilIdle", () => {
  it("a queue-wide hold ending beyond the idle horizon does not keep runUntilIdle waiting (ManualClock, horizon 0)", async () => {
    const clock = new ManualClock({ startMs: T0 });
    let calls = 0;
    const q = await openQueue({ dataDir: tempDir(), clock, idleHorizonMs: 0, gates: [rateLimit({ max: 1, perMs: 5_000 })], handler: () => void calls++ });
    await q.submitMany([{ runPolicy: { kind: "once" } }, { runPolicy: { kind: "once" } }]);
    // Before the fix this never settled: ready runs under a timed hold on every run counted as runnable now.
    await q.runUntilIdle();
    expect(calls).toBe(1);
    expect(q.stats().runsByState.ready).toBe(1);
    clock.advance(5_000);
    await q.runUntilIdle();
    expect(calls).toBe(2);
    await q.close();
  });

  it("after recheckGates(), runUntilIdle waits for the pass that dispatches what the gate now admits", async () => {
    let budget = 0;
    let calls = 0;
    const budgetGate: DispatchGate = { name: "budget", admit: () => (budget > 0 ? undefined : { reason: "no budget", all: true }) };
    const q = await openQueue({ dataDir: tempDir(), gates: [budgetGate], handler: () => void calls++ });
    const { runIds } = await q.submit({ runPolicy: { kind: "once" } });
    await q.runUntilIdle();
    expect(q.explain(runIds[0]!)).toMatchObject({ kind: "gateHeld", gate: "budget" });
    budget = 1;
    q.recheckGates();
    await q.runUntilIdle();
    expect(calls).toBe(1);
    expect(q.getRun(runIds[0]!)!.state).toBe("completed");
    await q.close();
  });

  it("canceling a run a per-key rate limit holds leaves no hold behind", async () => {
    const clock = new ManualClock({ startMs: T0 });
    const q = await openQueue({ dataDir: tempDir(), clock, idleHorizonMs: 60_000, gates: [rateLimit({ max: 1, perMs: 8_000, by: (run) => run.task.name ?? "" })], handler: () => undefined });
    await q.submit({ name: "mail", runPolicy: { kind: "once" } });
    const held = (await q.submit({ name: "mail", runPolicy: { kind: "once" } })).runIds[0]!;
    q.start();
    await waitFor(() => q.stats().runsByState.completed === 1, "the first run");
    await settle();
    expect(q.explain(held)).toMatchObject({ kind: "gateHeld", until: T0 + 8_000 });
    await q.cancelRun(held);
    // The hold (within the 60 s horizon) went with the run: idle at once, no clock advance needed.
    await q.runUntilIdle();
    expect(q.stats().runsByState).toMatchObject({ completed: 1, canceled: 1, ready: 0 });
    await q.close();
  });
});
