/**
 * How one attempt ended, as recorded durably: success (optional output),
 * failure or timeout (with a message), suspended (optional partial output).
 * Empty output means no output on every path.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { ownedBytes } from "../internal/owned-bytes.js";

/** The result of an attempt. `suspended` does not count toward `maxAttempts`. */
export type AttemptResultKind = "success" | "failure" | "timeout" | "suspended";

/** Every attempt result, in order. */
export const ATTEMPT_RESULT_KINDS: readonly AttemptResultKind[] = ["success", "failure", "timeout", "suspended"];

/** The durable outcome of an attempt. */
export interface AttemptOutcome {
  /** How the attempt ended. */
  readonly result: AttemptResultKind;
  /** Present exactly for failure and timeout; never empty. */
  readonly error?: string;
  /** Handler output (success) or partial state (suspended); never empty. */
  readonly output?: Uint8Array;
}

function requireMessage(kind: "failure" | "timeout", message: unknown): string {
  if (typeof message !== "string" || message.length === 0) {
    throw new ValidationError(
      "EMPTY_FAILURE_MESSAGE",
      `invalid ${kind} message ${describeValue(message)}: a ${kind} outcome needs a non-empty message`,
      { details: { field: "error", value: describeValue(message) } },
    );
  }
  return message;
}

// Outcomes without error or output carry nothing but their kind: one frozen
// instance of each is shared by every attempt (one fewer object per attempt).
const SUCCESS: AttemptOutcome = Object.freeze({ result: "success" });
const SUSPENDED: AttemptOutcome = Object.freeze({ result: "suspended" });

/**
 * Factories for every outcome; empty output is normalised to none. Outcomes
 * without error or output are shared frozen instances.
 */
export const AttemptOutcome = {
  /** A success without output. */
  success(): AttemptOutcome {
    return SUCCESS;
  },
  /** A success with handler output, copied (empty output means none). */
  successWithOutput(output: Uint8Array): AttemptOutcome {
    // A copy: a handler may return the same buffer every time.
    return output.length === 0 ? SUCCESS : { result: "success", output: ownedBytes(output) };
  },
  /** A retryable failure; `EMPTY_FAILURE_MESSAGE` for an empty message. */
  failure(message: string): AttemptOutcome {
    return { result: "failure", error: requireMessage("failure", message) };
  },
  /** A timed-out attempt; `EMPTY_FAILURE_MESSAGE` for an empty message. */
  timeout(message: string): AttemptOutcome {
    return { result: "timeout", error: requireMessage("timeout", message) };
  },
  /** A preempted attempt (does not count toward `maxAttempts`). */
  suspended(): AttemptOutcome {
    return SUSPENDED;
  },
  /** A preempted attempt with partial state for resumption, copied (empty output means none). */
  suspendedWithOutput(output: Uint8Array): AttemptOutcome {
    return output.length === 0 ? SUSPENDED : { result: "suspended", output: ownedBytes(output) };
  },
  /**
   * Rebuilds an outcome from persisted parts (the replay path), checking, in
   * order: success/suspended with an error, failure/timeout without one,
   * failure/timeout with output. Empty output is normalised to none.
   */
  fromParts(result: AttemptResultKind, error?: string, output?: Uint8Array): AttemptOutcome {
    if (!ATTEMPT_RESULT_KINDS.includes(result)) {
      throw new ValidationError("INVALID_ATTEMPT_RESULT", `invalid attempt result ${describeValue(result)}`, {
        details: { field: "result", value: describeValue(result) },
      });
    }
    if (error !== undefined && typeof error !== "string") {
      throw new ValidationError("INVALID_ATTEMPT_RESULT", `invalid outcome error ${describeValue(error)}: expected a string`, {
        details: { field: "error", value: describeValue(error) },
      });
    }
    if (output !== undefined && !(output instanceof Uint8Array)) {
      throw new ValidationError("INVALID_ATTEMPT_RESULT", `invalid outcome output ${describeValue(output)}: expected a Uint8Array`, {
        details: { field: "output", value: describeValue(output) },
      });
    }
    const hasOutput = output !== undefined && output.length > 0;
    if ((result === "success" || result === "suspended") && error !== undefined) {
      throw new ValidationError("SUCCESS_WITH_ERROR", `a ${result} outcome cannot carry an error (got ${describeValue(error)})`, {
        details: { result, error },
      });
    }
    if (result === "failure" || result === "timeout") {
      if (error === undefined) {
        throw new ValidationError("NON_SUCCESS_WITHOUT_ERROR", `a ${result} outcome needs an error message`, { details: { result } });
      }
      if (hasOutput) {
        throw new ValidationError("NON_SUCCESS_WITH_OUTPUT", `a ${result} outcome cannot carry output`, { details: { result } });
      }
      return { result, error: requireMessage(result, error) };
    }
    if (hasOutput) return { result, output };
    return result === "success" ? SUCCESS : SUSPENDED;
  },
} as const;

/**
 * Checks an outcome built by hand (a literal rather than a factory): the same
 * rules as {@link AttemptOutcome.fromParts}, plus "output is never empty" (use
 * the factories, which normalise empty output to none). Throws a `ValidationError`.
 */
export function validateAttemptOutcome(outcome: AttemptOutcome): void {
  const normalised = AttemptOutcome.fromParts(outcome.result, outcome.error, outcome.output);
  if (outcome.output !== undefined && normalised.output === undefined) {
    throw new ValidationError("INVALID_ATTEMPT_RESULT", "invalid outcome output Uint8Array(0): empty output must be omitted", {
      details: { field: "output", value: "Uint8Array(0)" },
    });
  }
}

/**
 * The attempt number that counts against `maxAttempts`: attempts started minus
 * those that ended suspended (suspension is preemption, not failure).
 */
export function countedAttempts(attemptCount: number, suspendedAttempts: number): number {
  return Math.max(0, attemptCount - suspendedAttempts);
}
