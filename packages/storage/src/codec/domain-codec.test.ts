import { describe, expect, it } from "vitest";
import {
  AttemptOutcome,
  DEFAULT_TASK_CONSTRAINTS,
  DEFAULT_TASK_METADATA,
  EMPTY_PAYLOAD_BYTES,
  EMPTY_TASK_PAYLOAD,
  ManualClock,
  ONCE_POLICY,
  createIdFactory,
  createTaskSpec,
  cronPolicy,
} from "@actionqueue/core";
import type { AttemptOutcome as Outcome, TaskSpec, TaskSpecInput } from "@actionqueue/core";
import { BinaryReader, BinaryWriter } from "./binary.js";
import { readOutcome, readTaskSpec, writeOutcome, writeTaskSpec } from "./domain-codec.js";

const ids = createIdFactory(new ManualClock({ startMs: Date.UTC(2024, 0, 1) }));

function roundTrip(spec: TaskSpec): TaskSpec {
  const w = new BinaryWriter();
  writeTaskSpec(w, spec);
  const r = new BinaryReader(w.toBytes());
  const decoded = readTaskSpec(r);
  expect(r.remaining).toBe(0);
  return decoded;
}

function roundTripOutcome(outcome: Outcome): Outcome {
  const w = new BinaryWriter();
  writeOutcome(w, outcome);
  return readOutcome(new BinaryReader(w.toBytes()));
}

const spec = (input: Omit<TaskSpecInput, "id">): TaskSpec => createTaskSpec({ id: ids.taskId(), ...input });

describe("domain codec: task specs", () => {
  it("a decoded plain task shares core's frozen defaults, as a submitted one does", () => {
    const decoded = roundTrip(spec({ runPolicy: { kind: "once" } }));
    expect(decoded.payload).toBe(EMPTY_TASK_PAYLOAD);
    expect(decoded.runPolicy).toBe(ONCE_POLICY);
    expect(decoded.constraints).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(decoded.metadata).toBe(DEFAULT_TASK_METADATA);
    const again = roundTrip(spec({ runPolicy: { kind: "once" } }));
    expect(again.constraints).toBe(decoded.constraints);
    expect(again.metadata).toBe(decoded.metadata);
  });

  it("decodes every non-default field into fresh objects, equal to the original", () => {
    const parent = ids.taskId();
    const original = spec({
      name: "email",
      payload: new Uint8Array([1, 2, 3]),
      contentType: "text/plain",
      runPolicy: cronPolicy("*/5 * * * *", { maxOccurrences: 3, misfire: { kind: "catchUp", maxRuns: 2 } }),
      constraints: { maxAttempts: 3, timeoutMs: 500, concurrencyKey: "k", concurrencyKeyHoldPolicy: "releaseOnRetry", safetyLevel: "idempotent", requiredCapabilities: ["gpu"] },
      metadata: { tags: ["a", "b"], priority: -4, description: "d" },
      parentTaskId: parent,
      tenantId: ids.tenantId(),
    });
    const decoded = roundTrip(original);
    expect(decoded).toEqual(original);
    expect(Object.keys(decoded)).toEqual(Object.keys(original));
    expect(Object.keys(decoded.constraints)).toEqual(Object.keys(original.constraints));
    expect(Object.keys(decoded.runPolicy)).toEqual(["kind", "expression", "maxOccurrences", "misfire"]);
    expect(decoded.payload.bytes).not.toBe(EMPTY_PAYLOAD_BYTES);
    expect(Object.isFrozen(decoded.constraints)).toBe(false);
    expect(Object.isFrozen(decoded.metadata)).toBe(false);
  });

  it("shares each part on its own: defaults beside non-defaults", () => {
    const decoded = roundTrip(spec({ runPolicy: { kind: "once" }, contentType: "text/plain", constraints: { maxAttempts: 2 } }));
    expect(decoded.payload).toEqual({ bytes: new Uint8Array(0), contentType: "text/plain" });
    expect(decoded.payload.bytes).toBe(EMPTY_PAYLOAD_BYTES);
    expect(decoded.constraints).toEqual({ ...DEFAULT_TASK_CONSTRAINTS, maxAttempts: 2 });
    expect(decoded.metadata).toBe(DEFAULT_TASK_METADATA);
    expect(decoded.runPolicy).toBe(ONCE_POLICY);
    const named = roundTrip(spec({ name: "n", runPolicy: cronPolicy("0 * * * *"), metadata: { priority: 1 } }));
    expect(named.runPolicy).toEqual({ kind: "cron", expression: "0 * * * *" });
    expect(named.metadata).toEqual({ tags: [], priority: 1 });
    expect(named.constraints).toBe(DEFAULT_TASK_CONSTRAINTS);
  });
});

describe("domain codec: a run policy's startAt and time zone", () => {
  const policyBytes = (runPolicy: TaskSpecInput["runPolicy"]): number[] => {
    const w = new BinaryWriter();
    writeTaskSpec(w, spec({ runPolicy }));
    const all = [...w.toBytes()];
    // id (16) · no name (1) · empty payload (1) · no content type (1), then the policy's kind byte.
    return all.slice(19);
  };

  it("round-trips on every kind, with the keys in the order a submitted spec has", () => {
    for (const runPolicy of [
      { kind: "once", startAt: 1_700_000_000_000 },
      { kind: "repeat", count: 3, intervalMs: 60_000, startAt: 0, misfire: { kind: "coalesce" } },
      { kind: "cron", expression: "0 9 * * 1", maxOccurrences: 4, startAt: 8_640_000_000_000_000, misfire: { kind: "skip" } },
      { kind: "cron", expression: "0 9 * * 1", timezone: "Europe/Berlin" },
      { kind: "cron", expression: "*/5 * * * *", timezone: "America/New_York", maxOccurrences: 2, startAt: 9, misfire: { kind: "catchUp", maxRuns: 1 } },
    ] as const) {
      const original = spec({ runPolicy });
      const decoded = roundTrip(original);
      expect(decoded.runPolicy).toEqual(runPolicy);
      expect(Object.keys(decoded.runPolicy)).toEqual(Object.keys(original.runPolicy));
    }
  });

  it("sets the kind byte's top bit only when a start follows, so older records read as before", () => {
    expect(policyBytes({ kind: "once" })[0]).toBe(0);
    expect(policyBytes({ kind: "once", startAt: 5 }).slice(0, 2)).toEqual([0x80, 5]);
    expect(policyBytes({ kind: "repeat", count: 1, intervalMs: 1 })[0]).toBe(1);
    expect(policyBytes({ kind: "cron", expression: "0 * * * *", startAt: 1 }).slice(0, 2)).toEqual([0x82, 1]);
    // A time zone sets the next bit and follows the expression as a string.
    const zoned = policyBytes({ kind: "cron", expression: "0 * * * *", timezone: "Asia/Tokyo" });
    expect(zoned[0]).toBe(0x42);
    expect(new TextDecoder().decode(new Uint8Array(zoned.slice(2 + 9 + 1, 2 + 9 + 1 + 10)))).toBe("Asia/Tokyo");
  });

  it("refuses a time-zone bit on a policy that is not cron", () => {
    const w = new BinaryWriter();
    writeTaskSpec(w, spec({ runPolicy: { kind: "once" } }));
    const bytes = w.toBytes();
    bytes[19] = 0x40;
    expect(() => readTaskSpec(new BinaryReader(bytes))).toThrow(/only a cron policy has a time zone/);
  });

  it("refuses a kind byte naming no kind, with or without the start bit", () => {
    for (const kindByte of [0x03, 0x83, 0xff]) {
      const w = new BinaryWriter();
      writeTaskSpec(w, spec({ runPolicy: { kind: "once" } }));
      const bytes = w.toBytes();
      bytes[19] = kindByte;
      expect(() => readTaskSpec(new BinaryReader(bytes))).toThrow(/runPolicy\.kind/);
    }
  });
});

describe("domain codec: a task's own retry backoff", () => {
  it("round-trips fixed and exponential, with and without full jitter, beside every other constraint", () => {
    for (const backoff of [
      { kind: "fixed", delayMs: 0 },
      { kind: "fixed", delayMs: 2_147_483_647, jitter: "full" },
      { kind: "exponential", baseMs: 100, maxMs: 60_000 },
      { kind: "exponential", baseMs: 1, maxMs: 1, jitter: "full" },
    ] as const) {
      const original = spec({ runPolicy: { kind: "once" }, constraints: { maxAttempts: 3, safetyLevel: "transactional", requiredCapabilities: ["gpu"], backoff } });
      const decoded = roundTrip(original);
      expect(decoded.constraints).toEqual(original.constraints);
      expect(Object.keys(decoded.constraints)).toEqual(Object.keys(original.constraints));
    }
    const only = roundTrip(spec({ runPolicy: { kind: "once" }, constraints: { backoff: { kind: "fixed", delayMs: 5 } } }));
    expect(only.constraints).toEqual({ ...DEFAULT_TASK_CONSTRAINTS, backoff: { kind: "fixed", delayMs: 5 } });
  });

  it("flags it in the safety-level byte, so constraints without one are encoded as before", () => {
    const bytesOf = (constraints: NonNullable<TaskSpecInput["constraints"]>) => {
      const w = new BinaryWriter();
      writeTaskSpec(w, spec({ runPolicy: { kind: "once" }, constraints }));
      return [...w.toBytes()];
    };
    const plain = bytesOf({ safetyLevel: "idempotent" });
    const withBackoff = bytesOf({ safetyLevel: "idempotent", backoff: { kind: "fixed", delayMs: 3 } });
    // id, name, payload, content type, policy, maxAttempts, timeout, key, hold policy: 24 bytes, then the level.
    expect(plain[24]).toBe(1);
    expect(withBackoff.slice(24, 27)).toEqual([0x81, 0, 3]);
    expect(withBackoff.slice(27)).toEqual(plain.slice(25));
  });
});

describe("domain codec: outcomes", () => {
  it("decodes outcomes without error or output to core's shared instances", () => {
    expect(roundTripOutcome(AttemptOutcome.success())).toBe(AttemptOutcome.success());
    expect(roundTripOutcome(AttemptOutcome.suspended())).toBe(AttemptOutcome.suspended());
    const withOutput = roundTripOutcome(AttemptOutcome.successWithOutput(new Uint8Array([7])));
    expect(withOutput).toEqual({ result: "success", output: new Uint8Array([7]) });
    expect(roundTripOutcome(AttemptOutcome.failure("boom"))).toEqual({ result: "failure", error: "boom" });
  });
});
