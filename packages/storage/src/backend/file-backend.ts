/**
 * The file backend: {@link StorageBackendV1} over a data directory (segment
 * WAL under `wal/`, snapshots under `snapshots/`, `LOCK`). The lock makes it
 * the only writer, so its epoch is the constant 1; appends with another epoch
 * are still refused, as the contract requires.
 */
import { readFileSync } from "node:fs";
import { StorageError } from "@actionqueue/core";
import type { AppendOptions, BackendOpenResult, StorageBackendV1, StoredEvent, StoredSnapshot } from "./backend.js";
import type { DataDirLock } from "../lock/data-dir-lock.js";
import { acquireDataDirLock } from "../lock/data-dir-lock.js";
import { mkdirDurableSync } from "../internal/fs.js";
import { listSnapshots, writeSnapshotFile } from "../snapshot/snapshot-store.js";
import { compactWal } from "../wal/compaction.js";
import { openWalWriter } from "../wal/open.js";
import type { OpenWalWriterOptions } from "../wal/open.js";
import { scanWal } from "../wal/reader.js";
import type { WalWriter } from "../wal/writer.js";
import { dataDirPaths } from "../recovery/open-storage.js";

/** The constant writer epoch of a file backend. */
export const FILE_BACKEND_EPOCH = 1;

/** Options of {@link createFileBackend}. */
export interface FileBackendOptions {
  readonly dataDir: string;
  readonly repair?: OpenWalWriterOptions["repair"];
  readonly segmentBytes?: number;
  readonly deferredFlushMs?: number;
}

/** Creates a file backend for `dataDir` (nothing happens on disk until `open()`). */
export function createFileBackend(options: FileBackendOptions): StorageBackendV1 {
  const { walDir, snapshotDir } = dataDirPaths(options.dataDir);
  let writer: WalWriter | undefined;
  let lock: DataDirLock | undefined;
  const closedError = (): StorageError => new StorageError("CLOSED", `the file backend for ${options.dataDir} is not open`, { details: { dataDir: options.dataDir } });
  return {
    specificationVersion: "v1",
    name: "file",
    async open(): Promise<BackendOpenResult> {
      mkdirDurableSync(options.dataDir);
      lock = acquireDataDirLock(options.dataDir);
      try {
        mkdirDurableSync(snapshotDir);
        const opened = await openWalWriter(walDir, {
          ...(options.repair === undefined ? {} : { repair: options.repair }),
          ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
          ...(options.deferredFlushMs === undefined ? {} : { deferredFlushMs: options.deferredFlushMs }),
        });
        writer = opened.writer;
        return { writerEpoch: FILE_BACKEND_EPOCH, lastSequence: opened.scan.lastSequence };
      } catch (error) {
        lock.release();
        lock = undefined;
        throw error;
      }
    },
    append(events: readonly StoredEvent[], appendOptions: AppendOptions): Promise<void> {
      if (writer === undefined) return Promise.reject(closedError());
      if (appendOptions.writerEpoch !== FILE_BACKEND_EPOCH) {
        return Promise.reject(
          new StorageError("STALE_FENCING_TOKEN", `writer epoch ${appendOptions.writerEpoch} is not the file backend's epoch ${FILE_BACKEND_EPOCH}`, {
            details: { writerEpoch: appendOptions.writerEpoch },
          }),
        );
      }
      return writer.appendBatch(events, appendOptions.durability);
    },
    async *readEvents(fromSequence: number): AsyncIterable<StoredEvent> {
      const collected: StoredEvent[] = [];
      // Records queued but not yet written are not readable; sync first.
      await writer?.sync();
      const scan = scanWal(walDir, { fromSequence, onRecord: (r) => collected.push({ sequence: r.sequence, payload: Uint8Array.from(r.payload) }) });
      const damage = scan.findings[0];
      if (damage !== undefined && damage.repair !== "automatic") {
        throw new StorageError("WAL_CORRUPT", `WAL damage in ${damage.file} at offset ${damage.offset}: ${damage.kind}`, { details: { ...damage } });
      }
      yield* collected;
    },
    async writeSnapshot(snapshot: StoredSnapshot): Promise<void> {
      if (writer === undefined) throw closedError();
      await writer.sync();
      await writeSnapshotFile(snapshotDir, snapshot.sequence, snapshot.bytes);
    },
    loadSnapshot(): Promise<StoredSnapshot | undefined> {
      const newest = listSnapshots(snapshotDir)[0];
      return Promise.resolve(newest === undefined ? undefined : { sequence: newest.sequence, bytes: readFileSync(newest.file) });
    },
    async compact(upToSequence: number): Promise<void> {
      await compactWal(walDir, upToSequence);
    },
    async close(): Promise<void> {
      const w = writer;
      writer = undefined;
      await w?.close();
      lock?.release();
      lock = undefined;
    },
  };
}
