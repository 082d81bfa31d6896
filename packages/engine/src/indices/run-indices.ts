/**
 * Simple state indices over a list of runs (filtered copies in input order),
 * as in the Rust `index` module: scheduled (split by due time), ready, running
 * (leased ∪ running) and terminal. For tools and tests; the runtime's hot path
 * uses the heap-based {@link Scheduler} instead of rescanning.
 */
import type { RunState } from "@actionqueue/core";

/** What the indices read of a run. */
export interface IndexedRun {
  readonly state: RunState;
  readonly scheduledAt: number;
}

/** Scheduled runs. */
export class ScheduledIndex<TRun extends IndexedRun> {
  readonly runs: readonly TRun[];
  constructor(runs: Iterable<TRun>) {
    this.runs = [...runs].filter((r) => r.state === "scheduled");
  }
  /** Due at `now` (`scheduledAt <= now`). */
  readyForPromotion(now: number): TRun[] {
    return this.runs.filter((r) => r.scheduledAt <= now);
  }
  /** Not yet due (`scheduledAt > now`). */
  waiting(now: number): TRun[] {
    return this.runs.filter((r) => r.scheduledAt > now);
  }
}

/** Ready runs. */
export class ReadyIndex<TRun extends IndexedRun> {
  readonly runs: readonly TRun[];
  constructor(runs: Iterable<TRun>) {
    this.runs = [...runs].filter((r) => r.state === "ready");
  }
}

/** Leased and running runs. */
export class RunningIndex<TRun extends IndexedRun> {
  readonly runs: readonly TRun[];
  constructor(runs: Iterable<TRun>) {
    this.runs = [...runs].filter((r) => r.state === "leased" || r.state === "running");
  }
  leased(): TRun[] {
    return this.runs.filter((r) => r.state === "leased");
  }
  executing(): TRun[] {
    return this.runs.filter((r) => r.state === "running");
  }
}

/** Completed, failed and canceled runs. */
export class TerminalIndex<TRun extends IndexedRun> {
  readonly runs: readonly TRun[];
  constructor(runs: Iterable<TRun>) {
    this.runs = [...runs].filter((r) => r.state === "completed" || r.state === "failed" || r.state === "canceled");
  }
  completed(): TRun[] {
    return this.runs.filter((r) => r.state === "completed");
  }
  failed(): TRun[] {
    return this.runs.filter((r) => r.state === "failed");
  }
  canceled(): TRun[] {
    return this.runs.filter((r) => r.state === "canceled");
  }
}
