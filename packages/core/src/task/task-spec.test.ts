import { describe, expect, it } from "vitest";
import { expectCode, taskId, tenantId } from "../../test/support.js";
import { NIL_ID } from "../ids/ids.js";
import type { TaskId } from "../ids/ids.js";
import { oncePolicy, repeatPolicy } from "./run-policy.js";
import { DEFAULT_TASK_CONSTRAINTS, createTaskConstraints, validateTaskConstraints } from "./task-constraints.js";
import type { TaskSpec } from "./task-spec.js";
import { createTaskSpec, jsonPayload, payloadJson, validateTaskSpec, withConstraints, withRunPolicy } from "./task-spec.js";

const nilSpec = (): TaskSpec => ({
  id: NIL_ID as TaskId,
  payload: { bytes: new Uint8Array() },
  runPolicy: oncePolicy(),
  constraints: DEFAULT_TASK_CONSTRAINTS,
  metadata: { tags: [], priority: 0 },
});

describe("TaskSpec", () => {
  it("rejects the nil id from the factory and from validate()", () => {
    const error = expectCode(() => createTaskSpec({ id: NIL_ID as TaskId, runPolicy: oncePolicy() }), "INVALID_TASK_ID");
    expect(error.details).toMatchObject({ value: NIL_ID });
    expectCode(() => validateTaskSpec(nilSpec()), "INVALID_TASK_ID");
  });

  it("withRunPolicy replaces the policy on a valid spec", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy() });
    const next = withRunPolicy(spec, repeatPolicy(4, 30_000));
    expect(next.runPolicy).toEqual({ kind: "repeat", count: 4, intervalMs: 30_000 });
    expect(spec.runPolicy).toEqual({ kind: "once" });
  });

  it("withRunPolicy on a nil-id spec fails with INVALID_TASK_ID and leaves the policy once", () => {
    const spec = nilSpec();
    expectCode(() => withRunPolicy(spec, repeatPolicy(4, 30_000)), "INVALID_TASK_ID");
    expect(spec.runPolicy).toEqual({ kind: "once" });
  });

  it("withConstraints checks the id first, then the constraints", () => {
    expectCode(() => withConstraints(nilSpec(), { maxAttempts: 0 }), "INVALID_TASK_ID");
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy() });
    expectCode(() => withConstraints(spec, { maxAttempts: 0 }), "INVALID_MAX_ATTEMPTS");
    expect(withConstraints(spec, { maxAttempts: 3 }).constraints.maxAttempts).toBe(3);
    expect(spec.constraints.maxAttempts).toBe(1);
  });

  it("fills defaults and keeps optional fields", () => {
    const id = taskId();
    const parent = taskId();
    const tenant = tenantId();
    const spec = createTaskSpec({
      id,
      name: "email",
      payload: new TextEncoder().encode("hello"),
      contentType: "text/plain",
      runPolicy: oncePolicy(),
      metadata: { tags: ["a"], priority: 7, description: "d" },
      parentTaskId: parent,
      tenantId: tenant,
    });
    expect(spec).toMatchObject({
      id,
      name: "email",
      payload: { contentType: "text/plain" },
      constraints: { maxAttempts: 1, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" },
      metadata: { tags: ["a"], priority: 7, description: "d" },
      parentTaskId: parent,
      tenantId: tenant,
    });
  });

  it("rejects a self-parent, a nil parent, a bad name, priority and payload", () => {
    const id = taskId();
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), parentTaskId: id }), "INVALID_TASK_ID");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), parentTaskId: NIL_ID as TaskId }), "INVALID_TASK_ID");
    expectCode(() => createTaskSpec({ id, name: "", runPolicy: oncePolicy() }), "INVALID_TASK_NAME");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), metadata: { priority: 2 ** 31 } }), "INVALID_PRIORITY");
    expectCode(() => validateTaskSpec({ ...nilSpec(), id, payload: { bytes: "x" as unknown as Uint8Array } }), "INVALID_PAYLOAD");
    expectCode(() => createTaskSpec({ id, runPolicy: { kind: "repeat", count: 0, intervalMs: 1 } }), "INVALID_REPEAT_COUNT");
  });

  it("JSON payload helpers round-trip", () => {
    const payload = jsonPayload({ to: "a@b.c" });
    expect(payload.contentType).toBe("application/json");
    expect(payloadJson(payload)).toEqual({ to: "a@b.c" });
    expectCode(() => payloadJson({ bytes: new Uint8Array([0xff]) }), "INVALID_PAYLOAD");
  });
});

describe("TaskConstraints", () => {
  it("maxAttempts 0 → INVALID_MAX_ATTEMPTS naming the value; the input is untouched", () => {
    const error = expectCode(() => createTaskConstraints({ maxAttempts: 0, timeoutMs: 10 }), "INVALID_MAX_ATTEMPTS");
    expect(error.details).toMatchObject({ field: "constraints.maxAttempts", value: 0 });
    const c = createTaskConstraints({ maxAttempts: 2 });
    expectCode(() => createTaskConstraints({ ...c, maxAttempts: 0 }), "INVALID_MAX_ATTEMPTS");
    expect(c.maxAttempts).toBe(2);
  });

  it("concurrency key: empty rejected, none and a value accepted", () => {
    expectCode(() => createTaskConstraints({ concurrencyKey: "" }), "EMPTY_CONCURRENCY_KEY");
    expect(createTaskConstraints({}).concurrencyKey).toBeUndefined();
    expect(createTaskConstraints({ concurrencyKey: "valid-key" }).concurrencyKey).toBe("valid-key");
    expect(createTaskConstraints({ concurrencyKey: " " }).concurrencyKey).toBe(" ");
  });

  it("timeout: 0 → ZERO_TIMEOUT; none and 30 s accepted; fractions rejected", () => {
    expectCode(() => createTaskConstraints({ timeoutMs: 0 }), "ZERO_TIMEOUT");
    expect(createTaskConstraints({ timeoutMs: 30_000 }).timeoutMs).toBe(30_000);
    expect(createTaskConstraints({}).timeoutMs).toBeUndefined();
    expectCode(() => createTaskConstraints({ timeoutMs: 1.5 }), "INVALID_TIMEOUT");
  });

  it("required capabilities: [] → EMPTY_CAPABILITIES, an empty entry → EMPTY_CAPABILITY_ENTRY", () => {
    expectCode(() => createTaskConstraints({ requiredCapabilities: [] }), "EMPTY_CAPABILITIES");
    expect(createTaskConstraints({ requiredCapabilities: ["gpu"] }).requiredCapabilities).toEqual(["gpu"]);
    const error = expectCode(() => createTaskConstraints({ requiredCapabilities: ["gpu", ""] }), "EMPTY_CAPABILITY_ENTRY");
    expect(error.message).toContain("[1]");
    expect(() => validateTaskConstraints(DEFAULT_TASK_CONSTRAINTS)).not.toThrow();
    expect(() => validateTaskConstraints(createTaskConstraints({ requiredCapabilities: ["cap1"] }))).not.toThrow();
  });

  it("validates the order maxAttempts → timeout → key → capabilities", () => {
    expectCode(() => createTaskConstraints({ maxAttempts: 0, timeoutMs: 0, concurrencyKey: "", requiredCapabilities: [] }), "INVALID_MAX_ATTEMPTS");
    expectCode(() => createTaskConstraints({ timeoutMs: 0, concurrencyKey: "", requiredCapabilities: [] }), "ZERO_TIMEOUT");
    expectCode(() => createTaskConstraints({ concurrencyKey: "", requiredCapabilities: [] }), "EMPTY_CONCURRENCY_KEY");
  });

  it("rejects unknown enum values", () => {
    expectCode(() => createTaskConstraints({ safetyLevel: "Pure" as never }), "INVALID_SAFETY_LEVEL");
    expectCode(() => createTaskConstraints({ concurrencyKeyHoldPolicy: "hold" as never }), "INVALID_CONCURRENCY_KEY_HOLD_POLICY");
  });
});
