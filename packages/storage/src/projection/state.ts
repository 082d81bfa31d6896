/**
 * The mutable state behind a projection, with an undo journal: while a
 * journal is open, the first change to any record saves a copy of it, so a
 * batch whose third command fails can be rolled back to exactly the state
 * before the batch. Outside a journal, changes cost nothing extra.
 */
import type { RunId, RunState, TaskId } from "@actionqueue/core";
import { RUN_STATES } from "@actionqueue/core";
import type {
  ActorRecord,
  BudgetRecord,
  EngineRecord,
  GrantRecord,
  RoleRecord,
  RunRecord,
  SubscriptionRecord,
  TaskRecord,
  TenantRecord,
} from "./records.js";
import type { LedgerEntry } from "@actionqueue/core";

type Undo = () => void;

/** Internal state of a projection (not exported from the package). */
export class ProjectionState {
  latestSequence = 0;
  readonly tasks = new Map<TaskId, TaskRecord>();
  readonly runs = new Map<RunId, RunRecord>();
  /** A task's runs: the id itself while it has one (most tasks), an array once it has more. */
  readonly runsByTask = new Map<TaskId, RunId | RunId[]>();
  readonly runsByState = new Map<RunState, Set<RunId>>(RUN_STATES.map((s) => [s, new Set<RunId>()]));
  engine: EngineRecord = { paused: false };
  readonly dependencies = new Map<TaskId, Set<TaskId>>();
  readonly budgets = new Map<string, BudgetRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly actors = new Map<string, ActorRecord>();
  readonly tenants = new Map<string, TenantRecord>();
  readonly roles = new Map<string, RoleRecord>();
  readonly grants = new Map<string, GrantRecord>();
  readonly ledger: LedgerEntry[] = [];

  #journal: Undo[] | undefined;
  #touched: Set<string> | undefined;
  // Runs saved by the open journal: kept apart from the other tokens so the
  // hot path (a run's batch of commands) never builds a token string.
  #touchedRuns: Set<RunId> | undefined;

  /** Records that `runId` is one of `taskId`'s runs. */
  addRunOfTask(taskId: TaskId, runId: RunId): void {
    const runs = this.runsByTask.get(taskId);
    if (runs === undefined) this.runsByTask.set(taskId, runId);
    else if (typeof runs === "string") this.runsByTask.set(taskId, [runs, runId]);
    else runs.push(runId);
  }

  /** The ids of a task's runs, in the order they were added (a fresh array). */
  runIdsOfTask(taskId: TaskId): RunId[] {
    const runs = this.runsByTask.get(taskId);
    if (runs === undefined) return [];
    return typeof runs === "string" ? [runs] : runs.slice();
  }

  #removeRunOfTask(taskId: TaskId, runId: RunId): void {
    const runs = this.runsByTask.get(taskId);
    if (runs === undefined) return;
    if (typeof runs === "string") {
      if (runs === runId) this.runsByTask.delete(taskId);
      return;
    }
    const at = runs.lastIndexOf(runId);
    if (at >= 0) runs.splice(at, 1);
    if (runs.length === 0) this.runsByTask.delete(taskId);
  }

  /** Starts recording undo information. */
  beginJournal(): void {
    this.#journal = [];
    this.#touched = undefined;
    this.#touchedRuns = undefined;
  }

  /** Drops the journal, keeping every change. */
  commitJournal(): void {
    this.#journal = undefined;
    this.#touched = undefined;
    this.#touchedRuns = undefined;
  }

  /** Undoes every change since {@link beginJournal}, newest first. */
  rollbackJournal(): void {
    const journal = this.#journal ?? [];
    this.commitJournal();
    for (let i = journal.length - 1; i >= 0; i--) journal[i]!();
  }

  #first(token: string): boolean {
    // Callers check for an open journal first, so no token string is built on the hot path.
    if (this.#journal === undefined) return false;
    const touched = (this.#touched ??= new Set());
    if (touched.has(token)) return false;
    touched.add(token);
    return true;
  }

  /** Call before changing `latestSequence`. */
  touchSequence(): void {
    if (this.#journal === undefined || !this.#first("sequence")) return;
    const prev = this.latestSequence;
    this.#journal.push(() => (this.latestSequence = prev));
  }

  /** Call before changing (or creating) task `id`. */
  touchTask(id: TaskId): void {
    if (this.#journal === undefined || !this.#first(`task:${id}`)) return;
    const prev = this.tasks.get(id);
    const copy = prev === undefined ? undefined : { ...prev };
    this.#journal.push(() => (copy === undefined ? this.tasks.delete(id) : this.tasks.set(id, copy)));
  }

  /** Call before changing (or creating) run `id`: saves the run record (history, attempts, lease) and its index entries. */
  touchRun(id: RunId): void {
    const journal = this.#journal;
    if (journal === undefined) return;
    const touched = (this.#touchedRuns ??= new Set());
    if (touched.has(id)) return;
    touched.add(id);
    const prev = this.runs.get(id);
    if (prev === undefined) {
      journal.push(() => {
        const record = this.runs.get(id);
        if (record === undefined) return;
        this.runs.delete(id);
        this.runsByState.get(record.state)!.delete(id);
        this.#removeRunOfTask(record.taskId, id);
      });
      return;
    }
    const copy = prev.copy();
    journal.push(() => {
      const current = this.runs.get(id);
      if (current !== undefined) this.runsByState.get(current.state)!.delete(id);
      this.runs.set(id, copy);
      this.runsByState.get(copy.state)!.add(id);
    });
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
