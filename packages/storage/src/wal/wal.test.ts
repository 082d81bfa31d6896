import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError } from "@actionqueue/core";
import { encodeFrame, FRAME_HEADER_BYTES } from "./frame.js";
import { openWalWriter } from "./open.js";
import type { WalRecord } from "./reader.js";
import { scanWal } from "./reader.js";
import { repairWal, verifyWal } from "./repair.js";
import { SEGMENT_HEADER_BYTES, segmentFileName } from "./segment.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

let dir: string;
let wal: string;
beforeEach(() => {
  dir = makeTempDir();
  wal = join(dir, "wal");
});
afterEach(() => removeDir(dir));

const payload = (n: number): Buffer => Buffer.from(`event-${n}-${"x".repeat(n % 7)}`);

async function writeRecords(count: number, options: { segmentBytes?: number; sequential?: boolean } = {}): Promise<void> {
  const { writer } = await openWalWriter(wal, options);
  if (options.sequential === true) {
    for (let i = 0; i < count; i++) await writer.append(i + 1, payload(i + 1), "immediate");
  } else {
    await Promise.all(Array.from({ length: count }, (_, i) => writer.append(i + 1, payload(i + 1), "immediate")));
  }
  await writer.close();
}

function sequences(): number[] {
  const seen: number[] = [];
  scanWal(wal, { onRecord: (r: WalRecord) => seen.push(r.sequence) });
  return seen;
}

const segmentPath = (first = 1): string => join(wal, segmentFileName(first));

describe("WAL writer and reader", () => {
  it("creates the directory lazily, an empty log has sequence 0", async () => {
    const { writer, scan } = await openWalWriter(wal);
    expect(scan.lastSequence).toBe(0);
    expect(writer.lastSequence).toBe(0);
    expect(readdirSync(wal)).toEqual([]);
    await writer.close();
  });

  it("with nextSequence and no segment, creates the first segment at open, named after it; bad values are refused first", async () => {
    const { writer } = await openWalWriter(wal, { nextSequence: 7 });
    expect(readdirSync(wal)).toEqual(["00000000000000000007.wal"]);
    await writer.append(7, payload(7), "immediate");
    expect(writer.stats.rotations).toBe(0);
    await writer.close();
    expect(sequences()).toEqual([7]);
    // A segment exists now: nextSequence is not needed and creates nothing.
    const reopened = await openWalWriter(wal, { nextSequence: 8 });
    expect(readdirSync(wal)).toEqual(["00000000000000000007.wal"]);
    await reopened.writer.close();
    const other = join(dir, "other-wal");
    for (const bad of [0, -1, 1.5, "3", Number.NaN]) {
      await expect(openWalWriter(other, { nextSequence: bad as number })).rejects.toMatchObject({
        code: "INVALID_FIELD",
        message: expect.stringContaining("invalid nextSequence"),
      });
    }
    expect(existsSync(other)).toBe(false);
  });

  it("appends, reopens at the last sequence and continues", async () => {
    await writeRecords(12);
    const { writer, scan } = await openWalWriter(wal);
    expect(scan.lastSequence).toBe(12);
    await writer.append(15, payload(15), "immediate");
    await writer.close();
    expect(sequences()).toEqual([...Array.from({ length: 12 }, (_, i) => i + 1), 15]);
  });

  it("rejects a non-increasing sequence without writing, and stays usable", async () => {
    const { writer } = await openWalWriter(wal);
    await writer.append(5, payload(5), "immediate");
    await expect(writer.append(3, payload(3), "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT", expected: 6, actual: 3 });
    await expect(writer.append(5, payload(5), "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    await expect(writer.append(0, payload(0), "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    await writer.append(6, payload(6), "immediate");
    await writer.close();
    expect(sequences()).toEqual([5, 6]);
  });

  it("shares one fdatasync between concurrent immediate appends", async () => {
    const { writer } = await openWalWriter(wal);
    const all = Array.from({ length: 500 }, (_, i) => writer.append(i + 1, payload(i), "immediate"));
    expect(new Set(all).size).toBeLessThan(5);
    await Promise.all(all);
    expect(writer.durableSequence).toBe(500);
    expect(writer.stats).toMatchObject({ recordsAppended: 500, appendsRejected: 0 });
    expect(writer.stats.syncs).toBeLessThan(5);
    await writer.close();
  });

  it("deferred appends become durable within the bound and on close", async () => {
    const { writer } = await openWalWriter(wal, { deferredFlushMs: 5 });
    await writer.append(1, payload(1), "deferred");
    const deadline = Date.now() + 2_000;
    while (writer.durableSequence < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(writer.durableSequence).toBe(1);
    await writer.append(2, payload(2), "deferred");
    await writer.close();
    expect(sequences()).toEqual([1, 2]);
  });

  it("rotates segments and reads across them", async () => {
    await writeRecords(300, { segmentBytes: 1024, sequential: true });
    const files = readdirSync(wal).sort();
    expect(files.length).toBeGreaterThan(3);
    expect(sequences()).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const { writer } = await openWalWriter(wal, { segmentBytes: 1024 });
    await writer.append(301, payload(1), "immediate");
    await writer.close();
    expect(sequences().at(-1)).toBe(301);
  });

  it("keeps batches atomic: a torn batch is dropped whole", async () => {
    const { writer } = await openWalWriter(wal);
    await writer.append(1, payload(1), "immediate");
    await writer.appendBatch([1, 2, 3].map((k) => ({ sequence: k + 1, payload: payload(k) })), "immediate");
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3, 4]);
    const size = statSync(segmentPath()).size;
    truncateSync(segmentPath(), size - 3);
    const report = verifyWal(wal);
    expect(report.findings[0]).toMatchObject({ kind: "incomplete_payload", repair: "automatic" });
    const { writer: again, truncations, scan } = await openWalWriter(wal);
    expect(scan.lastSequence).toBe(1);
    expect(truncations[0]!.bytesRemoved).toBeGreaterThan(FRAME_HEADER_BYTES * 2);
    await again.close();
    expect(sequences()).toEqual([1]);
  });

  it("appends a batch encoded back to back like separate records, atomically, and refuses a bad one whole", async () => {
    const { writer } = await openWalWriter(wal);
    await writer.append(1, payload(1), "immediate");
    const parts = [payload(2), payload(3), Buffer.alloc(300, 9)];
    const ends: number[] = [];
    let at = 0;
    for (const p of parts) ends.push((at += p.length));
    await writer.appendEncodedBatch(2, Buffer.concat(parts), ends, "immediate");
    await expect(writer.appendEncodedBatch(4, Buffer.alloc(2), [1, 2], "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3, 4]);
    const payloads: Buffer[] = [];
    scanWal(wal, { onRecord: (r) => payloads.push(Buffer.from(r.payload)) });
    expect(payloads.slice(1)).toEqual(parts);
    const size = statSync(segmentPath()).size;
    truncateSync(segmentPath(), size - 3);
    const { writer: again, scan } = await openWalWriter(wal);
    expect(scan.lastSequence).toBe(1);
    await again.close();
  });

  it.each(["writeThrough", "fdatasync"] as const)("poisons itself after a failed sync (%s): every later call rejects", async (syncMode) => {
    let fail = false;
    const { writer } = await openWalWriter(wal, {
      syncMode,
      faults: {
        beforeSync: () => {
          if (fail) throw new Error("EIO: injected");
        },
      },
    });
    await writer.append(1, payload(1), "immediate");
    fail = true;
    await expect(writer.append(2, payload(2), "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
    await expect(writer.append(3, payload(3), "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
    await expect(writer.sync()).rejects.toThrow(/poisoned.*EIO: injected/);
    await writer.close();
  });

  it("refuses a payload over the size cap, naming the size", async () => {
    const { writer } = await openWalWriter(wal);
    await expect(writer.append(1, new Uint8Array(16 * 1024 * 1024 + 1), "immediate")).rejects.toThrow(/16777217 bytes; at most 16777216/);
    expect(writer.stats.appendsRejected).toBe(1);
    await writer.close();
  });

  it("rejects a closed writer", async () => {
    const { writer } = await openWalWriter(wal);
    await writer.close();
    await expect(writer.append(1, payload(1), "immediate")).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("torn tails and damage", () => {
  it("recovers exactly the prefix of complete records for a cut at every byte offset", async () => {
    await writeRecords(6);
    const original = readFileSync(segmentPath());
    const ends: number[] = [];
    scanWal(wal, { onRecord: (r) => ends.push(r.offset + FRAME_HEADER_BYTES + r.payload.length) });
    for (let cut = SEGMENT_HEADER_BYTES; cut <= original.length; cut++) {
      writeFileSync(segmentPath(), original.subarray(0, cut));
      const complete = ends.filter((end) => end <= cut).length;
      const { writer, truncations } = await openWalWriter(wal);
      expect(writer.lastSequence).toBe(complete);
      const atBoundary = cut === SEGMENT_HEADER_BYTES || ends.includes(cut);
      expect(truncations.length).toBe(atBoundary ? 0 : 1);
      await writer.close();
      expect(statSync(segmentPath()).size).toBe(complete === 0 ? SEGMENT_HEADER_BYTES : ends[complete - 1]);
    }
  });

  it("takes zeros after the last record for free space: nothing to repair, appends go there", async () => {
    await writeRecords(3);
    const before = statSync(segmentPath()).size;
    appendFileSync(segmentPath(), Buffer.alloc(4096));
    expect(verifyWal(wal)).toMatchObject({ clean: true, findings: [] });
    const { writer, truncations, scan } = await openWalWriter(wal);
    expect(truncations).toEqual([]);
    expect(scan.segments[0]).toMatchObject({ validEnd: before, bytes: before + 4096 });
    await writer.append(4, payload(4), "immediate");
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3, 4]);
  });

  it("removes zeros after an incomplete batch with the batch", async () => {
    await writeRecords(2);
    const before = statSync(segmentPath()).size;
    const { writer } = await openWalWriter(wal, { preallocate: false });
    await writer.appendBatch([{ sequence: 3, payload: payload(3) }, { sequence: 4, payload: payload(4) }], "immediate");
    await writer.close();
    const bytes = readFileSync(segmentPath());
    const secondFrame = before + FRAME_HEADER_BYTES + payload(3).length;
    bytes.fill(0, secondFrame);
    writeFileSync(segmentPath(), Buffer.concat([bytes, Buffer.alloc(1000)]));
    expect(verifyWal(wal).findings[0]).toMatchObject({ kind: "zero_filled_tail", offset: secondFrame, truncateAt: before, repair: "automatic" });
    const reopened = await openWalWriter(wal);
    expect(reopened.truncations).toMatchObject([{ offset: before, kind: "zero_filled_tail" }]);
    expect(reopened.writer.lastSequence).toBe(2);
    await reopened.writer.close();
    expect(statSync(segmentPath()).size).toBe(before);
  });

  it("zero-fills a final record's bytes: removed as a torn tail", async () => {
    await writeRecords(3);
    const bytes = readFileSync(segmentPath());
    const ends: number[] = [];
    scanWal(wal, { onRecord: (r) => ends.push(r.offset) });
    bytes.fill(0, ends[2]);
    writeFileSync(segmentPath(), bytes);
    const { writer } = await openWalWriter(wal);
    expect(writer.lastSequence).toBe(2);
    await writer.close();
  });

  it("a record out of order among those a snapshot covers is checksummed before it is judged, as verify judges it", async () => {
    await writeRecords(5, { sequential: true });
    const offsets: number[] = [];
    scanWal(wal, { onRecord: (r) => offsets.push(r.offset) });
    const original = readFileSync(segmentPath());
    const covered = { fromSequence: 100, skipCoveredSegments: true };
    // A sound frame repeating sequence 2: a real regression, which nothing may repair.
    writeFileSync(segmentPath(), Buffer.concat([original, encodeFrame(2, 0, payload(2))]));
    const regression = { kind: "sequence_regression", offset: original.length, repair: "none" };
    expect(scanWal(wal, covered).findings).toMatchObject([regression]);
    expect(verifyWal(wal).findings).toMatchObject([regression]);
    await expect(openWalWriter(wal, { ...covered, repair: "truncatePartial" })).rejects.toMatchObject({ code: "WAL_CORRUPT" });
    // The last record with a damaged sequence field (5 read as 1): a damaged final record, not a regression.
    const damaged = Buffer.from(original);
    damaged[offsets[4]! + 12]! ^= 0x04;
    writeFileSync(segmentPath(), damaged);
    const finalRecord = { kind: "checksum_mismatch", offset: offsets[4], repair: "truncatePartial" };
    expect(scanWal(wal, covered).findings).toMatchObject([finalRecord]);
    expect(verifyWal(wal).findings).toMatchObject([finalRecord]);
    const { writer, truncations } = await openWalWriter(wal, { ...covered, repair: "truncatePartial" });
    expect(truncations).toMatchObject([{ offset: offsets[4], kind: "checksum_mismatch" }]);
    expect(writer.lastSequence).toBe(4);
    await writer.close();
  });

  it("checksum mismatch in the final record: strict refuses naming the offset, truncatePartial drops it", async () => {
    await writeRecords(3);
    const offsets: number[] = [];
    scanWal(wal, { onRecord: (r) => offsets.push(r.offset) });
    const bytes = readFileSync(segmentPath());
    bytes[bytes.length - 1]! ^= 0x40;
    writeFileSync(segmentPath(), bytes);
    const error = await openWalWriter(wal).catch((e: unknown) => e);
    expect(ActionQueueError.hasCode(error, "WAL_CORRUPT")).toBe(true);
    expect((error as Error).message).toContain(`${segmentPath()} at offset ${offsets[2]}: checksum_mismatch`);
    expect(readFileSync(segmentPath())).toEqual(bytes);
    const { writer, truncations } = await openWalWriter(wal, { repair: "truncatePartial" });
    expect(truncations[0]).toMatchObject({ offset: offsets[2], kind: "checksum_mismatch" });
    await writer.append(3, payload(3), "immediate");
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3]);
  });

  it("a flipped bit in the final record's length field is not mistaken for a torn tail", async () => {
    await writeRecords(2);
    const offsets: number[] = [];
    scanWal(wal, { onRecord: (r) => offsets.push(r.offset) });
    const bytes = readFileSync(segmentPath());
    bytes[offsets[1]! + 8]! ^= 0x10; // length grows by 16: looks like an incomplete payload
    writeFileSync(segmentPath(), bytes);
    expect(verifyWal(wal).findings[0]).toMatchObject({ kind: "checksum_mismatch", repair: "truncatePartial" });
    await expect(openWalWriter(wal)).rejects.toMatchObject({ code: "WAL_CORRUPT" });
  });

  it("flipped bits mid-file always stop the open, in every mode", async () => {
    await writeRecords(20);
    const original = readFileSync(segmentPath());
    const offsets: number[] = [];
    scanWal(wal, { onRecord: (r) => offsets.push(r.offset) });
    const lastStart = offsets.at(-1)!;
    for (let position = SEGMENT_HEADER_BYTES; position < lastStart; position += 7) {
      const bytes = Buffer.from(original);
      bytes[position]! ^= 1 << position % 8;
      writeFileSync(segmentPath(), bytes);
      const finding = verifyWal(wal).findings[0];
      expect(finding?.repair).toBe("none");
      await expect(openWalWriter(wal, { repair: "truncatePartial" })).rejects.toMatchObject({ code: "WAL_CORRUPT" });
      expect(() => repairWal(wal, { truncatePartial: true })).toThrow(/offset/);
    }
  });

  it("a torn segment header (crash while rotating) is removed", async () => {
    await writeRecords(3);
    writeFileSync(segmentPath(4), Buffer.from("AQTS"));
    const { writer, truncations } = await openWalWriter(wal);
    expect(truncations[0]).toMatchObject({ deletedFile: true, file: segmentPath(4) });
    await writer.append(4, payload(4), "immediate");
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3, 4]);
  });

  it("refuses a Rust-written log with a clear message", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(wal, { recursive: true });
    const body = Buffer.from([0, 1, 2, 3, 4]);
    const header = Buffer.alloc(12);
    header.writeUInt32LE(5, 0);
    header.writeUInt32LE(body.length, 4);
    const { crc32 } = await import("node:zlib");
    header.writeUInt32LE(crc32(body), 8);
    writeFileSync(join(wal, "actionqueue.wal"), Buffer.concat([header, body]));
    await expect(openWalWriter(wal)).rejects.toThrow(/written by the Rust ActionQueue/);
    await expect(openWalWriter(wal)).rejects.toMatchObject({ code: "WAL_FOREIGN_FORMAT" });
  });

  it("detects a Rust frame layout inside a segment-named file", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(wal, { recursive: true });
    const frame = Buffer.alloc(20);
    frame.writeUInt32LE(5, 0);
    frame.writeUInt32LE(100, 4);
    writeFileSync(segmentPath(1), frame);
    expect(verifyWal(wal).findings[0]).toMatchObject({ kind: "foreign_format", repair: "none" });
  });

  it("a frame of a future version is reported as unsupported", async () => {
    await writeRecords(2);
    const bytes = readFileSync(segmentPath());
    const offsets: number[] = [];
    scanWal(wal, { onRecord: (r) => offsets.push(r.offset) });
    bytes[offsets[0]! + 5] = 2;
    writeFileSync(segmentPath(), bytes);
    const finding = verifyWal(wal).findings[0];
    expect(finding).toMatchObject({ kind: "unsupported_version", offset: offsets[0], repair: "none" });
  });

  it("strict open with a trailing partial record reports the exact start of it via verify", async () => {
    await writeRecords(3);
    const size = statSync(segmentPath()).size;
    appendFileSync(segmentPath(), encodeFrame(4, 0, Buffer.from("partial")).subarray(0, 6));
    expect(verifyWal(wal).findings[0]).toMatchObject({ kind: "incomplete_header", offset: size, bytesRemoved: 6, repair: "automatic" });
    expect(verifyWal(wal).opensCleanly).toBe(true);
  });

  it("damage in an earlier segment, with valid records later, is never repaired", async () => {
    await writeRecords(100, { segmentBytes: 512, sequential: true });
    const first = segmentPath(1);
    const bytes = readFileSync(first);
    truncateSync(first, bytes.length - 3);
    expect(verifyWal(wal).findings[0]).toMatchObject({ repair: "none" });
    await expect(openWalWriter(wal)).rejects.toThrow(/not a torn tail/);
  });
});
