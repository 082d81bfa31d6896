/**
 * The storage backend contract, version 1: the few coarse operations the
 * engine needs from a durable log, so the local WAL directory, an in-memory
 * store and (later) PostgreSQL are interchangeable and pass one conformance
 * suite (@actionqueue/storage-testkit).
 *
 * Events cross the contract already encoded (sequence + payload bytes), so a
 * backend never needs to understand them. Every append carries the writer
 * epoch (a fencing token): a backend that lets a new writer take over must
 * refuse appends from a deposed one. The file backend's lock makes the epoch
 * constant; the contract carries it from the start anyway.
 */
import type { DurabilityPolicy } from "@actionqueue/core";

/** One encoded event. */
export interface StoredEvent {
  /** Strictly increasing across the log. */
  readonly sequence: number;
  /** The encoded event (see `encodeEvent`). */
  readonly payload: Uint8Array;
}

/** One encoded snapshot. */
export interface StoredSnapshot {
  /** The last event sequence the snapshot covers. */
  readonly sequence: number;
  /** The encoded snapshot (see `encodeSnapshot`). */
  readonly bytes: Uint8Array;
}

/** What {@link StorageBackendV1.open} returns. */
export interface BackendOpenResult {
  /** This writer's fencing token; pass it to every append. */
  readonly writerEpoch: number;
  /** Sequence of the last durable event, 0 for an empty log. */
  readonly lastSequence: number;
}

/** Options of {@link StorageBackendV1.append}. */
export interface AppendOptions {
  /** `immediate`: resolve once durable; `deferred`: durable within the backend's bounded delay. */
  readonly durability: DurabilityPolicy;
  /** The epoch {@link StorageBackendV1.open} returned. */
  readonly writerEpoch: number;
}

/** A storage backend, contract version 1. */
export interface StorageBackendV1 {
  /** Contract version; a new incompatible contract gets a new value. */
  readonly specificationVersion: "v1";
  /** Short name for messages (`file`, `memory`, `postgres`). */
  readonly name: string;
  /**
   * Becomes the single writer. Throws `LOCK_HELD` if another writer holds the
   * log and the backend cannot fence it; a backend that can take over instead
   * bumps the epoch so the previous writer's appends fail.
   */
  open(): Promise<BackendOpenResult>;
  /**
   * Appends events as one atomic unit (after a crash, all or none). Sequences
   * must strictly increase and follow the last one; otherwise rejects with
   * `SEQUENCE_CONFLICT` and appends nothing. Rejects with
   * `STALE_FENCING_TOKEN` when `writerEpoch` is not the current epoch,
   * `CLOSED` after close, `AUTHORITY_POISONED` after an I/O failure.
   */
  append(events: readonly StoredEvent[], options: AppendOptions): Promise<void>;
  /** Events with `sequence >= fromSequence`, ascending. */
  readEvents(fromSequence: number): AsyncIterable<StoredEvent>;
  /** Stores a snapshot atomically; the newest one is what {@link loadSnapshot} returns. */
  writeSnapshot(snapshot: StoredSnapshot): Promise<void>;
  /** The newest stored snapshot, or undefined. */
  loadSnapshot(): Promise<StoredSnapshot | undefined>;
  /**
   * Allows the backend to drop events with `sequence <= upToSequence` (a
   * durable snapshot covers them). Events after it are never affected; a
   * backend may keep more than asked.
   */
  compact(upToSequence: number): Promise<void>;
  /** Makes everything durable and releases the writer role. Idempotent. */
  close(): Promise<void>;
}
