/**
 * Budgets: per-task allocations of tokens, cost or time, consumed by attempts.
 * Validation factories for these types live beside them.
 */

/** What a budget measures. `costCents` is in hundredths of a cent; `timeMs` in milliseconds. */
export type BudgetDimension = "token" | "costCents" | "timeMs";
/** Every budget dimension, in order. */
export const BUDGET_DIMENSIONS: readonly BudgetDimension[] = ["token", "costCents", "timeMs"];

/** A limit on one dimension; `limit` ≥ 1. */
export interface BudgetAllocation {
  readonly dimension: BudgetDimension;
  readonly limit: number;
}

/** An amount consumed on one dimension; `amount` ≥ 0. */
export interface BudgetConsumption {
  readonly dimension: BudgetDimension;
  readonly amount: number;
}
