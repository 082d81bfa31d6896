/**
 * Subscription filters: which engine events a subscription waits for. The
 * validator enforces what Rust only asserted in debug builds (threshold 0..100,
 * non-empty custom key), so a bad filter can never reach the log.
 */
import type { TaskId } from "../ids/ids.js";
import { parseTaskId } from "../ids/ids.js";
import type { RunState } from "../run/run-state.js";
import { isRunState } from "../run/run-state.js";
import type { BudgetDimension } from "../budget/budget.js";
import { validateBudgetDimension } from "../budget/budget.js";
import { fail, isIntInRange, requireCanonicalId, requireNonEmpty } from "../internal/checks.js";

/** What a subscription matches. */
export type EventFilter =
  | { readonly kind: "taskCompleted"; readonly taskId: TaskId }
  | { readonly kind: "runStateChanged"; readonly taskId: TaskId; readonly state: RunState }
  | { readonly kind: "budgetThreshold"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly thresholdPct: number }
  | { readonly kind: "custom"; readonly key: string };

/** Every event filter kind, in order. */
export const EVENT_FILTER_KINDS: readonly EventFilter["kind"][] = ["taskCompleted", "runStateChanged", "budgetThreshold", "custom"];

/**
 * Checks an event filter: known kind (`INVALID_EVENT_FILTER`), canonical task
 * id (`INVALID_ID`), a run state, a budget dimension, `thresholdPct` an integer
 * from 0 to 100 (`INVALID_THRESHOLD_PCT`), a non-empty custom key
 * (`EMPTY_CUSTOM_EVENT_KEY`).
 */
export function validateEventFilter(filter: EventFilter): void {
  const f = filter as { kind?: unknown; taskId?: unknown; state?: unknown; dimension?: unknown; thresholdPct?: unknown; key?: unknown };
  switch (f.kind) {
    case "taskCompleted":
      requireCanonicalId(parseTaskId, "filter.taskId", f.taskId);
      return;
    case "runStateChanged":
      requireCanonicalId(parseTaskId, "filter.taskId", f.taskId);
      if (!isRunState(f.state)) fail("INVALID_EVENT_FILTER", "filter.state", f.state, "a run state");
      return;
    case "budgetThreshold":
      requireCanonicalId(parseTaskId, "filter.taskId", f.taskId);
      validateBudgetDimension(f.dimension, "filter.dimension");
      if (!isIntInRange(f.thresholdPct, 0, 100)) {
        fail("INVALID_THRESHOLD_PCT", "filter.thresholdPct", f.thresholdPct, "an integer percentage from 0 to 100");
      }
      return;
    case "custom":
      requireNonEmpty("EMPTY_CUSTOM_EVENT_KEY", "filter.key", f.key);
      return;
    default:
      fail("INVALID_EVENT_FILTER", "filter.kind", f.kind, `one of ${EVENT_FILTER_KINDS.join(", ")}`);
  }
}

/** Validates and returns a filter (a fresh copy holding only its own fields). */
export function eventFilter(filter: EventFilter): EventFilter {
  validateEventFilter(filter);
  return copyEventFilter(filter);
}

/** A fresh copy of a filter holding only the fields of its kind (shared with the JSON codec). */
export function copyEventFilter(filter: EventFilter): EventFilter {
  switch (filter.kind) {
    case "taskCompleted":
      return { kind: filter.kind, taskId: filter.taskId };
    case "runStateChanged":
      return { kind: filter.kind, taskId: filter.taskId, state: filter.state };
    case "budgetThreshold":
      return { kind: filter.kind, taskId: filter.taskId, dimension: filter.dimension, thresholdPct: filter.thresholdPct };
    case "custom":
      return { kind: filter.kind, key: filter.key };
  }
}
