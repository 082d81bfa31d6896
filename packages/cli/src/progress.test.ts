import { describe, expect, it } from "vitest";
import { ProgressReporter, emptyCounters, formatElapsed, formatProgressLine, runsPerSecond } from "./progress.js";

describe("progress line", () => {
  it("shows done, failed, in flight, rate and elapsed time", () => {
    const counters = { ...emptyCounters(), runsCompleted: 8, runsFailed: 2, inFlight: 3 };
    expect(runsPerSecond(counters, 2000)).toBe(5);
    expect(runsPerSecond(counters, 0)).toBe(0);
    expect(formatProgressLine(counters, 2000)).toBe("8 done, 2 failed, 3 in flight, 5.0 runs/s, 2.0s");
    expect(formatProgressLine({ ...counters, retries: 1, runsCanceled: 2 }, 2000)).toBe(
      "8 done, 2 failed, 1 retry, 2 canceled, 3 in flight, 5.0 runs/s, 2.0s",
    );
  });

  it("formats elapsed time", () => {
    expect(formatElapsed(850)).toBe("850ms");
    expect(formatElapsed(12_340)).toBe("12.3s");
    expect(formatElapsed(245_000)).toBe("4m05s");
  });

  it("draws in place only when enabled", () => {
    const written: string[] = [];
    const stream = { write: (text: string) => written.push(text) };
    let now = 0;
    const counters = emptyCounters();
    const quiet = new ProgressReporter({ stream, enabled: false, counters, now: () => now });
    quiet.start();
    quiet.draw();
    quiet.stop();
    expect(written).toEqual([]);

    const live = new ProgressReporter({ stream, enabled: true, counters, now: () => now });
    now = 1000;
    counters.runsCompleted = 3;
    live.draw();
    live.stop();
    expect(written[0]).toBe("\r\u001b[2K3 done, 0 failed, 0 in flight, 3.0 runs/s, 1.0s");
    expect(written.at(-1)).toBe("\r\u001b[2K");
  });
});
