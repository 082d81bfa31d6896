/**
 * The concrete handler context. A class (methods on the prototype, no
 * per-attempt closures) whose AbortController is created only when a handler
 * first reads `signal`, because most handlers never do and the runner runs
 * tens of thousands of attempts per second.
 */
import { payloadJson } from "@actionqueue/core";
import type { AttemptId, RunId, SafetyLevel, TaskId } from "@actionqueue/core";
import type { AttemptAbortReason, AttemptMetadata, HandlerContext } from "./handler.js";
import { TerminalError } from "./handler.js";

/** One attempt to run: ids, payload, metadata and an optional external cancellation signal. */
export interface AttemptRequest {
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly taskId: TaskId;
  readonly payload: Uint8Array;
  readonly contentType?: string | undefined;
  /** 1-based attempt number (counted attempts when the runtime excludes suspended ones). */
  readonly attemptNumber: number;
  readonly maxAttempts: number;
  /** Per-attempt limit (ms); absent: no timeout and no timer. */
  readonly timeoutMs?: number | undefined;
  /** Default `pure`. */
  readonly safetyLevel?: SafetyLevel | undefined;
  /**
   * Cancellation/shutdown from the caller. When it aborts, `ctx.signal` aborts
   * and the attempt resolves at once as canceled. Its `reason` may be one of
   * `"cancel" | "shutdown" | "budget"`; anything else counts as `"cancel"`.
   */
  readonly signal?: AbortSignal | undefined;
}

/** The {@link HandlerContext} implementation handed to handlers. */
export class AttemptContext<TPayload = unknown> implements HandlerContext<TPayload> {
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly taskId: TaskId;
  readonly contentType: string | undefined;
  readonly attemptNumber: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  readonly safetyLevel: SafetyLevel;
  /** The task's own bytes: never handed out, only copied or parsed. */
  readonly #taskPayload: Uint8Array;
  #payload: Uint8Array | undefined;
  #controller: AbortController | undefined;
  #abortReason: AttemptAbortReason | undefined;
  #json: { value: TPayload } | undefined;

  constructor(request: AttemptRequest) {
    this.runId = request.runId;
    this.attemptId = request.attemptId;
    this.taskId = request.taskId;
    this.#taskPayload = request.payload;
    this.contentType = request.contentType;
    this.attemptNumber = request.attemptNumber;
    this.maxAttempts = request.maxAttempts;
    this.timeoutMs = request.timeoutMs;
    this.safetyLevel = request.safetyLevel ?? "pure";
  }

  /** The attempt metadata as one object. */
  get metadata(): AttemptMetadata {
    return { attemptNumber: this.attemptNumber, maxAttempts: this.maxAttempts, timeoutMs: this.timeoutMs, safetyLevel: this.safetyLevel };
  }

  /** Aborts on timeout, cancellation or shutdown (created on first read). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Why the signal aborted, if it did. */
  get abortReason(): AttemptAbortReason | undefined {
    return this.#abortReason;
  }

  /**
   * The payload bytes: this attempt's own copy, made when first read. A
   * handler may change them in place (decode, unmask) without changing what
   * a retry of the run receives.
   */
  get payload(): Uint8Array {
    this.#payload ??= this.#taskPayload.length === 0 ? this.#taskPayload : this.#taskPayload.slice();
    return this.#payload;
  }

  /** The payload parsed as JSON (cached); a non-JSON payload throws a `TerminalError`. */
  json(): TPayload {
    if (this.#json === undefined) {
      try {
        // Parsed from the task's bytes, not a copy: parsing changes nothing.
        this.#json = { value: payloadJson<TPayload>({ bytes: this.#taskPayload }) };
      } catch (cause) {
        throw new TerminalError(`payload of run ${this.runId} is not valid JSON`, { cause });
      }
    }
    return this.#json.value;
  }

  /** Aborts the signal (first reason wins). Internal to the runner. */
  abort(reason: AttemptAbortReason): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
