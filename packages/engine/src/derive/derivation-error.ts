/**
 * Derivation errors: arithmetic overflow of a repeat schedule (raised before
 * any run is built, so nothing partial is ever written) and inconsistent
 * derivation state (more runs already derived than the policy allows).
 */
import { ValidationError } from "@actionqueue/core";
import type { ErrorDetails, TaskId } from "@actionqueue/core";

/** Derivation refused: `DERIVATION_OVERFLOW` or `INVALID_DERIVATION_STATE`. */
export class DerivationError extends ValidationError {
  readonly taskId: TaskId;
  /** What is wrong, without the task id (for a caller whose task was never created). */
  readonly reason: string;

  constructor(code: "DERIVATION_OVERFLOW" | "INVALID_DERIVATION_STATE", taskId: TaskId, message: string, details: ErrorDetails = {}) {
    super(code, `task ${taskId}: ${message}`, { details: { taskId, ...details } });
    this.taskId = taskId;
    this.reason = message;
  }
}
