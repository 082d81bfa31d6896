/**
 * A damaged snapshot is never fatal: recovery skips it, says which file and
 * why, and rebuilds the same state from an older snapshot or from the WAL
 * alone (the WAL still holds everything a kept snapshot covers). Only when
 * the WAL no longer reaches back far enough does the open stop, naming the
 * missing records, rather than start from a state with a hole in it.
 */
import { readFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError, AttemptOutcome } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { SNAPSHOT_SCHEMA_VERSION, encodeSnapshot, openStorage, openStorageReadOnly } from "@actionqueue/storage";
import type { OpenStorageOptions, Projection, SnapshotInfo, Storage } from "@actionqueue/storage";
import { Commands, dirDigest, refusal, removeDir, submit, tempDir } from "./helpers.js";

let dataDir: string;
let c: Commands;
const open = (extra: Partial<OpenStorageOptions> = {}): Promise<Storage> => openStorage({ dataDir, clock: c.clock, ...extra });

beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

/** The whole state as bytes, for equality. */
function stateBytes(projection: unknown): Buffer {
  return encodeSnapshot(projection as Projection, 0);
}

/** A run dispatched and finished with `outcome`, ending in `newState`. */
async function finishRun(store: Storage, runId: RunId, outcome: AttemptOutcome, newState: "completed" | "retryWait"): Promise<void> {
  const now = c.clock.now();
  const attemptId = c.ids.attemptId();
  await submit(store.authority, { kind: "runDispatch", timestamp: now, runId, owner: "w1", expiresAt: now + 30_000, attemptId });
  await submit(store.authority, { kind: "runFinish", timestamp: now + 1, runId, attemptId, outcome, newState });
}

/**
 * Writes a state with something in most sections (a completed run with its
 * output, a run waiting to retry, a budget, a paused engine), snapshots it,
 * then adds a WAL tail after the snapshot. Nothing is left leased or running,
 * so a reopen has nothing to reconcile and the states compare exactly.
 */
async function writeState(): Promise<{ snapshot: SnapshotInfo; latest: number; state: Buffer }> {
  const store = await open();
  const submitted = c.taskSubmit(3, { maxAttempts: 3 });
  const [a, b, d] = submitted.runs.map((run) => run.id) as [RunId, RunId, RunId];
  await submit(store.authority, submitted);
  await submit(store.authority, { kind: "runsPromote", timestamp: c.clock.now(), runIds: [a, b] });
  await finishRun(store, a, AttemptOutcome.successWithOutput(new Uint8Array([7, 7])), "completed");
  await finishRun(store, b, AttemptOutcome.failure("boom"), "retryWait");
  await submit(store.authority, { kind: "budgetAllocate", timestamp: c.clock.now(), taskId: submitted.taskSpec.id, dimension: "token", limit: 500 });
  const snapshot = await store.writeSnapshot();
  // The tail: records only the WAL has.
  await submit(store.authority, { kind: "runsPromote", timestamp: c.clock.now(), runIds: [b, d] });
  await submit(store.authority, { kind: "enginePause", timestamp: c.clock.now() });
  const state = stateBytes(store.projection);
  const latest = store.authority.latestSequence();
  await store.close();
  expect(snapshot.sequence).toBeLessThan(latest);
  return { snapshot, latest, state };
}

/** Opening (writer and read-only) skips `file` for `reason` and rebuilds `state` from the WAL alone. */
async function expectWalOnlyRecovery(file: string, reason: string, latest: number, state: Buffer): Promise<void> {
  const store = await open();
  expect(store.recoveryReport).toMatchObject({
    snapshot: undefined,
    skippedSnapshots: [{ file, reason }],
    walRecordsReplayed: latest,
    latestSequence: latest,
    truncations: [],
    reconciledRuns: [],
  });
  expect(stateBytes(store.projection).equals(state)).toBe(true);
  await store.close();
  const inspected = openStorageReadOnly({ dataDir });
  expect(inspected).toMatchObject({ snapshot: undefined, skippedSnapshots: [{ file, reason }], walRecordsReplayed: latest, latestSequence: latest });
  expect(stateBytes(inspected.projection).equals(state)).toBe(true);
}

describe("recovery falls back past a damaged snapshot", () => {
  it("a snapshot cut to 5 bytes: skipped, named with why, and the WAL alone rebuilds the same state", async () => {
    const { snapshot, latest, state } = await writeState();
    truncateSync(snapshot.file, 5);
    await expectWalOnlyRecovery(snapshot.file, "snapshot is 5 bytes, shorter than its 32-byte header", latest, state);
  });

  it("a snapshot with a schema version this build does not read: the same", async () => {
    const { snapshot, latest, state } = await writeState();
    const bytes = readFileSync(snapshot.file);
    // The schema version is the u32 after the 8-byte magic.
    bytes.writeUInt32LE(SNAPSHOT_SCHEMA_VERSION + 1, 8);
    writeFileSync(snapshot.file, bytes);
    await expectWalOnlyRecovery(
      snapshot.file,
      `snapshot schema version ${SNAPSHOT_SCHEMA_VERSION + 1} is not supported (this build reads ${SNAPSHOT_SCHEMA_VERSION})`,
      latest,
      state,
    );
  });

  it("a snapshot whose file name and header disagree on the sequence: the same", async () => {
    const { snapshot, latest, state } = await writeState();
    const renamed = join(dataDir, "snapshots", `${String(snapshot.sequence - 1).padStart(20, "0")}.snap`);
    renameSync(snapshot.file, renamed);
    await expectWalOnlyRecovery(renamed, `file name says sequence ${snapshot.sequence - 1}, the header says ${snapshot.sequence}`, latest, state);
  });

  describe("with two snapshot generations and a compacted WAL", () => {
    /** Two snapshots far enough apart that compaction removed the segments the older one covers. */
    async function writeGenerations(): Promise<{ older: SnapshotInfo; newer: SnapshotInfo; latest: number; state: Buffer }> {
      const store = await open({ segmentBytes: 1024 });
      const task = c.taskCreate();
      await submit(store.authority, task);
      for (let i = 0; i < 30; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
      const older = await store.writeSnapshot();
      for (let i = 0; i < 30; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
      const newer = await store.writeSnapshot();
      for (let i = 0; i < 5; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
      const state = stateBytes(store.projection);
      const latest = store.authority.latestSequence();
      await store.close();
      // The WAL no longer starts at 1: only the older snapshot bridges the gap.
      expect(newer.removedSegments.length).toBeGreaterThan(0);
      return { older, newer, latest, state };
    }

    it("a damaged newest snapshot falls back to the older one and the WAL tail kept for it", async () => {
      const { older, newer, latest, state } = await writeGenerations();
      truncateSync(newer.file, 5);
      const store = await open();
      expect(store.recoveryReport).toMatchObject({
        snapshot: { file: older.file, sequence: older.sequence },
        skippedSnapshots: [{ file: newer.file, reason: "snapshot is 5 bytes, shorter than its 32-byte header" }],
        walRecordsReplayed: latest - older.sequence,
        latestSequence: latest,
      });
      expect(stateBytes(store.projection).equals(state)).toBe(true);
      await store.close();
    });

    it("both generations damaged: the open stops naming the records the compacted WAL no longer has, and changes nothing", async () => {
      const { older, newer } = await writeGenerations();
      for (const file of [older.file, newer.file]) truncateSync(file, 5);
      const before = [dirDigest(join(dataDir, "wal")), dirDigest(join(dataDir, "snapshots"))];
      const error = await refusal(open());
      expect(ActionQueueError.hasCode(error, "WAL_CORRUPT"), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/WAL gap in .* at offset \d+: record \d+ follows 0; records 1\.\.\d+ are missing/);
      // The gap is the damaged snapshots' doing: the refusal names them, from either opener.
      for (const refused of [error, await refusal(Promise.resolve().then(() => openStorageReadOnly({ dataDir })))]) {
        expect((refused as Error).message).toContain(`recovery skipped damaged snapshots before it: ${newer.file} (snapshot is 5 bytes`);
        expect((refused as Error).message).toContain(older.file);
        expect((refused as ActionQueueError).details).toMatchObject({ skippedSnapshots: [newer.file, older.file] });
      }
      expect([dirDigest(join(dataDir, "wal")), dirDigest(join(dataDir, "snapshots"))]).toEqual(before);
    });
  });
});
