/**
 * Snapshot files under `<dataDir>/snapshots/`: `<20-digit sequence>.snap`,
 * written atomically (temp file, fsync, rename, directory fsync). The two
 * newest are kept, so a snapshot damaged on disk still has a fallback whose
 * WAL tail is retained; the loader tries newest first, then older, then none
 * (WAL-only replay), and says what it skipped and why.
 */
import { existsSync, readFileSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Projection } from "../projection/projection.js";
import { decodeSnapshot } from "./snapshot-codec.js";
import { fsyncDir, fsyncDirSync, writeFileAtomic } from "../internal/fs.js";

const NAME = /^(\d{20})\.snap$/;
/** How many snapshot generations are kept. */
export const SNAPSHOTS_KEPT = 2;

/** File name of the snapshot covering the WAL up to `sequence`. */
export function snapshotFileName(sequence: number): string {
  return `${String(sequence).padStart(20, "0")}.snap`;
}

/** Snapshot files in `dir`, newest first. */
export function listSnapshots(dir: string): { file: string; sequence: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, match: NAME.exec(name) }))
    .filter((e) => e.match?.[1] !== undefined)
    .map((e) => ({ file: join(dir, e.name), sequence: Number(e.match![1]) }))
    .sort((a, b) => b.sequence - a.sequence);
}

/** A snapshot that could not be used, and why. */
export interface SkippedSnapshot {
  readonly file: string;
  readonly reason: string;
}

/** Result of {@link loadLatestSnapshot}. */
export interface LoadedSnapshot {
  readonly projection: Projection;
  readonly sequence: number;
  readonly file: string;
}

/** Loads the newest snapshot that decodes; never throws for a damaged file. */
export function loadLatestSnapshot(dir: string): { loaded: LoadedSnapshot | undefined; skipped: SkippedSnapshot[] } {
  const skipped: SkippedSnapshot[] = [];
  for (const { file, sequence } of listSnapshots(dir)) {
    try {
      const decoded = decodeSnapshot(readFileSync(file));
      if (decoded.sequence !== sequence) throw new Error(`file name says sequence ${sequence}, the header says ${decoded.sequence}`);
      return { loaded: { projection: decoded.projection, sequence, file }, skipped };
    } catch (error) {
      skipped.push({ file, reason: (error as Error).message });
    }
  }
  return { loaded: undefined, skipped };
}

/** Removes leftover temp files of interrupted snapshot writes (writer open only). */
export function removeStaleSnapshotTemps(dir: string): void {
  if (!existsSync(dir)) return;
  let removed = false;
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".tmp")) {
      unlinkSync(join(dir, name));
      removed = true;
    }
  }
  if (removed) fsyncDirSync(dir);
}

/**
 * Writes a snapshot atomically and prunes older generations beyond
 * {@link SNAPSHOTS_KEPT}. Returns the path and the sequence that is now safe to
 * compact up to (the oldest generation kept, or 0 while only one exists).
 */
export async function writeSnapshotFile(dir: string, sequence: number, bytes: Uint8Array): Promise<{ file: string; compactableUpTo: number }> {
  const file = join(dir, snapshotFileName(sequence));
  await writeFileAtomic(file, bytes);
  const all = listSnapshots(dir);
  const stale = all.slice(SNAPSHOTS_KEPT);
  for (const old of stale) unlinkSync(old.file);
  if (stale.length > 0) await fsyncDir(dir);
  // Compact only what the older kept snapshot covers, so a damaged newest
  // snapshot still has a fallback with its whole WAL tail.
  const kept = all.slice(0, SNAPSHOTS_KEPT);
  return { file, compactableUpTo: kept.length >= SNAPSHOTS_KEPT ? kept.at(-1)!.sequence : 0 };
}
