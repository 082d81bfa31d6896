import { spawn } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AttemptOutcome, ActionQueueError, RunInstance } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { ABANDONED_ATTEMPT_MESSAGE, encodeSnapshot, openStorage, openStorageReadOnly } from "@actionqueue/storage";
import type { Storage , Projection } from "@actionqueue/storage";
import { Commands, refusal, removeDir, startRun, submit, submitBatch, tempDir } from "./helpers.js";

let dataDir: string;
let c: Commands;
const open = (extra: Partial<Parameters<typeof openStorage>[0]> = {}): Promise<Storage> => openStorage({ dataDir, clock: c.clock, ...extra });

beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

function snapshotBytes(p: unknown): Buffer {
  return encodeSnapshot(p as Projection, 0);
}

describe("openStorage", () => {
  it("opens an empty directory with everything at zero and creates the layout", async () => {
    const store = await open();
    expect(store.recoveryReport).toMatchObject({ walRecordsReplayed: 0, latestSequence: 0, truncations: [], reconciledRuns: [], snapshot: undefined });
    expect(store.projection.taskCount).toBe(0);
    expect(readdirSync(dataDir).sort()).toEqual(["LOCK", "snapshots", "wal"]);
    await store.close();
    expect(readdirSync(dataDir).sort()).toEqual(["snapshots", "wal"]);
  });

  it("creates the first WAL segment at open, so the first submission does not wait for it", async () => {
    const store = await open();
    expect(readdirSync(join(dataDir, "wal"))).toEqual(["00000000000000000001.wal"]);
    await submit(store.authority, c.taskCreate());
    // The append found its segment ready: no rotation (creation) on the write path.
    expect(store.walStats()).toMatchObject({ rotations: 0, recordsAppended: 1 });
    await store.close();
    const again = await open();
    expect(again.recoveryReport).toMatchObject({ walRecordsReplayed: 1, latestSequence: 1 });
    await again.close();
  });

  it("with every segment compacted into the snapshot, the segment created at open is named after the snapshot", async () => {
    const store = await open();
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 4; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
    await store.writeSnapshot();
    await store.close();
    const wal = join(dataDir, "wal");
    for (const name of readdirSync(wal)) rmSync(join(wal, name));
    const again = await open();
    expect(readdirSync(wal)).toEqual(["00000000000000000006.wal"]);
    await submit(again.authority, c.runCreate(task.taskSpec.id));
    await again.close();
    const third = await open();
    expect(third.recoveryReport).toMatchObject({ latestSequence: 6, walRecordsReplayed: 1 });
    expect(third.projection.runCount).toBe(5);
    await third.close();
  });

  it("applies commands in order, returns the applied mutation, and survives reopen", async () => {
    const store = await open();
    const task = c.taskCreate({ maxAttempts: 2 });
    const run = c.runCreate(task.taskSpec.id);
    expect(await submit(store.authority, task)).toEqual({ sequence: 1, applied: { kind: "taskCreate", taskId: task.taskSpec.id } });
    expect(await submit(store.authority, run)).toEqual({ sequence: 2, applied: { kind: "runCreate", runId: run.run.id, taskId: task.taskSpec.id } });
    const attemptId = await startRun(store.authority, c, run.run.id);
    await submit(store.authority, { kind: "attemptFinish", timestamp: c.clock.now(), runId: run.run.id, attemptId, outcome: AttemptOutcome.successWithOutput(new Uint8Array([42])) });
    await submit(store.authority, c.transition(run.run.id, "running", "completed"));
    const before = snapshotBytes(store.projection);
    await store.close();

    const again = await open();
    expect(again.recoveryReport.walRecordsReplayed).toBe(9);
    expect(again.recoveryReport.reconciledRuns).toEqual([]);
    expect(snapshotBytes(again.projection).equals(before)).toBe(true);
    expect(again.projection.runState(run.run.id)).toBe("completed");
    expect(again.projection.attempts(run.run.id)[0]!.outcome).toEqual({ result: "success", output: new Uint8Array([42]) });
    expect(again.projection.runHistory(run.run.id).map((h) => h.to)).toEqual(["scheduled", "ready", "leased", "running", "completed"]);
    expect(again.projection.lease(run.run.id)).toBeUndefined();
    expect((await submit(again.authority, { kind: "enginePause", timestamp: c.clock.now() })).sequence).toBe(10);
    await again.close();
  });

  it("refuses a wrong sequence with SEQUENCE_CONFLICT and writes nothing", async () => {
    const store = await open();
    await submit(store.authority, c.taskCreate());
    await expect(store.authority.submitCommand({ kind: "enginePause", timestamp: 1, sequence: 1 }, "immediate")).rejects.toMatchObject({
      code: "SEQUENCE_CONFLICT",
      expected: 2,
      actual: 1,
    });
    await expect(store.authority.submitCommand({ kind: "enginePause", timestamp: 1, sequence: 5 }, "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
    expect(store.authority.latestSequence()).toBe(1);
    await store.close();
    const reopened = await open();
    expect(reopened.recoveryReport.walRecordsReplayed).toBe(1);
    await reopened.close();
  });

  it("rejects invalid commands with typed errors before anything is written", async () => {
    const store = await open();
    const task = c.taskCreate({ maxAttempts: 3 });
    const run = c.runCreate(task.taskSpec.id);
    await submitBatch(store.authority, [task, run]);
    const runId = run.run.id;
    const cases: [Parameters<typeof submit>[1], string][] = [
      [c.taskCreate({}, task.taskSpec.id), "ALREADY_EXISTS"],
      [c.runCreate(c.ids.taskId()), "NOT_FOUND"],
      [c.transition(c.ids.runId(), "scheduled", "ready"), "NOT_FOUND"],
      [c.transition(runId, "ready", "leased"), "COMMAND_REJECTED"],
      [c.transition(runId, "scheduled", "completed"), "INVALID_TRANSITION"],
      [c.attemptStart(runId, c.ids.attemptId()), "ATTEMPT_START_REQUIRES_RUNNING"],
      [{ kind: "leaseAcquire", timestamp: 1, runId, owner: "w", expiresAt: 5, attemptId: c.ids.attemptId() }, "COMMAND_REJECTED"],
      [{ kind: "leaseRelease", timestamp: 1, runId, owner: "w", expiresAt: 5 }, "COMMAND_REJECTED"],
      [{ kind: "engineResume", timestamp: 1 }, "COMMAND_REJECTED"],
      [{ kind: "dependencyDeclare", timestamp: 1, taskId: task.taskSpec.id, dependsOn: [] }, "EMPTY_DEPENDENCY_LIST"],
      [{ kind: "budgetReplenish", timestamp: 1, taskId: task.taskSpec.id, dimension: "token", newLimit: 5 }, "NOT_FOUND"],
      [{ kind: "runSuspend", timestamp: 1, runId }, "COMMAND_REJECTED"],
      [{ kind: "taskCancel", timestamp: 1, taskId: c.ids.taskId() }, "NOT_FOUND"],
    ];
    for (const [command, code] of cases) {
      const error = await submit(store.authority, command).catch((e: unknown) => e);
      expect(ActionQueueError.hasCode(error, code as never), `${command.kind}: ${String(error)}`).toBe(true);
    }
    expect(store.authority.latestSequence()).toBe(2);
    await store.close();
  });

  it("never accepts what replay would refuse: leaving running with an active attempt, resume before pause", async () => {
    const store = await open();
    const task = c.taskCreate({ maxAttempts: 3 });
    const run = c.runCreate(task.taskSpec.id);
    await submitBatch(store.authority, [task, run]);
    await startRun(store.authority, c, run.run.id);
    await expect(submit(store.authority, c.transition(run.run.id, "running", "completed"))).rejects.toMatchObject({ code: "ATTEMPT_IN_PROGRESS" });
    await expect(submit(store.authority, { kind: "runSuspend", timestamp: c.clock.now(), runId: run.run.id })).rejects.toMatchObject({ code: "ATTEMPT_IN_PROGRESS" });
    await submit(store.authority, { kind: "enginePause", timestamp: 2_000 });
    await expect(submit(store.authority, { kind: "engineResume", timestamp: 1_000 })).rejects.toMatchObject({ code: "COMMAND_REJECTED" });
    await store.close();
    const again = await open({ reconcile: false });
    expect(again.projection.isEnginePaused()).toBe(true);
    await again.close();
  });

  it("batches are atomic: a refused command leaves nothing applied or written", async () => {
    const store = await open();
    const task = c.taskCreate();
    const runs = [c.runCreate(task.taskSpec.id), c.runCreate(task.taskSpec.id)];
    const outcomes = await submitBatch(store.authority, [task, ...runs]);
    expect(outcomes.map((o) => o.sequence)).toEqual([1, 2, 3]);
    expect(store.projection.runsOfTask(task.taskSpec.id)).toEqual(runs.map((r) => r.run.id).sort());
    const task2 = c.taskCreate();
    const good = c.runCreate(task2.taskSpec.id);
    await expect(submitBatch(store.authority, [task2, good, c.runCreate(task2.taskSpec.id, good.run.id)])).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    expect(store.projection.getTask(task2.taskSpec.id)).toBeUndefined();
    expect(store.projection.runCount).toBe(2);
    expect(store.projection.countsByState().scheduled).toBe(2);
    expect(store.authority.latestSequence()).toBe(3);
    await store.close();
    const again = await open();
    expect(again.recoveryReport.walRecordsReplayed).toBe(3);
    await again.close();
  });

  it("recovery makes Leased and Running runs eligible again, durably (uncertainty clause)", async () => {
    const store = await open();
    const retryable = c.taskCreate({ maxAttempts: 2 });
    const once = c.taskCreate({ maxAttempts: 1 });
    const r1 = c.runCreate(retryable.taskSpec.id);
    const r2 = c.runCreate(once.taskSpec.id);
    const r3 = c.runCreate(retryable.taskSpec.id);
    await submitBatch(store.authority, [retryable, once, r1, r2, r3]);
    const a1 = await startRun(store.authority, c, r1.run.id);
    await startRun(store.authority, c, r2.run.id);
    await submit(store.authority, c.transition(r3.run.id, "scheduled", "ready"));
    await submit(store.authority, { kind: "leaseAcquire", timestamp: 1, runId: r3.run.id, owner: "w3", expiresAt: 99, attemptId: c.ids.attemptId() });
    await submit(store.authority, c.transition(r3.run.id, "ready", "leased"));
    await store.close();

    const again = await open();
    const byRun = Object.fromEntries(again.recoveryReport.reconciledRuns.map((r) => [r.runId, r]));
    expect(byRun[r1.run.id]).toMatchObject({ from: "running", to: "retryWait", abandonedAttemptId: a1 });
    expect(byRun[r2.run.id]).toMatchObject({ from: "running", to: "failed" });
    expect(byRun[r3.run.id]).toMatchObject({ from: "leased", to: "ready" });
    const p = again.projection;
    expect(p.attempts(r1.run.id)[0]!.outcome).toEqual({ result: "failure", error: ABANDONED_ATTEMPT_MESSAGE });
    expect(p.lease(r1.run.id)).toBeUndefined();
    expect(p.lease(r3.run.id)).toBeUndefined();
    expect(p.getRun(r1.run.id)!.attemptCount).toBe(1);
    const state = snapshotBytes(p);
    const sequence = again.authority.latestSequence();
    await again.close();

    const third = await open();
    expect(third.recoveryReport.reconciledRuns).toEqual([]);
    expect(third.authority.latestSequence()).toBe(sequence);
    expect(snapshotBytes(third.projection).equals(state)).toBe(true);
    await third.close();
  });

  it("runDispatch leases and starts a ready run in one record; it survives reopen, and recovery treats the run like any running run", async () => {
    const store = await open();
    const task = c.taskCreate({ maxAttempts: 2 });
    const run = c.runCreate(task.taskSpec.id);
    const runId = run.run.id;
    await submitBatch(store.authority, [task, run, c.transition(runId, "scheduled", "ready")]);
    const attemptId = c.ids.attemptId();
    const now = c.clock.now();
    const dispatch = { kind: "runDispatch", timestamp: now, runId, owner: "w1", expiresAt: now + 30_000, attemptId } as const;
    expect(await submit(store.authority, dispatch)).toEqual({ sequence: 4, applied: { kind: "runDispatch", runId, owner: "w1", expiresAt: now + 30_000, attemptId } });
    expect(store.projection.runHistory(runId).map((h) => h.to)).toEqual(["scheduled", "ready", "leased", "running"]);
    expect(store.projection.lease(runId)).toMatchObject({ owner: "w1", expiresAt: now + 30_000, attemptId });
    expect(store.projection.activeAttemptId(runId)).toBe(attemptId);
    expect(store.projection.runsInState("running")).toEqual([runId]);
    // A second dispatch of the same run is refused and writes nothing.
    const refused = await refusal(submit(store.authority, { ...dispatch, attemptId: c.ids.attemptId() }));
    expect(ActionQueueError.hasCode(refused, "COMMAND_REJECTED")).toBe(true);
    expect(store.authority.latestSequence()).toBe(4);
    const before = snapshotBytes(store.projection);
    await store.close();

    // Read-only: the same state, replayed from the one record.
    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(4);
    expect(snapshotBytes(inspected.projection).equals(before)).toBe(true);

    // Writer open: the dispatched run was running when the process stopped, so its attempt is abandoned and counted.
    const again = await open();
    expect(again.recoveryReport.reconciledRuns).toMatchObject([{ runId, from: "running", to: "retryWait", abandonedAttemptId: attemptId }]);
    expect(again.projection.getRun(runId)!.attemptCount).toBe(1);
    await again.close();
  });

  it("taskSubmit creates a task and its runs in one record; a taken id is refused by name and writes nothing; it replays", async () => {
    const store = await open();
    const submitted = c.taskSubmit(2);
    const taskId = submitted.taskSpec.id;
    const runIds = submitted.runs.map((run) => run.id);
    expect(await submit(store.authority, submitted)).toEqual({ sequence: 1, applied: { kind: "taskSubmit", taskId, runIds } });
    expect(store.projection.runsOfTask(taskId)).toEqual(runIds);
    expect(store.projection.getRun(runIds[1]!)).toMatchObject({ state: "scheduled", scheduledAt: submitted.timestamp + 1, effectivePriority: 1, attemptCount: 0 });
    const before = snapshotBytes(store.projection);
    // A second task reusing the first's run id: refused as a whole, its task included.
    const other = c.taskSubmit(1);
    const clash = { ...other, runs: [RunInstance.newScheduled({ id: runIds[0]!, taskId: other.taskSpec.id, scheduledAt: other.timestamp, createdAt: other.timestamp })] };
    const refused = await refusal(submit(store.authority, clash));
    expect(ActionQueueError.hasCode(refused, "ALREADY_EXISTS")).toBe(true);
    expect((refused as Error).message).toContain(`run ${runIds[0]} already exists`);
    expect(store.projection.getTask(other.taskSpec.id)).toBeUndefined();
    expect(store.authority.latestSequence()).toBe(1);
    expect(snapshotBytes(store.projection).equals(before)).toBe(true);
    await store.close();

    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(1);
    expect(snapshotBytes(inspected.projection).equals(before)).toBe(true);
  });

  it("runsDispatch leases and starts several ready runs in one record; a list with a run that is not ready is refused by name and writes nothing; it replays", async () => {
    const store = await open();
    const submitted = c.taskSubmit(3, { maxAttempts: 2 });
    const [a, b, d] = submitted.runs.map((run) => run.id) as [RunId, RunId, RunId];
    await submit(store.authority, submitted);
    const now = c.clock.now();
    await submit(store.authority, { kind: "runsPromote", timestamp: now, runIds: [a, b] });
    const attemptIds = [c.ids.attemptId(), c.ids.attemptId()];
    const dispatch = { kind: "runsDispatch", timestamp: now, owner: "w1", expiresAt: now + 30_000, runIds: [a, b], attemptIds } as const;
    expect(await submit(store.authority, dispatch)).toEqual({
      sequence: 3,
      applied: { kind: "runsDispatch", runIds: [a, b], attemptIds, owner: "w1", expiresAt: now + 30_000 },
    });
    expect(store.projection.runsInState("running")).toEqual([a, b]);
    expect(store.projection.lease(b)).toMatchObject({ owner: "w1", expiresAt: now + 30_000, attemptId: attemptIds[1] });
    expect(store.projection.activeAttemptId(a)).toBe(attemptIds[0]);
    const before = snapshotBytes(store.projection);
    // d was never promoted: the whole list is refused, a included.
    const refused = await refusal(submit(store.authority, { ...dispatch, runIds: [d, a], attemptIds: [c.ids.attemptId(), c.ids.attemptId()] }));
    expect(ActionQueueError.hasCode(refused, "COMMAND_REJECTED")).toBe(true);
    expect((refused as Error).message).toContain(`run ${d}: a dispatch requires state ready, the run is scheduled`);
    expect(store.authority.latestSequence()).toBe(3);
    expect(snapshotBytes(store.projection).equals(before)).toBe(true);
    await store.close();

    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(3);
    expect(snapshotBytes(inspected.projection).equals(before)).toBe(true);
    // Writer open: both dispatched runs were running when the process stopped; their attempts are abandoned and counted.
    const again = await open();
    expect(again.recoveryReport.reconciledRuns.map((r) => r.runId).sort()).toEqual([a, b].sort());
    await again.close();
  });

  it("runsPromote moves several runs to ready in one record; a list with a run in another state is refused by name and writes nothing; it replays", async () => {
    const store = await open();
    const task = c.taskCreate();
    const runs = [c.runCreate(task.taskSpec.id), c.runCreate(task.taskSpec.id), c.runCreate(task.taskSpec.id)];
    const [a, b, d] = runs.map((r) => r.run.id) as [RunId, RunId, RunId];
    await submitBatch(store.authority, [task, ...runs]);
    const now = c.clock.now();
    expect(await submit(store.authority, { kind: "runsPromote", timestamp: now, runIds: [a, b] })).toEqual({ sequence: 5, applied: { kind: "runsPromote", runIds: [a, b] } });
    expect(store.projection.runsInState("ready")).toEqual([a, b]);
    expect(store.projection.runHistory(b)).toEqual([
      { from: null, to: "scheduled", at: expect.any(Number) },
      { from: "scheduled", to: "ready", at: now },
    ]);
    const before = snapshotBytes(store.projection);
    // b is ready already: the whole list is refused, d included.
    const refused = await refusal(submit(store.authority, { kind: "runsPromote", timestamp: now, runIds: [d, b] }));
    expect(ActionQueueError.hasCode(refused, "COMMAND_REJECTED")).toBe(true);
    expect((refused as Error).message).toContain(`run ${b}: a promotion requires state scheduled or retryWait, the run is ready`);
    const repeated = await refusal(submit(store.authority, { kind: "runsPromote", timestamp: now, runIds: [d, d] }));
    expect(ActionQueueError.hasCode(repeated, "INVALID_FIELD")).toBe(true);
    expect(store.authority.latestSequence()).toBe(5);
    expect(snapshotBytes(store.projection).equals(before)).toBe(true);
    await store.close();

    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(5);
    expect(snapshotBytes(inspected.projection).equals(before)).toBe(true);
  });

  it("runFinish finishes the attempt and moves the run out of running in one record; a stale finish writes nothing; it survives reopen", async () => {
    const store = await open();
    const task = c.taskCreate({ maxAttempts: 2 });
    const run = c.runCreate(task.taskSpec.id);
    const runId = run.run.id;
    const attemptId = c.ids.attemptId();
    const now = c.clock.now();
    await submitBatch(store.authority, [task, run, c.transition(runId, "scheduled", "ready")]);
    await submit(store.authority, { kind: "runDispatch", timestamp: now, runId, owner: "w1", expiresAt: now + 30_000, attemptId });
    const outcome = AttemptOutcome.failure("boom");
    const finish = { kind: "runFinish", timestamp: now + 5, runId, attemptId, outcome, newState: "retryWait" } as const;
    expect(await submit(store.authority, finish)).toEqual({ sequence: 5, applied: { kind: "runFinish", runId, attemptId, outcome, newState: "retryWait" } });
    expect(store.projection.runHistory(runId).map((h) => h.to)).toEqual(["scheduled", "ready", "leased", "running", "retryWait"]);
    expect(store.projection.attempts(runId)).toMatchObject([{ attemptId, startedAt: now, finishedAt: now + 5, outcome: { result: "failure", error: "boom" } }]);
    expect(store.projection.activeAttemptId(runId)).toBeUndefined();
    // The lease ends with running, as the separate transition would end it.
    expect(store.projection.lease(runId)).toBeUndefined();
    // The same finish again: no attempt is active and the run is not running, so it is refused and writes nothing.
    const refused = await refusal(submit(store.authority, finish));
    expect(ActionQueueError.hasCode(refused, "ATTEMPT_FINISH_REQUIRES_RUNNING")).toBe(true);
    expect(store.authority.latestSequence()).toBe(5);
    const before = snapshotBytes(store.projection);
    await store.close();

    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(5);
    expect(snapshotBytes(inspected.projection).equals(before)).toBe(true);
    // A writer open has nothing to reconcile: the run is waiting for its retry, not running.
    const again = await open();
    expect(again.recoveryReport.reconciledRuns).toEqual([]);
    expect(snapshotBytes(again.projection).equals(before)).toBe(true);
    await again.close();
  });

  it("snapshot plus WAL tail equals full replay; a damaged snapshot falls back", async () => {
    const store = await open();
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 5; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
    const info = await store.writeSnapshot();
    expect(info.sequence).toBe(6);
    for (let i = 0; i < 3; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
    const state = snapshotBytes(store.projection);
    await store.close();

    const again = await open();
    expect(again.recoveryReport.snapshot?.sequence).toBe(6);
    expect(again.recoveryReport.walRecordsReplayed).toBe(3);
    expect(snapshotBytes(again.projection).equals(state)).toBe(true);
    await again.close();

    const bytes = readFileSync(info.file);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(info.file, bytes);
    const fallback = await open();
    expect(fallback.recoveryReport.snapshot).toBeUndefined();
    expect(fallback.recoveryReport.skippedSnapshots[0]!.reason).toMatch(/checksum/);
    expect(fallback.recoveryReport.walRecordsReplayed).toBe(9);
    expect(snapshotBytes(fallback.projection).equals(state)).toBe(true);
    await fallback.close();
  });

  it("builds snapshots in a worker thread from the durable files, byte for byte what the live state at that sequence encodes to", async () => {
    const store = await open();
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 300; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
    const run = c.runCreate(task.taskSpec.id);
    await submit(store.authority, run);
    await startRun(store.authority, c, run.run.id);
    const expected = encodeSnapshot(store.projection as Projection, c.clock.now());
    const sequence = store.projection.latestSequence;
    const pending = store.writeSnapshot();
    // Let the build start, then keep writing while the worker reads the files.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
    const info = await pending;
    expect(info).toMatchObject({ sequence, encodedIn: "worker" });
    expect(readFileSync(info.file).equals(expected)).toBe(true);
    await store.close();
  });

  it("encodes on the calling thread when asked to, with the same bytes", async () => {
    const store = await open({ snapshotInWorker: false });
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 20; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
    const expected = encodeSnapshot(store.projection as Projection, c.clock.now());
    const info = await store.writeSnapshot();
    expect(info.encodedIn).toBe("caller");
    expect(readFileSync(info.file).equals(expected)).toBe(true);
    await store.close();
  });

  it("close abandons a snapshot still building and leaves the directory recoverable", async () => {
    const store = await open();
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 200; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
    const state = snapshotBytes(store.projection);
    const pending = store.writeSnapshot();
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
    // Either it finished first or it was abandoned with CLOSED; never anything else.
    await pending.then(
      (info) => expect(info.encodedIn).toBe("worker"),
      (error: unknown) => expect(ActionQueueError.is(error) && error.code).toBe("CLOSED"),
    );
    const again = await open();
    expect(snapshotBytes(again.projection).equals(state)).toBe(true);
    await again.close();
  });

  it("compaction keeps disk use bounded under a steady workload", async () => {
    const store = await open({ segmentBytes: 4096, snapshotEvery: 200 });
    const task = c.taskCreate();
    await submit(store.authority, task);
    let maxSegments = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 200; i++) await submit(store.authority, c.runCreate(task.taskSpec.id), "deferred");
      await store.writeSnapshot();
      maxSegments = Math.max(maxSegments, readdirSync(join(dataDir, "wal")).length);
    }
    const state = snapshotBytes(store.projection);
    await store.close();
    expect(readdirSync(join(dataDir, "snapshots")).length).toBeLessThanOrEqual(2);
    expect(maxSegments).toBeLessThan(40);
    const again = await open();
    expect(snapshotBytes(again.projection).equals(state)).toBe(true);
    expect(again.projection.runCount).toBe(2000);
    await again.close();
  });

  it("recovery from a snapshot does not read the WAL segments it covers", async () => {
    const store = await open({ segmentBytes: 1024 });
    const task = c.taskCreate();
    await submit(store.authority, task);
    for (let i = 0; i < 60; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
    await store.writeSnapshot();
    for (let i = 0; i < 5; i++) await submit(store.authority, c.runCreate(task.taskSpec.id));
    const state = snapshotBytes(store.projection);
    await store.close();
    const segments = readdirSync(join(dataDir, "wal")).sort();
    expect(segments.length).toBeGreaterThan(3);
    // Damage the first segment: only the WAL-only fallback would need it.
    const first = join(dataDir, "wal", segments[0]!);
    const bytes = readFileSync(first);
    bytes[40]! ^= 0xff;
    writeFileSync(first, bytes);
    const again = await open();
    expect(again.recoveryReport.walRecordsReplayed).toBe(5);
    expect(snapshotBytes(again.projection).equals(state)).toBe(true);
    await again.close();
    const { verifyWal } = await import("@actionqueue/storage");
    expect(verifyWal(join(dataDir, "wal")).findings[0]).toMatchObject({ file: first, repair: "none" });
  });

  it("one writer per directory: a second open fails naming the pid; read-only works meanwhile and writes nothing", async () => {
    const store = await open();
    await submit(store.authority, c.taskCreate());
    await expect(open()).rejects.toThrow(new RegExp(`process \\(pid ${process.pid}\\)|pid ${process.pid}`));
    const listing = readdirSync(dataDir).sort();
    const ro = openStorageReadOnly({ dataDir });
    expect(ro.latestSequence).toBe(1);
    expect(ro.findings).toEqual([]);
    expect(readdirSync(dataDir).sort()).toEqual(listing);
    await store.close();
  });

  it("a lock held by another live process is refused with its pid", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(join(dataDir, "LOCK"), `${child.pid}\n`);
      await expect(open()).rejects.toMatchObject({ code: "LOCK_HELD", details: { pid: child.pid } });
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    const store = await open();
    await store.close();
  });

  it("read-only open of a missing directory creates nothing", () => {
    const missing = join(dataDir, "nope");
    const ro = openStorageReadOnly({ dataDir: missing });
    expect(ro.latestSequence).toBe(0);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
