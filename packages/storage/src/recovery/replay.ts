/**
 * Turning WAL records into projection state during recovery: decode, insist
 * on contiguous sequences (the authority never leaves gaps, so a gap means
 * lost records), validate and apply. Replay refusals are reported with file
 * and offset and kept distinct from disk damage.
 */
import { StorageError } from "@actionqueue/core";
import { decodeEvent } from "../codec/event-codec.js";
import type { Projection } from "../projection/projection.js";
import { projectionState } from "../projection/projection.js";
import { applyChange } from "../projection/apply.js";
import { validateDecodedEvent } from "../projection/validate.js";
import type { WalRecord } from "../wal/reader.js";
import { SegmentRecord } from "../wal/reader.js";

/**
 * Returns an `onRecord` callback that replays into `projection`, counting
 * records. The projection's state index is suspended while records stream
 * in: call {@link finishReplay} once the scan is over.
 */
export function replayInto(projection: Projection, counter: { replayed: number }): (record: WalRecord) => void {
  // The state once, not per record (a weak-map lookup each time showed in replay profiles).
  const state = projectionState(projection);
  state.suspendIndexes();
  return (record) => {
    const command =
      record instanceof SegmentRecord ? decodeEvent(record.bytes, record.sequence, record.start, record.end) : decodeEvent(record.payload, record.sequence);
    const expected = state.latestSequence + 1;
    if (record.sequence !== expected) {
      throw new StorageError(
        "WAL_CORRUPT",
        record.sequence > expected
          ? `WAL gap in ${record.file} at offset ${record.offset}: record ${record.sequence} follows ${expected - 1}; records ${expected}..${record.sequence - 1} are missing`
          : `WAL out of order in ${record.file} at offset ${record.offset}: record ${record.sequence} follows ${expected - 1}`,
        { details: { file: record.file, offset: record.offset, expected, actual: record.sequence } },
      );
    }
    try {
      // The sequence is latest + 1 (checked above): validate, then apply.
      applyChange(state, command, validateDecodedEvent(state, command));
    } catch (error) {
      throw new StorageError(
        "WAL_CORRUPT",
        `replay refused record ${record.sequence} (${command.kind}) in ${record.file} at offset ${record.offset}: ${(error as Error).message}`,
        { cause: error, details: { file: record.file, offset: record.offset, sequence: record.sequence } },
      );
    }
    counter.replayed++;
  };
}

/** Ends a replay started with {@link replayInto}: rebuilds the projection's state index. */
export function finishReplay(projection: Projection): void {
  projectionState(projection).rebuildIndexes();
}
