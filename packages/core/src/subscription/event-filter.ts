/** Subscription filters: which engine events a subscription waits for. */
import type { TaskId } from "../ids/ids.js";
import type { RunState } from "../run/run-state.js";
import type { BudgetDimension } from "../budget/budget.js";

/** What a subscription matches. */
export type EventFilter =
  | { readonly kind: "taskCompleted"; readonly taskId: TaskId }
  | { readonly kind: "runStateChanged"; readonly taskId: TaskId; readonly state: RunState }
  | { readonly kind: "budgetThreshold"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly thresholdPct: number }
  | { readonly kind: "custom"; readonly key: string };
