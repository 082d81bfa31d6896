/**
 * Reading command-line values: files, JSON given inline or as `@FILE`,
 * bounded integers and ids. Every reader throws an input error (exit 3) that
 * names the flag and the value, and none of them touches the data directory.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseRunId, parseTaskId } from "@actionqueue/core";
import type { RunId, TaskId } from "@actionqueue/core";
import { CliError, labelled } from "./cli-error.js";

/** Reads a whole file named on the command line; `FILE_UNREADABLE` names the flag, the path and why. */
export function readInputFile(path: string, label: string, cwd: string): Buffer {
  if (path === "") throw new CliError("FILE_UNREADABLE", `${label} "": expected a file path`);
  const absolute = resolve(cwd, path);
  try {
    return readFileSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (error as Error).message;
    throw new CliError("FILE_UNREADABLE", `${label} ${JSON.stringify(path)}: cannot read ${absolute}: ${why}`, { cause: error });
  }
}

/** Parses JSON text; `INVALID_JSON` names the source and the parser's complaint. */
export function parseJsonText(text: string, label: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError("INVALID_JSON", `${label}: invalid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A JSON value given inline (`'{"maxAttempts":3}'`) or as `@FILE` (read
 * relative to `cwd`). The label in errors includes the file when there is one.
 */
export function readJsonArgument(value: string, flag: string, cwd: string): { readonly value: unknown; readonly label: string } {
  if (value.startsWith("@")) {
    const path = value.slice(1);
    const label = `${flag} ${JSON.stringify(value)}`;
    const text = readInputFile(path, flag, cwd).toString("utf8");
    return { value: parseJsonText(text, label), label };
  }
  return { value: parseJsonText(value, `${flag} ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`), label: flag };
}

/** Parses a whole number in `[min, max]`; `INVALID_OPTION` names the flag and value. */
export function parseIntegerOption(text: string, flag: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = /^\+?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError("INVALID_OPTION", `${flag} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Parses a task id argument (`INVALID_ID`, exit 3, naming the value; prefixed with `label`, e.g. a flag, when given). */
export function taskIdArgument(text: string, label?: string): TaskId {
  return label === undefined ? parseTaskId(text) : labelled(label, () => parseTaskId(text));
}

/** Parses a run id argument (`INVALID_ID`, exit 3, naming the value; prefixed with `label` when given). */
export function runIdArgument(text: string, label?: string): RunId {
  return label === undefined ? parseRunId(text) : labelled(label, () => parseRunId(text));
}
