/**
 * Deciding and applying repairs. The rules (one place, used by the writer's
 * open, `verifyWal` and `repairWal`):
 * - a torn tail (incomplete final record or batch, zero fill, torn segment
 *   header) was never acknowledged: every writer open removes it and says so;
 * - a damaged final record with nothing valid after it is removed only when
 *   the operator asks for `truncatePartial`;
 * - anything else stops the open with an error naming file and offset.
 */
import { ActionQueueError, StorageError } from "@actionqueue/core";
import type { ErrorCode } from "@actionqueue/core";
import { statSync } from "node:fs";
import type { WalFinding, WalTruncation } from "./findings.js";
import { describeFinding } from "./findings.js";
import type { ScanWalOptions, WalScanResult } from "./reader.js";
import { scanWal } from "./reader.js";
import { removeFileDurablySync, truncateFileSync } from "../internal/fs.js";

/** How a writer open treats damage beyond a torn tail. */
export type WalRepairMode = "strict" | "truncatePartial";

/** True when opening with `mode` repairs `finding` by itself. */
export function repairsOnOpen(finding: WalFinding, mode: WalRepairMode): boolean {
  return finding.repair === "automatic" || (finding.repair === "truncatePartial" && mode === "truncatePartial");
}

/** The error an open throws for a finding it will not repair. */
export function findingError(finding: WalFinding, mode: WalRepairMode): StorageError {
  const code: ErrorCode =
    finding.kind === "foreign_format"
      ? "WAL_FOREIGN_FORMAT"
      : finding.kind === "unsupported_version"
        ? "WAL_UNSUPPORTED_VERSION"
        : finding.kind === "decode_failure"
          ? "DECODE_FAILED"
          : "WAL_CORRUPT";
  // Plain `wal repair` is strict too and refuses this, so the CLI hint names the flag.
  const advice =
    finding.repair === "truncatePartial" && mode === "strict"
      ? `; the damaged record is the last one: reopen with repair 'truncatePartial' (CLI: actionqueue wal repair --truncate-partial) to drop its ${finding.bytesRemoved} bytes`
      : finding.repair === "none"
        ? "; no automatic repair is possible, restore the data directory from a backup or inspect the file"
        : "";
  return new StorageError(code, `WAL damage in ${describeFinding(finding)}${advice}`, {
    details: { file: finding.file, offset: finding.offset, kind: finding.kind, repair: finding.repair },
  });
}

/** Applies one repair (cut or delete) and returns what it removed. */
export function applyRepair(finding: WalFinding): WalTruncation {
  const bytes = statSync(finding.file).size;
  if (finding.deleteFile) {
    removeFileDurablySync(finding.file);
    return { file: finding.file, offset: 0, bytesRemoved: bytes, kind: finding.kind, deletedFile: true };
  }
  truncateFileSync(finding.file, finding.truncateAt);
  return { file: finding.file, offset: finding.truncateAt, bytesRemoved: bytes - finding.truncateAt, kind: finding.kind, deletedFile: false };
}

/**
 * Scans, then repairs what `mode` allows, rescanning until the log is clean.
 * Throws (without touching anything further) on the first finding `mode` does
 * not repair. `options.onRecord` sees the valid records of the final scan only.
 */
export function scanAndRepair(
  walDir: string,
  mode: WalRepairMode,
  options: ScanWalOptions = {},
): { scan: WalScanResult; truncations: WalTruncation[] } {
  const truncations: WalTruncation[] = [];
  // One pass delivers records; a repair only ever cuts a tail, so the records
  // already delivered are exactly the prefix that survives it.
  let scan = scanWal(walDir, options);
  for (let attempt = 0; attempt < 8; attempt++) {
    const damage = scan.findings[0];
    if (damage === undefined) break;
    if (!repairsOnOpen(damage, mode)) throw findingError(damage, mode);
    truncations.push(applyRepair(damage));
    scan = scanWal(walDir, {
      ...(options.fromSequence === undefined ? {} : { fromSequence: options.fromSequence }),
      ...(options.skipCoveredSegments === undefined ? {} : { skipCoveredSegments: options.skipCoveredSegments }),
    });
  }
  const damage = scan.findings[0];
  if (damage !== undefined) throw findingError(damage, mode);
  return { scan, truncations };
}

/** Result of {@link verifyWal}. */
export interface WalVerifyReport extends WalScanResult {
  /** True when the log has no damage at all. */
  readonly clean: boolean;
  /** True when a plain (strict) writer open would succeed, repairing torn tails by itself. */
  readonly opensCleanly: boolean;
}

/**
 * Checks a WAL directory without modifying it (the CLI's `wal verify`). Each
 * finding carries file, offset and `repair`: whether the next writer open
 * fixes it by itself (`automatic`), only with `truncatePartial`, or never.
 */
export function verifyWal(walDir: string, options: ScanWalOptions = {}): WalVerifyReport {
  try {
    const scan = scanWal(walDir, options);
    const first = scan.findings[0];
    return { ...scan, clean: first === undefined, opensCleanly: first === undefined || first.repair === "automatic" };
  } catch (error) {
    if (ActionQueueError.is(error)) throw error;
    throw new StorageError("STORAGE_IO", `reading the WAL in ${walDir} failed: ${(error as Error).message}`, { cause: error, details: { walDir } });
  }
}

/** Options of {@link repairWal}. */
export interface RepairWalOptions {
  /** Also drop a damaged final record (checksum mismatch, bad header) with nothing valid after it. */
  readonly truncatePartial?: boolean;
  /** Optional payload check, so a record that does not decode is reported, never cut. */
  readonly onRecord?: ScanWalOptions["onRecord"];
}

/**
 * Repairs a WAL directory the way a writer open would (the CLI's `wal
 * repair`), returning what was removed. Throws `WAL_CORRUPT` (naming file and
 * offset) for damage that cannot be repaired without losing valid records.
 */
export function repairWal(walDir: string, options: RepairWalOptions = {}): { truncations: WalTruncation[]; lastSequence: number } {
  const mode: WalRepairMode = options.truncatePartial === true ? "truncatePartial" : "strict";
  const { scan, truncations } = scanAndRepair(walDir, mode, options.onRecord === undefined ? {} : { onRecord: options.onRecord });
  return { truncations, lastSequence: scan.lastSequence };
}
