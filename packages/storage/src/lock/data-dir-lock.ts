/**
 * One writer per data directory: `<dataDir>/LOCK` holds the owner's pid. The
 * file is created with O_EXCL, so two processes cannot both create it; a lock
 * whose pid is no longer alive (the owner crashed) is taken over. Read-only
 * opens never look at or touch the lock.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from "node:fs";
import { join } from "node:path";
import { StorageError } from "@actionqueue/core";
import { fsyncDirSync } from "../internal/fs.js";

/** Name of the lock file inside a data directory. */
export const LOCK_FILE_NAME = "LOCK";

// Directories this process holds: a second writer in the same process must fail too.
const heldHere = new Set<string>();

/** A held data-directory lock. */
export interface DataDirLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Releases the lock (removes the file if it is still ours). Idempotent. */
  release(): void;
}

/** True when a process with this pid exists (EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): number | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    const pid = Number.parseInt(text.split(/\s/)[0] ?? "", 10);
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Takes the writer lock of `dataDir` (which must exist). Throws `LOCK_HELD`
 * naming the holder's pid when another live process (or this one) holds it.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE_NAME);
  if (heldHere.has(path)) {
    throw new StorageError("LOCK_HELD", `data directory ${dataDir} is already open for writing in this process (pid ${process.pid})`, {
      details: { dataDir, pid: process.pid },
    });
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      fsyncDirSync(dataDir);
      heldHere.add(path);
      let released = false;
      return {
        path,
        release: () => {
          if (released) return;
          released = true;
          heldHere.delete(path);
          if (readHolder(path) === process.pid) {
            unlinkSync(path);
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) {
      throw new StorageError("LOCK_HELD", `data directory ${dataDir} is locked by process ${holder} (${path}); only one writer may open it`, {
        details: { dataDir, pid: holder, lockFile: path },
      });
    }
    // Stale: the holder is dead (or is a previous incarnation with our pid
    // that this process never registered). Remove it and retry the O_EXCL create.
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new StorageError("LOCK_HELD", `could not take the lock ${path}: it keeps changing hands`, { details: { dataDir, lockFile: path } });
}
