/**
 * Checks of the built-in gates' options, so each refusal names the gate and
 * the option alike (`invalid rateLimit max 0: …`, field `rateLimit.max`).
 */
import { ValidationError, describeValue } from "@actionqueue/core";

/** `value` if it is an integer of at least 1; `INVALID_CONFIG` naming `gate.field` otherwise. */
export function positiveIntegerOption(gate: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError("INVALID_CONFIG", `invalid ${gate} ${field} ${describeValue(value)}: expected an integer of at least 1`, {
      details: { field: `${gate}.${field}`, value: describeValue(value) },
    });
  }
  return value;
}

/** Refuses a `value` that is not a function with `INVALID_CONFIG` naming `gate.field`. */
export function assertFunctionOption(gate: string, field: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new ValidationError("INVALID_CONFIG", `invalid ${gate} ${field} ${describeValue(value)}: expected a function of the run`, {
      details: { field: `${gate}.${field}` },
    });
  }
}
