import { appendFileSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStorage, openStorageReadOnly, scanWal, verifyWal } from "@actionqueue/storage";
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
