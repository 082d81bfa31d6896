/**
 * Well-framed records that replay must refuse: the frame and its checksum are
 * fine, so no byte-level repair may touch them, but the state cannot accept
 * them (an illegal transition, an unknown run, a gap in the sequences, a
 * payload that does not decode). Each open must stop with an error naming
 * the file and where in it, and leave the WAL exactly as it found it.
 *
 * The bad records are written by the package's own WAL writer and event
 * encoder, as a buggy or foreign writer would have written them: only the
 * authority's validation is bypassed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError, AttemptOutcome } from "@actionqueue/core";
import type { RunId, UnsequencedCommand } from "@actionqueue/core";
import { decodeEvent, encodeEvent, openStorage, openStorageReadOnly, openWalWriter, repairWal, scanWal, verifyWal } from "@actionqueue/storage";
import type { WalRecord } from "@actionqueue/storage";
import { Commands, dirDigest, refusal, removeDir, startRun, submit, submitBatch, tempDir } from "./helpers.js";

let dataDir: string;
let c: Commands;
beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

const walDir = (): string => join(dataDir, "wal");

/** A task with a completed run and a scheduled one, written through the authority; returns the run ids. */
async function writeHistory(): Promise<{ completed: RunId; scheduled: RunId }> {
  const store = await openStorage({ dataDir, clock: c.clock });
  const task = c.taskCreate({ maxAttempts: 2 });
  const done = c.runCreate(task.taskSpec.id);
  const waiting = c.runCreate(task.taskSpec.id);
  await submitBatch(store.authority, [task, done, waiting]);
  const attemptId = await startRun(store.authority, c, done.run.id);
  await submit(store.authority, { kind: "attemptFinish", timestamp: c.clock.now(), runId: done.run.id, attemptId, outcome: AttemptOutcome.success() });
  await submit(store.authority, c.transition(done.run.id, "running", "completed"));
  await store.close();
  return { completed: done.run.id, scheduled: waiting.run.id };
}

/** Appends one record as the WAL writer frames it, with no validation; returns where it landed. */
async function appendRaw(sequence: number, command: UnsequencedCommand, payloadTail = new Uint8Array()): Promise<WalRecord> {
  const { writer } = await openWalWriter(walDir());
  const payload = Buffer.concat([encodeEvent({ ...command, sequence }), payloadTail]);
  await writer.append(sequence, payload, "immediate");
  await writer.close();
  const records: WalRecord[] = [];
  scanWal(walDir(), { onRecord: (record) => records.push(record) });
  const last = records.at(-1)!;
  expect(last.sequence).toBe(sequence);
  return last;
}

/**
 * Every way of opening the directory refuses with WAL_CORRUPT and a message
 * that names the file and offset; afterwards the WAL is byte for byte what
 * it was, and no LOCK is left behind.
 */
async function expectRefusedEverywhere(record: WalRecord, message: string): Promise<ActionQueueError> {
  const before = dirDigest(walDir());
  const failures: unknown[] = [];
  for (const repair of ["strict", "truncatePartial"] as const) failures.push(await refusal(openStorage({ dataDir, clock: c.clock, repair })));
  // The read-only opener replays the same way and must refuse the same way.
  failures.push(await refusal(Promise.resolve().then(() => openStorageReadOnly({ dataDir }))));
  for (const error of failures) {
    expect(ActionQueueError.hasCode(error, "WAL_CORRUPT"), String(error)).toBe(true);
    expect((error as Error).message).toContain(message);
    expect((error as ActionQueueError).details).toMatchObject({ file: record.file, offset: record.offset });
  }
  expect(dirDigest(walDir())).toBe(before);
  expect(readdirSync(dataDir)).not.toContain("LOCK");
  return failures[0] as ActionQueueError;
}

/**
 * The byte-level tools (the CLI's `wal verify` / `wal repair`) see a sound
 * frame: even asked to drop a damaged final record, repair cuts nothing.
 */
function expectRepairCutsNothing(lastSequence: number): void {
  const before = dirDigest(walDir());
  expect(verifyWal(walDir()).findings).toEqual([]);
  expect(repairWal(walDir(), { truncatePartial: true })).toEqual({ truncations: [], lastSequence });
  expect(dirDigest(walDir())).toBe(before);
}

describe("replay refuses a well-framed record the state cannot accept", () => {
  it("an illegal run state transition (completed → ready): WAL_CORRUPT naming file, offset and sequence; nothing cut", async () => {
    const { completed } = await writeHistory();
    const latest = openStorageReadOnly({ dataDir }).latestSequence;
    const record = await appendRaw(latest + 1, c.transition(completed, "completed", "ready"));

    const error = await expectRefusedEverywhere(record, `replay refused record ${latest + 1} (runStateTransition) in ${record.file} at offset ${record.offset}`);
    expect(error.details).toMatchObject({ sequence: latest + 1 });
    // The reason is the validation error itself, kept as the cause.
    expect(ActionQueueError.hasCode(error.cause, "INVALID_TRANSITION")).toBe(true);
    expectRepairCutsNothing(latest + 1);
  });

  it("a command for an unknown run: WAL_CORRUPT with the NOT_FOUND cause; nothing cut", async () => {
    await writeHistory();
    const latest = openStorageReadOnly({ dataDir }).latestSequence;
    const ghost = c.ids.runId();
    const record = await appendRaw(latest + 1, c.transition(ghost, "scheduled", "ready"));

    const error = await expectRefusedEverywhere(record, `replay refused record ${latest + 1} (runStateTransition) in ${record.file} at offset ${record.offset}: unknown run ${ghost}`);
    expect(ActionQueueError.hasCode(error.cause, "NOT_FOUND")).toBe(true);
    expectRepairCutsNothing(latest + 1);
  });

  it("an attempt start on a run that is not running: WAL_CORRUPT with the ATTEMPT_START_REQUIRES_RUNNING cause; nothing cut", async () => {
    const { scheduled } = await writeHistory();
    const latest = openStorageReadOnly({ dataDir }).latestSequence;
    const record = await appendRaw(latest + 1, c.attemptStart(scheduled, c.ids.attemptId()));

    const error = await expectRefusedEverywhere(record, `replay refused record ${latest + 1} (attemptStart) in ${record.file} at offset ${record.offset}`);
    expect(ActionQueueError.hasCode(error.cause, "ATTEMPT_START_REQUIRES_RUNNING")).toBe(true);
    expectRepairCutsNothing(latest + 1);
  });
});

describe("replay refuses a gap in the sequences", () => {
  // The authority never leaves gaps, so a missing sequence means lost
  // records: unlike the Rust reducer, replay does not skip over them.
  it("record N followed by N + 2: WAL_CORRUPT naming file, offset and the missing range; nothing cut", async () => {
    await writeHistory();
    const latest = openStorageReadOnly({ dataDir }).latestSequence;
    // A command that would be valid in itself: only its sequence is wrong.
    const record = await appendRaw(latest + 2, c.taskCreate());

    const error = await expectRefusedEverywhere(
      record,
      `WAL gap in ${record.file} at offset ${record.offset}: record ${latest + 2} follows ${latest}; records ${latest + 1}..${latest + 1} are missing`,
    );
    expect(error.details).toMatchObject({ expected: latest + 1, actual: latest + 2 });
    expectRepairCutsNothing(latest + 2);
  });

  it("a gap right after the snapshot's sequence is refused too, not read as 'no tail' (the Rust seek looked for exactly S + 1)", async () => {
    const store = await openStorage({ dataDir, clock: c.clock });
    for (let i = 0; i < 3; i++) await submit(store.authority, c.taskCreate());
    const snapshot = await store.writeSnapshot();
    await store.close();
    const record = await appendRaw(snapshot.sequence + 2, c.taskCreate());

    const error = await expectRefusedEverywhere(record, `WAL gap in ${record.file} at offset ${record.offset}: record ${snapshot.sequence + 2} follows ${snapshot.sequence}`);
    expect(error.details).toMatchObject({ expected: snapshot.sequence + 1, actual: snapshot.sequence + 2 });
    expectRepairCutsNothing(snapshot.sequence + 2);
  });
});

describe("a well-framed record whose payload does not decode", () => {
  it("stops the writer open with DECODE_FAILED naming file and offset, in either repair mode; read-only reports it; nothing is ever cut", async () => {
    await writeHistory();
    const latest = openStorageReadOnly({ dataDir }).latestSequence;
    // A valid event with one byte too many: the decoder refuses trailing bytes.
    const record = await appendRaw(latest + 1, c.taskCreate(), new Uint8Array([0]));
    const before = dirDigest(walDir());

    for (const repair of ["strict", "truncatePartial"] as const) {
      const error = await refusal(openStorage({ dataDir, clock: c.clock, repair }));
      expect(ActionQueueError.hasCode(error, "DECODE_FAILED"), String(error)).toBe(true);
      expect((error as Error).message).toContain(`${record.file} at offset ${record.offset}: decode_failure`);
      expect((error as ActionQueueError).details).toMatchObject({ file: record.file, offset: record.offset, repair: "none" });
    }
    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.latestSequence).toBe(latest);
    expect(inspected.findings).toMatchObject([{ kind: "decode_failure", file: record.file, offset: record.offset, repair: "none" }]);
    // Repair with a payload check reports the record and still cuts nothing.
    expect(() => repairWal(walDir(), { truncatePartial: true, onRecord: (r) => void decodeEvent(r.payload, r.sequence) })).toThrow(
      `${record.file} at offset ${record.offset}: decode_failure`,
    );
    expect(dirDigest(walDir())).toBe(before);
    expect(readdirSync(dataDir)).not.toContain("LOCK");
  });
});
