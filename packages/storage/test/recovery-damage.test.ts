import { appendFileSync, cpSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTaskSpec } from "@actionqueue/core";
import type { UnsequencedCommand } from "@actionqueue/core";
import { encodeEvent, openStorage, openStorageReadOnly, repairWal, scanWal, verifyWal } from "@actionqueue/storage";
import { Commands, removeDir, submit, submitBatch, tempDir } from "./helpers.js";

let dataDir: string;
let c: Commands;
beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

const walDir = (): string => join(dataDir, "wal");
const segment = (): string => join(walDir(), readdirSync(walDir()).sort().at(-1)!);

async function writeTasks(count: number): Promise<void> {
  const store = await openStorage({ dataDir, clock: c.clock });
  for (let i = 0; i < count; i++) await submit(store.authority, c.taskCreate());
  await store.close();
}

function recordOffsets(): number[] {
  const offsets: number[] = [];
  scanWal(walDir(), { onRecord: (r) => offsets.push(r.offset) });
  return offsets;
}

describe("recovery from damage (openStorage)", () => {
  it("removes a torn final record by itself and reports file, offset and bytes", async () => {
    await writeTasks(4);
    const offsets = recordOffsets();
    const size = statSync(segment()).size;
    truncateSync(segment(), size - 5);
    const store = await openStorage({ dataDir, clock: c.clock });
    expect(store.recoveryReport.truncations).toEqual([
      { file: segment(), offset: offsets[3], bytesRemoved: size - 5 - offsets[3]!, kind: "incomplete_payload", deletedFile: false },
    ]);
    expect(store.authority.latestSequence()).toBe(3);
    expect((await submit(store.authority, c.taskCreate())).sequence).toBe(4);
    await store.close();
  });

  it("keeps going after a zero-filled tail (the WAL's preallocated free space): nothing removed", async () => {
    await writeTasks(2);
    appendFileSync(segment(), Buffer.alloc(8192));
    const store = await openStorage({ dataDir, clock: c.clock });
    expect(store.recoveryReport.truncations).toEqual([]);
    expect(store.authority.latestSequence()).toBe(2);
    expect((await submit(store.authority, c.taskCreate())).sequence).toBe(3);
    await store.close();
    const reopened = await openStorage({ dataDir, clock: c.clock });
    expect(reopened.authority.latestSequence()).toBe(3);
    await reopened.close();
  });

  it("drops an incomplete batch whole", async () => {
    const store = await openStorage({ dataDir, clock: c.clock });
    const task = c.taskCreate();
    await submit(store.authority, c.taskCreate());
    await submitBatch(store.authority, [task, c.runCreate(task.taskSpec.id), c.runCreate(task.taskSpec.id)]);
    await store.close();
    const offsets = recordOffsets();
    truncateSync(segment(), statSync(segment()).size - 1);
    const again = await openStorage({ dataDir, clock: c.clock });
    expect(again.recoveryReport.truncations[0]).toMatchObject({ offset: offsets[1], kind: "incomplete_payload" });
    expect(again.authority.latestSequence()).toBe(1);
    expect(again.projection.getTask(task.taskSpec.id)).toBeUndefined();
    await again.close();
  });

  it("checksum mismatch in the final record: strict refuses with file and offset; truncatePartial drops it and says so", async () => {
    await writeTasks(3);
    const offsets = recordOffsets();
    const bytes = readFileSync(segment());
    bytes[offsets[2]! + 30]! ^= 0x01;
    writeFileSync(segment(), bytes);
    await expect(openStorage({ dataDir, clock: c.clock })).rejects.toThrow(`${segment()} at offset ${offsets[2]}: checksum_mismatch`);
    // Plain `wal repair` refuses it as well: the hint names the flag that drops it.
    const hint = `(CLI: actionqueue wal repair --truncate-partial) to drop its ${bytes.length - offsets[2]!} bytes`;
    await expect(openStorage({ dataDir, clock: c.clock })).rejects.toThrow(hint);
    expect(() => repairWal(walDir())).toThrow(hint);
    expect(readFileSync(segment())).toEqual(bytes);
    const store = await openStorage({ dataDir, clock: c.clock, repair: "truncatePartial" });
    expect(store.recoveryReport.truncations[0]).toMatchObject({ offset: offsets[2], kind: "checksum_mismatch" });
    expect(store.authority.latestSequence()).toBe(2);
    await store.close();
  });

  it("a flipped bit mid-file is always an error, never silent loss", async () => {
    await writeTasks(6);
    const offsets = recordOffsets();
    const bytes = readFileSync(segment());
    bytes[offsets[2]! + 25]! ^= 0x80;
    writeFileSync(segment(), bytes);
    for (const repair of ["strict", "truncatePartial"] as const) {
      await expect(openStorage({ dataDir, clock: c.clock, repair })).rejects.toMatchObject({ code: "WAL_CORRUPT", details: { offset: offsets[2] } });
    }
    const report = verifyWal(walDir());
    expect(report.findings[0]).toMatchObject({ kind: "checksum_mismatch", repair: "none" });
    expect(report.opensCleanly).toBe(false);
    expect(readFileSync(segment())).toEqual(bytes);
  });

  it("refuses a WAL written by the Rust ActionQueue with a clear message", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(walDir(), { recursive: true });
    const payload = Buffer.from([1, 0, 0, 0, 0]);
    const header = Buffer.alloc(12);
    header.writeUInt32LE(5, 0);
    header.writeUInt32LE(payload.length, 4);
    header.writeUInt32LE(crc32(payload), 8);
    writeFileSync(join(walDir(), "actionqueue.wal"), Buffer.concat([header, payload]));
    await expect(openStorage({ dataDir, clock: c.clock })).rejects.toMatchObject({ code: "WAL_FOREIGN_FORMAT" });
    await expect(openStorage({ dataDir, clock: c.clock })).rejects.toThrow(/looks like a WAL written by the Rust ActionQueue/);
  });

  it("read-only open reads up to a torn tail, reports it, and changes nothing", async () => {
    await writeTasks(3);
    const size = statSync(segment()).size;
    truncateSync(segment(), size - 2);
    const before = readFileSync(segment());
    const ro = openStorageReadOnly({ dataDir });
    expect(ro.latestSequence).toBe(2);
    expect(ro.findings[0]).toMatchObject({ kind: "incomplete_payload", repair: "automatic" });
    expect(readFileSync(segment())).toEqual(before);
  });

  it("refuses a snapshot that is ahead of a non-empty WAL", async () => {
    const store = await openStorage({ dataDir, clock: c.clock });
    for (let i = 0; i < 3; i++) await submit(store.authority, c.taskCreate());
    await store.writeSnapshot();
    await store.close();
    // Lose the last two records behind the snapshot's back.
    const offsets = recordOffsets();
    truncateSync(segment(), offsets[1]);
    await expect(openStorage({ dataDir, clock: c.clock })).rejects.toThrow(/covers sequence 3 but the WAL ends at 1/);
  });
});

describe("a torn final record newer than the snapshot (openStorage)", () => {
  // Recovery from a snapshot walks the records it covers without checksumming
  // them. A write cut short inside the last record's sequence field leaves a
  // small number there (offset 13 keeps only its low byte), which looks like
  // a covered record out of order: it must still be taken for the torn tail
  // it is, the same at every offset a sector boundary can fall on.
  const SNAPSHOT_AT = 300;
  const BEFORE_PADDING = 305;
  const LAST_PAYLOAD = 600;

  const taskWithPayload = (bytes: number): UnsequencedCommand & { kind: "taskCreate" } => ({
    kind: "taskCreate",
    timestamp: c.clock.now(),
    taskSpec: createTaskSpec({ id: c.ids.taskId(), runPolicy: { kind: "once" }, payload: new Uint8Array(bytes).fill(0x5a) }),
  });

  /** A task whose frame is exactly `frameBytes` long: at least that of a 200-byte payload, and under 512 more (the payload's length prefix keeps its two bytes). */
  function padding(frameBytes: number, sequence: number): UnsequencedCommand {
    const base = 20 + encodeEvent({ ...taskWithPayload(200), sequence }).length;
    const command = taskWithPayload(200 + frameBytes - base);
    expect(20 + encodeEvent({ ...command, sequence }).length).toBe(frameBytes);
    return command;
  }

  it("removes it by itself wherever in the frame the zeros start, and keeps every record before it", async () => {
    const base = join(dataDir, "base");
    const store = await openStorage({ dataDir: base, clock: c.clock });
    for (let i = 0; i < SNAPSHOT_AT; i++) await submit(store.authority, c.taskCreate(), "deferred");
    expect((await store.writeSnapshot()).sequence).toBe(SNAPSHOT_AT);
    for (let i = SNAPSHOT_AT; i < BEFORE_PADDING; i++) await submit(store.authority, c.taskCreate());
    await store.close();
    const baseEnd = scanWal(join(base, "wal")).segments.at(-1)!.validEnd;
    const last = BEFORE_PADDING + 2;
    // The torn sequence must look covered by the snapshot for the case that matters most.
    expect(last % 256).toBeLessThan(SNAPSHOT_AT);

    const headerOffsets = Array.from({ length: 20 }, (_, k) => k);
    for (const k of [...headerOffsets, 20, 21, 33, 300, 20 + LAST_PAYLOAD - 1]) {
      const dir = join(dataDir, `torn-at-${k}`);
      cpSync(base, dir, { recursive: true });
      // Pad so the last frame starts k bytes before a sector boundary: a write cut short there leaves its first k bytes.
      const minPadding = 20 + encodeEvent({ ...taskWithPayload(200), sequence: BEFORE_PADDING + 1 }).length;
      const frameStart = Math.ceil((baseEnd + minPadding + k) / 512) * 512 - k;
      const writing = await openStorage({ dataDir: dir, clock: c.clock });
      await submit(writing.authority, padding(frameStart - baseEnd, BEFORE_PADDING + 1));
      const lastTask = taskWithPayload(LAST_PAYLOAD);
      await submit(writing.authority, lastTask);
      await writing.close();
      const file = join(dir, "wal", readdirSync(join(dir, "wal")).sort().at(-1)!);
      const image = readFileSync(file);
      // A clean close cut the segment back to its data: the last frame ends the file.
      expect(image.length).toBeGreaterThan(frameStart + 20 + LAST_PAYLOAD);
      expect(image.readUInt32LE(frameStart + 12)).toBe(last);
      // The write was cut short at the boundary; preallocated zeros lie beyond it.
      writeFileSync(file, Buffer.concat([image.fill(0, frameStart + k), Buffer.alloc(4096)]));
      const size = statSync(file).size;

      // Zeros from the frame's first byte on are free space, not damage: nothing to remove.
      const truncations = k === 0 ? [] : [{ file, offset: frameStart, bytesRemoved: size - frameStart, kind: expect.any(String), deletedFile: false }];
      const verified = verifyWal(join(dir, "wal"));
      expect(verified.opensCleanly, `zeros from frame byte ${k}`).toBe(true);
      if (k > 0) expect(verified.findings[0], `zeros from frame byte ${k}`).toMatchObject({ offset: frameStart, truncateAt: frameStart, repair: "automatic" });
      const readOnly = openStorageReadOnly({ dataDir: dir });
      expect(readOnly.latestSequence).toBe(last - 1);
      expect(readOnly.findings.map((f) => f.repair)).toEqual(k === 0 ? [] : ["automatic"]);

      const reopened = await openStorage({ dataDir: dir, clock: c.clock }).catch((error: unknown) => {
        throw new Error(`zeros from byte ${k} of the last frame: ${(error as Error).message}`);
      });
      expect(reopened.recoveryReport.snapshot?.sequence).toBe(SNAPSHOT_AT);
      expect(reopened.recoveryReport.truncations).toEqual(truncations);
      expect(reopened.recoveryReport.walRecordsReplayed).toBe(last - 1 - SNAPSHOT_AT);
      expect(reopened.authority.latestSequence()).toBe(last - 1);
      expect(reopened.projection.taskCount).toBe(last - 1);
      expect(reopened.projection.getTask(lastTask.taskSpec.id)).toBeUndefined();
      expect((await submit(reopened.authority, c.taskCreate())).sequence).toBe(last);
      await reopened.close();
      removeDir(dir);
    }
  }, 60_000);
});
