import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { openQueue, tempDir } from "./helpers.js";

describe("a backlog at start", () => {
  it("is promoted a slice per pass: runs start before the whole backlog is ready", async () => {
    const q = await openQueue({ dataDir: tempDir(), concurrency: 16, handler: () => undefined });
    const count = 5_000;
    await q.submitMany(Array.from({ length: count }, () => ({ runPolicy: oncePolicy() })));
    const events: string[] = [];
    q.on("run:ready", () => void events.push("ready"));
    q.on("attempt:started", () => void events.push("started"));
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(count);
    expect(events.filter((e) => e === "ready")).toHaveLength(count);
    // One pass promoting all 5,000 would report every run ready before the first start.
    expect(events.indexOf("started")).toBeLessThan(events.lastIndexOf("ready"));
    await q.close();
  });

  it("starts cold with a small first slice: the first handlers start after twice the concurrency (at least 64) runs are ready", async () => {
    const q = await openQueue({ dataDir: tempDir(), concurrency: 16, handler: () => undefined });
    await q.submitMany(Array.from({ length: 5_000 }, () => ({ runPolicy: oncePolicy() })));
    let readyBeforeFirstStart: number | undefined;
    let ready = 0;
    q.on("run:ready", () => void (ready += 1));
    q.on("attempt:started", () => void (readyBeforeFirstStart ??= ready));
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(5_000);
    // A first pass of 2,048 would report 2,048 ready runs before the first start.
    expect(readyBeforeFirstStart).toBe(64);
    await q.close();
  });

  it("writes each pass's promotions as one record, and they replay: a reopened queue holds the same ready runs", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, concurrency: 1, handler: () => new Promise(() => undefined) });
    const count = 3_000;
    await q.submitMany(Array.from({ length: count }, () => ({ runPolicy: oncePolicy() })));
    const afterSubmit = q.stats().latestSequence;
    let ready = 0;
    const allReady = new Promise<void>((resolve) => q.on("run:ready", () => void (++ready === count && resolve())));
    q.start();
    await allReady;
    // One record per run would be 3,000 more; a pass promotes at most 2,048 (the first, cold one 64), and one run is dispatched.
    expect(q.stats().latestSequence - afterSubmit).toBeLessThanOrEqual(5);
    const held = q.stats().runsByState;
    expect(held.ready + held.running).toBe(count);
    await q.close({ mode: "abort" });
    const reopened = await openQueue({ dataDir, handler: () => undefined });
    // The aborted attempt went through the retry table (one attempt: failed); every other run is ready again after replay.
    expect(reopened.stats().runsByState.ready).toBe(count - 1);
    await reopened.close();
  });

  it("refills the slots a burst of finishes freed with one dispatch record, not one per run", async () => {
    const q = await openQueue({ dataDir: tempDir(), concurrency: 16, handler: () => Promise.resolve() });
    const count = 512;
    await q.submitMany(Array.from({ length: count }, () => ({ runPolicy: oncePolicy() })));
    const afterSubmit = q.stats().latestSequence;
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(count);
    // One finish record per run; one record per dispatch would add 512 more. Handlers that settle
    // at once finish in bursts, and each burst's freed slots (8 of 16 at a time) share one record.
    const records = q.stats().latestSequence - afterSubmit;
    expect(records).toBeGreaterThanOrEqual(count);
    expect(records).toBeLessThan(count * 1.25);
    await q.close();
  });
});
