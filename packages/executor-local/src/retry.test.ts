import { ActionQueueError, ManualClock } from "@actionqueue/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exponentialBackoff, fixedBackoff } from "./backoff.js";
import type { ExecutorResponseKind } from "./executor-response.js";
import { canRetry, decideRetry } from "./retry.js";

const decide = (outcome: ExecutorResponseKind, attemptNumber: number, maxAttempts: number) =>
  decideRetry({ outcome, attemptNumber, maxAttempts }).kind;

describe("retry decision table", () => {
  it("every row below and at the cap", () => {
    expect(decide("success", 1, 3)).toBe("completed");
    expect(decide("success", 3, 3)).toBe("completed");
    expect(decide("terminalFailure", 1, 3)).toBe("failed");
    expect(decide("terminalFailure", 3, 3)).toBe("failed");
    expect(decide("retryableFailure", 1, 3)).toBe("retryWait");
    expect(decide("retryableFailure", 3, 3)).toBe("failed");
    expect(decide("timeout", 2, 3)).toBe("retryWait");
    expect(decide("timeout", 3, 3)).toBe("failed");
  });
  it("invalid input: max 0, attempt 0, 4 of 3", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return ActionQueueError.is(e) ? e.code : "other";
      }
      return "none";
    };
    expect(code(() => decide("success", 1, 0))).toBe("INVALID_MAX_ATTEMPTS");
    expect(code(() => decide("success", 0, 3))).toBe("INVALID_ATTEMPT_NUMBER");
    expect(code(() => decide("retryableFailure", 4, 3))).toBe("ATTEMPT_EXCEEDS_CAP");
  });
  it("suspended skips validation: 5 of 3 suspends", () => {
    expect(decide("suspended", 5, 3)).toBe("suspended");
    expect(decide("suspended", 0, 0)).toBe("suspended");
  });
  it("no N+1: cap 2 retries then fails; attempt 3 of 2 is refused", () => {
    expect(decide("retryableFailure", 1, 2)).toBe("retryWait");
    expect(decide("retryableFailure", 2, 2)).toBe("failed");
    expect(() => decide("retryableFailure", 3, 2)).toThrow(/no attempt 3/);
  });
  it("retryWait carries the backoff delay for the counted attempt", () => {
    expect(decideRetry({ outcome: "timeout", attemptNumber: 1, maxAttempts: 4 }, fixedBackoff(5_000))).toEqual({ kind: "retryWait", delayMs: 5_000 });
    const exp = exponentialBackoff(100, 10_000);
    expect(decideRetry({ outcome: "retryableFailure", attemptNumber: 3, maxAttempts: 4 }, exp)).toEqual({ kind: "retryWait", delayMs: 400 });
    const d = decideRetry({ outcome: "retryableFailure", attemptNumber: 3, maxAttempts: 4 }, exponentialBackoff(100, 10_000, { jitter: "full" }), new ManualClock());
    expect(d.kind === "retryWait" && d.delayMs <= 400).toBe(true);
    expect(decideRetry({ outcome: "timeout", attemptNumber: 1, maxAttempts: 2 })).toEqual({ kind: "retryWait", delayMs: 0 });
  });
  it("properties: > max errors, < max retryable retries, = max fails; canRetry ⇔ retryWait", () => {
    const kinds = fc.constantFrom<ExecutorResponseKind>("success", "retryableFailure", "terminalFailure", "timeout");
    fc.assert(
      fc.property(kinds, fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (kind, a, m) => {
        if (a > m) {
          expect(() => decide(kind, a, m)).toThrow();
          return;
        }
        const d = decideRetry({ outcome: kind, attemptNumber: a, maxAttempts: m });
        if ((kind === "retryableFailure" || kind === "timeout") && a < m) expect(d.kind).toBe("retryWait");
        if ((kind === "retryableFailure" || kind === "timeout") && a === m) expect(d.kind).toBe("failed");
        expect(canRetry(d)).toBe(d.kind === "retryWait");
      }),
    );
  });
});
