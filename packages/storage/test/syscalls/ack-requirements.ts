/**
 * What the storage package promises is durable at the moment it
 * acknowledges something, as {@link Requirement}s on a {@link FileHistory}:
 * for a record, every byte of the log up to its end and every segment's
 * directory entry; for a snapshot, its bytes before its rename and its
 * directory entry. ack-after-sync.test.ts checks them against the moment
 * the child process printed the acknowledgement.
 */
import type { FileHistory, Requirement } from "./file-history.js";

/** Where the WAL put each record, read back from the final segment files. */
export interface WalLayout {
  /** Segments in sequence order; `validEnd` is the offset just after the last record. */
  readonly segments: readonly { readonly file: string; readonly firstSequence: number; readonly validEnd: number }[];
  /** Each record's segment and byte range (frame header included). */
  readonly records: ReadonlyMap<number, { readonly file: string; readonly start: number; readonly end: number }>;
}

/**
 * Durable before `sequence` is acknowledged: recovery reads the log in
 * order and stops at the first damage, so not only the record but every
 * byte before it (segment headers, earlier records, earlier segments) must
 * be on disk with its final content, and so must the directory entry of
 * every segment involved (and of the WAL directory, when the log shows it
 * being made).
 */
export function recordRequirements(history: FileHistory, layout: WalLayout, sequence: number): Requirement[] {
  const record = layout.records.get(sequence);
  if (record === undefined) return [{ what: `record ${sequence}, which is not in the WAL files`, atUs: undefined, evidence: [] }];
  const requirements: Requirement[] = [];
  for (const segment of layout.segments) {
    const last = segment.file === record.file;
    requirements.push(...history.bytesDurable(segment.file, 0, last ? record.end : segment.validEnd));
    const entry = history.entryDurable(segment.file);
    if (entry.length === 0) requirements.push({ what: `the directory entry of ${segment.file}, whose creation is not in the log`, atUs: undefined, evidence: [] });
    requirements.push(...entry);
    if (last) break;
  }
  return requirements;
}

/**
 * Durable before a snapshot write resolves: the temporary file's bytes
 * before the rename that puts it in place (else a crash could leave the
 * name pointing at a file with holes), then the new entry and its
 * directory's.
 */
export function snapshotRequirements(history: FileHistory, file: string, size: number): Requirement[] {
  const rename = history.createdBy(file);
  const temp = history.renamedFrom(file);
  if (rename === undefined || temp === undefined) {
    return [{ what: `the snapshot ${file}, which the log does not show renamed into place`, atUs: undefined, evidence: rename === undefined ? [] : [rename] }];
  }
  const content = history.bytesDurable(temp, 0, size).map((r): Requirement => ({ ...r, mustPrecede: rename }));
  return [...content, ...history.entryDurable(file)];
}
