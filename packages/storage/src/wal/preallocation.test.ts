import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FRAME_HEADER_BYTES } from "./frame.js";
import { openWalWriter } from "./open.js";
import { scanWal } from "./reader.js";
import { verifyWal } from "./repair.js";
import { SEGMENT_HEADER_BYTES, listSegments, segmentFileName } from "./segment.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";
import { openStorage } from "../recovery/open-storage.js";

let dir: string;
let wal: string;
beforeEach(() => {
  dir = makeTempDir();
  wal = join(dir, "wal");
});
afterEach(() => removeDir(dir));

const record = (n: number, bytes = 40): Buffer => Buffer.from(`record-${n}-`.padEnd(bytes, "x"));
const segmentPath = (walDir = wal, first = 1): string => join(walDir, segmentFileName(first));

function sequences(walDir = wal): number[] {
  const seen: number[] = [];
  scanWal(walDir, { onRecord: (r) => seen.push(r.sequence) });
  return seen;
}

/** Where the data ends: the scan's valid end of the last segment. */
function dataEnd(walDir = wal): number {
  return scanWal(walDir).segments.at(-1)!.validEnd;
}

describe("WAL preallocation", () => {
  it("keeps zeros ahead of the data while open, and a clean close cuts them off", async () => {
    const { writer } = await openWalWriter(wal);
    for (let i = 1; i <= 3; i++) await writer.append(i, record(i), "immediate");
    const end = SEGMENT_HEADER_BYTES + 3 * (FRAME_HEADER_BYTES + 40);
    expect(writer.stats.bytesPreallocated).toBeGreaterThanOrEqual(64 * 1024 - SEGMENT_HEADER_BYTES);
    const open = readFileSync(segmentPath());
    expect(open.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(open.subarray(end).every((b) => b === 0)).toBe(true);
    // A reader sees the zeros as free space, not damage.
    expect(verifyWal(wal)).toMatchObject({ clean: true, records: 3 });
    await writer.close();
    expect(statSync(segmentPath()).size).toBe(end);
    expect(sequences()).toEqual([1, 2, 3]);
  });

  it("grows the file with each write when turned off", async () => {
    const { writer } = await openWalWriter(wal, { preallocate: false });
    for (let i = 1; i <= 3; i++) await writer.append(i, record(i), "immediate");
    expect(statSync(segmentPath()).size).toBe(SEGMENT_HEADER_BYTES + 3 * (FRAME_HEADER_BYTES + 40));
    expect(writer.stats.bytesPreallocated).toBe(0);
    await writer.close();
  });

  it("fills ahead in growing chunks while thousands of records are appended, in both sync modes", async () => {
    for (const syncMode of ["writeThrough", "fdatasync"] as const) {
      const walDir = join(dir, syncMode);
      const { writer } = await openWalWriter(walDir, { syncMode });
      let sequence = 0;
      for (let round = 0; round < 40; round++) {
        await Promise.all(Array.from({ length: 250 }, () => writer.append(++sequence, record(sequence, 100), "immediate")));
      }
      const end = SEGMENT_HEADER_BYTES + sequence * (FRAME_HEADER_BYTES + 100);
      expect(dataEnd(walDir)).toBe(end);
      expect(statSync(segmentPath(walDir)).size).toBeGreaterThan(end);
      expect(writer.stats.bytesPreallocated).toBeGreaterThan(end - SEGMENT_HEADER_BYTES);
      await writer.close();
      expect(statSync(segmentPath(walDir)).size).toBe(end);
      expect(sequences(walDir)).toEqual(Array.from({ length: sequence }, (_, i) => i + 1));
    }
  });

  it("fills no further than the segment size, so rotated segments end with their data", async () => {
    const { writer } = await openWalWriter(wal, { segmentBytes: 16 * 1024 });
    for (let i = 1; i <= 600; i++) await writer.append(i, record(i, 100), "immediate");
    const { segments } = listSegments(wal);
    expect(segments.length).toBeGreaterThan(3);
    const scan = scanWal(wal);
    expect(scan.findings).toEqual([]);
    for (const summary of scan.segments.slice(0, -1)) expect(summary.bytes).toBe(summary.validEnd);
    // No segment grows much past the rotation size.
    for (const summary of scan.segments) expect(summary.bytes).toBeLessThanOrEqual(16 * 1024 + FRAME_HEADER_BYTES + 100);
    await writer.close();
    expect(sequences()).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it("cuts back free space it found at open when it rotates (reopened with a smaller segment size)", async () => {
    const { writer } = await openWalWriter(wal);
    for (let i = 1; i <= 30; i++) await writer.append(i, record(i, 100), "immediate");
    const copy = join(dir, "copy");
    cpSync(wal, copy, { recursive: true });
    await writer.close();
    expect(statSync(segmentPath(copy)).size).toBeGreaterThan(16 * 1024);
    const reopened = await openWalWriter(copy, { segmentBytes: 2048 });
    await reopened.writer.append(31, record(31, 100), "immediate");
    const scan = scanWal(copy);
    expect(scan.segments).toHaveLength(2);
    expect(scan.findings).toEqual([]);
    expect(scan.segments[0]!.bytes).toBe(scan.segments[0]!.validEnd);
    await reopened.writer.close();
    expect(sequences(copy)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  });

  it("after a crash (the files as they are while open), reopens with nothing removed and appends into the free space", async () => {
    const { writer } = await openWalWriter(wal);
    for (let i = 1; i <= 5; i++) await writer.append(i, record(i), "immediate");
    const copy = join(dir, "copy");
    cpSync(wal, copy, { recursive: true });
    await writer.close();
    const size = statSync(segmentPath(copy)).size;
    const reopened = await openWalWriter(copy);
    expect(reopened.truncations).toEqual([]);
    expect(reopened.writer.lastSequence).toBe(5);
    await reopened.writer.append(6, record(6), "immediate");
    // Written into the free space: the file did not grow.
    expect(statSync(segmentPath(copy)).size).toBe(size);
    await reopened.writer.close();
    expect(sequences(copy)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("takes a final frame whose bytes turn to zeros at a sector boundary for a write cut short, at every boundary", async () => {
    // The first record ends 8 bytes before a 512-byte boundary, so the second frame's header straddles it.
    const firstPayload = 1024 - 8 - SEGMENT_HEADER_BYTES - FRAME_HEADER_BYTES;
    const { writer } = await openWalWriter(wal);
    await writer.append(1, record(1, firstPayload), "immediate");
    await writer.append(2, record(2, 1500), "immediate");
    const image = readFileSync(segmentPath());
    await writer.close();
    const frameStart = 1024 - 8;
    const frameEnd = frameStart + FRAME_HEADER_BYTES + 1500;
    const boundaries = [1024, 1536, 2048];
    for (const boundary of boundaries) {
      expect(boundary).toBeLessThan(frameEnd);
      const torn = join(dir, `torn-${boundary}`);
      cpSync(wal, torn, { recursive: true });
      writeFileSync(segmentPath(torn), Buffer.from(image).fill(0, boundary));
      const finding = verifyWal(torn).findings[0];
      expect(finding).toMatchObject({ offset: frameStart, repair: "automatic", truncateAt: frameStart });
      expect(finding!.kind).toBe(boundary === 1024 ? "invalid_header" : "checksum_mismatch");
      const reopened = await openWalWriter(torn);
      expect(reopened.truncations).toMatchObject([{ offset: frameStart, deletedFile: false }]);
      expect(reopened.writer.lastSequence).toBe(1);
      await reopened.writer.append(2, record(2), "immediate");
      await reopened.writer.close();
      expect(sequences(torn)).toEqual([1, 2]);
    }
  });

  it("still refuses a flipped bit in the last record of a preallocated segment (not a torn write)", async () => {
    const { writer } = await openWalWriter(wal);
    for (let i = 1; i <= 3; i++) await writer.append(i, record(i, 700), "immediate");
    const image = readFileSync(segmentPath());
    await writer.close();
    const lastStart = SEGMENT_HEADER_BYTES + 2 * (FRAME_HEADER_BYTES + 700);
    image[lastStart + FRAME_HEADER_BYTES + 300]! ^= 0x04;
    writeFileSync(segmentPath(), image);
    expect(verifyWal(wal).findings[0]).toMatchObject({ kind: "checksum_mismatch", offset: lastStart, repair: "truncatePartial" });
    await expect(openWalWriter(wal)).rejects.toMatchObject({ code: "WAL_CORRUPT" });
  });

  it("refuses a preallocate option that is not a boolean, naming it, before touching the disk", async () => {
    await expect(openWalWriter(wal, { preallocate: "yes" as never })).rejects.toMatchObject({
      code: "INVALID_FIELD",
      message: expect.stringContaining('invalid preallocate "yes"'),
    });
    expect(existsSync(wal)).toBe(false);
    const dataDir = join(dir, "data");
    await expect(openStorage({ dataDir, walPreallocate: 1 as never })).rejects.toMatchObject({
      code: "INVALID_FIELD",
      message: expect.stringContaining("invalid walPreallocate 1"),
    });
    expect(existsSync(dataDir)).toBe(false);
  });

  it("holds a write that would reach into a fill still running until the fill is done", async () => {
    const gate: { closed?: Promise<void> } = {};
    let open = (): void => undefined;
    const { writer } = await openWalWriter(wal, { faults: { beforeFill: () => gate.closed } });
    await writer.append(1, record(1), "immediate"); // the first fill (64 KiB) ran before this write
    const allocated = statSync(segmentPath()).size;
    gate.closed = new Promise<void>((resolve) => (open = resolve));
    // Past half of the free space: the next fill starts after this write, and waits at the gate.
    await writer.append(2, record(2, 40_000), "immediate");
    let resolved = false;
    const crossing = writer.append(3, record(3, 30_000), "immediate").then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resolved).toBe(false);
    expect(writer.stats.writeCycles).toBe(2);
    expect(statSync(segmentPath()).size).toBe(allocated);
    open();
    await crossing;
    expect(writer.stats.bytesPreallocated).toBeGreaterThan(allocated);
    await writer.close();
    expect(verifyWal(wal)).toMatchObject({ clean: true, records: 3 });
    expect(sequences()).toEqual([1, 2, 3]);
  });

  it("lets a waiting write go as soon as the fill's first write covers it, while the rest of the fill is held", async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const fillWrites: number[] = [];
    let fillStart: number | undefined;
    const { writer } = await openWalWriter(wal, {
      faults: {
        beforeFill: () => {
          fillStart = undefined;
        },
        // Every fill's first write goes through; the writes after it wait until released.
        beforeFillWrite: (offset) => {
          fillWrites.push(offset);
          fillStart ??= offset;
          return offset === fillStart ? undefined : held;
        },
      },
    });
    // A fresh segment has no free space, and a 600 KB record is more than the
    // first fill would make: it grows the file. The next fill (600 KB, three
    // writes) then starts at the end of the data.
    await writer.append(1, record(1, 600_000), "immediate");
    const end = dataEnd();
    // This one must wait for room: its write comes after the fill's first write, and before the rest.
    await writer.append(2, record(2), "immediate");
    expect(fillWrites[0]).toBe(end);
    expect(fillWrites.length).toBe(2);
    expect(dataEnd()).toBe(end + FRAME_HEADER_BYTES + 40);
    expect(writer.stats.bytesPreallocated).toBe(256 * 1024);
    release();
    await writer.close();
    expect(verifyWal(wal)).toMatchObject({ clean: true, records: 2 });
    expect(sequences()).toEqual([1, 2]);
  });

  it("a failed zero fill turns preallocation off; writes go on growing the file", async () => {
    const { writer } = await openWalWriter(wal, {
      faults: {
        beforeFill: () => {
          throw Object.assign(new Error("ENOSPC: no space left on device (injected)"), { code: "ENOSPC" });
        },
      },
    });
    for (let i = 1; i <= 4; i++) await writer.append(i, record(i), "immediate");
    expect(writer.stats.bytesPreallocated).toBe(0);
    expect(writer.poisonedBy).toBeUndefined();
    expect(statSync(segmentPath()).size).toBe(SEGMENT_HEADER_BYTES + 4 * (FRAME_HEADER_BYTES + 40));
    await writer.close();
    expect(sequences()).toEqual([1, 2, 3, 4]);
  });
});
