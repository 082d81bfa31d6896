/**
 * Small durable-filesystem helpers shared by the WAL, snapshots and the lock:
 * directory fsync (a new or renamed file is only durable once its directory
 * entry is), durable mkdir, truncate-and-fsync, and atomic file replacement.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, existsSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { StorageError } from "@actionqueue/core";

/** Fsyncs a directory so entries created, renamed or removed in it survive power loss. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Async {@link fsyncDirSync}, for paths the event loop must not block on. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `mkdir -p` that fsyncs the parent of every directory it creates. */
export function mkdirDurableSync(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) mkdirDurableSync(parent);
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  fsyncDirSync(parent);
}

/** Cuts `file` to `size` bytes and fsyncs it. */
export function truncateFileSync(file: string, size: number): void {
  const fd = openSync(file, "r+");
  try {
    ftruncateSync(fd, size);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes `file` and fsyncs its directory. */
export function removeFileDurablySync(file: string): void {
  unlinkSync(file);
  fsyncDirSync(dirname(file));
}

/**
 * Replaces `target` atomically with `data`: write `<target>.tmp`, fsync it,
 * rename over the target, fsync the directory. A crash leaves either the old
 * or the new file, never a mix; a leftover `.tmp` is ignored and overwritten.
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const temp = `${target}.tmp`;
  const handle = await open(temp, "w");
  try {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset, offset);
      offset += bytesWritten;
    }
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw new StorageError("STORAGE_IO", `writing ${temp} failed: ${(error as Error).message}`, { cause: error, details: { file: temp } });
  }
  await handle.close();
  await rename(temp, target);
  await fsyncDir(dirname(target));
}

/** Synchronous {@link writeFileAtomic} (open/recovery time and tests). */
export function writeFileAtomicSync(target: string, data: Uint8Array): void {
  const temp = `${target}.tmp`;
  const fd = openSync(temp, "w");
  try {
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  fsyncDirSync(dirname(target));
}
