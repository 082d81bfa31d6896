/**
 * The in-memory scheduler the runtime keeps beside the durable projection:
 * heap indices of scheduled, retry-waiting and ready runs, the concurrency-key
 * gate, and per-state counts. Everything is O(log n) per run and synchronous.
 * It never writes durable state: it hands out *claims* (runs due for
 * promotion, runs selected for dispatch), the runtime submits the commands,
 * then reports the result through {@link Scheduler.onRunChanged} (or gives the
 * claim back with {@link Scheduler.releaseClaim}).
 */
import type { Clock, ConcurrencyKeyHoldPolicy, RunId, RunState, TaskId } from "@actionqueue/core";
import type { BackoffStrategy } from "@actionqueue/executor-local";
import { DEFAULT_BACKOFF, backoffDelayMs, retryDueAt } from "@actionqueue/executor-local";
import { jitterFraction } from "./jitter.js";
import { ConcurrencyKeyGate, holdsConcurrencyKey } from "../concurrency/key-gate.js";
import { IndexedHeap } from "../internal/indexed-heap.js";
import { selectedBefore } from "../selection/run-order.js";

/** The run fields the scheduler reads (a core `RunInstance` fits). */
export interface SchedulerRunInput {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly state: RunState;
  readonly attemptCount: number;
  readonly createdAt: number;
  readonly scheduledAt: number;
  readonly effectivePriority: number;
  readonly lastStateChangeAt: number;
}

/** The task fields the scheduler reads (a core `TaskSpec` fits). */
export interface SchedulerTaskInput {
  readonly id: TaskId;
  readonly constraints: {
    readonly concurrencyKey?: string | undefined;
    readonly concurrencyKeyHoldPolicy: ConcurrencyKeyHoldPolicy;
    /** The task's own retry backoff, in place of the scheduler's. */
    readonly backoff?: BackoffStrategy | undefined;
  };
}

/** A run as the scheduler tracks it; handed out by promotion and selection. Read-only to callers. */
export interface SchedulerRun {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly state: RunState;
  readonly attemptCount: number;
  readonly createdAt: number;
  readonly scheduledAt: number;
  readonly effectivePriority: number;
  readonly lastStateChangeAt: number;
  /** Scheduled: `scheduledAt`; retryWait: when the backoff ends; otherwise meaningless. */
  readonly dueAt: number;
  /** The task's concurrency key, if any. */
  readonly concurrencyKey: string | undefined;
}

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Retry backoff (default: fixed 5 s). */
  readonly backoff?: BackoffStrategy;
  /**
   * @deprecated Not used: jitter for a run's retry is now derived from its id
   * and attempt count, so a restarted scheduler computes the same retry time.
   */
  readonly clock?: Pick<Clock, "random">;
  /**
   * Attempts that count toward the backoff exponent (default: `attemptCount`).
   * Pass the projection's count without suspended attempts.
   */
  readonly countedAttempts?: (run: SchedulerRunInput) => number;
}

const CLAIM_NONE = 0;
const CLAIM_PROMOTION = 1;
const CLAIM_SELECTION = 2;

class Entry implements SchedulerRun {
  heapIndex = -1;
  id: RunId;
  taskId: TaskId;
  state: RunState;
  attemptCount: number;
  createdAt: number;
  scheduledAt: number;
  effectivePriority: number;
  lastStateChangeAt: number;
  dueAt = 0;
  concurrencyKey: string | undefined = undefined;
  holdsKey = false;
  claim = CLAIM_NONE;
  blockedOn: string | undefined = undefined;

  constructor(run: SchedulerRunInput) {
    this.id = run.id;
    this.taskId = run.taskId;
    this.state = run.state;
    this.attemptCount = run.attemptCount;
    this.createdAt = run.createdAt;
    this.scheduledAt = run.scheduledAt;
    this.effectivePriority = run.effectivePriority;
    this.lastStateChangeAt = run.lastStateChangeAt;
  }
}

const byDue = (a: Entry, b: Entry): boolean => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id);

const STATE_INDEX: Readonly<Record<RunState, number>> = {
  scheduled: 0,
  ready: 1,
  leased: 2,
  running: 3,
  retryWait: 4,
  suspended: 5,
  completed: 6,
  failed: 7,
  canceled: 8,
};

/** Per-state run counts. */
export type SchedulerCounts = Readonly<Record<RunState, number>>;

/** Runs due for promotion, selection and key holds, kept in step with durable state. */
export class Scheduler {
  readonly #entries = new Map<RunId, Entry>();
  /** Constraints of tasks that have a concurrency key (a task without one needs no entry: most tasks). */
  readonly #tasks = new Map<TaskId, SchedulerTaskInput["constraints"]>();
  readonly #scheduled = new IndexedHeap<Entry>(byDue);
  readonly #retry = new IndexedHeap<Entry>(byDue);
  readonly #ready = new IndexedHeap<Entry>(selectedBefore);
  readonly #blocked = new Map<string, Entry[]>();
  readonly #gate = new ConcurrencyKeyGate();
  readonly #counts = new Array<number>(9).fill(0);
  readonly #backoff: BackoffStrategy;
  /** Backoffs of tasks that have their own (most tasks use the scheduler's and have no entry). */
  readonly #taskBackoffs = new Map<TaskId, BackoffStrategy>();
  readonly #countedAttempts: ((run: SchedulerRunInput) => number) | undefined;
  #paused = false;
  #keyConflicts = 0;

  constructor(options: SchedulerOptions = {}) {
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#countedAttempts = options.countedAttempts;
  }

  /**
   * Builds a scheduler from durable state (the projection's tasks and runs),
   * including the concurrency-key holds: active (leased, running) runs are
   * placed first so they keep their keys.
   */
  static rebuild(tasks: Iterable<SchedulerTaskInput>, runs: Iterable<SchedulerRunInput>, options: SchedulerOptions = {}): Scheduler {
    const s = new Scheduler(options);
    for (const t of tasks) s.setTask(t);
    const rest: SchedulerRunInput[] = [];
    for (const r of runs) {
      if (r.state === "leased" || r.state === "running") s.onRunChanged(r);
      else rest.push(r);
    }
    for (const r of rest) s.onRunChanged(r);
    return s;
  }

  /** Registers (or updates) a task's key constraints and own backoff. Call before its runs are reported. */
  setTask(task: SchedulerTaskInput): void {
    if (task.constraints.concurrencyKey !== undefined) this.#tasks.set(task.id, task.constraints);
    else if (this.#tasks.size > 0) this.#tasks.delete(task.id);
    const backoff = task.constraints.backoff;
    if (backoff !== undefined) this.#taskBackoffs.set(task.id, backoff);
    else if (this.#taskBackoffs.size > 0) this.#taskBackoffs.delete(task.id);
  }

  /** Drops a task's key constraints (the task was purged: its runs are all terminal, so none is tracked). */
  forgetTask(taskId: TaskId): void {
    this.#tasks.delete(taskId);
    this.#taskBackoffs.delete(taskId);
  }

  /** Pauses or resumes selection (engine pause); promotion is unaffected. */
  setPaused(paused: boolean): void {
    this.#paused = paused;
  }

  /** True while selection is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Records a run's current durable state (after creation, every transition,
   * attempt start, lease loss, recovery). Re-indexes it, drops any claim on it,
   * and takes or releases its concurrency key as the hold rule says — which is
   * how every terminal path, whoever caused it, frees the key.
   */
  onRunChanged(run: SchedulerRunInput): void {
    let e = this.#entries.get(run.id);
    if (e === undefined) {
      e = new Entry(run);
      this.#entries.set(run.id, e);
      this.#counts[STATE_INDEX[run.state]]! += 1;
      this.#apply(e, run.state, run.attemptCount, run.lastStateChangeAt, run);
      return;
    }
    e.scheduledAt = run.scheduledAt;
    e.effectivePriority = run.effectivePriority;
    this.#apply(e, run.state, run.attemptCount, run.lastStateChangeAt, run);
  }

  /**
   * Records a transition the caller has just made durable, without a full run
   * object: `runId` moved to `state` at `at` (its `lastStateChangeAt`).
   * `attemptCount` defaults to the tracked value (pass it after an attempt
   * start). Unknown runs are ignored (returns false).
   */
  onTransition(runId: RunId, state: RunState, at: number, attemptCount?: number): boolean {
    const e = this.#entries.get(runId);
    if (e === undefined) return false;
    this.#apply(e, state, attemptCount ?? e.attemptCount, at, undefined);
    return true;
  }

  /**
   * {@link onTransition} for a run this scheduler handed out as a claim
   * (`promoteDue`, `selectNext`) and that is still claimed: the claim is the
   * scheduler's own entry, so no lookup by id is needed (the dispatch loop
   * reports two transitions per run this way). A claim that was already
   * reported, given back or forgotten takes the lookup path.
   */
  onClaimedTransition(claim: SchedulerRun, state: RunState, at: number, attemptCount?: number): boolean {
    const e = claim as Entry;
    if (!(e instanceof Entry) || e.claim === CLAIM_NONE) return this.onTransition(claim.id, state, at, attemptCount);
    this.#apply(e, state, attemptCount ?? e.attemptCount, at, undefined);
    return true;
  }

  #apply(e: Entry, state: RunState, attemptCount: number, lastStateChangeAt: number, input: SchedulerRunInput | undefined): void {
    this.#detach(e);
    if (e.state !== state) {
      this.#counts[STATE_INDEX[e.state]]! -= 1;
      this.#counts[STATE_INDEX[state]]! += 1;
      e.state = state;
    }
    e.attemptCount = attemptCount;
    e.lastStateChangeAt = lastStateChangeAt;
    e.claim = CLAIM_NONE;
    if (state === "retryWait") {
      const counted = this.#countedAttempts === undefined ? attemptCount : this.#countedAttempts(input ?? e);
      const backoff = this.#taskBackoffs.size === 0 ? this.#backoff : (this.#taskBackoffs.get(e.taskId) ?? this.#backoff);
      const jitter = backoff.jitter === "full" ? { random: () => jitterFraction(e.id, counted) } : undefined;
      e.dueAt = retryDueAt(lastStateChangeAt, backoffDelayMs(backoff, counted, jitter));
    }
    this.#syncKey(e);
    this.#place(e);
  }

  /** Stops tracking a run (e.g. after its task was garbage-collected); releases its key. */
  forget(runId: RunId): void {
    const e = this.#entries.get(runId);
    if (e === undefined) return;
    this.#detach(e);
    if (e.holdsKey) this.#releaseKey(e);
    this.#counts[STATE_INDEX[e.state]]! -= 1;
    // A claim still held elsewhere must not reach this entry again (onClaimedTransition).
    e.claim = CLAIM_NONE;
    this.#entries.delete(runId);
  }

  /**
   * Claims runs due now: scheduled runs with `scheduledAt <= now`, then
   * retry-waiting runs whose backoff ended (`dueAt <= now`), earliest first,
   * at most `limit`. Claimed runs leave the indices until reported back.
   */
  promoteDue(now: number, limit = Number.POSITIVE_INFINITY, out: SchedulerRun[] = []): SchedulerRun[] {
    this.#drainDue(this.#scheduled, now, limit, out);
    this.#drainDue(this.#retry, now, limit, out);
    return out;
  }

  #drainDue(heap: IndexedHeap<Entry>, now: number, limit: number, out: SchedulerRun[]): void {
    for (let top = heap.peek(); top !== undefined && top.dueAt <= now && out.length < limit; top = heap.peek()) {
      heap.pop();
      top.claim = CLAIM_PROMOTION;
      out.push(top);
    }
  }

  /**
   * Claims up to `limit` ready runs in selection order, skipping (without
   * losing) runs whose key another run holds; nothing while paused. Each
   * selected keyed run takes its key at once, so two runs of one key are never
   * selected together. Report the lease with `onRunChanged`, or give the run
   * back with `releaseClaim`.
   */
  selectNext(limit: number, out: SchedulerRun[] = []): SchedulerRun[] {
    while (out.length < limit) {
      const e = this.selectOne();
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }

  /**
   * {@link selectNext} for a single run, without an array: the next claim,
   * or undefined when nothing is selectable (or selection is paused). A
   * loop that refills one freed slot per finished run calls this once per
   * run, where an array grown by one push allocated room for 16.
   */
  selectOne(): SchedulerRun | undefined {
    if (this.#paused) return undefined;
    const ready = this.#ready;
    for (;;) {
      const e = ready.pop();
      if (e === undefined) return undefined;
      const key = e.concurrencyKey;
      if (key !== undefined && !e.holdsKey) {
        if (this.#gate.acquire(key, e.id).kind === "occupied") {
          this.#block(e, key);
          continue;
        }
        e.holdsKey = true;
      }
      e.claim = CLAIM_SELECTION;
      return e;
    }
  }

  /** Gives back a claim whose commands failed: the run is re-indexed by its unchanged state (its key released if the state does not hold it). */
  releaseClaim(runId: RunId): void {
    const e = this.#entries.get(runId);
    if (e === undefined || e.claim === CLAIM_NONE) return;
    e.claim = CLAIM_NONE;
    this.#syncKey(e);
    this.#place(e);
  }

  /** Earliest `scheduledAt` or retry due time still waiting, for the runtime's timer; undefined when none. */
  nextWakeAt(): number | undefined {
    const a = this.#scheduled.peek()?.dueAt;
    const b = this.#retry.peek()?.dueAt;
    if (a === undefined) return b;
    return b === undefined || a <= b ? a : b;
  }

  /** The tracked run, if any (a live view; do not keep it across changes). */
  get(runId: RunId): SchedulerRun | undefined {
    return this.#entries.get(runId);
  }

  /** When a retry-waiting run becomes due (explicit backoff "due at"). */
  retryDueAt(runId: RunId): number | undefined {
    const e = this.#entries.get(runId);
    return e?.state === "retryWait" ? e.dueAt : undefined;
  }

  /** The run holding `key`, if any. */
  keyHolder(key: string): RunId | undefined {
    return this.#gate.holderOf(key);
  }

  /** Times durable state said a run holds a key another run already held (should stay 0). */
  get keyConflicts(): number {
    return this.#keyConflicts;
  }

  /** Number of tracked runs in `state`. */
  count(state: RunState): number {
    return this.#counts[STATE_INDEX[state]]!;
  }

  /** Ready runs waiting in the ready index (excludes key-blocked and claimed ones). */
  get readyQueued(): number {
    return this.#ready.size;
  }

  /** Every per-state count. */
  counts(): SchedulerCounts {
    const c = this.#counts;
    return {
      scheduled: c[0]!,
      ready: c[1]!,
      leased: c[2]!,
      running: c[3]!,
      retryWait: c[4]!,
      suspended: c[5]!,
      completed: c[6]!,
      failed: c[7]!,
      canceled: c[8]!,
    };
  }

  #detach(e: Entry): void {
    if (e.heapIndex !== -1) {
      if (!this.#ready.remove(e) && !this.#scheduled.remove(e)) this.#retry.remove(e);
    }
    e.blockedOn = undefined;
  }

  #place(e: Entry): void {
    switch (e.state) {
      case "scheduled":
        e.dueAt = e.scheduledAt;
        this.#scheduled.push(e);
        return;
      case "retryWait":
        this.#retry.push(e);
        return;
      case "ready":
        this.#ready.push(e);
        return;
      default:
        return;
    }
  }

  #syncKey(e: Entry): void {
    if (!e.holdsKey && e.concurrencyKey === undefined && this.#tasks.size === 0) return; // no keyed task at all: nothing to hold or release
    const task = this.#tasks.get(e.taskId);
    const key = task?.concurrencyKey;
    if (e.holdsKey && e.concurrencyKey !== key) this.#releaseKey(e);
    e.concurrencyKey = key;
    if (key === undefined || task === undefined) return;
    const should = holdsConcurrencyKey(e, task.concurrencyKeyHoldPolicy);
    if (should && !e.holdsKey) {
      if (this.#gate.acquire(key, e.id).kind === "acquired") e.holdsKey = true;
      else this.#keyConflicts += 1;
    } else if (!should && e.holdsKey) {
      this.#releaseKey(e);
    }
  }

  #releaseKey(e: Entry): void {
    const key = e.concurrencyKey;
    e.holdsKey = false;
    if (key === undefined || this.#gate.release(key, e.id) !== "released") return;
    const waiting = this.#blocked.get(key);
    if (waiting === undefined) return;
    this.#blocked.delete(key);
    for (const w of waiting) {
      if (w.blockedOn !== key) continue;
      w.blockedOn = undefined;
      if (w.state === "ready" && w.claim === CLAIM_NONE && w.heapIndex === -1) this.#ready.push(w);
    }
  }

  #block(e: Entry, key: string): void {
    e.blockedOn = key;
    let list = this.#blocked.get(key);
    if (list === undefined) {
      list = [];
      this.#blocked.set(key, list);
    }
    list.push(e);
  }
}
