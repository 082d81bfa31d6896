/**
 * The concurrency-key gate: at most one run holds a key at a time. Holds are a
 * function of durable run state ({@link holdsConcurrencyKey}), so the gate can
 * always be rebuilt from the runs after a restart ({@link buildKeyGate}) and
 * every terminal path releases the key, whichever task caused it.
 */
import type { ConcurrencyKeyHoldPolicy, RunId, RunState, TaskId } from "@actionqueue/core";

/** Result of {@link ConcurrencyKeyGate.acquire}. */
export type KeyAcquireResult = { readonly kind: "acquired" } | { readonly kind: "occupied"; readonly holder: RunId };

/** Result of {@link ConcurrencyKeyGate.release}. */
export type KeyReleaseResult = "released" | "notHeld";

const ACQUIRED: KeyAcquireResult = Object.freeze({ kind: "acquired" });

/** Key → holding run. Keys are independent; one run may hold several keys. */
export class ConcurrencyKeyGate {
  readonly #holders = new Map<string, RunId>();

  /** Takes `key` for `runId`: free → acquired; held by `runId` → acquired (re-entrant); held by another → occupied, unchanged. */
  acquire(key: string, runId: RunId): KeyAcquireResult {
    const holder = this.#holders.get(key);
    if (holder === undefined) {
      this.#holders.set(key, runId);
      return ACQUIRED;
    }
    return holder === runId ? ACQUIRED : { kind: "occupied", holder };
  }

  /** Frees `key` if `runId` holds it; otherwise `notHeld` and nothing changes. */
  release(key: string, runId: RunId): KeyReleaseResult {
    if (this.#holders.get(key) !== runId) return "notHeld";
    this.#holders.delete(key);
    return "released";
  }

  /** The run holding `key`, if any. */
  holderOf(key: string): RunId | undefined {
    return this.#holders.get(key);
  }

  /** True when `runId` may take `key` now (free or already its own). */
  canAcquire(key: string, runId: RunId): boolean {
    const holder = this.#holders.get(key);
    return holder === undefined || holder === runId;
  }

  /** Number of held keys. */
  get size(): number {
    return this.#holders.size;
  }

  /** Every `[key, holder]` pair. */
  entries(): IterableIterator<[string, RunId]> {
    return this.#holders.entries();
  }
}

/** What the hold rule reads of a run. */
export interface KeyHoldingRun {
  readonly state: RunState;
  /** Attempts started (suspended included). */
  readonly attemptCount: number;
}

/**
 * Whether a run in this state holds its task's key:
 * - leased and running: always (the key is taken when the run is selected);
 * - retryWait and suspended: only under `holdDuringRetry`;
 * - ready after at least one attempt (back from retryWait, suspension or a
 *   lost lease): only under `holdDuringRetry`, so the retry keeps its place;
 * - scheduled, fresh ready, completed, failed, canceled: never.
 */
export function holdsConcurrencyKey(run: KeyHoldingRun, holdPolicy: ConcurrencyKeyHoldPolicy): boolean {
  switch (run.state) {
    case "leased":
    case "running":
      return true;
    case "retryWait":
    case "suspended":
      return holdPolicy === "holdDuringRetry";
    case "ready":
      return holdPolicy === "holdDuringRetry" && run.attemptCount > 0;
    default:
      return false;
  }
}

/** What a transition does to the run's key. */
export type KeyLifecycleAction = "acquire" | "release" | "none";

/**
 * The key action of `from → to` under a hold policy (derived from
 * {@link holdsConcurrencyKey}). Unlike the Rust original, retryWait → failed or
 * canceled releases under `holdDuringRetry` too.
 */
export function keyLifecycleAction(from: KeyHoldingRun, to: KeyHoldingRun, holdPolicy: ConcurrencyKeyHoldPolicy): KeyLifecycleAction {
  const before = holdsConcurrencyKey(from, holdPolicy);
  const after = holdsConcurrencyKey(to, holdPolicy);
  return before === after ? "none" : after ? "acquire" : "release";
}

/** The key constraints of a task. */
export interface KeyedTask {
  readonly concurrencyKey?: string | undefined;
  readonly concurrencyKeyHoldPolicy: ConcurrencyKeyHoldPolicy;
}

/** A run as {@link buildKeyGate} sees it. */
export interface GateRun extends KeyHoldingRun {
  readonly id: RunId;
  readonly taskId: TaskId;
}

/** A rebuilt gate plus any runs durable state says hold a key another run already holds. */
export interface RebuiltKeyGate {
  readonly gate: ConcurrencyKeyGate;
  readonly conflicts: readonly { readonly key: string; readonly holder: RunId; readonly runId: RunId }[];
}

/**
 * Rebuilds the gate from durable state: every run that holds its key by
 * {@link holdsConcurrencyKey} takes it. Leased and running runs are placed
 * first, so on a (should-not-happen) conflict the active run wins.
 */
export function buildKeyGate(runs: Iterable<GateRun>, constraintsOf: (taskId: TaskId) => KeyedTask | undefined): RebuiltKeyGate {
  const gate = new ConcurrencyKeyGate();
  const conflicts: { key: string; holder: RunId; runId: RunId }[] = [];
  const later: { run: GateRun; key: string }[] = [];
  for (const run of runs) {
    const c = constraintsOf(run.taskId);
    if (c?.concurrencyKey === undefined || !holdsConcurrencyKey(run, c.concurrencyKeyHoldPolicy)) continue;
    if (run.state === "leased" || run.state === "running") take(run, c.concurrencyKey);
    else later.push({ run, key: c.concurrencyKey });
  }
  for (const { run, key } of later) take(run, key);
  return { gate, conflicts };

  function take(run: GateRun, key: string): void {
    const r = gate.acquire(key, run.id);
    if (r.kind === "occupied") conflicts.push({ key, holder: r.holder, runId: run.id });
  }
}
