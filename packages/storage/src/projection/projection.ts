/**
 * The projection: the in-memory state the WAL describes, with the read API
 * the engine and the surfaces use. Lookups by id are O(1); per-task run
 * lists, the sets of leased, running, retrying and suspended runs, and the
 * counts of every state are maintained incrementally, so "runs of a task",
 * "runs in flight" and "counts by state" never scan every run.
 *
 * Only replay and the storage mutation authority change it, always through
 * validate.ts then apply.ts, and every apply is all-or-nothing.
 */
import { SequenceConflictError } from "@actionqueue/core";
import type {
  ActorId,
  AppliedMutation,
  AttemptResultKind,
  AttemptId,
  BudgetDimension,
  LedgerEntry,
  MutationCommand,
  Permission,
  RunId,
  RunInstance,
  RunState,
  SubscriptionId,
  TaskId,
  TenantId,
} from "@actionqueue/core";
import { RUN_STATES } from "@actionqueue/core";
import { applyEvent } from "./apply.js";
import type {
  ActorRecord,
  AttemptRecord,
  BudgetRecord,
  EngineRecord,
  GrantRecord,
  LeaseRecord,
  RoleRecord,
  StateChange,
  SubscriptionRecord,
  TaskRecord,
  TenantRecord,
} from "./records.js";
import { budgetKey, grantKey, roleKey } from "./records.js";
import { ProjectionState } from "./state.js";
import { validateEvent } from "./validate.js";

const states = new WeakMap<Projection, ProjectionState>();

/** The keys of a map in id order, after `after`. */
function* keysAfter<TId extends string>(keys: IterableIterator<TId>, after: TId | undefined): Generator<TId> {
  if (after === undefined) {
    yield* keys;
    return;
  }
  for (const id of keys) if (id > after) yield id;
}

/** The ids of a sorted array after `after` (binary search for the first). */
function* sortedAfter<TId extends string>(ids: readonly TId[], after: TId | undefined): Generator<TId> {
  let lo = 0;
  if (after !== undefined) {
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
  }
  for (let i = lo; i < ids.length; i++) yield ids[i]!;
}

/** The internal state of a projection (package-internal: snapshots and recovery). */
export function projectionState(projection: Projection): ProjectionState {
  return states.get(projection)!;
}

/** Read access to durable state; what `openStorage` hands out. */
export type ProjectionView = Omit<Projection, "apply" | "applyBatch">;

/** In-memory state rebuilt from WAL events (and snapshots). */
export class Projection {
  readonly #s: ProjectionState;
  /** Sorted ids while a map is out of id order, with the state version they were sorted at. */
  #sortedRuns: { version: number; ids: RunId[] } | undefined;
  #sortedTasks: { version: number; ids: TaskId[] } | undefined;

  constructor() {
    this.#s = new ProjectionState();
    states.set(this, this.#s);
  }

  /**
   * Validates and applies one event (replay). Its sequence must be greater than
   * {@link latestSequence}; a rejected event changes nothing. Using this on a
   * projection owned by storage bypasses the WAL: use the authority instead.
   */
  apply(command: MutationCommand): AppliedMutation {
    if (!Number.isSafeInteger(command.sequence) || command.sequence <= this.#s.latestSequence) {
      throw new SequenceConflictError(this.#s.latestSequence + 1, command.sequence);
    }
    validateEvent(this.#s, command);
    return applyEvent(this.#s, command);
  }

  /**
   * Validates and applies several events as one unit: each is checked against
   * the state the previous ones leave; if any fails, none stays applied.
   */
  applyBatch(commands: readonly MutationCommand[], exactSequences = false): AppliedMutation[] {
    const s = this.#s;
    s.beginJournal();
    try {
      const applied: AppliedMutation[] = [];
      for (const command of commands) {
        if (exactSequences && command.sequence !== s.latestSequence + 1) throw new SequenceConflictError(s.latestSequence + 1, command.sequence);
        applied.push(this.apply(command));
      }
      s.commitJournal();
      return applied;
    } catch (error) {
      s.rollbackJournal();
      throw error;
    }
  }

  /** Sequence of the last applied event (0 when none). */
  get latestSequence(): number {
    return this.#s.latestSequence;
  }

  /** A task, or undefined. The record is a live read-only view. */
  getTask(taskId: TaskId): Readonly<TaskRecord> | undefined {
    return this.#s.tasks.get(taskId);
  }

  /** True when the task exists and was canceled. */
  isTaskCanceled(taskId: TaskId): boolean {
    return this.#s.tasks.get(taskId)?.canceledAt !== undefined;
  }

  /** Every task, in creation order. */
  tasks(): IterableIterator<Readonly<TaskRecord>> {
    return this.#s.tasks.values();
  }

  /** Number of tasks. */
  get taskCount(): number {
    return this.#s.tasks.size;
  }

  /** A detached copy of a run (changing it changes nothing durable), or undefined. */
  getRun(runId: RunId): RunInstance | undefined {
    return this.#s.runs.get(runId)?.toRunInstance();
  }

  /** The state of a run, without copying it. */
  runState(runId: RunId): RunState | undefined {
    return this.#s.runs.get(runId)?.state;
  }

  /** When a run last changed state (epoch ms; for a terminal run, when it ended), without copying it. */
  runLastChangeAt(runId: RunId): number | undefined {
    return this.#s.runs.get(runId)?.lastStateChangeAt;
  }

  /** The active attempt of a run, if any. */
  activeAttemptId(runId: RunId): AttemptId | undefined {
    return this.#s.runs.get(runId)?.currentAttemptId;
  }

  /** Ids of a task's runs, sorted (ULIDs sort in creation order). */
  runsOfTask(taskId: TaskId): RunId[] {
    return this.#s.runIdsOfTask(taskId).sort();
  }

  /** Ids of the runs currently in `state`, sorted. Leased, running, retryWait and suspended runs are indexed; the other states scan every run (O(runs)). */
  runsInState(state: RunState): RunId[] {
    return this.#s.runIdsInState(state).sort();
  }

  /** Number of runs in each state. O(number of states). */
  countsByState(): Record<RunState, number> {
    const counts = {} as Record<RunState, number>;
    for (const state of RUN_STATES) counts[state] = this.#s.countInState(state);
    return counts;
  }

  /** Number of runs. */
  get runCount(): number {
    return this.#s.runs.size;
  }

  /** Every run id, in creation order. */
  runIds(): IterableIterator<RunId> {
    return this.#s.runs.keys();
  }

  /**
   * Run ids in id order, only those after `after` when it is given. Ids one
   * factory minted arrive in id order, so this is a walk of the runs; a store
   * whose runs were added out of id order is sorted once per change instead.
   */
  runIdsInIdOrder(after?: RunId): Iterable<RunId> {
    const s = this.#s;
    if (s.runsInIdOrder) return keysAfter(s.runs.keys(), after);
    if (this.#sortedRuns?.version !== s.version) this.#sortedRuns = { version: s.version, ids: [...s.runs.keys()].sort() };
    return sortedAfter(this.#sortedRuns.ids, after);
  }

  /** Task ids in id order, only those after `after` when it is given (see {@link runIdsInIdOrder}). */
  taskIdsInIdOrder(after?: TaskId): Iterable<TaskId> {
    const s = this.#s;
    if (s.tasksInIdOrder) return keysAfter(s.tasks.keys(), after);
    if (this.#sortedTasks?.version !== s.version) this.#sortedTasks = { version: s.version, ids: [...s.tasks.keys()].sort() };
    return sortedAfter(this.#sortedTasks.ids, after);
  }

  /** Finished attempts by result, over every run (kept up to date: O(1)). */
  attemptResultCounts(): Record<AttemptResultKind, number> {
    return this.#s.resultCounts();
  }

  /**
   * The largest run or attempt id this projection has held (undefined when
   * none): an id factory that continues after it never mints one of them again
   * and keeps new runs in id order.
   */
  get highestId(): string | undefined {
    return this.#s.highestId === "" ? undefined : this.#s.highestId;
  }

  /** A run's state history, oldest first; the first entry is `{ from: null, to: 'scheduled' }`. Built on each call. */
  runHistory(runId: RunId): readonly StateChange[] {
    return this.#s.runs.get(runId)?.historyEntries() ?? [];
  }

  /** A run's attempts, oldest first, with outcome and output once finished. */
  attempts(runId: RunId): readonly Readonly<AttemptRecord>[] {
    return this.#s.runs.get(runId)?.attempts ?? [];
  }

  /** The active lease of a run, if any. */
  lease(runId: RunId): Readonly<LeaseRecord> | undefined {
    return this.#s.runs.get(runId)?.lease;
  }

  /** Engine pause state. */
  engine(): Readonly<EngineRecord> {
    return this.#s.engine;
  }

  /** True while the engine is paused. */
  isEnginePaused(): boolean {
    return this.#s.engine.paused;
  }

  /** Prerequisites a task waits for, sorted. */
  dependencies(taskId: TaskId): TaskId[] {
    return [...(this.#s.dependencies.get(taskId) ?? [])].sort();
  }

  /** Tasks that declared dependencies. */
  tasksWithDependencies(): TaskId[] {
    return [...this.#s.dependencies.keys()].sort();
  }

  /** The budget of a task on one dimension. */
  budget(taskId: TaskId, dimension: BudgetDimension): Readonly<BudgetRecord> | undefined {
    return this.#s.budgets.get(budgetKey(taskId, dimension));
  }

  /** Every budget. */
  budgets(): IterableIterator<Readonly<BudgetRecord>> {
    return this.#s.budgets.values();
  }

  /** A subscription. */
  subscription(subscriptionId: SubscriptionId): Readonly<SubscriptionRecord> | undefined {
    return this.#s.subscriptions.get(subscriptionId);
  }

  /** Every subscription. */
  subscriptions(): IterableIterator<Readonly<SubscriptionRecord>> {
    return this.#s.subscriptions.values();
  }

  /** An actor. */
  actor(actorId: ActorId): Readonly<ActorRecord> | undefined {
    return this.#s.actors.get(actorId);
  }

  /** True when the actor is registered and not deregistered. */
  isActorActive(actorId: ActorId): boolean {
    const actor = this.#s.actors.get(actorId);
    return actor !== undefined && actor.deregisteredAt === undefined;
  }

  /** A tenant. */
  tenant(tenantId: TenantId): Readonly<TenantRecord> | undefined {
    return this.#s.tenants.get(tenantId);
  }

  /** An actor's role in a tenant. */
  role(actorId: ActorId, tenantId: TenantId): Readonly<RoleRecord> | undefined {
    return this.#s.roles.get(roleKey(actorId, tenantId));
  }

  /** A grant (revoked ones included, with `revokedAt`). */
  grant(actorId: ActorId, capability: Permission, tenantId: TenantId): Readonly<GrantRecord> | undefined {
    return this.#s.grants.get(grantKey(actorId, capability, tenantId));
  }

  /** True when the permission is granted and not revoked. */
  actorHasCapability(actorId: ActorId, capability: Permission, tenantId: TenantId): boolean {
    const grant = this.grant(actorId, capability, tenantId);
    return grant !== undefined && grant.revokedAt === undefined;
  }

  /** Ledger entries in append order. */
  ledger(): readonly LedgerEntry[] {
    return this.#s.ledger;
  }
}
