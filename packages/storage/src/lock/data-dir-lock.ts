/**
 * One writer per data directory: `<dataDir>/LOCK` holds the owner's pid. The
 * pid is written to a private temporary file first and hard-linked into place
 * (link fails if LOCK exists), so LOCK is never seen empty and two processes
 * cannot both create it. A lock whose pid is no longer alive (the owner
 * crashed) is taken over by renaming it aside and checking that what was moved
 * is the stale lock that was read. Read-only opens never touch the lock.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
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

/**
 * True when a process with this pid exists and has not exited (EPERM means it
 * exists but is not ours). A zombie, exited but not yet reaped by its parent,
 * counts as dead: it holds no files any more, and a slow parent (or an init
 * that reaps orphans late) kept its lock refused for seconds after a kill -9.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !hasExited(pid);
}

/** Whether Linux's /proc says `pid` is a zombie or dead; false wherever /proc cannot tell. */
function hasExited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // "pid (comm) S …": the command name may hold spaces and parentheses, the state follows its last ")".
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state === "Z" || state === "X";
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
    const temp = join(dataDir, `${LOCK_FILE_NAME}.${process.pid}.${attempt}.tmp`);
    const fd = openSync(temp, "w");
    try {
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let linked = false;
    try {
      linkSync(temp, path);
      linked = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      unlinkSync(temp);
    }
    if (linked) {
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
    }
    const holder = readHolder(path);
    if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) {
      throw new StorageError("LOCK_HELD", `data directory ${dataDir} is locked by process ${holder} (${path}); only one writer may open it`, {
        details: { dataDir, pid: holder, lockFile: path },
      });
    }
    // Stale: the holder is dead (or is a previous incarnation with our pid
    // that this process never registered). Move it aside, and make sure what
    // moved is the stale lock we read, not a fresh one another process just
    // linked in its place; a fresh one is put back.
    const aside = join(dataDir, `${LOCK_FILE_NAME}.${process.pid}.${attempt}.stale`);
    try {
      renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      continue;
    }
    const moved = readHolder(aside);
    if (moved !== holder && moved !== undefined && isProcessAlive(moved)) {
      try {
        linkSync(aside, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      unlinkSync(aside);
      throw new StorageError("LOCK_HELD", `data directory ${dataDir} is locked by process ${moved} (${path}); only one writer may open it`, {
        details: { dataDir, pid: moved, lockFile: path },
      });
    }
    unlinkSync(aside);
  }
  throw new StorageError("LOCK_HELD", `could not take the lock ${path}: it keeps changing hands`, { details: { dataDir, lockFile: path } });
}
