/**
 * Commands the authority refuses write nothing: the latest sequence stays
 * where it was (the next command gets the sequence the refused one asked
 * for), the WAL files keep their exact bytes, and a reopen replays only what
 * was accepted. Covered here: reusing an attempt id of the same run, and
 * lease commands that do not match the run or its lease.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError, AttemptOutcome } from "@actionqueue/core";
import type { ErrorCode, RunId, UnsequencedCommand } from "@actionqueue/core";
import { openStorage, openStorageReadOnly } from "@actionqueue/storage";
import type { Storage } from "@actionqueue/storage";
import { Commands, dirDigest, refusal, removeDir, startRun, submit, tempDir } from "./helpers.js";

let dataDir: string;
let c: Commands;
beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

const walDir = (): string => join(dataDir, "wal");

/** A task with `runs` scheduled runs, submitted through the authority. */
async function setup(runs = 1): Promise<{ store: Storage; runIds: RunId[] }> {
  const store = await openStorage({ dataDir, clock: c.clock });
  const submitted = c.taskSubmit(runs, { maxAttempts: 5 });
  await submit(store.authority, submitted);
  return { store, runIds: submitted.runs.map((run) => run.id) };
}

/**
 * Submits `command` and expects it refused with `code` (and `message`, if
 * given), leaving the sequence, the WAL counters and the WAL bytes as they were.
 */
async function expectRefused(store: Storage, command: UnsequencedCommand, code: ErrorCode, message?: string): Promise<ActionQueueError> {
  const latest = store.authority.latestSequence();
  const appended = store.walStats().recordsAppended;
  const digest = dirDigest(walDir());
  const error = await refusal(submit(store.authority, command));
  expect(ActionQueueError.hasCode(error, code), `${command.kind}: ${String(error)}`).toBe(true);
  if (message !== undefined) expect((error as Error).message).toContain(message);
  expect(store.authority.latestSequence()).toBe(latest);
  expect(store.walStats().recordsAppended).toBe(appended);
  expect(dirDigest(walDir())).toBe(digest);
  return error as ActionQueueError;
}

describe("an attempt id is used once per run", () => {
  it("attemptStart with an attempt id the run already used is refused with ALREADY_EXISTS and writes nothing", async () => {
    const { store, runIds } = await setup();
    const runId = runIds[0]!;
    const first = await startRun(store.authority, c, runId);
    await submit(store.authority, { kind: "attemptFinish", timestamp: c.clock.now(), runId, attemptId: first, outcome: AttemptOutcome.failure("boom") });
    // Running with no active attempt: every other check of attemptStart passes, only the id is stale.
    const error = await expectRefused(store, c.attemptStart(runId, first), "ALREADY_EXISTS", `run ${runId}: attempt ${first} was already used`);
    expect(error.details).toEqual({ runId, attemptId: first });
    expect(store.projection.attempts(runId).map((a) => a.attemptId)).toEqual([first]);
    expect(store.projection.activeAttemptId(runId)).toBeUndefined();
    expect(store.projection.getRun(runId)!.attemptCount).toBe(1);

    // A fresh id gets the very sequence the refused start asked for.
    const latest = store.authority.latestSequence();
    const second = c.ids.attemptId();
    expect((await submit(store.authority, c.attemptStart(runId, second))).sequence).toBe(latest + 1);
    await store.close();

    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(latest + 1);
    expect(inspected.projection.attempts(runId).map((a) => a.attemptId)).toEqual([first, second]);
  });

  it("runDispatch and runsDispatch reusing an attempt id of the run are refused the same way", async () => {
    const { store, runIds } = await setup();
    const runId = runIds[0]!;
    const first = c.ids.attemptId();
    const now = c.clock.now();
    await submit(store.authority, c.transition(runId, "scheduled", "ready"));
    await submit(store.authority, { kind: "runDispatch", timestamp: now, runId, owner: "w1", expiresAt: now + 30_000, attemptId: first });
    await submit(store.authority, { kind: "runFinish", timestamp: now, runId, attemptId: first, outcome: AttemptOutcome.failure("boom"), newState: "retryWait" });
    await submit(store.authority, c.transition(runId, "retryWait", "ready"));
    // Ready, no lease: a dispatch would be accepted with any new id.
    await expectRefused(store, { kind: "runDispatch", timestamp: now, runId, owner: "w1", expiresAt: now + 30_000, attemptId: first }, "ALREADY_EXISTS", `attempt ${first} was already used`);
    await expectRefused(store, { kind: "runsDispatch", timestamp: now, owner: "w1", expiresAt: now + 30_000, runIds: [runId], attemptIds: [first] }, "ALREADY_EXISTS", `attempt ${first} was already used`);
    expect(store.projection.runState(runId)).toBe("ready");
    expect(store.projection.lease(runId)).toBeUndefined();
    await store.close();
  });
});

describe("refused lease commands write nothing", () => {
  it("every lease command on an unknown run is refused with NOT_FOUND naming the run", async () => {
    const { store } = await setup();
    const ghost = c.ids.runId();
    const now = c.clock.now();
    const attemptId = c.ids.attemptId();
    const commands: UnsequencedCommand[] = [
      { kind: "leaseAcquire", timestamp: now, runId: ghost, owner: "w1", expiresAt: now + 5_000, attemptId },
      { kind: "leaseHeartbeat", timestamp: now, runId: ghost, owner: "w1", expiresAt: now + 6_000, attemptId },
      { kind: "leaseExpire", timestamp: now, runId: ghost, owner: "w1", expiresAt: now + 5_000 },
      { kind: "leaseRelease", timestamp: now, runId: ghost, owner: "w1", expiresAt: now + 5_000 },
    ];
    for (const command of commands) {
      const error = await expectRefused(store, command, "NOT_FOUND", `unknown run ${ghost}`);
      expect(error.details).toMatchObject({ runId: ghost });
    }
    await store.close();
  });

  it("refused acquire, heartbeat, expire and release keep the sequence and the lease; the next good command takes the next sequence", async () => {
    const { store, runIds } = await setup(2);
    const [leased, bare] = runIds as [RunId, RunId];
    const now = c.clock.now();
    const token = c.ids.attemptId();
    const lease = { runId: leased, owner: "w1", expiresAt: now + 5_000 };
    // In scheduled, no lease can be taken.
    await expectRefused(store, { kind: "leaseAcquire", timestamp: now, ...lease, attemptId: token }, "COMMAND_REJECTED", "requires state ready or leased, the run is scheduled");
    await submit(store.authority, { kind: "runsPromote", timestamp: now, runIds: [leased, bare] });
    await submit(store.authority, { kind: "leaseAcquire", timestamp: now, ...lease, attemptId: token });
    await submit(store.authority, c.transition(leased, "ready", "leased"));
    const held = store.projection.lease(leased);

    const refused: [UnsequencedCommand, ErrorCode, string][] = [
      [{ kind: "leaseAcquire", timestamp: now, ...lease, owner: "", attemptId: c.ids.attemptId() }, "EMPTY_LEASE_OWNER", "owner"],
      [{ kind: "leaseAcquire", timestamp: now, ...lease, owner: "w2", attemptId: c.ids.attemptId() }, "COMMAND_REJECTED", 'a lease by "w1" is already active'],
      [{ kind: "leaseHeartbeat", timestamp: now, ...lease, owner: "w2", expiresAt: now + 9_000, attemptId: token }, "COMMAND_REJECTED", 'lease is owned by "w1", not "w2"'],
      [{ kind: "leaseHeartbeat", timestamp: now, ...lease, expiresAt: now + 9_000, attemptId: c.ids.attemptId() }, "STALE_FENCING_TOKEN", `the lease belongs to ${token}`],
      [{ kind: "leaseHeartbeat", timestamp: now, ...lease, expiresAt: now + 4_000, attemptId: token }, "COMMAND_REJECTED", `back from ${now + 5_000} to ${now + 4_000}`],
      [{ kind: "leaseRelease", timestamp: now, ...lease, expiresAt: now + 4_999 }, "COMMAND_REJECTED", `lease expiry is ${now + 5_000}, the command says ${now + 4_999}`],
      [{ kind: "leaseExpire", timestamp: now, ...lease, owner: "w2" }, "COMMAND_REJECTED", 'lease is owned by "w1", not "w2"'],
      [{ kind: "leaseExpire", timestamp: now, ...lease, runId: bare }, "COMMAND_REJECTED", "needs an active lease, there is none"],
      [{ kind: "leaseRelease", timestamp: now, ...lease, runId: bare }, "COMMAND_REJECTED", "needs an active lease, there is none"],
      [{ kind: "leaseHeartbeat", timestamp: now, ...lease, runId: bare, attemptId: token }, "COMMAND_REJECTED", "requires state leased or running, the run is ready"],
    ];
    for (const [command, code, message] of refused) await expectRefused(store, command, code, message);
    expect(store.projection.lease(leased)).toEqual(held);
    expect(store.projection.lease(bare)).toBeUndefined();

    const latest = store.authority.latestSequence();
    expect((await submit(store.authority, { kind: "leaseHeartbeat", timestamp: now, ...lease, expiresAt: now + 6_000, attemptId: token })).sequence).toBe(latest + 1);
    await store.close();

    // On disk: exactly the accepted commands.
    const inspected = openStorageReadOnly({ dataDir });
    expect(inspected.walRecordsReplayed).toBe(latest + 1);
    expect(inspected.projection.lease(leased)).toMatchObject({ owner: "w1", expiresAt: now + 6_000, attemptId: token });
    expect(inspected.projection.lease(bare)).toBeUndefined();
  });
});
