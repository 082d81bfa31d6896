import { describe, expect, it } from "vitest";
import { actorId, attemptId, expectCode, ledgerEntryId, runId, subscriptionId, taskId, tenantId } from "../../test/support.js";
import { parseSubscriptionId } from "../ids/ids.js";
import { AttemptOutcome } from "../mutation/attempt-outcome.js";
import { RunInstance } from "../run/run-instance.js";
import { isTerminalState } from "../run/run-state.js";
import { repeatPolicy } from "../task/run-policy.js";
import { createTaskSpec } from "../task/task-spec.js";
import { bytesFromBase64, bytesToBase64 } from "./base64.js";
import {
  actorRegistrationFromJson,
  budgetAllocationFromJson,
  budgetAllocationToJson,
  budgetConsumptionFromJson,
  budgetConsumptionToJson,
  eventFilterFromJson,
  eventFilterToJson,
  heartbeatPolicyFromJson,
  ledgerEntryFromJson,
  permissionFromJson,
  roleFromJson,
  tenantRegistrationFromJson,
} from "./extension-codec.js";
import { attemptOutcomeFromJson, attemptOutcomeToJson, runInstanceFromJson, runInstanceToJson } from "./run-codec.js";
import { runPolicyFromJson, taskConstraintsFromJson, taskMetadataFromJson, taskPayloadFromJson, taskSpecFromJson, taskSpecToJson } from "./task-codec.js";

const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("task spec codec", () => {
  it("round-trips a full spec", () => {
    const spec = createTaskSpec({
      id: taskId(),
      payload: new TextEncoder().encode("hello"),
      contentType: "text/plain",
      runPolicy: repeatPolicy(6, 1_800_000),
      constraints: { maxAttempts: 3, timeoutMs: 30_000, concurrencyKey: "customer:123" },
      metadata: { tags: ["demo", "phase1"], priority: 7, description: "a description" },
    });
    const json = viaJson(taskSpecToJson(spec));
    expect(json).toMatchObject({ payload: { bytes: "aGVsbG8=", contentType: "text/plain" } });
    expect(taskSpecFromJson(json)).toEqual(spec);
  });

  it("a repeat count of 0 fails with 'invalid repeat count'; an interval of 0 inside a spec with 'invalid repeat intervalMs'", () => {
    const e1 = expectCode(() => runPolicyFromJson({ kind: "repeat", count: 0, intervalMs: 60_000 }), "INVALID_REPEAT_COUNT");
    expect(e1.message).toContain("invalid repeat count");
    const spec = taskSpecToJson(createTaskSpec({ id: taskId(), runPolicy: repeatPolicy(2, 1) }));
    const e2 = expectCode(() => taskSpecFromJson({ ...spec, runPolicy: { kind: "repeat", count: 2, intervalMs: 0 } }), "INVALID_REPEAT_INTERVAL");
    expect(e2.message).toContain("invalid repeat intervalMs");
  });

  it("constraints with requiredCapabilities [] fail with 'empty' (hold policy and safety level omitted)", () => {
    const error = expectCode(() => taskConstraintsFromJson({ maxAttempts: 1, requiredCapabilities: [] }), "EMPTY_CAPABILITIES");
    expect(error.message).toContain("empty");
  });

  it("constraints default the hold policy and safety level", () => {
    expect(taskConstraintsFromJson({ maxAttempts: 2 })).toEqual({ maxAttempts: 2, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" });
    expect(taskConstraintsFromJson({ maxAttempts: 2, timeoutMs: null, concurrencyKey: null })).toEqual({
      maxAttempts: 2,
      concurrencyKeyHoldPolicy: "holdDuringRetry",
      safetyLevel: "pure",
    });
  });

  it("rejects unknown keys naming the key, at every level", () => {
    const spec = taskSpecToJson(createTaskSpec({ id: taskId(), runPolicy: repeatPolicy(2, 1) }));
    const top = expectCode(() => taskSpecFromJson({ ...spec, extra: 1 }), "UNKNOWN_FIELD");
    expect(top.message).toContain('"extra"');
    expectCode(() => taskSpecFromJson({ ...spec, constraints: { ...spec.constraints, max_attempts: 1 } }), "UNKNOWN_FIELD");
    expectCode(() => taskSpecFromJson({ ...spec, runPolicy: { kind: "repeat", count: 2, intervalMs: 1, expression: "x" } }), "UNKNOWN_FIELD");
    expectCode(() => runPolicyFromJson({ kind: "once", count: 1 }), "UNKNOWN_FIELD");
    expectCode(() => taskPayloadFromJson({ bytes: "", encoding: "b64" }), "UNKNOWN_FIELD");
    expectCode(() => taskMetadataFromJson({ tags: [], priority: 0, owner: "x" }), "UNKNOWN_FIELD");
  });

  it("rejects missing and mistyped fields, bad ids and a nil id", () => {
    const spec = taskSpecToJson(createTaskSpec({ id: taskId(), runPolicy: repeatPolicy(2, 1) }));
    expectCode(() => taskSpecFromJson({ ...spec, metadata: undefined }), "INVALID_FIELD");
    expectCode(() => taskSpecFromJson({ ...spec, id: "nope" }), "INVALID_ID");
    expectCode(() => taskSpecFromJson({ ...spec, id: "00000000000000000000000000" }), "INVALID_TASK_ID");
    expectCode(() => taskSpecFromJson({ ...spec, metadata: { tags: "a", priority: 0 } }), "INVALID_FIELD");
    expectCode(() => taskSpecFromJson([]), "INVALID_FIELD");
    expectCode(() => runPolicyFromJson({ kind: "Once" }), "INVALID_RUN_POLICY");
    expectCode(() => runPolicyFromJson({ kind: "cron", expression: "61 * * * *" }), "INVALID_CRON_EXPRESSION");
  });

  it("carries a policy's startAt and a cron timezone both ways, and refuses bad ones", () => {
    for (const runPolicy of [
      { kind: "once", startAt: 1_700_000_000_000 },
      { kind: "repeat", count: 2, intervalMs: 1_000, startAt: 5, misfire: { kind: "skip" } },
      { kind: "cron", expression: "0 * * * *", maxOccurrences: 3, startAt: 0 },
      { kind: "cron", expression: "0 9 * * 1", timezone: "Europe/Berlin", maxOccurrences: 3, startAt: 7, misfire: { kind: "coalesce" } },
    ] as const) {
      const spec = createTaskSpec({ id: taskId(), runPolicy });
      const json = taskSpecToJson(spec);
      expect(json.runPolicy).toEqual(runPolicy);
      expect(taskSpecFromJson(JSON.parse(JSON.stringify(json)))).toEqual(spec);
    }
    expectCode(() => runPolicyFromJson({ kind: "once", startAt: "soon" }), "INVALID_FIELD");
    expectCode(() => runPolicyFromJson({ kind: "once", startAt: -5 }), "INVALID_START_AT");
    expectCode(() => runPolicyFromJson({ kind: "cron", expression: "0 * * * *", timezone: "Mars/Olympus" }), "INVALID_TIME_ZONE");
    expectCode(() => runPolicyFromJson({ kind: "once", timezone: "Europe/Berlin" }), "UNKNOWN_FIELD");
  });

  it("carries a task's own retry backoff both ways", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: { kind: "once" }, constraints: { maxAttempts: 3, backoff: { kind: "exponential", baseMs: 5, maxMs: 50, jitter: "full" } } });
    const json = taskSpecToJson(spec);
    expect(json.constraints.backoff).toEqual({ kind: "exponential", baseMs: 5, maxMs: 50, jitter: "full" });
    expect(taskSpecFromJson(JSON.parse(JSON.stringify(json)))).toEqual(spec);
    expectCode(() => taskConstraintsFromJson({ maxAttempts: 1, backoff: { kind: "fixed", delayMs: -1 } }), "INVALID_BACKOFF");
    expectCode(() => taskConstraintsFromJson({ maxAttempts: 1, backoff: { kind: "fixed", delayMs: 1, maxMs: 2 } }), "UNKNOWN_FIELD");
  });

  it("returns canonical ids for lowercase input", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: repeatPolicy(2, 1) });
    const json = taskSpecToJson(spec);
    expect(taskSpecFromJson({ ...json, id: json.id.toLowerCase() }).id).toBe(spec.id);
  });
});

describe("base64", () => {
  it("round-trips and rejects non-canonical text", () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    expect(bytesFromBase64(bytesToBase64(bytes))).toEqual(bytes);
    expect(bytesFromBase64("")).toEqual(new Uint8Array());
    for (const text of ["a", "aGVsbG8", "aGVs*G8=", "aGVsbG9=", 5]) expectCode(() => bytesFromBase64(text), "INVALID_FIELD");
  });
});

describe("run codec", () => {
  it("round-trips a walked run (scheduled in the future, then promoted) and it is terminal", () => {
    const run = RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 1_700_000_000_000, createdAt: 1_699_999_000_000 });
    run.transitionTo("ready");
    expect(runInstanceFromJson(viaJson(runInstanceToJson(run))).toFields()).toEqual(run.toFields());
    run.transitionTo("leased");
    run.transitionTo("running");
    const a = attemptId();
    run.startAttempt(a);
    expect(runInstanceFromJson(viaJson(runInstanceToJson(run))).currentAttemptId).toBe(a);
    run.finishAttempt(a);
    run.transitionTo("completed");
    const back = runInstanceFromJson(viaJson(runInstanceToJson(run)));
    expect(back.toFields()).toEqual(run.toFields());
    expect(isTerminalState(back.state)).toBe(true);
  });

  it("decodes a ready run with scheduledAt > createdAt (the Rust decode rule is not ported)", () => {
    const json = { id: runId(), taskId: taskId(), state: "ready", attemptCount: 0, createdAt: 1000, scheduledAt: 2000, effectivePriority: 0, lastStateChangeAt: 1000 };
    expect(runInstanceFromJson(json).scheduledAt).toBe(2000);
  });

  it("defaults a missing lastStateChangeAt to createdAt", () => {
    const json = { id: runId(), taskId: taskId(), state: "scheduled", attemptCount: 0, createdAt: 1234, scheduledAt: 2000, effectivePriority: 0 };
    expect(runInstanceFromJson(json).lastStateChangeAt).toBe(1234);
  });

  it("rejects an active attempt outside running, unknown keys and bad states", () => {
    const json = { id: runId(), taskId: taskId(), state: "ready", currentAttemptId: attemptId(), attemptCount: 1, createdAt: 0, scheduledAt: 0, effectivePriority: 0 };
    expectCode(() => runInstanceFromJson(json), "INVALID_RUN_INSTANCE");
    expectCode(() => runInstanceFromJson({ ...json, currentAttemptId: undefined, extra: true }), "UNKNOWN_FIELD");
    expectCode(() => runInstanceFromJson({ ...json, currentAttemptId: undefined, state: "Ready" }), "INVALID_RUN_INSTANCE");
    expectCode(() => runInstanceFromJson({ ...json, currentAttemptId: undefined, id: "00000000000000000000000000" }), "INVALID_RUN_ID");
  });

  it("round-trips suspended states and outcomes", () => {
    const run = RunInstance.restore({ id: runId(), taskId: taskId(), state: "suspended", attemptCount: 2, createdAt: 1, scheduledAt: 1, effectivePriority: 3, lastStateChangeAt: 9 });
    expect(runInstanceFromJson(viaJson(runInstanceToJson(run))).toFields()).toEqual(run.toFields());
    for (const outcome of [AttemptOutcome.suspended(), AttemptOutcome.suspendedWithOutput(new Uint8Array([7]))]) {
      expect(attemptOutcomeFromJson(viaJson(attemptOutcomeToJson(outcome)))).toEqual(outcome);
    }
  });

  it("outcome decode runs fromParts: empty failure message, success with error, unknown result, empty output → none", () => {
    expectCode(() => attemptOutcomeFromJson({ result: "failure", error: "" }), "EMPTY_FAILURE_MESSAGE");
    expectCode(() => attemptOutcomeFromJson({ result: "success", error: "x" }), "SUCCESS_WITH_ERROR");
    expectCode(() => attemptOutcomeFromJson({ result: "Success" }), "INVALID_ATTEMPT_RESULT");
    expectCode(() => attemptOutcomeFromJson({ result: "success", note: 1 }), "UNKNOWN_FIELD");
    expect(attemptOutcomeFromJson({ result: "success", output: "" })).toEqual({ result: "success" });
  });
});

describe("extension codecs", () => {
  it("budgets round-trip; a zero limit fails with 'budget limit must be greater than zero'", () => {
    for (const dimension of ["token", "costCents", "timeMs"] as const) {
      expect(budgetConsumptionFromJson(viaJson(budgetConsumptionToJson({ dimension, amount: 500 })))).toEqual({ dimension, amount: 500 });
    }
    expect(budgetAllocationFromJson(viaJson(budgetAllocationToJson({ dimension: "costCents", limit: 1000 })))).toEqual({ dimension: "costCents", limit: 1000 });
    const error = expectCode(() => budgetAllocationFromJson({ dimension: "token", limit: 0 }), "ZERO_LIMIT");
    expect(error.message).toContain("budget limit must be greater than zero");
    expectCode(() => budgetConsumptionFromJson({ dimension: "token", amount: -1 }), "INVALID_BUDGET_AMOUNT");
  });

  it("all four event filters round-trip; bad ones are rejected", () => {
    const t = taskId();
    for (const filter of [
      { kind: "taskCompleted", taskId: t },
      { kind: "runStateChanged", taskId: t, state: "suspended" },
      { kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 80 },
      { kind: "custom", key: "caelum.thread.completed" },
    ] as const) {
      expect(eventFilterFromJson(viaJson(eventFilterToJson(filter)))).toEqual(filter);
    }
    expectCode(() => eventFilterFromJson({ kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 101 }), "INVALID_THRESHOLD_PCT");
    expectCode(() => eventFilterFromJson({ kind: "custom", key: "" }), "EMPTY_CUSTOM_EVENT_KEY");
    expectCode(() => eventFilterFromJson({ kind: "custom", key: "k", taskId: t }), "UNKNOWN_FIELD");
    expectCode(() => eventFilterFromJson({ kind: "other" }), "INVALID_EVENT_FILTER");
  });

  it("decoders validate what Rust's skip", () => {
    const a = actorId();
    expectCode(() => actorRegistrationFromJson({ actorId: a, identity: "", capabilities: ["x"], heartbeatIntervalMs: 1 }), "EMPTY_IDENTITY");
    expectCode(() => actorRegistrationFromJson({ actorId: a, identity: "w", capabilities: [], heartbeatIntervalMs: 1 }), "EMPTY_ACTOR_CAPABILITIES");
    expectCode(() => actorRegistrationFromJson({ actorId: a, identity: "w", capabilities: ["x"], heartbeatIntervalMs: 0 }), "ZERO_HEARTBEAT_INTERVAL");
    expectCode(() => actorRegistrationFromJson({ actorId: a, identity: "w", capabilities: ["x"], heartbeatIntervalMs: 1, department: "" }), "EMPTY_DEPARTMENT_ID");
    expectCode(() => heartbeatPolicyFromJson({ intervalMs: 1, timeoutMultiplier: 0 }), "ZERO_TIMEOUT_MULTIPLIER");
    expectCode(() => tenantRegistrationFromJson({ tenantId: tenantId(), name: "" }), "EMPTY_TENANT_NAME");
    expectCode(() => ledgerEntryFromJson({ entryId: ledgerEntryId(), tenantId: tenantId(), ledgerKey: "", payload: "", timestamp: 0 }), "EMPTY_LEDGER_KEY");
    expectCode(() => roleFromJson({ kind: "custom", name: "" }), "EMPTY_CUSTOM_ROLE");
    expectCode(() => permissionFromJson({ kind: "custom", name: "" }), "EMPTY_CUSTOM_CAPABILITY");
    expectCode(() => roleFromJson({ kind: "operator", name: "x" }), "UNKNOWN_FIELD");
    expectCode(() => permissionFromJson({ kind: "canFly" }), "INVALID_FIELD");
  });

  it("subscription ids survive a JSON round trip", () => {
    const id = subscriptionId();
    expect(parseSubscriptionId(viaJson(id))).toBe(id);
  });
});
