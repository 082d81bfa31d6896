import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { constants } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWalWriter } from "./open.js";
import type { WalSyncMode, WalWriter } from "./writer.js";
import { DEFAULT_WAL_SYNC_MODE } from "./writer.js";
import { scanWal } from "./reader.js";
import { openStorage } from "../recovery/open-storage.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

let dir: string;
let wal: string;
beforeEach(() => {
  dir = makeTempDir();
  wal = join(dir, "wal");
});
afterEach(() => removeDir(dir));

/** The open flags (from /proc) of this process's descriptors on files under `walDir`. */
function segmentFlags(walDir: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith(walDir)) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const octal = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    if (octal !== undefined) flags.push(parseInt(octal, 8));
  }
  return flags;
}

const onLinux = process.platform === "linux";
const record = (n: number, bytes = 100): Buffer => Buffer.alloc(bytes, n % 251);

async function appendInOneTurn(writer: WalWriter, count: number, bytes: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 1; i <= count; i++) pending.push(writer.append(writer.lastSequence + 1, record(i, bytes), "immediate"));
  await Promise.all(pending);
}

describe("WAL sync modes", () => {
  it("defaults to writeThrough where the platform has O_DSYNC", () => {
    expect(DEFAULT_WAL_SYNC_MODE).toBe(constants.O_DSYNC === undefined ? "fdatasync" : "writeThrough");
  });

  it.runIf(onLinux)("writeThrough opens segments with O_DSYNC, new and reopened; fdatasync does not", async () => {
    const first = await openWalWriter(wal, { syncMode: "writeThrough" });
    await first.writer.append(1, record(1), "immediate");
    expect(first.writer.syncMode).toBe("writeThrough");
    expect(segmentFlags(wal).map((f) => f & constants.O_DSYNC)).toEqual([constants.O_DSYNC]);
    await first.writer.close();

    const reopened = await openWalWriter(wal, { syncMode: "writeThrough" });
    expect(segmentFlags(wal).map((f) => f & constants.O_DSYNC)).toEqual([constants.O_DSYNC]);
    await reopened.writer.close();

    const plain = await openWalWriter(wal, { syncMode: "fdatasync" });
    await plain.writer.append(2, record(2), "immediate");
    expect(segmentFlags(wal).map((f) => f & constants.O_DSYNC)).toEqual([0]);
    await plain.writer.close();
  });

  for (const mode of ["writeThrough", "fdatasync"] as const satisfies readonly WalSyncMode[]) {
    it(`${mode}: immediate and deferred appends are durable, counted and recovered`, async () => {
      const { writer } = await openWalWriter(wal, { syncMode: mode, deferredFlushMs: 5 });
      await writer.append(1, record(1), "immediate");
      expect(writer.durableSequence).toBe(1);
      await writer.append(2, record(2), "deferred");
      await writer.sync();
      expect(writer.durableSequence).toBe(2);
      // One sync per write cycle in either mode (no sync for a cycle that wrote nothing).
      expect(writer.stats.syncs).toBe(writer.stats.writeCycles);
      await writer.close();
      const seen: number[] = [];
      scanWal(wal, { onRecord: (r) => seen.push(r.sequence) });
      expect(seen).toEqual([1, 2]);
    });
  }

  it("writeThrough starts a cycle as soon as a turn's backlog is large, so one turn's appends span several cycles", async () => {
    const { writer } = await openWalWriter(wal, { syncMode: "writeThrough" });
    // 40 frames of 520 B: the first cycle starts once 8 KiB are pending (16 frames); while it
    // runs, the next 8 (half of what the last cycles carried) are sealed as the second, the
    // remaining 16 form the third.
    await appendInOneTurn(writer, 40, 500);
    expect(writer.stats.writeCycles).toBe(3);
    expect(writer.durableSequence).toBe(40);
    await writer.close();
    const seen: number[] = [];
    scanWal(wal, { onRecord: (r) => seen.push(r.sequence) });
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("fdatasync waits for the end of the turn: one turn's appends are one cycle", async () => {
    const { writer } = await openWalWriter(wal, { syncMode: "fdatasync" });
    await appendInOneTurn(writer, 40, 500);
    expect(writer.stats.writeCycles).toBe(1);
    expect(writer.stats.syncs).toBe(1);
    await writer.close();
  });

  it("refuses an unknown sync mode, naming it, before touching the disk", async () => {
    await expect(openWalWriter(wal, { syncMode: "osync" as WalSyncMode })).rejects.toMatchObject({
      code: "INVALID_FIELD",
      message: expect.stringContaining('invalid syncMode "osync"'),
    });
    expect(existsSync(wal)).toBe(false);
    const dataDir = join(dir, "data");
    await expect(openStorage({ dataDir, walSyncMode: "always" as WalSyncMode })).rejects.toMatchObject({
      code: "INVALID_FIELD",
      message: expect.stringContaining('invalid walSyncMode "always"'),
    });
    expect(existsSync(dataDir)).toBe(false);
  });
});
