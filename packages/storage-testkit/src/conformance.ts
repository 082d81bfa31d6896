/**
 * The backend conformance suite (contract v1). Each test gets a fresh
 * harness: `open()` creates a backend instance over the harness's underlying
 * store, so reopening after close, or a second writer, can be tested; the
 * suite never looks inside the store (no file damage here: that is
 * file-specific and lives in @actionqueue/storage's own tests).
 */
import { ActionQueueError } from "@actionqueue/core";
import type { StorageBackendV1, StoredEvent } from "@actionqueue/storage";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** One isolated store and a way to open backend instances over it. */
export interface BackendHarness {
  /** A new backend instance over this harness's store (not yet opened). */
  create(): StorageBackendV1;
  /** Removes the store (temp directories, schemas). */
  cleanup?(): Promise<void> | void;
}

/** Creates a fresh harness per test. */
export type BackendFactory = () => Promise<BackendHarness> | BackendHarness;

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const events = (from: number, count: number): StoredEvent[] =>
  Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: bytes(from + i, (from + i) % 251, 7) }));

async function readAll(backend: StorageBackendV1, from = 1): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const event of backend.readEvents(from)) out.push({ sequence: event.sequence, payload: Uint8Array.from(event.payload) });
  return out;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

/**
 * Registers the conformance tests for a backend. `name` titles the describe
 * block; `factory` gives each test a fresh, empty store.
 */
export function registerBackendConformanceTests(name: string, factory: BackendFactory): void {
  describe(`storage backend conformance (v1): ${name}`, () => {
    let harness: BackendHarness;
    const opened: StorageBackendV1[] = [];
    const open = async (): Promise<{ backend: StorageBackendV1; writerEpoch: number; lastSequence: number }> => {
      const backend = harness.create();
      const result = await backend.open();
      opened.push(backend);
      return { backend, ...result };
    };

    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      for (const backend of opened.splice(0)) await backend.close().catch(() => undefined);
      await harness.cleanup?.();
    });

    it("declares specification version v1 and a name", () => {
      const backend = harness.create();
      expect(backend.specificationVersion).toBe("v1");
      expect(backend.name.length).toBeGreaterThan(0);
    });

    it("starts empty", async () => {
      const { backend, lastSequence, writerEpoch } = await open();
      expect(lastSequence).toBe(0);
      expect(Number.isSafeInteger(writerEpoch)).toBe(true);
      expect(await readAll(backend)).toEqual([]);
      expect(await backend.loadSnapshot()).toBeUndefined();
    });

    it("appends and reads back in order, from any sequence", async () => {
      const { backend, writerEpoch } = await open();
      await backend.append(events(1, 3), { durability: "immediate", writerEpoch });
      await backend.append(events(4, 1), { durability: "deferred", writerEpoch });
      expect(await readAll(backend)).toEqual(events(1, 4));
      expect((await readAll(backend, 3)).map((e) => e.sequence)).toEqual([3, 4]);
      expect(await readAll(backend, 9)).toEqual([]);
    });

    it("refuses non-increasing sequences with SEQUENCE_CONFLICT and appends nothing of the batch", async () => {
      const { backend, writerEpoch } = await open();
      await backend.append(events(1, 2), { durability: "immediate", writerEpoch });
      const error = await errorOf(backend.append([...events(3, 1), { sequence: 3, payload: bytes(0) }], { durability: "immediate", writerEpoch }));
      expect(ActionQueueError.hasCode(error, "SEQUENCE_CONFLICT")).toBe(true);
      expect(ActionQueueError.hasCode(await errorOf(backend.append(events(2, 1), { durability: "immediate", writerEpoch })), "SEQUENCE_CONFLICT")).toBe(true);
      expect((await readAll(backend)).map((e) => e.sequence)).toEqual([1, 2]);
      await backend.append(events(3, 1), { durability: "immediate", writerEpoch });
    });

    it("refuses an append carrying a wrong writer epoch", async () => {
      const { backend, writerEpoch } = await open();
      const error = await errorOf(backend.append(events(1, 1), { durability: "immediate", writerEpoch: writerEpoch + 1000 }));
      expect(ActionQueueError.hasCode(error, "STALE_FENCING_TOKEN")).toBe(true);
      expect(await readAll(backend)).toEqual([]);
    });

    it("keeps immediate appends across close and reopen, and continues the sequence", async () => {
      const first = await open();
      await first.backend.append(events(1, 5), { durability: "immediate", writerEpoch: first.writerEpoch });
      await first.backend.close();
      const second = await open();
      expect(second.lastSequence).toBe(5);
      expect(await readAll(second.backend)).toEqual(events(1, 5));
      await second.backend.append(events(6, 1), { durability: "immediate", writerEpoch: second.writerEpoch });
    });

    it("flushes deferred appends on close", async () => {
      const first = await open();
      await first.backend.append(events(1, 3), { durability: "deferred", writerEpoch: first.writerEpoch });
      await first.backend.close();
      const second = await open();
      expect(second.lastSequence).toBe(3);
    });

    it("has one writer: a second writer is refused, or fences the first", async () => {
      const first = await open();
      await first.backend.append(events(1, 1), { durability: "immediate", writerEpoch: first.writerEpoch });
      let second: Awaited<ReturnType<typeof open>> | undefined;
      try {
        second = await open();
      } catch (error) {
        expect(ActionQueueError.hasCode(error, "LOCK_HELD")).toBe(true);
      }
      if (second !== undefined) {
        expect(second.writerEpoch).not.toBe(first.writerEpoch);
        const error = await errorOf(first.backend.append(events(2, 1), { durability: "immediate", writerEpoch: first.writerEpoch }));
        expect(ActionQueueError.hasCode(error, "STALE_FENCING_TOKEN")).toBe(true);
        await second.backend.append(events(2, 1), { durability: "immediate", writerEpoch: second.writerEpoch });
      }
    });

    it("stores snapshots; the newest wins and survives reopen", async () => {
      const first = await open();
      await first.backend.append(events(1, 4), { durability: "immediate", writerEpoch: first.writerEpoch });
      await first.backend.writeSnapshot({ sequence: 2, bytes: bytes(1, 2) });
      await first.backend.writeSnapshot({ sequence: 4, bytes: bytes(3, 4, 5) });
      await first.backend.close();
      const second = await open();
      const snapshot = await second.backend.loadSnapshot();
      expect(snapshot?.sequence).toBe(4);
      expect(Uint8Array.from(snapshot!.bytes)).toEqual(bytes(3, 4, 5));
    });

    it("compaction never touches events after the covered sequence", async () => {
      const { backend, writerEpoch } = await open();
      for (let i = 1; i <= 50; i++) await backend.append(events(i, 1), { durability: "immediate", writerEpoch });
      await backend.writeSnapshot({ sequence: 30, bytes: bytes(30) });
      await backend.compact(30);
      const remaining = await readAll(backend, 31);
      expect(remaining).toEqual(events(31, 20));
      const all = await readAll(backend);
      expect(all.at(-1)?.sequence).toBe(50);
      for (let i = 1; i < all.length; i++) expect(all[i]!.sequence).toBe(all[i - 1]!.sequence + 1);
      await backend.append(events(51, 1), { durability: "immediate", writerEpoch });
    });

    it("rejects appends after close with CLOSED", async () => {
      const { backend, writerEpoch } = await open();
      await backend.close();
      expect(ActionQueueError.hasCode(await errorOf(backend.append(events(1, 1), { durability: "immediate", writerEpoch })), "CLOSED")).toBe(true);
    });

    it("reads back exactly what was appended, for random batches (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 5 }), { maxLength: 8 }), async (batches) => {
          const local = await factory();
          const backend = local.create();
          try {
            const { writerEpoch, lastSequence } = await backend.open();
            let next = lastSequence + 1;
            const expected: StoredEvent[] = [];
            for (const batch of batches) {
              const stored = batch.map((payload) => ({ sequence: next++, payload }));
              expected.push(...stored);
              await backend.append(stored, { durability: "immediate", writerEpoch });
            }
            expect(await readAll(backend)).toEqual(expected.map((e) => ({ sequence: e.sequence, payload: Uint8Array.from(e.payload) })));
          } finally {
            await backend.close();
            await local.cleanup?.();
          }
        }),
        { numRuns: 15 },
      );
    });
  });
}
