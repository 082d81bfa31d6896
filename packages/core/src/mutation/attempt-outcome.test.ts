import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/support.js";
import type { AttemptResultKind } from "./attempt-outcome.js";
import { ATTEMPT_RESULT_KINDS, AttemptOutcome, countedAttempts, validateAttemptOutcome } from "./attempt-outcome.js";

const bytes = new Uint8Array([1, 2, 3]);

describe("AttemptOutcome factories", () => {
  it("build every result", () => {
    expect(AttemptOutcome.success()).toEqual({ result: "success" });
    expect(AttemptOutcome.successWithOutput(bytes)).toEqual({ result: "success", output: bytes });
    expect(AttemptOutcome.failure("boom")).toEqual({ result: "failure", error: "boom" });
    expect(AttemptOutcome.timeout("deadline")).toEqual({ result: "timeout", error: "deadline" });
    expect(AttemptOutcome.suspended()).toEqual({ result: "suspended" });
    expect(AttemptOutcome.suspendedWithOutput(bytes)).toEqual({ result: "suspended", output: bytes });
  });

  it("share one frozen instance per kind when there is no error and no output", () => {
    const success = AttemptOutcome.success();
    expect(Object.isFrozen(success)).toBe(true);
    expect(AttemptOutcome.success()).toBe(success);
    expect(AttemptOutcome.successWithOutput(new Uint8Array())).toBe(success);
    expect(AttemptOutcome.fromParts("success")).toBe(success);
    expect(AttemptOutcome.fromParts("success", undefined, new Uint8Array())).toBe(success);
    const suspended = AttemptOutcome.suspended();
    expect(Object.isFrozen(suspended)).toBe(true);
    expect(AttemptOutcome.suspendedWithOutput(new Uint8Array())).toBe(suspended);
    expect(AttemptOutcome.fromParts("suspended")).toBe(suspended);
    expect(suspended).not.toBe(success);
    // With output, or with an error, each outcome is its own object.
    expect(AttemptOutcome.successWithOutput(bytes)).not.toBe(AttemptOutcome.successWithOutput(bytes));
    expect(AttemptOutcome.fromParts("success", undefined, bytes)).toEqual({ result: "success", output: bytes });
    expect(AttemptOutcome.failure("x")).not.toBe(AttemptOutcome.failure("x"));
    expect(AttemptOutcome.fromParts("failure", "x")).toEqual({ result: "failure", error: "x" });
  });

  it("copy the output they are given: a handler may return one buffer every time", () => {
    const buffer = new Uint8Array([1, 2, 3]);
    const success = AttemptOutcome.successWithOutput(buffer);
    const suspended = AttemptOutcome.suspendedWithOutput(buffer);
    buffer.fill(9);
    expect([...success.output!]).toEqual([1, 2, 3]);
    expect([...suspended.output!]).toEqual([1, 2, 3]);
  });

  it("normalise empty output to none", () => {
    expect(AttemptOutcome.successWithOutput(new Uint8Array())).toEqual({ result: "success" });
    expect(AttemptOutcome.suspendedWithOutput(new Uint8Array())).toEqual({ result: "suspended" });
  });

  it("reject an empty failure or timeout message", () => {
    expectCode(() => AttemptOutcome.failure(""), "EMPTY_FAILURE_MESSAGE");
    expectCode(() => AttemptOutcome.timeout(""), "EMPTY_FAILURE_MESSAGE");
  });

  it("lists the four results in order", () => {
    expect(ATTEMPT_RESULT_KINDS).toEqual(["success", "failure", "timeout", "suspended"]);
  });
});

describe("AttemptOutcome.fromParts", () => {
  it("accepts every well-formed combination", () => {
    expect(AttemptOutcome.fromParts("success")).toEqual({ result: "success" });
    expect(AttemptOutcome.fromParts("success", undefined, bytes)).toEqual({ result: "success", output: bytes });
    expect(AttemptOutcome.fromParts("suspended", undefined, bytes)).toEqual({ result: "suspended", output: bytes });
    expect(AttemptOutcome.fromParts("failure", "x")).toEqual({ result: "failure", error: "x" });
    expect(AttemptOutcome.fromParts("timeout", "t")).toEqual({ result: "timeout", error: "t" });
  });

  it("normalises empty output too", () => {
    expect(AttemptOutcome.fromParts("success", undefined, new Uint8Array())).toEqual({ result: "success" });
    expect(AttemptOutcome.fromParts("failure", "x", new Uint8Array())).toEqual({ result: "failure", error: "x" });
  });

  it.each(["success", "suspended"] as const)("%s with an error → SUCCESS_WITH_ERROR", (result) => {
    const error = expectCode(() => AttemptOutcome.fromParts(result, "oops"), "SUCCESS_WITH_ERROR");
    expect(error.details).toMatchObject({ result, error: "oops" });
  });

  it.each(["failure", "timeout"] as const)("%s without an error → NON_SUCCESS_WITHOUT_ERROR", (result) => {
    expect(expectCode(() => AttemptOutcome.fromParts(result), "NON_SUCCESS_WITHOUT_ERROR").details).toEqual({ result });
  });

  it.each(["failure", "timeout"] as const)("%s with output → NON_SUCCESS_WITH_OUTPUT", (result) => {
    expectCode(() => AttemptOutcome.fromParts(result, "x", bytes), "NON_SUCCESS_WITH_OUTPUT");
  });

  it("checks in order: error on success before anything else; missing error before output", () => {
    expectCode(() => AttemptOutcome.fromParts("success", "e", bytes), "SUCCESS_WITH_ERROR");
    expectCode(() => AttemptOutcome.fromParts("failure", undefined, bytes), "NON_SUCCESS_WITHOUT_ERROR");
  });

  it("rejects an empty failure message", () => {
    expectCode(() => AttemptOutcome.fromParts("failure", ""), "EMPTY_FAILURE_MESSAGE");
  });

  it("rejects unknown results and wrongly typed parts", () => {
    expectCode(() => AttemptOutcome.fromParts("Success" as AttemptResultKind), "INVALID_ATTEMPT_RESULT");
    expectCode(() => AttemptOutcome.fromParts("failure", 3 as unknown as string), "INVALID_ATTEMPT_RESULT");
    expectCode(() => AttemptOutcome.fromParts("success", undefined, [1] as unknown as Uint8Array), "INVALID_ATTEMPT_RESULT");
  });
});

describe("validateAttemptOutcome", () => {
  it("accepts factory outcomes and rejects a literal with empty output", () => {
    expect(() => validateAttemptOutcome(AttemptOutcome.successWithOutput(bytes))).not.toThrow();
    expectCode(() => validateAttemptOutcome({ result: "success", output: new Uint8Array() }), "INVALID_ATTEMPT_RESULT");
    expectCode(() => validateAttemptOutcome({ result: "failure" }), "NON_SUCCESS_WITHOUT_ERROR");
  });
});

describe("countedAttempts", () => {
  it("subtracts suspended attempts and never goes below 0", () => {
    expect(countedAttempts(5, 2)).toBe(3);
    expect(countedAttempts(1, 3)).toBe(0);
  });
});
