/**
 * The dispatch loop: the one serialised writer of a running queue. Every
 * command sequence (promote; lease + start; finish + transition) is built and
 * submitted synchronously inside one turn of the event loop, so ticks,
 * submissions, control calls and handler results never interleave within a
 * sequence. The authority applies commands synchronously and makes them
 * durable with group commit; events are emitted only once a change is durable.
 */
import type {
  AttemptId,
  Clock,
  ClockTimer,
  GroupCommitMutationAuthority,
  IdFactory,
  MutationCommand,
  RunId,
  RunState,
  TaskId,
  TaskSpec,
} from "@actionqueue/core";
import type { Scheduler, SchedulerRun } from "@actionqueue/engine";
import { buildAttemptFinishCommand, submitAttemptFinishInGroupCommit } from "@actionqueue/engine";
import type { AttemptHandle, AttemptRequest, AttemptResult, AttemptRunner, ExecutorResponse, Handler } from "@actionqueue/executor-local";
import { decideRetry } from "@actionqueue/executor-local";
import type { AttemptRecord, ProjectionView } from "@actionqueue/storage";
import type { ActionQueueEvents } from "./events/event-map.js";
import type { TypedEmitter } from "./events/typed-emitter.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
import type { ResolvedOptions } from "./options.js";
import type { GateCandidate, GateHoldInfo } from "./gates/dispatch-gate.js";
import { GateKeeper } from "./gates/gate-keeper.js";
import { recordableResponse } from "./output-limit.js";

/**
 * One attempt in flight. No AbortController per attempt: the runner's handle
 * aborts the handler (its context creates a signal only if the handler reads
 * it); before the start is durable there is no handler to abort yet.
 */
class InFlight {
  readonly runId: RunId;
  readonly taskId: TaskId;
  readonly attemptId: AttemptId;
  readonly spec: TaskSpec;
  /** Counted attempt number (suspended attempts excluded). */
  readonly attemptNumber: number;
  readonly scheduledAt: number;
  readonly startedAt: number;
  leaseExpiresAt: number;
  /** Set once the start batch is durable and the handler was called. */
  started = false;
  /** Aborts the handler once it started. */
  handle: AttemptHandle | undefined = undefined;
  /** A shutdown requested before the start was durable: the attempt begins aborted. */
  abortedBeforeStart: "shutdown" | undefined = undefined;

  constructor(runId: RunId, taskId: TaskId, attemptId: AttemptId, spec: TaskSpec, attemptNumber: number, scheduledAt: number, now: number, leaseExpiresAt: number) {
    this.runId = runId;
    this.taskId = taskId;
    this.attemptId = attemptId;
    this.spec = spec;
    this.attemptNumber = attemptNumber;
    this.scheduledAt = scheduledAt;
    this.startedAt = now;
    this.leaseExpiresAt = leaseExpiresAt;
  }
}

/** An attempt whose finish was written, waiting for its group commit: what its events need. */
class FinishedAttempt {
  readonly entry: InFlight;
  readonly next: RunState;
  readonly result: ActionQueueEvents["attempt:finished"]["result"];
  readonly error: string | undefined;
  readonly at: number;
  readonly startedAt: number;
  /** When a retry is due (retryWait only). */
  readonly due: number | undefined;

  constructor(
    entry: InFlight,
    next: RunState,
    result: ActionQueueEvents["attempt:finished"]["result"],
    error: string | undefined,
    at: number,
    startedAt: number,
    due: number | undefined,
  ) {
    this.entry = entry;
    this.next = next;
    this.result = result;
    this.error = error;
    this.at = at;
    this.startedAt = startedAt;
    this.due = due;
  }
}

/**
 * The attempt starts and finishes written into one group commit, in the
 * order they were written. One reaction handles them all once the commit is
 * durable, instead of a promise chain per attempt.
 */
class CommitGroup {
  readonly durable: Promise<void>;
  readonly items: (InFlight | FinishedAttempt)[] = [];

  constructor(durable: Promise<void>) {
    this.durable = durable;
  }
}

/** What the loop needs from its owner. */
export interface DispatchLoopDeps {
  readonly options: ResolvedOptions;
  readonly authority: GroupCommitMutationAuthority;
  readonly projection: ProjectionView;
  /** The engine's indices and key gate, kept in step with every durable change. */
  readonly scheduler: Scheduler;
  readonly ids: IdFactory;
  readonly runner: AttemptRunner;
  readonly emitter: TypedEmitter;
  /** Called when a write fails: the queue stops (fail-stop). */
  readonly onFatal: (error: unknown) => void;
  /**
   * The durability of the latest submission still being made durable, if
   * any: `run:ready` waits for it, so a task's runs are never reported ready
   * before `task:submitted` (the loop may promote a run in the group commit
   * that writes its task).
   */
  readonly submissionsDurable: () => Promise<unknown> | undefined;
  /** Called after a run of a cron task `taskId` reached a terminal state (cron top-up). */
  readonly onRunTerminal: (taskId: TaskId) => void;
}

const NO_HANDLER_PREFIX = "no handler for task";

/** Most runs promoted by one pass of the loop (20,000 took one turn of 100–200 ms on the project VM). */
const PROMOTIONS_PER_PASS = 2048;

/**
 * Runs promoted by a pass when nothing is ready and nothing runs (a start
 * with a backlog): this many per slot, at least {@link MIN_FIRST_SLICE} and
 * at most {@link PROMOTIONS_PER_PASS}.
 * The first handlers then start after one small commit instead of after
 * 2,048 promotions and their write: 8 ms rather than ~50 ms after `start()`
 * with 20,000 runs due, on the project VM.
 */
const FIRST_SLICE_PER_SLOT = 2;
const MIN_FIRST_SLICE = 64;

/** The loop. Owned by {@link ActionQueue}. */
export class DispatchLoop {
  readonly #d: DispatchLoopDeps;
  readonly #clock: Clock;
  /** Runs promoted by a cold pass (see {@link FIRST_SLICE_PER_SLOT}). */
  readonly #firstSlice: number;
  readonly #inFlight = new Map<RunId, InFlight>();
  #dispatching = false;
  #closing = false;
  #pumpQueued = false;
  /** A pass is queued as a microtask (see {@link scheduleSoon}). */
  #soonQueued = false;
  /** Free slots at which a finish refills at once and ends the group commit (see {@link #finish}). */
  readonly #halfSlots: number;
  #wakeTimer: { at: number; timer: ClockTimer } | undefined;
  #heartbeatTimer: ClockTimer | undefined;
  #pendingWrites = 0;
  #idleWaiters: (() => void)[] = [];
  /** The group commit the latest starts and finishes joined, until it settles. */
  #group: CommitGroup | undefined;
  /** The eligibility gates' bookkeeping; undefined without gates (the fast path asks nothing). */
  readonly #gates: GateKeeper | undefined;

  constructor(deps: DispatchLoopDeps) {
    this.#d = deps;
    this.#gates = deps.options.gates.length > 0 ? new GateKeeper(deps.options.gates) : undefined;
    this.#clock = deps.options.clock;
    this.#firstSlice = Math.min(PROMOTIONS_PER_PASS, Math.max(MIN_FIRST_SLICE, FIRST_SLICE_PER_SLOT * deps.options.concurrency));
    this.#halfSlots = Math.max(1, Math.ceil(deps.options.concurrency / 2));
  }

  /** Attempts currently in flight. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** True while the loop dispatches new attempts. */
  get dispatching(): boolean {
    return this.#dispatching;
  }

  /** Starts dispatching. */
  start(): void {
    if (this.#closing) return;
    this.#dispatching = true;
    this.schedule();
  }

  /** Stops dispatching new attempts (in-flight ones continue). */
  stopDispatching(): void {
    this.#dispatching = false;
    this.#closing = true;
    this.#wakeTimer?.timer.cancel();
    this.#wakeTimer = undefined;
  }

  /** Queues one pass of the loop (coalesced). */
  schedule(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(this.#queuedPump);
  }

  /**
   * Queues one pass of the loop to run before the WAL's next group commit
   * starts (a microtask, even when {@link schedule} queued one for the next
   * turn; several calls in a turn queue one): runs that became
   * ready in this turn are leased in the same commit as the write that made
   * them, instead of waiting for that commit's fsync plus one more.
   */
  scheduleSoon(): void {
    // Its own flag: a pass already queued for the next turn must not hold this one back past the commit.
    if (this.#soonQueued) return;
    this.#soonQueued = true;
    queueMicrotask(this.#soonPump);
  }

  readonly #soonPump = (): void => {
    this.#soonQueued = false;
    this.#pump();
  };

  readonly #queuedPump = (): void => {
    this.#pumpQueued = false;
    this.#pump();
  };

  /** Why a ready run is held by a gate, if it is. */
  gateHold(runId: RunId): GateHoldInfo | undefined {
    return this.#gates?.holdOf(runId);
  }

  /** Looks at every gate-held run again at the next pass (a gate's state changed outside the loop). */
  recheckGates(): void {
    if (this.#gates === undefined) return;
    this.#gates.recheck();
    this.schedule();
  }

  /** The run holding `key` right now, if any. */
  keyHolder(key: string): RunId | undefined {
    return this.#d.scheduler.keyHolder(key);
  }

  /** Tells the scheduler a run changed durably (after control commands); wakes the loop. */
  runChanged(runId: RunId): void {
    this.#gates?.drop(runId);
    const run = this.#d.projection.getRun(runId);
    if (run) this.#d.scheduler.onRunChanged(run);
    this.schedule();
  }

  /** Aborts the handler of an in-flight run (its late result is ignored). */
  abortRun(runId: RunId, reason: "cancel" | "shutdown"): boolean {
    // A canceled run a gate held is no longer the gate keeper's: its hold must not keep the queue waiting.
    this.#gates?.drop(runId);
    const entry = this.#inFlight.get(runId);
    if (!entry) return false;
    this.#inFlight.delete(runId);
    this.#gateFinished(entry);
    entry.handle?.abort(reason);
    this.#checkIdle();
    return true;
  }

  /** Aborts every in-flight handler with `shutdown`; each records a failed attempt and goes through the retry table. */
  abortAll(): void {
    for (const entry of this.#inFlight.values()) {
      if (entry.handle !== undefined) entry.handle.abort("shutdown");
      else entry.abortedBeforeStart ??= "shutdown";
    }
  }

  /** Tracks a write so `whenIdle` and `close` wait for it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.#pendingWrites += 1;
    return promise.finally(this.#writeSettled);
  }

  /** Counts a write the caller settles itself with {@link endWrite} (no promise of its own). */
  beginWrite(): void {
    this.#pendingWrites += 1;
  }

  /** Ends a write counted by {@link beginWrite}. */
  endWrite(): void {
    this.#pendingWrites -= 1;
    this.#checkIdle();
  }

  readonly #writeSettled = (): void => this.endWrite();

  /**
   * Resolves when nothing is runnable now and nothing is due within the idle
   * horizon: no attempt in flight, no ready run, no write pending, and the
   * next scheduled or retry time (if any) beyond `now + idleHorizonMs`.
   */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.schedule();
    });
  }

  /** Settles every pending {@link whenIdle} now (the queue stopped: their callers look at why). */
  wakeIdleWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when no attempt is in flight and no write is pending. */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.size > 0 || this.#pendingWrites > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  /** Cancels timers. */
  dispose(): void {
    this.#wakeTimer?.timer.cancel();
    this.#heartbeatTimer?.cancel();
    this.#wakeTimer = undefined;
    this.#heartbeatTimer = undefined;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #isIdle(): boolean {
    if (this.#inFlight.size > 0 || this.#pendingWrites > 0) return false;
    const paused = this.#d.projection.isEnginePaused();
    if (!paused && this.#dispatching) {
      // A pass is due that may dispatch what the gates held: wait for it.
      if (this.#gates?.recheckPending === true) return false;
      // Ready runs wait for a slot, unless a gate holds them all (its time, if any, is judged below against the horizon).
      if (this.#d.scheduler.readyQueued > 0 && this.#gates?.holdsAll !== true) return false;
    }
    const horizon = this.#clock.now() + this.#d.options.idleHorizonMs;
    const due = this.#d.scheduler.nextWakeAt();
    if (due !== undefined && due <= horizon) return false;
    // A run a gate holds until a time within the horizon is waited for; one held with no time is not (nothing here would end it).
    const held = this.#gates?.nextWakeAt(this.#d.scheduler.readyQueued > 0);
    return held === undefined || held > horizon;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #pump(): void {
    // Once close() began nothing is promoted or dispatched: a pass queued just before it must not write to closed storage.
    if (this.#closing) {
      this.#checkIdle();
      return;
    }
    try {
      // Before start() nothing is promoted either: a queue that only submits
      // (the CLI's `submit`) leaves its due runs Scheduled, so the misfire
      // policy judges them at the next start, however long this one stayed
      // open (promoting here made that depend on timing).
      if (this.#dispatching) {
        this.#promoteDue();
        if (!this.#d.projection.isEnginePaused()) this.#dispatchReady();
        this.#armWakeTimer();
      }
      this.#checkIdle();
    } catch (error) {
      this.#d.onFatal(error);
    }
  }

  #promoteDue(): void {
    const now = this.#clock.now();
    const { authority, scheduler, projection } = this.#d;
    const cold = this.#inFlight.size === 0 && scheduler.readyQueued === 0;
    const limit = cold ? this.#firstSlice : PROMOTIONS_PER_PASS;
    const due = scheduler.promoteDue(now, limit);
    if (due.length === 0) return;
    // A backlog (a start after downtime, or after submitting many) is promoted
    // a slice per pass: the loop dispatches, and I/O callbacks run, between
    // slices, instead of one turn promoting every due run at once. The next
    // pass is queued after this one's write, so the group commit that starts
    // first carries this slice (and the starts it allows) without the next.
    const more = due.length === limit;
    // Parallel arrays rather than an object per promoted run.
    const runIds: RunId[] = [];
    const taskIds: TaskId[] = [];
    // The claims still promotable are kept at the front of `due` (the scheduler's fresh array).
    let kept = 0;
    for (let i = 0; i < due.length; i++) {
      const claim = due[i]!;
      const state = projection.runState(claim.id);
      if (state !== "scheduled" && state !== "retryWait") {
        scheduler.releaseClaim(claim.id);
        continue;
      }
      runIds.push(claim.id);
      taskIds.push(claim.taskId);
      due[kept++] = claim;
    }
    let last: Promise<unknown> | undefined;
    if (runIds.length > 0) {
      // The whole slice in one record. Promotion is re-derivable after a crash, so it need not wait for its own fsync.
      last = this.#submitOne({ kind: "runsPromote", sequence: authority.latestSequence() + 1, timestamp: now, runIds }, "deferred");
      if (last === undefined) return;
      for (let i = 0; i < kept; i++) scheduler.onClaimedTransition(due[i]!, "ready", now);
    }
    if (more) this.schedule();
    if (last === undefined) return;
    const emitter = this.#d.emitter;
    // WAL order: the latest submission durable means every earlier one is (its
    // own outcome is the submitter's business). The events go out in the
    // reaction to whichever of the two settles last, adding no ticks, so they
    // still precede the `attempt:started` of a run leased in the same commit.
    const submissions = this.#d.submissionsDurable();
    let waiting = submissions === undefined ? 1 : 2;
    const settled = (): void => {
      if (--waiting !== 0) return;
      if (emitter.has("run:ready")) {
        for (let i = 0; i < runIds.length; i++) emitter.emit("run:ready", { runId: runIds[i]!, taskId: taskIds[i]!, at: now });
      }
      this.endWrite();
    };
    // Events are delivered inside the counted write, so `whenIdle` never resolves before them.
    this.beginWrite();
    last.then(settled, (error: unknown) => {
      this.#d.onFatal(error);
      this.endWrite();
    });
    submissions?.then(settled, settled);
  }

  #dispatchReady(): void {
    const { scheduler, options } = this.#d;
    const slots = options.concurrency - this.#inFlight.size;
    if (this.#gates !== undefined) {
      this.#dispatchGated(this.#gates, slots);
      return;
    }
    if (slots <= 0) return;
    if (slots === 1) {
      // The steady state: each finished run frees one slot. No array for one claim.
      const claim = scheduler.selectOne();
      if (claim !== undefined) this.#dispatchClaim(claim);
      return;
    }
    const selected = scheduler.selectNext(slots);
    // The claims still dispatchable are kept at the front of `selected` (the scheduler's fresh array), their specs alongside.
    const specs: TaskSpec[] = [];
    let kept = 0;
    for (let i = 0; i < selected.length; i++) {
      const claim = selected[i]!;
      const spec = this.#specOfReady(claim);
      if (spec === undefined) continue;
      selected[kept++] = claim;
      specs.push(spec);
    }
    if (kept === 1) this.#dispatch(selected[0]!, specs[0]!);
    else if (kept > 1) this.#dispatchMany(selected, specs, kept);
  }

  /** {@link #dispatchReady} with gates: each selected run is asked about; held ones stay claimed, the rest are dispatched together. */
  #dispatchGated(gates: GateKeeper, slots: number): void {
    const { scheduler } = this.#d;
    const now = this.#clock.now();
    // Even with every slot busy: holds whose time came are given back now, so
    // they read as waiting for a slot and no wake timer is armed for a past time.
    if (!gates.beginPass(scheduler, now) || slots <= 0) return;
    const selected: SchedulerRun[] = [];
    const specs: TaskSpec[] = [];
    while (selected.length < slots) {
      const claim = scheduler.selectOne();
      if (claim === undefined) break;
      const spec = this.#specOfReady(claim);
      if (spec === undefined) continue;
      const candidate: GateCandidate = { runId: claim.id, taskId: claim.taskId, task: spec };
      const hold = gates.check(candidate, now);
      if (hold === undefined) {
        gates.dispatched(candidate, now);
        selected.push(claim);
        specs.push(spec);
      } else if (hold.all === true) {
        // Every run is held: this one goes back in its place and the pass ends.
        scheduler.releaseClaim(claim.id);
        gates.holdAll(hold);
        break;
      } else {
        gates.hold(claim, hold);
      }
    }
    if (selected.length === 1) this.#dispatch(selected[0]!, specs[0]!);
    else if (selected.length > 1) this.#dispatchMany(selected, specs, selected.length);
  }

  /** Tells the gates an attempt left the loop (finished, or aborted by a cancel); nothing without gates. */
  #gateFinished(entry: InFlight): void {
    const gates = this.#gates;
    if (gates === undefined) return;
    gates.finished({ runId: entry.runId, taskId: entry.taskId, task: entry.spec }, this.#clock.now());
  }

  #dispatchClaim(claim: SchedulerRun): void {
    const spec = this.#specOfReady(claim);
    if (spec !== undefined) this.#dispatch(claim, spec);
  }

  /** The task spec of a claimed run that is ready in the projection too; otherwise the claim is given back. */
  #specOfReady(claim: SchedulerRun): TaskSpec | undefined {
    const { scheduler, projection } = this.#d;
    // State and task straight from the projection: no copy of the run.
    const task = projection.runState(claim.id) === "ready" ? projection.getTask(claim.taskId) : undefined;
    if (task === undefined) scheduler.releaseClaim(claim.id);
    return task?.spec;
  }

  #dispatch(claim: SchedulerRun, spec: TaskSpec): void {
    const { authority, options, ids } = this.#d;
    const now = this.#clock.now();
    const attemptId = ids.attemptId();
    const leaseExpiresAt = now + options.leaseTimeoutMs;
    // One event for ready → leased, lease, leased → running and attempt start:
    // the same changes as those four commands, a quarter of the records.
    const durable = this.#submitOne(
      { kind: "runDispatch", sequence: authority.latestSequence() + 1, timestamp: now, runId: claim.id, owner: options.owner, expiresAt: leaseExpiresAt, attemptId },
      "immediate",
    );
    if (durable === undefined) return;
    this.#started(claim, spec, attemptId, now, leaseExpiresAt, durable);
    this.#armHeartbeat();
  }

  /** Dispatches the first `count` claims in one `runsDispatch` record (a pass that fills several slots). */
  #dispatchMany(claims: readonly SchedulerRun[], specs: readonly TaskSpec[], count: number): void {
    const { authority, options, ids } = this.#d;
    const now = this.#clock.now();
    const leaseExpiresAt = now + options.leaseTimeoutMs;
    const runIds = new Array<RunId>(count);
    const attemptIds = new Array<AttemptId>(count);
    for (let i = 0; i < count; i++) {
      runIds[i] = claims[i]!.id;
      attemptIds[i] = ids.attemptId();
    }
    const durable = this.#submitOne(
      { kind: "runsDispatch", sequence: authority.latestSequence() + 1, timestamp: now, owner: options.owner, expiresAt: leaseExpiresAt, runIds, attemptIds },
      "immediate",
    );
    if (durable === undefined) return;
    for (let i = 0; i < count; i++) this.#started(claims[i]!, specs[i]!, attemptIds[i]!, now, leaseExpiresAt, durable);
    this.#armHeartbeat();
  }

  /**
   * Submits one promotion or dispatch record. The authority applies it
   * synchronously; refused, the projection and the scheduler disagree (a bug,
   * not bad input), so the queue stops and this returns undefined.
   */
  #submitOne(command: MutationCommand, durability: "immediate" | "deferred"): Promise<void> | undefined {
    const { authority } = this.#d;
    const before = authority.latestSequence();
    return this.#acceptedOrStop(before, authority.submitBatchDurable([command], durability));
  }

  /**
   * `durable` when the authority applied what the loop just submitted (the
   * sequence moved past `before`). Refused, the queue stops with the
   * authority's error, which names the run, and this returns undefined:
   * nothing the loop submits may be refused.
   */
  #acceptedOrStop(before: number, durable: Promise<void>): Promise<void> | undefined {
    if (this.#d.authority.latestSequence() !== before) return durable;
    durable.then(undefined, this.#d.onFatal);
    return undefined;
  }

  /** Tracks a run whose dispatch the authority just applied: in flight, running in the scheduler, started once `durable`. */
  #started(claim: SchedulerRun, spec: TaskSpec, attemptId: AttemptId, now: number, leaseExpiresAt: number, durable: Promise<void>): void {
    const runId = claim.id;
    // The authority applied the dispatch synchronously: the new attempt is the last one listed.
    // A run's first attempt (most runs) is its only one and counts: no lookup of the list.
    let counted = 1;
    let started = 1;
    if (claim.attemptCount !== 0) {
      const attempts = this.#d.projection.attempts(runId);
      counted = countedAttempts(attempts);
      started = attempts.length;
    }
    const entry = new InFlight(runId, claim.taskId, attemptId, spec, counted, claim.scheduledAt, now, leaseExpiresAt);
    this.#d.scheduler.onClaimedTransition(claim, "running", now, started);
    this.#inFlight.set(runId, entry);
    this.#joinGroup(durable, entry);
  }

  /** Adds a start or a finish to the group of the commit `durable` belongs to (a new group for a new commit). */
  #joinGroup(durable: Promise<void>, item: InFlight | FinishedAttempt): void {
    let group = this.#group;
    if (group === undefined || group.durable !== durable) {
      const fresh = new CommitGroup(durable);
      group = fresh;
      this.#group = fresh;
      // The group is one counted write: `whenIdle` and `close` wait for its events.
      this.beginWrite();
      durable.then(
        () => this.#groupDurable(fresh),
        (error: unknown) => {
          if (this.#group === fresh) this.#group = undefined;
          // Its attempts will never start (their dispatch is not durable, and nothing more can be written): they leave
          // the loop now, or close() would wait out both of its grace periods for them. Recovery at the next open settles them.
          for (const item of fresh.items) {
            if (item instanceof InFlight && this.#inFlight.get(item.runId) === item) this.#inFlight.delete(item.runId);
          }
          this.#d.onFatal(error);
          this.endWrite();
        },
      );
    }
    group.items.push(item);
  }

  /** A group commit is durable: start its attempts and report its finishes, in the order they were written. */
  #groupDurable(group: CommitGroup): void {
    // Starts below may finish at once and write again: those join the next commit's group.
    if (this.#group === group) this.#group = undefined;
    const items = group.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      try {
        if (item instanceof InFlight) this.#startAttempt(item);
        else this.#afterFinish(item);
      } catch (error) {
        this.#d.onFatal(error);
      }
    }
    this.endWrite();
  }

  #handlerFor(spec: TaskSpec): Handler<never> | undefined {
    const { handlers, handler } = this.#d.options;
    if (spec.name !== undefined && Object.hasOwn(handlers, spec.name)) return handlers[spec.name];
    return handler;
  }

  #startAttempt(entry: InFlight): void {
    if (this.#inFlight.get(entry.runId) !== entry) return; // canceled before the start was durable
    entry.started = true;
    const spec = entry.spec;
    const attemptNumber = entry.attemptNumber;
    if (this.#d.emitter.has("attempt:started")) {
      const now = this.#clock.now();
      this.#d.emitter.emit("attempt:started", {
        runId: entry.runId,
        taskId: entry.taskId,
        attemptId: entry.attemptId,
        attemptNumber,
        at: now,
        lagMs: Math.max(0, now - entry.scheduledAt),
      });
    }
    const handler = this.#handlerFor(spec);
    if (handler === undefined) {
      const error = `${NO_HANDLER_PREFIX} ${spec.name === undefined ? "without a name" : JSON.stringify(spec.name)}: register it in handlers or give a default handler`;
      this.#finish(entry, { kind: "terminalFailure", error }, this.#clock.now());
      return;
    }
    const request: Mutable<AttemptRequest> = {
      runId: entry.runId,
      attemptId: entry.attemptId,
      taskId: entry.taskId,
      payload: spec.payload.bytes,
      contentType: spec.payload.contentType,
      attemptNumber,
      maxAttempts: spec.constraints.maxAttempts,
      timeoutMs: spec.constraints.timeoutMs,
      safetyLevel: spec.constraints.safetyLevel,
    };
    if (entry.abortedBeforeStart !== undefined) {
      // Rare (shutdown between dispatch and durability): the runner resolves a pre-aborted attempt as canceled without calling the handler.
      const controller = new AbortController();
      controller.abort(entry.abortedBeforeStart);
      request.signal = controller.signal;
    }
    // The runner may report synchronously (a handler returning a plain value); #onResult copes with the handle not being stored yet.
    const handle = this.#d.runner.start(handler, request, this.#onResult);
    if (this.#inFlight.get(entry.runId) === entry) entry.handle = handle;
  }

  /** The runner's one result callback for every attempt (no closure per attempt). */
  readonly #onResult = (result: AttemptResult): void => {
    const entry = this.#inFlight.get(result.runId);
    // Fencing: a canceled run or a stale attempt leaves no trace.
    if (entry === undefined || entry.attemptId !== result.attemptId) return;
    try {
      this.#finish(entry, result.response, entry.startedAt);
    } catch (error) {
      this.#d.onFatal(error);
    }
  };

  #finish(entry: InFlight, response: ExecutorResponse, startedAt: number): void {
    // Fencing: a canceled run or a stale attempt leaves no trace.
    if (this.#inFlight.get(entry.runId) !== entry) return;
    this.#inFlight.delete(entry.runId);
    this.#gateFinished(entry);
    entry.handle = undefined;
    const { projection } = this.#d;
    // A run has an active attempt only while running: one lookup checks both.
    if (projection.activeAttemptId(entry.runId) !== entry.attemptId) {
      this.#checkIdle();
      return;
    }
    try {
      this.#recordFinish(entry, response, startedAt);
    } catch (error) {
      this.#d.onFatal(error);
      return;
    }
    // Refill the freed slot in the same turn: the next run's lease-and-start
    // then joins this finish in one group commit, so a busy slot pays one
    // fsync per run instead of two. The handlers started by one commit
    // usually finish in one burst, so the refill waits for a microtask: one
    // pass after the burst refills all their slots with one record. Once half
    // the slots are free it refills now and ends the group commit there: the
    // slots then fall into two cohorts, one running its handlers while the
    // other's records are written (one cohort would leave the loop idle
    // during every write).
    if (this.#d.options.concurrency - this.#inFlight.size >= this.#halfSlots) {
      this.#pump();
      this.#d.authority.commitBoundary?.();
      return;
    }
    this.scheduleSoon();
  }

  #recordFinish(entry: InFlight, reported: ExecutorResponse, startedAt: number): void {
    const { authority, scheduler } = this.#d;
    const response = recordableResponse(reported);
    const now = this.#clock.now();
    const runId = entry.runId;
    const spec = entry.spec;
    const attemptNumber = entry.attemptNumber;
    // The scheduler computes the backoff "due at"; the decision only picks the next state.
    const decision = decideRetry({
      outcome: response.kind,
      attemptNumber: Math.max(1, attemptNumber),
      maxAttempts: Math.max(spec.constraints.maxAttempts, attemptNumber),
    });
    const finishCommand = buildAttemptFinishCommand(authority.latestSequence() + 1, runId, entry.attemptId, response, now);
    const next: RunState = decision.kind === "retryWait" ? "retryWait" : decision.kind;
    const followUp: MutationCommand =
      next === "suspended"
        ? { kind: "runSuspend", sequence: finishCommand.sequence + 1, timestamp: now, runId }
        : { kind: "runStateTransition", sequence: finishCommand.sequence + 1, timestamp: now, runId, previousState: "running", newState: next };
    // Through the engine's seam, with the run's next state in the same atomic
    // batch: a crash can never leave a finished attempt on a run that is
    // still "running" (which recovery would retry).
    const before = authority.latestSequence();
    const finished = this.#acceptedOrStop(before, submitAttemptFinishInGroupCommit(finishCommand, "immediate", authority, followUp));
    if (finished === undefined) return;
    // Re-indexes the run and applies the key hold rule (terminal and, under releaseOnRetry, retryWait/suspended free the key).
    // Terminal runs leave the scheduler (forget releases their key): it only indexes live work.
    if (next === "completed" || next === "failed") scheduler.forget(runId);
    else scheduler.onTransition(runId, next, now);
    const due = next === "retryWait" ? scheduler.retryDueAt(runId) : undefined;
    const outcome = finishCommand.outcome;
    // Events (and the cron top-up) run inside the group's counted write, so `whenIdle` never resolves before them.
    this.#joinGroup(finished, new FinishedAttempt(entry, next, outcome.result, outcome.error, now, startedAt, due));
  }

  /** Events (and the cron top-up) once a finish is durable. */
  #afterFinish(finished: FinishedAttempt): void {
    const { entry, next, result, error, startedAt, due } = finished;
    const now = finished.at;
    const runId = entry.runId;
    const emitter = this.#d.emitter;
    // Payloads are built only for events someone listens to (the hot path usually has none).
    if (emitter.has("attempt:finished")) {
      const finishedEvent: Mutable<ActionQueueEvents["attempt:finished"]> = {
        runId,
        taskId: entry.taskId,
        attemptId: entry.attemptId,
        result,
        durationMs: Math.max(0, now - startedAt),
        at: now,
      };
      if (error !== undefined) finishedEvent.error = error;
      emitter.emit("attempt:finished", finishedEvent);
    }
    if (next === "completed") {
      if (emitter.has("run:completed")) emitter.emit("run:completed", { runId, taskId: entry.taskId, at: now });
    } else if (next === "failed") {
      if (emitter.has("run:failed")) {
        const failedEvent: Mutable<ActionQueueEvents["run:failed"]> = { runId, taskId: entry.taskId, at: now };
        if (error !== undefined) failedEvent.error = error;
        emitter.emit("run:failed", failedEvent);
      }
    } else if (next === "retryWait") emitter.emit("run:retrying", { runId, taskId: entry.taskId, retryAt: due ?? now, at: now });
    else emitter.emit("run:suspended", { runId, taskId: entry.taskId, at: now });
    // Only cron tasks top up (the spec's policy never changes), so once and repeat runs skip the task lookup.
    if ((next === "completed" || next === "failed") && entry.spec.runPolicy.kind === "cron") this.#d.onRunTerminal(entry.taskId);
  }

  #armWakeTimer(): void {
    if (this.#closing) return;
    const scheduled = this.#d.scheduler.nextWakeAt();
    const held = this.#gates?.nextWakeAt(this.#d.scheduler.readyQueued > 0);
    const due = held === undefined || (scheduled !== undefined && scheduled <= held) ? scheduled : held;
    if (due === undefined) return;
    if (this.#wakeTimer && this.#wakeTimer.at <= due) return;
    this.#wakeTimer?.timer.cancel();
    const timer = this.#clock.setTimeout(() => {
      this.#wakeTimer = undefined;
      this.schedule();
    }, due - this.#clock.now());
    this.#wakeTimer = { at: due, timer };
  }

  #armHeartbeat(): void {
    if (this.#heartbeatTimer || this.#closing) return;
    const every = Math.max(1, Math.floor(this.#d.options.leaseTimeoutMs / 3));
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = undefined;
      this.#heartbeat();
      if (this.#inFlight.size > 0) this.#armHeartbeat();
    }, every);
  }

  /** Extends the lease of every started attempt whose lease is within two thirds of running out. */
  #heartbeat(): void {
    const { authority, options, projection } = this.#d;
    const now = this.#clock.now();
    const threshold = now + Math.floor((options.leaseTimeoutMs * 2) / 3);
    try {
      for (const entry of this.#inFlight.values()) {
        if (!entry.started || entry.leaseExpiresAt > threshold) continue;
        if (projection.runState(entry.runId) !== "running") continue;
        const expiresAt = now + options.leaseTimeoutMs;
        void this.track(
          authority.submitCommand(
            {
              kind: "leaseHeartbeat",
              sequence: authority.latestSequence() + 1,
              timestamp: now,
              runId: entry.runId,
              owner: options.owner,
              expiresAt,
              attemptId: entry.attemptId,
            },
            "deferred",
          ),
        ).catch(this.#d.onFatal);
        entry.leaseExpiresAt = expiresAt;
      }
    } catch (error) {
      this.#d.onFatal(error);
    }
  }
}

/** True for the terminal error the loop records when a task's name has no handler. */
export function isNoHandlerError(message: string | undefined): boolean {
  return message?.startsWith(NO_HANDLER_PREFIX) ?? false;
}

/**
 * Attempts of a run that count toward `maxAttempts` and the backoff exponent:
 * every started attempt except those that ended suspended (an open attempt counts).
 */
export function countedAttemptsOf(projection: ProjectionView, runId: RunId): number {
  return countedAttempts(projection.attempts(runId));
}

/** {@link countedAttemptsOf} for an attempt list already at hand. */
function countedAttempts(attempts: readonly Readonly<AttemptRecord>[]): number {
  let counted = 0;
  for (let i = 0; i < attempts.length; i++) if (attempts[i]!.outcome?.result !== "suspended") counted += 1;
  return counted;
}
