/**
 * @actionqueue/storage — the durable half of ActionQueue: the segment-file
 * write-ahead log with group commit, snapshots, recovery, the replay
 * projection and the storage-owned mutation authority.
 */
export { openWalWriter, DEFAULT_SEGMENT_BYTES, DEFAULT_DEFERRED_FLUSH_MS } from "./wal/open.js";
export type { OpenWalWriterOptions, OpenedWal } from "./wal/open.js";
export { WalWriter } from "./wal/writer.js";
export type { WalDurability, WalAppendRecord } from "./wal/writer.js";
export { scanWal } from "./wal/reader.js";
export type { WalRecord, WalScanResult, WalSegmentSummary, ScanWalOptions } from "./wal/reader.js";
export { verifyWal, repairWal } from "./wal/repair.js";
export type { WalVerifyReport, RepairWalOptions, WalRepairMode } from "./wal/repair.js";
export { WAL_DAMAGE_KINDS, describeFinding } from "./wal/findings.js";
export type { WalFinding, WalDamageKind, WalRepairAction, WalTruncation } from "./wal/findings.js";
export { acquireDataDirLock, LOCK_FILE_NAME } from "./lock/data-dir-lock.js";
export type { DataDirLock } from "./lock/data-dir-lock.js";
