/**
 * Output formatting: JSON for scripts (bytes as base64, stable two-space
 * layout), plain text for people (aligned key/value blocks and tables), and
 * the one-line error form on stderr.
 */
import { bytesToBase64 } from "@actionqueue/core";
import type { RunPolicy } from "@actionqueue/core";

/**
 * Converts a value into plain JSON data: `Uint8Array` → base64 string,
 * `bigint` → decimal string, `undefined` fields dropped, nested objects and
 * arrays converted recursively.
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map((item: unknown) => (item === undefined ? null : toJsonValue(item)));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined && typeof item !== "function") out[key] = toJsonValue(item);
    }
    return out;
  }
  return value;
}

/** Pretty JSON (two-space indent) with a trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(toJsonValue(value), null, 2)}\n`;
}

/** The error line on stderr: `error: message`, or `{"error":{"code","message"}}` with `--json`. */
export function formatError(report: { readonly code: string; readonly message: string }, json: boolean): string {
  if (json) return `${JSON.stringify({ error: { code: report.code, message: report.message } })}\n`;
  return `error: ${report.message}\n`;
}

/** A warning line on stderr (text mode only). */
export function formatWarning(message: string): string {
  return `warning: ${message}\n`;
}

/** An epoch-millisecond timestamp as ISO-8601 UTC, or `-` when absent. */
export function formatTimestamp(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  return new Date(ms).toISOString();
}

/** Aligned `key  value` lines; entries whose value is `undefined` are skipped. */
export function formatKeyValues(entries: ReadonlyArray<readonly [string, string | number | boolean | undefined]>): string {
  const present = entries.filter((entry): entry is readonly [string, string | number | boolean] => entry[1] !== undefined);
  const width = Math.max(0, ...present.map(([key]) => key.length));
  return present.map(([key, value]) => `${key.padEnd(width)}  ${String(value)}`.trimEnd() + "\n").join("");
}

/**
 * A table with a header row and columns padded to their widest cell; the last
 * column is not padded. An empty table prints `empty` instead.
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty = "(none)"): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((text) => `${text}\n`).join("");
}

/** `n` followed by the noun, pluralised with `s` unless `n` is 1. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

const INTERVAL_UNITS: ReadonlyArray<readonly [string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** Milliseconds in the largest unit that divides them exactly (`1m`, `90s`, `250ms`), so the text parses back to the same value. */
export function formatInterval(ms: number): string {
  for (const [unit, size] of INTERVAL_UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A run policy as the `--run-policy` text that produces it: `once`, `repeat:3:1m`, `cron:0 9 * * 1`. */
export function formatPolicy(policy: RunPolicy): string {
  switch (policy.kind) {
    case "once":
      return "once";
    case "repeat":
      return `repeat:${policy.count}:${formatInterval(policy.intervalMs)}`;
    case "cron":
      return `cron:${policy.expression}`;
  }
}
