import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/support.js";
import { BUDGET_DIMENSIONS, budgetAllocation, budgetConsumption, isBudgetDimension } from "./budget.js";

describe("budget", () => {
  it("has three dimensions", () => {
    expect(BUDGET_DIMENSIONS).toEqual(["token", "costCents", "timeMs"]);
    expect(isBudgetDimension("Token")).toBe(false);
  });

  it("budgetAllocation validates the limit", () => {
    expect(budgetAllocation("costCents", 1000)).toEqual({ dimension: "costCents", limit: 1000 });
    const error = expectCode(() => budgetAllocation("token", 0), "ZERO_LIMIT");
    expect(error.message).toContain("budget limit must be greater than zero");
    expectCode(() => budgetAllocation("token", -5), "INVALID_BUDGET_AMOUNT");
    expectCode(() => budgetAllocation("token", 1.5), "INVALID_BUDGET_AMOUNT");
    expectCode(() => budgetAllocation("tokens" as never, 5), "INVALID_BUDGET_DIMENSION");
  });

  it("budgetConsumption allows 0 but not negatives or fractions", () => {
    expect(budgetConsumption("token", 500)).toEqual({ dimension: "token", amount: 500 });
    expect(budgetConsumption("timeMs", 0).amount).toBe(0);
    expectCode(() => budgetConsumption("token", -1), "INVALID_BUDGET_AMOUNT");
    expectCode(() => budgetConsumption("token", 0.5), "INVALID_BUDGET_AMOUNT");
  });
});
