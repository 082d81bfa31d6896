import { parseRunId, parseTaskId } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import type { RunView, Stats, TaskView } from "../internal/runtime.js";
import { formatRun, formatStats, formatTask, parseStateOption } from "./inspect.js";

const taskId = parseTaskId("01HZZZZZZZZZZZZZZZZZZZZZZZ");
const runId = parseRunId("01HZZZZZZZZZZZZZZZZZZZZZZY");

describe("--state", () => {
  it("accepts run states in any case, with - or _ for retryWait", () => {
    expect(parseStateOption("ready")).toBe("ready");
    expect(parseStateOption("Completed")).toBe("completed");
    expect(parseStateOption("retry_wait")).toBe("retryWait");
    expect(parseStateOption("retry-wait")).toBe("retryWait");
    expect(() => parseStateOption("sleeping")).toThrow(/--state "sleeping": expected one of scheduled, ready/);
  });
});

describe("text views", () => {
  it("stats: one line per counter", () => {
    const stats: Stats = {
      tasks: 2,
      runs: 3,
      runsByState: { scheduled: 1, ready: 0, leased: 0, running: 0, retryWait: 0, suspended: 0, completed: 2, failed: 0, canceled: 0 },
      attemptsByResult: { success: 2, failure: 1, timeout: 0, suspended: 0 },
      latestSequence: 12,
      paused: true,
    };
    const text = formatStats(stats);
    expect(text).toMatch(/^tasks\s+2$/m);
    expect(text).toMatch(/^ {2}completed\s+2$/m);
    expect(text).toMatch(/^attempts\s+success 2, failure 1, timeout 0, suspended 0$/m);
    expect(text).toMatch(/^paused\s+yes$/m);
  });

  it("task: fields, policy text and its runs", () => {
    const task: TaskView = {
      taskId,
      name: "email",
      runPolicy: { kind: "repeat", count: 2, intervalMs: 300_000 },
      constraints: { maxAttempts: 1, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" },
      metadata: { tags: ["x"], priority: 3 },
      payload: new Uint8Array(5),
      createdAt: 0,
      runIds: [runId],
    };
    const text = formatTask(task);
    expect(text).toMatch(/^name\s+email$/m);
    expect(text).toMatch(/^run policy\s+repeat:2:5m$/m);
    expect(text).toMatch(/^payload\s+5 bytes$/m);
    expect(text).toContain(`  run ${runId}`);
    expect(text).not.toMatch(/^canceled/m);
    expect(text).not.toMatch(/^starts at/m);
    const delayed = formatTask({ ...task, runPolicy: { kind: "once", startAt: Date.UTC(2027, 0, 4, 8) } });
    expect(delayed).toMatch(/^starts at\s+2027-01-04T08:00:00\.000Z$/m);
  });

  it("run: history and attempts", () => {
    const run: RunView = {
      runId,
      taskId,
      state: "failed",
      createdAt: 0,
      scheduledAt: 0,
      priority: 0,
      attemptCount: 1,
      attempts: [{ attemptId: "A" as never, attemptNumber: 1, startedAt: 1000, finishedAt: 2000, result: "failure", error: "boom" }],
      history: [
        { from: null, to: "scheduled", at: 0 },
        { from: "running", to: "failed", at: 2000 },
      ],
    };
    const text = formatRun(run);
    expect(text).toMatch(/^state\s+failed$/m);
    expect(text).toContain("- -> scheduled");
    expect(text).toContain("running -> failed");
    expect(text).toContain("#1 A");
    expect(text).toContain("failure: boom");
  });
});
