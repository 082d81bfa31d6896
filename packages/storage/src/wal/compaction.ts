/**
 * Compaction: once a snapshot covering sequence S is durable, every segment
 * whose records all have sequences ≤ S can go. A segment is wholly covered
 * when the next segment starts at or before S + 1; the last (current) segment
 * is never removed. Disk use is then bounded by the snapshots plus the
 * segments written since the older kept snapshot.
 */
import { unlinkSync } from "node:fs";
import { listSegments } from "./segment.js";
import { fsyncDir } from "../internal/fs.js";

/** Deletes WAL segments wholly covered by a snapshot at `coveredSequence`; returns the removed paths. */
export async function compactWal(walDir: string, coveredSequence: number): Promise<string[]> {
  const { segments } = listSegments(walDir);
  const removed: string[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const next = segments[i + 1]!;
    if (next.firstSequence > coveredSequence + 1) break;
    unlinkSync(segments[i]!.path);
    removed.push(segments[i]!.path);
  }
  if (removed.length > 0) await fsyncDir(walDir);
  return removed;
}
