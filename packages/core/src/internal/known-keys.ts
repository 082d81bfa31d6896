/**
 * Refusal of keys an input does not know. A misspelt optional field
 * (`constraint`, `maxAttempt`) would otherwise vanish into its default with
 * no error: a task meant to retry three times would run once.
 */
import { ValidationError } from "../errors/action-queue-error.js";

/** The allowed key a mistyped one most likely meant: same letters in another case, or at most two edits away. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return allowed.find((known) => known.toLowerCase() === lower) ?? allowed.find((known) => editDistance(known, key) <= 2);
}

/** Levenshtein distance between two short strings. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Throws `UNKNOWN_FIELD` naming the first own key of `value` that is not in
 * `allowed`, with the key it likely meant. `field` names the object
 * (`"constraints"`; empty for a top-level input).
 */
export function assertKnownKeys(value: object, field: string, allowed: readonly string[]): void {
  // for…in over a small literal is cheaper than Object.keys here (this runs per submission).
  for (const key in value) {
    if (allowed.includes(key) || !Object.hasOwn(value, key)) continue;
    const near = closestKey(key, allowed);
    const path = field === "" ? key : `${field}.${key}`;
    throw new ValidationError(
      "UNKNOWN_FIELD",
      `unknown field ${path}${near === undefined ? "" : ` (did you mean ${field === "" ? near : `${field}.${near}`}?)`}; expected one of ${allowed.join(", ")}`,
      { details: { field: path, allowed, ...(near === undefined ? {} : { suggestion: near }) } },
    );
  }
}
