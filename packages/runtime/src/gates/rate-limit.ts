/**
 * A rate-limit gate: at most `max` dispatches in any window of `perMs`
 * milliseconds, for the whole queue or per key (a task name, a tenant, a
 * tag). A window is a log of the last `max` dispatch times per key, so the
 * limit holds over any sliding window, not only aligned ones. The count lives
 * in memory: after a restart the windows start empty.
 */
import { assertFunctionOption, positiveIntegerOption } from "./gate-options.js";
import type { DispatchGate, GateCandidate, GateHold } from "./dispatch-gate.js";

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Dispatches allowed per window, ≥ 1. */
  readonly max: number;
  /** The window in milliseconds, ≥ 1. */
  readonly perMs: number;
  /**
   * What is limited: a key per run (e.g. `(run) => run.task.name`). Runs
   * with the key `undefined` are not limited. Default: one limit for every run.
   */
  readonly by?: (run: GateCandidate) => string | undefined;
  /** The gate's name in `explain()` (default `rateLimit`). */
  readonly name?: string;
}

/** The times of the last `max` dispatches of one key, oldest first, in a ring. */
class Window {
  readonly times: number[] = [];
  next = 0;
}

/**
 * A gate that dispatches at most `max` runs per `perMs` ms (per key with
 * `by`). Pass it in `ActionQueue.open({ gates: [rateLimit({ max: 10, perMs: 1_000 })] })`.
 */
export function rateLimit(options: RateLimitOptions): DispatchGate {
  const max = positiveIntegerOption("rateLimit", "max", options.max);
  const perMs = positiveIntegerOption("rateLimit", "perMs", options.perMs);
  const by = options.by;
  if (by !== undefined) assertFunctionOption("rateLimit", "by", by);
  const name = options.name ?? "rateLimit";
  const windows = new Map<string, Window>();
  const keyOf = (run: GateCandidate): string | undefined => (by === undefined ? "" : by(run));

  return {
    name,
    admit(run: GateCandidate, now: number): GateHold | undefined {
      const key = keyOf(run);
      if (key === undefined) return undefined;
      const w = windows.get(key);
      if (w === undefined || w.times.length < max) return undefined;
      // Full: the oldest of the last `max` dispatches decides when the next may go.
      const oldest = w.times[w.next]!;
      if (oldest + perMs <= now) return undefined;
      const scope = by === undefined ? "" : ` for ${JSON.stringify(key)}`;
      return { reason: `rate limit of ${max} per ${perMs} ms reached${scope}`, until: oldest + perMs, all: by === undefined };
    },
    dispatched(run: GateCandidate, now: number): void {
      const key = keyOf(run);
      if (key === undefined) return;
      let w = windows.get(key);
      if (w === undefined) {
        w = new Window();
        windows.set(key, w);
      }
      if (w.times.length < max) w.times.push(now);
      else {
        w.times[w.next] = now;
        w.next = (w.next + 1) % max;
      }
    },
  };
}
