/**
 * One deterministic sample command of every kind (plus variants with optional
 * fields set and unset). The golden fixtures are generated from these, and the
 * codec tests compare both ways, so a format change is always deliberate.
 * Internal: not exported from the package.
 */
import { AttemptOutcome, RunInstance, createTaskSpec, parseDepartmentId, repeatPolicy } from "@actionqueue/core";
import type { ActorId, AttemptId, LedgerEntryId, MutationCommand, RunId, SubscriptionId, TaskId, TenantId, UnsequencedCommand } from "@actionqueue/core";

const T = 1_700_000_000_000;
const taskId = "01HF0000000000000000000001" as TaskId;
const task2 = "01HF0000000000000000000002" as TaskId;
const runId = "01HF00000000000000000000R1" as RunId;
const attemptId = "01HF00000000000000000000A1" as AttemptId;
const actorId = "01HF00000000000000000000C1" as ActorId;
const tenantId = "01HF00000000000000000000E1" as TenantId;
const subscriptionId = "01HF00000000000000000000S1" as SubscriptionId;
const entryId = "01HF00000000000000000000N1" as LedgerEntryId;

/** Named samples; the name is the fixture file name. Sequences are 1..n in order. */
export function sampleEvents(): { name: string; command: MutationCommand }[] {
  const list: { name: string; command: UnsequencedCommand }[] = [
    {
      name: "task-create",
      command: {
        kind: "taskCreate",
        timestamp: T,
        taskSpec: createTaskSpec({
          id: taskId,
          name: "send-invoices",
          payload: new TextEncoder().encode('{"batch":7}'),
          contentType: "application/json",
          runPolicy: repeatPolicy(3, 60_000, { kind: "catchUp", maxRuns: 2 }),
          constraints: { maxAttempts: 5, timeoutMs: 30_000, concurrencyKey: "billing", safetyLevel: "idempotent", requiredCapabilities: ["gpu"] },
          metadata: { tags: ["finance", "nightly"], priority: -3, description: "Send the nightly invoices" },
          parentTaskId: task2,
          tenantId,
        }),
      },
    },
    { name: "task-create-minimal", command: { kind: "taskCreate", timestamp: T, taskSpec: createTaskSpec({ id: task2, runPolicy: { kind: "cron", expression: "*/5 * * * *" } }) } },
    { name: "run-create", command: { kind: "runCreate", timestamp: T, run: RunInstance.newScheduled({ id: runId, taskId, scheduledAt: T + 5, createdAt: T, priority: 7 }) } },
    { name: "run-state-transition", command: { kind: "runStateTransition", timestamp: T + 1, runId, previousState: "scheduled", newState: "ready" } },
    { name: "attempt-start", command: { kind: "attemptStart", timestamp: T + 2, runId, attemptId } },
    { name: "attempt-finish-success", command: { kind: "attemptFinish", timestamp: T + 3, runId, attemptId, outcome: AttemptOutcome.successWithOutput(new Uint8Array([1, 2, 3])) } },
    { name: "attempt-finish-timeout", command: { kind: "attemptFinish", timestamp: T + 3, runId, attemptId, outcome: AttemptOutcome.timeout("timed out after 30000 ms") } },
    { name: "attempt-finish-suspended", command: { kind: "attemptFinish", timestamp: T + 3, runId, attemptId, outcome: AttemptOutcome.suspended() } },
    { name: "lease-acquire", command: { kind: "leaseAcquire", timestamp: T + 4, runId, owner: "worker-1", expiresAt: T + 30_000, attemptId } },
    { name: "lease-heartbeat", command: { kind: "leaseHeartbeat", timestamp: T + 5, runId, owner: "worker-1", expiresAt: T + 60_000, attemptId } },
    { name: "lease-expire", command: { kind: "leaseExpire", timestamp: T + 6, runId, owner: "worker-1", expiresAt: T + 60_000 } },
    { name: "lease-release", command: { kind: "leaseRelease", timestamp: T + 7, runId, owner: "worker-ü", expiresAt: T + 60_000 } },
    { name: "engine-pause", command: { kind: "enginePause", timestamp: T + 8 } },
    { name: "engine-resume", command: { kind: "engineResume", timestamp: T + 9 } },
    { name: "task-cancel", command: { kind: "taskCancel", timestamp: T + 10, taskId } },
    { name: "dependency-declare", command: { kind: "dependencyDeclare", timestamp: T + 11, taskId, dependsOn: [task2] } },
    { name: "run-suspend", command: { kind: "runSuspend", timestamp: T + 12, runId, reason: "budget exhausted" } },
    { name: "run-suspend-no-reason", command: { kind: "runSuspend", timestamp: T + 12, runId } },
    { name: "run-resume", command: { kind: "runResume", timestamp: T + 13, runId } },
    { name: "budget-allocate", command: { kind: "budgetAllocate", timestamp: T + 14, taskId, dimension: "token", limit: 500 } },
    { name: "budget-consume", command: { kind: "budgetConsume", timestamp: T + 15, taskId, dimension: "costCents", amount: 200 } },
    { name: "budget-replenish", command: { kind: "budgetReplenish", timestamp: T + 16, taskId, dimension: "timeMs", newLimit: 2 ** 40 } },
    {
      name: "subscription-create",
      command: {
        kind: "subscriptionCreate",
        timestamp: T + 17,
        subscriptionId,
        taskId,
        filter: { kind: "budgetThreshold", taskId: task2, dimension: "token", thresholdPct: 80 },
      },
    },
    { name: "subscription-cancel", command: { kind: "subscriptionCancel", timestamp: T + 18, subscriptionId } },
    { name: "subscription-trigger", command: { kind: "subscriptionTrigger", timestamp: T + 19, subscriptionId } },
    {
      name: "actor-register",
      command: {
        kind: "actorRegister",
        timestamp: T + 20,
        registration: { actorId, identity: "agent-7", capabilities: ["review"], department: parseDepartmentId("engineering"), heartbeatIntervalMs: 15_000, tenantId },
      },
    },
    { name: "actor-deregister", command: { kind: "actorDeregister", timestamp: T + 21, actorId } },
    { name: "actor-heartbeat", command: { kind: "actorHeartbeat", timestamp: T + 22, actorId } },
    { name: "tenant-create", command: { kind: "tenantCreate", timestamp: T + 23, registration: { tenantId, name: "Acme" } } },
    { name: "role-assign", command: { kind: "roleAssign", timestamp: T + 24, actorId, role: { kind: "custom", name: "release-manager" }, tenantId } },
    { name: "capability-grant", command: { kind: "capabilityGrant", timestamp: T + 25, actorId, capability: { kind: "canApprove" }, tenantId } },
    { name: "capability-revoke", command: { kind: "capabilityRevoke", timestamp: T + 26, actorId, capability: { kind: "custom", name: "deploy" }, tenantId } },
    {
      name: "ledger-append",
      command: { kind: "ledgerAppend", timestamp: T + 27, entry: { entryId, tenantId, ledgerKey: "audit", actorId, payload: new Uint8Array([9, 8, 7]), timestamp: T + 27 } },
    },
    { name: "run-dispatch", command: { kind: "runDispatch", timestamp: T + 28, runId, owner: "worker-1", expiresAt: T + 30_028, attemptId } },
    { name: "run-finish", command: { kind: "runFinish", timestamp: T + 29, runId, attemptId, outcome: AttemptOutcome.failure("boom"), newState: "retryWait" } },
    { name: "task-purge", command: { kind: "taskPurge", timestamp: T + 30, taskId } },
    { name: "runs-promote", command: { kind: "runsPromote", timestamp: T + 31, runIds: [runId, "01HF00000000000000000000R2" as RunId] } },
    {
      name: "task-submit",
      command: {
        kind: "taskSubmit",
        timestamp: T + 32,
        taskSpec: createTaskSpec({ id: task2, name: "resize", runPolicy: repeatPolicy(2, 60_000), metadata: { priority: -3 } }),
        runs: [
          RunInstance.newScheduled({ id: runId, taskId: task2, scheduledAt: T + 32, createdAt: T + 32, priority: -3 }),
          RunInstance.newScheduled({ id: "01HF00000000000000000000R2" as RunId, taskId: task2, scheduledAt: T + 60_032, createdAt: T + 32, priority: -3 }),
        ],
      },
    },
    {
      name: "runs-dispatch",
      command: {
        kind: "runsDispatch",
        timestamp: T + 33,
        owner: "worker-1",
        expiresAt: T + 30_033,
        runIds: [runId, "01HF00000000000000000000R2" as RunId],
        attemptIds: [attemptId, "01HF00000000000000000000A2" as AttemptId],
      },
    },
    // Appended, not inserted: every earlier fixture keeps its sequence and bytes.
    {
      name: "task-create-delayed-with-backoff",
      command: {
        kind: "taskCreate",
        timestamp: T + 34,
        taskSpec: createTaskSpec({
          id: task2,
          runPolicy: { kind: "once", startAt: T + 3_600_000 },
          constraints: { maxAttempts: 5, backoff: { kind: "exponential", baseMs: 1_000, maxMs: 60_000, jitter: "full" } },
        }),
      },
    },
    {
      name: "task-create-zoned-cron",
      command: {
        kind: "taskCreate",
        timestamp: T + 35,
        taskSpec: createTaskSpec({
          id: task2,
          runPolicy: { kind: "cron", expression: "0 9 * * 1-5", timezone: "Europe/Berlin", maxOccurrences: 10, startAt: T + 86_400_000, misfire: { kind: "skip" } },
          constraints: { backoff: { kind: "fixed", delayMs: 30_000 } },
        }),
      },
    },
  ];
  return list.map((entry, index) => ({ name: entry.name, command: { ...entry.command, sequence: index + 1 } }));
}
