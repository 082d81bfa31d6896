/**
 * The one validation function per event, used by both the authority (before
 * anything is written) and replay (before anything is applied). Whatever it
 * accepts, apply.ts can apply without failing, so nothing reaches the WAL that
 * replay would refuse (the Rust authority checked less than its reducer, and a
 * single bad record then broke every restart).
 */
import {
  AttemptOutcome,
  BUDGET_DIMENSIONS,
  CommandRejectedError,
  RunInstance,
  TransitionError,
  U32_MAX,
  ValidationError,
  describeValue,
  isRunState,
  isTerminalState,
  isValidTransition,
  mayDeriveMoreRuns,
  validateTaskSpec,
} from "@actionqueue/core";
import type { ErrorCode, MutationCommand, RunId, RunState, TaskId } from "@actionqueue/core";
import type { ProjectionState } from "./state.js";
import type { RunRecord } from "./records.js";
import { budgetKey, grantKey } from "./records.js";

function reject(code: ErrorCode, message: string, details: Record<string, unknown>): never {
  throw new CommandRejectedError(code, message, { details });
}

function invalid(code: ErrorCode, field: string, value: unknown, expected: string): never {
  throw new ValidationError(code, `invalid ${field} ${describeValue(value)}: expected ${expected}`, { details: { field, value: describeValue(value) } });
}

// True while validating an event the codec just decoded: its ids are 16
// bytes rendered as canonical ULIDs, so their format needs no second check.
let idsFromDecoder = false;

const ULID_CHARS = new Uint8Array(128);
for (const ch of "0123456789ABCDEFGHJKMNPQRSTVWXYZ") ULID_CHARS[ch.charCodeAt(0)] = 1;

/**
 * A fast canonical-ULID check (26 Crockford characters, first at most 7): the
 * hot path cannot afford core's general parser for every id of every command.
 * Returns the id for use in lookups.
 */
function checkId<T extends string>(kind: string, value: T): T {
  if (idsFromDecoder) return value;
  let ok = typeof value === "string" && value.length === 26 && value.charCodeAt(0) <= 0x37;
  for (let i = 0; ok && i < 26; i++) ok = ULID_CHARS[value.charCodeAt(i)] === 1;
  if (!ok) {
    throw new ValidationError("INVALID_ID", `invalid ${kind} ${describeValue(value)}: expected a 26-character canonical ULID`, { details: { kind, value: describeValue(value) } });
  }
  return value;
}

function checkTime(field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) invalid("INVALID_TIMESTAMP", field, value, "epoch milliseconds (a non-negative integer)");
}

function checkPositive(code: ErrorCode, field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) invalid(code, field, value, "an integer of at least 1");
}

function checkOwner(owner: unknown): void {
  if (typeof owner !== "string" || owner.length === 0) invalid("EMPTY_LEASE_OWNER", "owner", owner, "a non-empty lease owner");
}

// Both look the id up first: a key found in the map was validated when it
// was inserted, so only a miss needs the format check (INVALID_ID rather
// than NOT_FOUND for a malformed id).
function requireTask(state: ProjectionState, taskId: TaskId, field = "taskId"): void {
  if (state.tasks.has(taskId)) return;
  checkId("TaskId", taskId);
  reject("NOT_FOUND", `unknown task ${taskId} (${field})`, { field, taskId });
}

/**
 * Refuses to purge a task that is not finished: a run not terminal, a cron
 * task that may still derive runs (not canceled, below `maxOccurrences`), or
 * a task another task still waits for.
 */
function checkPurgeable(state: ProjectionState, taskId: TaskId): void {
  requireTask(state, taskId);
  const task = state.tasks.get(taskId)!;
  const runIds = state.runIdsOfTask(taskId);
  for (const runId of runIds) {
    const run = state.runs.get(runId);
    if (run !== undefined && !isTerminalState(run.state)) {
      reject("COMMAND_REJECTED", `task ${taskId} cannot be purged: its run ${runId} is ${run.state}, not terminal`, { taskId, runId, state: run.state });
    }
  }
  if (mayDeriveMoreRuns(task.spec.runPolicy, task.canceledAt !== undefined, runIds.length)) {
    reject("COMMAND_REJECTED", `task ${taskId} cannot be purged: it is a cron task that may still derive runs; cancel it first`, { taskId });
  }
  for (const [dependent, prerequisites] of state.dependencies) {
    if (dependent !== taskId && prerequisites.has(taskId)) {
      reject("COMMAND_REJECTED", `task ${taskId} cannot be purged: task ${dependent} depends on it (purge that one first)`, { taskId, dependent });
    }
  }
}

/**
 * The runs of a `taskSubmit`: each a RunInstance of the new task, new, listed
 * once, and fresh (scheduled, no attempts, last changed when created), which
 * is all its record holds besides its id, times and priority.
 */
function checkSubmittedRuns(state: ProjectionState, taskId: TaskId, runs: readonly RunInstance[]): void {
  const list: unknown = runs;
  if (!Array.isArray(list)) invalid("INVALID_FIELD", "runs", list, "a list of runs");
  // A set only when a duplicate is possible.
  const seen = runs.length > 1 ? new Set<RunId>() : undefined;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i];
    // A RunInstance is valid by construction (every factory validates), so only a look-alike object needs refusing.
    if (!(run instanceof RunInstance)) return invalid("INVALID_RUN_INSTANCE", `runs[${i}]`, run, "a RunInstance");
    if (run.taskId !== taskId) invalid("INVALID_FIELD", `runs[${i}].taskId`, run.taskId, `the submitted task ${taskId}`);
    if (run.state !== "scheduled" || run.attemptCount !== 0 || run.lastStateChangeAt !== run.createdAt) {
      reject("COMMAND_REJECTED", `run ${run.id} must be created scheduled with no attempts (got ${run.state}, ${run.attemptCount} attempts)`, { runId: run.id, state: run.state });
    }
    if (state.runs.has(run.id)) reject("ALREADY_EXISTS", `run ${run.id} already exists`, { runId: run.id });
    if (seen !== undefined) {
      if (seen.has(run.id)) invalid("INVALID_FIELD", `runs[${i}]`, run.id, "each run listed once");
      seen.add(run.id);
    }
  }
}

/**
 * A dispatch of `record` with attempt `attemptId` is refused exactly where
 * ready → leased, leaseAcquire, leased → running and attemptStart submitted
 * in a row would be (the first transition clears any active attempt, so that
 * check cannot fail here).
 */
function checkDispatchable(record: RunRecord, attemptId: string): void {
  checkId("AttemptId", attemptId);
  if (record.state !== "ready") {
    reject("COMMAND_REJECTED", `run ${record.id}: a dispatch requires state ready, the run is ${record.state}`, { runId: record.id, state: record.state, allowed: ["ready"] });
  }
  if (record.lease !== undefined) reject("COMMAND_REJECTED", `run ${record.id}: a lease by ${JSON.stringify(record.lease.owner)} is already active`, { runId: record.id, owner: record.lease.owner });
  if (record.attemptCount >= U32_MAX) throw new TransitionError("ATTEMPT_COUNT_OVERFLOW", `run ${record.id}: attempt count would overflow`, { details: { runId: record.id } });
  requireUnusedAttemptId(record, attemptId);
}

/** A dispatch of several runs: each as one `runDispatch` would be checked, each run listed once. */
function checkDispatches(state: ProjectionState, owner: string, expiresAt: number, runIds: readonly RunId[], attemptIds: readonly string[]): RunRecord[] {
  checkOwner(owner);
  checkTime("expiresAt", expiresAt);
  requireRunList(runIds);
  const attemptList: unknown = attemptIds;
  if (!Array.isArray(attemptList) || attemptList.length !== runIds.length) invalid("INVALID_FIELD", "attemptIds", attemptList, `a list of ${runIds.length} attempt ids, one per run`);
  return listedRuns(state, runIds, (record, i) => checkDispatchable(record, attemptIds[i]!));
}

/**
 * A promotion names runs, each once, that are all scheduled or waiting out a
 * retry: exactly where one `→ ready` transition per run would be accepted.
 */
function checkPromotable(state: ProjectionState, runIds: readonly RunId[]): RunRecord[] {
  requireRunList(runIds);
  return listedRuns(state, runIds, (record) => {
    if (record.state !== "scheduled" && record.state !== "retryWait") {
      reject("COMMAND_REJECTED", `run ${record.id}: a promotion requires state scheduled or retryWait, the run is ${record.state}`, {
        runId: record.id,
        state: record.state,
        allowed: ["scheduled", "retryWait"],
      });
    }
  });
}

/** The run list of an event about several runs is a non-empty list. */
function requireRunList(runIds: readonly RunId[]): void {
  const list: unknown = runIds;
  if (!Array.isArray(list) || list.length === 0) invalid("INVALID_FIELD", "runIds", list, "a non-empty list of run ids");
}

/**
 * The records of the runs an event about several runs lists, in list order:
 * each must exist, pass `check`, and be listed once. What validation returns
 * for `applyChange` to use.
 */
function listedRuns(state: ProjectionState, runIds: readonly RunId[], check: (record: RunRecord, index: number) => void): RunRecord[] {
  // A set only when a duplicate is possible; every id in it was found in the projection first.
  const seen = runIds.length > 1 ? new Set<RunId>() : undefined;
  const records = new Array<RunRecord>(runIds.length);
  for (let i = 0; i < runIds.length; i++) {
    const record = requireRun(state, runIds[i]!);
    check(record, i);
    records[i] = record;
    if (seen !== undefined) {
      if (seen.has(record.id)) invalid("INVALID_FIELD", `runIds[${i}]`, record.id, "each run listed once");
      seen.add(record.id);
    }
  }
  return records;
}

function requireRun(state: ProjectionState, runId: RunId): RunRecord {
  const record = state.runs.get(runId);
  if (record !== undefined) return record;
  checkId("RunId", runId);
  return reject("NOT_FOUND", `unknown run ${runId}`, { field: "runId", runId });
}

// The states each lease command needs (constants: a literal would be a new array per command).
const LEASABLE: readonly RunState[] = ["ready", "leased"];
const HEARTBEAT_STATES: readonly RunState[] = ["leased", "running"];
const LEASE_END_STATES: readonly RunState[] = ["ready", "leased", "running"];

function requireRunState(record: RunRecord, allowed: readonly RunState[], what: string): void {
  if (!allowed.includes(record.state)) {
    reject("COMMAND_REJECTED", `run ${record.id}: ${what} requires state ${allowed.join(" or ")}, the run is ${record.state}`, {
      runId: record.id,
      state: record.state,
      allowed,
    });
  }
}

/** Checks a transition the way RunInstance.transitionTo would, without changing anything. */
function checkTransition(record: RunRecord, from: RunState, to: RunState): RunRecord {
  const run = record;
  if (!isRunState(to)) invalid("INVALID_TRANSITION", "newState", to, "a run state");
  if (run.state !== from) {
    reject("COMMAND_REJECTED", `run ${run.id}: expected previous state ${from}, the run is ${run.state}`, { runId: run.id, expected: from, actual: run.state });
  }
  if (!isValidTransition(from, to)) {
    throw new TransitionError("INVALID_TRANSITION", `run ${run.id}: invalid transition ${from} → ${to}`, { details: { runId: run.id, from, to } });
  }
  if (from === "running" && to !== "canceled" && run.currentAttemptId !== undefined) {
    throw new TransitionError("ATTEMPT_IN_PROGRESS", `run ${run.id}: cannot leave running for ${to} while attempt ${run.currentAttemptId} is active`, {
      details: { runId: run.id, activeAttemptId: run.currentAttemptId },
    });
  }
  return record;
}

function checkLeaseMatch(record: RunRecord, owner: string, what: string): NonNullable<RunRecord["lease"]> {
  const lease = record.lease;
  if (lease === undefined) reject("COMMAND_REJECTED", `run ${record.id}: ${what} needs an active lease, there is none`, { runId: record.id });
  if (lease.owner !== owner) {
    reject("COMMAND_REJECTED", `run ${record.id}: lease is owned by ${JSON.stringify(lease.owner)}, not ${JSON.stringify(owner)}`, {
      runId: record.id,
      expected: lease.owner,
      actual: owner,
    });
  }
  return lease;
}

/** An attempt id is used once per run (a loop rather than `some`: no closure per start). */
function requireUnusedAttemptId(record: RunRecord, attemptId: string): void {
  const attempts = record.attempts;
  for (let i = 0; i < attempts.length; i++) {
    if (attempts[i]!.attemptId === attemptId) reject("ALREADY_EXISTS", `run ${record.id}: attempt ${attemptId} was already used`, { runId: record.id, attemptId });
  }
}

/**
 * Throws a typed error if `command` cannot be applied to `state`; changes
 * nothing. The sequence is checked by the caller (the authority wants exactly
 * latest + 1, replay only "greater"). Returns the run record the command
 * changes when it looked one up (a promotion: the records of its runs, in
 * list order), for {@link applyChange} to use rather than look them up again
 * (a big map's lookup, a few per job on the hot path).
 */
export function validateEvent(state: ProjectionState, command: MutationCommand): RunRecord | RunRecord[] | undefined {
  checkTime("timestamp", command.timestamp);
  switch (command.kind) {
    case "taskCreate": {
      validateTaskSpec(command.taskSpec);
      if (state.tasks.has(command.taskSpec.id)) reject("ALREADY_EXISTS", `task ${command.taskSpec.id} already exists`, { taskId: command.taskSpec.id });
      return;
    }
    case "taskSubmit": {
      const spec = command.taskSpec;
      validateTaskSpec(spec);
      if (state.tasks.has(spec.id)) reject("ALREADY_EXISTS", `task ${spec.id} already exists`, { taskId: spec.id });
      checkSubmittedRuns(state, spec.id, command.runs);
      return;
    }
    case "runCreate": {
      const run = command.run;
      // A RunInstance is valid by construction (every factory validates), so
      // only a look-alike object needs the full check.
      if (!(run instanceof RunInstance)) invalid("INVALID_RUN_INSTANCE", "run", run, "a RunInstance");
      const task = state.tasks.get(run.taskId);
      if (task === undefined) requireTask(state, run.taskId); // throws: INVALID_ID or NOT_FOUND
      if (state.runs.has(run.id)) reject("ALREADY_EXISTS", `run ${run.id} already exists`, { runId: run.id });
      if (task?.canceledAt !== undefined) reject("COMMAND_REJECTED", `task ${run.taskId} is canceled: no new runs`, { taskId: run.taskId });
      if (run.state !== "scheduled" || run.attemptCount !== 0) {
        reject("COMMAND_REJECTED", `run ${run.id} must be created scheduled with no attempts (got ${run.state}, ${run.attemptCount} attempts)`, { runId: run.id, state: run.state });
      }
      return;
    }
    case "runStateTransition":
      return checkTransition(requireRun(state, command.runId), command.previousState, command.newState);
    case "attemptStart": {
      const record = requireRun(state, command.runId);
      checkId("AttemptId", command.attemptId);
      const run = record;
      if (run.state !== "running") {
        throw new TransitionError("ATTEMPT_START_REQUIRES_RUNNING", `run ${run.id}: an attempt can only start while running, not ${run.state}`, { details: { runId: run.id, currentState: run.state } });
      }
      if (run.currentAttemptId !== undefined) {
        throw new TransitionError("ATTEMPT_ALREADY_ACTIVE", `run ${run.id}: attempt ${run.currentAttemptId} is already active`, { details: { runId: run.id, activeAttemptId: run.currentAttemptId } });
      }
      if (run.attemptCount >= U32_MAX) throw new TransitionError("ATTEMPT_COUNT_OVERFLOW", `run ${run.id}: attempt count would overflow`, { details: { runId: run.id } });
      requireUnusedAttemptId(record, command.attemptId);
      return record;
    }
    case "runDispatch": {
      const record = requireRun(state, command.runId);
      checkOwner(command.owner);
      checkTime("expiresAt", command.expiresAt);
      checkDispatchable(record, command.attemptId);
      return record;
    }
    case "runsDispatch":
      return checkDispatches(state, command.owner, command.expiresAt, command.runIds, command.attemptIds);
    case "attemptFinish":
    case "runFinish": {
      const record = requireRun(state, command.runId);
      const run = record;
      const o = command.outcome;
      AttemptOutcome.fromParts(o.result, o.error, o.output);
      if (run.state !== "running") {
        throw new TransitionError("ATTEMPT_FINISH_REQUIRES_RUNNING", `run ${run.id}: an attempt can only finish while running, not ${run.state}`, { details: { runId: run.id, currentState: run.state } });
      }
      if (run.currentAttemptId === undefined) throw new TransitionError("NO_ACTIVE_ATTEMPT", `run ${run.id}: no attempt is active`, { details: { runId: run.id } });
      if (run.currentAttemptId !== command.attemptId) {
        throw new TransitionError("ATTEMPT_OWNERSHIP_MISMATCH", `run ${run.id}: attempt ${command.attemptId} is not the active attempt ${run.currentAttemptId}`, {
          details: { runId: run.id, expectedAttemptId: run.currentAttemptId, actualAttemptId: command.attemptId },
        });
      }
      // runFinish: then running → newState, checked as the transition would be
      // after the finish (no attempt is active any more, so only the pair can fail).
      if (command.kind === "runFinish") {
        const to = command.newState;
        if (!isRunState(to)) invalid("INVALID_TRANSITION", "newState", to, "a run state");
        if (!isValidTransition("running", to)) {
          throw new TransitionError("INVALID_TRANSITION", `run ${run.id}: invalid transition running → ${to}`, { details: { runId: run.id, from: "running", to } });
        }
      }
      return record;
    }
    case "leaseAcquire": {
      const record = requireRun(state, command.runId);
      checkOwner(command.owner);
      checkTime("expiresAt", command.expiresAt);
      checkId("AttemptId", command.attemptId);
      requireRunState(record, LEASABLE, "a lease");
      if (record.lease !== undefined) reject("COMMAND_REJECTED", `run ${command.runId}: a lease by ${JSON.stringify(record.lease.owner)} is already active`, { runId: command.runId, owner: record.lease.owner });
      return record;
    }
    case "leaseHeartbeat": {
      const record = requireRun(state, command.runId);
      checkTime("expiresAt", command.expiresAt);
      requireRunState(record, HEARTBEAT_STATES, "a lease heartbeat");
      const lease = checkLeaseMatch(record, command.owner, "a heartbeat");
      if (lease.attemptId !== command.attemptId) {
        reject("STALE_FENCING_TOKEN", `run ${command.runId}: heartbeat for attempt ${command.attemptId}, the lease belongs to ${lease.attemptId}`, { runId: command.runId, expected: lease.attemptId, actual: command.attemptId });
      }
      if (command.expiresAt < lease.expiresAt) {
        reject("COMMAND_REJECTED", `run ${command.runId}: heartbeat would move the lease expiry back from ${lease.expiresAt} to ${command.expiresAt}`, { runId: command.runId, previous: lease.expiresAt, proposed: command.expiresAt });
      }
      return record;
    }
    case "leaseExpire":
    case "leaseRelease": {
      const record = requireRun(state, command.runId);
      requireRunState(record, LEASE_END_STATES, command.kind === "leaseExpire" ? "a lease expiry" : "a lease release");
      const lease = checkLeaseMatch(record, command.owner, command.kind);
      if (lease.expiresAt !== command.expiresAt) {
        reject("COMMAND_REJECTED", `run ${command.runId}: lease expiry is ${lease.expiresAt}, the command says ${command.expiresAt}`, { runId: command.runId, expected: lease.expiresAt, provided: command.expiresAt });
      }
      return record;
    }
    case "enginePause":
      if (state.engine.paused) reject("COMMAND_REJECTED", `the engine is already paused (since ${state.engine.pausedAt})`, { pausedAt: state.engine.pausedAt });
      return;
    case "engineResume":
      if (!state.engine.paused) reject("COMMAND_REJECTED", "the engine is not paused", {});
      if (command.timestamp < (state.engine.pausedAt ?? 0)) {
        reject("COMMAND_REJECTED", `resume at ${command.timestamp} is before the pause at ${state.engine.pausedAt}`, { pausedAt: state.engine.pausedAt, timestamp: command.timestamp });
      }
      return;
    case "taskCancel": {
      requireTask(state, command.taskId);
      const task = state.tasks.get(command.taskId)!;
      if (task.canceledAt !== undefined) reject("COMMAND_REJECTED", `task ${command.taskId} was already canceled at ${task.canceledAt}`, { taskId: command.taskId, canceledAt: task.canceledAt });
      return;
    }
    case "taskPurge":
      checkPurgeable(state, command.taskId);
      return;
    case "runsPromote":
      return checkPromotable(state, command.runIds);
    case "dependencyDeclare": {
      const list: unknown = command.dependsOn;
      if (!Array.isArray(list) || list.length === 0) invalid("EMPTY_DEPENDENCY_LIST", "dependsOn", list, "at least one prerequisite task");
      requireTask(state, command.taskId);
      for (const prerequisite of command.dependsOn) {
        requireTask(state, prerequisite, "dependsOn");
        if (prerequisite === command.taskId) invalid("INVALID_FIELD", "dependsOn", prerequisite, "another task (a task cannot wait for itself)");
      }
      return;
    }
    case "runSuspend": {
      if (command.reason !== undefined && typeof command.reason !== "string") invalid("INVALID_FIELD", "reason", command.reason, "a string");
      return checkTransition(requireRun(state, command.runId), "running", "suspended");
    }
    case "runResume":
      return checkTransition(requireRun(state, command.runId), "suspended", "ready");
    case "budgetAllocate":
    case "budgetConsume":
    case "budgetReplenish": {
      requireTask(state, command.taskId);
      if (!BUDGET_DIMENSIONS.includes(command.dimension)) invalid("INVALID_BUDGET_DIMENSION", "dimension", command.dimension, BUDGET_DIMENSIONS.join(", "));
      if (command.kind === "budgetAllocate") checkPositive("ZERO_LIMIT", "limit", command.limit);
      if (command.kind === "budgetConsume") checkPositive("INVALID_BUDGET_AMOUNT", "amount", command.amount);
      if (command.kind === "budgetReplenish") {
        checkPositive("ZERO_LIMIT", "newLimit", command.newLimit);
        if (!state.budgets.has(budgetKey(command.taskId, command.dimension))) {
          reject("NOT_FOUND", `task ${command.taskId} has no ${command.dimension} budget to replenish`, { taskId: command.taskId, dimension: command.dimension });
        }
      }
      return;
    }
    case "subscriptionCreate": {
      checkId("SubscriptionId", command.subscriptionId);
      requireTask(state, command.taskId);
      const f = command.filter;
      if (f.kind === "custom") {
        if (typeof f.key !== "string" || f.key.length === 0) invalid("EMPTY_CUSTOM_EVENT_KEY", "filter.key", f.key, "a non-empty key");
      } else {
        checkId("TaskId", f.taskId);
        if (f.kind === "budgetThreshold" && (!Number.isInteger(f.thresholdPct) || f.thresholdPct < 1 || f.thresholdPct > 100)) {
          invalid("INVALID_THRESHOLD_PCT", "filter.thresholdPct", f.thresholdPct, "an integer from 1 to 100");
        }
        if (f.kind === "runStateChanged" && !isRunState(f.state)) invalid("INVALID_EVENT_FILTER", "filter.state", f.state, "a run state");
      }
      if (state.subscriptions.has(command.subscriptionId)) reject("ALREADY_EXISTS", `subscription ${command.subscriptionId} already exists`, { subscriptionId: command.subscriptionId });
      return;
    }
    case "subscriptionCancel":
    case "subscriptionTrigger": {
      const sub = state.subscriptions.get(checkId("SubscriptionId", command.subscriptionId));
      if (sub === undefined) reject("NOT_FOUND", `unknown subscription ${command.subscriptionId}`, { subscriptionId: command.subscriptionId });
      if (command.kind === "subscriptionCancel" && sub.canceledAt !== undefined) {
        reject("COMMAND_REJECTED", `subscription ${command.subscriptionId} was already canceled`, { subscriptionId: command.subscriptionId });
      }
      return;
    }
    case "actorRegister": {
      const a = command.registration;
      checkId("ActorId", a.actorId);
      if (typeof a.identity !== "string" || a.identity.length === 0) invalid("EMPTY_IDENTITY", "identity", a.identity, "a non-empty identity");
      if (!Array.isArray(a.capabilities) || a.capabilities.length === 0) invalid("EMPTY_ACTOR_CAPABILITIES", "capabilities", a.capabilities, "at least one capability");
      if (a.capabilities.some((c) => typeof c !== "string" || c.length === 0)) invalid("EMPTY_ACTOR_CAPABILITY_ENTRY", "capabilities", a.capabilities, "non-empty strings");
      checkPositive("ZERO_HEARTBEAT_INTERVAL", "heartbeatIntervalMs", a.heartbeatIntervalMs);
      if (a.tenantId !== undefined) checkId("TenantId", a.tenantId);
      return;
    }
    case "actorDeregister":
    case "actorHeartbeat":
      if (!state.actors.has(checkId("ActorId", command.actorId))) reject("NOT_FOUND", `unknown actor ${command.actorId}`, { actorId: command.actorId });
      return;
    case "tenantCreate":
      checkId("TenantId", command.registration.tenantId);
      if (typeof command.registration.name !== "string" || command.registration.name.length === 0) invalid("EMPTY_TENANT_NAME", "name", command.registration.name, "a non-empty tenant name");
      return;
    case "roleAssign":
      checkId("ActorId", command.actorId);
      checkId("TenantId", command.tenantId);
      if (command.role.kind === "custom" && command.role.name.length === 0) invalid("EMPTY_CUSTOM_ROLE", "role.name", command.role.name, "a non-empty role name");
      return;
    case "capabilityGrant":
    case "capabilityRevoke":
      checkId("ActorId", command.actorId);
      checkId("TenantId", command.tenantId);
      if (command.capability.kind === "custom" && command.capability.name.length === 0) invalid("EMPTY_CUSTOM_CAPABILITY", "capability.name", command.capability.name, "a non-empty capability name");
      if (command.kind === "capabilityRevoke" && !state.grants.has(grantKey(command.actorId, command.capability, command.tenantId))) {
        reject("NOT_FOUND", `actor ${command.actorId} holds no such capability in tenant ${command.tenantId}`, { actorId: command.actorId, tenantId: command.tenantId });
      }
      return;
    case "ledgerAppend": {
      const e = command.entry;
      checkId("LedgerEntryId", e.entryId);
      checkId("TenantId", e.tenantId);
      if (e.actorId !== undefined) checkId("ActorId", e.actorId);
      if (typeof e.ledgerKey !== "string" || e.ledgerKey.length === 0) invalid("EMPTY_LEDGER_KEY", "ledgerKey", e.ledgerKey, "a non-empty ledger key");
      if (!(e.payload instanceof Uint8Array)) invalid("INVALID_PAYLOAD", "payload", e.payload, "a Uint8Array");
      checkTime("entry.timestamp", e.timestamp);
      return;
    }
    default:
      invalid("INVALID_COMMAND", "kind", (command as { kind: unknown }).kind, "a mutation command kind");
  }
}

/**
 * {@link validateEvent} for an event produced by `decodeEvent`: the same
 * checks, minus re-checking the text form of ids the decoder built itself.
 */
export function validateDecodedEvent(state: ProjectionState, command: MutationCommand): RunRecord | RunRecord[] | undefined {
  idsFromDecoder = true;
  try {
    return validateEvent(state, command);
  } finally {
    idsFromDecoder = false;
  }
}
