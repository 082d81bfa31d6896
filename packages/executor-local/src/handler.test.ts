import { ActionQueueError, createIdFactory, ManualClock } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { AttemptContext } from "./attempt-context.js";
import {
  MAX_ERROR_MESSAGE_CHARS,
  TerminalError,
  errorToResponse,
  isHandlerOutput,
  retryableFailure,
  success,
  suspended,
  terminalFailure,
  toExecutorResponse,
} from "./handler.js";

const ids = createIdFactory(new ManualClock());
const enc = (s: string) => new TextEncoder().encode(s);

describe("output normalisation", () => {
  it("nothing is a success without output", () => {
    expect(toExecutorResponse(undefined)).toEqual({ kind: "success" });
    expect(toExecutorResponse(null)).toEqual({ kind: "success" });
  });
  it("bytes, strings and JSON values become output", () => {
    expect(toExecutorResponse(new Uint8Array([1, 2]))).toEqual({ kind: "success", output: new Uint8Array([1, 2]) });
    expect(toExecutorResponse("héllo")).toEqual({ kind: "success", output: enc("héllo") });
    expect(toExecutorResponse({ a: 1 })).toEqual({ kind: "success", output: enc('{"a":1}') });
    expect(toExecutorResponse(42)).toEqual({ kind: "success", output: enc("42") });
    expect(toExecutorResponse(new Uint8Array())).toEqual({ kind: "success" });
  });
  it("a plain object shaped like an output is data, not an output", () => {
    expect(toExecutorResponse({ kind: "terminalFailure", error: "x" }).kind).toBe("success");
  });
  it("unserialisable values are terminal failures", () => {
    expect(toExecutorResponse(10n).kind).toBe("terminalFailure");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toExecutorResponse(cyclic).kind).toBe("terminalFailure");
    expect(toExecutorResponse(() => 1).kind).toBe("terminalFailure");
  });
  it("helpers build each variant and are recognised", () => {
    expect(success()).toMatchObject({ kind: "success" });
    expect(success("x")).toMatchObject({ kind: "success", output: enc("x") });
    expect(success("").output).toBeUndefined();
    expect(retryableFailure("r")).toMatchObject({ kind: "retryableFailure", error: "r" });
    expect(terminalFailure("t")).toMatchObject({ kind: "terminalFailure", error: "t" });
    expect(suspended()).toMatchObject({ kind: "suspended" });
    expect(suspended(new Uint8Array([9])).output).toEqual(new Uint8Array([9]));
    expect(retryableFailure("").kind === "retryableFailure" && retryableFailure("").error.length).toBeGreaterThan(0);
    expect(isHandlerOutput(success())).toBe(true);
    expect(isHandlerOutput({ kind: "success" })).toBe(false);
    expect(toExecutorResponse(terminalFailure("t"))).toMatchObject({ kind: "terminalFailure", error: "t" });
  });
});

describe("thrown errors", () => {
  it("an ordinary error is retryable with its message", () => {
    expect(errorToResponse(new Error("boom"))).toEqual({ kind: "retryableFailure", error: "boom" });
    expect(errorToResponse("text")).toEqual({ kind: "retryableFailure", error: "text" });
    expect(errorToResponse(new Error("")).kind === "retryableFailure").toBe(true);
  });
  it("TerminalError is terminal, also recognised by code alone", () => {
    const e = new TerminalError("bad input");
    expect(ActionQueueError.hasCode(e, "TERMINAL_HANDLER_ERROR")).toBe(true);
    expect(errorToResponse(e)).toEqual({ kind: "terminalFailure", error: "bad input" });
    const foreign = Object.assign(new Error("other copy"), { code: "TERMINAL_HANDLER_ERROR" });
    expect(errorToResponse(foreign)).toEqual({ kind: "terminalFailure", error: "other copy" });
  });
  it("a message is kept as the WAL's UTF-8 gives it back: lone surrogates become U+FFFD, pairs stay", () => {
    expect(errorToResponse(new Error("a\uD800b\uDC00"))).toEqual({ kind: "retryableFailure", error: "a\uFFFDb\uFFFD" });
    expect(errorToResponse(new TerminalError("\u{1F600}"))).toEqual({ kind: "terminalFailure", error: "\u{1F600}" });
    expect(retryableFailure("x\uDBFF").error).toBe("x\uFFFD");
    expect(terminalFailure("\uDC00").error).toBe("\uFFFD");
  });
});

describe("context", () => {
  const base = {
    runId: ids.runId(),
    attemptId: ids.attemptId(),
    taskId: ids.taskId(),
    attemptNumber: 2,
    maxAttempts: 3,
    timeoutMs: 60_000,
  };
  it("exposes ids, metadata and a typed json() helper", () => {
    const ctx = new AttemptContext<{ n: number }>({ ...base, payload: enc('{"n":7}'), contentType: "application/json" });
    expect(ctx.json().n).toBe(7);
    expect(ctx.json()).toBe(ctx.json());
    expect(ctx.contentType).toBe("application/json");
    expect(ctx.metadata).toEqual({ attemptNumber: 2, maxAttempts: 3, timeoutMs: 60_000, safetyLevel: "pure" });
    expect(ctx.signal.aborted).toBe(false);
  });
  it("json() on a non-JSON payload throws a TerminalError", () => {
    const ctx = new AttemptContext({ ...base, payload: enc("not json") });
    expect(() => ctx.json()).toThrow(TerminalError);
  });
  it("abort before the signal is read still shows on the signal", () => {
    const ctx = new AttemptContext({ ...base, payload: new Uint8Array() });
    ctx.abort("timeout");
    ctx.abort("cancel");
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe("timeout");
  });
});

describe("thrown values whose message cannot be read as text", () => {
  it("an Error subclass that leaves message undefined fails the attempt with its name", () => {
    class Unnamed extends Error {
      constructor() {
        super();
        (this as { message: unknown }).message = undefined;
        this.name = "Unnamed";
      }
    }
    expect(errorToResponse(new Unnamed())).toEqual({ kind: "retryableFailure", error: "Unnamed" });
  });
  it("a message getter that throws still yields a failure, never an exception", () => {
    const error = new Error("x");
    Object.defineProperty(error, "message", {
      get() {
        throw new RangeError("boom");
      },
    });
    expect(errorToResponse(error)).toEqual({ kind: "retryableFailure", error: "handler threw a value whose message could not be read (RangeError)" });
  });
  it("a code getter that throws is not a terminal error", () => {
    const odd = Object.defineProperty(new Error("odd"), "code", {
      get() {
        throw new Error("no");
      },
    });
    expect(errorToResponse(odd)).toEqual({ kind: "retryableFailure", error: "odd" });
  });
  it("a message longer than MAX_ERROR_MESSAGE_CHARS is cut, saying how long it was", () => {
    const long = "y".repeat(MAX_ERROR_MESSAGE_CHARS + 10);
    const response = errorToResponse(new Error(long));
    expect(response.kind).toBe("retryableFailure");
    const error = (response as { error: string }).error;
    expect(error.startsWith("y".repeat(MAX_ERROR_MESSAGE_CHARS))).toBe(true);
    expect(error.endsWith(`… (truncated: ${MAX_ERROR_MESSAGE_CHARS + 10} characters in all)`)).toBe(true);
    expect((retryableFailure(long) as { error: string }).error).toBe(error);
  });
});
