/**
 * The records the projection keeps: everything the WAL has said, in a shape
 * the engine can query. Readers get these as readonly views; only the reducer
 * (apply.ts) changes them, and only after validate.ts accepted the event.
 */
import type {
  ActorId,
  ActorRegistration,
  AttemptId,
  AttemptOutcome,
  BudgetDimension,
  EventFilter,
  Permission,
  Role,
  RunId,
  RunState,
  SubscriptionId,
  TaskId,
  TaskSpec,
  TenantId,
  TenantRegistration,
} from "@actionqueue/core";
import { RUN_STATES, RunInstance } from "@actionqueue/core";

/** A task and its lifecycle times (epoch ms). */
export interface TaskRecord {
  readonly spec: TaskSpec;
  readonly createdAt: number;
  readonly canceledAt?: number | undefined;
}

/**
 * The projection's task record. It also lists the task's runs, which saves
 * a separate map entry per task: the id itself while the task has one run
 * (most tasks), an array once it has more.
 */
export class TaskEntry implements TaskRecord {
  readonly spec: TaskSpec;
  readonly createdAt: number;
  canceledAt: number | undefined;
  runs: RunId | RunId[] | undefined;

  constructor(spec: TaskSpec, createdAt: number, canceledAt: number | undefined, runs: RunId | RunId[] | undefined) {
    this.spec = spec;
    this.createdAt = createdAt;
    this.canceledAt = canceledAt;
    this.runs = runs;
  }

  /** A copy for the undo journal (the run list is copied too). */
  copy(): TaskEntry {
    const runs = this.runs;
    return new TaskEntry(this.spec, this.createdAt, this.canceledAt, typeof runs === "object" ? runs.slice() : runs);
  }
}

/** One entry of a run's state history; the first is `{ from: null, to: 'scheduled' }`. */
export interface StateChange {
  readonly from: RunState | null;
  readonly to: RunState;
  readonly at: number;
}

/** One attempt of a run: started, and once finished, its durable outcome. */
export interface AttemptRecord {
  readonly attemptId: AttemptId;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly outcome?: AttemptOutcome;
}

/** The active lease of a run. `attemptId` is the fencing token it was granted for. */
export interface LeaseRecord {
  readonly owner: string;
  readonly expiresAt: number;
  readonly attemptId: AttemptId;
  readonly acquiredAt: number;
  readonly updatedAt: number;
}

const NO_ATTEMPTS: readonly AttemptRecord[] = Object.freeze([]);
/** Histories up to this many numbers (16 changes) are kept exactly sized; longer ones grow in place. */
const EXACT_HISTORY_MAX = 32;
// Typed mutable, but never changed: recordChange replaces it instead.
const NO_CHANGES = Object.freeze([]) as unknown as number[];

/**
 * The packed-history code of a state: its index in RUN_STATES. A switch
 * rather than a Map: the constants compare by identity, where a Map lookup
 * (a builtin call) ran several times per job.
 */
export function stateCode(state: RunState): number {
  switch (state) {
    case "scheduled":
      return 0;
    case "ready":
      return 1;
    case "leased":
      return 2;
    case "running":
      return 3;
    case "retryWait":
      return 4;
    case "suspended":
      return 5;
    case "completed":
      return 6;
    case "failed":
      return 7;
    case "canceled":
      return 8;
  }
}

/**
 * Everything known about one run, in one flat object: the run's fields, its
 * history, attempts and lease. A projection keeps one per run for as long as
 * the run exists (terminal runs included), so the layout is chosen for size:
 *
 * - `history` is packed as `[stateCode, at - createdAt, ...]` pairs for every
 *   change after the implicit first one (→ scheduled at `createdAt`). Small
 *   integers stay unboxed in the array, where one object per change cost
 *   about 48 bytes plus a boxed number. A short history is always exactly
 *   sized (each change makes a copy); a long one grows in place and is
 *   trimmed when the run becomes terminal.
 * - `attempts` is copy-on-write and exactly sized (runs have few attempts);
 *   entries are never changed in place, so a reader's view stays valid.
 *
 * Only the reducer changes a record, after validation accepted the event.
 */
export class RunRecord {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly createdAt: number;
  readonly scheduledAt: number;
  state: RunState;
  currentAttemptId: AttemptId | undefined;
  attemptCount: number;
  effectivePriority: number;
  lastStateChangeAt: number;
  history: number[];
  attempts: readonly AttemptRecord[];
  lease: LeaseRecord | undefined;

  constructor(
    id: RunId,
    taskId: TaskId,
    state: RunState,
    currentAttemptId: AttemptId | undefined,
    attemptCount: number,
    createdAt: number,
    scheduledAt: number,
    effectivePriority: number,
    lastStateChangeAt: number,
    history: number[],
    attempts: readonly AttemptRecord[],
    lease: LeaseRecord | undefined,
  ) {
    this.id = id;
    this.taskId = taskId;
    this.createdAt = createdAt;
    this.scheduledAt = scheduledAt;
    this.state = state;
    this.currentAttemptId = currentAttemptId;
    this.attemptCount = attemptCount;
    this.effectivePriority = effectivePriority;
    this.lastStateChangeAt = lastStateChangeAt;
    this.history = history;
    this.attempts = attempts;
    this.lease = lease;
  }

  /** The record of a run with the given history, attempts and lease. */
  static of(run: RunInstance, history: number[], attempts: readonly AttemptRecord[], lease: LeaseRecord | undefined): RunRecord {
    return new RunRecord(
      run.id,
      run.taskId,
      run.state,
      run.currentAttemptId,
      run.attemptCount,
      run.createdAt,
      run.scheduledAt,
      run.effectivePriority,
      run.lastStateChangeAt,
      history,
      attempts,
      lease,
    );
  }

  /** The record of a newly created run (Scheduled, no attempts). */
  static created(run: RunInstance): RunRecord {
    return RunRecord.of(run, NO_CHANGES, NO_ATTEMPTS, undefined);
  }

  /** A detached RunInstance with this record's fields. */
  toRunInstance(): RunInstance {
    return RunInstance.fromValidatedFields(
      this.id,
      this.taskId,
      this.state,
      this.currentAttemptId,
      this.attemptCount,
      this.createdAt,
      this.scheduledAt,
      this.effectivePriority,
      this.lastStateChangeAt,
    );
  }

  /** Appends a state change to the packed history. */
  recordChange(to: RunState, at: number): void {
    this.#append(stateCode(to), at - this.createdAt, -1, 0);
  }

  /** Appends two state changes at one time (a dispatch: → leased, → running). */
  recordChanges(first: RunState, second: RunState, at: number): void {
    const offset = at - this.createdAt;
    this.#append(stateCode(first), offset, stateCode(second), offset);
  }

  /**
   * Appends one change (`codeB` < 0) or two. A short history is replaced by
   * an exactly sized copy: a run changes state a handful of times, and an
   * array grown by `push` carried spare room (then a trimmed copy once the
   * run was terminal), garbage that had usually reached the old generation.
   * A long one (a run suspended and resumed many times) grows in place, so
   * appends stay amortised O(1); `trimHistory` drops its spare room.
   */
  #append(codeA: number, offsetA: number, codeB: number, offsetB: number): void {
    const h = this.history;
    const n = h.length;
    const added = codeB < 0 ? 2 : 4;
    if (n + added > EXACT_HISTORY_MAX) {
      h.push(codeA, offsetA);
      if (codeB >= 0) h.push(codeB, offsetB);
      return;
    }
    // A new run shares one frozen empty history until its first change, so it is never pushed to.
    const next = new Array<number>(n + added);
    for (let i = 0; i < n; i++) next[i] = h[i]!;
    next[n] = codeA;
    next[n + 1] = offsetA;
    if (codeB >= 0) {
      next[n + 2] = codeB;
      next[n + 3] = offsetB;
    }
    this.history = next;
  }

  /** Drops the spare room of a history that grew in place (called once the run is terminal). */
  trimHistory(): void {
    if (this.history.length > EXACT_HISTORY_MAX) this.history = this.history.slice();
  }

  /** The history as objects, oldest first; the first entry is `{ from: null, to: 'scheduled' }`. */
  historyEntries(): StateChange[] {
    const out: StateChange[] = [{ from: null, to: "scheduled", at: this.createdAt }];
    let from: RunState = "scheduled";
    const h = this.history;
    for (let i = 0; i < h.length; i += 2) {
      const to = RUN_STATES[h[i]!]!;
      out.push({ from, to, at: this.createdAt + h[i + 1]! });
      from = to;
    }
    return out;
  }

  /** Appends an attempt (copy-on-write). */
  addAttempt(attempt: AttemptRecord): void {
    const list = this.attempts;
    const next: AttemptRecord[] = new Array<AttemptRecord>(list.length + 1);
    for (let i = 0; i < list.length; i++) next[i] = list[i]!;
    next[list.length] = attempt;
    this.attempts = next;
  }

  /** Replaces the last attempt (copy-on-write). */
  replaceLastAttempt(attempt: AttemptRecord): void {
    const next = this.attempts.slice();
    next[next.length - 1] = attempt;
    this.attempts = next;
  }
}

/** Engine pause state. */
export interface EngineRecord {
  paused: boolean;
  pausedAt?: number;
  resumedAt?: number;
}

/** A budget on one dimension of a task. */
export interface BudgetRecord {
  readonly taskId: TaskId;
  readonly dimension: BudgetDimension;
  limit: number;
  consumed: number;
  allocatedAt: number;
  exhausted: boolean;
}

/** A subscription and its lifecycle times. */
export interface SubscriptionRecord {
  readonly subscriptionId: SubscriptionId;
  readonly taskId: TaskId;
  readonly filter: EventFilter;
  readonly createdAt: number;
  triggeredAt?: number;
  canceledAt?: number;
}

/** A registered actor. */
export interface ActorRecord {
  readonly registration: ActorRegistration;
  readonly registeredAt: number;
  lastHeartbeatAt?: number;
  deregisteredAt?: number;
}

/** A tenant. */
export interface TenantRecord {
  readonly registration: TenantRegistration;
  readonly createdAt: number;
}

/** An actor's role within a tenant (one role per actor and tenant). */
export interface RoleRecord {
  readonly actorId: ActorId;
  readonly tenantId: TenantId;
  readonly role: Role;
  readonly assignedAt: number;
}

/** A permission granted to an actor within a tenant. */
export interface GrantRecord {
  readonly actorId: ActorId;
  readonly tenantId: TenantId;
  readonly capability: Permission;
  grantedAt: number;
  revokedAt?: number;
}

/** Key of a budget: task and dimension. */
export function budgetKey(taskId: TaskId, dimension: BudgetDimension): string {
  return `${taskId}/${dimension}`;
}

/** Key of a role assignment. */
export function roleKey(actorId: ActorId, tenantId: TenantId): string {
  return `${actorId}/${tenantId}`;
}

/** Key of a grant: actor, permission (variant name or `custom:<name>`), tenant. */
export function grantKey(actorId: ActorId, capability: Permission, tenantId: TenantId): string {
  const name = capability.kind === "custom" ? `custom:${capability.name}` : capability.kind;
  return `${actorId}/${name}/${tenantId}`;
}
