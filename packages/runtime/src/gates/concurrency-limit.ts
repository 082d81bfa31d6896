/**
 * A concurrency-limit gate: at most `max` attempts in flight per key (a task
 * name, a tenant), below the queue's own `concurrency`. Where a concurrency
 * key allows one run at a time, this allows `max`. Counted in memory from the
 * dispatches it admitted; a restart begins with nothing in flight, as the
 * queue does.
 */
import { assertFunctionOption, positiveIntegerOption } from "./gate-options.js";
import type { DispatchGate, GateCandidate, GateHold } from "./dispatch-gate.js";

/** Options of {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /** Attempts in flight allowed per key, ≥ 1. */
  readonly max: number;
  /** The key of a run (e.g. `(run) => run.task.name`); `undefined`: not limited. */
  readonly by: (run: GateCandidate) => string | undefined;
  /** The gate's name in `explain()` (default `concurrencyLimit`). */
  readonly name?: string;
}

/**
 * A gate that keeps at most `max` attempts per key in flight. Pass it in
 * `ActionQueue.open({ gates: [concurrencyLimit({ max: 2, by: (run) => run.task.name })] })`.
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): DispatchGate {
  const max = positiveIntegerOption("concurrencyLimit", "max", options.max);
  const by = options.by;
  assertFunctionOption("concurrencyLimit", "by", by);
  const name = options.name ?? "concurrencyLimit";
  const inFlight = new Map<string, number>();

  return {
    name,
    admit(run: GateCandidate): GateHold | undefined {
      const key = by(run);
      if (key === undefined || (inFlight.get(key) ?? 0) < max) return undefined;
      return { reason: `${max} attempt(s) of ${JSON.stringify(key)} already in flight` };
    },
    dispatched(run: GateCandidate): void {
      const key = by(run);
      if (key !== undefined) inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    },
    finished(run: GateCandidate): void {
      const key = by(run);
      if (key === undefined) return;
      const n = (inFlight.get(key) ?? 0) - 1;
      if (n > 0) inFlight.set(key, n);
      else inFlight.delete(key);
    },
  };
}
