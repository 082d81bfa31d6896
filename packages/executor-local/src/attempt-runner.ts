/**
 * The attempt runner: calls a handler exactly once and turns whatever happens
 * into an {@link AttemptResult}. Deadlines are real: at `timeoutMs` (measured on
 * the injected clock) the context's signal aborts and the attempt resolves as
 * a timeout at that moment, whether or not the handler ever settles; its late
 * result is discarded. The common case (no timeout, no external signal) takes
 * a fast path with no timer, no extra promise and no AbortController; hot
 * callers use {@link AttemptRunner.start}, which reports through a callback
 * and aborts through a handle instead of an `AbortSignal` per attempt.
 */
import { setMaxListeners } from "node:events";
import { systemClock } from "@actionqueue/core";
import type { AttemptId, Clock, ClockTimer, RunId } from "@actionqueue/core";
import { AttemptContext } from "./attempt-context.js";
import type { AttemptRequest } from "./attempt-context.js";
import type { ExecutorResponse } from "./executor-response.js";
import type { AttemptAbortReason, Handler } from "./handler.js";
import { errorToResponse, toExecutorResponse } from "./handler.js";
import type { CancellationCooperation, TimeoutClassification } from "./timeout.js";
import { DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS, classifyCooperation, classifyTimeout } from "./timeout.js";

/** What one attempt produced. */
export interface AttemptResult {
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  /**
   * The response to record. For a canceled attempt it is a retryable failure
   * (`attempt canceled (<reason>)`); check {@link AttemptResult.canceled} first.
   */
  readonly response: ExecutorResponse;
  /** Clock time from start to resolution, ms. */
  readonly elapsedMs: number;
  readonly timeout: TimeoutClassification;
  /**
   * Set when the external signal ended the attempt (cancellation, shutdown,
   * budget): the runtime should not treat it as an ordinary failure.
   */
  readonly canceled: Exclude<AttemptAbortReason, "timeout"> | undefined;
}

/** Reported when a handler settles after its attempt was already resolved by a timeout or cancellation. */
export interface LateSettlement {
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly reason: AttemptAbortReason;
  /** Clock ms between the abort and the handler settling. */
  readonly latencyMs: number;
  /** For timeouts: whether the handler reacted within the poll-latency threshold. */
  readonly cooperation: CancellationCooperation;
  /** The discarded response. */
  readonly discarded: ExecutorResponse;
}

/** Options of an {@link AttemptRunner}. */
export interface AttemptRunnerOptions {
  /** Time and timers (default: the system clock). */
  readonly clock?: Clock;
  /** Latency above which a late-but-cooperative handler counts as a breach (default 250 ms). */
  readonly maxCancellationPollLatencyMs?: number;
  /** Called when a discarded handler finally settles (metrics, logs). Never throws into the runner. */
  readonly onLateSettle?: (settlement: LateSettlement) => void;
}

/** Signals shared by many concurrent attempts (a shutdown signal) would trip Node's listener-leak warning. */
const unboundedSignals = new WeakSet<AbortSignal>();

function listenOnce(signal: AbortSignal, listener: () => void): void {
  if (!unboundedSignals.has(signal)) {
    unboundedSignals.add(signal);
    setMaxListeners(0, signal);
  }
  signal.addEventListener("abort", listener, { once: true });
}

const CANCEL_REASONS: ReadonlySet<unknown> = new Set(["cancel", "shutdown", "budget"]);

function cancelReasonOf(signal: AbortSignal): Exclude<AttemptAbortReason, "timeout"> {
  const reason: unknown = signal.reason;
  return CANCEL_REASONS.has(reason) ? (reason as Exclude<AttemptAbortReason, "timeout">) : "cancel";
}

function result(
  request: AttemptRequest,
  response: ExecutorResponse,
  elapsedMs: number,
  timeout: TimeoutClassification,
  canceled: Exclude<AttemptAbortReason, "timeout"> | undefined,
): AttemptResult {
  return { runId: request.runId, attemptId: request.attemptId, response, elapsedMs, timeout, canceled };
}

function settleResponse(request: AttemptRequest, response: ExecutorResponse, elapsedMs: number): AttemptResult {
  const timeout = classifyTimeout(request.timeoutMs, elapsedMs);
  // Suspended beats Timeout; Timeout overrides everything else (output and error text discarded).
  if (timeout === "timedOut" && response.kind !== "suspended") {
    return result(request, { kind: "timeout", timeoutMs: request.timeoutMs! }, elapsedMs, timeout, undefined);
  }
  return result(request, response, elapsedMs, timeout, undefined);
}

/** A started attempt (see {@link AttemptRunner.start}). */
export interface AttemptHandle {
  /**
   * Aborts the attempt: `ctx.signal` aborts with `reason` and the attempt
   * resolves at once as canceled (a later handler result is discarded). A
   * no-op once the attempt resolved.
   */
  abort(reason: Exclude<AttemptAbortReason, "timeout">): void;
}

/** Receives the result of an attempt started with {@link AttemptRunner.start}; called exactly once. */
export type AttemptResultCallback = (result: AttemptResult) => void;

/** Runs handler attempts with timeout enforcement and cancellation. Reusable and stateless between attempts. */
export class AttemptRunner {
  /** Time and timers used for deadlines and elapsed time. */
  readonly clock: Clock;
  /** Cooperation threshold for late settlements, ms. */
  readonly maxCancellationPollLatencyMs: number;
  /** Observer of discarded late results. */
  readonly onLateSettle: ((settlement: LateSettlement) => void) | undefined;

  constructor(options: AttemptRunnerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxCancellationPollLatencyMs = options.maxCancellationPollLatencyMs ?? DEFAULT_MAX_CANCELLATION_POLL_LATENCY_MS;
    this.onLateSettle = options.onLateSettle;
  }

  /**
   * Calls `handler` once for `request`. Never rejects: a throw becomes a
   * failure response. Resolves at the deadline (timeout) or on external abort
   * (canceled) even if the handler never settles.
   */
  run<TPayload>(handler: Handler<TPayload>, request: AttemptRequest): Promise<AttemptResult> {
    const ctx = new AttemptContext<TPayload>(request);
    if (request.timeoutMs === undefined && request.signal === undefined) return this.#runPlain(handler, ctx, request);
    return new Promise<AttemptResult>((resolve) => {
      new PendingAttempt(this, handler as Handler<unknown>, ctx, request, resolve);
    });
  }

  /**
   * Like {@link run}, for hot paths: calls `handler` once for `request` and
   * hands the result to `onResult` instead of a promise: exactly once, and
   * from inside this call when the handler returns a plain value or throws
   * (or `request.signal` is already aborted), later otherwise. The returned handle aborts the attempt, which is how a
   * caller cancels it without an `AbortSignal` per attempt: no
   * `AbortController` exists unless the handler reads `ctx.signal`.
   * `request.signal` and `request.timeoutMs` work as in {@link run}.
   */
  start<TPayload>(handler: Handler<TPayload>, request: AttemptRequest, onResult: AttemptResultCallback): AttemptHandle {
    return new PendingAttempt(this, handler as Handler<unknown>, new AttemptContext<TPayload>(request), request, onResult);
  }

  async #runPlain<TPayload>(handler: Handler<TPayload>, ctx: AttemptContext<TPayload>, request: AttemptRequest): Promise<AttemptResult> {
    const startedAt = this.clock.now();
    let response: ExecutorResponse;
    try {
      response = toExecutorResponse(await handler(ctx));
    } catch (error) {
      response = errorToResponse(error);
    }
    return result(request, response, this.clock.now() - startedAt, "notConfigured", undefined);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function canceledResponse(reason: AttemptAbortReason): ExecutorResponse {
  return { kind: "retryableFailure", error: `attempt canceled (${reason})` };
}

/**
 * One attempt racing its deadline and its aborts (the handle's `abort` and
 * the request's external signal). Listeners and timers are created only for
 * what the request configures; the common attempt allocates no closures but
 * the two it hands to the handler's promise.
 */
class PendingAttempt implements AttemptHandle {
  readonly #runner: AttemptRunner;
  readonly #ctx: AttemptContext<unknown>;
  readonly #request: AttemptRequest;
  readonly #startedAt: number;
  readonly #onResult: AttemptResultCallback;
  #settled = false;
  #timer: ClockTimer | undefined;
  #signalListener: (() => void) | undefined;
  #abortedAt = 0;

  constructor(runner: AttemptRunner, handler: Handler<unknown>, ctx: AttemptContext<unknown>, request: AttemptRequest, onResult: AttemptResultCallback) {
    this.#runner = runner;
    this.#ctx = ctx;
    this.#request = request;
    this.#onResult = onResult;
    const startedAt = runner.clock.now();
    this.#startedAt = startedAt;
    const signal = request.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        // Aborted before it began: the handler is never called.
        const reason = cancelReasonOf(signal);
        this.#settled = true;
        ctx.abort(reason);
        onResult(result(request, canceledResponse(reason), 0, classifyTimeout(request.timeoutMs, 0), reason));
        return;
      }
      this.#signalListener = () => this.abort(cancelReasonOf(signal));
      listenOnce(signal, this.#signalListener);
    }
    if (request.timeoutMs !== undefined) this.#timer = runner.clock.setTimeout(() => this.#onDeadline(), request.timeoutMs);
    let value: unknown;
    try {
      value = handler(ctx);
    } catch (error) {
      this.#settle(errorToResponse(error));
      return;
    }
    if (isThenable(value)) {
      // Promise.resolve adopts a foreign thenable safely (at most one callback, never synchronously); a native promise passes through.
      Promise.resolve(value).then(
        (v) => this.#settle(toExecutorResponse(v)),
        (e: unknown) => this.#settle(errorToResponse(e)),
      );
    } else this.#settle(toExecutorResponse(value));
  }

  abort(reason: Exclude<AttemptAbortReason, "timeout">): void {
    if (this.#settled) return;
    const req = this.#request;
    this.#abortedAt = this.#runner.clock.now();
    this.#ctx.abort(reason);
    const elapsed = this.#abortedAt - this.#startedAt;
    this.#finish(result(req, canceledResponse(reason), elapsed, classifyTimeout(req.timeoutMs, elapsed), reason));
  }

  #finish(value: AttemptResult): void {
    this.#settled = true;
    if (this.#timer !== undefined) this.#timer.cancel();
    if (this.#signalListener !== undefined) this.#request.signal!.removeEventListener("abort", this.#signalListener);
    this.#onResult(value);
  }

  #onDeadline(): void {
    if (this.#settled) return;
    const req = this.#request;
    this.#abortedAt = this.#runner.clock.now();
    this.#ctx.abort("timeout");
    this.#finish(result(req, { kind: "timeout", timeoutMs: req.timeoutMs! }, this.#abortedAt - this.#startedAt, "timedOut", undefined));
  }

  #settle(response: ExecutorResponse): void {
    const now = this.#runner.clock.now();
    if (this.#settled) {
      this.#reportLate(response, now);
      return;
    }
    const value = settleResponse(this.#request, response, now - this.#startedAt);
    // The deadline passed before its timer could run (a busy event loop): the
    // attempt times out all the same, so its signal aborts as the timer would have.
    if (value.timeout === "timedOut" && value.response.kind === "timeout") this.#ctx.abort("timeout");
    this.#finish(value);
  }

  #reportLate(discarded: ExecutorResponse, now: number): void {
    const hook = this.#runner.onLateSettle;
    const reason = this.#ctx.abortReason;
    if (hook === undefined || reason === undefined) return;
    const latencyMs = now - this.#abortedAt;
    const cooperation =
      reason === "timeout" ? classifyCooperation("timedOut", latencyMs, this.#runner.maxCancellationPollLatencyMs) : "notApplicable";
    try {
      hook({ runId: this.#request.runId, attemptId: this.#request.attemptId, reason, latencyMs, cooperation, discarded });
    } catch {
      // A failing observer must not break the runner.
    }
  }
}

/**
 * Runs one attempt with a throwaway runner: `new AttemptRunner(options).run(handler, request)`.
 * Prefer one shared {@link AttemptRunner} in hot paths.
 */
export function runAttempt<TPayload>(handler: Handler<TPayload>, request: AttemptRequest, options: AttemptRunnerOptions = {}): Promise<AttemptResult> {
  return new AttemptRunner(options).run(handler, request);
}
