/**
 * The dispatch loop's bookkeeping for its gates: which runs are held and
 * until when, and when to look at them again. Held runs stay claimed from the
 * scheduler (out of its ready queue, so later runs are not stuck behind them)
 * and are given back, all at once, when a hold may have ended: a hold's time
 * came, a gate was told of a finish, or `recheck()` was called.
 */
import type { RunId } from "@actionqueue/core";
import type { Scheduler, SchedulerRun } from "@actionqueue/engine";
import type { DispatchGate, GateCandidate, GateHold, GateHoldInfo } from "./dispatch-gate.js";

interface Held {
  readonly claim: SchedulerRun;
  readonly info: GateHoldInfo;
}

export class GateKeeper {
  readonly #gates: readonly DispatchGate[];
  readonly #tellFinish: boolean;
  readonly #held = new Map<RunId, Held>();
  /** A hold on every run (see {@link GateHold.all}). */
  #all: GateHoldInfo | undefined;
  #dirty = false;

  constructor(gates: readonly DispatchGate[]) {
    this.#gates = gates;
    this.#tellFinish = gates.some((g) => g.finished !== undefined);
  }

  /** The first hold any gate puts on `run`, with the gate's name; undefined when all admit it. */
  check(run: GateCandidate, now: number): (GateHold & { readonly gate: string }) | undefined {
    for (const gate of this.#gates) {
      const hold = gate.admit(run, now);
      if (hold !== undefined) return { ...hold, gate: gate.name };
    }
    return undefined;
  }

  /** Tells every gate that `run` is being dispatched. */
  dispatched(run: GateCandidate, now: number): void {
    for (const gate of this.#gates) gate.dispatched?.(run, now);
  }

  /** Tells the gates of a finished attempt; a gate that counts finishes may admit held runs now. */
  finished(run: GateCandidate, now: number): void {
    if (!this.#tellFinish) return;
    for (const gate of this.#gates) gate.finished?.(run, now);
    this.#dirty = true;
  }

  /** Keeps a held run claimed until the next look. */
  hold(claim: SchedulerRun, hold: GateHold & { readonly gate: string }): void {
    this.#held.set(claim.id, { claim, info: { gate: hold.gate, reason: hold.reason, until: hold.until } });
  }

  /** Holds every run (the pass stops). */
  holdAll(hold: GateHold & { readonly gate: string }): void {
    this.#all = { gate: hold.gate, reason: hold.reason, until: hold.until };
  }

  /** Asks for a new look at every hold at the next pass. */
  recheck(): void {
    this.#dirty = true;
  }

  /**
   * At the start of a pass: whether the loop may select at all (no hold on
   * every run, or its time came), after giving back every held run when a
   * hold may have ended.
   */
  beginPass(scheduler: Scheduler, now: number): boolean {
    const due = this.#dirty || this.#dueBy(now);
    if (due) {
      this.#dirty = false;
      this.#all = undefined;
      for (const { claim } of this.#held.values()) scheduler.releaseClaim(claim.id);
      this.#held.clear();
    }
    return this.#all === undefined;
  }

  #dueBy(now: number): boolean {
    const all = this.#all;
    if (all !== undefined && all.until !== undefined && all.until <= now) return true;
    for (const { info } of this.#held.values()) if (info.until !== undefined && info.until <= now) return true;
    return false;
  }

  /**
   * The earliest time a hold ends, for the loop's wake timer and its idle
   * check. A hold on every run counts only while runs wait (`readyWaiting`):
   * once the last of them is canceled it holds nothing.
   */
  nextWakeAt(readyWaiting: boolean): number | undefined {
    let at = readyWaiting ? this.#all?.until : undefined;
    for (const { info } of this.#held.values()) if (info.until !== undefined && (at === undefined || info.until < at)) at = info.until;
    return at;
  }

  /** Why `runId` is held, if it is (a run held with every other, or on its own). */
  holdOf(runId: RunId): GateHoldInfo | undefined {
    return this.#held.get(runId)?.info ?? this.#all;
  }

  /**
   * Whether a hold on every run stands (ready runs wait for it, not for a
   * slot). Not while a new look is pending: the next pass may lift it.
   */
  get holdsAll(): boolean {
    return this.#all !== undefined && !this.#dirty;
  }

  /** Whether the next pass gives every held run back for a new look (a recheck, or a finish a gate heard of). */
  get recheckPending(): boolean {
    return this.#dirty;
  }

  /** Forgets a held run whose state changed (canceled): it is no longer the keeper's to give back. */
  drop(runId: RunId): void {
    this.#held.delete(runId);
  }
}
