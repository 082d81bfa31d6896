import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { emptyCounters } from "../progress.js";
import { formatRunSummary, loadHandlers } from "./run.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

describe("loadHandlers", () => {
  it("returns the default and named handlers of a module", async () => {
    const loaded = await loadHandlers("handlers.mjs", fixtures);
    expect(typeof loaded.handler).toBe("function");
    expect(Object.keys(loaded.handlers ?? {}).sort()).toEqual(["doomed", "flaky", "hold", "text"]);
  });

  it("names the module in every refusal", async () => {
    await expect(loadHandlers("missing.mjs", fixtures)).rejects.toMatchObject({ code: "FILE_UNREADABLE", message: expect.stringContaining("missing.mjs") });
    await expect(loadHandlers(".", fixtures)).rejects.toMatchObject({ code: "FILE_UNREADABLE", message: expect.stringContaining("not a file") });
    await expect(loadHandlers("no-handlers.mjs", fixtures)).rejects.toMatchObject({ code: "INVALID_HANDLER_MODULE" });
    await expect(loadHandlers("broken.mjs", fixtures)).rejects.toMatchObject({
      code: "INVALID_HANDLER_MODULE",
      message: expect.stringContaining("broken module on purpose"),
    });
  });
});

describe("formatRunSummary", () => {
  it("lists the counters, the elapsed time and the rate", () => {
    const text = formatRunSummary({
      ...emptyCounters(),
      runsCompleted: 9,
      runsFailed: 1,
      attemptsFinished: 11,
      attemptsFailed: 2,
      retries: 1,
      stoppedBy: "idle",
      elapsedMs: 2_000,
      runsPerSecond: 5,
      stats: {} as never,
    });
    expect(text).toMatch(/^stopped by\s+idle \(no work left\)$/m);
    expect(text).toMatch(/^runs completed\s+9$/m);
    expect(text).not.toMatch(/^runs canceled/m);
    expect(text).toMatch(/^rate\s+5\.0 runs\/s$/m);
  });

  it("shows timed-out and suspended attempts apart from failed ones, when there are any", () => {
    const base = { ...emptyCounters(), attemptsFinished: 4, attemptsFailed: 1, stoppedBy: "idle", elapsedMs: 10, runsPerSecond: 0, stats: {} as never } as const;
    const text = formatRunSummary({ ...base, attemptsTimedOut: 2, attemptsSuspended: 1 });
    expect(text).toMatch(/^failed attempts\s+1$/m);
    expect(text).toMatch(/^timed-out attempts\s+2$/m);
    expect(text).toMatch(/^suspended attempts\s+1$/m);
    expect(formatRunSummary(base)).not.toMatch(/timed-out|suspended/);
  });

  it("says a paused queue stopped with runs waiting, and how to resume it", () => {
    const runsByState = { scheduled: 1, ready: 2, leased: 0, running: 0, retryWait: 1, suspended: 5, completed: 3, failed: 0, canceled: 0 };
    const base = { ...emptyCounters(), stoppedBy: "idle", elapsedMs: 10, runsPerSecond: 0 } as const;
    const paused = formatRunSummary({ ...base, stats: { paused: true, runsByState } as never });
    expect(paused).toMatch(/^stopped by\s+idle: the queue is paused and 4 runs wait \(`actionqueue resume` dispatches them\)$/m);
    expect(formatRunSummary({ ...base, stats: { paused: false, runsByState } as never })).toMatch(/^stopped by\s+idle \(no work left\)$/m);
  });
});
