import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError } from "@actionqueue/core";
import type { ErrorCode } from "@actionqueue/core";
import { MAX_PAYLOAD_BYTES, frameSize } from "./frame.js";
import { openWalWriter } from "./open.js";
import { scanWal } from "./reader.js";
import { SEGMENT_HEADER_BYTES } from "./segment.js";
import type { WalSyncMode, WalWriter, WalWriterStats } from "./writer.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

// The writer's counters feed the daemon's metrics, so they must agree with
// what is on disk: every accepted record counted once, every refusal counted
// once and nothing else moved by it, every byte written once, and group
// commit visible as far fewer cycles and syncs than records.

let dir: string;
let wal: string;
beforeEach(() => {
  dir = makeTempDir();
  wal = join(dir, "wal");
});
afterEach(() => removeDir(dir));

const modes = ["writeThrough", "fdatasync"] as const satisfies readonly WalSyncMode[];
/** Payloads of varied sizes, so a byte count off by a frame header or a payload shows. */
const payload = (n: number): Buffer => Buffer.alloc(20 + ((n * 37) % 90), n % 251);

/** Sizes of the segment files minus their headers (which the writer does not count). */
function segmentDataBytes(): number {
  return readdirSync(wal).reduce((sum, name) => sum + statSync(join(wal, name)).size - SEGMENT_HEADER_BYTES, 0);
}

/** Bytes of every record frame the reader finds on disk, and the sequences it finds. */
function framesOnDisk(): { bytes: number; sequences: number[] } {
  let bytes = 0;
  const sequences: number[] = [];
  scanWal(wal, {
    onRecord: (r) => {
      bytes += frameSize(r.payload.length);
      sequences.push(r.sequence);
    },
  });
  return { bytes, sequences };
}

/** Every file of the log with its bytes: a refused append must leave them all as they were. */
function walFiles(): Map<string, Buffer> {
  return new Map(readdirSync(wal).map((name) => [name, readFileSync(join(wal, name))]));
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the call resolved"),
    (error: unknown) => error,
  );
}

describe.each(modes)("WAL writer counters (%s)", (syncMode) => {
  it("200 concurrent immediate appends: 200 records, a few shared cycles and syncs, and bytesWritten equal to the frames on disk", async () => {
    const { writer } = await openWalWriter(wal, { syncMode, nextSequence: 1 });
    const expectedBytes = range(1, 200).reduce((sum, n) => sum + frameSize(payload(n).length), 0);
    await Promise.all(range(1, 200).map((n) => writer.append(n, payload(n), "immediate")));
    const stats = writer.stats;
    expect(stats).toMatchObject({ recordsAppended: 200, appendsRejected: 0, bytesWritten: expectedBytes, rotations: 0 });
    expect(writer.durableSequence).toBe(200);
    // Group commit: one turn's appends share a handful of cycles (writeThrough starts one
    // at 8 KiB pending and seals the next), each made durable by one sync.
    expect(stats.writeCycles).toBeGreaterThanOrEqual(1);
    expect(stats.writeCycles).toBeLessThanOrEqual(4);
    expect(stats.syncs).toBe(stats.writeCycles);
    // Closing has nothing left to write: no cycle, no sync, no byte more.
    await writer.close();
    expect(writer.stats).toEqual(stats);
    const onDisk = framesOnDisk();
    expect(onDisk.sequences).toEqual(range(1, 200));
    expect(onDisk.bytes).toBe(stats.bytesWritten);
    expect(segmentDataBytes()).toBe(stats.bytesWritten);
  });

  it("a fresh log's first segment, made by its first write, is not counted as a rotation", async () => {
    // Without nextSequence the first segment is created when the first cycle writes.
    const { writer } = await openWalWriter(wal, { syncMode, segmentBytes: 2048 });
    await Promise.all(range(1, 5).map((n) => writer.append(n, payload(n), "immediate")));
    expect(readdirSync(wal)).toHaveLength(1);
    expect(writer.stats.rotations).toBe(0);
    // Filling it and going on: each further segment is one rotation.
    await Promise.all(range(6, 40).map((n) => writer.append(n, payload(n), "immediate")));
    await writer.append(46, payload(46), "immediate");
    await writer.close();
    expect(writer.stats.rotations).toBe(readdirSync(wal).length - 1);
    expect(writer.stats.rotations).toBeGreaterThan(0);
  });

  it("over several turns and rotations, bytesWritten stays the sum of the segments' data bytes", async () => {
    // Small segments: each later turn finds the segment full and rotates before writing.
    const { writer } = await openWalWriter(wal, { syncMode, segmentBytes: 2048, nextSequence: 1 });
    let next = 1;
    for (let round = 0; round < 6; round++) {
      await Promise.all(range(next, 40).map((n) => writer.append(n, payload(n), "immediate")));
      next += 40;
    }
    await writer.close();
    const stats = writer.stats;
    expect(stats.recordsAppended).toBe(240);
    expect(stats.rotations).toBe(5);
    expect(readdirSync(wal)).toHaveLength(6);
    expect(stats.writeCycles).toBeLessThanOrEqual(6 * 4);
    expect(stats.syncs).toBe(stats.writeCycles);
    const onDisk = framesOnDisk();
    expect(onDisk.sequences).toEqual(range(1, 240));
    expect(onDisk.bytes).toBe(stats.bytesWritten);
    expect(segmentDataBytes()).toBe(stats.bytesWritten);
  });

  it("each refused append counts once in appendsRejected, changes nothing else, and refuses the same way again", async () => {
    const { writer } = await openWalWriter(wal, { syncMode });
    await Promise.all(range(1, 3).map((n) => writer.append(n, payload(n), "immediate")));
    const tooLarge = new Uint8Array(MAX_PAYLOAD_BYTES + 1);
    const refusals: { readonly name: string; readonly call: () => Promise<void>; readonly code: ErrorCode }[] = [
      { name: "a repeated sequence", call: () => writer.append(3, payload(3), "immediate"), code: "SEQUENCE_CONFLICT" },
      { name: "an older sequence", call: () => writer.append(1, payload(1), "deferred"), code: "SEQUENCE_CONFLICT" },
      { name: "sequence 0", call: () => writer.append(0, payload(0), "immediate"), code: "SEQUENCE_CONFLICT" },
      { name: "a fractional sequence", call: () => writer.append(4.5, payload(4), "immediate"), code: "SEQUENCE_CONFLICT" },
      { name: "a payload over the cap", call: () => writer.append(4, tooLarge, "immediate"), code: "INVALID_PAYLOAD" },
    ];
    const files = walFiles();
    for (const refusal of refusals) {
      const before = writer.stats;
      const first = await rejectionOf(refusal.call());
      const second = await rejectionOf(refusal.call());
      expect(ActionQueueError.hasCode(first, refusal.code), refusal.name).toBe(true);
      expect(second, refusal.name).toMatchObject({ code: refusal.code, message: (first as Error).message });
      expect(writer.stats, refusal.name).toEqual({ ...before, appendsRejected: before.appendsRejected + 2 });
      expect(writer.lastSequence, refusal.name).toBe(3);
      expect(writer.durableSequence, refusal.name).toBe(3);
    }
    expect(walFiles()).toEqual(files);
    // Nothing was taken by the refusals: sequence 4 is still the next one.
    await writer.append(4, payload(4), "immediate");
    expect(writer.stats).toMatchObject({ recordsAppended: 4, appendsRejected: 2 * refusals.length });

    await writer.close();
    const closed = writer.stats;
    const afterClose = walFiles();
    const first = await rejectionOf(writer.append(5, payload(5), "immediate"));
    const second = await rejectionOf(writer.append(5, payload(5), "immediate"));
    expect(ActionQueueError.hasCode(first, "CLOSED")).toBe(true);
    expect(second).toMatchObject({ code: "CLOSED", message: (first as Error).message });
    expect(writer.stats).toEqual({ ...closed, appendsRejected: closed.appendsRejected + 2 });
    expect(writer.lastSequence).toBe(4);
    expect(walFiles()).toEqual(afterClose);
    expect(framesOnDisk().sequences).toEqual([1, 2, 3, 4]);
  });

  it("a refused batch counts each of its records once and writes none of them", async () => {
    const { writer } = await openWalWriter(wal, { syncMode });
    await writer.append(1, payload(1), "immediate");
    const files = walFiles();
    const before = writer.stats;
    // The third record goes back: the whole batch is refused, its first two records included.
    const batch = [2, 3, 3].map((sequence) => ({ sequence, payload: payload(sequence) }));
    await expect(writer.appendBatch(batch, "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    expect(writer.stats).toEqual({ ...before, appendsRejected: 3 });
    await expect(writer.appendEncodedBatch(1, Buffer.alloc(4), [2, 4], "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    expect(writer.stats).toEqual({ ...before, appendsRejected: 5 });
    expect(writer.lastSequence).toBe(1);
    expect(walFiles()).toEqual(files);
    await writer.appendBatch([2, 3].map((sequence) => ({ sequence, payload: payload(sequence) })), "immediate");
    expect(writer.stats).toMatchObject({ recordsAppended: 3, appendsRejected: 5 });
    await writer.close();
    expect(framesOnDisk().sequences).toEqual([1, 2, 3]);
  });

  describe.each(["beforeWrite", "beforeSync"] as const)("poisoned by a failure %s", (hook) => {
    /** A writer with records 1..3 durable whose next write cycle fails at `hook`. */
    async function poisonedWriter(): Promise<{ writer: WalWriter; failing: Promise<unknown>; durable: WalWriterStats }> {
      let fail = false;
      const { writer } = await openWalWriter(wal, {
        syncMode,
        faults: {
          [hook]: () => {
            if (fail) throw new Error("EIO: injected");
          },
        },
      });
      await Promise.all(range(1, 3).map((n) => writer.append(n, payload(n), "immediate")));
      const durable = writer.stats;
      fail = true;
      const failing = rejectionOf(writer.append(4, payload(4), "immediate"));
      return { writer, failing, durable };
    }

    it("every later append is refused with the one AUTHORITY_POISONED error, counted, and nothing more is written", async () => {
      const { writer, failing, durable } = await poisonedWriter();
      const poison = await failing;
      expect(ActionQueueError.hasCode(poison, "AUTHORITY_POISONED")).toBe(true);
      expect(writer.poisonedBy).toBe(poison);
      expect((poison as Error).message).toMatch(/poisoned.*EIO: injected/);
      // Record 4 was accepted before its cycle failed; it never became durable. Its bytes
      // reached the file only when the failure came after the write (an fdatasync).
      const poisoned = writer.stats;
      const written = hook === "beforeSync" && syncMode === "fdatasync";
      expect(poisoned).toEqual({
        ...durable,
        recordsAppended: 4,
        bytesWritten: durable.bytesWritten + (written ? frameSize(payload(4).length) : 0),
        writeCycles: durable.writeCycles + (written ? 1 : 0),
      });
      expect(writer.durableSequence).toBe(3);
      const files = walFiles();
      // Whatever the call, a valid next sequence or not: the same error, counted once per record.
      const calls: (() => Promise<void>)[] = [
        () => writer.append(5, payload(5), "immediate"),
        () => writer.append(5, payload(5), "deferred"),
        () => writer.append(2, payload(2), "immediate"),
        () => writer.append(6, new Uint8Array(MAX_PAYLOAD_BYTES + 1), "immediate"),
        () => writer.appendBatch([{ sequence: 5, payload: payload(5) }], "immediate"),
        () => writer.appendEncodedBatch(5, Buffer.alloc(2), [1, 2], "immediate"),
      ];
      const records = [1, 1, 1, 1, 1, 2];
      let rejected = 0;
      for (let i = 0; i < calls.length; i++) {
        for (let repeat = 0; repeat < 2; repeat++) {
          expect(await rejectionOf(calls[i]!())).toBe(poison);
          rejected += records[i]!;
          expect(writer.stats).toEqual({ ...poisoned, appendsRejected: rejected });
        }
      }
      await expect(writer.sync()).rejects.toBe(poison);
      expect(writer.lastSequence).toBe(4);
      expect(walFiles()).toEqual(files);
      // Closing a poisoned writer does not heal it: appends still get the poison, not CLOSED.
      await writer.close();
      expect(await rejectionOf(writer.append(5, payload(5), "immediate"))).toBe(poison);
      expect(writer.stats).toEqual({ ...poisoned, appendsRejected: rejected + 1 });
      expect(walFiles()).toEqual(files);
    });

    it("appends joining the failing cycle, made while it runs, or made after it all get the same error; each is counted once", async () => {
      const { writer, failing } = await poisonedWriter();
      // Same turn as record 4: they join its cycle and share its fate.
      const joined = range(5, 10).map((n) => rejectionOf(writer.append(n, payload(n), "immediate")));
      // The cycle has started now. Only an fdatasync failing after the write leaves it in
      // flight: these are then accepted and fail with it; otherwise it failed as it
      // started, and they are refused.
      await new Promise((resolve) => setImmediate(resolve));
      const inFlight = hook === "beforeSync" && syncMode === "fdatasync";
      expect(writer.poisonedBy === undefined).toBe(inFlight);
      const during = range(15, 10).map((n) => rejectionOf(writer.append(n, payload(n), "immediate")));
      const poison = await failing;
      const after = range(25, 10).map((n) => rejectionOf(writer.append(n, payload(n), "immediate")));
      for (const error of await Promise.all([...joined, ...during, ...after])) expect(error).toBe(poison);
      expect(writer.stats).toMatchObject({ recordsAppended: inFlight ? 24 : 14, appendsRejected: inFlight ? 10 : 20 });
      await writer.close();
      expect(framesOnDisk().sequences.slice(0, 3)).toEqual([1, 2, 3]);
    });
  });

  it("a cycle failing within a turn of 300 appends: each is either accepted or refused, all get the poison, and only what came before was written", async () => {
    let fail = false;
    const { writer } = await openWalWriter(wal, {
      syncMode,
      faults: {
        beforeWrite: () => {
          if (fail) throw new Error("EIO: injected");
        },
      },
    });
    await writer.append(1, payload(1), "immediate");
    fail = true;
    // 300 frames of about 85 B: in writeThrough mode the first cycle starts (and fails)
    // once 8 KiB are pending, in the middle of this loop, and later appends are refused;
    // in fdatasync mode the cycle waits for the end of the turn and all fail with it.
    const results = range(2, 300).map((n) => rejectionOf(writer.append(n, payload(n), "immediate")));
    const errors = await Promise.all(results);
    const poison = writer.poisonedBy;
    expect(poison?.code).toBe("AUTHORITY_POISONED");
    for (const error of errors) expect(error).toBe(poison);
    const stats = writer.stats;
    expect(stats.recordsAppended + stats.appendsRejected).toBe(301);
    if (syncMode === "writeThrough") expect(stats.appendsRejected).toBeGreaterThan(0);
    else expect(stats.appendsRejected).toBe(0);
    // The failed cycle wrote nothing: only record 1's frame was ever written.
    expect(stats).toMatchObject({ bytesWritten: frameSize(payload(1).length), writeCycles: 1, syncs: 1 });
    expect(writer.durableSequence).toBe(1);
    await writer.close();
    expect(framesOnDisk().sequences).toEqual([1]);
  });
});
