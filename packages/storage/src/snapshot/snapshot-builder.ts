/**
 * Building a snapshot away from the writer's thread. The state at sequence S
 * is rebuilt from durable files alone (the newest snapshot plus the WAL up to
 * S) and encoded; since encoding is deterministic, the bytes are exactly
 * what encoding the live projection at S would give. The writer's event loop
 * only waits for the result: encoding a large projection in place blocked it
 * for hundreds of milliseconds (about 0.4 s at 130k runs).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { StorageError } from "@actionqueue/core";
import { Projection } from "../projection/projection.js";
import { finishReplay, replayInto } from "../recovery/replay.js";
import { scanWal } from "../wal/reader.js";
import { encodeSnapshot } from "./snapshot-codec.js";
import { loadLatestSnapshot } from "./snapshot-store.js";

/** What a snapshot build needs: where the files are, and which state to capture. */
export interface SnapshotJob {
  readonly snapshotDir: string;
  readonly walDir: string;
  /** The WAL sequence to capture; every record up to it must be durable. */
  readonly sequence: number;
  /** The snapshot's creation time, epoch ms. */
  readonly createdAt: number;
}

/**
 * Rebuilds the state at `job.sequence` from the files and encodes it. Throws
 * `WAL_CORRUPT` if the files do not reach that sequence.
 */
export function buildSnapshotFromFiles(job: SnapshotJob): Buffer {
  const { loaded } = loadLatestSnapshot(job.snapshotDir);
  if (loaded !== undefined && loaded.sequence > job.sequence) {
    throw new StorageError("WAL_CORRUPT", `cannot snapshot sequence ${job.sequence}: ${loaded.file} is already newer (${loaded.sequence})`, {
      details: { sequence: job.sequence, newest: loaded.sequence },
    });
  }
  const projection = loaded?.projection ?? new Projection();
  const replay = replayInto(projection, { replayed: 0 });
  // Records after the target may still be on their way to disk: they are
  // skipped, and so is the torn frame the reader may find at the very end.
  scanWal(job.walDir, {
    fromSequence: (loaded?.sequence ?? 0) + 1,
    skipCoveredSegments: loaded !== undefined,
    onRecord: (record) => {
      if (record.sequence <= job.sequence) replay(record);
    },
  });
  finishReplay(projection);
  if (projection.latestSequence !== job.sequence) {
    throw new StorageError("WAL_CORRUPT", `cannot snapshot sequence ${job.sequence}: the files only reach ${projection.latestSequence}`, {
      details: { sequence: job.sequence, reached: projection.latestSequence },
    });
  }
  return encodeSnapshot(projection, job.createdAt);
}

/**
 * Where the worker script is: beside this module once built, or, when this
 * module runs from the TypeScript sources (the package's tests), the built
 * copy in `dist/`. Undefined when neither exists.
 */
export function snapshotWorkerUrl(): URL | undefined {
  for (const candidate of ["./snapshot-worker.js", "../../dist/snapshot/snapshot-worker.js"]) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/** A build request to the worker script. */
export interface SnapshotWorkerRequest {
  readonly id: number;
  readonly job: SnapshotJob;
}

/** The worker script's reply to request `id`. */
export type SnapshotWorkerReply =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string | undefined };

interface PendingBuild {
  readonly resolve: (bytes: Buffer) => void;
  readonly reject: (error: unknown) => void;
}

/** How long an idle worker is kept for the next build before it is ended (its heap still holds the last build's garbage). */
const IDLE_MS = 5_000;

/**
 * Builds snapshots in one worker thread, started on first use and kept for
 * the next build (starting a thread and loading the modules costs more than
 * a small build), then ended after {@link IDLE_MS} without work. While a
 * build runs, the worker keeps the process alive; idle, it does not.
 */
export class SnapshotWorker {
  readonly #url: URL;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, PendingBuild>();
  #nextId = 1;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(url: URL) {
    this.#url = url;
  }

  /** Builds the snapshot `job` describes. Rejects with `CLOSED` once {@link close} was called. */
  build(job: SnapshotJob): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new StorageError("CLOSED", "snapshot build abandoned: the storage is closing"));
    const worker = this.#start();
    clearTimeout(this.#idleTimer);
    worker.ref();
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: SnapshotWorkerRequest = { id, job };
      worker.postMessage(request);
    });
  }

  /**
   * Starts the worker ahead of the first build, so loading it overlaps with
   * other work instead of delaying that build. It does not keep the process alive.
   */
  warmUp(): void {
    if (this.#closed || this.#worker !== undefined) return;
    this.#start().unref();
  }

  /** Ends the worker; builds in flight reject with `CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#failAll(new StorageError("CLOSED", "snapshot build abandoned: the storage is closing"));
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(this.#url);
    worker.on("message", (reply: SnapshotWorkerReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
      else pending.reject(new StorageError(reply.code === "WAL_CORRUPT" ? "WAL_CORRUPT" : "STORAGE_IO", `snapshot worker failed: ${reply.message}`, { details: { code: reply.code } }));
      if (this.#pending.size === 0) this.#idle(worker);
    });
    worker.on("error", (error) => {
      this.#failAll(new StorageError("STORAGE_IO", `snapshot worker failed: ${error.message}`, { cause: error }));
    });
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#failAll(new StorageError("STORAGE_IO", `snapshot worker exited with code ${code} before replying`, { details: { code } }));
    });
    this.#worker = worker;
    return worker;
  }

  #idle(worker: Worker): void {
    worker.unref();
    this.#idleTimer = setTimeout(() => {
      if (this.#worker === worker && this.#pending.size === 0) {
        this.#worker = undefined;
        void worker.terminate();
      }
    }, IDLE_MS);
    this.#idleTimer.unref();
  }

  #failAll(error: StorageError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }
}
