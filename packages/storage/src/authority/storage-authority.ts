/**
 * The storage-owned mutation authority: the only gate through which durable
 * state changes. Per command, synchronously and in submission order: check the
 * sequence, validate against the projection (the same function replay uses),
 * encode, queue the record in the log, apply it in memory. The returned
 * promise settles when the log says the record is durable per the durability
 * policy. An I/O failure poisons the authority (fail-stop): every later call
 * rejects until the process reopens the data directory and recovers from disk.
 */
import { CommandRejectedError, SequenceConflictError, StorageError, ValidationError } from "@actionqueue/core";
import type { DurabilityPolicy, GroupCommitMutationAuthority, MutationCommand, MutationOutcome } from "@actionqueue/core";
import { BinaryWriter } from "../codec/binary.js";
import { encodeEventTransient, writeEvent } from "../codec/event-codec.js";
import { applyChange, applyEvent } from "../projection/apply.js";
import type { Projection } from "../projection/projection.js";
import { projectionState } from "../projection/projection.js";
import type { ProjectionState } from "../projection/state.js";
import { validateEvent } from "../projection/validate.js";
import { MAX_PAYLOAD_BYTES } from "../wal/frame.js";

/** Where the authority writes records: the file WAL writer or any backend's log. */
export interface EventSink {
  /**
   * Queues one record; resolves when durable per `durability`. Must copy
   * `payload` before returning: the authority reuses that buffer.
   */
  append(sequence: number, payload: Uint8Array, durability: DurabilityPolicy): Promise<void>;
  /**
   * Queues several records, encoded back to back in `bytes`, as one atomic
   * unit: record `i` has sequence `firstSequence + i` and ends at `ends[i]`
   * (bytes after the last end are not part of the batch).
   * Must copy before returning: the authority reuses that buffer and `ends`.
   */
  appendEncodedBatch(firstSequence: number, bytes: Uint8Array, ends: readonly number[], durability: DurabilityPolicy): Promise<void>;
  /** Set once the sink failed; nothing more may be appended. */
  readonly poisonedBy: Error | undefined;
  /** Optional: ends the group commit being filled here (see the WAL writer's `commitBoundary`). */
  commitBoundary?(): void;
}

/**
 * A batch whose commands are given one at a time (see
 * {@link StorageMutationAuthority.openBatch}): each is validated, encoded and
 * applied as it is added, and nothing reaches the log before `commit`.
 */
export interface OpenBatch {
  /**
   * Validates, encodes and applies `command` (its sequence must be the next
   * one). On a refusal the whole batch is undone and closed, and the error is
   * thrown.
   */
  add(command: MutationCommand): void;
  /** Commands added so far. */
  readonly size: number;
  /**
   * Queues every added command as one atomic record batch and closes the
   * batch; the promise is that of {@link StorageMutationAuthority.submitBatchDurable}
   * (shared by every batch of the group commit). An empty batch writes nothing.
   */
  commit(durability: DurabilityPolicy): Promise<void>;
  /** Undoes every added command and closes the batch (a no-op once closed). */
  abort(): void;
}

/** Validates, writes ahead, applies; see the module comment. */
export class StorageMutationAuthority implements GroupCommitMutationAuthority {
  readonly #projection: Projection;
  readonly #sink: EventSink;
  readonly #state: ProjectionState;
  readonly #onAccepted: ((count: number) => void) | undefined;
  #poison: StorageError | undefined;
  #closed = false;
  /** True while an {@link OpenBatch} is open: no other command may interleave with it. */
  #batchOpen = false;

  /**
   * @param onAccepted called synchronously with the number of commands just
   * accepted (validated, queued and applied); `openStorage` uses it to
   * trigger periodic snapshots.
   */
  constructor(projection: Projection, sink: EventSink, onAccepted?: (count: number) => void) {
    this.#projection = projection;
    this.#sink = sink;
    this.#state = projectionState(projection);
    this.#onAccepted = onAccepted;
  }

  /** The sequence of the last accepted command (0 when none). */
  latestSequence(): number {
    return this.#projection.latestSequence;
  }

  /** The error that poisoned the authority, if any. */
  get poisonedBy(): StorageError | undefined {
    return this.#poison;
  }

  /** Refuses every later command with `CLOSED` (used by `close()`). */
  markClosed(): void {
    this.#closed = true;
  }

  #usable(): Error | undefined {
    if (this.#batchOpen) return new CommandRejectedError("COMMAND_REJECTED", "a batch is open on the mutation authority: commit or abort it first", { details: {} });
    if (this.#poison !== undefined) return this.#poison;
    if (this.#sink.poisonedBy !== undefined) return this.#poisonWith(this.#sink.poisonedBy);
    if (this.#closed) return new StorageError("CLOSED", "the storage is closed; no more commands are accepted");
    return undefined;
  }

  // One rejection handler for every write (not a closure per command).
  readonly #failWrite = (error: unknown): never => {
    throw this.#poisonWith(error);
  };

  #poisonWith(error: unknown): StorageError {
    if (this.#poison === undefined) {
      this.#poison = StorageError.hasCode(error, "AUTHORITY_POISONED")
        ? (error)
        : new StorageError("AUTHORITY_POISONED", `the mutation authority is poisoned after a storage failure: ${(error as Error).message}`, { cause: error });
    }
    return this.#poison;
  }

  /**
   * Submits one command. Rejects with `SEQUENCE_CONFLICT` unless
   * `command.sequence === latestSequence() + 1`, with the validation error
   * (typed, naming field and value) if the state refuses it, with
   * `AUTHORITY_POISONED` after an I/O failure. Resolves once durable.
   */
  submitCommand(command: MutationCommand, durability: DurabilityPolicy): Promise<MutationOutcome> {
    const unusable = this.#usable();
    if (unusable !== undefined) return Promise.reject(unusable);
    const state = this.#state;
    const expected = state.latestSequence + 1;
    if (command.sequence !== expected) return Promise.reject(new SequenceConflictError(expected, command.sequence));
    let payload: Uint8Array;
    try {
      validateEvent(state, command);
      payload = encodeEventTransient(command);
      checkRecordSize(command, payload.length);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const written = this.#sink.append(command.sequence, payload, durability);
    const applied = applyEvent(state, command);
    this.#onAccepted?.(1);
    const outcome: MutationOutcome = { sequence: command.sequence, applied };
    return written.then(() => outcome, this.#failWrite);
  }

  /**
   * Submits several commands as one atomic, durable unit (for example a
   * TaskCreate with its RunCreates). Sequences must run on from
   * `latestSequence() + 1`; each command is validated against the state the
   * previous ones leave, and if any is refused, nothing is written or applied.
   */
  submitBatch(commands: readonly MutationCommand[], durability: DurabilityPolicy): Promise<readonly MutationOutcome[]> {
    const outcomes: MutationOutcome[] = [];
    const written = this.#acceptBatch(commands, durability, outcomes);
    if (written instanceof Error) return Promise.reject(written);
    return written.then(() => outcomes, this.#failWrite);
  }

  /** Ends the group commit being filled here: see {@link GroupCommitMutationAuthority.commitBoundary}. */
  commitBoundary(): void {
    this.#sink.commitBoundary?.();
  }

  /**
   * {@link submitBatch} for callers that need only durability, not the
   * outcomes: the same validation, atomicity and ordering, but the promise
   * resolves with nothing and is shared by every batch that joins the same
   * group commit, so a call allocates no promise, closure or outcome of its
   * own (the runtime's submit, dispatch and finish paths run this per job).
   * Whether the batch was accepted is known synchronously too:
   * `latestSequence()` moved by `commands.length`. A write failure rejects
   * it with `AUTHORITY_POISONED`.
   */
  submitBatchDurable(commands: readonly MutationCommand[], durability: DurabilityPolicy): Promise<void> {
    const written = this.#acceptBatch(commands, durability, undefined);
    if (written instanceof Error) return Promise.reject(written);
    return this.#durableFor(written, durability);
  }

  /**
   * Opens a batch that takes its commands one at a time: the same
   * validation, atomicity and ordering as {@link submitBatchDurable}, without
   * the caller building every command (and whatever it derives them from)
   * before the first is checked. A bulk submission then keeps nothing per
   * task alive longer than it needs. Until the batch is committed or
   * aborted, every other call is refused; use it within one synchronous
   * stretch of code.
   */
  openBatch(): OpenBatch {
    const unusable = this.#usable();
    if (unusable !== undefined) throw unusable;
    const state = this.#state;
    const scratch = batchScratch;
    scratch.reset();
    const ends: number[] = [];
    const firstSequence = state.latestSequence + 1;
    state.beginJournal();
    this.#batchOpen = true;
    let open = true;
    const close = (): void => {
      open = false;
      this.#batchOpen = false;
    };
    const abort = (): void => {
      if (!open) return;
      state.rollbackJournal();
      close();
    };
    return {
      add: (command: MutationCommand): void => {
        if (!open) throw batchClosed();
        try {
          const known = checkAndEncode(state, scratch, command);
          applyChange(state, command, known);
          ends.push(scratch.length);
        } catch (error) {
          abort();
          throw error;
        }
      },
      get size(): number {
        return ends.length;
      },
      commit: (durability: DurabilityPolicy): Promise<void> => {
        if (!open) return Promise.reject(batchClosed());
        state.commitJournal();
        close();
        if (ends.length === 0) return NOTHING_WRITTEN;
        let written: Promise<void>;
        try {
          written = this.#sink.appendEncodedBatch(firstSequence, scratch.buffer, ends, durability);
        } finally {
          releaseLargeScratch(scratch);
        }
        this.#onAccepted?.(ends.length);
        return this.#durableFor(written, durability);
      },
      abort,
    };
  }

  /** The promise shared by every batch of the group commit `written` belongs to. */
  #durableFor(written: Promise<void>, durability: DurabilityPolicy): Promise<void> {
    // One per durability: the sink settles immediate and deferred records with different promises.
    return (durability === "immediate" ? this.#sharedImmediate : this.#sharedDeferred).durableFor(written, this.#failWrite);
  }

  readonly #sharedImmediate = new SharedCommit();
  readonly #sharedDeferred = new SharedCommit();

  /** Validates, encodes, queues and applies a batch; the sink's promise, or the refusal. */
  #acceptBatch(commands: readonly MutationCommand[], durability: DurabilityPolicy, outcomes: MutationOutcome[] | undefined): Promise<void> | Error {
    const unusable = this.#usable();
    if (unusable !== undefined) return unusable;
    if (commands.length === 0) return NOTHING_WRITTEN;
    const state = this.#state;
    // Every payload is encoded into one shared scratch buffer (the sink
    // copies before returning), rather than two fresh buffers per command.
    const scratch = batchScratch;
    scratch.reset();
    // A fresh array per batch, sized up front: emptying a shared one (setting
    // its length) costs more, and growing `[]` by push allocates room for 17.
    const ends = new Array<number>(commands.length);
    // A single command needs no undo journal: it is applied last, after
    // everything that can refuse it.
    const journaled = commands.length > 1;
    if (journaled) state.beginJournal();
    try {
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i]!;
        const known = checkAndEncode(state, scratch, command);
        ends[i] = scratch.length;
        if (outcomes === undefined) applyChange(state, command, known);
        else outcomes.push({ sequence: command.sequence, applied: applyEvent(state, command) });
      }
    } catch (error) {
      if (journaled) state.rollbackJournal();
      return error instanceof Error ? error : new Error(String(error));
    }
    if (journaled) state.commitJournal();
    // The scratch buffer itself, not a view per batch: the sink reads only up to the last end.
    const written = this.#sink.appendEncodedBatch(commands[0]!.sequence, scratch.buffer, ends, durability);
    releaseLargeScratch(scratch);
    this.#onAccepted?.(commands.length);
    return written;
  }
}

/**
 * The checks of one command of a batch, then its encoding appended to
 * `scratch`: the sequence must be the next, the state must accept it, and
 * its record must fit the WAL. Throws the refusal; applies nothing. Returns
 * what validation looked up, for `applyChange`.
 */
function checkAndEncode(state: ProjectionState, scratch: BinaryWriter, command: MutationCommand): ReturnType<typeof validateEvent> {
  const expected = state.latestSequence + 1;
  if (command.sequence !== expected) throw new SequenceConflictError(expected, command.sequence);
  const known = validateEvent(state, command);
  const start = scratch.length;
  writeEvent(scratch, command);
  checkRecordSize(command, scratch.length - start);
  return known;
}

/**
 * Refuses a record the WAL writer would refuse, before anything is applied:
 * an oversized payload is bad input, not a storage failure, and must never
 * poison the authority.
 */
function checkRecordSize(command: MutationCommand, bytes: number): void {
  if (bytes <= MAX_PAYLOAD_BYTES) return;
  // Name what made it large: a task's payload, or the runs a submission creates with it.
  const payloadBytes = command.kind === "taskSubmit" || command.kind === "taskCreate" ? command.taskSpec.payload.bytes.length : 0;
  const runs = command.kind === "taskSubmit" ? command.runs.length : 0;
  const byRuns = runs > 0 && payloadBytes < bytes / 2;
  throw new ValidationError(
    "INVALID_PAYLOAD",
    byRuns
      ? `${command.kind} command ${command.sequence} (a task with ${runs} runs) encodes to ${bytes} bytes; a WAL record holds at most ${MAX_PAYLOAD_BYTES} bytes (create fewer runs per task)`
      : `${command.kind} command ${command.sequence} encodes to ${bytes} bytes${payloadBytes > 0 ? ` (a ${payloadBytes}-byte payload)` : ""}; a WAL record holds at most ${MAX_PAYLOAD_BYTES} bytes (use a smaller payload)`,
    { details: { field: byRuns ? "runPolicy.count" : "payload", bytes, max: MAX_PAYLOAD_BYTES } },
  );
}

const ignoreRejection = (): void => undefined;

function batchClosed(): Error {
  return new CommandRejectedError("COMMAND_REJECTED", "the batch was already committed or aborted", { details: {} });
}

/** An empty batch writes nothing and is "durable" at once. */
const NOTHING_WRITTEN: Promise<void> = Promise.resolve();

/**
 * The sink's promise for the group commit being filled and its poisoning
 * wrapper, shared by every batch of that commit.
 */
class SharedCommit {
  #written: Promise<void> | undefined;
  #durable: Promise<void> | undefined;

  /**
   * The wrapper of `written`, made once per commit. Marked handled: a caller
   * may keep only the promise of its last batch in a commit (the others are
   * the same or an earlier one), and a failed write must poison the authority
   * (every later call rejects), not end the process through an unhandled
   * rejection. Callers that attach a handler still see the error.
   */
  durableFor(written: Promise<void>, failWrite: (error: unknown) => never): Promise<void> {
    if (written !== this.#written || this.#durable === undefined) {
      this.#written = written;
      this.#durable = written.then(undefined, failWrite);
      this.#durable.catch(ignoreRejection);
    }
    return this.#durable;
  }
}

/** The scratch buffer batches are encoded into (used synchronously, so one is enough). */
let batchScratch = new BinaryWriter(1 << 16);
const SCRATCH_KEPT_BYTES = 1 << 20;

/** After a batch: one huge batch must not pin its buffer for the life of the process, so a fresh small scratch replaces it. */
function releaseLargeScratch(scratch: BinaryWriter): void {
  if (scratch.length > SCRATCH_KEPT_BYTES) batchScratch = new BinaryWriter(1 << 16);
}
