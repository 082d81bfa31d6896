import { describe, expect, it } from "vitest";
import { ReadyIndex, RunningIndex, ScheduledIndex, TerminalIndex } from "./run-indices.js";
import type { IndexedRun } from "./run-indices.js";

const runs: IndexedRun[] = [
  { state: "scheduled", scheduledAt: 20 },
  { state: "ready", scheduledAt: 1 },
  { state: "running", scheduledAt: 2 },
  { state: "scheduled", scheduledAt: 10 },
  { state: "leased", scheduledAt: 3 },
  { state: "completed", scheduledAt: 4 },
  { state: "failed", scheduledAt: 5 },
  { state: "canceled", scheduledAt: 6 },
  { state: "retryWait", scheduledAt: 7 },
];

describe("indices", () => {
  it("filter by state and keep input order; scheduled split at <= / >", () => {
    const s = new ScheduledIndex(runs);
    expect(s.runs.map((r) => r.scheduledAt)).toEqual([20, 10]);
    expect(s.readyForPromotion(10).map((r) => r.scheduledAt)).toEqual([10]);
    expect(s.waiting(10).map((r) => r.scheduledAt)).toEqual([20]);
    expect(new ReadyIndex(runs).runs).toEqual([runs[1]]);
    const running = new RunningIndex(runs);
    expect(running.runs).toEqual([runs[2], runs[4]]);
    expect(running.leased()).toEqual([runs[4]]);
    expect(running.executing()).toEqual([runs[2]]);
    const t = new TerminalIndex(runs);
    expect([t.completed(), t.failed(), t.canceled()]).toEqual([[runs[5]], [runs[6]], [runs[7]]]);
  });
});
