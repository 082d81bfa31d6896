import { describe, expect, it } from "vitest";
import { actorId, attemptId, expectCode, ledgerEntryId, runId, subscriptionId, taskId, tenantId } from "../../test/support.js";
import { RunInstance } from "../run/run-instance.js";
import { oncePolicy } from "../task/run-policy.js";
import { createTaskSpec } from "../task/task-spec.js";
import { AttemptOutcome } from "./attempt-outcome.js";
import type { MutationCommand } from "./commands.js";
import { MUTATION_COMMAND_KINDS } from "./commands.js";
import { validateCommandShape } from "./validate-command.js";

const base = { sequence: 1, timestamp: 1000 };
const t = taskId();
const r = runId();
const a = attemptId();
const act = actorId();
const ten = tenantId();
const sub = subscriptionId();

/** One valid command of every kind. */
const valid: MutationCommand[] = [
  { ...base, kind: "taskCreate", taskSpec: createTaskSpec({ id: t, runPolicy: oncePolicy() }) },
  { ...base, kind: "runCreate", run: RunInstance.newScheduled({ id: r, taskId: t, scheduledAt: 0, createdAt: 0 }) },
  { ...base, kind: "runStateTransition", runId: r, previousState: "scheduled", newState: "ready" },
  { ...base, kind: "attemptStart", runId: r, attemptId: a },
  { ...base, kind: "attemptFinish", runId: r, attemptId: a, outcome: AttemptOutcome.failure("x") },
  { ...base, kind: "leaseAcquire", runId: r, owner: "w1", expiresAt: 5000, attemptId: a },
  { ...base, kind: "leaseHeartbeat", runId: r, owner: "w1", expiresAt: 6000, attemptId: a },
  { ...base, kind: "leaseExpire", runId: r, owner: "w1", expiresAt: 6000 },
  { ...base, kind: "leaseRelease", runId: r, owner: "w1", expiresAt: 6000 },
  { ...base, kind: "enginePause" },
  { ...base, kind: "engineResume" },
  { ...base, kind: "taskCancel", taskId: t },
  { ...base, kind: "dependencyDeclare", taskId: t, dependsOn: [taskId()] },
  { ...base, kind: "runSuspend", runId: r, reason: "budget" },
  { ...base, kind: "runResume", runId: r },
  { ...base, kind: "budgetAllocate", taskId: t, dimension: "token", limit: 10 },
  { ...base, kind: "budgetConsume", taskId: t, dimension: "token", amount: 1 },
  { ...base, kind: "budgetReplenish", taskId: t, dimension: "token", newLimit: 20 },
  { ...base, kind: "subscriptionCreate", subscriptionId: sub, taskId: t, filter: { kind: "custom", key: "k" } },
  { ...base, kind: "subscriptionCancel", subscriptionId: sub },
  { ...base, kind: "subscriptionTrigger", subscriptionId: sub },
  { ...base, kind: "actorRegister", registration: { actorId: act, identity: "w1", capabilities: ["gpu"], heartbeatIntervalMs: 1000 } },
  { ...base, kind: "actorDeregister", actorId: act },
  { ...base, kind: "actorHeartbeat", actorId: act },
  { ...base, kind: "tenantCreate", registration: { tenantId: ten, name: "acme" } },
  { ...base, kind: "roleAssign", actorId: act, role: { kind: "operator" }, tenantId: ten },
  { ...base, kind: "capabilityGrant", actorId: act, capability: { kind: "canSubmit" }, tenantId: ten },
  { ...base, kind: "capabilityRevoke", actorId: act, capability: { kind: "custom", name: "x" }, tenantId: ten },
  { ...base, kind: "ledgerAppend", entry: { entryId: ledgerEntryId(), tenantId: ten, ledgerKey: "audit", payload: new Uint8Array(), timestamp: 1 } },
  { ...base, kind: "runDispatch", runId: r, owner: "w1", expiresAt: 5000, attemptId: a },
  { ...base, kind: "runFinish", runId: r, attemptId: a, outcome: AttemptOutcome.success(), newState: "completed" },
  { ...base, kind: "taskPurge", taskId: t },
  { ...base, kind: "runsPromote", runIds: [r, runId()] },
  {
    ...base,
    kind: "taskSubmit",
    taskSpec: createTaskSpec({ id: t, runPolicy: oncePolicy() }),
    runs: [RunInstance.newScheduled({ id: r, taskId: t, scheduledAt: 1000, createdAt: 1000 })],
  },
  { ...base, kind: "runsDispatch", owner: "w1", expiresAt: 5000, runIds: [r, runId()], attemptIds: [a, attemptId()] },
];

const bad = <T extends MutationCommand>(kind: T["kind"], patch: Record<string, unknown>): MutationCommand => {
  const command = valid.find((c) => c.kind === kind)!;
  return { ...command, ...patch };
};

describe("validateCommandShape", () => {
  it("covers every command kind with a valid example", () => {
    expect(valid.map((c) => c.kind)).toEqual(MUTATION_COMMAND_KINDS);
  });

  it.each(valid.map((c) => [c.kind, c] as const))("accepts a valid %s", (_kind, command) => {
    expect(() => validateCommandShape(command)).not.toThrow();
  });

  it.each(valid.map((c) => [c.kind, c] as const))("%s: rejects a bad timestamp and a bad sequence", (_kind, command) => {
    expectCode(() => validateCommandShape({ ...command, timestamp: -1 }), "INVALID_TIMESTAMP");
    expectCode(() => validateCommandShape({ ...command, timestamp: 1.5 }), "INVALID_TIMESTAMP");
    expectCode(() => validateCommandShape({ ...command, sequence: -1 }), "INVALID_FIELD");
  });

  it("rejects an unknown kind", () => {
    expectCode(() => validateCommandShape({ ...base, kind: "runDelete" } as unknown as MutationCommand), "INVALID_COMMAND");
    expectCode(() => validateCommandShape(null as unknown as MutationCommand), "INVALID_COMMAND");
  });

  const cases: [string, MutationCommand, string][] = [
    ["malformed run id", bad("attemptStart", { runId: "nope" }), "INVALID_ID"],
    ["taskPurge with a malformed task id", bad("taskPurge", { taskId: "nope" }), "INVALID_ID"],
    ["promotion of no runs", bad("runsPromote", { runIds: [] }), "INVALID_FIELD"],
    ["dispatch of no runs", bad("runsDispatch", { runIds: [], attemptIds: [] }), "INVALID_FIELD"],
    ["dispatch with fewer attempt ids than runs", bad("runsDispatch", { attemptIds: [a] }), "INVALID_FIELD"],
    ["dispatch naming a run twice", bad("runsDispatch", { runIds: [r, r] }), "INVALID_FIELD"],
    ["dispatch of several runs by an empty owner", bad("runsDispatch", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["dispatch of several runs with a malformed attempt id", bad("runsDispatch", { attemptIds: [a, "x"] }), "INVALID_ID"],
    ["submission whose runs are not a list", bad("taskSubmit", { runs: "r" }), "INVALID_FIELD"],
    ["submission with a run that is not a RunInstance", bad("taskSubmit", { runs: [{ id: r, taskId: t }] }), "INVALID_FIELD"],
    ["submission with a run of another task", bad("taskSubmit", { runs: [RunInstance.newScheduled({ id: r, taskId: taskId(), scheduledAt: 1, createdAt: 1 })] }), "INVALID_FIELD"],
    ["submission with a run that is not fresh", bad("taskSubmit", { runs: [RunInstance.newReady({ id: r, taskId: t, scheduledAt: 1, createdAt: 1 })] }), "INVALID_FIELD"],
    ["submission listing a run twice", bad("taskSubmit", { runs: [RunInstance.newScheduled({ id: r, taskId: t, scheduledAt: 1, createdAt: 1 }), RunInstance.newScheduled({ id: r, taskId: t, scheduledAt: 2, createdAt: 1 })] }), "INVALID_FIELD"],
    ["promotion without a list", bad("runsPromote", { runIds: r }), "INVALID_FIELD"],
    ["promotion naming a run twice", bad("runsPromote", { runIds: [r, r] }), "INVALID_FIELD"],
    ["promotion with a malformed run id", bad("runsPromote", { runIds: [r, "r2"] }), "INVALID_ID"],
    ["lowercase (non-canonical) run id", bad("runResume", { runId: r.toLowerCase() }), "INVALID_ID"],
    ["malformed attempt id", bad("attemptFinish", { attemptId: "x" }), "INVALID_ID"],
    ["empty lease owner", bad("leaseAcquire", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["empty lease owner on heartbeat", bad("leaseHeartbeat", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["empty lease owner on expire", bad("leaseExpire", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["empty lease owner on release", bad("leaseRelease", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["lease expiry not a timestamp", bad("leaseRelease", { expiresAt: -5 }), "INVALID_TIMESTAMP"],
    ["lease without fencing attempt", bad("leaseAcquire", { attemptId: undefined }), "INVALID_ID"],
    ["dispatch with an empty owner", bad("runDispatch", { owner: "" }), "EMPTY_LEASE_OWNER"],
    ["dispatch expiry not a timestamp", bad("runDispatch", { expiresAt: 1.5 }), "INVALID_TIMESTAMP"],
    ["dispatch without an attempt id", bad("runDispatch", { attemptId: "a" }), "INVALID_ID"],
    ["dispatch with a malformed run id", bad("runDispatch", { runId: "r" }), "INVALID_ID"],
    ["finish into a state that is not one", bad("runFinish", { newState: "done" }), "INVALID_FIELD"],
    ["finish into a state running cannot reach", bad("runFinish", { newState: "ready" }), "INVALID_TRANSITION"],
    ["finish without an attempt id", bad("runFinish", { attemptId: undefined }), "INVALID_ID"],
    ["empty dependency list", bad("dependencyDeclare", { dependsOn: [] }), "EMPTY_DEPENDENCY_LIST"],
    ["bad dependency id", bad("dependencyDeclare", { dependsOn: [t, "zz"] }), "INVALID_ID"],
    ["illegal transition pair", bad("runStateTransition", { previousState: "ready", newState: "running" }), "INVALID_TRANSITION"],
    ["unknown state", bad("runStateTransition", { newState: "Ready" }), "INVALID_FIELD"],
    ["zero budget limit", bad("budgetAllocate", { limit: 0 }), "ZERO_LIMIT"],
    ["zero replenish limit", bad("budgetReplenish", { newLimit: 0 }), "ZERO_LIMIT"],
    ["zero consumption", bad("budgetConsume", { amount: 0 }), "INVALID_BUDGET_AMOUNT"],
    ["negative consumption", bad("budgetConsume", { amount: -3 }), "INVALID_BUDGET_AMOUNT"],
    ["unknown dimension", bad("budgetConsume", { dimension: "gpu" }), "INVALID_BUDGET_DIMENSION"],
    ["threshold over 100", bad("subscriptionCreate", { filter: { kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 101 } }), "INVALID_THRESHOLD_PCT"],
    ["empty custom key", bad("subscriptionCreate", { filter: { kind: "custom", key: "" } }), "EMPTY_CUSTOM_EVENT_KEY"],
    ["bad outcome", bad("attemptFinish", { outcome: { result: "failure" } }), "NON_SUCCESS_WITHOUT_ERROR"],
    ["empty identity", bad("actorRegister", { registration: { actorId: act, identity: "", capabilities: ["x"], heartbeatIntervalMs: 1 } }), "EMPTY_IDENTITY"],
    ["empty tenant name", bad("tenantCreate", { registration: { tenantId: ten, name: "" } }), "EMPTY_TENANT_NAME"],
    ["empty custom role", bad("roleAssign", { role: { kind: "custom", name: "" } }), "EMPTY_CUSTOM_ROLE"],
    ["empty custom permission", bad("capabilityGrant", { capability: { kind: "custom", name: "" } }), "EMPTY_CUSTOM_CAPABILITY"],
    ["empty ledger key", bad("ledgerAppend", { entry: { entryId: ledgerEntryId(), tenantId: ten, ledgerKey: "", payload: new Uint8Array(), timestamp: 1 } }), "EMPTY_LEDGER_KEY"],
    ["invalid task spec", bad("taskCreate", { taskSpec: { ...createTaskSpec({ id: t, runPolicy: oncePolicy() }), runPolicy: { kind: "repeat", count: 0, intervalMs: 1 } } }), "INVALID_REPEAT_COUNT"],
    ["non-RunInstance run", bad("runCreate", { run: { id: r } }), "INVALID_FIELD"],
    ["suspend reason not a string", bad("runSuspend", { reason: 5 }), "INVALID_FIELD"],
    ["bad tenant on role assign", bad("roleAssign", { tenantId: "t" }), "INVALID_ID"],
  ];
  it.each(cases)("rejects %s", (_name, command, code) => {
    expectCode(() => validateCommandShape(command), code as never);
  });

  it("does not check durable state: a runCreate carrying a ready (not scheduled) run passes the shape check", () => {
    const run = RunInstance.newReady({ id: runId(), taskId: t, scheduledAt: 0, createdAt: 0 });
    expect(() => validateCommandShape({ ...base, kind: "runCreate", run })).not.toThrow();
  });

  it("names the field in the message", () => {
    const error = expectCode(() => validateCommandShape(bad("leaseAcquire", { owner: "" })), "EMPTY_LEASE_OWNER");
    expect(error.message).toContain("command.owner");
  });
});
