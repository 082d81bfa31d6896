/**
 * What the reader found wrong with a WAL, where, and what may be done about
 * it. One vocabulary for the writer's open, `verifyWal` (the CLI's
 * `wal verify`) and `repairWal`, so all three always agree.
 */

/** Kinds of damage the reader can report. */
export const WAL_DAMAGE_KINDS = {
  incompleteHeader: "incomplete_header",
  incompletePayload: "incomplete_payload",
  checksumMismatch: "checksum_mismatch",
  unsupportedVersion: "unsupported_version",
  invalidHeader: "invalid_header",
  decodeFailure: "decode_failure",
  zeroFilledTail: "zero_filled_tail",
  incompleteBatch: "incomplete_batch",
  sequenceRegression: "sequence_regression",
  segmentHeader: "segment_header",
  foreignFormat: "foreign_format",
} as const;

/** One kind of WAL damage. */
export type WalDamageKind = (typeof WAL_DAMAGE_KINDS)[keyof typeof WAL_DAMAGE_KINDS];

/**
 * What opening the log for writing does about a finding:
 * - `automatic`: a torn tail a crash leaves behind (never acknowledged); every
 *   writer open removes it and reports the removal;
 * - `truncatePartial`: a damaged final record (nothing valid after it); removed
 *   only when the operator opens with `repair: 'truncatePartial'`;
 * - `none`: damage followed by valid records, a foreign file, a well-framed
 *   record that does not decode; no open mode repairs it.
 */
export type WalRepairAction = "automatic" | "truncatePartial" | "none";

/** One piece of damage, located precisely. */
export interface WalFinding {
  /** What is wrong. */
  readonly kind: WalDamageKind;
  /** Path of the damaged file. */
  readonly file: string;
  /** Byte offset of the damaged record (or file header) in that file. */
  readonly offset: number;
  /** Human-readable detail: the field and value that failed. */
  readonly message: string;
  /** What a writer open does about it. */
  readonly repair: WalRepairAction;
  /**
   * Where a repair would cut the file (the damaged record's start, or the start
   * of the incomplete batch it belongs to); `0` with `deleteFile` for a segment
   * whose own header is torn.
   */
  readonly truncateAt: number;
  /** Bytes a repair would remove (file size − truncateAt). */
  readonly bytesRemoved: number;
  /** True when the repair removes the whole file (a torn segment header). */
  readonly deleteFile: boolean;
}

/** What a repair actually removed. */
export interface WalTruncation {
  /** File that was cut (or deleted). */
  readonly file: string;
  /** Offset it was cut at. */
  readonly offset: number;
  /** Bytes removed. */
  readonly bytesRemoved: number;
  /** The damage that caused it. */
  readonly kind: WalDamageKind;
  /** True when the whole file was deleted. */
  readonly deletedFile: boolean;
}

/** Formats a finding for an error message or the CLI: "file @ offset: kind (message)". */
export function describeFinding(finding: WalFinding): string {
  return `${finding.file} at offset ${finding.offset}: ${finding.kind} (${finding.message})`;
}
