import { ManualClock, U32_MAX } from "@actionqueue/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, baseDelayMs, exponentialBackoff, fixedBackoff, retryDueAt, validateBackoff } from "./backoff.js";

describe("backoff", () => {
  it("fixed is constant at n 1, 2, 100", () => {
    const s = fixedBackoff(30_000);
    expect([1, 2, 100].map((n) => backoffDelayMs(s, n))).toEqual([30_000, 30_000, 30_000]);
  });
  it("exponential doubles: 1, 2, 4, 8 s, capped at 10 s for n 5 and 100", () => {
    const s = exponentialBackoff(1_000, 10_000);
    expect([1, 2, 3, 4, 5, 100].map((n) => backoffDelayMs(s, n))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });
  it("n = 0 acts as the first retry; n = u32 max does not throw and saturates at the cap", () => {
    const s = exponentialBackoff(1_000, 10_000);
    expect(backoffDelayMs(s, 0)).toBe(1_000);
    expect(backoffDelayMs(s, U32_MAX)).toBe(10_000);
    expect(baseDelayMs(exponentialBackoff(1, Number.MAX_SAFE_INTEGER), 2_000)).toBe(Number.MAX_SAFE_INTEGER);
  });
  it("due at = entered + delay (1000 + 30), saturating at MAX_SAFE_INTEGER", () => {
    expect(retryDueAt(1_000, 30)).toBe(1_030);
    expect(retryDueAt(Number.MAX_SAFE_INTEGER - 1, 500)).toBe(Number.MAX_SAFE_INTEGER);
    expect(retryDueAt(1_000, 0)).toBe(1_000);
  });
  it("exponential base 10 ms entered at 1000: due 1010, 1020, 1040", () => {
    const s = exponentialBackoff(10, 1_000);
    expect([1, 2, 3].map((n) => retryDueAt(1_000, backoffDelayMs(s, n)))).toEqual([1_010, 1_020, 1_040]);
  });
  it("rejects base > max, negative and fractional delays, unknown jitter", () => {
    expect(() => exponentialBackoff(2_000, 1_000)).toThrow(/exceeds maxMs/);
    expect(() => fixedBackoff(-1)).toThrow(/backoff.delayMs/);
    expect(() => fixedBackoff(1.5)).toThrow();
    expect(() => validateBackoff({ kind: "fixed", delayMs: 1, jitter: "half" as never })).toThrow(/jitter/);
  });
  it("full jitter stays within [0, delay] and comes from clock.random()", () => {
    const s = exponentialBackoff(100, 10_000, { jitter: "full" });
    const clock = new ManualClock({ seed: 7 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (n) => {
        const d = backoffDelayMs(s, n, clock);
        return Number.isInteger(d) && d >= 0 && d <= baseDelayMs(s, n);
      }),
    );
    const a = new ManualClock({ seed: 3 });
    const b = new ManualClock({ seed: 3 });
    expect(backoffDelayMs(s, 4, a)).toBe(backoffDelayMs(s, 4, b));
    expect(() => backoffDelayMs(s, 1)).toThrow(/clock/);
  });
});
