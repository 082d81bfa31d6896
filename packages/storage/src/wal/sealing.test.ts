import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWalWriter } from "./open.js";
import { scanWal } from "./reader.js";
import { verifyWal } from "./repair.js";
import type { WalWriter } from "./writer.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

// While a write cycle runs, the backlog is sealed as the next cycle once it
// reaches half of what the last two cycles carried (at least 4 KiB); appends
// after that wait for the cycle after it.

let dir: string;
let wal: string;
beforeEach(() => {
  dir = makeTempDir();
  wal = join(dir, "wal");
});
afterEach(() => removeDir(dir));

const FRAME = 20 + 500;
const record = (n: number): Buffer => Buffer.alloc(500, n % 251);
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts a one-record cycle, then appends `count` records in the same turn, while it runs; returns when each became durable. */
async function appendWhileACycleRuns(writer: WalWriter, count: number): Promise<number[]> {
  void writer.append(writer.lastSequence + 1, record(0), "immediate");
  await nextTurn(); // the one-record cycle is now being written
  const durableAtResolve: number[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const sequence = writer.lastSequence + 1;
      return writer.append(sequence, record(i), "immediate").then(() => {
        durableAtResolve[i] = writer.durableSequence;
      });
    }),
  );
  return durableAtResolve;
}

describe("WAL group commit: sealing the next cycle while one runs", () => {
  it("seals the first 4 KiB of a backlog as the next cycle; their appends resolve before the rest is written", async () => {
    const { writer } = await openWalWriter(wal);
    const durable = await appendWhileACycleRuns(writer, 20);
    // 8 frames of 520 B reach 4 KiB: records 2..9 are the second cycle, 10..21 the third.
    const sealed = Math.ceil(4096 / FRAME);
    expect(writer.stats.writeCycles).toBe(3);
    for (let i = 0; i < sealed; i++) expect(durable[i]).toBe(1 + sealed);
    for (let i = sealed; i < 20; i++) expect(durable[i]).toBe(21);
    await writer.close();
    const seen: number[] = [];
    scanWal(wal, { onRecord: (r) => seen.push(r.sequence) });
    expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it("seals at half of what the last two cycles carried, once that is more than 4 KiB", async () => {
    const { writer } = await openWalWriter(wal);
    // One turn of 40 frames: 16 (the 8 KiB eager start), 8 sealed, 16 more.
    await Promise.all(Array.from({ length: 40 }, (_, i) => writer.append(i + 1, record(i), "immediate")));
    expect(writer.stats.writeCycles).toBe(3);
    // Then a one-frame cycle runs: the last two cycles carried 16 frames and 1, so the
    // backlog is sealed at 4,420 B, 9 frames (above the 4 KiB floor of 8 frames).
    const durable = await appendWhileACycleRuns(writer, 30);
    expect(writer.stats.writeCycles).toBe(6);
    expect(durable[0]).toBe(41 + 9);
    expect(durable[29]).toBe(71);
    await writer.close();
  });

  it("writes a sealed head with the rest when the rest is more than 8 times its size (a burst); waiters still settle in append order", async () => {
    const { writer } = await openWalWriter(wal);
    void writer.append(1, record(0), "immediate");
    await nextTurn();
    // 8 frames are sealed (4 KiB), then 192 more follow in the same turn: ~100 KB, far more than 8 × 4 KiB.
    const order: number[] = [];
    const durable: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        writer.append(i + 2, record(i), i % 3 === 0 ? "deferred" : "immediate").then(() => {
          order.push(i);
          durable[i] = writer.durableSequence;
        }),
      ),
    );
    expect(writer.stats.writeCycles).toBe(2);
    expect(durable.every((d) => d === 201)).toBe(true);
    // Deferred waiters settle when the write returns, immediate ones after: each kind in append order.
    const deferred = order.filter((i) => i % 3 === 0);
    const immediate = order.filter((i) => i % 3 !== 0);
    expect(deferred).toEqual([...deferred].sort((a, b) => a - b));
    expect(immediate).toEqual([...immediate].sort((a, b) => a - b));
    await writer.close();
    expect(verifyWal(wal)).toMatchObject({ clean: true, records: 201 });
  });

  it("never seals a backlog past 64 KiB: after big cycles, a big backlog is written as one cycle", async () => {
    const { writer } = await openWalWriter(wal);
    // One turn of 600 frames (~312 KB): the eager 8 KiB cycle, then the rest as one.
    await Promise.all(Array.from({ length: 600 }, (_, i) => writer.append(i + 1, record(i), "immediate")));
    const before = writer.stats.writeCycles;
    // The last two cycles carried ~304 KB and 1 frame, so the seal point would be ~150 KB:
    // beyond 64 KiB, the 300 frames (~156 KB) appended while one frame is written stay one cycle.
    const durable = await appendWhileACycleRuns(writer, 300);
    expect(writer.stats.writeCycles - before).toBe(2);
    expect(durable.every((d) => d === 901)).toBe(true);
    await writer.close();
    expect(verifyWal(wal)).toMatchObject({ clean: true, records: 901 });
  });

  it("a sync() waits for the records appended after the sealed cycle too", async () => {
    const { writer } = await openWalWriter(wal);
    void writer.append(1, record(1), "immediate");
    await nextTurn();
    const appends = Array.from({ length: 12 }, (_, i) => writer.append(i + 2, record(i), "deferred"));
    await writer.sync();
    expect(writer.durableSequence).toBe(13);
    await Promise.all(appends);
    await writer.close();
  });

  it("names a segment by its first record when a sealed cycle starts it", async () => {
    const { writer } = await openWalWriter(wal, { segmentBytes: 2048 });
    for (let round = 0; round < 4; round++) await appendWhileACycleRuns(writer, 20);
    await writer.close();
    const report = verifyWal(wal);
    expect(report.findings).toEqual([]);
    expect(report.segments.length).toBeGreaterThan(4);
    expect(report.lastSequence).toBe(84);
  });

  // 20 appends: a sealed head and a rest of similar size; 200: a burst written with its sealed head.
  it.each([20, 200])("a failed write rejects the sealed cycle's appends and the rest alike (%i appends)", async (count) => {
    let writes = 0;
    const { writer } = await openWalWriter(wal, {
      faults: {
        beforeWrite: () => {
          if (++writes === 2) throw new Error("EIO: injected");
        },
      },
    });
    void writer.append(1, record(1), "immediate");
    await nextTurn();
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => writer.append(i + 2, record(i), i % 2 === 0 ? "deferred" : "immediate")));
    expect(results.every((r) => r.status === "rejected" && (r.reason as { code?: string }).code === "AUTHORITY_POISONED")).toBe(true);
    await writer.close();
    const seen: number[] = [];
    scanWal(wal, { onRecord: (r) => seen.push(r.sequence) });
    expect(seen).toEqual([1]);
  });

  it("a failed sync of the running cycle rejects a sealed cycle that never started, and the rest", async () => {
    const { writer } = await openWalWriter(wal, {
      syncMode: "fdatasync",
      faults: {
        beforeSync: () => {
          throw new Error("EIO: injected");
        },
      },
    });
    const first = writer.append(1, record(1), "immediate");
    await nextTurn();
    const results = await Promise.allSettled([first, ...Array.from({ length: 20 }, (_, i) => writer.append(i + 2, record(i), "immediate"))]);
    expect(results.map((r) => r.status === "rejected" && (r.reason as { code?: string }).code)).toEqual(Array(21).fill("AUTHORITY_POISONED"));
    expect(writer.stats.writeCycles).toBe(1);
    await writer.close();
  });
});

describe("WAL group commit: a caller's commit boundary", () => {
  const small = (n: number): Buffer => Buffer.alloc(60, n % 251);

  it("starts a cycle at once when none runs: the records so far are written without waiting for the end of the turn", async () => {
    const { writer } = await openWalWriter(wal);
    const first = [writer.append(1, small(1), "immediate"), writer.append(2, small(2), "immediate")];
    writer.commitBoundary();
    // Appended after the boundary in the same turn: the next cycle's.
    const later = writer.append(3, small(3), "immediate");
    await Promise.all(first);
    expect(writer.durableSequence).toBe(2);
    await later;
    expect(writer.stats.writeCycles).toBe(2);
    await writer.close();
  });

  it("seals what was appended while a cycle runs as the next cycle, below the 4 KiB a seal otherwise needs; later appends wait for the one after", async () => {
    const { writer } = await openWalWriter(wal);
    void writer.append(1, small(0), "immediate");
    await nextTurn(); // a one-record cycle is now being written
    const sealed = [2, 3, 4].map((s) => writer.append(s, small(s), "immediate"));
    writer.commitBoundary();
    const after = [5, 6].map((s) => writer.append(s, small(s), "immediate").then(() => writer.durableSequence));
    await Promise.all(sealed);
    expect(writer.durableSequence).toBe(4);
    expect(await Promise.all(after)).toEqual([6, 6]);
    expect(writer.stats.writeCycles).toBe(3);
    await writer.close();
    const seen: number[] = [];
    scanWal(wal, { onRecord: (r) => seen.push(r.sequence) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("does nothing with nothing appended", async () => {
    const { writer } = await openWalWriter(wal);
    writer.commitBoundary();
    expect(writer.stats.writeCycles).toBe(0);
    await writer.close();
  });
});
