import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS, classifyCooperation, classifyTimeout, timeoutMessage } from "./timeout.js";

describe("timeout classification", () => {
  it("none → notConfigured; equal → in time; greater → timedOut", () => {
    expect(classifyTimeout(undefined, 10)).toBe("notConfigured");
    expect(classifyTimeout(1_000, 1_000)).toBe("completedInTime");
    expect(classifyTimeout(1_000, 1_001)).toBe("timedOut");
  });
  it("cooperation: latency 15 vs 5 is a breach; 5 vs 10 cooperative; never observed non-cooperative", () => {
    expect(classifyCooperation("timedOut", 15, 5)).toBe("cooperativeThresholdBreach");
    expect(classifyCooperation("timedOut", 5, 10)).toBe("cooperative");
    expect(classifyCooperation("timedOut", undefined, 10)).toBe("nonCooperative");
    expect(classifyCooperation("completedInTime", 1, 10)).toBe("notApplicable");
    expect(DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS).toBe(250);
  });
  it("message states the limit in ms", () => {
    expect(timeoutMessage(5_000)).toBe("attempt timed out after 5000ms");
  });
});
