/**
 * RunInstance: one run of a task and the guarded operations on it. Every
 * method validates first and mutates only on success, so an error leaves the
 * run exactly as it was. The projection (storage) and the engine share it.
 */
import { TransitionError, ValidationError, describeValue } from "../errors/action-queue-error.js";
import type { AttemptId, RunId, TaskId } from "../ids/ids.js";
import { isNilId, parseAttemptId, parseRunId, parseTaskId } from "../ids/ids.js";
import { U32_MAX } from "../task/run-policy.js";
import type { RunState } from "./run-state.js";
import { isRunState, isValidTransition } from "./run-state.js";

/** Every field of a run, as persisted. Times are epoch milliseconds. */
export interface RunInstanceFields {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly state: RunState;
  readonly currentAttemptId?: AttemptId;
  /** Attempts started, suspended ones included. */
  readonly attemptCount: number;
  readonly createdAt: number;
  /** When the run becomes eligible. */
  readonly scheduledAt: number;
  /** Selection priority, copied from the task's metadata. */
  readonly effectivePriority: number;
  readonly lastStateChangeAt: number;
}

/** Options of the run constructors. */
export interface NewRunOptions {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly scheduledAt: number;
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

function checkIds(id: RunId, taskId: TaskId): void {
  parseRunId(id);
  if (isNilId(id)) throw new ValidationError("INVALID_RUN_ID", `invalid run id ${id}: the nil id is not a run id`, { details: { runId: id } });
  parseTaskId(taskId);
  if (isNilId(taskId)) {
    throw new ValidationError("INVALID_TASK_ID", `invalid task id ${taskId}: the nil id is not a task id`, { details: { taskId } });
  }
}

/** One run of a task. */
export class RunInstance {
  readonly id: RunId;
  readonly taskId: TaskId;
  readonly createdAt: number;
  readonly scheduledAt: number;
  #state: RunState;
  #currentAttemptId: AttemptId | undefined;
  #attemptCount: number;
  #effectivePriority: number;
  #lastStateChangeAt: number;

  private constructor(f: RunInstanceFields) {
    this.id = f.id;
    this.taskId = f.taskId;
    this.createdAt = f.createdAt;
    this.scheduledAt = f.scheduledAt;
    this.#state = f.state;
    this.#currentAttemptId = f.currentAttemptId;
    this.#attemptCount = f.attemptCount;
    this.#effectivePriority = f.effectivePriority;
    this.#lastStateChangeAt = f.lastStateChangeAt;
  }

  /** A new Scheduled run (future schedules are normal). */
  static newScheduled(o: NewRunOptions): RunInstance {
    checkIds(o.id, o.taskId);
    checkTime("scheduledAt", o.scheduledAt);
    checkTime("createdAt", o.createdAt);
    return new RunInstance({
      id: o.id,
      taskId: o.taskId,
      state: "scheduled",
      attemptCount: 0,
      createdAt: o.createdAt,
      scheduledAt: o.scheduledAt,
      effectivePriority: o.priority ?? 0,
      lastStateChangeAt: o.createdAt,
    });
  }

  /** A new Ready run; its `scheduledAt` may not be after `createdAt`. */
  static newReady(o: NewRunOptions): RunInstance {
    checkIds(o.id, o.taskId);
    checkTime("scheduledAt", o.scheduledAt);
    checkTime("createdAt", o.createdAt);
    if (o.scheduledAt > o.createdAt) {
      throw new ValidationError(
        "READY_SCHEDULED_AT_AFTER_CREATED_AT",
        `run ${o.id} cannot be created ready: scheduledAt ${o.scheduledAt} is after createdAt ${o.createdAt}`,
        { details: { runId: o.id, scheduledAt: o.scheduledAt, createdAt: o.createdAt } },
      );
    }
    return new RunInstance({
      id: o.id,
      taskId: o.taskId,
      state: "ready",
      attemptCount: 0,
      createdAt: o.createdAt,
      scheduledAt: o.scheduledAt,
      effectivePriority: o.priority ?? 0,
      lastStateChangeAt: o.createdAt,
    });
  }

  /**
   * Rebuilds a run from persisted fields (snapshot, WAL, JSON), validating every
   * invariant: ids not nil, known state, an active attempt only while Running,
   * counts and times in range.
   */
  static restore(f: RunInstanceFields): RunInstance {
    checkIds(f.id, f.taskId);
    if (!isRunState(f.state)) {
      throw new ValidationError("INVALID_RUN_INSTANCE", `run ${f.id}: unknown state ${describeValue(f.state)}`, {
        details: { runId: f.id, field: "state" },
      });
    }
    if (f.currentAttemptId !== undefined) {
      parseAttemptId(f.currentAttemptId);
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
    if (!Number.isInteger(f.effectivePriority)) {
      throw new ValidationError("INVALID_RUN_INSTANCE", `run ${f.id}: invalid effectivePriority ${describeValue(f.effectivePriority)}`, {
        details: { runId: f.id, field: "effectivePriority" },
      });
    }
    return new RunInstance(f);
  }

  get state(): RunState {
    return this.#state;
  }
  get currentAttemptId(): AttemptId | undefined {
    return this.#currentAttemptId;
  }
  get attemptCount(): number {
    return this.#attemptCount;
  }
  get effectivePriority(): number {
    return this.#effectivePriority;
  }
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

  /** Moves to Ready (as `transitionTo`), optionally replacing the priority snapshot. */
  promoteToReady(priority?: number): void {
    this.transitionTo("ready");
    if (priority !== undefined) this.#effectivePriority = priority;
  }

  /** Changes the priority snapshot; only while Ready. */
  setEffectivePriority(priority: number): void {
    if (this.#state !== "ready") {
      throw new TransitionError(
        "PRIORITY_MUTATION_REQUIRES_READY",
        `run ${this.id}: priority can only change while ready, not ${this.#state}`,
        { details: { runId: this.id, currentState: this.#state } },
      );
    }
    this.#effectivePriority = priority;
  }

  /** Starts an attempt: requires Running, no active attempt, count below the u32 limit. */
  startAttempt(attemptId: AttemptId): void {
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
    this.#currentAttemptId = attemptId;
  }

  /** Finishes the active attempt, which must be `attemptId` (a stale attempt is refused). */
  finishAttempt(attemptId: AttemptId): void {
    if (this.#state !== "running") {
      throw new TransitionError("ATTEMPT_FINISH_REQUIRES_RUNNING", `run ${this.id}: an attempt can only finish while running, not ${this.#state}`, {
        details: { runId: this.id, currentState: this.#state },
      });
    }
    if (this.#currentAttemptId === undefined) {
      throw new TransitionError("NO_ACTIVE_ATTEMPT", `run ${this.id}: no attempt is active`, { details: { runId: this.id } });
    }
    if (this.#currentAttemptId !== attemptId) {
      throw new TransitionError(
        "ATTEMPT_OWNERSHIP_MISMATCH",
        `run ${this.id}: attempt ${attemptId} is not the active attempt ${this.#currentAttemptId}`,
        { details: { runId: this.id, expectedAttemptId: this.#currentAttemptId, actualAttemptId: attemptId } },
      );
    }
    this.#currentAttemptId = undefined;
  }

  /** Records when the state last changed (used by retry backoff). */
  recordStateChangeAt(epochMs: number): void {
    this.#lastStateChangeAt = epochMs;
  }

  /** A detached copy (the projection hands copies to readers). */
  clone(): RunInstance {
    return new RunInstance(this.toFields());
  }

  /** Every field as plain data. */
  toFields(): RunInstanceFields {
    return {
      id: this.id,
      taskId: this.taskId,
      state: this.#state,
      ...(this.#currentAttemptId === undefined ? {} : { currentAttemptId: this.#currentAttemptId }),
      attemptCount: this.#attemptCount,
      createdAt: this.createdAt,
      scheduledAt: this.scheduledAt,
      effectivePriority: this.#effectivePriority,
      lastStateChangeAt: this.#lastStateChangeAt,
    };
  }

  toJSON(): RunInstanceFields {
    return this.toFields();
  }
}
