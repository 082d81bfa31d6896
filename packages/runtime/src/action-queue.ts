/**
 * ActionQueue: the embedded engine users touch. `open()` recovers a data
 * directory (snapshot + WAL tail, in-flight runs made eligible again) and holds
 * its writer lock; `submit()` derives every run before writing anything and
 * writes the task with its runs as one atomic batch; the dispatch loop runs
 * handlers; `close()` drains and releases the lock.
 */
import type {
  ClockTimer,
  IdFactory,
  MutationCommand,
  RunId,
  RunInstance,
  TaskId,
  TaskSpec,
  TaskSpecInput,
} from "@actionqueue/core";
import {
  ActionQueueError,
  CommandRejectedError,
  JSON_CONTENT_TYPE,
  StorageError,
  TransitionError,
  ValidationError,
  assertKnownKeys,
  createIdFactory,
  createTaskSpec,
  isTerminalState,
  nextCronOccurrences,
  parseRunId,
  parseTaskId,
  taskSpecToJson,
} from "@actionqueue/core";
import { DerivationError, Scheduler, deriveCronWindow, deriveRuns, effectiveScheduleOrigin, isOverdue, planMisfire } from "@actionqueue/engine";
import { AttemptRunner } from "@actionqueue/executor-local";
import type { ProjectionView, RecoveryReport, Storage, StorageMutationAuthority, WalWriterStats } from "@actionqueue/storage";
import { openStorage } from "@actionqueue/storage";
import { stat } from "node:fs/promises";
import { DispatchLoop, countedAttemptsOf } from "./dispatch-loop.js";
import type { ActionQueueEventName, ActionQueueListener } from "./events/event-map.js";
import { TypedEmitter } from "./events/typed-emitter.js";
import { encodeJsonPayload } from "./input/json-payload.js";
import type { ResolvedOptions } from "./options.js";
import { checkCloseOptions, resolveOptions } from "./options.js";
import { QueryView } from "./query-view.js";
import type { PurgeOptions, PurgeResult, PurgeSelection } from "./purge.js";
import { purgeableRuns, prerequisitesInUse, resolvePurgeOptions } from "./purge.js";
import { QueueInspector } from "./queue-inspector.js";
import type {
  ActionQueueOptions,
  CloseOptions,
  Explanation,
  ListRunsQuery,
  RunPage,
  RunView,
  Stats,
  SubmitInput,
  SubmitResult,
  TaskView,
} from "./types.js";

/** The keys of a {@link SubmitInput}: any other is refused, so a misspelt `constraint` cannot silently drop its constraints. */
const SUBMIT_INPUT_KEYS: readonly (keyof SubmitInput)[] = ["name", "payload", "contentType", "runPolicy", "constraints", "metadata", "taskId"];

/**
 * Most runs one repeat task may have. Its runs are created, in one WAL record,
 * when it is submitted: 100,000 runs encode to about 3 MB and hold about
 * 80 MB of memory. The policy itself allows up to 2^32 − 1, which would
 * exhaust memory long before it was refused for size.
 */
export const MAX_RUNS_PER_TASK = 100_000;

/** Tasks purged per durable batch. */
const PURGE_BATCH_TASKS = 1_000;
/** Tasks a purge scans between yields to the event loop. */
const PURGE_SCAN_SLICE = 10_000;

function sameSpec(a: TaskSpec, b: TaskSpec): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

/**
 * A spec's JSON with the default misfire policy spelt out, so that a policy
 * naming the default (`misfire: { kind: "catchUp" }`) is the same spec as one
 * leaving it out, as spelt-out default constraints already are.
 */
function comparable(spec: TaskSpec): unknown {
  const json = taskSpecToJson(spec) as { runPolicy: { kind: string; misfire?: unknown } };
  if (json.runPolicy.kind !== "once" && json.runPolicy.misfire === undefined) json.runPolicy = { ...json.runPolicy, misfire: { kind: "catchUp" } };
  return json;
}

/** A validated submission with its derived runs, not yet written. */
interface PreparedTask {
  readonly spec: TaskSpec;
  readonly runs: readonly RunInstance[];
  readonly runIds: readonly RunId[];
}

/**
 * The submissions that joined one group commit. Their bookkeeping (the write
 * count, `task:submitted`, waking the loop) runs once when the commit is
 * durable, instead of a promise chain per submission.
 */
class SubmitGroup {
  readonly durable: Promise<void>;
  readonly taskIds: TaskId[] = [];
  readonly runIds: (readonly RunId[])[] = [];
  readonly at: number[] = [];

  constructor(durable: Promise<void>) {
    this.durable = durable;
  }

  add(taskId: TaskId, runIds: readonly RunId[], at: number): void {
    this.taskIds.push(taskId);
    this.runIds.push(runIds);
    this.at.push(at);
  }
}

/** Refuses a `dataDir` that names a file (which reached the user as a bare ENOTDIR from the lock file). */
async function assertNotAFile(dataDir: string): Promise<void> {
  const found = await stat(dataDir).catch(() => undefined);
  if (found !== undefined && !found.isDirectory()) {
    throw new ValidationError("INVALID_CONFIG", `invalid option dataDir ${JSON.stringify(dataDir)}: it names a file, not a directory`, {
      details: { field: "dataDir", value: dataDir },
    });
  }
}

/** A durable, embeddable task queue over one data directory. */
export class ActionQueue {
  readonly #options: ResolvedOptions;
  readonly #storage: Storage;
  readonly #authority: StorageMutationAuthority;
  readonly #projection: ProjectionView;
  readonly #ids: IdFactory;
  readonly #emitter = new TypedEmitter();
  readonly #scheduler: Scheduler;
  readonly #loop: DispatchLoop;
  readonly #query: QueryView;
  #fatal: unknown;
  #closed: Promise<void> | undefined;
  /** The purge in progress (purges run one at a time). */
  #purging: Promise<void> = Promise.resolve();
  #retentionTimer: ClockTimer | undefined;
  /**
   * The latest accepted submission's group commit while it is not yet durable
   * (the WAL makes batches durable in order, so every earlier submission is
   * durable once it is): an idempotent re-submission and `run:ready` wait for it.
   */
  #submissionsDurable: Promise<unknown> | undefined;
  /** The group commit the latest submissions joined, until it settles. */
  #submitGroup: SubmitGroup | undefined;
  /** Events about what recovery found, held until the first `start()` so listeners attached after `open()` hear them. */
  #recoveryEvents: (() => void)[] = [];

  /** What recovery did when this queue opened. */
  readonly recoveryReport: RecoveryReport;

  private constructor(options: ResolvedOptions, storage: Storage) {
    this.#options = options;
    this.#storage = storage;
    this.#authority = storage.authority;
    this.#projection = storage.projection;
    this.recoveryReport = storage.recoveryReport;
    // New ids sort after every run and attempt id the store holds: listings stay
    // in creation order after a clock step back, and a deterministic test clock
    // never mints an id of an earlier session again.
    const highestId = storage.projection.highestId;
    this.#ids = createIdFactory(options.clock, highestId === undefined ? {} : { after: highestId });
    const projection = this.#projection;
    const countedAttempts = (run: { id: RunId }): number => Math.max(1, countedAttemptsOf(projection, run.id));
    this.#scheduler = Scheduler.rebuild(
      [...projection.tasks()].map((t) => t.spec),
      (function* () {
        for (const runId of projection.runIds()) {
          const state = projection.runState(runId);
          if (state !== undefined && !isTerminalState(state)) yield projection.getRun(runId)!;
        }
      })(),
      { backoff: options.backoff, countedAttempts },
    );
    this.#scheduler.setPaused(projection.isEnginePaused());
    this.#loop = new DispatchLoop({
      options,
      authority: this.#authority,
      projection,
      scheduler: this.#scheduler,
      ids: this.#ids,
      runner: new AttemptRunner({ clock: options.clock }),
      emitter: this.#emitter,
      onFatal: (error) => this.#onFatal(error),
      submissionsDurable: () => this.#submissionsDurable,
      onRunTerminal: (taskId) => this.#topUpCron(taskId),
    });
    const at = options.clock.now();
    for (const r of storage.recoveryReport.reconciledRuns) {
      const taskId = projection.getRun(r.runId)?.taskId;
      this.#recoveryEvents.push(() => {
        this.#emitter.emit("lease:expired", { runId: r.runId, owner: "a previous process", at });
        if (taskId !== undefined && r.to === "failed") this.#emitter.emit("run:failed", { runId: r.runId, taskId, error: "attempt abandoned: process stopped while it was running", at });
      });
    }
    this.#query = new QueryView(projection, {
      retryDueAt: (run) => this.#scheduler.retryDueAt(run.id),
      keyHolder: (key) => this.#scheduler.keyHolder(key),
      gateHold: (runId) => this.#loop.gateHold(runId),
    });
  }

  /**
   * Opens (creating if needed) a data directory and recovers it. Holds the
   * directory's writer lock until `close()`. Throws `INVALID_CONFIG` for a bad
   * option (before touching the disk), `LOCK_HELD` when another process has
   * the directory open, and storage errors naming file and offset for damage.
   */
  static async open(options: ActionQueueOptions): Promise<ActionQueue> {
    const resolved = resolveOptions(options);
    await assertNotAFile(resolved.dataDir);
    // Bound once the queue exists; storage only snapshots after it does.
    const snapshotHook: { emit?: (sequence: number) => void } = {};
    const storage = await openStorage({
      dataDir: resolved.dataDir,
      clock: resolved.clock,
      deferredFlushMs: resolved.deferredFlushMs,
      walSyncMode: resolved.walSyncMode,
      walPreallocate: resolved.walPreallocate,
      ...(resolved.snapshotEvery > 0 ? { snapshotEvery: resolved.snapshotEvery } : {}),
      snapshotInWorker: resolved.snapshotInWorker,
      onAutomaticSnapshot: (info) => snapshotHook.emit?.(info.sequence),
    });
    // Storage holds the directory's lock from here: any failure before the queue is returned must release it.
    try {
      const queue = new ActionQueue(resolved, storage);
      snapshotHook.emit = (sequence) => queue.#snapshotWritten(sequence);
      await queue.#afterRecovery();
      return queue;
    } catch (error) {
      await storage.close();
      throw error;
    }
  }

  /** Opens `dataDir` read-only (creates, writes and locks nothing). */
  static inspect(dataDir: string): Promise<QueueInspector> {
    try {
      return Promise.resolve(QueueInspector.open(dataDir));
    } catch (error) {
      // An async API reports failure as a rejection, never a synchronous throw.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Misfire handling and cron windows after a restart. */
  async #afterRecovery(): Promise<void> {
    const now = this.#options.clock.now();
    const writes: Promise<unknown>[] = [];
    for (const task of this.#projection.tasks()) {
      if (task.canceledAt !== undefined || task.spec.runPolicy.kind === "once") continue;
      const runs = this.#projection.runsOfTask(task.spec.id).map((id) => this.#projection.getRun(id)!);
      const overdue = runs.filter((r) => isOverdue(r, now));
      if (overdue.length > 0) {
        const plan = planMisfire(task.spec.runPolicy, overdue);
        for (const run of plan.skip) {
          writes.push(
            this.#authority.submitCommand(
              { kind: "runStateTransition", sequence: this.#authority.latestSequence() + 1, timestamp: now, runId: run.id, previousState: "scheduled", newState: "canceled" },
              "immediate",
            ),
          );
          this.#scheduler.forget(run.id);
          // Reported once listeners can hear it, like the other recovery events.
          const taskId = task.spec.id;
          this.#recoveryEvents.push(() => this.#emitter.emit("run:canceled", { runId: run.id, taskId, previousState: "scheduled", at: now }));
        }
      }
      if (task.spec.runPolicy.kind === "cron") this.#topUpCron(task.spec.id, writes);
    }
    await Promise.all(writes);
  }

  /** Keeps a cron task's window of future runs full (never past `maxOccurrences`). */
  #topUpCron(taskId: TaskId, writes?: Promise<unknown>[]): void {
    const task = this.#projection.getTask(taskId);
    if (!task || task.canceledAt !== undefined || task.spec.runPolicy.kind !== "cron" || this.#closed) return;
    const runIds = this.#projection.runsOfTask(taskId);
    let live = 0;
    let last: number | undefined;
    for (const id of runIds) {
      const run = this.#projection.getRun(id)!;
      if (!run.isTerminal) live += 1;
      if (last === undefined || run.scheduledAt > last) last = run.scheduledAt;
    }
    const now = this.#options.clock.now();
    const { runs } = deriveCronWindow({
      task: task.spec,
      totalDerived: runIds.length,
      liveRuns: live,
      lastScheduledAt: last,
      now,
      ids: this.#ids,
      cronWindow: this.#options.cronWindow,
    });
    if (runs.length === 0) return;
    const s = this.#authority.latestSequence();
    const commands: MutationCommand[] = runs.map((run, k) => ({ kind: "runCreate", sequence: s + 1 + k, timestamp: now, run }));
    const durable = this.#loop.track(this.#authority.submitBatch(commands, "immediate"));
    for (const run of runs) if (this.#projection.runState(run.id) !== undefined) this.#scheduler.onRunChanged(run);
    this.#loop.schedule();
    if (writes) writes.push(durable);
    else durable.catch((error: unknown) => this.#onFatal(error));
  }

  #onFatal(error: unknown): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = error;
    this.#loop.stopDispatching();
    this.#loop.abortAll();
    this.#emitter.emit("error", { error });
    // A runUntilIdle() waiting now would wait forever (nothing more is recorded): it rejects with AUTHORITY_POISONED instead.
    this.#loop.wakeIdleWaiters();
  }

  #assertOpen(): void {
    if (this.#fatal !== undefined) {
      throw new StorageError("AUTHORITY_POISONED", `the queue stopped after a failure it cannot continue from: ${this.#fatal instanceof Error ? this.#fatal.message : "unknown error"}; reopen the data directory to recover`, {
        cause: this.#fatal,
      });
    }
    if (this.#closed) throw new StorageError("CLOSED", "the queue is closed", { details: { dataDir: this.#options.dataDir } });
  }

  /**
   * Submits a task. Every run its policy implies is derived first; the task
   * and its runs are then written as one atomic, durable batch. A rejected
   * spec writes nothing. With an existing `taskId` and the same spec the
   * existing task is returned (`existing: true`); with a different spec it is
   * a `TASK_SPEC_MISMATCH` error.
   */
  submit(input: SubmitInput): Promise<SubmitResult> {
    // Not an async function (its machinery showed up per submission); every failure still arrives as a rejection.
    try {
      return this.#submit(input);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async #existingTask(taskId: TaskId): Promise<SubmitResult> {
    // The task may have been written by a submission still on its way to disk: never acknowledge it before that.
    const pending = this.#submissionsDurable;
    if (pending !== undefined) await pending;
    return { taskId, runIds: this.#projection.runsOfTask(taskId), existing: true, latestSequence: this.#authority.latestSequence() };
  }

  /**
   * Submits many tasks at once, as BullMQ's `addBulk` or pg-boss's `insert`
   * do: every input is validated and every run derived first, then all tasks
   * and runs are written as one atomic, durable batch (all or none; per task
   * it costs about what concurrent `submit` calls do). If any input is
   * invalid, nothing is written and the error names its index. Inputs with an
   * existing `taskId` behave as in `submit`; the same `taskId` twice in one
   * call is an `INVALID_FIELD` error. Results are in input order.
   */
  submitMany(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    try {
      return this.#submitMany(inputs);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #submitMany(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    this.#assertOpen();
    if (!Array.isArray(inputs)) throw new ValidationError("INVALID_FIELD", "submitMany needs an array of submissions", { details: {} });
    const list: readonly SubmitInput[] = inputs;
    const now = this.#options.clock.now();
    // Each task goes into one open batch as soon as it is prepared: validated,
    // encoded and applied there, nothing written before the whole call
    // succeeded. Nothing per task but its ids outlives its turn of the loop,
    // where preparing every task, then building every command, kept them all
    // alive until the write (and scavenges copied them).
    const taskIds = new Array<TaskId>(list.length);
    const runIds = new Array<readonly RunId[] | undefined>(list.length);
    let fresh = 0;
    const named = new Set<string>();
    const batch = this.#authority.openBatch();
    const registered: RunId[] = [];
    const keyed: PreparedTask[] = [];
    try {
      for (let i = 0; i < list.length; i++) {
        const input = list[i]!;
        // Before preparing: the first of two inputs naming one task is already applied by then.
        const given: unknown = typeof input === "object" && input !== null ? input.taskId : undefined;
        if (typeof given === "string") {
          // Ids are case-insensitive (Crockford base 32): compare their canonical spelling.
          const canonical = given.toUpperCase();
          if (named.has(canonical)) {
            throw new ValidationError("INVALID_FIELD", `submission ${i}: task ${given} appears more than once in this call`, { details: { index: i, taskId: given } });
          }
          named.add(canonical);
        }
        let item: PreparedTask | TaskId;
        try {
          item = this.#prepare(input, now);
          // The authority may refuse the record too (larger than a record holds): named like any other refusal.
          if (typeof item !== "string") batch.add({ kind: "taskSubmit", sequence: this.#authority.latestSequence() + 1, timestamp: now, taskSpec: item.spec, runs: item.runs });
        } catch (error) {
          if (error instanceof ActionQueueError) error.message = `submission ${i}: ${error.message}`;
          throw error;
        }
        if (typeof item === "string") {
          taskIds[i] = item;
          continue;
        }
        const spec = item.spec;
        const runs = item.runs;
        if (spec.constraints.concurrencyKey !== undefined || spec.constraints.backoff !== undefined) {
          // The scheduler learns of a task with an entry of its own (a key, a backoff) only once the batch is accepted.
          keyed.push(item);
        } else {
          // Known to the scheduler at once, so the runs need not be kept; forgotten again if the batch is refused.
          for (let r = 0; r < runs.length; r++) {
            this.#scheduler.onRunChanged(runs[r]!);
            registered.push(runs[r]!.id);
          }
        }
        taskIds[i] = spec.id;
        runIds[i] = item.runIds;
        fresh += 1;
      }
    } catch (error) {
      batch.abort();
      for (let r = 0; r < registered.length; r++) this.#scheduler.forget(registered[r]!);
      throw error;
    }
    const written = batch.commit("immediate");
    for (let t = 0; t < keyed.length; t++) this.#registerWithScheduler(keyed[t]!);
    if (fresh > 0) {
      const group = this.#submitGroupFor(written);
      for (let i = 0; i < list.length; i++) {
        const ids = runIds[i];
        if (ids !== undefined) group.add(taskIds[i]!, ids, now);
      }
    }
    // Results are built once the batch is durable: plain values, and a promise
    // only for inputs naming an existing task (which may still be on its way
    // to disk). A promise per input cost ~20 ms per 20,000 inputs here.
    const anyExisting = fresh !== list.length;
    return written.then(() => {
      if (anyExisting) {
        const pending = new Array<Promise<SubmitResult>>(list.length);
        for (let i = 0; i < list.length; i++) {
          const ids = runIds[i];
          pending[i] = ids === undefined ? this.#existingTask(taskIds[i]!) : Promise.resolve(this.#resultOf(taskIds[i]!, ids));
        }
        return Promise.all(pending);
      }
      const results = new Array<SubmitResult>(list.length);
      for (let i = 0; i < list.length; i++) results[i] = this.#resultOf(taskIds[i]!, runIds[i]!);
      return results;
    });
  }

  /** The body of {@link submit}: validation errors throw synchronously, everything after the write settles through the returned promise. */
  #submit(input: SubmitInput): Promise<SubmitResult> {
    this.#assertOpen();
    const now = this.#options.clock.now();
    const prepared = this.#prepare(input, now);
    if (typeof prepared === "string") return this.#existingTask(prepared);
    // The result closure keeps the ids only: the spec and runs need not live until the commit.
    const taskId = prepared.spec.id;
    const runIds = prepared.runIds;
    return this.#write([prepared], now).then(() => this.#resultOf(taskId, runIds));
  }

  /** The result of a newly written task, once durable. */
  #resultOf(taskId: TaskId, runIds: readonly RunId[]): SubmitResult {
    return { taskId, runIds, existing: false, latestSequence: this.#authority.latestSequence() };
  }

  /**
   * Validates a submission and derives its runs, writing nothing. Returns the
   * task id alone when the task exists with the same spec; throws for a bad
   * input or a different spec under an existing id.
   */
  #prepare(input: SubmitInput, now: number): PreparedTask | TaskId {
    if (typeof input !== "object" || input === null) {
      throw new ValidationError("INVALID_FIELD", "submit needs an object with at least runPolicy", { details: {} });
    }
    assertKnownKeys(input, "", SUBMIT_INPUT_KEYS);
    const payload = input.payload;
    let bytes: Uint8Array | undefined;
    // null, for every optional field but the payload (where it is a JSON value), means "not given".
    let contentType = input.contentType ?? undefined;
    if (payload === undefined || payload instanceof Uint8Array) bytes = payload;
    else {
      bytes = encodeJsonPayload(payload);
      contentType ??= JSON_CONTENT_TYPE;
    }
    const minted = input.taskId == null;
    const taskId = minted ? this.#ids.taskId() : parseTaskId(input.taskId);
    // Assignment rather than conditional spreads: those are slow on Node 20, and this runs per submission.
    const specInput: { -readonly [K in keyof TaskSpecInput]: TaskSpecInput[K] } = { id: taskId, runPolicy: input.runPolicy };
    if (input.name != null) specInput.name = input.name;
    if (bytes !== undefined) specInput.payload = bytes;
    if (contentType !== undefined) specInput.contentType = contentType;
    if (input.constraints != null) specInput.constraints = input.constraints;
    if (input.metadata != null) specInput.metadata = input.metadata;
    const spec = createTaskSpec(specInput);
    // A freshly minted id cannot name an existing task (ids are unique per factory, and the
    // authority refuses a duplicate anyway): only a caller's taskId needs the lookup.
    const existing = minted ? undefined : this.#projection.getTask(taskId);
    if (existing) {
      if (!sameSpec(existing.spec, spec)) {
        throw new CommandRejectedError("TASK_SPEC_MISMATCH", `task ${taskId} already exists with a different spec; submit with a new taskId or the identical spec`, {
          details: { taskId },
        });
      }
      return taskId;
    }
    let runs: readonly RunInstance[];
    if (spec.runPolicy.kind === "cron") {
      runs = deriveCronWindow({
        task: spec,
        totalDerived: 0,
        liveRuns: 0,
        lastScheduledAt: undefined,
        now,
        ids: this.#ids,
        cronWindow: this.#options.cronWindow,
      }).runs;
      // A task that can never run is refused rather than kept forever with no runs (February 30, April 31).
      const from = effectiveScheduleOrigin(spec.runPolicy, now);
      const { expression, timezone } = spec.runPolicy;
      if (runs.length === 0 && nextCronOccurrences(expression, Math.max(0, from - 1), 1, timezone).length === 0) {
        if (from > now && nextCronOccurrences(expression, now, 1, timezone).length > 0) {
          throw new ValidationError(
            "INVALID_START_AT",
            `invalid runPolicy.startAt ${from}: cron expression ${JSON.stringify(spec.runPolicy.expression)} never fires after ${new Date(from).toISOString()}`,
            { details: { field: "runPolicy.startAt", value: from } },
          );
        }
        throw new ValidationError(
          "INVALID_CRON_EXPRESSION",
          `invalid cron expression ${JSON.stringify(spec.runPolicy.expression)}: it never fires after ${new Date(from).toISOString()}`,
          { details: { field: "runPolicy.expression", value: spec.runPolicy.expression } },
        );
      }
    } else {
      const policy = spec.runPolicy;
      if (policy.kind === "repeat" && policy.count > MAX_RUNS_PER_TASK) {
        throw new ValidationError(
          "INVALID_REPEAT_COUNT",
          `invalid runPolicy repeat count ${policy.count}: a task has at most ${MAX_RUNS_PER_TASK} runs, all created when it is submitted (submit several tasks, or use a cron policy)`,
          { details: { field: "runPolicy.count", value: policy.count, max: MAX_RUNS_PER_TASK } },
        );
      }
      try {
        runs = deriveRuns({ task: spec, alreadyDerived: 0, scheduleOrigin: now, now, ids: this.#ids }).runs;
      } catch (error) {
        // A minted id names a task that will never exist: the error speaks of the policy alone.
        if (error instanceof DerivationError && minted) {
          const { taskId: _unused, ...details } = error.details;
          throw new ValidationError(error.code, error.reason, { details, cause: error });
        }
        throw error;
      }
    }
    const runIds: RunId[] = new Array<RunId>(runs.length);
    for (let k = 0; k < runs.length; k++) runIds[k] = runs[k]!.id;
    return { spec, runs, runIds };
  }

  /** Writes prepared tasks and their runs as one atomic batch; resolves once durable. */
  #write(tasks: readonly PreparedTask[], now: number): Promise<void> {
    const first = this.#authority.latestSequence();
    // One record per task, its runs included. Sized up front and filled by
    // index: growing `[]` by push allocates room for 17 commands.
    const commands = new Array<MutationCommand>(tasks.length);
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      commands[t] = { kind: "taskSubmit", sequence: first + 1 + t, timestamp: now, taskSpec: task.spec, runs: task.runs };
    }
    const durable = this.#authority.submitBatchDurable(commands, "immediate");
    // The authority applies synchronously and all-or-nothing; a refused batch
    // left nothing behind (the sequence did not move) and its promise rejects
    // with the refusal. The scheduler must not learn of runs that do not exist.
    if (this.#authority.latestSequence() !== first + commands.length) return durable;
    for (let t = 0; t < tasks.length; t++) this.#registerWithScheduler(tasks[t]!);
    const group = this.#submitGroupFor(durable);
    for (let t = 0; t < tasks.length; t++) group.add(tasks[t]!.spec.id, tasks[t]!.runIds, now);
    return durable;
  }

  /** Tells the scheduler of a task just accepted and its runs (the task first: its key constraints apply to them). */
  #registerWithScheduler(task: PreparedTask): void {
    this.#scheduler.setTask(task.spec);
    const runs = task.runs;
    for (let r = 0; r < runs.length; r++) this.#scheduler.onRunChanged(runs[r]!);
  }

  /**
   * The submit group of the commit `durable` belongs to (one counted write,
   * `task:submitted` once durable), for tasks just accepted into it; wakes a
   * started loop.
   */
  #submitGroupFor(durable: Promise<void>): SubmitGroup {
    // A started loop wakes now (before the WAL's next group commit starts), not
    // after the fsync: a handler starts only once its lease-and-start batch is
    // durable, and the WAL makes records durable in order, so that batch can
    // never be durable before these tasks are. The runs thus share this
    // batch's group commit instead of waiting for it and then one more.
    if (this.#loop.dispatching) this.#loop.scheduleSoon();
    let group = this.#submitGroup;
    if (group === undefined || group.durable !== durable) {
      const fresh = new SubmitGroup(durable);
      group = fresh;
      this.#submitGroup = fresh;
      this.#submissionsDurable = durable;
      this.#loop.beginWrite();
      // Attached before any submitter's own reaction to the same promise, so it runs first.
      durable.then(
        () => this.#submitGroupDurable(fresh),
        () => this.#submitGroupSettled(fresh),
      );
    }
    return group;
  }

  #submitGroupSettled(group: SubmitGroup): void {
    if (this.#submitGroup === group) this.#submitGroup = undefined;
    if (this.#submissionsDurable === group.durable) this.#submissionsDurable = undefined;
    this.#loop.endWrite();
  }

  #submitGroupDurable(group: SubmitGroup): void {
    this.#submitGroupSettled(group);
    if (this.#emitter.has("task:submitted")) {
      for (let i = 0; i < group.taskIds.length; i++) {
        this.#emitter.emit("task:submitted", { taskId: group.taskIds[i]!, runIds: group.runIds[i]!, at: group.at[i]! });
      }
    }
    this.#loop.schedule();
  }

  /** Starts dispatching; runs until `close()`. */
  start(): void {
    this.#assertOpen();
    this.#flushRecoveryEvents();
    this.#loop.start();
    this.#armRetention();
  }

  #flushRecoveryEvents(): void {
    for (const emit of this.#recoveryEvents.splice(0)) emit();
  }

  /**
   * Dispatches until nothing is runnable now and nothing is due within
   * `idleHorizonMs` (default 10 s): pending retries and near-future runs are
   * waited for; runs further out, suspended runs and a paused engine are not.
   * Starts dispatching if `start()` was not called.
   */
  async runUntilIdle(): Promise<void> {
    this.#assertOpen();
    this.#flushRecoveryEvents();
    this.#loop.start();
    this.#armRetention();
    await this.#loop.whenIdle();
    this.#assertOpen();
  }

  /**
   * Asks the dispatch gates again about every run they hold, at the next
   * pass: for a gate whose state changed outside the queue (a budget topped
   * up, a downstream service back). Gates with a time to look again, and
   * gates told of finishes, need no call.
   */
  recheckGates(): void {
    this.#assertOpen();
    this.#loop.recheckGates();
  }

  /** Stops dispatching new attempts durably (survives restarts) until `resume()`. */
  async pause(): Promise<void> {
    this.#assertOpen();
    if (this.#projection.isEnginePaused()) return;
    const now = this.#options.clock.now();
    const durable = this.#authority.submitCommand({ kind: "enginePause", sequence: this.#authority.latestSequence() + 1, timestamp: now }, "immediate");
    this.#scheduler.setPaused(true);
    await this.#loop.track(durable);
    this.#emitter.emit("engine:paused", { at: now });
  }

  /** Resumes dispatching after `pause()`. */
  async resume(): Promise<void> {
    this.#assertOpen();
    if (!this.#projection.isEnginePaused()) return;
    const now = this.#options.clock.now();
    const durable = this.#authority.submitCommand({ kind: "engineResume", sequence: this.#authority.latestSequence() + 1, timestamp: now }, "immediate");
    this.#scheduler.setPaused(false);
    await this.#loop.track(durable);
    this.#emitter.emit("engine:resumed", { at: now });
    this.#loop.schedule();
  }

  /** Cancels one run. A running handler sees its signal abort; its late result is ignored. Throws `NOT_FOUND` or `INVALID_TRANSITION` (terminal run). */
  async cancelRun(id: RunId | string): Promise<void> {
    this.#assertOpen();
    const runId = parseRunId(id);
    const state = this.#projection.runState(runId);
    if (state === undefined) throw new CommandRejectedError("NOT_FOUND", `run ${runId} does not exist`, { details: { runId } });
    // Checked before anything is applied: the scheduler must never see a transition the authority refuses.
    if (isTerminalState(state)) {
      throw new TransitionError("INVALID_TRANSITION", `run ${runId} is ${state}: a terminal run cannot be canceled`, { details: { runId, from: state, to: "canceled" } });
    }
    const durable = this.#cancelRunNow(runId, this.#options.clock.now());
    await this.#loop.track(durable);
  }

  #cancelRunNow(runId: RunId, now: number): Promise<unknown> {
    const run = this.#projection.getRun(runId)!;
    const durable = this.#authority.submitCommand(
      { kind: "runStateTransition", sequence: this.#authority.latestSequence() + 1, timestamp: now, runId, previousState: run.state, newState: "canceled" },
      "immediate",
    );
    this.#loop.abortRun(runId, "cancel");
    // Terminal runs leave the scheduler (their key, if any, is released): it only indexes live work.
    this.#scheduler.forget(runId);
    // A canceled cron occurrence leaves the window: refill it (a no-op once the task itself is canceled).
    this.#topUpCron(run.taskId);
    this.#loop.schedule();
    void durable.then(
      () => this.#emitter.emit("run:canceled", { runId, taskId: run.taskId, previousState: run.state, at: now }),
      () => undefined,
    );
    return durable;
  }

  /** Cancels a task and every one of its runs that is not terminal yet. */
  async cancelTask(id: TaskId | string): Promise<{ canceledRuns: number }> {
    this.#assertOpen();
    const taskId = parseTaskId(id);
    const task = this.#projection.getTask(taskId);
    if (!task) throw new CommandRejectedError("NOT_FOUND", `task ${taskId} does not exist`, { details: { taskId } });
    if (task.canceledAt !== undefined) return { canceledRuns: 0 };
    const now = this.#options.clock.now();
    const writes: Promise<unknown>[] = [
      this.#authority.submitCommand({ kind: "taskCancel", sequence: this.#authority.latestSequence() + 1, timestamp: now, taskId }, "immediate"),
    ];
    for (const runId of this.#projection.runsOfTask(taskId)) {
      const state = this.#projection.runState(runId);
      if (state !== undefined && !isTerminalState(state)) writes.push(this.#cancelRunNow(runId, now));
    }
    await this.#loop.track(Promise.all(writes));
    this.#emitter.emit("task:canceled", { taskId, at: now });
    return { canceledRuns: writes.length - 1 };
  }

  /**
   * Removes finished tasks, with their runs and attempt history, from memory
   * and from the data directory's future (the WAL records the purge; the
   * next snapshot leaves them out). A task is finished when every run is
   * terminal and its policy derives no more: a cron task must be canceled or
   * have had all its `maxOccurrences`. A task another task depends on stays
   * until that one is gone. Options narrow the selection: `finishedBefore`
   * (epoch ms) or `olderThanMs`, `states` (those its runs all ended in) and
   * `limit`. A purged task's id is free again: submitting it creates a new
   * task. Emits `task:purged` per task. Writes in durable batches of up to
   * 1,000 tasks and yields between them; stops early if the queue closes.
   */
  purge(options: PurgeOptions = {}): Promise<PurgeResult> {
    try {
      this.#assertOpen();
      const selection = resolvePurgeOptions(options, this.#options.clock.now());
      // One purge at a time: a second waits, then scans what the first left.
      const run = this.#purging.then(() => this.#purge(selection));
      this.#purging = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async #purge(selection: PurgeSelection): Promise<PurgeResult> {
    let tasks = 0;
    let runs = 0;
    let scanned = 0;
    const tasksIterator = this.#projection.tasks();
    let done = false;
    while (!done && tasks < selection.limit && !this.#halted()) {
      const inUse = prerequisitesInUse(this.#projection);
      const batch: { taskId: TaskId; runIds: RunId[] }[] = [];
      // The tasks map is iterated live: purged entries drop out, new ones are visited too.
      while (batch.length < PURGE_BATCH_TASKS && tasks + batch.length < selection.limit) {
        const next = tasksIterator.next();
        if (next.done === true) {
          done = true;
          break;
        }
        const taskId = next.value.spec.id;
        const runIds = purgeableRuns(this.#projection, taskId, selection, inUse);
        if (runIds !== undefined) batch.push({ taskId, runIds });
        // A long scan of tasks that stay yields now and then.
        if (++scanned % PURGE_SCAN_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#halted()) break;
      }
      if (batch.length === 0 || this.#halted()) continue;
      const now = this.#options.clock.now();
      const s = this.#authority.latestSequence();
      const commands: MutationCommand[] = batch.map(({ taskId }, k) => ({ kind: "taskPurge", sequence: s + 1 + k, timestamp: now, taskId }));
      // Applied at once (or refused whole, changing nothing): the scheduler may forget the tasks now.
      const durable = this.#loop.track(this.#authority.submitBatch(commands, "immediate"));
      if (this.#authority.latestSequence() === s + commands.length) for (const { taskId } of batch) this.#scheduler.forgetTask(taskId);
      await durable;
      tasks += batch.length;
      for (const { taskId, runIds } of batch) {
        runs += runIds.length;
        if (this.#emitter.has("task:purged")) this.#emitter.emit("task:purged", { taskId, runIds, at: now });
      }
    }
    return { tasks, runs };
  }

  /** True once the queue is closing or stopped after a failure: background work (a purge) ends there. */
  #halted(): boolean {
    return this.#closed !== undefined || this.#fatal !== undefined;
  }

  /** Arms the next automatic purge (the `retention` option), once the queue is started. */
  #armRetention(): void {
    const retention = this.#options.retention;
    if (retention === undefined || this.#retentionTimer !== undefined || this.#closed !== undefined) return;
    this.#retentionTimer = this.#options.clock.setTimeout(() => {
      this.purge({ olderThanMs: retention.olderThanMs, states: retention.states })
        .catch((error: unknown) => {
          // A closed or failed queue has said so already; anything else is reported, not thrown into a timer.
          if (!this.#halted()) this.#emitter.emit("error", { error });
        })
        .finally(() => {
          this.#retentionTimer = undefined;
          this.#armRetention();
        });
    }, retention.everyMs);
    // Housekeeping alone does not keep the process alive.
    this.#retentionTimer.unref?.();
  }

  /** Makes a suspended run ready again. Throws `NOT_FOUND`, or `INVALID_TRANSITION` if it is not suspended. */
  async resumeRun(id: RunId | string): Promise<void> {
    this.#assertOpen();
    const runId = parseRunId(id);
    const run = this.#projection.getRun(runId);
    if (!run) throw new CommandRejectedError("NOT_FOUND", `run ${runId} does not exist`, { details: { runId } });
    // Checked before anything is applied: the scheduler must never see a transition the authority refuses.
    if (run.state !== "suspended") {
      throw new TransitionError("INVALID_TRANSITION", `run ${runId} is ${run.state}: only a suspended run can be resumed`, { details: { runId, from: run.state, to: "ready" } });
    }
    const now = this.#options.clock.now();
    const durable = this.#authority.submitCommand({ kind: "runResume", sequence: this.#authority.latestSequence() + 1, timestamp: now, runId }, "immediate");
    this.#scheduler.onTransition(runId, "ready", now);
    await this.#loop.track(durable);
    this.#emitter.emit("run:resumed", { runId, taskId: run.taskId, at: now });
    this.#loop.schedule();
  }

  /** A task with its run ids, or undefined. */
  getTask(id: TaskId | string): TaskView | undefined {
    return this.#query.getTask(id);
  }

  /** Tasks in creation order, paged. */
  listTasks(query?: { limit?: number; cursor?: string }): { tasks: TaskView[]; nextCursor?: string } {
    return this.#query.listTasks(query);
  }

  /** A run with its attempt history (outcomes, errors, outputs), or undefined. */
  getRun(id: RunId | string): RunView | undefined {
    return this.#query.getRun(id);
  }

  /** Runs in creation order, filtered and paged. */
  listRuns(query?: ListRunsQuery): RunPage {
    return this.#query.listRuns(query);
  }

  /** Counters of the data directory. */
  stats(): Stats {
    return this.#query.stats();
  }

  /** Why a run is not running now. Throws `NOT_FOUND` for an unknown run. */
  explain(id: RunId | string): Explanation {
    return this.#query.explain(id, this.#options.clock.now());
  }

  /**
   * Writes a snapshot now (and compacts the WAL it covers). `encodedIn` says
   * whether a worker thread or the event loop encoded it (`snapshotInWorker`).
   */
  async writeSnapshot(): Promise<{ sequence: number; file: string; encodedIn: "worker" | "caller" }> {
    this.#assertOpen();
    const info = await this.#storage.writeSnapshot();
    this.#snapshotWritten(info.sequence);
    return { sequence: info.sequence, file: info.file, encodedIn: info.encodedIn };
  }

  /** Reports a snapshot, automatic or asked for, once it is written. */
  #snapshotWritten(sequence: number): void {
    this.#emitter.emit("snapshot:written", { sequence, at: this.#options.clock.now() });
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): () => void {
    return this.#emitter.on(name, listener);
  }

  /** Unsubscribes a listener. */
  off<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): void {
    this.#emitter.off(name, listener);
  }

  /** WAL counters of this process (records appended, bytes, write cycles, fsyncs): for metrics. */
  walStats(): WalWriterStats {
    return this.#storage.walStats();
  }

  /** Attempts in flight right now. */
  get inFlight(): number {
    return this.#loop.inFlightCount;
  }

  /** The data directory. */
  get dataDir(): string {
    return this.#options.dataDir;
  }

  /**
   * Closes gracefully: stops dispatching; with `mode: 'drain'` (default) lets
   * in-flight attempts finish for up to `graceMs` (default 30 s) and then
   * aborts the rest; with `mode: 'abort'` aborts them at once (each records a
   * failed attempt and is retried by the next start per the retry table);
   * flushes the WAL and releases the lock. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed === undefined) {
      // Refused before anything stops: close(null) used to stop dispatching, then throw, and keep the lock for good.
      try {
        checkCloseOptions(options);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.#closed ??= this.#close(options);
    return this.#closed;
  }

  async #close(options: CloseOptions): Promise<void> {
    this.#retentionTimer?.cancel();
    this.#retentionTimer = undefined;
    this.#loop.stopDispatching();
    if (options.mode === "abort") this.#loop.abortAll();
    const drained = await this.#loop.drained(options.mode === "abort" ? 5_000 : (options.graceMs ?? 30_000));
    if (!drained) {
      this.#loop.abortAll();
      await this.#loop.drained(5_000);
    }
    this.#loop.dispose();
    try {
      await this.#storage.close();
    } catch (error) {
      if (!ActionQueueError.is(error) || error.code !== "AUTHORITY_POISONED") throw error;
    }
  }
}
