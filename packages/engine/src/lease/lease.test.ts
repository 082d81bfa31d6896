import { ActionQueueError, createIdFactory, ManualClock } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import {
  acquireLeaseSlot,
  buildLeaseAcquire,
  buildLeaseExpire,
  buildLeaseHeartbeat,
  buildLeaseRelease,
  createLeasePolicy,
  isLeaseExpired,
  needsHeartbeat,
} from "./lease.js";
import type { Lease } from "./lease.js";
import { LeaseTable } from "./lease-table.js";

const ids = createIdFactory(new ManualClock());
const lease = (expiresAt: number, o: Partial<Lease> = {}): Lease => ({ runId: ids.runId(), owner: "runtime", attemptId: ids.attemptId(), expiresAt, ...o });

describe("lease slot", () => {
  it("empty slot acquires; same run AlreadyLeased; other run WrongRunSlot; per-run", () => {
    const a = lease(10);
    const b = lease(10);
    expect(acquireLeaseSlot(undefined, a)).toEqual({ kind: "acquired", lease: a });
    expect(acquireLeaseSlot(a, { ...a, expiresAt: 20 })).toEqual({ kind: "alreadyLeased", lease: a });
    expect(acquireLeaseSlot(a, b)).toEqual({ kind: "wrongRunSlot", requested: b.runId, existing: a.runId });
    expect(acquireLeaseSlot(undefined, b).kind).toBe("acquired");
  });
});

describe("lease expiry", () => {
  it("expired at equality, active 1 s before; 0 and MAX boundaries; owner and run irrelevant; deterministic", () => {
    const l = lease(10_000);
    expect(isLeaseExpired(l, 9_000)).toBe(false);
    expect(isLeaseExpired(l, 10_000)).toBe(true);
    expect(isLeaseExpired(l, 10_001)).toBe(true);
    expect(isLeaseExpired(lease(0), 0)).toBe(true);
    expect(isLeaseExpired(lease(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER - 1)).toBe(false);
    expect(isLeaseExpired(lease(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isLeaseExpired(lease(10_000, { owner: "other" }), 10_000)).toBe(isLeaseExpired(l, 10_000));
    expect([1, 2, 3].map(() => isLeaseExpired(l, 9_999))).toEqual([false, false, false]);
  });
  it("heartbeat is due one interval after the last renewal and never moves expiry back", () => {
    const policy = createLeasePolicy(30_000, 10_000);
    const l = lease(130_000); // renewed at 100 000
    expect(needsHeartbeat(l, 109_999, policy)).toBe(false);
    expect(needsHeartbeat(l, 110_000, policy)).toBe(true);
    expect(needsHeartbeat(l, 130_000, policy)).toBe(false);
    expect(buildLeaseHeartbeat(l, 5, 110_000, policy).expiresAt).toBe(140_000);
    expect(buildLeaseHeartbeat(l, 5, 1, policy).expiresAt).toBe(130_000);
    expect(() => createLeasePolicy(100, 100)).toThrow(/heartbeatIntervalMs/);
    expect(createLeasePolicy(300_000).heartbeatIntervalMs).toBe(100_000);
  });
  it("builds acquire / heartbeat / expire / release carrying owner, expiry and the fencing token", () => {
    const policy = createLeasePolicy(60_000);
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const acquire = buildLeaseAcquire({ sequence: 3, runId, attemptId, now: 1_000, policy });
    expect(acquire).toEqual({ kind: "leaseAcquire", sequence: 3, timestamp: 1_000, runId, owner: "runtime", expiresAt: 61_000, attemptId });
    const l: Lease = { runId, owner: acquire.owner, attemptId, expiresAt: acquire.expiresAt };
    expect(buildLeaseHeartbeat(l, 4, 30_000, policy)).toMatchObject({ kind: "leaseHeartbeat", attemptId, expiresAt: 90_000 });
    expect(buildLeaseExpire(l, 5, 61_000)).toEqual({ kind: "leaseExpire", sequence: 5, timestamp: 61_000, runId, owner: "runtime", expiresAt: 61_000 });
    expect(buildLeaseRelease(l, 6, 2_000)).toMatchObject({ kind: "leaseRelease", owner: "runtime", expiresAt: 61_000 });
  });
});

describe("lease table and fencing", () => {
  it("a stale holder is refused; expiry and heartbeats are found", () => {
    const table = new LeaseTable();
    const first = lease(1_000);
    table.set(first);
    const second = { ...first, attemptId: ids.attemptId(), expiresAt: 2_000 };
    table.set(second);
    expect(table.assertCurrent(first.runId, second.attemptId)).toBe(second);
    let err: unknown;
    try {
      table.assertCurrent(first.runId, first.attemptId);
    } catch (e) {
      err = e;
    }
    expect(ActionQueueError.hasCode(err, "STALE_FENCING_TOKEN")).toBe(true);
    expect(() => table.assertCurrent(ids.runId(), first.attemptId)).toThrow(/holds no lease/);
    const other = lease(1_500);
    table.set(other);
    expect(table.nextExpiryAt()).toBe(1_500);
    expect(table.expired(1_499)).toEqual([]);
    expect(table.expired(2_000)).toEqual([other, second]);
    expect(table.dueForHeartbeat(1_400, createLeasePolicy(1_000, 500)).map((l) => l.runId)).toEqual([other.runId]);
    expect(table.dueForHeartbeat(1_600, createLeasePolicy(1_000, 500)).map((l) => l.runId)).toEqual([first.runId]);
    table.delete(other.runId);
    expect(table.size).toBe(1);
    expect(table.nextExpiryAt()).toBe(2_000);
  });
});

describe("manual clock at the boundary", () => {
  it("reaches exactly MAX_SAFE_INTEGER by advance and by set", () => {
    const a = new ManualClock({ startMs: Number.MAX_SAFE_INTEGER - 5 });
    a.advance(5);
    expect(a.now()).toBe(Number.MAX_SAFE_INTEGER);
    const b = new ManualClock({ startMs: 0 });
    b.set(Number.MAX_SAFE_INTEGER);
    expect(b.now()).toBe(Number.MAX_SAFE_INTEGER);
    expect(isLeaseExpired(lease(Number.MAX_SAFE_INTEGER), b.now())).toBe(true);
  });
});
