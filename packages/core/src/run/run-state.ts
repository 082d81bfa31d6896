/**
 * The nine run states and the one table of legal transitions (17 pairs).
 * Everything not in the table is illegal, self-transitions included.
 */
import { TransitionError } from "../errors/action-queue-error.js";

/** The state of a run. Terminal: completed, failed, canceled. */
export type RunState =
  | "scheduled"
  | "ready"
  | "leased"
  | "running"
  | "retryWait"
  | "suspended"
  | "completed"
  | "failed"
  | "canceled";

/** Every run state in canonical order. */
export const RUN_STATES: readonly RunState[] = [
  "scheduled",
  "ready",
  "leased",
  "running",
  "retryWait",
  "suspended",
  "completed",
  "failed",
  "canceled",
];

/** The terminal states: a run there never changes again. */
export const TERMINAL_STATES: readonly RunState[] = ["completed", "failed", "canceled"];

/** Legal targets of each state, in canonical order. */
export const TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = Object.freeze({
  scheduled: ["ready", "canceled"],
  ready: ["leased", "canceled"],
  leased: ["ready", "running", "canceled"],
  running: ["retryWait", "suspended", "completed", "failed", "canceled"],
  retryWait: ["ready", "failed", "canceled"],
  suspended: ["ready", "canceled"],
  completed: [],
  failed: [],
  canceled: [],
});

/** True for a member of {@link RUN_STATES}. */
export function isRunState(value: unknown): value is RunState {
  return typeof value === "string" && (RUN_STATES as readonly string[]).includes(value);
}

/** True for completed, failed and canceled. */
export function isTerminalState(state: RunState): boolean {
  return state === "completed" || state === "failed" || state === "canceled";
}

/** True when `from → to` is in the transition table. */
export function isValidTransition(from: RunState, to: RunState): boolean {
  // Guard with isRunState: untrusted input such as "constructor" must not reach the prototype.
  return isRunState(from) && TRANSITIONS[from].includes(to);
}

/** Legal targets of `from`, in canonical order (`[]` for terminal states and non-states). */
export function validTransitions(from: RunState): readonly RunState[] {
  return isRunState(from) ? TRANSITIONS[from] : [];
}

/** snake_case display name (`retry_wait`), as operators know it from logs. */
export function displayRunState(state: RunState): string {
  return state === "retryWait" ? "retry_wait" : state;
}

/** A validated transition pair. */
export interface Transition {
  readonly from: RunState;
  readonly to: RunState;
}

/** Builds a legal transition or throws `INVALID_TRANSITION` naming both states. */
export function transition(from: RunState, to: RunState): Transition {
  if (!isValidTransition(from, to)) {
    throw new TransitionError("INVALID_TRANSITION", `invalid run transition ${from} → ${to}`, { details: { from, to } });
  }
  return { from, to };
}
