/**
 * The group-commit WAL writer. Appends are packed into one in-memory buffer;
 * a single write cycle writes everything queued so far with one positional
 * write and makes it durable once — through the `O_DSYNC` write itself
 * (`writeThrough`) or one fdatasync after it (`fdatasync`) — so many
 * concurrent `immediate` appends share one sync. Appends made while a cycle
 * runs form the next cycle; nothing waits artificially.
 *
 * - `immediate`: the promise resolves once the record is durable.
 * - `deferred`: the promise resolves once the record is written to the OS
 *   (durable already in `writeThrough` mode); in `fdatasync` mode an
 *   fdatasync follows within `deferredFlushMs` (or with the next immediate
 *   cycle, or at close).
 *
 * Any failed write or sync poisons the writer (fail-stop): the page cache can
 * no longer be trusted, so every pending and later call rejects until the
 * process reopens the log from disk.
 *
 * Preallocation: the segment is kept zero-filled, durably, ahead of the write
 * position (in growing chunks, written off the write path), so a write cycle
 * overwrites blocks that already exist instead of growing the file. A sync
 * then needs no file-system journal commit for a new size and new blocks:
 * measured on the project VM (ext4), an `O_DSYNC` write of 4 KiB took about
 * 160 µs into zeroed space against 250–320 µs at the end of the file. The
 * reader treats the zeros after the last record as free space, and a frame
 * whose bytes turn to zeros from a sector boundary on as a write cut short
 * (reader.ts). A rotated or cleanly closed segment is cut back to its data.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { constants as fsConstants, fdatasync as fdatasyncCallback, write as writeCallback, writev as writevCallback } from "node:fs";
import { join } from "node:path";
import { StorageError, SequenceConflictError, ValidationError, describeValue, systemClock } from "@actionqueue/core";
import type { Clock, ClockTimer } from "@actionqueue/core";
import { FLAG_BATCH_CONTINUES, FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, writeFrameFrom } from "./frame.js";
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentFileName } from "./segment.js";
import { partsAfter } from "./buffer-parts.js";
import { fsyncDir } from "../internal/fs.js";

/** When an append's promise resolves: after its fdatasync, or after its write with a bounded sync delay. */
export type WalDurability = "immediate" | "deferred";

/**
 * How a write cycle's bytes become durable.
 *
 * - `writeThrough`: segments are opened with `O_DSYNC`, so the cycle's one
 *   positional write returns only once its bytes are durable: one thread-pool
 *   operation per group commit instead of a write and then an fdatasync, whose
 *   start waits for the event loop to be free again. A large enough backlog
 *   also starts its cycle at once, mid-turn, so a busy loop's next batch of
 *   work overlaps the disk instead of waiting for it. `deferred` appends are
 *   durable when they resolve too. The default where the platform has
 *   `O_DSYNC` (Linux, macOS).
 * - `fdatasync`: plain writes, each cycle followed by one fdatasync
 *   (`deferred` cycles within `deferredFlushMs`). The default elsewhere.
 */
export type WalSyncMode = "writeThrough" | "fdatasync";

/** The sync mode used when none is asked for: `writeThrough` where `O_DSYNC` exists. */
export const DEFAULT_WAL_SYNC_MODE: WalSyncMode = fsConstants.O_DSYNC === undefined ? "fdatasync" : "writeThrough";

/**
 * In `writeThrough` mode, a backlog of this many bytes starts its write cycle
 * at once instead of at the end of the turn. Measured on the project VM (2
 * vCPU): the dispatch loop's batches then split into two cohorts whose CPU
 * work and disk writes alternate, and the loop idles far less.
 */
const EAGER_CYCLE_BYTES = 8 * 1024;

/**
 * While a cycle runs, a backlog that reaches half of what the last two cycles
 * carried (but at least this much) is sealed as the next cycle, and later
 * appends wait for the one after it. Without this, a dispatch loop whose slots
 * had fallen into one big and one tiny cohort stayed that way: measured on the
 * project VM (64 slots), cycles alternated between 8.3 KB and 0.7 KB, and the
 * loop sat idle during every big write (a quarter of the processing phase).
 * Sealing at half the pair brings the cohorts to about equal size within a
 * few cycles, so that one cohort's CPU work overlaps the other's write.
 */
const MIN_SEAL_BYTES = 4 * 1024;

/**
 * A sealed head is written with everything after it when what follows is
 * more than this many times its size: a burst (a bulk submission in one
 * turn) would otherwise pay a whole extra cycle for its first few
 * kilobytes. Cohorts the seal evens out are of similar size and stay apart.
 */
const UNSEAL_FACTOR = 8;

/**
 * No backlog larger than this is sealed: cohorts the seal evens out are a few
 * kilobytes, and a big backlog (bulk submissions appended while a cycle runs)
 * is written faster as one cycle than as a sealed head and the rest — two
 * 1 MB batches of `submitMany` took 10–15 ms longer to become durable
 * sealed apart on the project VM.
 */
const MAX_SEAL_BYTES = 64 * 1024;

/** The first zero fill of a segment; later fills double up to {@link MAX_FILL_BYTES}. */
const MIN_FILL_BYTES = 64 * 1024;
/** The largest zero fill (and the most free space a segment keeps ahead of its data). */
const MAX_FILL_BYTES = 4 * 1024 * 1024;
/**
 * Zeros written per call of a fill. Each call's bytes become free space as
 * soon as it returns, so a cycle waiting for room waits for one call, not
 * for the whole fill: with 1 MiB calls, the first cycle after a 3.7 MB bulk
 * submission waited about 70 ms on the project VM for a 4 MiB fill (a
 * 1 MiB `O_DSYNC` write took 13–22 ms there under load).
 */
const FILL_WRITE_BYTES = 256 * 1024;
let zeros: Buffer | undefined;

/** `mode` if it is a {@link WalSyncMode}; otherwise an `INVALID_FIELD` error naming the value. */
export function checkWalSyncMode(mode: unknown, field = "syncMode"): WalSyncMode {
  if (mode === "writeThrough" || mode === "fdatasync") return mode;
  throw new ValidationError("INVALID_FIELD", `invalid ${field} ${JSON.stringify(mode)}: expected "writeThrough" or "fdatasync"`, {
    details: { field, value: String(mode) },
  });
}

/** `value` if it is undefined or a boolean (the preallocate switch); otherwise an `INVALID_FIELD` error naming it. */
export function checkPreallocate(value: unknown, field = "preallocate"): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ValidationError("INVALID_FIELD", `invalid ${field} ${describeValue(value)}: expected true or false`, {
    details: { field, value: describeValue(value) },
  });
}

/** Flags a segment file is opened with for appending (`create`: a new segment, which must not exist). */
export function segmentOpenFlags(mode: WalSyncMode, create: boolean): number {
  const c = fsConstants;
  const base = create ? c.O_WRONLY | c.O_CREAT | c.O_EXCL : c.O_RDWR;
  return mode === "writeThrough" ? base | c.O_DSYNC : base;
}

/**
 * Creates the segment whose first record will be `firstSequence`, durably:
 * the file with its header, synced, and its directory entry. Returns the
 * open handle (flags per `mode`) and the path.
 */
export async function createSegment(walDir: string, firstSequence: number, mode: WalSyncMode): Promise<{ handle: FileHandle; path: string }> {
  const path = join(walDir, segmentFileName(firstSequence));
  const handle = await open(path, segmentOpenFlags(mode, true));
  try {
    const header = encodeSegmentHeader(firstSequence);
    await handle.write(header, 0, header.length, 0);
    await handle.sync();
    await fsyncDir(walDir);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return { handle, path };
}

/** A record to append: its sequence and encoded payload. */
export interface WalAppendRecord {
  readonly sequence: number;
  readonly payload: Uint8Array;
}

/**
 * Test hooks that make the next write or sync fail (fault injection). In
 * `writeThrough` mode the write is the sync, so both run before it.
 */
export interface WalWriterFaults {
  beforeWrite?: () => void;
  beforeSync?: () => void;
  /** Before each zero fill (preallocation); a returned promise holds the fill until it settles. */
  beforeFill?: () => void | Promise<void>;
  /** Before each write call of a zero fill, with the offset it writes at; a returned promise holds the fill there. */
  beforeFillWrite?: (offset: number) => void | Promise<void>;
}

/** Counters for metrics (since the writer was opened). */
export interface WalWriterStats {
  /** Records accepted by append/appendBatch. */
  readonly recordsAppended: number;
  /** Records refused (sequence, size, closed or poisoned). */
  readonly appendsRejected: number;
  /** Bytes written to segment files. */
  readonly bytesWritten: number;
  /** Write cycles (one positional write each). */
  readonly writeCycles: number;
  /** Syncs (fdatasync calls, or write-through writes): with group commit, far fewer than records. */
  readonly syncs: number;
  /** Segment rotations: a full segment closed and the next one started (creating a fresh log's first segment is not one). */
  readonly rotations: number;
  /** Zero bytes written ahead of the data (preallocation); a rotated or closed segment is cut back to its data. */
  readonly bytesPreallocated: number;
}

/** State a writer starts from; produced by {@link openWalWriter}. */
export interface WalWriterInit {
  readonly walDir: string;
  /** Handle of the segment to append to, positioned by `position`. */
  readonly handle: FileHandle | undefined;
  readonly segmentPath: string;
  readonly position: number;
  /** Size of that segment: bytes from `position` to here are zeros (free space). Default: `position`. */
  readonly allocatedEnd?: number;
  /** Keep the segment zero-filled ahead of the data (default true). */
  readonly preallocate?: boolean;
  readonly lastSequence: number;
  readonly segmentBytes: number;
  readonly deferredFlushMs: number;
  /** How writes become durable; `handle` must have been opened to match (see {@link segmentOpenFlags}). */
  readonly syncMode: WalSyncMode;
  readonly timerClock?: Clock;
  readonly faults?: WalWriterFaults;
}

const ignore = (): void => undefined;

/** A promise with its settle functions: one per write cycle and durability. */
class Deferred {
  readonly promise: Promise<void>;
  resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.#reject = reject;
    });
  }

  reject(error: unknown): void {
    // A poisoned cycle rejects every waiter; callers that dropped the promise
    // must not crash the process. Marked handled only here, so the common
    // (resolved) waiter costs no second promise.
    this.promise.catch(ignore);
    this.#reject(error);
  }
}

/** The waiter that settles first (`first`, or `then` when there is no `first`); `then` settles right after it, the same way. */
function settleInOrder(first: Deferred | undefined, then: Deferred | undefined): Deferred | undefined {
  if (first === undefined) return then;
  if (then !== undefined) first.promise.then(then.resolve, (error: unknown) => then.reject(error));
  return first;
}

/**
 * Appends go into buffers of this size. A backlog that outgrows one goes on
 * in another, and a cycle writes them all with one `writev`: nothing is
 * copied to grow a buffer. Growing one by doubling cost a bulk submission of
 * 20,000 tasks (3.7 MB) two copies and 6 MB of freshly faulted memory.
 */
const BUFFER_BYTES = 1 << 20;
/** Free buffers kept for later appends: what a large backlog leaves behind is bounded. */
const MAX_SPARE_BUFFERS = 4;
const EMPTY_BUFFER = Buffer.alloc(0);

/** Appends records durably with group commit. Create it with {@link openWalWriter}. */
export class WalWriter {
  readonly #walDir: string;
  readonly #segmentBytes: number;
  readonly #deferredFlushMs: number;
  readonly #writeThrough: boolean;
  /** Backlog that starts a write cycle at once (infinite: wait for the end of the turn). */
  readonly #eagerBytes: number;
  readonly #clock: Clock;
  readonly #faults: WalWriterFaults | undefined;
  #handle: FileHandle | undefined;
  #segmentPath: string;
  #position: number;
  /** Bytes of the current segment that exist on disk; those from `#position` on are zeros. */
  #allocatedEnd: number;
  #preallocate: boolean;
  /** The zero fill in flight, if any (it never rejects: a failed fill only stops preallocation). */
  #fill: Promise<void> | undefined;
  /** The running cycle waits for a fill to make room for its bytes (resumed by the fill, chunk by chunk). */
  #waitingForRoom = false;
  #lastSequence: number;
  #durableSequence: number;
  #writtenSequence: number;
  /** The buffer appends go to, filled up to `#length`. */
  #buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  #length = 0;
  /** Earlier buffers of the pending backlog, in order, each filled up to its entry in `#filledLengths`. */
  #filled: Buffer[] = [];
  #filledLengths: number[] = [];
  #filledBytes = 0;
  /** Free buffers of {@link BUFFER_BYTES} (at most {@link MAX_SPARE_BUFFERS}). */
  readonly #spares: Buffer[] = [Buffer.allocUnsafe(BUFFER_BYTES)];
  #pendingFirstSequence = 0;
  #pendingLastSequence = 0;
  #immediate: Deferred | undefined;
  #deferred: Deferred | undefined;
  // The sealed head of the pending buffer (see MIN_SEAL_BYTES): its bytes end
  // at `#sealedLength` (0: nothing sealed), and it has its own waiters.
  #sealedLength = 0;
  #sealedLastSequence = 0;
  #sealedImmediate: Deferred | undefined;
  #sealedDeferred: Deferred | undefined;
  /** First sequence after the sealed head. */
  #unsealedFirstSequence = 0;
  /** Bytes of the last two cycles, for the seal size. */
  #lastCycleBytes = 0;
  #previousCycleBytes = 0;
  #syncWaiters: Deferred | undefined;
  #flushScheduled = false;
  /** True while a write cycle runs (one at a time). */
  #cycleActive = false;
  /** Settled when the running cycle ends; created only for `close()`. */
  #cycleEnded: Deferred | undefined;
  // The running cycle: its bytes, how far they are written, and its waiters.
  #cycleData: Buffer = EMPTY_BUFFER;
  /** A cycle of several buffers: the parts it writes (views) and the buffers they are in. */
  #cycleParts: Buffer[] | undefined;
  #cycleBuffers: Buffer[] | undefined;
  #cycleLength = 0;
  #cycleWritten = 0;
  #cycleLastSequence = 0;
  #cycleImmediate: Deferred | undefined;
  #cycleDeferred: Deferred | undefined;
  #cycleSync: Deferred | undefined;
  #unsynced = false;
  #timer: ClockTimer | undefined;
  #poison: StorageError | undefined;
  #closed = false;
  #closing = false;
  #stats = { recordsAppended: 0, appendsRejected: 0, bytesWritten: 0, writeCycles: 0, syncs: 0, rotations: 0, bytesPreallocated: 0 };
  #closingPromise: Promise<void> | undefined;

  constructor(init: WalWriterInit) {
    this.#walDir = init.walDir;
    this.#handle = init.handle;
    this.#segmentPath = init.segmentPath;
    this.#position = init.position;
    this.#allocatedEnd = Math.max(init.allocatedEnd ?? init.position, init.position);
    this.#preallocate = init.preallocate ?? true;
    this.#lastSequence = init.lastSequence;
    this.#durableSequence = init.lastSequence;
    this.#writtenSequence = init.lastSequence;
    this.#segmentBytes = init.segmentBytes;
    this.#deferredFlushMs = init.deferredFlushMs;
    this.#writeThrough = init.syncMode === "writeThrough";
    this.#eagerBytes = this.#writeThrough ? EAGER_CYCLE_BYTES : Number.POSITIVE_INFINITY;
    this.#clock = init.timerClock ?? systemClock;
    this.#faults = init.faults;
    // Room for the first cycles, made now (see preallocated()).
    this.#fillAhead();
  }

  /**
   * Settles once the zero fill in flight, if any, is done (it never fails: a
   * failed fill only turns preallocation off). `openWalWriter` waits for the
   * first fill, so the first appends find room.
   */
  preallocated(): Promise<void> {
    return this.#fill ?? Promise.resolve();
  }

  /** Sequence of the last accepted record (queued, written or durable). */
  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** Counters for metrics (a copy). */
  get stats(): WalWriterStats {
    return { ...this.#stats };
  }

  /** Sequence of the last record known to be fdatasync'ed. */
  get durableSequence(): number {
    return this.#durableSequence;
  }

  /** The error that poisoned this writer, if any. */
  get poisonedBy(): StorageError | undefined {
    return this.#poison;
  }

  /** How this writer makes writes durable. */
  get syncMode(): WalSyncMode {
    return this.#writeThrough ? "writeThrough" : "fdatasync";
  }

  /** Path of the segment currently appended to. */
  get currentSegment(): string {
    return this.#segmentPath;
  }

  /**
   * Appends one record. Rejects with `SEQUENCE_CONFLICT` unless `sequence` is
   * greater than every earlier one, `AUTHORITY_POISONED` after an I/O failure,
   * `CLOSED` after close. The check and the queueing happen synchronously, so
   * records reach the file in call order.
   */
  append(sequence: number, payload: Uint8Array, durability: WalDurability): Promise<void> {
    const problem = this.#check(sequence, payload.length);
    if (problem !== undefined) {
      this.#stats.appendsRejected++;
      return Promise.reject(problem);
    }
    this.#put(sequence, 0, payload, 0, payload.length);
    return this.#waiter(durability);
  }

  /**
   * Appends several records as one atomic unit: all frames but the last carry
   * the "batch continues" flag, so after a crash either all of them are
   * recovered or none (an incomplete batch is a torn tail).
   */
  appendBatch(records: readonly WalAppendRecord[], durability: WalDurability): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    let previous = this.#lastSequence;
    for (const record of records) {
      const problem = this.#check(record.sequence, record.payload.length, previous);
      if (problem !== undefined) {
        this.#stats.appendsRejected += records.length;
        return Promise.reject(problem);
      }
      previous = record.sequence;
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      this.#put(record.sequence, i < records.length - 1 ? FLAG_BATCH_CONTINUES : 0, record.payload, 0, record.payload.length);
    }
    return this.#waiter(durability);
  }

  /**
   * {@link appendBatch} for records already encoded back to back in `bytes`:
   * record `i` has sequence `firstSequence + i` and ends at `ends[i]` (the
   * first starts at 0). Copies before returning; no per-record objects.
   */
  appendEncodedBatch(firstSequence: number, bytes: Uint8Array, ends: readonly number[], durability: WalDurability): Promise<void> {
    const count = ends.length;
    if (count === 0) return Promise.resolve();
    // The sequences run on from the first, so the first record's full check
    // and the last sequence being a safe integer cover them all; the other
    // records only need their length looked at.
    const last = firstSequence + count - 1;
    let problem = this.#check(firstSequence, ends[0]!) ?? this.#check(last, 0, last - 1);
    for (let i = 1; problem === undefined && i < count; i++) {
      const length = ends[i]! - ends[i - 1]!;
      if (length > MAX_PAYLOAD_BYTES) problem = this.#check(firstSequence + i, length, firstSequence + i - 1);
    }
    if (problem !== undefined) {
      this.#stats.appendsRejected += count;
      return Promise.reject(problem);
    }
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      this.#put(firstSequence + i, i < count - 1 ? FLAG_BATCH_CONTINUES : 0, bytes, start, end);
      start = end;
    }
    return this.#waiter(durability);
  }

  /**
   * Ends the group commit being filled here: what was appended so far is
   * written by the next write cycle, started at once when none is running
   * (instead of at the end of the turn), and later appends by the one after.
   * A hint for a caller that knows its records come in bursts (the dispatch
   * loop, whose slots finish in cohorts): durability does not change.
   */
  commitBoundary(): void {
    if (this.#poison !== undefined || this.#pendingBytes() === 0) return;
    if (!this.#cycleActive) {
      this.#startCycle();
      return;
    }
    // One boundary at a time: a sealed head is already the next cycle.
    this.#sealPending(1);
  }

  /**
   * Seals the backlog as the next cycle when it holds at least `minBytes`
   * and at most {@link MAX_SEAL_BYTES}, unless a head is sealed already.
   */
  #sealPending(minBytes: number): void {
    const pending = this.#pendingBytes();
    if (this.#sealedLength === 0 && pending >= minBytes && pending <= MAX_SEAL_BYTES) this.#seal();
  }

  /** Makes everything appended so far durable. */
  sync(): Promise<void> {
    const problem = this.#unusable();
    if (problem !== undefined) return Promise.reject(problem);
    this.#syncWaiters ??= new Deferred();
    const waiter = this.#syncWaiters;
    this.#schedule();
    return waiter.promise;
  }

  /** Flushes and syncs everything, then closes the file. Idempotent; a poisoned writer just closes. */
  close(): Promise<void> {
    // Refuse new appends at once: one arriving after the final sync would never be written.
    this.#closingPromise ??= this.#close();
    return this.#closingPromise;
  }

  async #close(): Promise<void> {
    if (this.#poison === undefined && !this.#closed) {
      this.#syncWaiters ??= new Deferred();
      const waiter = this.#syncWaiters;
      this.#closing = true;
      this.#schedule();
      await waiter.promise.catch(() => undefined);
    }
    this.#closing = true;
    if (this.#cycleActive) {
      this.#cycleEnded ??= new Deferred();
      await this.#cycleEnded.promise;
    }
    this.#closed = true;
    this.#timer?.cancel();
    await this.#fill;
    // A clean close leaves no free space behind: the file ends with its last record.
    if (this.#poison === undefined) await this.#trimFreeSpace().catch(() => undefined);
    await this.#handle?.close().catch(() => undefined);
  }

  /** Cuts the zero-filled free space off the current segment, durably. */
  async #trimFreeSpace(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined || this.#allocatedEnd <= this.#position) return;
    await handle.truncate(this.#position);
    await handle.datasync();
    this.#allocatedEnd = this.#position;
  }

  #unusable(): StorageError | undefined {
    if (this.#poison !== undefined) return this.#poison;
    if (this.#closed || this.#closing) return new StorageError("CLOSED", `the WAL writer for ${this.#walDir} is closed`, { details: { walDir: this.#walDir } });
    return undefined;
  }

  #check(sequence: number, length: number, previous = this.#lastSequence): Error | undefined {
    const unusable = this.#unusable();
    if (unusable !== undefined) return unusable;
    if (!Number.isSafeInteger(sequence) || sequence <= previous) return new SequenceConflictError(previous + 1, sequence);
    if (length > MAX_PAYLOAD_BYTES) {
      return new ValidationError("INVALID_PAYLOAD", `WAL record ${sequence} payload is ${length} bytes; at most ${MAX_PAYLOAD_BYTES} are allowed`, {
        details: { field: "payload", length, max: MAX_PAYLOAD_BYTES },
      });
    }
    return undefined;
  }

  /** Frames the record whose payload is `source[start, end)` into the pending buffer. */
  #put(sequence: number, flags: number, source: Uint8Array, start: number, end: number): void {
    const need = FRAME_HEADER_BYTES + end - start;
    if (this.#length + need > this.#buffer.length) this.#moveToNextBuffer(need);
    const pending = this.#pendingBytes();
    if (pending === 0) this.#pendingFirstSequence = sequence;
    else if (pending === this.#sealedLength) this.#unsealedFirstSequence = sequence;
    this.#length = writeFrameFrom(this.#buffer, this.#length, sequence, flags, source, start, end);
    this.#pendingLastSequence = sequence;
    this.#lastSequence = sequence;
    this.#stats.recordsAppended++;
  }

  /** The current buffer has no room for a frame of `need` bytes: it joins the filled ones as it is, and appends go on in another. */
  #moveToNextBuffer(need: number): void {
    if (this.#length > 0) {
      this.#filled.push(this.#buffer);
      this.#filledLengths.push(this.#length);
      this.#filledBytes += this.#length;
    } else {
      this.#releaseBuffer(this.#buffer);
    }
    this.#buffer = this.#takeBuffer(need);
    this.#length = 0;
  }

  /** Forgets the filled buffers (a cycle took them, or the writer is poisoned). */
  #clearFilled(): void {
    this.#filled = [];
    this.#filledLengths = [];
    this.#filledBytes = 0;
  }

  /** Bytes appended and not yet taken by a cycle. */
  #pendingBytes(): number {
    return this.#filledBytes + this.#length;
  }

  #waiter(durability: WalDurability): Promise<void> {
    // Taken before scheduling: a large enough backlog starts its cycle (which takes the waiters) at once.
    const waiter = durability === "immediate" ? (this.#immediate ??= new Deferred()) : (this.#deferred ??= new Deferred());
    this.#schedule();
    return waiter.promise;
  }

  #schedule(): void {
    if (this.#cycleActive) {
      this.#sealPending(Math.max(MIN_SEAL_BYTES, (this.#lastCycleBytes + this.#previousCycleBytes) / 2));
      return;
    }
    if (this.#pendingBytes() >= this.#eagerBytes) {
      // Write-through: the cycle's write runs on the thread pool while this turn goes on producing the next one.
      this.#startCycle();
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // setImmediate lets every append made in this turn (and the continuations
    // of the previous cycle's waiters) join one cycle.
    setImmediate(this.#scheduledCycle);
  }

  readonly #scheduledCycle = (): void => {
    this.#flushScheduled = false;
    if (!this.#cycleActive) this.#startCycle();
  };

  // A write cycle is a chain of fs callbacks rather than an async function:
  // no promise, async frame or result object per write and sync, which
  // showed in allocation profiles (a cycle per job at low load).
  #startCycle(): void {
    this.#cycleActive = true;
    this.#nextCycle();
  }

  /** Makes everything pending so far the next cycle, with its own waiters; later appends form the one after. */
  #seal(): void {
    this.#sealedLength = this.#pendingBytes();
    this.#sealedLastSequence = this.#pendingLastSequence;
    this.#sealedImmediate = this.#immediate;
    this.#sealedDeferred = this.#deferred;
    this.#immediate = this.#deferred = undefined;
  }

  /**
   * Makes the sealed head part of everything pending again (see
   * {@link UNSEAL_FACTOR}). Its waiters settle first, then those of the
   * later appends, so waiters still settle in append order.
   */
  #unseal(): void {
    this.#immediate = settleInOrder(this.#sealedImmediate, this.#immediate);
    this.#deferred = settleInOrder(this.#sealedDeferred, this.#deferred);
    this.#sealedImmediate = this.#sealedDeferred = undefined;
    this.#sealedLength = 0;
  }

  /** Takes everything pending (or its sealed head) into a new cycle, or ends the cycling when nothing is. */
  #nextCycle(): void {
    // The cycle before, if any, is over: its buffers are free again.
    this.#releaseCycleBuffers();
    if (this.#poison !== undefined || (this.#pendingBytes() === 0 && this.#syncWaiters === undefined)) {
      this.#endCycles();
      return;
    }
    // A sealed head is at most MAX_SEAL_BYTES, so what follows it has filled a
    // whole buffer only when it is far more than UNSEAL_FACTOR times the head:
    // the sealed path below never sees more than one buffer.
    if (this.#sealedLength > 0 && (this.#filled.length > 0 || this.#length - this.#sealedLength > UNSEAL_FACTOR * this.#sealedLength)) this.#unseal();
    const data = this.#buffer;
    const firstSequence = this.#pendingFirstSequence;
    const sealed = this.#sealedLength;
    if (sealed > 0) {
      // The sealed head is the cycle; what follows it moves to a fresh buffer
      // and stays pending with its waiters, sync() waiters included (they want
      // everything appended before them).
      const rest = this.#length - sealed;
      this.#cycleLastSequence = this.#sealedLastSequence;
      this.#cycleImmediate = this.#sealedImmediate;
      this.#cycleDeferred = this.#sealedDeferred;
      this.#cycleSync = undefined;
      const fresh = this.#takeBuffer(rest);
      data.copy(fresh, 0, sealed, sealed + rest);
      this.#buffer = fresh;
      this.#length = rest;
      this.#pendingFirstSequence = this.#unsealedFirstSequence;
      this.#sealedLength = 0;
      this.#sealedImmediate = this.#sealedDeferred = undefined;
      this.#beginCycle(data, sealed, firstSequence);
      return;
    }
    const length = this.#pendingBytes();
    this.#cycleLastSequence = this.#pendingLastSequence;
    this.#cycleImmediate = this.#immediate;
    this.#cycleDeferred = this.#deferred;
    this.#cycleSync = this.#syncWaiters;
    if (this.#filled.length > 0) {
      // A backlog of several buffers (a bulk submission): one writev of them all.
      const buffers = this.#filled;
      const parts = new Array<Buffer>(buffers.length + 1);
      for (let i = 0; i < buffers.length; i++) parts[i] = buffers[i]!.subarray(0, this.#filledLengths[i]);
      parts[buffers.length] = data.subarray(0, this.#length);
      buffers.push(data);
      this.#cycleParts = parts;
      this.#cycleBuffers = buffers;
      this.#clearFilled();
    }
    this.#buffer = this.#takeBuffer(0);
    this.#length = 0;
    this.#immediate = this.#deferred = this.#syncWaiters = undefined;
    this.#beginCycle(data, length, firstSequence);
  }

  /** A buffer for appends with room for `bytes`: a spare when one is left and large enough. */
  #takeBuffer(bytes: number): Buffer {
    if (bytes <= BUFFER_BYTES && this.#spares.length > 0) return this.#spares.pop()!;
    return Buffer.allocUnsafe(Math.max(BUFFER_BYTES, bytes));
  }

  /** Keeps a buffer no longer in use for later appends, unless enough are kept (or it is oversized). */
  #releaseBuffer(buffer: Buffer): void {
    if (buffer.length === BUFFER_BYTES && this.#spares.length < MAX_SPARE_BUFFERS) this.#spares.push(buffer);
  }

  /** Frees the buffers of the cycle that just ended. */
  #releaseCycleBuffers(): void {
    const buffers = this.#cycleBuffers;
    if (buffers !== undefined) {
      for (let i = 0; i < buffers.length; i++) this.#releaseBuffer(buffers[i]!);
      this.#cycleBuffers = this.#cycleParts = undefined;
    } else if (this.#cycleData !== EMPTY_BUFFER) {
      this.#releaseBuffer(this.#cycleData);
    }
    this.#cycleData = EMPTY_BUFFER;
  }

  /** Writes `data[0, length)` as the cycle whose waiters are already set, rotating first if the segment is full. */
  #beginCycle(data: Buffer, length: number, firstSequence: number): void {
    this.#previousCycleBytes = this.#lastCycleBytes;
    this.#lastCycleBytes = length;
    this.#cycleData = data;
    this.#cycleLength = length;
    this.#cycleWritten = 0;
    if (length > 0 && this.#position >= this.#segmentBytes) {
      // Rare: a new segment first (async, with its own syncs).
      this.#rotate(firstSequence).then(this.#writeCycle, this.#failCycle);
      return;
    }
    this.#writeCycle();
  }

  readonly #writeCycle = (): void => {
    if (this.#cycleLength === 0) {
      this.#afterWrite();
      return;
    }
    if (this.#position + this.#cycleLength > this.#allocatedEnd && this.#waitForRoom()) return;
    try {
      this.#faults?.beforeWrite?.();
      if (this.#writeThrough) this.#faults?.beforeSync?.();
    } catch (error) {
      this.#failCycle(error);
      return;
    }
    this.#writeRest();
  };

  #writeRest(): void {
    const written = this.#cycleWritten;
    try {
      const parts = this.#cycleParts;
      if (parts === undefined) writeCallback(this.#handle!.fd, this.#cycleData, written, this.#cycleLength - written, this.#position + written, this.#onWritten);
      else writevCallback(this.#handle!.fd, written === 0 ? parts : partsAfter(parts, written), this.#position + written, this.#onWritten);
    } catch (error) {
      // Argument errors are thrown rather than passed to the callback: they fail the cycle all the same.
      this.#failCycle(error);
    }
  }

  readonly #onWritten = (error: Error | null, bytesWritten: number): void => {
    if (error !== null) {
      this.#failCycle(error);
      return;
    }
    if (bytesWritten <= 0) {
      // Never seen for a regular file; retrying would spin forever.
      this.#failCycle(new Error(`a write of ${this.#cycleLength - this.#cycleWritten} bytes wrote nothing`));
      return;
    }
    this.#cycleWritten += bytesWritten;
    if (this.#cycleWritten < this.#cycleLength) {
      this.#writeRest();
      return;
    }
    const length = this.#cycleLength;
    this.#position += length;
    if (this.#position > this.#allocatedEnd) this.#allocatedEnd = this.#position;
    this.#fillAhead();
    this.#writtenSequence = this.#cycleLastSequence;
    this.#stats.bytesWritten += length;
    this.#stats.writeCycles++;
    // In write-through mode the write returned once its bytes were durable (O_DSYNC).
    if (this.#writeThrough) this.#markSynced();
    else this.#unsynced = true;
    this.#afterWrite();
  };

  /** The cycle's bytes are written: release deferred waiters, then sync if anyone waits for durability. */
  #afterWrite(): void {
    this.#cycleDeferred?.resolve();
    this.#cycleDeferred = undefined;
    if (this.#cycleImmediate !== undefined || this.#cycleSync !== undefined) {
      if (this.#unsynced) {
        try {
          this.#faults?.beforeSync?.();
        } catch (error) {
          this.#failCycle(error);
          return;
        }
        try {
          fdatasyncCallback(this.#handle!.fd, this.#onSynced);
        } catch (error) {
          this.#failCycle(error);
        }
        return;
      }
      this.#cycleDurable();
      return;
    }
    if (this.#cycleLength > 0 && !this.#writeThrough) this.#armTimer();
    this.#nextCycle();
  }

  readonly #onSynced = (error: Error | null): void => {
    if (error !== null) {
      this.#failCycle(error);
      return;
    }
    this.#markSynced();
    this.#cycleDurable();
  };

  /**
   * Everything written is durable now (an fdatasync returned, or a
   * write-through write did). Nothing is written while a sync runs: one cycle
   * at a time, and rotation syncs inside its cycle.
   */
  #markSynced(): void {
    this.#stats.syncs++;
    this.#unsynced = false;
    this.#durableSequence = Math.max(this.#durableSequence, this.#writtenSequence);
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #cycleDurable(): void {
    this.#cycleImmediate?.resolve();
    this.#cycleSync?.resolve();
    this.#cycleImmediate = this.#cycleSync = undefined;
    this.#nextCycle();
  }

  readonly #failCycle = (error: unknown): void => {
    const poison = this.#poisonWith(error);
    this.#cycleImmediate?.reject(poison);
    this.#cycleDeferred?.reject(poison);
    this.#cycleSync?.reject(poison);
    this.#cycleImmediate = this.#cycleDeferred = this.#cycleSync = undefined;
    this.#nextCycle();
  };

  /** Nothing left to write (or poisoned): waiters still pending fail with the poison; `close()` may go on. */
  #endCycles(): void {
    if (this.#poison !== undefined) {
      this.#sealedImmediate?.reject(this.#poison);
      this.#sealedDeferred?.reject(this.#poison);
      this.#sealedImmediate = this.#sealedDeferred = undefined;
      this.#sealedLength = 0;
      this.#immediate?.reject(this.#poison);
      this.#deferred?.reject(this.#poison);
      this.#syncWaiters?.reject(this.#poison);
      this.#immediate = this.#deferred = this.#syncWaiters = undefined;
      this.#length = 0;
      this.#clearFilled();
    }
    this.#cycleActive = false;
    const ended = this.#cycleEnded;
    this.#cycleEnded = undefined;
    ended?.resolve();
  }

  /** Syncs what is written (before a rotation closes the segment); write cycles sync through `#afterWrite`. */
  async #syncNow(): Promise<void> {
    if (!this.#unsynced) return;
    this.#faults?.beforeSync?.();
    await this.#handle?.datasync();
    this.#markSynced();
  }

  #armTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#unsynced && this.#poison === undefined && !this.#closed) {
        this.sync().catch(() => undefined);
      }
    }, this.#deferredFlushMs);
  }

  /**
   * The cycle's bytes do not fit in the zero-filled space. True when the
   * cycle will resume once a fill has made room (started here if none runs);
   * false when it should write now, growing the file: a cycle larger than
   * the next fill, or preallocation off.
   */
  #waitForRoom(): boolean {
    if (this.#fill === undefined) {
      if (!this.#preallocate || this.#handle === undefined) return false;
      const target = this.#fillTarget();
      if (target < this.#position + this.#cycleLength) return false;
      this.#startFill(target);
    }
    this.#waitingForRoom = true;
    return true;
  }

  /** Resumes a cycle waiting for room once the zeros cover its bytes, or once the fill ended (then it writes regardless). */
  #resumeIfRoom(fillEnded: boolean): void {
    if (!this.#waitingForRoom) return;
    if (!fillEnded && this.#position + this.#cycleLength > this.#allocatedEnd) return;
    this.#waitingForRoom = false;
    this.#writeCycle();
  }

  /** Starts the next fill once less than half a fill of free space is left, off the write path. */
  #fillAhead(): void {
    if (this.#fill !== undefined || !this.#preallocate || this.#handle === undefined) return;
    const target = this.#fillTarget();
    if (target <= this.#allocatedEnd || this.#allocatedEnd - this.#position >= (target - this.#allocatedEnd) / 2) return;
    this.#startFill(target);
  }

  #startFill(target: number): void {
    const fill: Promise<void> = this.#zeroFill(target).finally(() => {
      if (this.#fill === fill) this.#fill = undefined;
      this.#resumeIfRoom(true);
    });
    this.#fill = fill;
  }

  /** Where the next fill ends: twice the segment so far, by at most {@link MAX_FILL_BYTES}, never past the rotation size. */
  #fillTarget(): number {
    const chunk = Math.min(MAX_FILL_BYTES, Math.max(MIN_FILL_BYTES, this.#allocatedEnd));
    return Math.min(this.#allocatedEnd + chunk, this.#segmentBytes);
  }

  /**
   * Writes zeros from the allocated end to `target`, a call of
   * {@link FILL_WRITE_BYTES} at a time, and makes them durable (each write
   * itself in write-through mode, one fdatasync at the end otherwise). The
   * allocated end moves after each call, and a cycle waiting for room goes
   * as soon as it fits. Data is only ever written below the allocated end,
   * so a fill never overlaps a write cycle. A failure
   * (a full disk, say) turns preallocation off: cycles then grow the file as
   * they would without it, and fail by themselves if the disk is really full.
   */
  async #zeroFill(target: number): Promise<void> {
    const handle = this.#handle!;
    try {
      await this.#faults?.beforeFill?.();
      zeros ??= Buffer.alloc(FILL_WRITE_BYTES);
      let at = this.#allocatedEnd;
      while (at < target) {
        await this.#faults?.beforeFillWrite?.(at);
        const { bytesWritten } = await handle.write(zeros, 0, Math.min(zeros.length, target - at), at);
        if (bytesWritten <= 0) throw new Error("a zero fill wrote nothing");
        at += bytesWritten;
        // These zeros are free space now: a waiting cycle may write into
        // them while the fill goes on above them (the two never overlap).
        // In write-through mode they are durable already; in fdatasync mode
        // the cycle's own fdatasync commits them with its data.
        this.#stats.bytesPreallocated += at - this.#allocatedEnd;
        this.#allocatedEnd = at;
        this.#resumeIfRoom(false);
      }
      if (!this.#writeThrough) await handle.datasync();
    } catch {
      this.#preallocate = false;
    }
  }

  async #rotate(firstSequence: number): Promise<void> {
    await this.#fill;
    await this.#syncNow();
    // Only the last segment may end in free space (the reader stops at zeros there, and only there).
    await this.#trimFreeSpace();
    // Creating the first segment of a fresh log is not a rotation.
    const rotating = this.#handle !== undefined;
    await this.#handle?.close();
    this.#handle = undefined;
    const { handle, path } = await createSegment(this.#walDir, firstSequence, this.syncMode);
    this.#handle = handle;
    this.#segmentPath = path;
    this.#position = SEGMENT_HEADER_BYTES;
    this.#allocatedEnd = SEGMENT_HEADER_BYTES;
    if (rotating) this.#stats.rotations++;
  }

  #poisonWith(error: unknown): StorageError {
    this.#timer?.cancel();
    const message = error instanceof Error ? error.message : String(error);
    this.#poison = new StorageError(
      "AUTHORITY_POISONED",
      `the WAL writer is poisoned: a write or fsync of ${this.#segmentPath} failed (${message}); ` +
        "nothing more can be appended until the process reopens the data directory",
      { cause: error, details: { file: this.#segmentPath } },
    );
    return this.#poison;
  }
}
