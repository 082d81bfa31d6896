/**
 * Every refusal of the snapshot decoder, one test per check: each input is
 * a valid encoding with exactly one thing changed (bytes patched and the
 * checksum recomputed, or a state changed behind the reducer's back and then
 * encoded), so the test fails if that check goes missing.
 */
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ActionQueueError, AttemptOutcome, RunInstance, StorageError, createTaskSpec } from "@actionqueue/core";
import type { AttemptId, RunId, TaskId, UnsequencedCommand } from "@actionqueue/core";
import { BinaryWriter } from "../codec/binary.js";
import { writeRun } from "../codec/domain-codec.js";
import { Projection, projectionState } from "../projection/projection.js";
import type { ProjectionState } from "../projection/state.js";
import { stateCode } from "../projection/records.js";
import type { RunRecord } from "../projection/records.js";
import { SNAPSHOT_HEADER_BYTES, SNAPSHOT_SCHEMA_VERSION, decodeSnapshot, encodeSnapshot } from "./snapshot-codec.js";

const T = (n: number): TaskId => `01HF0000000000000000000T${String(n).padStart(2, "0")}` as TaskId;
const R = (n: number): RunId => `01HF0000000000000000000R${String(n).padStart(2, "0")}` as RunId;
const A = (n: number): AttemptId => `01HF0000000000000000000A${String(n).padStart(2, "0")}` as AttemptId;

/** The time every run is created at: a two-byte varint (0xe8 0x07), patched below. */
const CREATED_AT = 1000;

/**
 * A valid state with something in every place a check looks: R1 completed
 * after one attempt (task T1), R2 scheduled (task T2), R3 running with its
 * attempt A3 active (task T1).
 */
function base(): Projection {
  const p = new Projection();
  const apply = (c: UnsequencedCommand): void => void p.apply({ ...c, sequence: p.latestSequence + 1 });
  const move = (n: number, previousState: string, newState: string): void =>
    apply({ kind: "runStateTransition", timestamp: 1100, runId: R(n), previousState: previousState as never, newState: newState as never });
  for (const n of [1, 2]) apply({ kind: "taskCreate", timestamp: CREATED_AT, taskSpec: createTaskSpec({ id: T(n), runPolicy: { kind: "once" }, constraints: { maxAttempts: 3 } }) });
  for (const [run, task] of [[1, 1], [2, 2], [3, 1]] as const) {
    apply({ kind: "runCreate", timestamp: CREATED_AT, run: RunInstance.newScheduled({ id: R(run), taskId: T(task), scheduledAt: CREATED_AT, createdAt: CREATED_AT }) });
  }
  for (const n of [1, 3]) {
    move(n, "scheduled", "ready");
    apply({ kind: "runDispatch", timestamp: 1200, runId: R(n), owner: "w1", expiresAt: 9000, attemptId: A(n) });
  }
  apply({ kind: "runFinish", timestamp: 1300, runId: R(1), attemptId: A(1), outcome: AttemptOutcome.success(), newState: "completed" });
  return p;
}

/** The base state with `change` made to it behind the reducer's back, encoded. */
function encodeWith(change: (s: ProjectionState) => void): Buffer {
  const p = base();
  change(projectionState(p));
  return encodeSnapshot(p, 7);
}

function run(s: ProjectionState, n: number): RunRecord {
  return s.runs.get(R(n))!;
}

/** `bytes` with its payload replaced and the header's length and checksum made to match again. */
function reseal(bytes: Buffer, payload: Uint8Array): Buffer {
  const out = Buffer.concat([bytes.subarray(0, SNAPSHOT_HEADER_BYTES), payload]);
  out.writeUInt32LE(payload.length, 24);
  out.writeUInt32LE(crc32(out.subarray(SNAPSHOT_HEADER_BYTES), crc32(out.subarray(0, 28))), 28);
  return out;
}

/** The base encoding with `patch` applied to a copy of its payload, resealed. */
function patched(patch: (payload: Buffer, historyOfR2: number, r2: number) => void): Buffer {
  const p = base();
  const bytes = encodeSnapshot(p, 7);
  const payload = Buffer.from(bytes.subarray(SNAPSHOT_HEADER_BYTES));
  // Where R2's own fields are, as the event codec writes them; its history follows.
  const w = new BinaryWriter();
  writeRun(w, run(projectionState(p), 2));
  const r2 = payload.indexOf(w.view());
  expect(r2).toBeGreaterThan(0);
  patch(payload, r2 + w.length, r2);
  return reseal(bytes, payload);
}

/** Decoding `bytes` throws SNAPSHOT_CORRUPT with a message matching `message`; returns the error. */
function expectCorrupt(bytes: Buffer, message: string | RegExp): StorageError {
  let error: unknown;
  try {
    decodeSnapshot(bytes);
  } catch (caught) {
    error = caught;
  }
  expect(StorageError.hasCode(error, "SNAPSHOT_CORRUPT"), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
  return error as StorageError;
}

describe("snapshot codec", () => {
  it("round-trips the base state byte for byte, and resealing an unchanged payload changes nothing (so every refusal below is the patch's)", () => {
    const p = base();
    const bytes = encodeSnapshot(p, 7);
    const decoded = decodeSnapshot(bytes);
    expect(decoded).toMatchObject({ sequence: p.latestSequence, createdAt: 7 });
    expect(encodeSnapshot(decoded.projection, 7).equals(bytes)).toBe(true);
    expect(reseal(bytes, bytes.subarray(SNAPSHOT_HEADER_BYTES)).equals(bytes)).toBe(true);
    expect(patched(() => undefined).equals(bytes)).toBe(true);
    expect(decoded.projection.activeAttemptId(R(3))).toBe(A(3));
  });
});

describe("attempts of runs canceled while running", () => {
  it("cancellation ends the running attempt (end time, no outcome), and a snapshot from before that closed it is read as ended when the run was canceled", () => {
    const p = base();
    p.apply({ kind: "runStateTransition", sequence: p.latestSequence + 1, timestamp: 1400, runId: R(3), previousState: "running", newState: "canceled" });
    const closed = { attemptId: A(3), startedAt: 1200, finishedAt: 1400 };
    const attemptsOf = (q: Projection): unknown => projectionState(q).runs.get(R(3))!.attempts;
    expect(attemptsOf(p)).toEqual([closed]);
    expect(attemptsOf(decodeSnapshot(encodeSnapshot(p, 7)).projection)).toEqual([closed]);
    // An older build left it open; reading its snapshot ends it at the run's last change.
    projectionState(p).runs.get(R(3))!.attempts = [{ attemptId: A(3), startedAt: 1200 }];
    expect(attemptsOf(decodeSnapshot(encodeSnapshot(p, 7)).projection)).toEqual([closed]);
  });
});

describe("snapshot codec refuses a damaged header with SNAPSHOT_CORRUPT", () => {
  const valid = (): Buffer => encodeSnapshot(base(), 7);

  it("a file shorter than the header (empty, or cut to 5 bytes)", () => {
    expectCorrupt(valid().subarray(0, 5), "snapshot is 5 bytes, shorter than its 32-byte header");
    expectCorrupt(Buffer.alloc(0), "snapshot is 0 bytes, shorter than its 32-byte header");
  });

  it("a wrong magic", () => {
    const bytes = valid();
    bytes[0] = 0x61;
    expectCorrupt(bytes, 'snapshot does not start with the magic "AQTSSNAP"');
  });

  it("a schema version this build does not read, named in the message and the details", () => {
    const bytes = valid();
    bytes.writeUInt32LE(SNAPSHOT_SCHEMA_VERSION + 1, 8);
    const error = expectCorrupt(bytes, `snapshot schema version ${SNAPSHOT_SCHEMA_VERSION + 1} is not supported (this build reads ${SNAPSHOT_SCHEMA_VERSION})`);
    expect(error.details).toEqual({ version: SNAPSHOT_SCHEMA_VERSION + 1 });
  });

  it("a file cut short or grown by a byte: the payload length says otherwise", () => {
    const bytes = valid();
    const length = bytes.length - SNAPSHOT_HEADER_BYTES;
    expectCorrupt(bytes.subarray(0, bytes.length - 1), `snapshot payload should be ${length} bytes, the file holds ${length - 1}`);
    expectCorrupt(Buffer.concat([bytes, Buffer.from([0])]), `snapshot payload should be ${length} bytes, the file holds ${length + 1}`);
  });

  it("a flipped bit anywhere the checksum covers: payload, WAL sequence, reserved field", () => {
    const length = valid().length;
    for (const at of [length - 1, SNAPSHOT_HEADER_BYTES + 3, 12, 16, 20]) {
      const damaged = valid();
      damaged[at]! ^= 0x01;
      expectCorrupt(damaged, /^snapshot checksum mismatch \(stored 0x[0-9a-f]+, computed 0x[0-9a-f]+\)$/);
    }
  });
});

describe("snapshot codec refuses a payload that does not decode with SNAPSHOT_CORRUPT", () => {
  it("trailing bytes after the last section", () => {
    const bytes = encodeSnapshot(base(), 7);
    expectCorrupt(reseal(bytes, Buffer.concat([bytes.subarray(SNAPSHOT_HEADER_BYTES), Buffer.from([0])])), /^snapshot does not decode: .*1 trailing bytes/);
  });

  it("a payload that ends early, keeping the decoder's error as the cause", () => {
    const bytes = encodeSnapshot(base(), 7);
    const error = expectCorrupt(reseal(bytes, bytes.subarray(SNAPSHOT_HEADER_BYTES, bytes.length - 3)), /^snapshot does not decode: cannot decode .* input ends/);
    expect(ActionQueueError.hasCode(error.cause, "DECODE_FAILED")).toBe(true);
  });

  it("a run state code out of range", () => {
    // A run's state is the byte after its two 16-byte ids.
    expectCorrupt(
      patched((payload, _history, r2) => (payload[r2 + 32] = 99)),
      /^snapshot does not decode: cannot decode run\.state at byte \d+: value 99 is not one of 0\.\.8/,
    );
  });

  it("a terminal run with an active attempt (the run codec's own invariant)", () => {
    const error = expectCorrupt(
      encodeWith((s) => (run(s, 1).currentAttemptId = A(1))),
      `snapshot does not decode: cannot decode run ${R(1)}: an active attempt (${A(1)}) is only possible while running, not completed`,
    );
    expect(ActionQueueError.hasCode(error.cause, "DECODE_FAILED")).toBe(true);
  });
});

describe("snapshot codec refuses a well-encoded state that breaks an invariant with SNAPSHOT_CORRUPT", () => {
  it("a task listed twice", () => {
    expectCorrupt(
      encodeWith((s) => s.tasks.set(T(9), s.tasks.get(T(1))!)),
      `snapshot lists task ${T(1)} twice`,
    );
  });

  it("a run listed twice", () => {
    const error = expectCorrupt(
      encodeWith((s) => s.runs.set(R(9), run(s, 2))),
      `snapshot lists run ${R(2)} twice`,
    );
    expect(error.details).toEqual({ runId: R(2) });
  });

  it("a run of a task the snapshot does not hold", () => {
    expectCorrupt(
      encodeWith((s) => s.tasks.delete(T(2))),
      `snapshot run ${R(2)} references unknown task ${T(2)}`,
    );
  });

  it("a history with no entries at all", () => {
    expectCorrupt(
      patched((payload, history) => {
        expect(payload[history]).toBe(1);
        payload[history] = 0;
      }),
      `snapshot run ${R(2)}: history does not start with → scheduled`,
    );
  });

  it("a first history entry that is not → scheduled at createdAt (a from state, another state, another time)", () => {
    const message = `snapshot run ${R(2)}: history does not start with → scheduled at createdAt`;
    // The first entry: from-flag, to-state, time.
    const first = (payload: Buffer, history: number): Buffer => {
      expect([...payload.subarray(history + 1, history + 5)]).toEqual([0, stateCode("scheduled"), 0xe8, 0x07]);
      return payload;
    };
    expectCorrupt(patched((payload, history) => (first(payload, history)[history + 1] = 1)), message);
    expectCorrupt(patched((payload, history) => (first(payload, history)[history + 2] = stateCode("ready"))), message);
    expectCorrupt(patched((payload, history) => (first(payload, history)[history + 3] = 0xe9)), message);
  });

  it("a history step the transition table does not allow", () => {
    expectCorrupt(
      encodeWith((s) => {
        run(s, 2).state = "completed";
        run(s, 2).history = [stateCode("completed"), 5];
      }),
      `snapshot run ${R(2)}: history step scheduled → completed is invalid`,
    );
  });

  it("a history that ends at another state than the run's", () => {
    expectCorrupt(
      encodeWith((s) => (run(s, 2).history = [stateCode("ready"), 5])),
      `snapshot run ${R(2)}: history ends at ready, the run is scheduled`,
    );
  });

  it("an attempt count that does not match the attempts recorded", () => {
    expectCorrupt(
      encodeWith((s) => (run(s, 1).attemptCount = 2)),
      `snapshot run ${R(1)}: 1 attempts recorded, attemptCount is 2`,
    );
  });

  it("an active attempt that is not the last, unfinished one (another id, or already finished)", () => {
    const message = `snapshot run ${R(3)}: active attempt`;
    expectCorrupt(
      encodeWith((s) => (run(s, 3).currentAttemptId = A(8))),
      `${message} ${A(8)} is not the last, unfinished attempt`,
    );
    expectCorrupt(
      encodeWith((s) => (run(s, 3).attempts = [{ attemptId: A(3), startedAt: 1200, finishedAt: 1250 }])),
      `${message} ${A(3)} is not the last, unfinished attempt`,
    );
  });
});
