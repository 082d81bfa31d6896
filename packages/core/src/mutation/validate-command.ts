/**
 * The shape check of mutation commands: every field of a command on its own
 * (ids parse and are canonical, lease owners and dependency lists non-empty,
 * budget amounts positive, timestamps are epoch ms, embedded values valid).
 * It never looks at durable state; the storage authority does that after this
 * passes. Rust enforced several of these only in debug builds; we always do.
 */
import { validateActorRegistration } from "../actor/actor.js";
import { validateBudgetDimension, validateBudgetLimit } from "../budget/budget.js";
import { TransitionError, ValidationError, describeValue } from "../errors/action-queue-error.js";
import { parseActorId, parseAttemptId, parseRunId, parseSubscriptionId, parseTaskId, parseTenantId } from "../ids/ids.js";
import { fail, isIntInRange, isNonNegativeInt, requireCanonicalId, requireNonEmpty, requireTimestamp } from "../internal/checks.js";
import { validatePermission, validateRole, validateTenantRegistration, validateLedgerEntry } from "../platform/platform.js";
import { RunInstance } from "../run/run-instance.js";
import { isRunState, isValidTransition } from "../run/run-state.js";
import type { RunState } from "../run/run-state.js";
import { validateEventFilter } from "../subscription/event-filter.js";
import { validateTaskSpec } from "../task/task-spec.js";
import { validateAttemptOutcome } from "./attempt-outcome.js";
import type { MutationCommand } from "./commands.js";
import { MUTATION_COMMAND_KINDS } from "./commands.js";

const runId = (c: { runId: unknown }): void => void requireCanonicalId(parseRunId, "command.runId", c.runId);
const taskId = (c: { taskId: unknown }): void => void requireCanonicalId(parseTaskId, "command.taskId", c.taskId);
const actorId = (c: { actorId: unknown }): void => void requireCanonicalId(parseActorId, "command.actorId", c.actorId);
const tenantId = (c: { tenantId: unknown }): void => void requireCanonicalId(parseTenantId, "command.tenantId", c.tenantId);
const attemptId = (c: { attemptId: unknown }): void => void requireCanonicalId(parseAttemptId, "command.attemptId", c.attemptId);
const subscriptionId = (c: { subscriptionId: unknown }): void =>
  void requireCanonicalId(parseSubscriptionId, "command.subscriptionId", c.subscriptionId);

function lease(c: { runId: unknown; owner: unknown; expiresAt: unknown }): void {
  runId(c);
  requireNonEmpty("EMPTY_LEASE_OWNER", "command.owner", c.owner);
  requireTimestamp("command.expiresAt", c.expiresAt);
}

function positiveAmount(field: string, value: unknown): void {
  if (!isIntInRange(value, 1, Number.MAX_SAFE_INTEGER)) fail("INVALID_BUDGET_AMOUNT", field, value, "a safe integer ≥ 1");
}

/** `command.newState` is a run state that `from` may move to. */
function legalTransition(from: RunState, newState: RunState): void {
  if (!isRunState(newState)) fail("INVALID_FIELD", "command.newState", newState, "a run state");
  if (!isValidTransition(from, newState)) {
    throw new TransitionError("INVALID_TRANSITION", `invalid command: run transition ${from} → ${newState} is not legal`, {
      details: { field: "command.newState", from, to: newState },
    });
  }
}

/** `command.runIds` of an event about several runs: a non-empty list of canonical run ids, each listed once. Returns its length. */
function distinctRunIds(ids: unknown): number {
  if (!Array.isArray(ids) || ids.length === 0) fail("INVALID_FIELD", "command.runIds", ids, "a non-empty list of run ids");
  const seen = new Set<string>();
  for (let i = 0; i < ids.length; i++) {
    const id = requireCanonicalId(parseRunId, `command.runIds[${i}]`, ids[i]);
    if (seen.has(id)) fail("INVALID_FIELD", `command.runIds[${i}]`, id, "a run listed once");
    seen.add(id);
  }
  return ids.length;
}

/** The runs of a `taskSubmit`: a list of fresh runs of the task, each listed once. */
function submittedRuns(taskId: string, runs: unknown): void {
  if (!Array.isArray(runs)) fail("INVALID_FIELD", "command.runs", runs, "a list of runs");
  const seen = new Set<string>();
  for (let i = 0; i < runs.length; i++) {
    const run: unknown = runs[i];
    const field = `command.runs[${i}]`;
    if (!(run instanceof RunInstance)) fail("INVALID_FIELD", field, run, "a RunInstance");
    RunInstance.restore(run.toFields());
    if (run.taskId !== taskId) fail("INVALID_FIELD", `${field}.taskId`, run.taskId, `the submitted task ${taskId}`);
    if (run.state !== "scheduled" || run.attemptCount !== 0 || run.lastStateChangeAt !== run.createdAt) {
      fail("INVALID_FIELD", field, run.id, "a fresh run: scheduled, no attempts, last changed when created");
    }
    if (seen.has(run.id)) fail("INVALID_FIELD", `${field}.id`, run.id, "a run listed once");
    seen.add(run.id);
  }
}

/**
 * Checks one command's own fields and throws a typed `ValidationError` (or the
 * `TransitionError` `INVALID_TRANSITION` for an illegal state pair) on the
 * first problem: `INVALID_COMMAND` for an unknown kind, `INVALID_FIELD` for a
 * bad sequence, `INVALID_TIMESTAMP`, `INVALID_ID`, `EMPTY_LEASE_OWNER`,
 * `EMPTY_DEPENDENCY_LIST`, `ZERO_LIMIT`, `INVALID_BUDGET_AMOUNT`, and whatever
 * the embedded value's validator throws (task spec, run, outcome, filter,
 * registration, role, permission, tenant, ledger entry). It performs no state
 * checks (existence, current run state, lease ownership): those are storage's.
 */
export function validateCommandShape(command: MutationCommand): void {
  const c = command as { kind?: unknown; sequence?: unknown; timestamp?: unknown };
  if (typeof command !== "object" || command === null || !(MUTATION_COMMAND_KINDS as readonly unknown[]).includes(c.kind)) {
    throw new ValidationError("INVALID_COMMAND", `invalid command kind ${describeValue(c?.kind)}: expected a mutation command`, {
      details: { field: "command.kind", value: describeValue(c?.kind) },
    });
  }
  if (!isNonNegativeInt(c.sequence)) fail("INVALID_FIELD", "command.sequence", c.sequence, "a WAL sequence (a safe integer ≥ 0)");
  requireTimestamp("command.timestamp", c.timestamp);
  switch (command.kind) {
    case "taskCreate":
    case "taskSubmit":
      validateTaskSpec(command.taskSpec);
      requireCanonicalId(parseTaskId, "command.taskSpec.id", command.taskSpec.id);
      if (command.taskSpec.parentTaskId !== undefined) {
        requireCanonicalId(parseTaskId, "command.taskSpec.parentTaskId", command.taskSpec.parentTaskId);
      }
      if (command.taskSpec.tenantId !== undefined) requireCanonicalId(parseTenantId, "command.taskSpec.tenantId", command.taskSpec.tenantId);
      if (command.kind === "taskSubmit") submittedRuns(command.taskSpec.id, command.runs);
      return;
    case "runCreate":
      if (!(command.run instanceof RunInstance)) fail("INVALID_FIELD", "command.run", command.run, "a RunInstance");
      RunInstance.restore(command.run.toFields());
      return;
    case "runStateTransition": {
      runId(command);
      const { previousState, newState } = command;
      if (!isRunState(previousState)) fail("INVALID_FIELD", "command.previousState", previousState, "a run state");
      legalTransition(previousState, newState);
      return;
    }
    case "attemptStart":
      runId(command);
      attemptId(command);
      return;
    case "attemptFinish":
      runId(command);
      attemptId(command);
      validateAttemptOutcome(command.outcome);
      return;
    case "runFinish":
      runId(command);
      attemptId(command);
      validateAttemptOutcome(command.outcome);
      legalTransition("running", command.newState);
      return;
    case "leaseAcquire":
    case "leaseHeartbeat":
    case "runDispatch":
      lease(command);
      attemptId(command);
      return;
    case "leaseExpire":
    case "leaseRelease":
      lease(command);
      return;
    case "enginePause":
    case "engineResume":
      return;
    case "taskCancel":
    case "taskPurge":
      taskId(command);
      return;
    case "runsDispatch": {
      requireNonEmpty("EMPTY_LEASE_OWNER", "command.owner", command.owner);
      requireTimestamp("command.expiresAt", command.expiresAt);
      const count = distinctRunIds(command.runIds);
      const attemptIds: unknown = command.attemptIds;
      if (!Array.isArray(attemptIds) || attemptIds.length !== count) {
        fail("INVALID_FIELD", "command.attemptIds", attemptIds, `a list of ${count} attempt ids, one per run`);
      }
      for (let i = 0; i < count; i++) requireCanonicalId(parseAttemptId, `command.attemptIds[${i}]`, attemptIds[i]);
      return;
    }
    case "runsPromote":
      distinctRunIds(command.runIds);
      return;
    case "dependencyDeclare":
      taskId(command);
      if (!Array.isArray(command.dependsOn) || command.dependsOn.length === 0) {
        fail("EMPTY_DEPENDENCY_LIST", "command.dependsOn", command.dependsOn, "a non-empty list of task ids");
      }
      command.dependsOn.forEach((id, i) => requireCanonicalId(parseTaskId, `command.dependsOn[${i}]`, id));
      return;
    case "runSuspend":
      runId(command);
      if (command.reason !== undefined && typeof command.reason !== "string") {
        fail("INVALID_FIELD", "command.reason", command.reason, "a string");
      }
      return;
    case "runResume":
      runId(command);
      return;
    case "budgetAllocate":
      taskId(command);
      validateBudgetDimension(command.dimension, "command.dimension");
      validateBudgetLimit(command.limit, "command.limit");
      return;
    case "budgetConsume":
      taskId(command);
      validateBudgetDimension(command.dimension, "command.dimension");
      positiveAmount("command.amount", command.amount);
      return;
    case "budgetReplenish":
      taskId(command);
      validateBudgetDimension(command.dimension, "command.dimension");
      validateBudgetLimit(command.newLimit, "command.newLimit");
      return;
    case "subscriptionCreate":
      subscriptionId(command);
      taskId(command);
      validateEventFilter(command.filter);
      return;
    case "subscriptionCancel":
    case "subscriptionTrigger":
      subscriptionId(command);
      return;
    case "actorRegister":
      validateActorRegistration(command.registration);
      return;
    case "actorDeregister":
    case "actorHeartbeat":
      actorId(command);
      return;
    case "tenantCreate":
      validateTenantRegistration(command.registration);
      return;
    case "roleAssign":
      actorId(command);
      validateRole(command.role, "command.role");
      tenantId(command);
      return;
    case "capabilityGrant":
    case "capabilityRevoke":
      actorId(command);
      validatePermission(command.capability, "command.capability");
      tenantId(command);
      return;
    case "ledgerAppend":
      validateLedgerEntry(command.entry);
      return;
  }
}
