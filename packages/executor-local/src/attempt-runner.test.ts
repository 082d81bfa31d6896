import { createIdFactory, ManualClock, systemClock } from "@actionqueue/core";
import type { Clock } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import type { AttemptRequest } from "./attempt-context.js";
import type { AttemptResult, LateSettlement } from "./attempt-runner.js";
import { AttemptRunner, runAttempt } from "./attempt-runner.js";
import type { HandlerContext } from "./handler.js";
import { TerminalError, success, suspended } from "./handler.js";
import { decideRetry } from "./retry.js";

const ids = createIdFactory(new ManualClock());

function request(overrides: Partial<AttemptRequest> = {}): AttemptRequest {
  return {
    runId: ids.runId(),
    attemptId: ids.attemptId(),
    taskId: ids.taskId(),
    payload: new Uint8Array([1]),
    attemptNumber: 1,
    maxAttempts: 1,
    ...overrides,
  };
}

/** A clock whose time moves only by `elapse()` and whose timers never fire: models a result that lands after the deadline but before the timer callback runs. */
class LaggingClock implements Clock {
  t = 1_000;
  now(): number {
    return this.t;
  }
  random(): number {
    return 0.5;
  }
  setTimeout(): { cancel(): void } {
    return { cancel: () => undefined };
  }
}

/**
 * A clock whose time moves only by setting `t`, and whose timers run only when
 * `fireDue()` is called: models a deadline that has passed while its timer
 * callback waits for a busy event loop.
 */
class HeldTimersClock implements Clock {
  t = 1_000;
  #timers: { dueAt: number; callback: () => void; canceled: boolean }[] = [];
  now(): number {
    return this.t;
  }
  random(): number {
    return 0.5;
  }
  setTimeout(callback: () => void, delayMs: number): { cancel(): void } {
    const timer = { dueAt: this.t + delayMs, callback, canceled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.canceled = true;
      },
    };
  }
  /** Runs the timers due by now that were not cancelled; returns how many ran. */
  fireDue(): number {
    const due = this.#timers.filter((timer) => !timer.canceled && timer.dueAt <= this.t);
    this.#timers = this.#timers.filter((timer) => !timer.canceled && timer.dueAt > this.t);
    for (const timer of due) timer.callback();
    return due.length;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe("attempt runner", () => {
  it("passes ids and metadata unchanged, keeps success bytes, completes in time", async () => {
    const clock = new ManualClock();
    const req = request({ attemptNumber: 2, maxAttempts: 3, timeoutMs: 60_000, safetyLevel: "idempotent" });
    let seen: HandlerContext | undefined;
    const r = await new AttemptRunner({ clock }).run(async (ctx) => {
      seen = ctx;
      clock.advance(5);
      return success(new Uint8Array([7, 8]));
    }, req);
    expect(seen?.runId).toBe(req.runId);
    expect(seen?.attemptId).toBe(req.attemptId);
    expect(seen?.taskId).toBe(req.taskId);
    expect(seen?.metadata).toEqual({ attemptNumber: 2, maxAttempts: 3, timeoutMs: 60_000, safetyLevel: "idempotent" });
    expect(r.runId).toBe(req.runId);
    expect(r.attemptId).toBe(req.attemptId);
    expect(r.response).toMatchObject({ kind: "success", output: new Uint8Array([7, 8]) });
    expect(r.timeout).toBe("completedInTime");
    expect(r.elapsedMs).toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fake elapsed 2 s over a 1 s timeout: success becomes Timeout{1000}, retry 1 of 2", async () => {
    const clock = new ManualClock();
    const r = await new AttemptRunner({ clock }).run(() => {
      clock.advance(2_000);
      return "done";
    }, request({ timeoutMs: 1_000, maxAttempts: 2 }));
    expect(r.response).toEqual({ kind: "timeout", timeoutMs: 1_000 });
    expect(r.timeout).toBe("timedOut");
    expect(decideRetry({ outcome: r.response.kind, attemptNumber: 1, maxAttempts: 2 }).kind).toBe("retryWait");
  });

  it("retryable failure without timeout is preserved; 3 of 5 retries", async () => {
    const r = await runAttempt(async () => {
      throw new Error("flaky");
    }, request());
    expect(r.response).toEqual({ kind: "retryableFailure", error: "flaky" });
    expect(r.timeout).toBe("notConfigured");
    expect(decideRetry({ outcome: r.response.kind, attemptNumber: 3, maxAttempts: 5 }).kind).toBe("retryWait");
  });

  it("a TerminalError is terminal", async () => {
    const r = await runAttempt(() => {
      throw new TerminalError("bad");
    }, request({ timeoutMs: 1_000 }), { clock: new ManualClock() });
    expect(r.response).toEqual({ kind: "terminalFailure", error: "bad" });
  });

  it("a handler that ignores its signal and never settles resolves as Timeout at the deadline", async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const p = new AttemptRunner({ clock }).run((ctx) => {
      signal = ctx.signal;
      return new Promise(() => undefined);
    }, request({ timeoutMs: 5_000 }));
    clock.advance(4_999);
    await flush();
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    const r = await p;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe("timeout");
    expect(r.response).toEqual({ kind: "timeout", timeoutMs: 5_000 });
    expect(r.elapsedMs).toBe(5_000);
  });

  it("a late success is discarded and reported; cooperation vs threshold", async () => {
    const clock = new ManualClock();
    const late: LateSettlement[] = [];
    const runner = new AttemptRunner({ clock, maxCancellationPollLatencyMs: 5, onLateSettle: (s) => late.push(s) });
    let finish: (v: unknown) => void = () => undefined;
    const p = runner.run(() => new Promise((r) => (finish = r)), request({ timeoutMs: 100 }));
    clock.advance(100);
    const r = await p;
    expect(r.response.kind).toBe("timeout");
    clock.advance(15);
    finish("too late");
    await flush();
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ reason: "timeout", latencyMs: 15, cooperation: "cooperativeThresholdBreach" });
    expect(late[0]?.discarded.kind).toBe("success");

    const runner2 = new AttemptRunner({ clock, maxCancellationPollLatencyMs: 10, onLateSettle: (s) => late.push(s) });
    let observe: () => void = () => undefined;
    const p2 = runner2.run(
      (ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener("abort", () => {
            observe = () => reject(new Error("aborted"));
          });
        }),
      request({ timeoutMs: 10 }),
    );
    clock.advance(10);
    expect((await p2).response.kind).toBe("timeout");
    clock.advance(5);
    observe();
    await flush();
    expect(late[1]).toMatchObject({ latencyMs: 5, cooperation: "cooperative" });
  });

  it("suspended beats Timeout; Timeout overrides a late success (result lands after the deadline)", async () => {
    const clock = new LaggingClock();
    const runner = new AttemptRunner({ clock });
    const s = await runner.run(async () => {
      clock.t += 6_000;
      return suspended("partial");
    }, request({ timeoutMs: 5_000 }));
    expect(s.response.kind).toBe("suspended");
    expect(s.timeout).toBe("timedOut");
    const t = await runner.run(async () => {
      clock.t += 6_000;
      return success("ok");
    }, request({ timeoutMs: 5_000, maxAttempts: 4 }));
    expect(t.response).toEqual({ kind: "timeout", timeoutMs: 5_000 });
    expect(decideRetry({ outcome: t.response.kind, attemptNumber: 1, maxAttempts: 4 }).kind).toBe("retryWait");
    expect(decideRetry({ outcome: t.response.kind, attemptNumber: 1, maxAttempts: 2 }).kind).toBe("retryWait");
    expect(decideRetry({ outcome: t.response.kind, attemptNumber: 2, maxAttempts: 2 }).kind).toBe("failed");
  });

  it("equal to the limit is in time", async () => {
    const clock = new LaggingClock();
    const r = await new AttemptRunner({ clock }).run(() => {
      clock.t += 5_000;
    }, request({ timeoutMs: 5_000 }));
    expect(r.response.kind).toBe("success");
    expect(r.timeout).toBe("completedInTime");
  });

  it("no timeout: no timer is created and the signal never aborts", async () => {
    const clock = new ManualClock();
    let pending = -1;
    let aborted = true;
    const r = await new AttemptRunner({ clock }).run((ctx) => {
      pending = clock.pendingTimers;
      aborted = ctx.signal.aborted;
    }, request());
    expect(pending).toBe(0);
    expect(aborted).toBe(false);
    expect(r.timeout).toBe("notConfigured");
  });

  it("a timeout that is met creates one timer and cancels it", async () => {
    const clock = new ManualClock();
    let pending = -1;
    await new AttemptRunner({ clock }).run(() => {
      pending = clock.pendingTimers;
    }, request({ timeoutMs: 50 }));
    expect(pending).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("cancellation is isolated between consecutive attempts of one run", async () => {
    const clock = new ManualClock();
    const runner = new AttemptRunner({ clock });
    const runId = ids.runId();
    const signals: AbortSignal[] = [];
    const p1 = runner.run((ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => undefined);
    }, request({ runId, timeoutMs: 10 }));
    clock.advance(10);
    await p1;
    const r2 = await runner.run((ctx) => {
      signals.push(ctx.signal);
    }, request({ runId, timeoutMs: 10 }));
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
    expect(r2.response.kind).toBe("success");
    expect(r2.runId).toBe(runId);
  });

  it("a synchronously throwing handler is a failure; the runner stays usable", async () => {
    const runner = new AttemptRunner({ clock: new ManualClock() });
    const a = await runner.run(() => {
      throw new Error("panic");
    }, request({ timeoutMs: 10 }));
    expect(a.response).toEqual({ kind: "retryableFailure", error: "panic" });
    const b = await runner.run(() => "fine", request({ timeoutMs: 10 }));
    expect(b.response.kind).toBe("success");
  });

  it("an external signal aborts ctx.signal and resolves as canceled at once", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let reason: unknown;
    const p = new AttemptRunner({ clock }).run((ctx) => {
      ctx.signal.addEventListener("abort", () => {
        reason = ctx.signal.reason;
      });
      return new Promise(() => undefined);
    }, request({ signal: controller.signal }));
    controller.abort("shutdown");
    const r = await p;
    expect(r.canceled).toBe("shutdown");
    expect(r.response).toEqual({ kind: "retryableFailure", error: "attempt canceled (shutdown)" });
    expect(reason).toBe("shutdown");
  });

  it("an already-aborted signal does not call the handler; foreign reasons count as cancel", async () => {
    const controller = new AbortController();
    controller.abort(new Error("whatever"));
    let called = false;
    const r = await runAttempt(() => {
      called = true;
    }, request({ signal: controller.signal, timeoutMs: 100 }), { clock: new ManualClock() });
    expect(called).toBe(false);
    expect(r.canceled).toBe("cancel");
  });

  it("the caller's attempt id is used, never regenerated", async () => {
    const attemptId = ids.attemptId();
    const r = await runAttempt(() => undefined, request({ attemptId }));
    expect(r.attemptId).toBe(attemptId);
  });

  it("real short timeout with the system clock: never-settling handler resolves as Timeout", async () => {
    const started = Date.now();
    const r = await runAttempt(() => new Promise(() => undefined), request({ timeoutMs: 20 }), { clock: systemClock });
    expect(r.response).toEqual({ kind: "timeout", timeoutMs: 20 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("near-deadline races on the real clock: a timeout always aborted ctx.signal, a success never saw it aborted, each attempt is decided once", async () => {
    // Handlers finish from 3 ms before their deadline to 3 ms after it, some also as soon
    // as their signal aborts, some holding the event loop past the deadline (as a busy
    // process does). Which side of the deadline each lands on is up to the machine, so
    // only the implications are asserted, never how long anything took.
    const late: LateSettlement[] = [];
    const runner = new AttemptRunner({ clock: systemClock, onLateSettle: (s) => late.push(s) });
    let timeouts = 0;
    for (let i = 0; i < 84; i++) {
      const timeoutMs = 3 + (i % 3);
      const margin = (i % 7) - 3;
      const cooperative = i % 2 === 0;
      const holdsLoop = i % 4 === 1;
      const req = request({ timeoutMs });
      const results: AttemptResult[] = [];
      const lateBefore = late.length;
      let ctxRef: HandlerContext | undefined;
      let abortedWhenSettled: boolean | undefined;
      let settledAs: string | undefined;
      let markSettled!: () => void;
      const handlerSettled = new Promise<void>((resolve) => (markSettled = resolve));
      runner.start(
        (ctx) =>
          new Promise<string>((resolve, reject) => {
            ctxRef = ctx;
            const settle = (kind: string, how: () => void): void => {
              if (settledAs !== undefined) return;
              abortedWhenSettled = ctx.signal.aborted;
              settledAs = kind;
              how();
              markSettled();
            };
            setTimeout(() => settle("success", () => resolve("done")), timeoutMs + margin);
            if (cooperative) ctx.signal.addEventListener("abort", () => settle("retryableFailure", () => reject(new Error("aborted"))));
            if (holdsLoop) {
              const started = Date.now();
              while (Date.now() - started <= timeoutMs + 1) {
                // busy: the deadline passes before any timer can run
              }
            }
          }),
        req,
        (r) => results.push(r),
      );
      await handlerSettled;
      await flush();
      // Past the deadline whatever happened: a deadline timer left armed would have fired by now.
      await new Promise((resolve) => setTimeout(resolve, timeoutMs + 1));
      const what = `iteration ${i} (timeout ${timeoutMs} ms, margin ${margin}, ${cooperative ? "cooperative" : "ignores its signal"}${holdsLoop ? ", holds the loop" : ""})`;
      expect(results, what).toHaveLength(1);
      const r = results[0]!;
      const signal = ctxRef!.signal;
      if (r.response.kind === "timeout") {
        timeouts++;
        expect(r.timeout, what).toBe("timedOut");
        expect(signal.aborted, what).toBe(true);
        expect(signal.reason, what).toBe("timeout");
      } else {
        expect(r.response.kind, what).toBe("success");
        expect(r.timeout, what).toBe("completedInTime");
        expect(abortedWhenSettled, what).toBe(false);
        expect(signal.aborted, what).toBe(false);
      }
      expect(r.canceled, what).toBeUndefined();
      // Late means the handler settled after the timeout was decided, which aborted its signal first.
      const reported = late.slice(lateBefore);
      if (abortedWhenSettled === true) {
        expect(r.response.kind, what).toBe("timeout");
        expect(reported, what).toHaveLength(1);
        expect(reported[0], what).toMatchObject({ attemptId: req.attemptId, reason: "timeout", discarded: { kind: settledAs } });
      } else {
        expect(reported, what).toEqual([]);
      }
    }
    // Handlers finishing 3 ms after a deadline always find it decided (their timer expires after it).
    expect(timeouts).toBeGreaterThan(0);
    expect(late.length).toBeGreaterThan(0);
  });

  it("a handler settling after the deadline, before the deadline's timer ran, is a timeout: its signal aborts, it is decided once and not reported late", async () => {
    // The three orders of a handler's result and its deadline timer (held back, as on a
    // busy event loop, until fireDue()).
    const clock = new HeldTimersClock();
    const late: LateSettlement[] = [];
    const runner = new AttemptRunner({ clock, onLateSettle: (s) => late.push(s) });
    const cases = [
      { name: "settles at the deadline, then the timer is due", settleAt: 100, fireFirst: false, kind: "success", late: 0 },
      { name: "settles after the deadline, before the timer ran", settleAt: 101, fireFirst: false, kind: "timeout", late: 0 },
      { name: "the timer runs, then the handler settles", settleAt: 101, fireFirst: true, kind: "timeout", late: 1 },
    ] as const;
    for (const readsSignal of [true, false]) {
      for (const c of cases) {
        const what = `${c.name}${readsSignal ? ", signal read at once" : ""}`;
        const start = clock.t;
        const lateBefore = late.length;
        const results: AttemptResult[] = [];
        let ctxRef: HandlerContext | undefined;
        let finish!: () => void;
        let abortedWhenSettled: boolean | undefined;
        runner.start(
          (ctx) => {
            ctxRef = ctx;
            if (readsSignal) void ctx.signal;
            return new Promise<void>((resolve) => {
              finish = () => {
                abortedWhenSettled = ctx.signal.aborted;
                resolve();
              };
            });
          },
          request({ timeoutMs: 100 }),
          (r) => results.push(r),
        );
        clock.t = start + c.settleAt;
        if (c.fireFirst) expect(clock.fireDue(), what).toBe(1);
        finish();
        await flush();
        // Whatever was decided cancelled the deadline timer, or it already ran.
        expect(clock.fireDue(), what).toBe(0);
        expect(results, what).toHaveLength(1);
        expect(results[0]?.response.kind, what).toBe(c.kind);
        expect(abortedWhenSettled, what).toBe(c.fireFirst);
        expect(ctxRef!.signal.aborted, what).toBe(c.kind === "timeout");
        if (c.kind === "timeout") expect(ctxRef!.signal.reason, what).toBe("timeout");
        expect(late.length - lateBefore, what).toBe(c.late);
      }
    }
  });

  it("one shared shutdown signal across many concurrent attempts triggers no listener-leak warning and aborts them all", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const clock = new ManualClock();
    const runner = new AttemptRunner({ clock });
    const shutdown = new AbortController();
    const pending = Array.from({ length: 50 }, () => runner.run(() => new Promise(() => undefined), request({ signal: shutdown.signal, timeoutMs: 1_000 })));
    shutdown.abort("shutdown");
    const results = await Promise.all(pending);
    await flush();
    process.off("warning", onWarning);
    expect(results.every((r) => r.canceled === "shutdown")).toBe(true);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
    expect(clock.pendingTimers).toBe(0);
  });

  describe("start (callback and abort handle)", () => {
    it("reports a plain return value once, synchronously, with the same result as run", () => {
      const runner = new AttemptRunner({ clock: new ManualClock() });
      const req = request();
      const results: unknown[] = [];
      runner.start(() => "ok", req, (r) => results.push(r));
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ runId: req.runId, attemptId: req.attemptId, timeout: "notConfigured", canceled: undefined, response: { kind: "success" } });
    });

    it("reports an async result and a throw as a failure", async () => {
      const runner = new AttemptRunner({ clock: new ManualClock() });
      const got: string[] = [];
      runner.start(async () => success(), request(), (r) => got.push(r.response.kind));
      runner.start(async () => {
        throw new TerminalError("bad");
      }, request(), (r) => got.push(r.response.kind));
      runner.start(() => {
        throw new Error("sync");
      }, request(), (r) => got.push(r.response.kind));
      expect(got).toEqual(["retryableFailure"]);
      await flush();
      expect(got.sort()).toEqual(["retryableFailure", "success", "terminalFailure"]);
    });

    it("abort resolves at once as canceled, aborts ctx.signal, discards the late result and reports it", async () => {
      const clock = new ManualClock();
      const late: LateSettlement[] = [];
      const runner = new AttemptRunner({ clock, onLateSettle: (s) => late.push(s) });
      let finishHandler!: () => void;
      let signal: AbortSignal | undefined;
      const results: { canceled: unknown; kind: string }[] = [];
      const handle = runner.start(
        (ctx) =>
          new Promise<void>((resolve) => {
            signal = ctx.signal;
            finishHandler = resolve;
          }),
        request({ timeoutMs: 1_000 }),
        (r) => results.push({ canceled: r.canceled, kind: r.response.kind }),
      );
      expect(clock.pendingTimers).toBe(1);
      handle.abort("cancel");
      expect(results).toEqual([{ canceled: "cancel", kind: "retryableFailure" }]);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe("cancel");
      expect(clock.pendingTimers).toBe(0);
      handle.abort("shutdown"); // no-op once resolved
      finishHandler();
      await flush();
      expect(results).toHaveLength(1);
      expect(late).toHaveLength(1);
      expect(late[0]?.reason).toBe("cancel");
    });

    it("a signal read after the abort is already aborted; no controller exists unless the handler reads it", async () => {
      const runner = new AttemptRunner({ clock: new ManualClock() });
      let ctxRef: HandlerContext | undefined;
      const handle = runner.start(
        (ctx) => {
          ctxRef = ctx;
          return new Promise(() => undefined);
        },
        request(),
        () => undefined,
      );
      handle.abort("shutdown");
      expect(ctxRef?.signal.aborted).toBe(true);
      expect(ctxRef?.signal.reason).toBe("shutdown");
    });

    it("times out on the deadline like run", () => {
      const clock = new ManualClock();
      const runner = new AttemptRunner({ clock });
      const results: string[] = [];
      runner.start(() => new Promise(() => undefined), request({ timeoutMs: 50 }), (r) => results.push(`${r.response.kind}:${r.timeout}`));
      clock.advance(50);
      expect(results).toEqual(["timeout:timedOut"]);
    });

    it("a pre-aborted request signal never calls the handler", () => {
      const runner = new AttemptRunner({ clock: new ManualClock() });
      const c = new AbortController();
      c.abort("shutdown");
      let called = false;
      const results: unknown[] = [];
      runner.start(() => {
        called = true;
      }, request({ signal: c.signal }), (r) => results.push(r.canceled));
      expect(called).toBe(false);
      expect(results).toEqual(["shutdown"]);
    });
  });
});
