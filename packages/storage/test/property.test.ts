import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AttemptOutcome, RUN_STATES, RunInstance, validTransitions } from "@actionqueue/core";
import type { MutationAuthority, MutationCommand, RunId, TaskId, UnsequencedCommand } from "@actionqueue/core";
import { Projection, decodeSnapshot, encodeSnapshot, openStorage } from "@actionqueue/storage";
import type { ProjectionView } from "@actionqueue/storage";
import { Commands, submit, tempDir } from "./helpers.js";

interface Intent {
  readonly op: number;
  readonly a: number;
  readonly b: number;
}

const intent = fc.record({ op: fc.nat({ max: 14 }), a: fc.nat(), b: fc.nat() });
const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);

/** Turns a random intent into a plausible command against the current state (it may still be refused). */
function command(intentValue: Intent, p: ProjectionView, c: Commands, tasks: TaskId[], runs: RunId[]): UnsequencedCommand {
  const now = c.clock.now();
  const { op, a, b } = intentValue;
  const runId = pick(runs, a);
  const taskId = pick(tasks, a);
  switch (op) {
    case 0:
      // Half the tasks come with their runs in one record, as the runtime submits them.
      return b % 2 === 0 ? c.taskCreate({ maxAttempts: 1 + (a % 3) }) : c.taskSubmit(b % 3, { maxAttempts: 1 + (a % 3) });
    case 1:
    case 2:
      return taskId === undefined ? c.taskCreate() : c.runCreate(taskId);
    case 3:
    case 4:
    case 5: {
      if (runId === undefined) return { kind: "enginePause", timestamp: now };
      const run = p.getRun(runId);
      // A purged run: any change of it is refused (NOT_FOUND).
      if (run === undefined) return c.transition(runId, "scheduled", "ready");
      if (run.state === "running" && run.currentAttemptId !== undefined) {
        const outcomes = [AttemptOutcome.success(), AttemptOutcome.failure("boom"), AttemptOutcome.timeout("late"), AttemptOutcome.suspendedWithOutput(new Uint8Array([b % 256]))];
        const outcome = outcomes[b % 4]!;
        // Half the finishes also leave running in the same record.
        if (b % 8 < 4) return { kind: "attemptFinish", timestamp: now, runId, attemptId: run.currentAttemptId, outcome };
        return { kind: "runFinish", timestamp: now, runId, attemptId: run.currentAttemptId, outcome, newState: pick(validTransitions("running"), a)! };
      }
      if (run.state === "running" && b % 3 === 0) return c.attemptStart(runId, c.ids.attemptId());
      if ((run.state === "scheduled" || run.state === "retryWait") && b % 4 === 1) {
        // A promotion of this run, sometimes with another (which may not be promotable, or be this one again).
        const other = pick(runs, b >> 2);
        return { kind: "runsPromote", timestamp: now, runIds: other === undefined || b % 8 === 1 ? [runId] : [runId, other] };
      }
      const next = pick(validTransitions(run.state), b);
      return next === undefined ? { kind: "engineResume", timestamp: now } : c.transition(runId, run.state, next);
    }
    case 6: {
      if (runId === undefined) return { kind: "enginePause", timestamp: now };
      const lease = p.lease(runId);
      if (lease === undefined) {
        if (b % 4 === 2) {
          // Several runs in one record, sometimes one that cannot be dispatched (or this one again).
          const other = pick(runs, b >> 2) ?? runId;
          return { kind: "runsDispatch", timestamp: now, owner: `w${b % 3}`, expiresAt: now + b, runIds: [runId, other], attemptIds: [c.ids.attemptId(), c.ids.attemptId()] };
        }
        return b % 2 === 0
          ? { kind: "runDispatch", timestamp: now, runId, owner: `w${b % 3}`, expiresAt: now + b, attemptId: c.ids.attemptId() }
          : { kind: "leaseAcquire", timestamp: now, runId, owner: `w${b % 3}`, expiresAt: now + b, attemptId: c.ids.attemptId() };
      }
      if (b % 3 === 0) return { kind: "leaseHeartbeat", timestamp: now, runId, owner: lease.owner, expiresAt: lease.expiresAt + 10, attemptId: lease.attemptId };
      return { kind: b % 2 === 0 ? "leaseExpire" : "leaseRelease", timestamp: now, runId, owner: lease.owner, expiresAt: lease.expiresAt };
    }
    case 7:
      return { kind: p.isEnginePaused() ? "engineResume" : "enginePause", timestamp: now };
    case 8:
      return taskId === undefined ? c.taskCreate() : { kind: "taskCancel", timestamp: now, taskId };
    case 9: {
      const other = pick(tasks, b);
      return taskId === undefined || other === undefined ? c.taskCreate() : { kind: "dependencyDeclare", timestamp: now, taskId, dependsOn: [other] };
    }
    case 10:
      return taskId === undefined
        ? c.taskCreate()
        : b % 3 === 0
          ? { kind: "budgetAllocate", timestamp: now, taskId, dimension: "token", limit: 1 + (b % 50) }
          : b % 3 === 1
            ? { kind: "budgetConsume", timestamp: now, taskId, dimension: "token", amount: 1 + (b % 20) }
            : { kind: "budgetReplenish", timestamp: now, taskId, dimension: "token", newLimit: 1 + (b % 30) };
    case 11:
      return runId === undefined ? c.taskCreate() : b % 2 === 0 ? { kind: "runSuspend", timestamp: now, runId, reason: "r" } : { kind: "runResume", timestamp: now, runId };
    case 12:
      return taskId === undefined
        ? c.taskCreate()
        : { kind: "subscriptionCreate", timestamp: now, subscriptionId: c.ids.subscriptionId(), taskId, filter: { kind: "taskCompleted", taskId } };
    case 13:
      // Refused unless the task is finished and nothing depends on it; ids of purged tasks and runs stay in the lists.
      return taskId === undefined ? c.taskCreate() : { kind: "taskPurge", timestamp: now, taskId };
    default:
      return { kind: "ledgerAppend", timestamp: now, entry: { entryId: c.ids.ledgerEntryId(), tenantId: c.ids.tenantId(), ledgerKey: "k", payload: new Uint8Array([a % 256]), timestamp: now } };
  }
}

/** Remembers the tasks and runs an accepted command created. */
function track(cmd: UnsequencedCommand, tasks: TaskId[], runs: RunId[]): void {
  if (cmd.kind === "taskCreate" || cmd.kind === "taskSubmit") tasks.push(cmd.taskSpec.id);
  if (cmd.kind === "runCreate") runs.push(cmd.run.id);
  if (cmd.kind === "taskSubmit") for (const run of cmd.runs) runs.push(run.id);
}

async function drive(authority: MutationAuthority, p: ProjectionView, c: Commands, intents: readonly Intent[], tasks: TaskId[], runs: RunId[]): Promise<void> {
  for (const i of intents) {
    c.clock.advance(1 + (i.b % 5));
    const cmd = command(i, p, c, tasks, runs);
    const before = encodeSnapshot(p as Projection, 0);
    try {
      await submit(authority, cmd, i.b % 2 === 0 ? "immediate" : "deferred");
      track(cmd, tasks, runs);
    } catch {
      // A refused command must leave the state exactly as it was.
      expect(encodeSnapshot(p as Projection, 0).equals(before)).toBe(true);
    }
  }
}

describe("projection equivalence (property)", () => {
  it("live state = WAL-only replay = snapshot + tail replay", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(intent, { maxLength: 80 }), fc.array(intent, { maxLength: 40 }), async (first, second) => {
        const dataDir = tempDir();
        try {
          const c = new Commands();
          const tasks: TaskId[] = [];
          const runs: RunId[] = [];
          const store = await openStorage({ dataDir, clock: c.clock, reconcile: false });
          await drive(store.authority, store.projection, c, first, tasks, runs);
          await store.writeSnapshot();
          await drive(store.authority, store.projection, c, second, tasks, runs);
          const live = encodeSnapshot(store.projection as Projection, 0);
          await store.close();

          const withSnapshot = await openStorage({ dataDir, clock: c.clock, reconcile: false });
          expect(encodeSnapshot(withSnapshot.projection as Projection, 0).equals(live)).toBe(true);
          expect(withSnapshot.recoveryReport.walRecordsReplayed).toBe(withSnapshot.authority.latestSequence() - (withSnapshot.recoveryReport.snapshot?.sequence ?? 0));
          await withSnapshot.close();

          rmSync(`${dataDir}/snapshots`, { recursive: true, force: true });
          const walOnly = await openStorage({ dataDir, clock: c.clock, reconcile: false });
          expect(walOnly.recoveryReport.snapshot).toBeUndefined();
          expect(encodeSnapshot(walOnly.projection as Projection, 0).equals(live)).toBe(true);
          await walOnly.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});

/** Everything a dispatch can change, as plain data. */
function runView(p: Projection, runId: RunId): unknown {
  return {
    run: p.getRun(runId)?.toFields(),
    history: p.runHistory(runId),
    attempts: p.attempts(runId),
    lease: p.lease(runId),
    active: p.activeAttemptId(runId),
    counts: p.countsByState(),
    running: p.runsInState("running"),
    leased: p.runsInState("leased"),
  };
}

/**
 * The run list of an event about several runs: mostly runs from `fitting`
 * each once (the interesting case), sometimes any of `runs`, a repeated one
 * or an unknown one.
 */
function pickRuns(picks: readonly number[], b: number, fitting: readonly RunId[], runs: readonly RunId[], c: Commands): RunId[] {
  const pool = b % 3 === 0 ? runs : fitting;
  let runIds = picks.map((n) => pick(pool, n)).filter((id): id is RunId => id !== undefined);
  if (b % 2 === 0) runIds = [...new Set(runIds)];
  if (b % 11 === 0) runIds.push(c.ids.runId());
  return runIds;
}

/** A projection after a random walk of intents, applied directly (refused commands are skipped). */
function walk(intents: readonly Intent[]): { c: Commands; p: Projection; runs: RunId[] } {
  const c = new Commands();
  const p = new Projection();
  const tasks: TaskId[] = [];
  const runs: RunId[] = [];
  for (const i of intents) {
    c.clock.advance(1 + (i.b % 5));
    const cmd = command(i, p, c, tasks, runs);
    try {
      p.apply({ ...cmd, sequence: p.latestSequence + 1 });
      track(cmd, tasks, runs);
    } catch {
      // Refused: the state is unchanged, the walk goes on.
    }
  }
  return { c, p, runs };
}

/**
 * Applies the one fused command to a copy of `p` and the separate commands
 * it stands for to another: both must be accepted or both refused; accepted,
 * they must change `runId` alike; refused, the copy must be unchanged.
 * Returns whether they were accepted.
 */
function agrees(p: Projection, runId: RunId | readonly RunId[], fused: MutationCommand, separate: MutationCommand[], what: string): boolean {
  const snapshot = encodeSnapshot(p, 0);
  const one = decodeSnapshot(snapshot).projection;
  const many = decodeSnapshot(snapshot).projection;
  let oneError: unknown;
  let manyError: unknown;
  try {
    one.apply(fused);
  } catch (error) {
    oneError = error;
  }
  try {
    many.applyBatch(separate);
  } catch (error) {
    manyError = error;
  }
  expect(oneError === undefined, `${fused.kind} ${oneError === undefined ? "accepted" : "refused"} what ${what} ${manyError === undefined ? "accept" : "refuse"}`).toBe(manyError === undefined);
  if (oneError !== undefined) {
    // A refusal changes nothing.
    expect(encodeSnapshot(one, 0).equals(snapshot)).toBe(true);
    return false;
  }
  for (const id of typeof runId === "string" ? [runId] : runId) expect(runView(one, id)).toEqual(runView(many, id));
  return true;
}

describe("runDispatch (property)", () => {
  it("changes exactly what ready → leased, leaseAcquire, leased → running and attemptStart in a row change, and is refused exactly where they are", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 60 }), fc.nat(), fc.nat(), (intents, which, b) => {
        const { c, p, runs } = walk(intents);
        // Ready runs half the time (the interesting case), any run otherwise, sometimes an unknown one.
        if (b % 2 === 0) {
          // Promote a scheduled run so that ready ones are common.
          const scheduled = pick(runs.filter((id) => p.runState(id) === "scheduled"), which);
          if (scheduled !== undefined) p.apply({ ...c.transition(scheduled, "scheduled", "ready"), sequence: p.latestSequence + 1 });
        }
        const ready = runs.filter((id) => p.runState(id) === "ready");
        const runId = b % 11 === 0 ? c.ids.runId() : ((b % 2 === 0 ? pick(ready, which) : undefined) ?? pick(runs, which));
        if (runId === undefined) return;
        const used = p.attempts(runId)[0]?.attemptId;
        const attemptId = b % 7 === 0 && used !== undefined ? used : c.ids.attemptId();
        const owner = b % 13 === 0 ? "" : `w${b % 3}`;
        const now = c.clock.now() + 1;
        const expiresAt = now + 30_000;
        const s = p.latestSequence;
        const fused: MutationCommand = { kind: "runDispatch", sequence: s + 1, timestamp: now, runId, owner, expiresAt, attemptId };
        const separate: MutationCommand[] = [
          { kind: "runStateTransition", sequence: s + 1, timestamp: now, runId, previousState: "ready", newState: "leased" },
          { kind: "leaseAcquire", sequence: s + 2, timestamp: now, runId, owner, expiresAt, attemptId },
          { kind: "runStateTransition", sequence: s + 3, timestamp: now, runId, previousState: "leased", newState: "running" },
          { kind: "attemptStart", sequence: s + 4, timestamp: now, runId, attemptId },
        ];
        if (agrees(p, runId, fused, separate, "the four commands")) accepted++;
        else refused++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});

describe("runsDispatch (property)", () => {
  it("changes exactly what one runDispatch per listed run in a row changes, and is refused exactly where they are", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 60 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat(), (intents, picks, b) => {
        const { c, p, runs } = walk(intents);
        // Promote scheduled runs so that ready ones are common.
        const scheduled = runs.filter((id) => p.runState(id) === "scheduled");
        if (scheduled.length > 0 && b % 4 !== 0) p.apply({ kind: "runsPromote", sequence: p.latestSequence + 1, timestamp: c.clock.now(), runIds: scheduled });
        const ready = runs.filter((id) => p.runState(id) === "ready");
        const runIds = pickRuns(picks, b, ready, runs, c);
        if (runIds.length === 0) return;
        const attemptIds = runIds.map((id, k) => (b % 7 === 0 && k === 0 ? (p.attempts(id)[0]?.attemptId ?? c.ids.attemptId()) : c.ids.attemptId()));
        const owner = b % 13 === 0 ? "" : `w${b % 3}`;
        const now = c.clock.now() + 1;
        const expiresAt = now + 30_000;
        const s = p.latestSequence;
        const fused: MutationCommand = { kind: "runsDispatch", sequence: s + 1, timestamp: now, owner, expiresAt, runIds, attemptIds };
        const separate: MutationCommand[] = runIds.map((runId, k) => ({ kind: "runDispatch", sequence: s + 1 + k, timestamp: now, runId, owner, expiresAt, attemptId: attemptIds[k]! }));
        if (agrees(p, [...new Set(runIds)], fused, separate, "one runDispatch per run")) accepted++;
        else refused++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});

describe("runsPromote (property)", () => {
  it("changes exactly what one scheduled/retryWait → ready transition per listed run changes, and is refused exactly where they are", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 60 }), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), fc.nat(), (intents, picks, b) => {
        const { c, p, runs } = walk(intents);
        const promotable = runs.filter((id) => p.runState(id) === "scheduled" || p.runState(id) === "retryWait");
        const runIds = pickRuns(picks, b, promotable, runs, c);
        if (runIds.length === 0) return;
        const now = c.clock.now() + 1;
        const s = p.latestSequence;
        const fused: MutationCommand = { kind: "runsPromote", sequence: s + 1, timestamp: now, runIds };
        const separate: MutationCommand[] = runIds.map((runId, k) => ({
          kind: "runStateTransition",
          sequence: s + 1 + k,
          timestamp: now,
          runId,
          // From scheduled or retryWait only: a promotion of a run in any other state is refused, as this transition is.
          previousState: p.runState(runId) === "retryWait" ? "retryWait" : "scheduled",
          newState: "ready",
        }));
        if (agrees(p, [...new Set(runIds)], fused, separate, "one transition per run")) accepted++;
        else refused++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});

describe("taskSubmit (property)", () => {
  it("changes exactly what taskCreate and one runCreate per run in a row change, and is refused exactly where they are", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 40 }), fc.nat({ max: 3 }), fc.nat(), (intents, count, b) => {
        const { c, p, runs } = walk(intents);
        const fresh = c.taskSubmit(count);
        let list = fresh.runs;
        let spec = fresh.taskSpec;
        // Sometimes an existing task's id, an existing run's id, or one run twice: refused either way.
        const existing = [...p.tasks()][b % 7];
        if (b % 5 === 0 && existing !== undefined) spec = { ...spec, id: existing.spec.id };
        const taken = pick(runs, b);
        if (b % 5 === 1 && taken !== undefined && list.length > 0) list = [RunInstance.newScheduled({ id: taken, taskId: spec.id, scheduledAt: list[0]!.scheduledAt, createdAt: list[0]!.createdAt }), ...list.slice(1)];
        if (b % 5 === 2 && list.length > 0) list = [...list, list[0]!];
        // The runs must belong to the (possibly substituted) task.
        list = list.map((run) => (run.taskId === spec.id ? run : RunInstance.newScheduled({ id: run.id, taskId: spec.id, scheduledAt: run.scheduledAt, createdAt: run.createdAt, priority: run.effectivePriority })));
        const s = p.latestSequence;
        const fused: MutationCommand = { kind: "taskSubmit", sequence: s + 1, timestamp: fresh.timestamp, taskSpec: spec, runs: list };
        const separate: MutationCommand[] = [
          { kind: "taskCreate", sequence: s + 1, timestamp: fresh.timestamp, taskSpec: spec },
          ...list.map((run, k): MutationCommand => ({ kind: "runCreate", sequence: s + 2 + k, timestamp: fresh.timestamp, run })),
        ];
        const ids = [...new Set(list.map((run) => run.id))];
        if (agrees(p, ids, fused, separate, "taskCreate and the runCreates")) {
          accepted++;
          const one = new Projection();
          one.apply({ ...fused, sequence: 1 });
          expect(one.getTask(spec.id)?.spec).toEqual(spec);
          expect(one.runsOfTask(spec.id)).toEqual(list.map((run) => run.id));
        } else refused++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});

describe("runFinish (property)", () => {
  it("changes exactly what attemptFinish and running → newState in a row change, and is refused exactly where they are", () => {
    const outcomes = [AttemptOutcome.success(), AttemptOutcome.failure("boom"), AttemptOutcome.timeout("late"), AttemptOutcome.suspendedWithOutput(new Uint8Array([7]))];
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 60 }), fc.nat(), fc.nat(), (intents, which, b) => {
        const { c, p, runs } = walk(intents);
        if (b % 4 !== 0) {
          // Start an attempt on a scheduled or ready run so that active ones are common.
          const startable = pick(runs.filter((id) => p.runState(id) === "scheduled" || p.runState(id) === "ready"), which);
          if (startable !== undefined) {
            if (p.runState(startable) === "scheduled") p.apply({ ...c.transition(startable, "scheduled", "ready"), sequence: p.latestSequence + 1 });
            const at = c.clock.now();
            try {
              p.apply({ kind: "runDispatch", sequence: p.latestSequence + 1, timestamp: at, runId: startable, owner: "w", expiresAt: at + 30_000, attemptId: c.ids.attemptId() });
            } catch {
              // Already leased: it stays as it is.
            }
          }
        }
        // A running run with an active attempt most of the time (the interesting case), any run otherwise, sometimes an unknown one.
        const active = runs.filter((id) => p.activeAttemptId(id) !== undefined);
        const runId = b % 11 === 0 ? c.ids.runId() : ((b % 4 !== 0 ? pick(active, which) : undefined) ?? pick(runs, which));
        if (runId === undefined) return;
        const current = p.activeAttemptId(runId);
        const attemptId = b % 7 === 0 || current === undefined ? c.ids.attemptId() : current;
        // Mostly the states running can reach, sometimes any state.
        const reachable = validTransitions("running");
        const newState = b % 5 === 0 ? RUN_STATES[which % RUN_STATES.length]! : reachable[which % reachable.length]!;
        const outcome = outcomes[(b >> 3) % outcomes.length]!;
        const now = c.clock.now() + 1;
        const s = p.latestSequence;
        const fused: MutationCommand = { kind: "runFinish", sequence: s + 1, timestamp: now, runId, attemptId, outcome, newState };
        const separate: MutationCommand[] = [
          { kind: "attemptFinish", sequence: s + 1, timestamp: now, runId, attemptId, outcome },
          { kind: "runStateTransition", sequence: s + 2, timestamp: now, runId, previousState: "running", newState },
        ];
        if (agrees(p, runId, fused, separate, "the two commands")) accepted++;
        else refused++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});
