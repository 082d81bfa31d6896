/**
 * RunInstance: one run of a task and the guarded operations on it. Every
 * method validates first and mutates only on success, so an error leaves the
 * run exactly as it was. The projection (storage) and the engine share it.
 */
import { TransitionError, ValidationError, describeValue } from "../errors/action-queue-error.js";
import type { AttemptId, RunId, TaskId } from "../ids/ids.js";
import { isNilId, parseAttemptId, parseRunId, parseTaskId } from "../ids/ids.js";
import { I32_MAX, I32_MIN, isIntInRange } from "../internal/checks.js";
import { U32_MAX } from "../task/run-policy.js";
import type { RunState } from "./run-state.js";
import { isRunState, isValidTransition } from "./run-state.js";

/** Every field of a run, as persisted. Times are epoch milliseconds. */
export interface RunInstanceFields {
  /** The run's id (never the nil id). */
  readonly id: RunId;
  /** The task this run belongs to (never the nil id). */
  readonly taskId: TaskId;
  /** Current state. */
  readonly state: RunState;
  /** The active attempt; only ever present while `running`. */
  readonly currentAttemptId?: AttemptId;
  /** Attempts started, suspended ones included. */
  readonly attemptCount: number;
  /** When the run was created (epoch ms); immutable. */
  readonly createdAt: number;
  /** When the run becomes eligible. */
  readonly scheduledAt: number;
  /** Selection priority, copied from the task's metadata. */
  readonly effectivePriority: number;
  /** When the state last changed (epoch ms); starts at `createdAt`, used by retry backoff. */
  readonly lastStateChangeAt: number;
}

/** Options of the run constructors. */
export interface NewRunOptions {
  /** The new run's id (minted by the id factory, or a durable id on replay). */
  readonly id: RunId;
  /** The owning task. */
  readonly taskId: TaskId;
  /** Eligibility time, epoch ms. */
  readonly scheduledAt: number;
  /** Creation time, epoch ms. */
  readonly createdAt: number;
  /** Default 0. */
  readonly priority?: number;
}

function checkTime(field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError("INVALID_TIMESTAMP", `invalid ${field} ${describeValue(value)}: expected epoch milliseconds`, {
      details: { field, value: describeValue(value) },
    });
  }
}

function checkPriority(value: unknown): void {
  if (!isIntInRange(value, I32_MIN, I32_MAX)) {
    throw new ValidationError(
      "INVALID_PRIORITY",
      `invalid effectivePriority ${describeValue(value)}: expected an integer from ${I32_MIN} to ${I32_MAX}`,
      { details: { field: "effectivePriority", value: describeValue(value) } },
    );
  }
}

/** Validates both ids and returns them in canonical (uppercase) form, so stored ids compare and sort correctly. */
function checkIds(id: RunId, taskId: TaskId): { id: RunId; taskId: TaskId } {
  const runId = parseRunId(id);
  if (isNilId(runId)) {
    throw new ValidationError("INVALID_RUN_ID", `invalid run id ${runId}: the nil id is not a run id`, { details: { runId } });
  }
  const task = parseTaskId(taskId);
  if (isNilId(task)) {
    throw new ValidationError("INVALID_TASK_ID", `invalid task id ${task}: the nil id is not a task id`, { details: { taskId: task } });
  }
  return { id: runId, taskId: task };
}

/** One run of a task. */
export class RunInstance {
  /** The run's id, canonical and never nil. */
  readonly id: RunId;
  /** The owning task's id, canonical and never nil. */
  readonly taskId: TaskId;
  /** Creation time, epoch ms. */
  readonly createdAt: number;
  /** Eligibility time, epoch ms. */
  readonly scheduledAt: number;
  #state: RunState;
  #currentAttemptId: AttemptId | undefined;
  #attemptCount: number;
  #effectivePriority: number;
  #lastStateChangeAt: number;

  // Positional on purpose: object spreads and temporary field bags are slow
  // on Node 20 and every run of every task passes through here.
  private constructor(
    id: RunId,
    taskId: TaskId,
    state: RunState,
    currentAttemptId: AttemptId | undefined,
    attemptCount: number,
    createdAt: number,
    scheduledAt: number,
    effectivePriority: number,
    lastStateChangeAt: number,
  ) {
    this.id = id;
    this.taskId = taskId;
    this.createdAt = createdAt;
    this.scheduledAt = scheduledAt;
    this.#state = state;
    this.#currentAttemptId = currentAttemptId;
    this.#attemptCount = attemptCount;
    this.#effectivePriority = effectivePriority;
    this.#lastStateChangeAt = lastStateChangeAt;
  }

  /** A new Scheduled run (future schedules are normal). */
  static newScheduled(o: NewRunOptions): RunInstance {
    const ids = checkIds(o.id, o.taskId);
    checkTime("scheduledAt", o.scheduledAt);
    checkTime("createdAt", o.createdAt);
    if (o.priority !== undefined) checkPriority(o.priority);
    return new RunInstance(ids.id, ids.taskId, "scheduled", undefined, 0, o.createdAt, o.scheduledAt, o.priority ?? 0, o.createdAt);
  }

  /** A new Ready run; its `scheduledAt` may not be after `createdAt`. */
  static newReady(o: NewRunOptions): RunInstance {
    const ids = checkIds(o.id, o.taskId);
    checkTime("scheduledAt", o.scheduledAt);
    checkTime("createdAt", o.createdAt);
    if (o.priority !== undefined) checkPriority(o.priority);
    if (o.scheduledAt > o.createdAt) {
      throw new ValidationError(
        "READY_SCHEDULED_AT_AFTER_CREATED_AT",
        `run ${o.id} cannot be created ready: scheduledAt ${o.scheduledAt} is after createdAt ${o.createdAt}`,
        { details: { runId: o.id, scheduledAt: o.scheduledAt, createdAt: o.createdAt } },
      );
    }
    return new RunInstance(ids.id, ids.taskId, "ready", undefined, 0, o.createdAt, o.scheduledAt, o.priority ?? 0, o.createdAt);
  }

  /**
   * Builds a run from fields that are already known to be valid, skipping
   * every check. Only for the storage projection, whose records were
   * validated when their events were accepted: `restore` re-parses both ids
   * on every call, which the dispatch loop cannot afford per run.
   * @internal
   */
  static fromValidatedFields(
    id: RunId,
    taskId: TaskId,
    state: RunState,
    currentAttemptId: AttemptId | undefined,
    attemptCount: number,
    createdAt: number,
    scheduledAt: number,
    effectivePriority: number,
    lastStateChangeAt: number,
  ): RunInstance {
    return new RunInstance(id, taskId, state, currentAttemptId, attemptCount, createdAt, scheduledAt, effectivePriority, lastStateChangeAt);
  }

  /**
   * Rebuilds a run from persisted fields (snapshot, WAL, JSON), validating every
   * invariant: ids not nil, known state, an active attempt only while Running,
   * counts and times in range.
   */
  static restore(f: RunInstanceFields): RunInstance {
    const ids = checkIds(f.id, f.taskId);
    if (!isRunState(f.state)) {
      throw new ValidationError("INVALID_RUN_INSTANCE", `run ${f.id}: unknown state ${describeValue(f.state)}`, {
        details: { runId: f.id, field: "state" },
      });
    }
    let currentAttemptId: AttemptId | undefined;
    if (f.currentAttemptId !== undefined) {
      currentAttemptId = parseAttemptId(f.currentAttemptId);
      if (f.state !== "running") {
        throw new ValidationError(
          "INVALID_RUN_INSTANCE",
          `run ${f.id}: an active attempt (${f.currentAttemptId}) is only possible while running, not ${f.state}`,
          { details: { runId: f.id, field: "currentAttemptId" } },
        );
      }
    }
    if (!Number.isSafeInteger(f.attemptCount) || f.attemptCount < 0 || f.attemptCount > U32_MAX) {
      throw new ValidationError("INVALID_RUN_INSTANCE", `run ${f.id}: invalid attemptCount ${describeValue(f.attemptCount)}`, {
        details: { runId: f.id, field: "attemptCount" },
      });
    }
    checkTime("createdAt", f.createdAt);
    checkTime("scheduledAt", f.scheduledAt);
    checkTime("lastStateChangeAt", f.lastStateChangeAt);
    if (!isIntInRange(f.effectivePriority, I32_MIN, I32_MAX)) {
      throw new ValidationError(
        "INVALID_RUN_INSTANCE",
        `run ${f.id}: invalid effectivePriority ${describeValue(f.effectivePriority)}, expected an integer from ${I32_MIN} to ${I32_MAX}`,
        { details: { runId: f.id, field: "effectivePriority" } },
      );
    }
    return new RunInstance(
      ids.id,
      ids.taskId,
      f.state,
      currentAttemptId,
      f.attemptCount,
      f.createdAt,
      f.scheduledAt,
      f.effectivePriority,
      f.lastStateChangeAt,
    );
  }

  /** Current state. */
  get state(): RunState {
    return this.#state;
  }
  /** The active attempt, if one is running. */
  get currentAttemptId(): AttemptId | undefined {
    return this.#currentAttemptId;
  }
  /** Attempts started so far, suspended ones included (see `countedAttempts`). */
  get attemptCount(): number {
    return this.#attemptCount;
  }
  /** Selection priority snapshot (higher is selected first). */
  get effectivePriority(): number {
    return this.#effectivePriority;
  }
  /** When the state last changed, epoch ms. */
  get lastStateChangeAt(): number {
    return this.#lastStateChangeAt;
  }
  /** True for completed, failed and canceled. */
  get isTerminal(): boolean {
    return this.#state === "completed" || this.#state === "failed" || this.#state === "canceled";
  }

  /**
   * Moves to `to`. Throws `INVALID_TRANSITION` for a pair outside the table and
   * `ATTEMPT_IN_PROGRESS` when leaving Running (other than to Canceled) with an
   * attempt still active. Canceling a running run closes its active attempt
   * reference (the executor's late result is fenced out by attempt id).
   */
  transitionTo(to: RunState): void {
    if (!isValidTransition(this.#state, to)) {
      throw new TransitionError("INVALID_TRANSITION", `run ${this.id}: invalid transition ${this.#state} → ${to}`, {
        details: { runId: this.id, from: this.#state, to },
      });
    }
    if (this.#state === "running" && to !== "canceled" && this.#currentAttemptId !== undefined) {
      throw new TransitionError(
        "ATTEMPT_IN_PROGRESS",
        `run ${this.id}: cannot leave running for ${to} while attempt ${this.#currentAttemptId} is active`,
        { details: { runId: this.id, activeAttemptId: this.#currentAttemptId } },
      );
    }
    if (to !== "running") this.#currentAttemptId = undefined;
    this.#state = to;
  }

  /**
   * Moves to Ready (as `transitionTo`), optionally replacing the priority
   * snapshot (an i32; `INVALID_PRIORITY` is checked before anything changes).
   */
  promoteToReady(priority?: number): void {
    if (priority !== undefined) checkPriority(priority);
    this.transitionTo("ready");
    if (priority !== undefined) this.#effectivePriority = priority;
  }

  /** Changes the priority snapshot; only while Ready (`PRIORITY_MUTATION_REQUIRES_READY`), an i32 (`INVALID_PRIORITY`). */
  setEffectivePriority(priority: number): void {
    checkPriority(priority);
    if (this.#state !== "ready") {
      throw new TransitionError(
        "PRIORITY_MUTATION_REQUIRES_READY",
        `run ${this.id}: priority can only change while ready, not ${this.#state}`,
        { details: { runId: this.id, currentState: this.#state } },
      );
    }
    this.#effectivePriority = priority;
  }

  /**
   * Starts an attempt: requires Running (`ATTEMPT_START_REQUIRES_RUNNING`), no
   * active attempt (`ATTEMPT_ALREADY_ACTIVE`), count below the u32 limit
   * (`ATTEMPT_COUNT_OVERFLOW`). A malformed id throws `INVALID_ID` first.
   */
  startAttempt(attemptId: AttemptId): void {
    const canonical = parseAttemptId(attemptId);
    if (this.#state !== "running") {
      throw new TransitionError("ATTEMPT_START_REQUIRES_RUNNING", `run ${this.id}: an attempt can only start while running, not ${this.#state}`, {
        details: { runId: this.id, currentState: this.#state },
      });
    }
    if (this.#currentAttemptId !== undefined) {
      throw new TransitionError("ATTEMPT_ALREADY_ACTIVE", `run ${this.id}: attempt ${this.#currentAttemptId} is already active`, {
        details: { runId: this.id, activeAttemptId: this.#currentAttemptId },
      });
    }
    if (this.#attemptCount >= U32_MAX) {
      throw new TransitionError("ATTEMPT_COUNT_OVERFLOW", `run ${this.id}: attempt count would overflow`, { details: { runId: this.id } });
    }
    this.#attemptCount += 1;
    this.#currentAttemptId = canonical;
  }

  /** Finishes the active attempt, which must be `attemptId` (a stale attempt is refused). */
  finishAttempt(attemptId: AttemptId): void {
    const canonical = parseAttemptId(attemptId);
    if (this.#state !== "running") {
      throw new TransitionError("ATTEMPT_FINISH_REQUIRES_RUNNING", `run ${this.id}: an attempt can only finish while running, not ${this.#state}`, {
        details: { runId: this.id, currentState: this.#state },
      });
    }
    if (this.#currentAttemptId === undefined) {
      throw new TransitionError("NO_ACTIVE_ATTEMPT", `run ${this.id}: no attempt is active`, { details: { runId: this.id } });
    }
    if (this.#currentAttemptId !== canonical) {
      throw new TransitionError(
        "ATTEMPT_OWNERSHIP_MISMATCH",
        `run ${this.id}: attempt ${attemptId} is not the active attempt ${this.#currentAttemptId}`,
        { details: { runId: this.id, expectedAttemptId: this.#currentAttemptId, actualAttemptId: attemptId } },
      );
    }
    this.#currentAttemptId = undefined;
  }

  /** Records when the state last changed (used by retry backoff); epoch ms, `INVALID_TIMESTAMP` otherwise. */
  recordStateChangeAt(epochMs: number): void {
    checkTime("lastStateChangeAt", epochMs);
    this.#lastStateChangeAt = epochMs;
  }

  /** A detached copy (the projection hands copies to readers). */
  clone(): RunInstance {
    return new RunInstance(
      this.id,
      this.taskId,
      this.#state,
      this.#currentAttemptId,
      this.#attemptCount,
      this.createdAt,
      this.scheduledAt,
      this.#effectivePriority,
      this.#lastStateChangeAt,
    );
  }

  /** Every field as plain data. */
  toFields(): RunInstanceFields {
    const fields: { -readonly [K in keyof RunInstanceFields]: RunInstanceFields[K] } = {
      id: this.id,
      taskId: this.taskId,
      state: this.#state,
      attemptCount: this.#attemptCount,
      createdAt: this.createdAt,
      scheduledAt: this.scheduledAt,
      effectivePriority: this.#effectivePriority,
      lastStateChangeAt: this.#lastStateChangeAt,
    };
    if (this.#currentAttemptId !== undefined) fields.currentAttemptId = this.#currentAttemptId;
    return fields;
  }

  /** `JSON.stringify` support: the plain fields (use `runInstanceToJson` for the codec form). */
  toJSON(): RunInstanceFields {
    return this.toFields();
  }
}
