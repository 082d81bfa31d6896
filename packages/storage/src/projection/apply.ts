/**
 * The reducer: applies an event that validate.ts accepted. Nothing here can
 * fail on a validated event; every record is "touched" before it changes, so
 * an open undo journal can restore it.
 */
import { AttemptOutcome, isTerminalState } from "@actionqueue/core";
import type { AppliedMutation, AttemptId, MutationCommand, RunId, RunInstance, RunState, TaskSpec } from "@actionqueue/core";
import type { ProjectionState } from "./state.js";
import { RunRecord, TaskEntry } from "./records.js";
import { budgetKey, grantKey, roleKey } from "./records.js";

// States in which a lease is meaningless: entering them drops it (the Rust
// reducer kept leases on RetryWait/Suspended runs and then failed to snapshot).
function isLeaseFree(state: RunState): boolean {
  return state === "retryWait" || state === "suspended" || isTerminalState(state);
}

/** The run a validated event changes (`known` when validation returned it), saved by an open journal first. */
function runRecord(state: ProjectionState, runId: RunId, known: RunRecord | undefined): RunRecord {
  state.touchRun(runId);
  return known ?? state.runs.get(runId)!;
}

/** What validation returned for a single-run event (an event about several runs returns its list instead). */
function single(known: RunRecord | readonly RunRecord[] | undefined): RunRecord | undefined {
  return known instanceof RunRecord ? known : undefined;
}

/** What validation returned for an event about several runs: their records, in list order. */
function listed(known: RunRecord | readonly RunRecord[] | undefined): readonly RunRecord[] | undefined {
  return Array.isArray(known) ? (known as readonly RunRecord[]) : undefined;
}

/**
 * Moves a validated run to `to`. Validation already checked the pair against
 * the transition table and the active attempt, so the fields change directly.
 */
function moveRun(state: ProjectionState, record: RunRecord, to: RunState, at: number): void {
  // A run leaving running without a finish (canceled while its handler ran)
  // ends its attempt there: it has an end time but no result.
  if (record.state === "running") closeOpenAttempt(record, at);
  state.unindexRun(record.id, record.state);
  record.state = to;
  if (to !== "running") record.currentAttemptId = undefined;
  record.lastStateChangeAt = at;
  state.indexRun(record.id, to);
  record.recordChange(to, at);
  if (isLeaseFree(to)) {
    record.lease = undefined;
    // A terminal run never changes again: drop the spare capacity the
    // history array grew while it was live.
    if (isTerminalState(to)) record.trimHistory();
  }
}

/** Gives the run's last attempt an end time if it has none (no outcome: nothing reported one). */
function closeOpenAttempt(record: RunRecord, at: number): void {
  const last = record.attempts[record.attempts.length - 1];
  if (last !== undefined && last.finishedAt === undefined) record.replaceLastAttempt({ attemptId: last.attemptId, startedAt: last.startedAt, finishedAt: at });
}

/**
 * The changes of ready → leased, leaseAcquire, leased → running and
 * attemptStart, with both transitions in the history; the index moves once.
 */
function dispatchRun(state: ProjectionState, record: RunRecord, owner: string, expiresAt: number, attemptId: AttemptId, at: number): void {
  state.unindexRun(record.id, record.state);
  record.recordChanges("leased", "running", at);
  record.state = "running";
  record.lastStateChangeAt = at;
  state.indexRun(record.id, "running");
  record.lease = { owner, expiresAt, attemptId, acquiredAt: at, updatedAt: at };
  record.attemptCount += 1;
  record.currentAttemptId = attemptId;
  record.addAttempt({ attemptId, startedAt: at });
  state.noteAttemptId(attemptId);
}

/** Adds a validated new task (no runs yet). */
function createTask(state: ProjectionState, spec: TaskSpec, at: number): void {
  state.touchNewTask(spec.id);
  state.addTask(spec.id, new TaskEntry(spec, at, undefined, undefined));
}

/** Adds a validated new run. The record copies the fields: the caller's instance cannot change durable state. */
function createRun(state: ProjectionState, run: RunInstance): void {
  state.touchNewRun(run.id);
  state.addRun(RunRecord.created(run));
  state.addRunOfTask(run.taskId, run.id);
}

/** Applies a validated event and sets `latestSequence`; returns what changed. */
export function applyEvent(state: ProjectionState, c: MutationCommand): AppliedMutation {
  applyChange(state, c);
  return appliedMutation(state, c);
}

/** What applying `c` changed, as the authority reports it (read after {@link applyChange}). */
function appliedMutation(state: ProjectionState, c: MutationCommand): AppliedMutation {
  switch (c.kind) {
    case "taskCreate":
      return { kind: "taskCreate", taskId: c.taskSpec.id };
    case "runCreate":
      return { kind: "runCreate", runId: c.run.id, taskId: c.run.taskId };
    case "runStateTransition":
      return { kind: "runStateTransition", runId: c.runId, previousState: c.previousState, newState: c.newState };
    case "attemptStart":
      return { kind: "attemptStart", runId: c.runId, attemptId: c.attemptId };
    case "attemptFinish":
    case "runFinish": {
      // The outcome the record now holds (the finished attempt is the last one).
      const attempts = state.runs.get(c.runId)!.attempts;
      const outcome = attempts[attempts.length - 1]?.outcome ?? AttemptOutcome.fromParts(c.outcome.result, c.outcome.error, c.outcome.output);
      return c.kind === "runFinish"
        ? { kind: "runFinish", runId: c.runId, attemptId: c.attemptId, outcome, newState: c.newState }
        : { kind: "attemptFinish", runId: c.runId, attemptId: c.attemptId, outcome };
    }
    case "leaseAcquire":
    case "leaseHeartbeat":
    case "leaseExpire":
    case "leaseRelease":
      return { kind: c.kind, runId: c.runId, owner: c.owner, expiresAt: c.expiresAt };
    case "enginePause":
      return { kind: "enginePause" };
    case "engineResume":
      return { kind: "engineResume" };
    case "taskCancel":
      return { kind: "taskCancel", taskId: c.taskId };
    case "dependencyDeclare":
      return { kind: "dependencyDeclare", taskId: c.taskId, dependsOn: [...c.dependsOn] };
    case "runSuspend":
      return { kind: "runSuspend", runId: c.runId };
    case "runResume":
      return { kind: "runResume", runId: c.runId };
    case "budgetAllocate":
      return { kind: "budgetAllocate", taskId: c.taskId, dimension: c.dimension, limit: c.limit };
    case "budgetConsume":
      return { kind: "budgetConsume", taskId: c.taskId, dimension: c.dimension, amount: c.amount };
    case "budgetReplenish":
      return { kind: "budgetReplenish", taskId: c.taskId, dimension: c.dimension, newLimit: c.newLimit };
    case "subscriptionCreate":
      return { kind: "subscriptionCreate", subscriptionId: c.subscriptionId, taskId: c.taskId };
    case "taskPurge":
      return { kind: "taskPurge", taskId: c.taskId };
    case "runsPromote":
      return { kind: "runsPromote", runIds: c.runIds };
    case "taskSubmit":
      return { kind: "taskSubmit", taskId: c.taskSpec.id, runIds: c.runs.map((run) => run.id) };
    case "runsDispatch":
      return { kind: "runsDispatch", runIds: c.runIds, attemptIds: c.attemptIds, owner: c.owner, expiresAt: c.expiresAt };
    case "subscriptionCancel":
    case "subscriptionTrigger":
      return { kind: c.kind, subscriptionId: c.subscriptionId };
    case "actorRegister":
    case "actorDeregister":
    case "actorHeartbeat":
    case "tenantCreate":
    case "roleAssign":
    case "capabilityGrant":
    case "capabilityRevoke":
    case "ledgerAppend":
      return { kind: "noOp" };
    case "runDispatch":
      return { kind: "runDispatch", runId: c.runId, owner: c.owner, expiresAt: c.expiresAt, attemptId: c.attemptId };
  }
}

/**
 * Applies a validated event and sets `latestSequence`, building no result:
 * the hot paths (replay, group-commit batches) never read one. `known` is
 * what `validateEvent` returned for this very event, if anything.
 */
export function applyChange(state: ProjectionState, c: MutationCommand, found?: RunRecord | readonly RunRecord[]): void {
  const known = single(found);
  state.latestSequence = c.sequence;
  const at = c.timestamp;
  switch (c.kind) {
    case "taskCreate":
      createTask(state, c.taskSpec, at);
      return;
    case "runCreate":
      createRun(state, c.run);
      return;
    case "taskSubmit": {
      createTask(state, c.taskSpec, at);
      const runs = c.runs;
      for (let i = 0; i < runs.length; i++) createRun(state, runs[i]!);
      return;
    }
    case "runStateTransition":
      moveRun(state, runRecord(state, c.runId, known), c.newState, at);
      return;
    case "attemptStart": {
      const record = runRecord(state, c.runId, known);
      record.attemptCount += 1;
      record.currentAttemptId = c.attemptId;
      record.addAttempt({ attemptId: c.attemptId, startedAt: at });
      state.noteAttemptId(c.attemptId);
      return;
    }
    case "attemptFinish":
    case "runFinish": {
      const record = runRecord(state, c.runId, known);
      record.currentAttemptId = undefined;
      const outcome = AttemptOutcome.fromParts(c.outcome.result, c.outcome.error, c.outcome.output);
      // The active attempt is always the last one started.
      const entry = record.attempts[record.attempts.length - 1];
      // A fresh object with an explicit shape: object spread here was the
      // single hottest line of replay.
      if (entry !== undefined) {
        record.replaceLastAttempt({ attemptId: entry.attemptId, startedAt: entry.startedAt, finishedAt: at, outcome });
        state.countResult(outcome.result);
      }
      // runFinish: then the run's move out of running, as its own transition would make it.
      if (c.kind === "runFinish") moveRun(state, record, c.newState, at);
      return;
    }
    case "leaseAcquire":
    case "leaseHeartbeat": {
      const record = runRecord(state, c.runId, known);
      const held = record.lease;
      // Leases are immutable (the journal shares them): a heartbeat replaces it.
      record.lease =
        c.kind === "leaseAcquire" || held === undefined
          ? { owner: c.owner, expiresAt: c.expiresAt, attemptId: c.attemptId, acquiredAt: at, updatedAt: at }
          : { owner: held.owner, expiresAt: c.expiresAt, attemptId: held.attemptId, acquiredAt: held.acquiredAt, updatedAt: at };
      return;
    }
    case "runDispatch":
      dispatchRun(state, runRecord(state, c.runId, known), c.owner, c.expiresAt, c.attemptId, at);
      return;
    case "runsDispatch": {
      // Validation's records, in list order, when it returned them (no second lookup per run).
      const ids = c.runIds;
      const records = listed(found);
      for (let i = 0; i < ids.length; i++) dispatchRun(state, runRecord(state, ids[i]!, records?.[i]), c.owner, c.expiresAt, c.attemptIds[i]!, at);
      return;
    }
    case "leaseExpire":
    case "leaseRelease": {
      const record = runRecord(state, c.runId, known);
      record.lease = undefined;
      // A leased run without its lease is ready again; unlike Rust, this is a
      // recorded transition, so history always ends at the run's state.
      if (record.state === "leased") moveRun(state, record, "ready", at);
      return;
    }
    case "enginePause":
      state.touchEngine();
      state.engine = { paused: true, pausedAt: at };
      return;
    case "engineResume":
      state.touchEngine();
      state.engine = { ...state.engine, paused: false, resumedAt: at };
      return;
    case "taskCancel":
      state.touchTask(c.taskId);
      state.tasks.get(c.taskId)!.canceledAt = at;
      return;
    case "dependencyDeclare": {
      state.touchDependencies(c.taskId);
      const set = state.dependencies.get(c.taskId) ?? new Set();
      for (const id of c.dependsOn) set.add(id);
      state.dependencies.set(c.taskId, set);
      return;
    }
    case "runSuspend":
      moveRun(state, runRecord(state, c.runId, known), "suspended", at);
      return;
    case "runResume":
      moveRun(state, runRecord(state, c.runId, known), "ready", at);
      return;
    case "budgetAllocate": {
      const key = budgetKey(c.taskId, c.dimension);
      state.touchEntry(state.budgets, key);
      state.budgets.set(key, { taskId: c.taskId, dimension: c.dimension, limit: c.limit, consumed: 0, allocatedAt: at, exhausted: false });
      return;
    }
    case "budgetConsume": {
      const key = budgetKey(c.taskId, c.dimension);
      const budget = state.budgets.get(key);
      if (budget !== undefined) {
        state.touchEntry(state.budgets, key);
        const consumed = Math.min(Number.MAX_SAFE_INTEGER, budget.consumed + c.amount);
        state.budgets.set(key, { ...budget, consumed, exhausted: consumed >= budget.limit });
      }
      return;
    }
    case "budgetReplenish": {
      const key = budgetKey(c.taskId, c.dimension);
      state.touchEntry(state.budgets, key);
      state.budgets.set(key, { ...state.budgets.get(key)!, limit: c.newLimit, consumed: 0, exhausted: false });
      return;
    }
    case "subscriptionCreate":
      state.touchEntry(state.subscriptions, c.subscriptionId);
      state.subscriptions.set(c.subscriptionId, { subscriptionId: c.subscriptionId, taskId: c.taskId, filter: c.filter, createdAt: at });
      return;
    case "subscriptionCancel":
    case "subscriptionTrigger": {
      state.touchEntry(state.subscriptions, c.subscriptionId);
      const sub = state.subscriptions.get(c.subscriptionId)!;
      state.subscriptions.set(c.subscriptionId, c.kind === "subscriptionCancel" ? { ...sub, canceledAt: at } : { ...sub, triggeredAt: at });
      return;
    }
    case "actorRegister":
      state.touchEntry(state.actors, c.registration.actorId);
      state.actors.set(c.registration.actorId, { registration: c.registration, registeredAt: at });
      return;
    case "actorDeregister":
    case "actorHeartbeat": {
      state.touchEntry(state.actors, c.actorId);
      const actor = state.actors.get(c.actorId)!;
      state.actors.set(c.actorId, c.kind === "actorDeregister" ? { ...actor, deregisteredAt: at } : { ...actor, lastHeartbeatAt: at });
      return;
    }
    case "tenantCreate":
      state.touchEntry(state.tenants, c.registration.tenantId);
      state.tenants.set(c.registration.tenantId, { registration: c.registration, createdAt: at });
      return;
    case "roleAssign": {
      const key = roleKey(c.actorId, c.tenantId);
      state.touchEntry(state.roles, key);
      state.roles.set(key, { actorId: c.actorId, tenantId: c.tenantId, role: c.role, assignedAt: at });
      return;
    }
    case "capabilityGrant":
    case "capabilityRevoke": {
      const key = grantKey(c.actorId, c.capability, c.tenantId);
      state.touchEntry(state.grants, key);
      if (c.kind === "capabilityGrant") state.grants.set(key, { actorId: c.actorId, tenantId: c.tenantId, capability: c.capability, grantedAt: at });
      else state.grants.set(key, { ...state.grants.get(key)!, revokedAt: at });
      return;
    }
    case "ledgerAppend":
      state.touchLedger();
      state.ledger.push(c.entry);
      return;
    case "taskPurge":
      state.purgeTask(c.taskId);
      return;
    case "runsPromote": {
      // Validation's records, in list order, when it returned them (no second lookup per run).
      const ids = c.runIds;
      const records = listed(found);
      for (let i = 0; i < ids.length; i++) moveRun(state, runRecord(state, ids[i]!, records?.[i]), "ready", at);
      return;
    }
  }
}
