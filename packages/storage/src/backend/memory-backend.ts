/**
 * The in-memory backend: a {@link StorageBackendV1} for tests and examples.
 * Several backend instances may share one {@link MemoryLogStore}, which then
 * behaves like a shared database: each `open()` takes over the writer role
 * and bumps the epoch, so a deposed writer's appends are refused, exactly as
 * the PostgreSQL backend will do with its writer lease.
 */
import { SequenceConflictError, StorageError } from "@actionqueue/core";
import type { AppendOptions, BackendOpenResult, StorageBackendV1, StoredEvent, StoredSnapshot } from "./backend.js";

/** The shared state of in-memory backends ("the database"). */
export class MemoryLogStore {
  /** Durable events, ascending. */
  readonly events: StoredEvent[] = [];
  /** Newest snapshot. */
  snapshot: StoredSnapshot | undefined;
  /** Current writer epoch (0: nobody has opened yet). */
  epoch = 0;
  /** Highest sequence ever appended (survives compaction). */
  lastSequence = 0;
}

/** Creates an in-memory backend over `store` (a fresh one by default). */
export function createMemoryBackend(store: MemoryLogStore = new MemoryLogStore()): StorageBackendV1 {
  let epoch: number | undefined;
  let closed = false;
  const usable = (writerEpoch: number): Error | undefined => {
    if (closed) return new StorageError("CLOSED", "the memory backend is closed");
    if (epoch === undefined) return new StorageError("CLOSED", "the memory backend is not open");
    if (writerEpoch !== store.epoch || epoch !== store.epoch) {
      return new StorageError("STALE_FENCING_TOKEN", `writer epoch ${writerEpoch} is stale; the current epoch is ${store.epoch}`, {
        details: { writerEpoch, currentEpoch: store.epoch },
      });
    }
    return undefined;
  };
  return {
    specificationVersion: "v1",
    name: "memory",
    open(): Promise<BackendOpenResult> {
      store.epoch += 1;
      epoch = store.epoch;
      closed = false;
      return Promise.resolve({ writerEpoch: epoch, lastSequence: store.lastSequence });
    },
    append(events: readonly StoredEvent[], options: AppendOptions): Promise<void> {
      const problem = usable(options.writerEpoch);
      if (problem !== undefined) return Promise.reject(problem);
      let previous = store.lastSequence;
      for (const event of events) {
        if (!Number.isSafeInteger(event.sequence) || event.sequence <= previous) return Promise.reject(new SequenceConflictError(previous + 1, event.sequence));
        previous = event.sequence;
      }
      for (const event of events) store.events.push({ sequence: event.sequence, payload: Uint8Array.from(event.payload) });
      store.lastSequence = previous;
      return Promise.resolve();
    },
    async *readEvents(fromSequence: number): AsyncIterable<StoredEvent> {
      await Promise.resolve();
      for (const event of [...store.events]) if (event.sequence >= fromSequence) yield event;
    },
    writeSnapshot(snapshot: StoredSnapshot): Promise<void> {
      if (closed) return Promise.reject(new StorageError("CLOSED", "the memory backend is closed"));
      store.snapshot = { sequence: snapshot.sequence, bytes: Uint8Array.from(snapshot.bytes) };
      return Promise.resolve();
    },
    loadSnapshot(): Promise<StoredSnapshot | undefined> {
      return Promise.resolve(store.snapshot);
    },
    compact(upToSequence: number): Promise<void> {
      const keep = store.events.filter((e) => e.sequence > upToSequence);
      store.events.length = 0;
      store.events.push(...keep);
      return Promise.resolve();
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
