/**
 * Budgets: per-task allocations of tokens, cost or time, consumed by attempts.
 * The validating factories live beside the types so every path (API, command
 * shape check, JSON decode) applies the same rules.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { fail, isNonNegativeInt } from "../internal/checks.js";

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

/** True for a member of {@link BUDGET_DIMENSIONS}. */
export function isBudgetDimension(value: unknown): value is BudgetDimension {
  return typeof value === "string" && (BUDGET_DIMENSIONS as readonly string[]).includes(value);
}

/** Throws `INVALID_BUDGET_DIMENSION` unless `value` is a budget dimension. */
export function validateBudgetDimension(value: unknown, field = "dimension"): asserts value is BudgetDimension {
  if (!isBudgetDimension(value)) fail("INVALID_BUDGET_DIMENSION", field, value, '"token", "costCents" or "timeMs"');
}

/**
 * Throws unless `limit` is a budget limit: `ZERO_LIMIT` ("budget limit must be
 * greater than zero") for 0, `INVALID_BUDGET_AMOUNT` for anything that is not
 * a safe integer ≥ 1.
 */
export function validateBudgetLimit(limit: unknown, field = "limit"): asserts limit is number {
  if (limit === 0) {
    throw new ValidationError("ZERO_LIMIT", `invalid ${field} 0: budget limit must be greater than zero`, {
      details: { field, value: 0 },
    });
  }
  if (!isNonNegativeInt(limit)) fail("INVALID_BUDGET_AMOUNT", field, limit, "a safe integer ≥ 1");
}

/** Checks a budget allocation (dimension, then limit); throws as {@link validateBudgetLimit}. */
export function validateBudgetAllocation(allocation: BudgetAllocation): void {
  validateBudgetDimension(allocation.dimension, "allocation.dimension");
  validateBudgetLimit(allocation.limit, "allocation.limit");
}

/** A validated budget allocation; throws `INVALID_BUDGET_DIMENSION` or `ZERO_LIMIT`. */
export function budgetAllocation(dimension: BudgetDimension, limit: number): BudgetAllocation {
  const allocation: BudgetAllocation = { dimension, limit };
  validateBudgetAllocation(allocation);
  return allocation;
}

/** Checks a consumption record: a known dimension and an amount that is a safe integer ≥ 0. */
export function validateBudgetConsumption(consumption: BudgetConsumption): void {
  validateBudgetDimension(consumption.dimension, "consumption.dimension");
  if (!isNonNegativeInt(consumption.amount)) {
    throw new ValidationError(
      "INVALID_BUDGET_AMOUNT",
      `invalid consumption.amount ${describeValue(consumption.amount)}: expected a safe integer ≥ 0`,
      { details: { field: "consumption.amount", value: describeValue(consumption.amount) } },
    );
  }
}

/** A validated consumption record (amount may be 0: an attempt that used nothing). */
export function budgetConsumption(dimension: BudgetDimension, amount: number): BudgetConsumption {
  const consumption: BudgetConsumption = { dimension, amount };
  validateBudgetConsumption(consumption);
  return consumption;
}
