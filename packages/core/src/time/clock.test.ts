import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock, SystemClock, systemClock } from "./clock.js";

describe("SystemClock", () => {
  afterEach(() => vi.useRealTimers());

  it("reads are non-decreasing", () => {
    const clock = new SystemClock();
    let previous = clock.now();
    for (let i = 0; i < 1000; i++) {
      const now = clock.now();
      expect(now).toBeGreaterThanOrEqual(previous);
      expect(Number.isSafeInteger(now)).toBe(true);
      previous = now;
    }
  });

  it("random stays in [0, 1)", () => {
    for (let i = 0; i < 100; i++) {
      const r = systemClock.random();
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(1);
    }
  });

  it("honours delays longer than Node's 32-bit timer limit instead of firing at once", () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 3_000_000_000);
    vi.advanceTimersByTime(2_147_483_647);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(3_000_000_000 - 2_147_483_647);
    expect(fired).toBe(1);
  });

  it("unref lets the process exit while the timer waits, also after re-arming a long delay", () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, "setTimeout");
    const timer = new SystemClock().setTimeout(() => undefined, 3_000_000_000);
    timer.unref!();
    expect((spy.mock.results[0]!.value as NodeJS.Timeout).hasRef()).toBe(false);
    vi.advanceTimersByTime(2_147_483_647); // re-armed for the rest of the delay
    expect((spy.mock.results[1]!.value as NodeJS.Timeout).hasRef()).toBe(false);
    timer.cancel();
    spy.mockRestore();
  });

  it("never fires before now() reaches the due time: a Node timer that runs early is re-armed for the rest", () => {
    // Node's timers keep their own monotonic time; Date.now() can still be a millisecond short when one runs.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let wall = 1_000;
    const now = vi.spyOn(Date, "now").mockImplementation(() => wall);
    const clock = new SystemClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 5);
    wall = 1_004; // the timer's 5 ms pass while the wall clock moved only 4
    vi.advanceTimersByTime(5);
    expect(seen).toEqual([]);
    wall = 1_005;
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([1_005]);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([1_005]);
    now.mockRestore();
  });

  it("cancel stops a timer that was re-armed after running early", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let wall = 1_000;
    const now = vi.spyOn(Date, "now").mockImplementation(() => wall);
    let fired = 0;
    const timer = new SystemClock().setTimeout(() => fired++, 5);
    wall = 1_004;
    vi.advanceTimersByTime(5);
    timer.cancel();
    wall = 1_010;
    vi.advanceTimersByTime(100);
    expect(fired).toBe(0);
    now.mockRestore();
  });

  it("cancel stops a pending timer", () => {
    vi.useFakeTimers();
    let fired = 0;
    new SystemClock().setTimeout(() => fired++, 10).cancel();
    vi.advanceTimersByTime(100);
    expect(fired).toBe(0);
  });
});

describe("ManualClock", () => {
  it("is deterministic by default: fixed start and seeded randomness", () => {
    const a = new ManualClock();
    const b = new ManualClock();
    expect(a.now()).toBe(1_700_000_000_000);
    expect([a.random(), a.random(), a.random()]).toEqual([b.random(), b.random(), b.random()]);
  });

  it("starts where told, advances and sets", () => {
    const clock = new ManualClock({ startMs: 1000 });
    expect(clock.now()).toBe(1000);
    clock.advance(100);
    expect(clock.now()).toBe(1100);
    clock.set(2000);
    expect(clock.now()).toBe(2000);
  });

  it("advance fires due timers in due order, each seeing its due time", () => {
    const clock = new ManualClock({ startMs: 0 });
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`late@${clock.now()}`), 100);
    clock.advance(50);
    expect(seen).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.now()).toBe(50);
    expect(clock.pendingTimers).toBe(1);
  });

  it("fires timers scheduled by a timer callback when they fall due in the same advance", () => {
    const clock = new ManualClock({ startMs: 0 });
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 5);
    }, 5);
    clock.advance(20);
    expect(seen).toEqual([5, 10]);
  });

  it("setting the time backwards fires no timer", () => {
    const clock = new ManualClock({ startMs: 1000 });
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    clock.set(500);
    expect(fired).toBe(0);
    expect(clock.now()).toBe(500);
    clock.set(1010);
    expect(fired).toBe(1);
  });

  it("canceled timers never fire; zero, negative and NaN delays fire on the next advance", () => {
    const clock = new ManualClock({ startMs: 0 });
    let fired = 0;
    clock.setTimeout(() => fired++, 5).cancel();
    clock.setTimeout(() => fired++, 0);
    clock.setTimeout(() => fired++, -5);
    clock.setTimeout(() => fired++, Number.NaN);
    clock.advance(0);
    expect(fired).toBe(3);
  });

  it("rejects negative and non-finite moves", () => {
    const clock = new ManualClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
