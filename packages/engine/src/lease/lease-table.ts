/**
 * The engine's view of current leases: one per run, each with its fencing
 * token. Fences heartbeats and finishes from stale holders before they are
 * submitted, and keeps a heap on expiry so "anything expired?" and the next
 * expiry are O(1).
 */
import type { AttemptId, RunId } from "@actionqueue/core";
import { IndexedHeap } from "../internal/indexed-heap.js";
import type { Lease, LeasePolicy } from "./lease.js";
import { StaleFencingTokenError, heartbeatDueAt } from "./lease.js";

interface Slot {
  heapIndex: number;
  lease: Lease;
}

/** Current leases by run. */
export class LeaseTable {
  readonly #slots = new Map<RunId, Slot>();
  readonly #byExpiry = new IndexedHeap<Slot>((a, b) => a.lease.expiresAt < b.lease.expiresAt);

  /** Records a lease that became durable (acquire or heartbeat); replaces the run's previous lease. */
  set(lease: Lease): void {
    const slot = this.#slots.get(lease.runId);
    if (slot === undefined) {
      const s: Slot = { heapIndex: -1, lease };
      this.#slots.set(lease.runId, s);
      this.#byExpiry.push(s);
      return;
    }
    this.#byExpiry.remove(slot);
    slot.lease = lease;
    this.#byExpiry.push(slot);
  }

  /** Forgets the run's lease (released, expired, or the run left leased/running). */
  delete(runId: RunId): void {
    const slot = this.#slots.get(runId);
    if (slot === undefined) return;
    this.#byExpiry.remove(slot);
    this.#slots.delete(runId);
  }

  /** The run's current lease, if any. */
  get(runId: RunId): Lease | undefined {
    return this.#slots.get(runId)?.lease;
  }

  /** Number of leases held. */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Returns the run's lease if `attemptId` is its fencing token; throws
   * {@link StaleFencingTokenError} (`STALE_FENCING_TOKEN`) otherwise.
   */
  assertCurrent(runId: RunId, attemptId: AttemptId): Lease {
    const lease = this.#slots.get(runId)?.lease;
    if (lease?.attemptId !== attemptId) throw new StaleFencingTokenError(runId, attemptId, lease?.attemptId);
    return lease;
  }

  /** Leases expired at `now` (`now >= expiresAt`), earliest first. */
  expired(now: number, out: Lease[] = []): Lease[] {
    const first = this.#byExpiry.peek();
    if (first === undefined || now < first.lease.expiresAt) return out;
    for (const slot of this.#byExpiry.values()) if (now >= slot.lease.expiresAt) out.push(slot.lease);
    return out.sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /** Leases due for a heartbeat at `now` (not yet expired). */
  dueForHeartbeat(now: number, policy: LeasePolicy, out: Lease[] = []): Lease[] {
    for (const slot of this.#slots.values()) {
      const l = slot.lease;
      if (now < l.expiresAt && now >= heartbeatDueAt(l, policy)) out.push(l);
    }
    return out;
  }

  /** The earliest expiry, for the runtime's timer. */
  nextExpiryAt(): number | undefined {
    return this.#byExpiry.peek()?.lease.expiresAt;
  }
}
