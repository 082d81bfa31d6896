/**
 * @actionqueue/storage — the durable half of ActionQueue: the segment-file
 * write-ahead log with group commit, snapshots, recovery (with the
 * uncertainty clause), the replay projection, the storage-owned mutation
 * authority and the versioned backend contract.
 */

// Entry points
export { openStorage, openStorageReadOnly, dataDirPaths } from "./recovery/open-storage.js";
export type { OpenStorageOptions, Storage, RecoveryReport, SnapshotInfo, ReadOnlyStorage } from "./recovery/open-storage.js";
export { ABANDONED_ATTEMPT_MESSAGE } from "./recovery/reconcile.js";
export type { ReconciledRun } from "./recovery/reconcile.js";

// Mutation authority and projection
export { StorageMutationAuthority } from "./authority/storage-authority.js";
export type { EventSink, OpenBatch } from "./authority/storage-authority.js";
export { Projection } from "./projection/projection.js";
export type { ProjectionView } from "./projection/projection.js";
export type {
  TaskRecord,
  StateChange,
  AttemptRecord,
  LeaseRecord,
  EngineRecord,
  BudgetRecord,
  SubscriptionRecord,
  ActorRecord,
  TenantRecord,
  RoleRecord,
  GrantRecord,
} from "./projection/records.js";

// Event codec and snapshots
export { encodeEvent, decodeEvent, EVENT_TAGS } from "./codec/event-codec.js";
export { encodeSnapshot, decodeSnapshot, SNAPSHOT_SCHEMA_VERSION } from "./snapshot/snapshot-codec.js";
export type { SkippedSnapshot } from "./snapshot/snapshot-store.js";

// WAL byte layer (the CLI's `wal verify` / `wal repair` and the backends build on it)
export { openWalWriter, DEFAULT_SEGMENT_BYTES, DEFAULT_DEFERRED_FLUSH_MS } from "./wal/open.js";
export type { OpenWalWriterOptions, OpenedWal } from "./wal/open.js";
export { WalWriter } from "./wal/writer.js";
export type { WalDurability, WalAppendRecord, WalWriterStats, WalSyncMode } from "./wal/writer.js";
export { DEFAULT_WAL_SYNC_MODE } from "./wal/writer.js";
export { scanWal } from "./wal/reader.js";
export type { WalRecord, WalScanResult, WalSegmentSummary, ScanWalOptions } from "./wal/reader.js";
export { verifyWal, repairWal } from "./wal/repair.js";
export type { WalVerifyReport, RepairWalOptions, WalRepairMode } from "./wal/repair.js";
export { compactWal } from "./wal/compaction.js";
export { WAL_DAMAGE_KINDS, describeFinding } from "./wal/findings.js";
export type { WalFinding, WalDamageKind, WalRepairAction, WalTruncation } from "./wal/findings.js";
export { FRAME_VERSION, MAX_PAYLOAD_BYTES } from "./wal/frame.js";
export { SEGMENT_FORMAT_VERSION } from "./wal/segment.js";

// Lock
export { acquireDataDirLock, LOCK_FILE_NAME } from "./lock/data-dir-lock.js";
export type { DataDirLock } from "./lock/data-dir-lock.js";

// Backend contract (v1) and its implementations
export type { StorageBackendV1, StoredEvent, StoredSnapshot, BackendOpenResult, AppendOptions } from "./backend/backend.js";
export { createMemoryBackend, MemoryLogStore } from "./backend/memory-backend.js";
export { createFileBackend, FILE_BACKEND_EPOCH } from "./backend/file-backend.js";
export type { FileBackendOptions } from "./backend/file-backend.js";
