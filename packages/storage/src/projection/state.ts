/**
 * The mutable state behind a projection, with an undo journal: while a
 * journal is open, the first change to any record saves a copy of it, so a
 * batch whose third command fails can be rolled back to exactly the state
 * before the batch. Outside a journal, changes cost nothing extra.
 */
import type { AttemptResultKind, RunId, RunState, TaskId } from "@actionqueue/core";
import type {
  ActorRecord,
  AttemptRecord,
  BudgetRecord,
  EngineRecord,
  GrantRecord,
  RoleRecord,
  RunRecord,
  SubscriptionRecord,
  TaskEntry,
  TenantRecord,
} from "./records.js";
import type { LedgerEntry } from "@actionqueue/core";

type Undo = () => void;

/** The states whose runs are kept in sets (see ProjectionState.#live). */
const INDEXED_STATES: readonly RunState[] = ["leased", "running", "retryWait", "suspended"];
/** The other states: their runs are only counted. */
type CountedState = "scheduled" | "ready" | "completed" | "failed" | "canceled";
const COUNTED_STATES: readonly CountedState[] = ["scheduled", "ready", "completed", "failed", "canceled"];

/**
 * What a run record was before a journaled change: its changeable fields,
 * saved in place of a full copy (a batch saves one per run it touches, and
 * nearly every batch commits). The history array is only ever appended to or
 * replaced by a trimmed copy, so its old array and length restore it.
 */
class RunUndo {
  readonly #record: RunRecord;
  readonly #state: RunState;
  readonly #currentAttemptId: RunRecord["currentAttemptId"];
  readonly #attemptCount: number;
  readonly #effectivePriority: number;
  readonly #lastStateChangeAt: number;
  readonly #history: number[];
  readonly #historyLength: number;
  readonly #attempts: RunRecord["attempts"];
  readonly #lease: RunRecord["lease"];

  constructor(record: RunRecord) {
    this.#record = record;
    this.#state = record.state;
    this.#currentAttemptId = record.currentAttemptId;
    this.#attemptCount = record.attemptCount;
    this.#effectivePriority = record.effectivePriority;
    this.#lastStateChangeAt = record.lastStateChangeAt;
    this.#history = record.history;
    this.#historyLength = record.history.length;
    this.#attempts = record.attempts;
    this.#lease = record.lease;
  }

  undo(state: ProjectionState): void {
    const r = this.#record;
    state.unindexRun(r.id, r.state);
    r.state = this.#state;
    r.currentAttemptId = this.#currentAttemptId;
    r.attemptCount = this.#attemptCount;
    r.effectivePriority = this.#effectivePriority;
    r.lastStateChangeAt = this.#lastStateChangeAt;
    // The shared empty history is frozen and never grew; any other array only grew.
    if (this.#history.length !== this.#historyLength) this.#history.length = this.#historyLength;
    r.history = this.#history;
    // Attempts are copy-on-write: a different array means the batch started or finished one.
    if (r.attempts !== this.#attempts) {
      state.countResults(r.attempts, -1);
      state.countResults(this.#attempts, 1);
    }
    r.attempts = this.#attempts;
    r.lease = this.#lease;
    state.indexRun(r.id, r.state);
  }
}

/** Journal entry: a run the batch created (rollback deletes it). An object, not a closure: one per submitted run. */
class CreatedRun {
  readonly id: RunId;
  constructor(id: RunId) {
    this.id = id;
  }
}

/** Journal entry: a task the batch created (rollback deletes it). */
class CreatedTask {
  readonly id: TaskId;
  constructor(id: TaskId) {
    this.id = id;
  }
}

type JournalEntry = Undo | RunUndo | CreatedRun | CreatedTask;

/** Entries beyond which a cleared journal drops its array rather than keep the batch's entries pinned. */
const MAX_KEPT_JOURNAL = 64;

/**
 * The undo entries of the open batch. One instance serves every batch: its
 * array keeps its capacity, where a fresh `[]` per batch (most batches are a
 * job's one or two commands) allocated room for 17 at the first push.
 */
class Journal {
  #entries: JournalEntry[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(entry: JournalEntry): void {
    this.#entries[this.#length++] = entry;
  }

  at(index: number): JournalEntry {
    return this.#entries[index]!;
  }

  clear(): void {
    if (this.#length > MAX_KEPT_JOURNAL) this.#entries = [];
    this.#length = 0;
  }
}

/**
 * The ids an open journal has saved. Most batches touch one or two, where a
 * short array is cheaper than a set; a large batch (thousands of runs
 * created at once) moves to a set so the check stays O(1).
 */
class TouchedIds<TId extends string> {
  // The first `#count` slots hold the ids; clearing only resets the count
  // (setting an array's length costs a builtin call, twice per batch).
  readonly #small: TId[] = [];
  #count = 0;
  #large: Set<TId> | undefined;

  /** Adds `id`; false if it was already there. */
  add(id: TId): boolean {
    if (this.#large !== undefined) {
      if (this.#large.has(id)) return false;
      this.#large.add(id);
      return true;
    }
    const small = this.#small;
    const count = this.#count;
    for (let i = 0; i < count; i++) if (small[i] === id) return false;
    small[count] = id;
    this.#count = count + 1;
    if (count === 16) this.#large = new Set(small.slice(0, count + 1));
    return true;
  }

  clear(): void {
    this.#count = 0;
    this.#large = undefined;
  }
}

/** Re-inserts a map's entries in key order; returns the last key ("" when empty). */
function putInIdOrder<TId extends string, TValue>(map: Map<TId, TValue>): string {
  const entries = [...map].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  map.clear();
  for (const [id, value] of entries) map.set(id, value);
  return entries.length === 0 ? "" : entries[entries.length - 1]![0];
}

/** Internal state of a projection (not exported from the package). */
export class ProjectionState {
  latestSequence = 0;
  readonly tasks = new Map<TaskId, TaskEntry>();
  readonly runs = new Map<RunId, RunRecord>();
  // Runs by state, indexed only where the set stays small and is read on
  // its own (recovery reconciles leased and running runs; retry waits and
  // suspensions are listed): a run spends an attempt's time there, not its
  // life. The other states are only counted. Terminal runs are nearly all of
  // them, and scheduled and ready runs can be a whole backlog; indexing those
  // cost a set entry per run and two set operations per transition, and the
  // engine keeps its own queues of what is due. Listing them scans the runs.
  // Fields and a switch rather than maps keyed by state: two of these run on every transition.
  readonly #leased = new Set<RunId>();
  readonly #running = new Set<RunId>();
  readonly #retryWait = new Set<RunId>();
  readonly #suspended = new Set<RunId>();
  readonly #counts: Record<CountedState, number> = { scheduled: 0, ready: 0, completed: 0, failed: 0, canceled: 0 };
  // Finished attempts by result, over every run, kept like the state counts
  // so that statistics never walk every attempt of every run.
  readonly #results: Record<AttemptResultKind, number> = { success: 0, failure: 0, timeout: 0, suspended: 0 };

  // Whether each map iterates in id order. Ids minted by one factory arrive in
  // order, so listing in id order is a walk of the map; a run or task added
  // out of order (user-supplied task ids, a store written while the clock
  // stepped back) turns the flag off, and listings then sort. `version`
  // changes with every addition and removal, for caches of a sorted order.
  #runsInIdOrder = true;
  #lastRunId = "";
  #tasksInIdOrder = true;
  #lastTaskId = "";
  #version = 0;
  /** The largest run or attempt id added so far (a factory continues after it when the store reopens). */
  highestId = "";

  // While false (during WAL replay), the state index
  // is not maintained; rebuildIndexes() makes it whole again in one pass,
  // which is cheaper than a set delete and add on every replayed transition.
  #indexing = true;

  /** The set of runs in `state`, for the indexed states. */
  #live(state: RunState): Set<RunId> | undefined {
    switch (state) {
      case "leased":
        return this.#leased;
      case "running":
        return this.#running;
      case "retryWait":
        return this.#retryWait;
      case "suspended":
        return this.#suspended;
      default:
        return undefined;
    }
  }

  /** Stops maintaining the state index until {@link rebuildIndexes}. */
  suspendIndexes(): void {
    this.#indexing = false;
  }

  /** Rebuilds the state index from the run records and maintains it again from now on. */
  rebuildIndexes(): void {
    for (const state of INDEXED_STATES) this.#live(state)!.clear();
    for (const state of COUNTED_STATES) this.#counts[state] = 0;
    this.#results.success = this.#results.failure = this.#results.timeout = this.#results.suspended = 0;
    this.#indexing = true;
    for (const record of this.runs.values()) {
      this.indexRun(record.id, record.state);
      this.countResults(record.attempts, 1);
    }
    // A store read with its maps out of id order is put in order once here,
    // so that its listings walk the maps from now on.
    if (!this.#runsInIdOrder) {
      this.#lastRunId = putInIdOrder(this.runs);
      this.#runsInIdOrder = true;
      this.#version += 1;
    }
    if (!this.#tasksInIdOrder) {
      this.#lastTaskId = putInIdOrder(this.tasks);
      this.#tasksInIdOrder = true;
      this.#version += 1;
    }
  }

  /** True while {@link runs} iterates in run-id order. */
  get runsInIdOrder(): boolean {
    return this.#runsInIdOrder;
  }

  /** True while {@link tasks} iterates in task-id order. */
  get tasksInIdOrder(): boolean {
    return this.#tasksInIdOrder;
  }

  /** Changes with every run or task added or removed. */
  get version(): number {
    return this.#version;
  }

  /** Adds a run record: the map, the state index, the result counts, the id order. */
  addRun(record: RunRecord): void {
    const id = record.id;
    this.runs.set(id, record);
    this.#version += 1;
    if (id > this.#lastRunId) this.#lastRunId = id;
    else this.#runsInIdOrder = false;
    if (id > this.highestId) this.highestId = id;
    this.indexRun(id, record.state);
    const attempts = record.attempts;
    if (attempts.length > 0) {
      this.countResults(attempts, 1);
      for (let i = 0; i < attempts.length; i++) this.noteAttemptId(attempts[i]!.attemptId);
    }
  }

  /** Removes a run record (its task's list is the caller's business). */
  removeRun(id: RunId): RunRecord | undefined {
    const record = this.runs.get(id);
    if (record === undefined) return undefined;
    this.runs.delete(id);
    this.#version += 1;
    this.unindexRun(id, record.state);
    this.countResults(record.attempts, -1);
    return record;
  }

  /** Adds a task entry, keeping track of the id order. */
  addTask(id: TaskId, entry: TaskEntry): void {
    this.tasks.set(id, entry);
    this.#version += 1;
    if (id > this.#lastTaskId) this.#lastTaskId = id;
    else this.#tasksInIdOrder = false;
  }

  /** Removes a task entry (its runs are the caller's business). */
  removeTask(id: TaskId): void {
    if (this.tasks.delete(id)) this.#version += 1;
  }

  /** Records that an attempt with this id was started. */
  noteAttemptId(id: string): void {
    if (id > this.highestId) this.highestId = id;
  }

  /** Counts one attempt that finished with `result` (`delta` -1 uncounts it). */
  countResult(result: AttemptResultKind, delta: 1 | -1 = 1): void {
    if (this.#indexing) this.#results[result] += delta;
  }

  /** Counts (or, with -1, uncounts) the finished attempts of a list. */
  countResults(attempts: readonly AttemptRecord[], delta: 1 | -1): void {
    if (!this.#indexing) return;
    for (let i = 0; i < attempts.length; i++) {
      const outcome = attempts[i]!.outcome;
      if (outcome !== undefined) this.#results[outcome.result] += delta;
    }
  }

  /** Finished attempts by result, over every run. */
  resultCounts(): Record<AttemptResultKind, number> {
    return { ...this.#results };
  }

  /** Adds run `id` to the index of `state`. */
  indexRun(id: RunId, state: RunState): void {
    if (!this.#indexing) return;
    const live = this.#live(state);
    if (live !== undefined) live.add(id);
    else this.#counts[state as CountedState] += 1;
  }

  /** Removes run `id` from the index of `state`. */
  unindexRun(id: RunId, state: RunState): void {
    if (!this.#indexing) return;
    const live = this.#live(state);
    if (live !== undefined) live.delete(id);
    else this.#counts[state as CountedState] -= 1;
  }

  /** Number of runs in `state`. */
  countInState(state: RunState): number {
    const live = this.#live(state);
    if (live !== undefined) return live.size;
    return Object.hasOwn(this.#counts, state) ? this.#counts[state as CountedState] : 0;
  }

  /** Ids of the runs in `state`, unordered (a state that is only counted scans every run). */
  runIdsInState(state: RunState): RunId[] {
    const live = this.#live(state);
    if (live !== undefined) return [...live];
    const out: RunId[] = [];
    for (const record of this.runs.values()) if (record.state === state) out.push(record.id);
    return out;
  }
  engine: EngineRecord = { paused: false };
  readonly dependencies = new Map<TaskId, Set<TaskId>>();
  readonly budgets = new Map<string, BudgetRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly actors = new Map<string, ActorRecord>();
  readonly tenants = new Map<string, TenantRecord>();
  readonly roles = new Map<string, RoleRecord>();
  readonly grants = new Map<string, GrantRecord>();
  readonly ledger: LedgerEntry[] = [];

  /** The open journal (the same object every time), or undefined outside a batch. */
  #journal: Journal | undefined;
  readonly #journalStore = new Journal();
  #touched: Set<string> | undefined;
  // The sequence when the journal opened: restored on rollback without a closure.
  #savedSequence = 0;
  // Runs and tasks saved by the open journal. A batch touches one or two of
  // each, so a short array beats a set, and no token string is built on the
  // hot path (a run's batch of commands).
  #touchedRuns = new TouchedIds<RunId>();
  #touchedTasks = new TouchedIds<TaskId>();

  /** Records that `runId` is one of `taskId`'s runs (the task exists: validation checked). */
  addRunOfTask(taskId: TaskId, runId: RunId): void {
    const task = this.tasks.get(taskId)!;
    const runs = task.runs;
    if (runs === undefined) task.runs = runId;
    else if (typeof runs === "string") task.runs = [runs, runId];
    else runs.push(runId);
  }

  /** The ids of a task's runs, in the order they were added (a fresh array). */
  runIdsOfTask(taskId: TaskId): RunId[] {
    const runs = this.tasks.get(taskId)?.runs;
    if (runs === undefined) return [];
    return typeof runs === "string" ? [runs] : runs.slice();
  }

  #removeRunOfTask(taskId: TaskId, runId: RunId): void {
    const task = this.tasks.get(taskId);
    const runs = task?.runs;
    if (task === undefined || runs === undefined) return;
    if (typeof runs === "string") {
      if (runs === runId) task.runs = undefined;
      return;
    }
    const at = runs.lastIndexOf(runId);
    if (at >= 0) runs.splice(at, 1);
    if (runs.length === 0) task.runs = undefined;
  }

  /**
   * Removes task `taskId` with its runs, and what belongs to it alone: its
   * own dependency list, budgets and subscriptions (validation checked that
   * it may go). One undo entry restores all of it.
   */
  purgeTask(taskId: TaskId): void {
    const task = this.tasks.get(taskId)!;
    const runs: RunRecord[] = [];
    for (const runId of this.runIdsOfTask(taskId)) {
      const record = this.removeRun(runId);
      if (record !== undefined) runs.push(record);
    }
    this.removeTask(taskId);
    const dependencies = this.dependencies.get(taskId);
    this.dependencies.delete(taskId);
    const budgets: [string, BudgetRecord][] = [];
    for (const [key, budget] of this.budgets) if (budget.taskId === taskId) budgets.push([key, budget]);
    for (const [key] of budgets) this.budgets.delete(key);
    const subscriptions: [string, SubscriptionRecord][] = [];
    for (const [key, subscription] of this.subscriptions) if (subscription.taskId === taskId) subscriptions.push([key, subscription]);
    for (const [key] of subscriptions) this.subscriptions.delete(key);
    // Purges are rare: one closure holding what went is the simplest undo.
    this.#journal?.push(() => {
      this.addTask(taskId, task);
      for (const record of runs) this.addRun(record);
      if (dependencies !== undefined) this.dependencies.set(taskId, dependencies);
      for (const [key, budget] of budgets) this.budgets.set(key, budget);
      for (const [key, subscription] of subscriptions) this.subscriptions.set(key, subscription);
    });
  }

  /** Starts recording undo information. */
  beginJournal(): void {
    // The store is empty: committing and rolling back both clear it.
    this.#journal = this.#journalStore;
    this.#touched = undefined;
    this.#savedSequence = this.latestSequence;
    this.#touchedRuns.clear();
    this.#touchedTasks.clear();
  }

  /** Drops the journal, keeping every change. */
  commitJournal(): void {
    this.#closeJournal();
    this.#journalStore.clear();
  }

  #closeJournal(): void {
    this.#journal = undefined;
    this.#touched = undefined;
    this.#touchedRuns.clear();
    this.#touchedTasks.clear();
  }

  /** Undoes every change since {@link beginJournal}, newest first. */
  rollbackJournal(): void {
    const journal = this.#journal;
    const sequence = this.#savedSequence;
    // Closed first, so that nothing the undo entries change is journaled again.
    this.#closeJournal();
    for (let i = (journal?.length ?? 0) - 1; i >= 0; i--) {
      const entry = journal!.at(i);
      if (typeof entry === "function") entry();
      else if (entry instanceof RunUndo) entry.undo(this);
      else if (entry instanceof CreatedRun) this.#deleteCreatedRun(entry.id);
      else this.removeTask(entry.id);
    }
    this.#journalStore.clear();
    this.latestSequence = sequence;
  }

  #first(token: string): boolean {
    // Callers check for an open journal first, so no token string is built on the hot path.
    if (this.#journal === undefined) return false;
    const touched = (this.#touched ??= new Set());
    if (touched.has(token)) return false;
    touched.add(token);
    return true;
  }

  /** Call before changing (or creating) task `id`. */
  touchTask(id: TaskId): void {
    const journal = this.#journal;
    if (journal === undefined || !this.#touchedTasks.add(id)) return;
    const prev = this.tasks.get(id);
    const copy = prev?.copy();
    journal.push(() => {
      if (copy === undefined) this.removeTask(id);
      // A task purged later in the batch was put back by then (undo runs newest first): this keeps its place.
      else if (this.tasks.has(id)) this.tasks.set(id, copy);
      else this.addTask(id, copy);
    });
  }

  /** Call before changing (or creating) run `id`: saves the run record (history, attempts, lease) and its index entries. */
  touchRun(id: RunId): void {
    const journal = this.#journal;
    if (journal === undefined) return;
    if (!this.#touchedRuns.add(id)) return;
    const prev = this.runs.get(id);
    journal.push(prev === undefined ? new CreatedRun(id) : new RunUndo(prev));
  }

  /**
   * {@link touchRun} for a run that validation showed does not exist yet:
   * skips the lookup (a miss in a large map is the costliest step of a create).
   */
  touchNewRun(id: RunId): void {
    // Not added to the touched set: a run is created once per batch (validation refuses a second), and a
    // later change to it in the same batch saves its fields after this entry, which rollback undoes first.
    // A bulk submission of thousands of runs thus builds no set.
    this.#journal?.push(new CreatedRun(id));
  }

  /** {@link touchTask} for a task that validation showed does not exist yet (see {@link touchNewRun}). */
  touchNewTask(id: TaskId): void {
    this.#journal?.push(new CreatedTask(id));
  }

  #deleteCreatedRun(id: RunId): void {
    const record = this.removeRun(id);
    if (record !== undefined) this.#removeRunOfTask(record.taskId, id);
  }

  /** Call before changing the engine record. */
  touchEngine(): void {
    if (this.#journal === undefined || !this.#first("engine")) return;
    const copy = { ...this.engine };
    this.#journal.push(() => (this.engine = copy));
  }

  /** Call before changing a task's dependency set. */
  touchDependencies(taskId: TaskId): void {
    if (this.#journal === undefined || !this.#first(`deps:${taskId}`)) return;
    const prev = this.dependencies.get(taskId);
    const copy = prev === undefined ? undefined : new Set(prev);
    this.#journal.push(() => (copy === undefined ? this.dependencies.delete(taskId) : this.dependencies.set(taskId, copy)));
  }

  /** Call before changing an entry of one of the keyed maps. */
  touchEntry<TValue extends object>(map: Map<string, TValue>, key: string): void {
    // Restoring runs newest-first, so saving a key twice is harmless: the
    // oldest copy is restored last.
    if (this.#journal === undefined) return;
    const prev = map.get(key);
    const copy = prev === undefined ? undefined : { ...prev };
    this.#journal.push(() => (copy === undefined ? map.delete(key) : map.set(key, copy)));
  }

  /** Call before appending to the ledger. */
  touchLedger(): void {
    if (this.#journal === undefined || !this.#first("ledger")) return;
    const length = this.ledger.length;
    this.#journal.push(() => (this.ledger.length = length));
  }
}
