/**
 * The WAL reader: walks the segment files in sequence order, validates every
 * frame (marker, version, length, checksum over header and payload, strictly
 * increasing sequences, complete batches) and hands each record of a complete
 * batch to the caller. It stops at the first damage and reports it with file
 * and offset, classified as a torn tail (what a crash leaves), a damaged final
 * record, or damage that valid data follows (never a tail).
 *
 * Segments are read one file at a time with synchronous I/O: reading happens
 * at open/recovery time, before the engine serves anyone.
 */
import { readFileSync } from "node:fs";
import { ActionQueueError } from "@actionqueue/core";
import {
  FLAG_BATCH_CONTINUES,
  FRAME_HEADER_BYTES,
  FRAME_MARKER,
  FRAME_VERSION,
  MAX_PAYLOAD_BYTES,
  findNextValidFrame,
  headerProblem,
  readFrameHeader,
} from "./frame.js";
import type { WalDamageKind, WalFinding, WalRepairAction } from "./findings.js";
import { RUST_MESSAGE, SEGMENT_HEADER_BYTES, endOfNonZero, isAllZero, listSegments, parseSegmentHeader } from "./segment.js";
import { crc32 } from "node:zlib";
import { crc32Range } from "../internal/crc32.js";

/** One record handed to the caller. `payload` is a view into the segment's bytes. */
export interface WalRecord {
  readonly sequence: number;
  readonly payload: Buffer;
  /** Segment file path. */
  readonly file: string;
  /** Offset of the frame in that file. */
  readonly offset: number;
}

/**
 * A record as the reader produces it: the payload view is created only when
 * asked for, and replay decodes straight from the segment bytes, saving an
 * allocation per record on the recovery hot path.
 */
export class SegmentRecord implements WalRecord {
  readonly sequence: number;
  /** The whole segment's bytes. */
  readonly bytes: Buffer;
  readonly offset: number;
  /** End of the payload in `bytes`. */
  readonly end: number;
  readonly file: string;

  constructor(sequence: number, bytes: Buffer, offset: number, end: number, file: string) {
    this.sequence = sequence;
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
    this.file = file;
  }

  /** Start of the payload in `bytes`. */
  get start(): number {
    return this.offset + FRAME_HEADER_BYTES;
  }

  get payload(): Buffer {
    return this.bytes.subarray(this.offset + FRAME_HEADER_BYTES, this.end);
  }
}

/** Summary of one segment after a scan. */
export interface WalSegmentSummary {
  readonly file: string;
  /** First sequence from the segment header. */
  readonly firstSequence: number;
  /** Sequence of its last valid record, or 0 if it holds none. */
  readonly lastSequence: number;
  /** Valid records in it. */
  readonly records: number;
  /** File size in bytes. */
  readonly bytes: number;
  /** Offset just after the last valid record (where a writer would continue). */
  readonly validEnd: number;
}

/** Result of scanning a WAL directory. */
export interface WalScanResult {
  /** Every segment file, in order (including one with damage). */
  readonly segments: readonly WalSegmentSummary[];
  /** Valid records seen (of complete batches). */
  readonly records: number;
  /** Sequence of the last valid record, 0 for an empty log. */
  readonly lastSequence: number;
  /** The damage found; at most one, since reading stops at the first. */
  readonly findings: readonly WalFinding[];
}

/** Options of {@link scanWal}. */
export interface ScanWalOptions {
  /**
   * Called for every valid record of a complete batch, in order. A thrown
   * error with code `DECODE_FAILED` becomes a `decode_failure` finding at the
   * record's offset; any other error propagates.
   */
  readonly onRecord?: (record: WalRecord) => void;
  /** Records below this sequence are validated but not handed to `onRecord`. */
  readonly fromSequence?: number;
  /**
   * Recovery from a snapshot: do not read segments wholly below
   * `fromSequence`, and do not checksum records below it that follow their
   * predecessor (they are walked only; one out of order is checksummed
   * before it is judged). Verification reads and checks everything.
   */
  readonly skipCoveredSegments?: boolean;
}

/** Scans every segment in `walDir`; never modifies anything. */
export function scanWal(walDir: string, options: ScanWalOptions = {}): WalScanResult {
  const listing = listSegments(walDir);
  const findings: WalFinding[] = [];
  const summaries: WalSegmentSummary[] = [];
  const fromSequence = options.fromSequence ?? 0;
  const onRecord = options.onRecord;
  const skipCovered = options.skipCoveredSegments === true;
  let lastSequence = 0;
  let records = 0;

  if (listing.rustFile !== undefined) {
    findings.push(finding("foreign_format", listing.rustFile, 0, RUST_MESSAGE, "none", 0, 0, false));
    return { segments: summaries, records, lastSequence, findings };
  }

  const segments = listing.segments;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    const following = segments[index + 1];
    if (options.skipCoveredSegments === true && following !== undefined && following.firstSequence <= fromSequence) {
      // Every record here is below fromSequence: covered by the snapshot.
      lastSequence = following.firstSequence - 1;
      continue;
    }
    const file = segment.path;
    const bytes = readFileSync(file);
    const isLast = index === segments.length - 1;
    const laterHasData = (): boolean => segments.slice(index + 1).some((s) => segmentHasValidFrame(s.path));

    const header = parseSegmentHeader(bytes);
    if (header.kind !== "ok") {
      const torn = (header.kind === "incomplete" || header.kind === "zeroed") && isLast;
      const kind: WalDamageKind =
        header.kind === "rust" || header.kind === "foreign"
          ? "foreign_format"
          : header.kind === "unsupported-version"
            ? "unsupported_version"
            : "segment_header";
      const message =
        header.kind === "rust" || header.kind === "foreign" || header.kind === "corrupt"
          ? header.message
          : header.kind === "unsupported-version"
            ? `segment format version ${header.version} is not supported (this build reads version 1)`
            : `segment header is ${header.kind === "zeroed" ? "zero-filled" : "incomplete"} (${bytes.length} bytes)`;
      findings.push(finding(kind, file, 0, message, torn ? "automatic" : "none", 0, bytes.length, torn));
      summaries.push({ file, firstSequence: segment.firstSequence, lastSequence: 0, records: 0, bytes: bytes.length, validEnd: 0 });
      break;
    }
    if (header.firstSequence !== segment.firstSequence || header.firstSequence <= lastSequence) {
      const message = `segment header says first sequence ${header.firstSequence}, file name says ${segment.firstSequence}, previous segment ended at ${lastSequence}`;
      findings.push(finding("segment_header", file, 0, message, "none", 0, bytes.length, false));
      summaries.push({ file, firstSequence: segment.firstSequence, lastSequence: 0, records: 0, bytes: bytes.length, validEnd: 0 });
      break;
    }

    const size = bytes.length;
    let pos = SEGMENT_HEADER_BYTES;
    let segmentRecords = 0;
    let segmentLast = 0;
    let validEnd = pos;
    let batch: WalRecord[] = [];
    let batchStart = -1;
    let damage: WalFinding | undefined;

    // `tornBefore`: where the damaged frame ends (its header, when the header
    // itself is damaged); a frame whose bytes are zeros from a sector
    // boundary before that point to the end of the file was cut short by a
    // crash while being written into zero-filled space (preallocation).
    const report = (kind: WalDamageKind, at: number, message: string, tailRepair: WalRepairAction, tornBefore?: number): WalFinding | undefined => {
      const cut = batchStart >= 0 ? batchStart : at;
      if (isLast && isAllZero(bytes, at)) {
        // Zeros right after a complete record are the free space a writer keeps ahead of its data.
        if (batchStart < 0) return undefined;
        return finding("zero_filled_tail", file, at, `${size - at} zero bytes after an incomplete batch`, "automatic", cut, size - cut, false);
      }
      if (isLast && tornBefore !== undefined && tailRepair !== "automatic") {
        const zeroFrom = zeroRunStart(bytes, at);
        if (zeroFrom < tornBefore) {
          const torn = `${message}; its bytes are zeros from offset ${zeroFrom} to the end of the file, as a write cut short by a crash leaves them`;
          return finding(kind, file, at, torn, "automatic", cut, size - cut, false);
        }
      }
      const next = findNextValidFrame(bytes, at + 1);
      if (next !== -1 || !isLast || laterHasData()) {
        const where = next !== -1 ? `a valid record follows at offset ${next}` : "later segments hold valid records";
        return finding(kind, file, at, `${message}; ${where}, so this is not a torn tail`, "none", cut, size - cut, false);
      }
      return finding(kind, file, at, message, tailRepair, cut, size - cut, false);
    };

    while (pos < size) {
      const remaining = size - pos;
      if (remaining < FRAME_HEADER_BYTES) {
        damage = report("incomplete_header", pos, `${remaining} bytes, a frame header needs ${FRAME_HEADER_BYTES}`, "automatic");
        break;
      }
      if (bytes[pos + 4] !== FRAME_MARKER) {
        damage = report("invalid_header", pos, `frame marker is 0x${(bytes[pos + 4] ?? 0).toString(16)}, expected 0xa7`, "truncatePartial", pos + FRAME_HEADER_BYTES);
        break;
      }
      // Hot path: read the fields in place; build a header object only on trouble.
      const flags = bytes[pos + 6]!;
      const length = bytes.readUInt32LE(pos + 8);
      const sequence = bytes.readUInt32LE(pos + 12) + bytes.readUInt32LE(pos + 16) * 0x1_0000_0000;
      if (bytes[pos + 5] !== FRAME_VERSION || (flags & ~FLAG_BATCH_CONTINUES) !== 0 || bytes[pos + 7] !== 0 || length > MAX_PAYLOAD_BYTES || sequence < 1 || sequence > Number.MAX_SAFE_INTEGER) {
        const frame = readFrameHeader(bytes, pos);
        const kind = frame.version !== FRAME_VERSION ? "unsupported_version" : "invalid_header";
        damage = report(kind, pos, headerProblem(frame) ?? "invalid frame header", "truncatePartial", pos + FRAME_HEADER_BYTES);
        break;
      }
      const end = pos + FRAME_HEADER_BYTES + length;
      if (end > size) {
        // A flipped bit in the length field of a complete final record would
        // look torn; if the bytes present checksum as a frame of that size, it
        // was complete and acknowledged, so do not cut it silently.
        const crc = bytes.readUInt32LE(pos);
        const wasComplete = completesWithLength(bytes, pos, size - pos - FRAME_HEADER_BYTES, crc);
        damage = wasComplete
          ? report("checksum_mismatch", pos, `length field says ${length} bytes but the record checksums as ${size - pos - FRAME_HEADER_BYTES}`, "truncatePartial")
          : report("incomplete_payload", pos, `payload needs ${length} bytes, ${size - pos - FRAME_HEADER_BYTES} present`, "automatic");
        break;
      }
      const crc = bytes.readUInt32LE(pos);
      // Records a loaded snapshot covers are only walked, not checksummed: a
      // damaged header there still derails the walk into a checksum failure
      // or a sequence gap further on, so nothing is lost silently. Only a
      // record that follows its predecessor counts as covered, though: a
      // write cut short inside the sequence field leaves zeros that shrink a
      // new record's sequence into the covered range, and an unchecked
      // header must not turn a torn tail into a sequence regression nothing
      // may repair. Out of order, its checksum decides what it is.
      const covered = skipCovered && sequence < fromSequence && sequence === lastSequence + 1;
      if (!covered && crc32Range(bytes, pos + 4, end) !== crc) {
        damage = report("checksum_mismatch", pos, `checksum 0x${crc.toString(16).padStart(8, "0")} does not match the record`, "truncatePartial", end);
        break;
      }
      if (sequence <= lastSequence) {
        damage = finding("sequence_regression", file, pos, `sequence ${sequence} does not follow ${lastSequence}`, "none", pos, size - pos, false);
        break;
      }
      const record = new SegmentRecord(sequence, bytes, pos, end, file);
      lastSequence = sequence;
      if ((flags & FLAG_BATCH_CONTINUES) !== 0) {
        if (batchStart < 0) batchStart = pos;
        batch.push(record);
        pos = end;
        continue;
      }
      let failed: { record: WalRecord; message: string } | undefined;
      if (batch.length === 0) {
        if (onRecord !== undefined && sequence >= fromSequence) failed = deliverOne(record, onRecord);
      } else {
        batch.push(record);
        failed = deliver(batch, onRecord, fromSequence);
      }
      if (failed !== undefined) {
        damage = finding("decode_failure", file, failed.record.offset, failed.message, "none", failed.record.offset, size - failed.record.offset, false);
        break;
      }
      const delivered = batch.length === 0 ? 1 : batch.length;
      records += delivered;
      segmentRecords += delivered;
      segmentLast = sequence;
      if (batch.length > 0) batch = [];
      batchStart = -1;
      pos = end;
      validEnd = end;
    }
    if (damage === undefined && batchStart >= 0) {
      const torn = isLast;
      damage = finding(
        "incomplete_batch",
        file,
        batchStart,
        `a batch of ${batch.length} record(s) starting at sequence ${batch[0]?.sequence ?? 0} has no final record`,
        torn ? "automatic" : "none",
        batchStart,
        size - batchStart,
        false,
      );
    }
    if (damage !== undefined || batchStart >= 0) lastSequence = segmentLast > 0 ? segmentLast : lastSequenceBefore(summaries);
    summaries.push({ file, firstSequence: header.firstSequence, lastSequence: segmentLast, records: segmentRecords, bytes: size, validEnd });
    if (damage !== undefined) {
      findings.push(damage);
      break;
    }
  }
  return { segments: summaries, records, lastSequence, findings };
}

function lastSequenceBefore(summaries: readonly WalSegmentSummary[]): number {
  for (let i = summaries.length - 1; i >= 0; i--) if (summaries[i]!.lastSequence > 0) return summaries[i]!.lastSequence;
  return 0;
}

function deliver(
  batch: readonly WalRecord[],
  onRecord: ((record: WalRecord) => void) | undefined,
  fromSequence: number,
): { record: WalRecord; message: string } | undefined {
  if (onRecord === undefined) return undefined;
  for (const record of batch) {
    if (record.sequence < fromSequence) continue;
    const failed = deliverOne(record, onRecord);
    if (failed !== undefined) return failed;
  }
  return undefined;
}

function deliverOne(record: WalRecord, onRecord: (record: WalRecord) => void): { record: WalRecord; message: string } | undefined {
  try {
    onRecord(record);
    return undefined;
  } catch (error) {
    if (ActionQueueError.hasCode(error, "DECODE_FAILED")) return { record, message: error.message };
    throw error;
  }
}

/** Bytes are written to disk in whole sectors: a write cut short leaves zeros from a multiple of this on. */
const SECTOR_BYTES = 512;

/**
 * The first sector boundary after `at` from which every byte to the end of
 * `bytes` is zero (`bytes.length` rounded up when the last byte is not zero).
 */
function zeroRunStart(bytes: Buffer, at: number): number {
  return Math.ceil(Math.max(endOfNonZero(bytes, at), at + 1) / SECTOR_BYTES) * SECTOR_BYTES;
}

function completesWithLength(bytes: Buffer, pos: number, length: number, crc: number): boolean {
  if (length < 0) return false;
  const copy = Buffer.from(bytes.subarray(pos + 4, pos + FRAME_HEADER_BYTES + length));
  copy.writeUInt32LE(length, 4);
  return crc32(copy) === crc;
}

function segmentHasValidFrame(path: string): boolean {
  try {
    const bytes = readFileSync(path);
    return findNextValidFrame(bytes, SEGMENT_HEADER_BYTES) !== -1;
  } catch {
    return false;
  }
}

function finding(
  kind: WalDamageKind,
  file: string,
  offset: number,
  message: string,
  repair: WalRepairAction,
  truncateAt: number,
  bytesRemoved: number,
  deleteFile: boolean,
): WalFinding {
  return { kind, file, offset, message, repair, truncateAt, bytesRemoved, deleteFile };
}
