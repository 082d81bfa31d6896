// Unit tests of the metrics over a real queue on a temporary data directory,
// driven by a manual clock: the scheduling lag is measured on the queue's
// clock and never goes negative.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, oncePolicy } from "@actionqueue/core";
import { ActionQueue } from "@actionqueue/runtime";
import { parseExposition, sampleValue } from "../test/exposition.js";
import { DaemonMetrics } from "./metrics.js";
import { createDaemonState } from "./state.js";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function open(clock: ManualClock): Promise<{ queue: ActionQueue; metrics: DaemonMetrics }> {
  const dir = mkdtempSync(join(tmpdir(), "aq-daemon-metrics-"));
  const queue = await ActionQueue.open({ dataDir: dir, clock, idleHorizonMs: 0, handler: () => undefined });
  cleanups.push(async () => {
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const metrics = new DaemonMetrics(createDaemonState(queue), { processMetrics: false });
  metrics.attach(queue);
  return { queue, metrics };
}

async function lag(metrics: DaemonMetrics): Promise<{ count: number | undefined; sum: number | undefined; zeroBucket: number | undefined }> {
  const samples = parseExposition((await metrics.render()).text);
  return {
    count: sampleValue(samples, "actionqueue_scheduling_lag_seconds_count"),
    sum: sampleValue(samples, "actionqueue_scheduling_lag_seconds_sum"),
    zeroBucket: sampleValue(samples, "actionqueue_scheduling_lag_seconds_bucket", { le: "0.001" }),
  };
}

describe("scheduling lag", () => {
  it("is the queue's clock at dispatch minus the run's due time, and 0 (never negative) for a run dispatched before it was due", async () => {
    // Far from the wall clock: a lag read from Date.now() would be years off.
    const t0 = Date.UTC(2031, 0, 1);
    const clock = new ManualClock({ startMs: t0 });
    const { queue, metrics } = await open(clock);

    // Due at t0, dispatched 2.5 s later on the queue's clock (no real time passes).
    await queue.submit({ runPolicy: oncePolicy() });
    clock.advance(2_500);
    await queue.runUntilIdle();
    expect(await lag(metrics)).toEqual({ count: 1, sum: 2.5, zeroBucket: 0 });

    // Due at t1, made ready while paused, then dispatched after the clock
    // stepped back 5 s (an NTP correction, say): 5 s before it was due.
    await queue.pause();
    clock.advance(10_000);
    const t1 = clock.now();
    const { runIds } = await queue.submit({ runPolicy: oncePolicy() });
    await queue.runUntilIdle(); // paused: promotes, dispatches nothing
    expect(queue.getRun(runIds[0]!)!.state).toBe("ready");
    clock.set(t1 - 5_000);
    await queue.resume();
    await queue.runUntilIdle();
    expect(queue.getRun(runIds[0]!)!.attempts[0]!.startedAt).toBe(t1 - 5_000);
    expect(await lag(metrics)).toEqual({ count: 2, sum: 2.5, zeroBucket: 1 });
  });
});
