/**
 * Human durations for the CLI and the HTTP API: `250ms`, `60s`, `5m`, `1h`,
 * `2d`; a bare number means seconds. Everything inside is milliseconds.
 */
import { ValidationError, describeValue } from "@actionqueue/core";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a human duration into whole milliseconds, from 1 to
 * `Number.MAX_SAFE_INTEGER`. `field` names the input in the error
 * (`INVALID_DURATION`), e.g. `--run-policy interval`.
 */
export function parseDuration(text: string, field = "duration"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) {
    throw new ValidationError(
      "INVALID_DURATION",
      `${field} ${describeValue(text)}: expected a duration such as 250ms, 60s, 5m or 1h (a bare number means seconds)`,
      { details: { field, value: text } },
    );
  }
  const amount = Number(match[1]);
  const unit = (match[2] ?? "s").toLowerCase();
  const ms = amount * (UNIT_MS[unit] ?? 1_000);
  // Checked before the whole-number rule: a huge value is never a safe
  // integer, and "at least 1ms" would send the user the wrong way.
  if (ms > Number.MAX_SAFE_INTEGER) {
    throw new ValidationError(
      "INVALID_DURATION",
      `${field} ${describeValue(text)}: too large, at most ${Number.MAX_SAFE_INTEGER}ms`,
      { details: { field, value: text } },
    );
  }
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new ValidationError(
      "INVALID_DURATION",
      `${field} ${describeValue(text)}: must be a whole number of milliseconds of at least 1ms`,
      { details: { field, value: text } },
    );
  }
  return ms;
}

/** Formats milliseconds for people: `250ms`, `1.5s`, `5m`, `2h`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}
