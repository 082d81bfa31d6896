/**
 * The textual run policy of the CLI: `once`, `repeat:COUNT:INTERVAL`,
 * `cron:EXPR`. Errors quote the whole input and say which part is wrong.
 */
import type { RunPolicy } from "@actionqueue/core";
import { ActionQueueError, ValidationError, cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import { parseDuration } from "./duration.js";

/** Parses `once`, `repeat:COUNT:INTERVAL` or `cron:EXPR` into a validated RunPolicy. */
export function parseRunPolicyText(text: string, field = "--run-policy"): RunPolicy {
  const quoted = JSON.stringify(text);
  if (text === "once") return oncePolicy();
  if (text.startsWith("repeat:")) {
    const parts = text.split(":");
    if (parts.length !== 3) {
      throw new ValidationError("INVALID_RUN_POLICY", `${field} ${quoted}: expected repeat:COUNT:INTERVAL, e.g. repeat:5:60s`, {
        details: { field, value: text },
      });
    }
    const countText = parts[1] ?? "";
    if (!/^\d+$/.test(countText)) {
      throw new ValidationError("INVALID_REPEAT_COUNT", `${field} ${quoted}: count ${JSON.stringify(countText)} must be a whole number of at least 1`, {
        details: { field, value: text },
      });
    }
    const count = Number(countText);
    if (count < 1) {
      throw new ValidationError("INVALID_REPEAT_COUNT", `${field} ${quoted}: count must be at least 1`, { details: { field, value: text } });
    }
    const intervalMs = parseDuration(parts[2] ?? "", `${field} ${quoted} interval`);
    try {
      return repeatPolicy(count, intervalMs);
    } catch (cause) {
      if (ActionQueueError.is(cause)) {
        throw new ValidationError(cause.code, `${field} ${quoted}: ${cause.message}`, { details: { field, value: text }, cause });
      }
      throw cause;
    }
  }
  if (text.startsWith("cron:")) {
    const expression = text.slice("cron:".length).trim();
    try {
      return cronPolicy(expression);
    } catch (cause) {
      if (ActionQueueError.is(cause)) {
        throw new ValidationError(cause.code, `${field} ${quoted}: ${cause.message}`, { details: { field, value: text }, cause });
      }
      throw cause;
    }
  }
  throw new ValidationError("INVALID_RUN_POLICY", `${field} ${quoted}: expected once, repeat:COUNT:INTERVAL or cron:EXPR`, {
    details: { field, value: text },
  });
}

/** The textual form of a policy (inverse of {@link parseRunPolicyText} up to duration formatting). */
export function formatRunPolicy(policy: RunPolicy): string {
  switch (policy.kind) {
    case "once":
      return "once";
    case "repeat":
      return `repeat:${policy.count}:${policy.intervalMs}ms`;
    case "cron":
      return `cron:${policy.expression}`;
  }
}
