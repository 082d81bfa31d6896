/**
 * Leases: who may run a run until when, and the fencing token (the attempt id)
 * that makes a stale holder's heartbeat or finish refusable. This module
 * builds the lease commands, decides expiry and heartbeats (all in ms), and
 * tracks the current lease of each run so the engine can refuse stale holders
 * before submitting (the storage authority enforces the same on durable state).
 */
import { ActionQueueError, ValidationError, describeValue } from "@actionqueue/core";
import type {
  AttemptId,
  LeaseAcquireCommand,
  LeaseExpireCommand,
  LeaseHeartbeatCommand,
  LeaseReleaseCommand,
  RunId,
} from "@actionqueue/core";

/** A lease on one run. `attemptId` is its fencing token. */
export interface Lease {
  readonly runId: RunId;
  readonly owner: string;
  readonly attemptId: AttemptId;
  /** Epoch ms; the lease is expired from this instant on. */
  readonly expiresAt: number;
}

/** How long leases last and how often they are renewed (ms). */
export interface LeasePolicy {
  readonly leaseMs: number;
  /** Renew when this much time has passed since the last renewal; `< leaseMs`. */
  readonly heartbeatIntervalMs: number;
}

/** 5-minute leases renewed every 100 s (a third of the lease). */
export const DEFAULT_LEASE_POLICY: LeasePolicy = Object.freeze({ leaseMs: 300_000, heartbeatIntervalMs: 100_000 });

/** The owner of every lease taken by an embedded engine. */
export const LOCAL_LEASE_OWNER = "runtime";

/** Builds a validated policy; `heartbeatIntervalMs` defaults to a third of the lease. */
export function createLeasePolicy(leaseMs: number, heartbeatIntervalMs: number = Math.max(1, Math.floor(leaseMs / 3))): LeasePolicy {
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) {
    throw new ValidationError("INVALID_CONFIG", `invalid leaseMs ${describeValue(leaseMs)}: expected whole milliseconds ≥ 1`, {
      details: { field: "leaseMs" },
    });
  }
  if (!Number.isSafeInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 1 || heartbeatIntervalMs >= leaseMs) {
    throw new ValidationError(
      "INVALID_CONFIG",
      `invalid heartbeatIntervalMs ${describeValue(heartbeatIntervalMs)}: expected whole milliseconds from 1 to below leaseMs ${leaseMs}`,
      { details: { field: "heartbeatIntervalMs" } },
    );
  }
  return { leaseMs, heartbeatIntervalMs };
}

/** True when the lease is expired at `now` (`now >= expiresAt`; equality is expired). */
export function isLeaseExpired(lease: Pick<Lease, "expiresAt">, now: number): boolean {
  return now >= lease.expiresAt;
}

/** When the lease should next be renewed: `expiresAt − leaseMs + heartbeatIntervalMs`. */
export function heartbeatDueAt(lease: Pick<Lease, "expiresAt">, policy: LeasePolicy): number {
  return lease.expiresAt - policy.leaseMs + policy.heartbeatIntervalMs;
}

/** True when the lease is still live and due for renewal at `now`. */
export function needsHeartbeat(lease: Pick<Lease, "expiresAt">, now: number, policy: LeasePolicy): boolean {
  return now < lease.expiresAt && now >= heartbeatDueAt(lease, policy);
}

/** Result of {@link acquireLeaseSlot}. */
export type LeaseSlotResult =
  | { readonly kind: "acquired"; readonly lease: Lease }
  | { readonly kind: "alreadyLeased"; readonly lease: Lease }
  | { readonly kind: "wrongRunSlot"; readonly requested: RunId; readonly existing: RunId };

/** Takes a slot: empty → acquired; same run → alreadyLeased (unchanged); another run → wrongRunSlot. */
export function acquireLeaseSlot(current: Lease | undefined, requested: Lease): LeaseSlotResult {
  if (current === undefined) return { kind: "acquired", lease: requested };
  if (current.runId === requested.runId) return { kind: "alreadyLeased", lease: current };
  return { kind: "wrongRunSlot", requested: requested.runId, existing: current.runId };
}

/** A lease command from a holder that no longer holds the lease (its attempt id is not the current one). */
export class StaleFencingTokenError extends ActionQueueError {
  constructor(runId: RunId, attemptId: AttemptId, current: AttemptId | undefined) {
    super(
      "STALE_FENCING_TOKEN",
      current === undefined
        ? `run ${runId}: attempt ${attemptId} holds no lease`
        : `run ${runId}: attempt ${attemptId} is stale; the lease belongs to attempt ${current}`,
      { details: { runId, attemptId, currentAttemptId: current } },
    );
  }
}

/** Arguments of {@link buildLeaseAcquire}. */
export interface LeaseAcquireInput {
  readonly sequence: number;
  readonly runId: RunId;
  readonly attemptId: AttemptId;
  readonly now: number;
  readonly policy: LeasePolicy;
  /** Default {@link LOCAL_LEASE_OWNER}. */
  readonly owner?: string;
}

/** A lease-acquire command for `now + leaseMs`, fenced by `attemptId`. */
export function buildLeaseAcquire(input: LeaseAcquireInput): LeaseAcquireCommand {
  return {
    kind: "leaseAcquire",
    sequence: input.sequence,
    timestamp: input.now,
    runId: input.runId,
    owner: input.owner ?? LOCAL_LEASE_OWNER,
    expiresAt: input.now + input.policy.leaseMs,
    attemptId: input.attemptId,
  };
}

/** A heartbeat extending `lease` to `now + leaseMs` (never backwards). */
export function buildLeaseHeartbeat(lease: Lease, sequence: number, now: number, policy: LeasePolicy): LeaseHeartbeatCommand {
  return {
    kind: "leaseHeartbeat",
    sequence,
    timestamp: now,
    runId: lease.runId,
    owner: lease.owner,
    expiresAt: Math.max(lease.expiresAt, now + policy.leaseMs),
    attemptId: lease.attemptId,
  };
}

/** Records that `lease` ran out (owner and expiry must match the durable lease). */
export function buildLeaseExpire(lease: Lease, sequence: number, now: number): LeaseExpireCommand {
  return { kind: "leaseExpire", sequence, timestamp: now, runId: lease.runId, owner: lease.owner, expiresAt: lease.expiresAt };
}

/** Gives `lease` back (owner and expiry must match the durable lease). */
export function buildLeaseRelease(lease: Lease, sequence: number, now: number): LeaseReleaseCommand {
  return { kind: "leaseRelease", sequence, timestamp: now, runId: lease.runId, owner: lease.owner, expiresAt: lease.expiresAt };
}
