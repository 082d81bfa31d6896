/**
 * Opening the WAL for writing: create the directory, scan and repair per the
 * rules in repair.ts, then position a {@link WalWriter} at the end of the last
 * segment. A segment's name carries the real first sequence of its records
 * (which follows a snapshot after compaction removed every older segment):
 * with no segment on disk, the first one is created at open when the caller
 * says which sequence comes next (`nextSequence`), and by the first append
 * otherwise.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { ValidationError, describeValue } from "@actionqueue/core";
import type { Clock } from "@actionqueue/core";
import type { WalTruncation } from "./findings.js";
import type { WalRecord, WalScanResult } from "./reader.js";
import type { WalRepairMode } from "./repair.js";
import { scanAndRepair } from "./repair.js";
import type { WalSyncMode, WalWriterFaults } from "./writer.js";
import { DEFAULT_WAL_SYNC_MODE, WalWriter, checkPreallocate, checkWalSyncMode, createSegment, segmentOpenFlags } from "./writer.js";
import { SEGMENT_HEADER_BYTES } from "./segment.js";
import { mkdirDurableSync } from "../internal/fs.js";

/** Default segment size before rotation: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default bound on how long a `deferred` append may stay unsynced: 50 ms. */
export const DEFAULT_DEFERRED_FLUSH_MS = 50;

/** Options of {@link openWalWriter}. */
export interface OpenWalWriterOptions {
  /** `strict` (default) or `truncatePartial`; torn tails are removed either way. */
  readonly repair?: WalRepairMode;
  /** Rotate to a new segment once the current one reaches this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Upper bound, in ms, before a `deferred` append is fdatasync'ed (default 50). */
  readonly deferredFlushMs?: number;
  /** Clock for the deferred-sync timer (default: the system clock). */
  readonly timerClock?: Clock;
  /** Receives every valid record during the opening scan (recovery replays here). */
  readonly onRecord?: (record: WalRecord) => void;
  /** Records below this sequence are validated but not handed to `onRecord`. */
  readonly fromSequence?: number;
  /** Skip reading segments wholly below `fromSequence` (see `ScanWalOptions`). */
  readonly skipCoveredSegments?: boolean;
  /** How writes become durable (default {@link DEFAULT_WAL_SYNC_MODE}: `writeThrough` where the platform has `O_DSYNC`). */
  readonly syncMode?: WalSyncMode;
  /**
   * Keep the last segment zero-filled ahead of its data (default true), so
   * group commits overwrite existing blocks instead of growing the file;
   * turn off on copy-on-write file systems (btrfs, ZFS), where that gains
   * nothing.
   */
  readonly preallocate?: boolean;
  /**
   * The sequence of the next append, when the caller knows it (`openStorage`
   * does: the record after its snapshot or its last record). With no segment
   * on disk, the first segment is then created here, named after it, rather
   * than by the first append, which would otherwise wait for the file, its
   * header and two syncs (about 25 ms on the project VM).
   */
  readonly nextSequence?: number;
  /** Fault injection for tests. */
  readonly faults?: WalWriterFaults;
}

/** An open writer plus what the opening scan found and removed. */
export interface OpenedWal {
  readonly writer: WalWriter;
  readonly scan: WalScanResult;
  /** Torn tails (and, with `truncatePartial`, damaged final records) removed at open. */
  readonly truncations: readonly WalTruncation[];
}

/**
 * Opens `walDir` for appending. Throws `WAL_CORRUPT` / `WAL_FOREIGN_FORMAT` /
 * `WAL_UNSUPPORTED_VERSION` / `DECODE_FAILED` with file and offset for damage
 * the repair mode does not cover; the files are then left untouched.
 */
export async function openWalWriter(walDir: string, options: OpenWalWriterOptions = {}): Promise<OpenedWal> {
  // Checked before anything on disk is touched (the scan below may repair a torn tail).
  const syncMode = checkWalSyncMode(options.syncMode ?? DEFAULT_WAL_SYNC_MODE);
  const preallocate = checkPreallocate(options.preallocate);
  const nextSequence = checkNextSequence(options.nextSequence);
  mkdirDurableSync(walDir);
  const scanOptions = {
    ...(options.onRecord === undefined ? {} : { onRecord: options.onRecord }),
    ...(options.fromSequence === undefined ? {} : { fromSequence: options.fromSequence }),
    ...(options.skipCoveredSegments === undefined ? {} : { skipCoveredSegments: options.skipCoveredSegments }),
  };
  const { scan, truncations } = scanAndRepair(walDir, options.repair ?? "strict", scanOptions);
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const remaining = scan.segments.at(-1);
  let segment: { handle: FileHandle | undefined; path: string; position: number; allocatedEnd?: number };
  if (remaining !== undefined) {
    // The scan left only zeros after the last record (free space from preallocation), or nothing.
    segment = { handle: await open(remaining.file, segmentOpenFlags(syncMode, false)), path: remaining.file, position: remaining.validEnd, allocatedEnd: remaining.bytes };
  } else if (nextSequence !== undefined) {
    const created = await createSegment(walDir, nextSequence, syncMode);
    segment = { handle: created.handle, path: created.path, position: SEGMENT_HEADER_BYTES };
  } else {
    // No segment yet: force the first append to create one.
    segment = { handle: undefined, path: "", position: Number.POSITIVE_INFINITY };
  }
  const writer = new WalWriter({
    walDir,
    handle: segment.handle,
    segmentPath: segment.path,
    position: segment.position,
    ...(segment.allocatedEnd === undefined ? {} : { allocatedEnd: segment.allocatedEnd }),
    ...(preallocate === undefined ? {} : { preallocate }),
    lastSequence: scan.lastSequence,
    segmentBytes,
    deferredFlushMs: options.deferredFlushMs ?? DEFAULT_DEFERRED_FLUSH_MS,
    syncMode,
    ...(options.timerClock === undefined ? {} : { timerClock: options.timerClock }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  // The first cycles then find room: a cycle started in the middle of a long
  // synchronous turn (a bulk submission) writes at once, instead of waiting
  // for a fill whose completion cannot be seen until the turn ends.
  await writer.preallocated();
  return { writer, scan, truncations };
}

/** `nextSequence`, when given, must be a positive safe integer (checked before anything on disk is touched). */
function checkNextSequence(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError("INVALID_FIELD", `invalid nextSequence ${describeValue(value)}: expected a positive integer`, {
      details: { field: "nextSequence", value: describeValue(value) },
    });
  }
  return value;
}
