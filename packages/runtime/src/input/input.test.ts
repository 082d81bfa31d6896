import { ActionQueueError } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";
import { formatRunPolicy, parseRunPolicyText } from "./run-policy-text.js";
import { parseConstraintsJson, parseMetadataJson, parseSubmitJson } from "./submit-input.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ActionQueueError.is(error) ? error.code : "NOT_AQ";
  }
  return undefined;
}

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["60s", 60_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["30", 30_000],
    ["1.5s", 1_500],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "abc", "-5s", "0", "0ms", "0.5ms", "5 parsecs"])("rejects %j naming the value", (text) => {
    expect(codeOf(() => parseDuration(text, "interval"))).toBe("INVALID_DURATION");
    expect(() => parseDuration(text, "interval")).toThrow(/interval/);
  });

  it.each(["99999999999d", "9007199254740992ms"])("calls %j too large rather than too small", (text) => {
    expect(codeOf(() => parseDuration(text, "interval"))).toBe("INVALID_DURATION");
    expect(() => parseDuration(text, "interval")).toThrow(/too large, at most 9007199254740991ms/);
  });

  it("formats for people", () => {
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(1_500)).toBe("1.5s");
    expect(formatDuration(300_000)).toBe("5m");
  });
});

describe("parseRunPolicyText", () => {
  it("parses the three forms", () => {
    expect(parseRunPolicyText("once")).toEqual({ kind: "once" });
    expect(parseRunPolicyText("repeat:3:250ms")).toEqual({ kind: "repeat", count: 3, intervalMs: 250 });
    expect(parseRunPolicyText("repeat:2:60")).toEqual({ kind: "repeat", count: 2, intervalMs: 60_000 });
    expect(parseRunPolicyText("cron:*/5 * * * *")).toEqual({ kind: "cron", expression: "*/5 * * * *" });
  });

  it("names the whole input and the bad part", () => {
    expect(() => parseRunPolicyText("repeat:0:60")).toThrow(/"repeat:0:60".*count must be at least 1/);
    expect(codeOf(() => parseRunPolicyText("repeat:0:60"))).toBe("INVALID_REPEAT_COUNT");
    expect(codeOf(() => parseRunPolicyText("repeat:x:60"))).toBe("INVALID_REPEAT_COUNT");
    expect(codeOf(() => parseRunPolicyText("repeat:3"))).toBe("INVALID_RUN_POLICY");
    expect(codeOf(() => parseRunPolicyText("repeat:3:0s"))).toBe("INVALID_DURATION");
    expect(codeOf(() => parseRunPolicyText("cron:61 * * * *"))).toBe("INVALID_CRON_EXPRESSION");
    expect(codeOf(() => parseRunPolicyText("weekly"))).toBe("INVALID_RUN_POLICY");
  });

  it("round-trips through its text form", () => {
    for (const text of ["once", "repeat:4:1500ms", "cron:0 9 * * 1"]) {
      expect(formatRunPolicy(parseRunPolicyText(text))).toBe(text);
    }
  });
});

describe("submission JSON", () => {
  it("refuses unknown keys so typos never become defaults", () => {
    expect(codeOf(() => parseConstraintsJson({ maxAttempt: 3 }))).toBe("UNKNOWN_FIELD");
    expect(() => parseConstraintsJson({ maxAttempt: 3 })).toThrow(/"maxAttempt"/);
    expect(codeOf(() => parseMetadataJson({ prio: 1 }))).toBe("UNKNOWN_FIELD");
    expect(codeOf(() => parseSubmitJson({ runPolicy: "once", payloud: 1 }))).toBe("UNKNOWN_FIELD");
  });

  it("validates values with core's rules", () => {
    expect(codeOf(() => parseConstraintsJson({ maxAttempts: 0 }))).toBe("INVALID_MAX_ATTEMPTS");
    expect(codeOf(() => parseConstraintsJson({ timeoutMs: 0 }))).toBe("ZERO_TIMEOUT");
    expect(codeOf(() => parseConstraintsJson({ concurrencyKey: "" }))).toBe("EMPTY_CONCURRENCY_KEY");
    expect(codeOf(() => parseMetadataJson({ priority: 1.5 }))).toBe("INVALID_PRIORITY");
    expect(codeOf(() => parseSubmitJson({}))).toBe("INVALID_RUN_POLICY");
    expect(codeOf(() => parseSubmitJson({ runPolicy: "once", taskId: "nope" }))).toBe("INVALID_ID");
    expect(codeOf(() => parseSubmitJson([]))).toBe("INVALID_FIELD");
  });

  it("accepts a full submission", () => {
    const s = parseSubmitJson({
      name: "email",
      payload: { to: "a@b.c" },
      runPolicy: { kind: "repeat", count: 2, intervalMs: 1000 },
      constraints: { maxAttempts: 3, concurrencyKey: "k" },
      metadata: { priority: 5, tags: ["x"] },
    });
    expect(s.contentType).toBe("application/json");
    expect(new TextDecoder().decode(s.payload)).toBe('{"to":"a@b.c"}');
    expect(s.runPolicy).toEqual({ kind: "repeat", count: 2, intervalMs: 1000 });
    expect(parseSubmitJson({ runPolicy: "once", payloadBase64: "AAEC" }).payload).toEqual(new Uint8Array([0, 1, 2]));
  });
});
