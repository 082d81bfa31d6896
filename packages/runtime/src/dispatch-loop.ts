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
  IdFactory,
  MutationAuthority,
  MutationCommand,
  RunId,
  RunInstance,
  RunState,
  TaskId,
  TaskSpec,
} from "@actionqueue/core";
import type { Scheduler, SchedulerRun } from "@actionqueue/engine";
import { buildAttemptFinishCommand, submitAttemptFinishViaAuthority } from "@actionqueue/engine";
import type { AttemptResult, AttemptRunner, ExecutorResponse, Handler } from "@actionqueue/executor-local";
import { decideRetry } from "@actionqueue/executor-local";
import type { ProjectionView } from "@actionqueue/storage";
import type { ActionQueueEvents } from "./events/event-map.js";
import type { TypedEmitter } from "./events/typed-emitter.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
import type { ResolvedOptions } from "./options.js";

/** One attempt in flight. */
interface InFlight {
  readonly runId: RunId;
  readonly taskId: TaskId;
  readonly attemptId: AttemptId;
  readonly controller: AbortController;
  readonly startedAt: number;
  leaseExpiresAt: number;
  /** Set once the start batch is durable and the handler was called. */
  started: boolean;
}

/** What the loop needs from its owner. */
export interface DispatchLoopDeps {
  readonly options: ResolvedOptions;
  readonly authority: MutationAuthority;
  readonly projection: ProjectionView;
  /** The engine's indices and key gate, kept in step with every durable change. */
  readonly scheduler: Scheduler;
  readonly ids: IdFactory;
  readonly runner: AttemptRunner;
  readonly emitter: TypedEmitter;
  /** Called when a write fails: the queue stops (fail-stop). */
  readonly onFatal: (error: unknown) => void;
  /** Called after a run of `taskId` reached a terminal state (cron top-up). */
  readonly onRunTerminal: (taskId: TaskId) => void;
}

const NO_HANDLER_PREFIX = "no handler for task";

/** The loop. Owned by {@link ActionQueue}. */
export class DispatchLoop {
  readonly #d: DispatchLoopDeps;
  readonly #clock: Clock;
  readonly #inFlight = new Map<RunId, InFlight>();
  readonly #claims: SchedulerRun[] = [];
  #dispatching = false;
  #closing = false;
  #pumpQueued = false;
  #wakeTimer: { at: number; timer: ClockTimer } | undefined;
  #heartbeatTimer: ClockTimer | undefined;
  #pendingWrites = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(deps: DispatchLoopDeps) {
    this.#d = deps;
    this.#clock = deps.options.clock;
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
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** The run holding `key` right now, if any. */
  keyHolder(key: string): RunId | undefined {
    return this.#d.scheduler.keyHolder(key);
  }

  /** Tells the scheduler a run changed durably (after control commands); wakes the loop. */
  runChanged(runId: RunId): void {
    const run = this.#d.projection.getRun(runId);
    if (run) this.#d.scheduler.onRunChanged(run);
    this.schedule();
  }

  /** Aborts the handler of an in-flight run (its late result is ignored). */
  abortRun(runId: RunId, reason: "cancel" | "shutdown"): boolean {
    const entry = this.#inFlight.get(runId);
    if (!entry) return false;
    this.#inFlight.delete(runId);
    entry.controller.abort(reason);
    this.#checkIdle();
    return true;
  }

  /** Aborts every in-flight handler with `shutdown`; each records a failed attempt and goes through the retry table. */
  abortAll(): void {
    for (const entry of this.#inFlight.values()) entry.controller.abort("shutdown");
  }

  /** Tracks a write so `whenIdle` and `close` wait for it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.#pendingWrites += 1;
    return promise.finally(() => {
      this.#pendingWrites -= 1;
      this.#checkIdle();
    });
  }

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
    if (!paused && this.#dispatching && this.#d.scheduler.readyQueued > 0) return false;
    const due = this.#d.scheduler.nextWakeAt();
    return due === undefined || due > this.#clock.now() + this.#d.options.idleHorizonMs;
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
      this.#promoteDue();
      if (this.#dispatching && !this.#d.projection.isEnginePaused()) this.#dispatchReady();
      this.#armWakeTimer();
      this.#checkIdle();
    } catch (error) {
      this.#d.onFatal(error);
    }
  }

  #promoteDue(): void {
    const now = this.#clock.now();
    const { authority, scheduler } = this.#d;
    const due = scheduler.promoteDue(now, Number.POSITIVE_INFINITY, this.#claims);
    if (due.length === 0) return;
    const promoted: { runId: RunId; taskId: TaskId }[] = [];
    let last: Promise<unknown> | undefined;
    for (const claim of due) {
      const runId = claim.id;
      const state = this.#d.projection.runState(runId);
      if (state !== "scheduled" && state !== "retryWait") {
        scheduler.releaseClaim(runId);
        continue;
      }
      // Promotion is re-derivable after a crash, so it need not wait for its own fsync.
      last = authority.submitCommand(
        { kind: "runStateTransition", sequence: authority.latestSequence() + 1, timestamp: now, runId, previousState: state, newState: "ready" },
        "deferred",
      );
      scheduler.onTransition(runId, "ready", now);
      promoted.push({ runId, taskId: claim.taskId });
    }
    due.length = 0;
    if (last === undefined) return;
    const emitter = this.#d.emitter;
    // Events are delivered inside the tracked write, so `whenIdle` never resolves before them.
    void this.track(
      last.then(() => {
        if (!emitter.has("run:ready")) return;
        for (const p of promoted) emitter.emit("run:ready", { runId: p.runId, taskId: p.taskId, at: now });
      }),
    ).catch(this.#d.onFatal);
  }

  #dispatchReady(): void {
    const { scheduler, projection, options } = this.#d;
    const slots = options.concurrency - this.#inFlight.size;
    if (slots <= 0) return;
    const selected = scheduler.selectNext(slots, this.#claims);
    for (const claim of selected) {
      const run = projection.getRun(claim.id);
      const task = run ? projection.getTask(run.taskId) : undefined;
      if (!run || run.state !== "ready" || !task) {
        scheduler.releaseClaim(claim.id);
        continue;
      }
      this.#dispatch(run, task.spec);
    }
    selected.length = 0;
  }

  #dispatch(run: RunInstance, spec: TaskSpec): void {
    const { authority, options, ids, scheduler } = this.#d;
    const now = this.#clock.now();
    const attemptId = ids.attemptId();
    const s = authority.latestSequence();
    const leaseExpiresAt = now + options.leaseTimeoutMs;
    const runId = run.id;
    const batch: MutationCommand[] = [
      { kind: "runStateTransition", sequence: s + 1, timestamp: now, runId, previousState: "ready", newState: "leased" },
      { kind: "leaseAcquire", sequence: s + 2, timestamp: now, runId, owner: options.owner, expiresAt: leaseExpiresAt, attemptId },
      { kind: "runStateTransition", sequence: s + 3, timestamp: now, runId, previousState: "leased", newState: "running" },
      { kind: "attemptStart", sequence: s + 4, timestamp: now, runId, attemptId },
    ];
    const entry: InFlight = {
      runId,
      taskId: run.taskId,
      attemptId,
      controller: new AbortController(),
      startedAt: now,
      leaseExpiresAt,
      started: false,
    };
    const durable = authority.submitBatch(batch, "immediate");
    scheduler.onTransition(runId, "running", now, run.attemptCount + 1);
    this.#inFlight.set(runId, entry);
    this.#armHeartbeat();
    void this.track(durable).then(
      () => this.#startAttempt(entry, run, spec),
      (error: unknown) => this.#d.onFatal(error),
    );
  }

  #handlerFor(spec: TaskSpec): Handler<never> | undefined {
    const { handlers, handler } = this.#d.options;
    if (spec.name !== undefined && Object.hasOwn(handlers, spec.name)) return handlers[spec.name];
    return handler;
  }

  #startAttempt(entry: InFlight, run: RunInstance, spec: TaskSpec): void {
    if (this.#inFlight.get(entry.runId) !== entry) return; // canceled before the start was durable
    entry.started = true;
    const attemptNumber = countedAttemptsOf(this.#d.projection, entry.runId);
    const now = this.#clock.now();
    if (this.#d.emitter.has("attempt:started")) {
      this.#d.emitter.emit("attempt:started", {
        runId: entry.runId,
        taskId: entry.taskId,
        attemptId: entry.attemptId,
        attemptNumber,
        at: now,
        lagMs: Math.max(0, now - run.scheduledAt),
      });
    }
    const handler = this.#handlerFor(spec);
    if (handler === undefined) {
      const error = `${NO_HANDLER_PREFIX} ${spec.name === undefined ? "without a name" : JSON.stringify(spec.name)}: register it in handlers or give a default handler`;
      this.#finish(entry, attemptNumber, { kind: "terminalFailure", error }, spec, now);
      return;
    }
    void this.#d.runner
      .run(handler, {
        runId: entry.runId,
        attemptId: entry.attemptId,
        taskId: entry.taskId,
        payload: spec.payload.bytes,
        contentType: spec.payload.contentType,
        attemptNumber,
        maxAttempts: spec.constraints.maxAttempts,
        timeoutMs: spec.constraints.timeoutMs,
        safetyLevel: spec.constraints.safetyLevel,
        signal: entry.controller.signal,
      })
      .then(
        (result: AttemptResult) => this.#finish(entry, attemptNumber, result.response, spec, entry.startedAt),
        (error: unknown) => this.#d.onFatal(error),
      );
  }

  #finish(entry: InFlight, attemptNumber: number, response: ExecutorResponse, spec: TaskSpec, startedAt: number): void {
    // Fencing: a canceled run or a stale attempt leaves no trace.
    if (this.#inFlight.get(entry.runId) !== entry) return;
    this.#inFlight.delete(entry.runId);
    const { projection } = this.#d;
    if (projection.runState(entry.runId) !== "running" || projection.activeAttemptId(entry.runId) !== entry.attemptId) {
      this.#checkIdle();
      return;
    }
    try {
      this.#recordFinish(entry, attemptNumber, response, spec, startedAt);
    } catch (error) {
      this.#d.onFatal(error);
      return;
    }
    // Refill the freed slot in the same turn: the next run's lease-and-start
    // batch then joins this finish in one group commit, so a busy slot pays one
    // fsync per run instead of two.
    this.#pump();
  }

  #recordFinish(entry: InFlight, attemptNumber: number, response: ExecutorResponse, spec: TaskSpec, startedAt: number): void {
    const { authority, scheduler } = this.#d;
    const now = this.#clock.now();
    const runId = entry.runId;
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
    // The finish goes through the engine's seam, but travels with the run's
    // next state in one atomic batch: a crash can never leave a finished
    // attempt on a run that is still "running" (which recovery would retry).
    const finishedWithTransition: MutationAuthority = {
      submitCommand: (command, durability) => authority.submitBatch([command, followUp], durability).then((outcomes) => outcomes[0]!),
      submitBatch: (commands, durability) => authority.submitBatch(commands, durability),
      latestSequence: () => authority.latestSequence(),
    };
    const finished = submitAttemptFinishViaAuthority(finishCommand, "immediate", finishedWithTransition);
    // Re-indexes the run and applies the key hold rule (terminal and, under releaseOnRetry, retryWait/suspended free the key).
    // Terminal runs leave the scheduler (forget releases their key): it only indexes live work.
    if (next === "completed" || next === "failed") scheduler.forget(runId);
    else scheduler.onTransition(runId, next, now);
    const due = next === "retryWait" ? scheduler.retryDueAt(runId) : undefined;
    const outcome = finishCommand.outcome;
    // Events (and the cron top-up) run inside the tracked write, so `whenIdle` never resolves before them.
    void this.track(finished.then(() => {
      const emitter = this.#d.emitter;
      // Payloads are built only for events someone listens to (the hot path usually has none).
      if (emitter.has("attempt:finished")) {
        const finishedEvent: Mutable<ActionQueueEvents["attempt:finished"]> = {
          runId,
          taskId: entry.taskId,
          attemptId: entry.attemptId,
          result: outcome.result,
          durationMs: Math.max(0, now - startedAt),
          at: now,
        };
        if (outcome.error !== undefined) finishedEvent.error = outcome.error;
        emitter.emit("attempt:finished", finishedEvent);
      }
      if (next === "completed") {
        if (emitter.has("run:completed")) emitter.emit("run:completed", { runId, taskId: entry.taskId, at: now });
      } else if (next === "failed") {
        if (emitter.has("run:failed")) {
          const failedEvent: Mutable<ActionQueueEvents["run:failed"]> = { runId, taskId: entry.taskId, at: now };
          if (outcome.error !== undefined) failedEvent.error = outcome.error;
          emitter.emit("run:failed", failedEvent);
        }
      } else if (next === "retryWait") emitter.emit("run:retrying", { runId, taskId: entry.taskId, retryAt: due ?? now, at: now });
      else emitter.emit("run:suspended", { runId, taskId: entry.taskId, at: now });
      if (next === "completed" || next === "failed") this.#d.onRunTerminal(entry.taskId);
    })).catch(this.#d.onFatal);
  }

  #armWakeTimer(): void {
    if (this.#closing) return;
    const due = this.#d.scheduler.nextWakeAt();
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
  let counted = 0;
  for (const a of projection.attempts(runId)) {
    if (a.outcome?.result !== "suspended") counted += 1;
  }
  return counted;
}
