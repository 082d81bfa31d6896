/**
 * Crash recovery with a real child process SIGKILLed mid-work many times
 * (see support/crash-harness.ts): no completed run ever runs again, no run
 * exceeds maxAttempts, every run in flight at a kill finishes after restart,
 * repeat tasks have exactly `count` runs, and nothing is left non-terminal.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { crashLoop } from "./support/crash-harness.js";

const dir = mkdtempSync(join(tmpdir(), "aq-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("crash recovery", () => {
  it("survives 15 SIGKILLs mid-work with every promise intact", async () => {
    const result = await crashLoop({
      dir,
      kills: 15,
      // Enough work that the campaign is still busy at the last kill on a fast build (killsDelivered below):
      // with 400 tasks a loaded machine's snapshot waits let the workers finish everything after 7 kills.
      onceTasks: 640,
      repeatTasks: 12,
      repeatCount: 5,
      // Long enough that some runs get past a snapshot, which a worker thread builds.
      killAfterMs: [20, 300],
      seed: 20_250_601,
    });
    expect(result.violations).toEqual([]);
    expect(result.killsDelivered).toBeGreaterThanOrEqual(10); // the kills hit a working process
    expect(result.reconciled.length).toBeGreaterThan(0); // some kills landed mid-attempt
    expect(result.fromSnapshot).toBeGreaterThan(0); // and some restarts recovered from a snapshot + WAL tail
    expect(result.runs.filter((r) => r.state === "canceled").length).toBeGreaterThan(0);
    const states = new Set(result.runs.map((r) => r.state));
    expect([...states].every((s) => s === "completed" || s === "failed" || s === "canceled")).toBe(true);
    expect(result.runs).toHaveLength(640 + 12 * 5);
    // Every run the WAL completed ran; the log never shows it again (checked in violations).
    expect(result.runs.filter((r) => r.state === "completed").length).toBeGreaterThan(400);
  }, 90_000);
});
