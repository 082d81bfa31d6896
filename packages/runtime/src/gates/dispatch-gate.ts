/**
 * The dispatch loop's extension seam: eligibility gates. A gate sees every run
 * the loop is about to dispatch (ready, its concurrency key acquired, a slot
 * free) and may hold it back, with a reason and, optionally, a time to look
 * again. Rate limits, budgets, dependencies or actor routing plug in here
 * without touching the loop. Gates are synchronous and run inside the loop's
 * turn, so they see a consistent state and never interleave with a dispatch.
 */
import type { RunId, TaskId, TaskSpec } from "@actionqueue/core";

/** The run a gate is asked about. */
export interface GateCandidate {
  readonly runId: RunId;
  readonly taskId: TaskId;
  /** The run's task: its name, payload, constraints and metadata. */
  readonly task: TaskSpec;
}

/** A gate's "not now". */
export interface GateHold {
  /** Why, for `explain()` (e.g. "rate limit of 10 per 1000 ms reached"). */
  readonly reason: string;
  /**
   * When the gate expects to admit it (epoch ms on the queue's clock): the
   * loop looks again then. Absent: it looks again only after a finish the
   * gate is told of ({@link DispatchGate.finished}) or `recheckGates()`.
   */
  readonly until?: number;
  /**
   * The hold applies to every run this gate would see now (a global rate
   * limit): the pass stops here instead of asking about each ready run.
   */
  readonly all?: boolean;
}

/**
 * A dispatch gate. `admit` is asked in selection order; when every gate
 * admits a run, each gate's `dispatched` is told before the run's dispatch is
 * written. A held run stays ready (and keeps its place) until the loop looks
 * again. A gate that throws stops the queue (fail-stop), as a write failure does.
 */
export interface DispatchGate {
  /** Names the gate in `explain()`. */
  readonly name: string;
  /** `undefined` admits the run now; a {@link GateHold} holds it back. */
  admit(run: GateCandidate, now: number): GateHold | undefined;
  /** The run was admitted by every gate and is being dispatched now. */
  dispatched?(run: GateCandidate, now: number): void;
  /** An attempt of a run this gate admitted has finished (for gates that limit runs in flight). */
  finished?(run: GateCandidate, now: number): void;
}

/** Why a ready run is held, as `explain()` reports it. */
export interface GateHoldInfo {
  readonly gate: string;
  readonly reason: string;
  readonly until: number | undefined;
}
