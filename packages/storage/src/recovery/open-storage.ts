/**
 * The entry points: `openStorage` (the single writer of a data directory) and
 * `openStorageReadOnly` (inspection that writes, creates and locks nothing).
 *
 * Opening for writing: create `<dataDir>/{wal,snapshots}`, take the LOCK,
 * load the newest usable snapshot, open the WAL (repairing a torn tail, per
 * the repair mode for anything else) while replaying the records after the
 * snapshot, then reconcile in-flight runs through the authority, durably.
 */
import { join } from "node:path";
import { ActionQueueError, StorageError, systemClock } from "@actionqueue/core";
import type { Clock, DurabilityPolicy, RunState } from "@actionqueue/core";
import { StorageMutationAuthority } from "../authority/storage-authority.js";
import { mkdirDurableSync } from "../internal/fs.js";
import { acquireDataDirLock } from "../lock/data-dir-lock.js";
import { Projection } from "../projection/projection.js";
import type { ProjectionView } from "../projection/projection.js";
import { encodeSnapshot } from "../snapshot/snapshot-codec.js";
import type { SkippedSnapshot } from "../snapshot/snapshot-store.js";
import { loadLatestSnapshot, removeStaleSnapshotTemps, writeSnapshotFile } from "../snapshot/snapshot-store.js";
import { compactWal } from "../wal/compaction.js";
import type { WalFinding, WalTruncation } from "../wal/findings.js";
import { openWalWriter } from "../wal/open.js";
import type { WalSyncMode, WalWriterStats } from "../wal/writer.js";
import { DEFAULT_WAL_SYNC_MODE, checkPreallocate, checkWalSyncMode } from "../wal/writer.js";
import { scanWal } from "../wal/reader.js";
import type { WalScanResult } from "../wal/reader.js";
import type { WalRepairMode } from "../wal/repair.js";
import type { ReconciledRun } from "./reconcile.js";
import { reconcileInFlightRuns } from "./reconcile.js";
import { finishReplay, replayInto } from "./replay.js";
import { SnapshotWorker, snapshotWorkerUrl } from "../snapshot/snapshot-builder.js";

/** Options of {@link openStorage}. */
export interface OpenStorageOptions {
  /** The data directory; created if missing. */
  readonly dataDir: string;
  /** Durability of the commands recovery itself writes (default `immediate`). */
  readonly durability?: DurabilityPolicy;
  /** Bound, in ms, on how long a `deferred` record may stay unsynced (default 50). */
  readonly deferredFlushMs?: number;
  /** WAL segment size in bytes before rotation (default 64 MiB). */
  readonly segmentBytes?: number;
  /** How WAL writes become durable (default `writeThrough` where the platform has `O_DSYNC`, else `fdatasync`; see `WalSyncMode`). */
  readonly walSyncMode?: WalSyncMode;
  /** Keep the WAL's last segment zero-filled ahead of its data (default true; see `OpenWalWriterOptions.preallocate`). */
  readonly walPreallocate?: boolean;
  /** Write a snapshot (and compact) automatically after this many accepted commands; 0 or omitted: never. */
  readonly snapshotEvery?: number;
  /** `strict` (default): refuse any damage but a torn tail; `truncatePartial`: also drop a damaged final record. */
  readonly repair?: WalRepairMode;
  /** Clock for recovery timestamps and snapshot times (default: system clock). */
  readonly clock?: Clock;
  /** Reconcile Leased/Running runs at start-up (default true). */
  readonly reconcile?: boolean;
  /**
   * Build snapshots in a worker thread from the durable files (default true),
   * so the event loop never stalls on encoding. `false` encodes on the
   * calling thread, as does a build whose worker script cannot be found.
   */
  readonly snapshotInWorker?: boolean;
  /** Called after each automatic snapshot (of `snapshotEvery`) is written; failures are not reported. */
  readonly onAutomaticSnapshot?: (info: SnapshotInfo) => void;
}

/** What recovery did. */
export interface RecoveryReport {
  /** Snapshot used, if any. */
  readonly snapshot: { readonly file: string; readonly sequence: number } | undefined;
  /** Snapshots that were damaged and skipped (recovery fell back to an older one or to the WAL alone). */
  readonly skippedSnapshots: readonly SkippedSnapshot[];
  /** WAL records replayed after the snapshot. */
  readonly walRecordsReplayed: number;
  /** Torn tails (and, with `truncatePartial`, damaged final records) removed. */
  readonly truncations: readonly WalTruncation[];
  /** Runs found Leased/Running and made eligible again. */
  readonly reconciledRuns: readonly ReconciledRun[];
  /** Sequence after recovery (reconciliation included). */
  readonly latestSequence: number;
  /** Wall time recovery took, in ms. */
  readonly durationMs: number;
}

/** Result of a snapshot write. */
export interface SnapshotInfo {
  readonly file: string;
  readonly sequence: number;
  readonly bytes: number;
  /** WAL segments deleted because the kept snapshots cover them. */
  readonly removedSegments: readonly string[];
  /** Where the snapshot was encoded: a worker thread, or the caller's thread. */
  readonly encodedIn: "worker" | "caller";
}

/** An open, locked data directory. */
export interface Storage {
  /** The only way to change durable state. */
  readonly authority: StorageMutationAuthority;
  /** Read access to the state. Includes applied commands whose promise has not settled yet. */
  readonly projection: ProjectionView;
  /** What recovery did at open. */
  readonly recoveryReport: RecoveryReport;
  /** WAL counters for metrics: records appended and rejected, bytes, write cycles, fdatasyncs, rotations. */
  walStats(): WalWriterStats;
  /** Writes a snapshot of the current state once the WAL is durable up to it, then compacts the WAL. */
  writeSnapshot(): Promise<SnapshotInfo>;
  /** Syncs and closes the WAL and releases the lock. Idempotent. */
  close(): Promise<void>;
}

/** Paths inside a data directory. */
export function dataDirPaths(dataDir: string): { walDir: string; snapshotDir: string } {
  return { walDir: join(dataDir, "wal"), snapshotDir: join(dataDir, "snapshots") };
}

/**
 * Opens a data directory as its single writer and recovers its state. Throws
 * `LOCK_HELD` (naming the holder's pid) if another process has it open,
 * `WAL_CORRUPT` / `WAL_FOREIGN_FORMAT` / `WAL_UNSUPPORTED_VERSION` /
 * `DECODE_FAILED` naming file and offset for damage the repair mode does not
 * cover. Nothing is modified when it throws, except a torn tail it removed.
 */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const started = performance.now();
  const clock = options.clock ?? systemClock;
  // Checked before the directory is created or locked.
  const walSyncMode = checkWalSyncMode(options.walSyncMode ?? DEFAULT_WAL_SYNC_MODE, "walSyncMode");
  checkPreallocate(options.walPreallocate, "walPreallocate");
  const { walDir, snapshotDir } = dataDirPaths(options.dataDir);
  mkdirDurableSync(options.dataDir);
  const lock = acquireDataDirLock(options.dataDir);
  try {
    mkdirDurableSync(walDir);
    mkdirDurableSync(snapshotDir);
    removeStaleSnapshotTemps(snapshotDir);
    const { loaded, skipped } = loadLatestSnapshot(snapshotDir);
    const projection = loaded?.projection ?? new Projection();
    const snapshotSequence = loaded?.sequence ?? 0;
    const counter = { replayed: 0 };
    const { writer, scan, truncations } = await openWalWriter(walDir, {
      repair: options.repair ?? "strict",
      ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
      ...(options.deferredFlushMs === undefined ? {} : { deferredFlushMs: options.deferredFlushMs }),
      syncMode: walSyncMode,
      ...(options.walPreallocate === undefined ? {} : { preallocate: options.walPreallocate }),
      fromSequence: snapshotSequence + 1,
      // With no segment left (a fresh directory, or every one compacted into
      // the snapshot), the next record follows the snapshot: its segment is
      // created now rather than by the first submission.
      nextSequence: snapshotSequence + 1,
      skipCoveredSegments: loaded !== undefined,
      onRecord: replayInto(projection, counter),
    }).catch((error: unknown) => {
      throw namingSkippedSnapshots(skipped, error);
    });
    finishReplay(projection);
    if (scan.lastSequence > 0 && scan.lastSequence < snapshotSequence) {
      await writer.close();
      throw new StorageError(
        "WAL_CORRUPT",
        `snapshot ${loaded!.file} covers sequence ${snapshotSequence} but the WAL ends at ${scan.lastSequence}: acknowledged records are missing from ${walDir}`,
        { details: { snapshotSequence, walLastSequence: scan.lastSequence } },
      );
    }
    let sinceSnapshot = 0;
    const every = options.snapshotEvery ?? 0;
    // Assigned below; the authority only calls it after open has finished wiring.
    let writeSnapshot: () => Promise<SnapshotInfo> = () => Promise.reject(new StorageError("CLOSED", "storage is still opening"));
    // At most one automatic snapshot at a time: a build in a worker does not
    // slow the writer down, so without this a fast workload could queue them
    // faster than they finish.
    let automaticPending = false;
    const workerUrl = options.snapshotInWorker === false ? undefined : snapshotWorkerUrl();
    const snapshotWorker = workerUrl === undefined ? undefined : new SnapshotWorker(workerUrl);
    const onAccepted =
      every > 0
        ? (count: number): void => {
            sinceSnapshot += count;
            // Halfway to an automatic snapshot, load the worker, so that
            // loading it does not delay the build (short-lived processes
            // that never get that far never start one).
            if (sinceSnapshot * 2 >= every) snapshotWorker?.warmUp();
            if (sinceSnapshot >= every && !automaticPending) {
              sinceSnapshot = 0;
              automaticPending = true;
              // In the background: a failed snapshot is not fatal, the WAL still has everything.
              writeSnapshot()
                .then((info) => options.onAutomaticSnapshot?.(info))
                .catch(() => undefined)
                .finally(() => (automaticPending = false));
            }
          }
        : undefined;
    const authority = new StorageMutationAuthority(projection, writer, onAccepted);
    let reconciledRuns: ReconciledRun[] = [];
    try {
      if (options.reconcile !== false) reconciledRuns = await reconcileInFlightRuns(projection, authority, clock, options.durability ?? "immediate");
    } catch (error) {
      await writer.close();
      throw error;
    }
    const recoveryReport: RecoveryReport = {
      snapshot: loaded === undefined ? undefined : { file: loaded.file, sequence: loaded.sequence },
      skippedSnapshots: skipped,
      walRecordsReplayed: counter.replayed,
      truncations,
      reconciledRuns,
      latestSequence: projection.latestSequence,
      durationMs: performance.now() - started,
    };

    let snapshotChain: Promise<unknown> = Promise.resolve();
    writeSnapshot = (): Promise<SnapshotInfo> => {
      const next = snapshotChain.then(async () => {
        const sequence = projection.latestSequence;
        const createdAt = clock.now();
        let bytes: Buffer;
        if (snapshotWorker !== undefined) {
          // The worker reads the files: everything up to `sequence` must be durable first.
          await writer.sync();
          bytes = await snapshotWorker.build({ snapshotDir, walDir, sequence, createdAt });
        } else {
          bytes = encodeSnapshot(projection, createdAt);
          // A snapshot must never get ahead of the durable WAL.
          await writer.sync();
        }
        const { file, compactableUpTo } = await writeSnapshotFile(snapshotDir, sequence, bytes);
        const removedSegments = await compactWal(walDir, compactableUpTo);
        const info: SnapshotInfo = { file, sequence, bytes: bytes.length, removedSegments, encodedIn: snapshotWorker === undefined ? "caller" : "worker" };
        return info;
      });
      snapshotChain = next.catch(() => undefined);
      return next;
    };

    let closed: Promise<void> | undefined;
    return {
      authority,
      projection,
      recoveryReport,
      walStats: () => writer.stats,
      writeSnapshot,
      close: () => {
        closed ??= (async () => {
          authority.markClosed();
          // A snapshot still building is abandoned: the WAL has everything it would hold.
          await snapshotWorker?.close();
          await snapshotChain;
          await writer.close();
          lock.release();
        })();
        return closed;
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Result of {@link openStorageReadOnly}. */
export interface ReadOnlyStorage {
  readonly projection: ProjectionView;
  /** Damage found (a torn tail is reported here, not repaired). */
  readonly findings: readonly WalFinding[];
  readonly snapshot: { readonly file: string; readonly sequence: number } | undefined;
  readonly skippedSnapshots: readonly SkippedSnapshot[];
  readonly walRecordsReplayed: number;
  readonly latestSequence: number;
  /** Runs per state, for `stats`. */
  readonly countsByState: Record<RunState, number>;
}

/**
 * Reads a data directory for inspection: creates, writes, locks and repairs
 * nothing, so it works while another process holds the writer lock. Reads up
 * to the first damage and reports it in `findings`. Throws `WAL_CORRUPT` only
 * if a well-framed record is refused by replay.
 */
export function openStorageReadOnly(options: { readonly dataDir: string }): ReadOnlyStorage {
  const { walDir, snapshotDir } = dataDirPaths(options.dataDir);
  const { loaded, skipped } = loadLatestSnapshot(snapshotDir);
  const projection = loaded?.projection ?? new Projection();
  const counter = { replayed: 0 };
  let scan: WalScanResult;
  try {
    scan = scanWal(walDir, { fromSequence: (loaded?.sequence ?? 0) + 1, onRecord: replayInto(projection, counter) });
  } catch (error) {
    throw namingSkippedSnapshots(skipped, error);
  }
  finishReplay(projection);
  return {
    projection,
    findings: scan.findings,
    snapshot: loaded === undefined ? undefined : { file: loaded.file, sequence: loaded.sequence },
    skippedSnapshots: skipped,
    walRecordsReplayed: counter.replayed,
    latestSequence: projection.latestSequence,
    countsByState: projection.countsByState(),
  };
}

/**
 * A replay refusal, told which damaged snapshots recovery skipped before it.
 * With every snapshot damaged after compaction, the "records 1..K are
 * missing" gap is the snapshots' doing, not the WAL's, and the operator
 * should look at those files first. Any other error comes back as it was.
 */
function namingSkippedSnapshots(skipped: readonly SkippedSnapshot[], error: unknown): unknown {
  if (skipped.length === 0 || !ActionQueueError.hasCode(error, "WAL_CORRUPT")) return error;
  const files = skipped.map((s) => `${s.file} (${s.reason})`).join("; ");
  return new StorageError("WAL_CORRUPT", `${error.message}; recovery skipped damaged snapshots before it: ${files}`, {
    cause: error,
    details: { ...error.details, skippedSnapshots: skipped.map((s) => s.file) },
  });
}
