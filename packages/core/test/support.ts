/**
 * Shared test helpers: deterministic ids, an error-code assertion, and
 * fast-check arbitraries for every persisted type.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { ActionQueueError } from "../src/errors/action-queue-error.js";
import type { ErrorCode } from "../src/errors/error-codes.js";
import type { ActorId, AttemptId, LedgerEntryId, RunId, SubscriptionId, TaskId, TenantId } from "../src/ids/ids.js";
import { createIdFactory } from "../src/ids/ids.js";
import { ManualClock } from "../src/time/clock.js";
import type { RunState } from "../src/run/run-state.js";
import { RUN_STATES } from "../src/run/run-state.js";
import { RunInstance } from "../src/run/run-instance.js";
import type { MisfirePolicy, RunPolicy } from "../src/task/run-policy.js";
import type { TaskConstraints } from "../src/task/task-constraints.js";
import { CONCURRENCY_KEY_HOLD_POLICIES, SAFETY_LEVELS } from "../src/task/task-constraints.js";
import type { TaskMetadata, TaskPayload, TaskSpec } from "../src/task/task-spec.js";
import type { AttemptOutcome } from "../src/mutation/attempt-outcome.js";
import { BUDGET_DIMENSIONS } from "../src/budget/budget.js";
import type { BudgetAllocation, BudgetConsumption } from "../src/budget/budget.js";
import type { EventFilter } from "../src/subscription/event-filter.js";
import type { ActorRegistration, HeartbeatPolicy } from "../src/actor/actor.js";
import type { DepartmentId } from "../src/ids/department-id.js";
import type { LedgerEntry, Permission, Role, TenantRegistration } from "../src/platform/platform.js";

/** A fresh deterministic id factory. */
export function ids() {
  return createIdFactory(new ManualClock());
}

const shared = ids();
export const taskId = (): TaskId => shared.taskId();
export const runId = (): RunId => shared.runId();
export const attemptId = (): AttemptId => shared.attemptId();
export const actorId = (): ActorId => shared.actorId();
export const tenantId = (): TenantId => shared.tenantId();
export const ledgerEntryId = (): LedgerEntryId => shared.ledgerEntryId();
export const subscriptionId = (): SubscriptionId => shared.subscriptionId();

/** Runs `fn`, expects an ActionQueueError with `code`, and returns it. */
export function expectCode(fn: () => unknown, code: ErrorCode): ActionQueueError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code} to be thrown`).toBeDefined();
  expect(ActionQueueError.is(caught)).toBe(true);
  const error = caught as ActionQueueError;
  expect(error.code).toBe(code);
  return error;
}

/** A running run with no attempt, ready for attempt tests. */
export function runningRun(): RunInstance {
  const run = RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 1000, createdAt: 1000 });
  run.transitionTo("leased");
  run.transitionTo("running");
  return run;
}

// ---- arbitraries ----------------------------------------------------------

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** A canonical, non-nil ULID. */
export const arbUlid = fc
  .tuple(
    fc.constantFrom(..."01234567"),
    fc.array(fc.constantFrom(...CROCKFORD), { minLength: 25, maxLength: 25 }),
  )
  .map(([head, tail]) => head + tail.join(""))
  .filter((s) => !/^0+$/.test(s));

export const arbTaskId = arbUlid as fc.Arbitrary<TaskId>;
export const arbTenantId = arbUlid as fc.Arbitrary<TenantId>;
export const arbActorId = arbUlid as fc.Arbitrary<ActorId>;
export const arbTimestamp = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
export const arbI32 = fc.integer({ min: -2_147_483_648, max: 2_147_483_647 });
export const arbBytes = fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array(b));
export const arbNonEmptyBytes = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => new Uint8Array(b));
export const arbNonEmptyString = fc.string({ minLength: 1, maxLength: 20 });

const arbMisfire: fc.Arbitrary<MisfirePolicy> = fc.oneof(
  fc.constant<MisfirePolicy>({ kind: "catchUp" }),
  fc.integer({ min: 1, max: 1000 }).map<MisfirePolicy>((maxRuns) => ({ kind: "catchUp", maxRuns })),
  fc.constant<MisfirePolicy>({ kind: "skip" }),
  fc.constant<MisfirePolicy>({ kind: "coalesce" }),
);

const CRON_SAMPLES = ["* * * * *", "0 9 * * MON-FRI", "*/15 * * * * *", "0 0 1 1 *", "30 2 1-15/2 * *", "@hourly", "5,10 4 * jan,jun sun"];

export const arbRunPolicy: fc.Arbitrary<RunPolicy> = fc.oneof(
  fc.constant<RunPolicy>({ kind: "once" }),
  fc
    .record({ count: fc.integer({ min: 1, max: 4_294_967_295 }), intervalMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), misfire: fc.option(arbMisfire, { nil: undefined }) })
    .map<RunPolicy>(({ count, intervalMs, misfire }) => ({ kind: "repeat", count, intervalMs, ...(misfire ? { misfire } : {}) })),
  fc
    .record({ expression: fc.constantFrom(...CRON_SAMPLES), maxOccurrences: fc.option(fc.integer({ min: 1, max: 4_294_967_295 }), { nil: undefined }), misfire: fc.option(arbMisfire, { nil: undefined }) })
    .map<RunPolicy>(({ expression, maxOccurrences, misfire }) => ({
      kind: "cron",
      expression,
      ...(maxOccurrences === undefined ? {} : { maxOccurrences }),
      ...(misfire ? { misfire } : {}),
    })),
);

export const arbConstraints: fc.Arbitrary<TaskConstraints> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 4_294_967_295 }),
    timeoutMs: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
    concurrencyKey: fc.option(arbNonEmptyString, { nil: undefined }),
    concurrencyKeyHoldPolicy: fc.constantFrom(...CONCURRENCY_KEY_HOLD_POLICIES),
    safetyLevel: fc.constantFrom(...SAFETY_LEVELS),
    requiredCapabilities: fc.option(fc.array(arbNonEmptyString, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  })
  .map(({ timeoutMs, concurrencyKey, requiredCapabilities, ...rest }) => ({
    ...rest,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(concurrencyKey === undefined ? {} : { concurrencyKey }),
    ...(requiredCapabilities === undefined ? {} : { requiredCapabilities }),
  }));

export const arbMetadata: fc.Arbitrary<TaskMetadata> = fc
  .record({ tags: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), priority: arbI32, description: fc.option(fc.string(), { nil: undefined }) })
  .map(({ description, ...rest }) => ({ ...rest, ...(description === undefined ? {} : { description }) }));

export const arbPayload: fc.Arbitrary<TaskPayload> = fc
  .record({ bytes: arbBytes, contentType: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) })
  .map(({ bytes, contentType }) => ({ bytes, ...(contentType === undefined ? {} : { contentType }) }));

export const arbTaskSpec: fc.Arbitrary<TaskSpec> = fc
  .record({
    id: arbTaskId,
    name: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
    payload: arbPayload,
    runPolicy: arbRunPolicy,
    constraints: arbConstraints,
    metadata: arbMetadata,
    parentTaskId: fc.option(arbTaskId, { nil: undefined }),
    tenantId: fc.option(arbTenantId, { nil: undefined }),
  })
  .filter((s) => s.parentTaskId !== s.id)
  .map(({ name, parentTaskId, tenantId, ...rest }) => ({
    ...rest,
    ...(name === undefined ? {} : { name }),
    ...(parentTaskId === undefined ? {} : { parentTaskId }),
    ...(tenantId === undefined ? {} : { tenantId }),
  }));

export const arbRunState: fc.Arbitrary<RunState> = fc.constantFrom(...RUN_STATES);

export const arbRunInstance: fc.Arbitrary<RunInstance> = fc
  .record({
    id: arbUlid,
    taskId: arbUlid,
    state: arbRunState,
    attempt: fc.option(arbUlid, { nil: undefined }),
    attemptCount: fc.integer({ min: 0, max: 4_294_967_295 }),
    createdAt: arbTimestamp,
    scheduledAt: arbTimestamp,
    effectivePriority: arbI32,
    lastStateChangeAt: arbTimestamp,
  })
  .map(({ attempt, id, taskId: task, ...rest }) =>
    RunInstance.restore({
      ...rest,
      id: id as RunId,
      taskId: task as TaskId,
      ...(attempt !== undefined && rest.state === "running" ? { currentAttemptId: attempt as AttemptId } : {}),
    }),
  );

export const arbAttemptOutcome: fc.Arbitrary<AttemptOutcome> = fc.oneof(
  fc.option(arbNonEmptyBytes, { nil: undefined }).map<AttemptOutcome>((output) => (output ? { result: "success", output } : { result: "success" })),
  fc.option(arbNonEmptyBytes, { nil: undefined }).map<AttemptOutcome>((output) => (output ? { result: "suspended", output } : { result: "suspended" })),
  arbNonEmptyString.map<AttemptOutcome>((error) => ({ result: "failure", error })),
  arbNonEmptyString.map<AttemptOutcome>((error) => ({ result: "timeout", error })),
);

const arbDimension = fc.constantFrom(...BUDGET_DIMENSIONS);
export const arbBudgetAllocation: fc.Arbitrary<BudgetAllocation> = fc.record({ dimension: arbDimension, limit: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) });
export const arbBudgetConsumption: fc.Arbitrary<BudgetConsumption> = fc.record({ dimension: arbDimension, amount: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) });

export const arbEventFilter: fc.Arbitrary<EventFilter> = fc.oneof(
  arbTaskId.map<EventFilter>((taskId) => ({ kind: "taskCompleted", taskId })),
  fc.record({ taskId: arbTaskId, state: arbRunState }).map<EventFilter>((r) => ({ kind: "runStateChanged", ...r })),
  fc
    .record({ taskId: arbTaskId, dimension: arbDimension, thresholdPct: fc.integer({ min: 0, max: 100 }) })
    .map<EventFilter>((r) => ({ kind: "budgetThreshold", ...r })),
  arbNonEmptyString.map<EventFilter>((key) => ({ kind: "custom", key })),
);

export const arbActorRegistration: fc.Arbitrary<ActorRegistration> = fc
  .record({
    actorId: arbActorId,
    identity: arbNonEmptyString,
    capabilities: fc.array(arbNonEmptyString, { minLength: 1, maxLength: 4 }),
    department: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    heartbeatIntervalMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    tenantId: fc.option(arbTenantId, { nil: undefined }),
  })
  .map(({ department, tenantId, ...rest }) => ({
    ...rest,
    ...(department === undefined ? {} : { department: department as DepartmentId }),
    ...(tenantId === undefined ? {} : { tenantId }),
  }));

export const arbHeartbeatPolicy: fc.Arbitrary<HeartbeatPolicy> = fc.record({
  intervalMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  timeoutMultiplier: fc.integer({ min: 1, max: 4_294_967_295 }),
});

export const arbTenant: fc.Arbitrary<TenantRegistration> = fc.record({ tenantId: arbTenantId, name: arbNonEmptyString });

export const arbRole: fc.Arbitrary<Role> = fc.oneof(
  fc.constantFrom<Role>({ kind: "operator" }, { kind: "auditor" }, { kind: "gatekeeper" }),
  arbNonEmptyString.map<Role>((name) => ({ kind: "custom", name })),
);

export const arbPermission: fc.Arbitrary<Permission> = fc.oneof(
  fc.constantFrom<Permission>({ kind: "canSubmit" }, { kind: "canExecute" }, { kind: "canReview" }, { kind: "canApprove" }, { kind: "canCancel" }),
  arbNonEmptyString.map<Permission>((name) => ({ kind: "custom", name })),
);

export const arbLedgerEntry: fc.Arbitrary<LedgerEntry> = fc
  .record({
    entryId: arbUlid as fc.Arbitrary<LedgerEntryId>,
    tenantId: arbTenantId,
    ledgerKey: arbNonEmptyString,
    actorId: fc.option(arbActorId, { nil: undefined }),
    payload: arbBytes,
    timestamp: arbTimestamp,
  })
  .map(({ actorId: actor, ...rest }) => ({ ...rest, ...(actor === undefined ? {} : { actorId: actor }) }));
