/**
 * The projection's derived read state stays equal to what a full recount
 * would give, whatever order runs and tasks arrive in and whatever batches
 * roll back: finished attempts by result (what statistics read instead of
 * walking every attempt), run and task ids in id order from any cursor (what
 * paged listings walk), and the highest run or attempt id (what a reopened
 * queue's id factory continues after). Also after a snapshot round trip.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AttemptOutcome, RunInstance, createTaskSpec } from "@actionqueue/core";
import type { AttemptId, AttemptResultKind, MutationCommand, RunId, RunState, TaskId, UnsequencedCommand } from "@actionqueue/core";
import { decodeSnapshot, encodeSnapshot } from "../snapshot/snapshot-codec.js";
import { Projection } from "./projection.js";

const DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A canonical ULID whose order is the order of `n` (distinct kinds get distinct prefixes). */
function ulid(prefix: string, n: number): string {
  let tail = "";
  for (let rest = n, i = 0; i < 6; i++, rest = Math.floor(rest / 32)) tail = DIGITS[rest % 32]! + tail;
  return `01HF${prefix}${"0".repeat(26 - 4 - prefix.length - 6)}${tail}`;
}
const T = (n: number): TaskId => ulid("T", n) as TaskId;
const R = (n: number): RunId => ulid("R", n) as RunId;
const A = (n: number): AttemptId => ulid("A", n) as AttemptId;

type Action =
  | { readonly kind: "submit"; readonly task: number; readonly run: number }
  | { readonly kind: "start"; readonly pick: number; readonly attempt: number }
  | { readonly kind: "finish"; readonly pick: number; readonly result: AttemptResultKind; readonly retry: boolean }
  | { readonly kind: "purge"; readonly pick: number }
  | { readonly kind: "rolledBack"; readonly inner: "submit" | "finish" | "purge"; readonly pick: number; readonly n: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("submit" as const), task: fc.nat(5000), run: fc.nat(5000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("start" as const), pick: fc.nat(), attempt: fc.nat(5000) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("finish" as const),
      pick: fc.nat(),
      result: fc.constantFrom<AttemptResultKind>("success", "failure", "timeout", "suspended"),
      retry: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("purge" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("rolledBack" as const), inner: fc.constantFrom("submit" as const, "finish" as const, "purge" as const), pick: fc.nat(), n: fc.nat(5000) }),
  },
);

/** Drives a projection through the actions with valid commands (and batches made to fail). */
class Driver {
  readonly p = new Projection();
  #attempts = 100_000;

  #cmd(c: UnsequencedCommand, offset = 1): MutationCommand {
    return { ...c, sequence: this.p.latestSequence + offset };
  }

  #runsIn(states: readonly RunState[]): RunId[] {
    return [...this.p.runIds()].filter((id) => states.includes(this.p.runState(id)!));
  }

  #submitCommands(task: number, run: number): MutationCommand[] | undefined {
    if (this.p.getTask(T(task)) !== undefined || this.p.runState(R(run)) !== undefined) return undefined;
    const spec = createTaskSpec({ id: T(task), runPolicy: { kind: "once" } });
    return [
      this.#cmd({ kind: "taskCreate", timestamp: 1000, taskSpec: spec }),
      this.#cmd({ kind: "runCreate", timestamp: 1000, run: RunInstance.newScheduled({ id: R(run), taskId: T(task), scheduledAt: 1000, createdAt: 1000 }) }, 2),
    ];
  }

  #finishCommand(pick: number, result: AttemptResultKind, retry: boolean): MutationCommand | undefined {
    const running = this.#runsIn(["running"]);
    if (running.length === 0) return undefined;
    const runId = running[pick % running.length]!;
    const attemptId = this.p.activeAttemptId(runId)!;
    const newState: RunState = result === "success" ? "completed" : result === "suspended" ? "suspended" : retry ? "retryWait" : "failed";
    const outcome = AttemptOutcome.fromParts(result, result === "failure" || result === "timeout" ? "boom" : undefined);
    return this.#cmd({ kind: "runFinish", timestamp: 2000, runId, attemptId, outcome, newState });
  }

  #purgeCommand(pick: number): MutationCommand | undefined {
    const done = [...this.p.tasks()].filter((t) => this.p.runsOfTask(t.spec.id).every((r) => ["completed", "failed", "canceled"].includes(this.p.runState(r)!)));
    if (done.length === 0) return undefined;
    return this.#cmd({ kind: "taskPurge", timestamp: 3000, taskId: done[pick % done.length]!.spec.id });
  }

  do(action: Action): void {
    switch (action.kind) {
      case "submit": {
        const batch = this.#submitCommands(action.task, action.run);
        if (batch) this.p.applyBatch(batch);
        return;
      }
      case "start": {
        const waiting = this.#runsIn(["scheduled", "retryWait", "suspended"]);
        if (waiting.length === 0) return;
        const runId = waiting[action.pick % waiting.length]!;
        const state = this.p.runState(runId)!;
        const toReady: MutationCommand =
          state === "suspended"
            ? this.#cmd({ kind: "runResume", timestamp: 1500, runId })
            : this.#cmd({ kind: "runsPromote", timestamp: 1500, runIds: [runId] });
        this.p.applyBatch([toReady]);
        // Attempt ids arrive out of order too.
        const attemptId = A((this.#attempts += 1) + (action.attempt % 2 === 0 ? 0 : -90_000));
        this.p.applyBatch([this.#cmd({ kind: "runDispatch", timestamp: 1500, runId, owner: "w", expiresAt: 9000, attemptId })]);
        return;
      }
      case "finish": {
        const c = this.#finishCommand(action.pick, action.result, action.retry);
        if (c) this.p.applyBatch([c]);
        return;
      }
      case "purge": {
        const c = this.#purgeCommand(action.pick);
        if (c) this.p.applyBatch([c]);
        return;
      }
      case "rolledBack": {
        // A valid change followed by a command that is refused: the whole batch rolls back.
        const first =
          action.inner === "submit"
            ? this.#submitCommands(action.n, action.n)
            : action.inner === "finish"
              ? [this.#finishCommand(action.pick, "success", false)]
              : [this.#purgeCommand(action.pick)];
        if (first === undefined || first[0] === undefined) return;
        const refused = this.#cmd({ kind: "engineResume", timestamp: 4000 }, first.length + 1); // not paused: refused
        expect(() => this.p.applyBatch([...(first as MutationCommand[]), refused])).toThrow(/not paused/);
        return;
      }
    }
  }
}

/** Every derived figure checked against a recount of the projection's records. */
function expectConsistent(p: Projection, cursorPick: number): void {
  const recount: Record<AttemptResultKind, number> = { success: 0, failure: 0, timeout: 0, suspended: 0 };
  let highest = "";
  const runIds = [...p.runIds()];
  for (const runId of runIds) {
    if (runId > highest) highest = runId;
    for (const a of p.attempts(runId)) {
      if (a.outcome) recount[a.outcome.result] += 1;
      if (a.attemptId > highest) highest = a.attemptId;
    }
  }
  expect(p.attemptResultCounts()).toEqual(recount);
  // Purged and rolled-back ids may have been higher: the mark never goes down.
  if (highest !== "") expect(p.highestId! >= highest).toBe(true);
  const sortedRuns = runIds.slice().sort();
  expect([...p.runIdsInIdOrder()]).toEqual(sortedRuns);
  const taskIds = [...p.tasks()].map((t) => t.spec.id).sort();
  expect([...p.taskIdsInIdOrder()]).toEqual(taskIds);
  if (sortedRuns.length > 0) {
    const after = sortedRuns[cursorPick % sortedRuns.length]!;
    expect([...p.runIdsInIdOrder(after)]).toEqual(sortedRuns.filter((id) => id > after));
  }
  if (taskIds.length > 0) {
    const after = taskIds[cursorPick % taskIds.length]!;
    expect([...p.taskIdsInIdOrder(after)]).toEqual(taskIds.filter((id) => id > after));
  }
}

describe("projection listings and counts", () => {
  it("match a recount after any sequence of submits, dispatches, finishes, purges and rolled-back batches", () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 1, maxLength: 60 }), fc.nat(), (actions, cursorPick) => {
        const driver = new Driver();
        for (const action of actions) {
          driver.do(action);
          expectConsistent(driver.p, cursorPick);
        }
        // A snapshot of it reads back with the same figures.
        const { projection } = decodeSnapshot(encodeSnapshot(driver.p, 5000));
        expectConsistent(projection, cursorPick);
        expect(projection.attemptResultCounts()).toEqual(driver.p.attemptResultCounts());
        expect([...projection.runIdsInIdOrder()]).toEqual([...driver.p.runIdsInIdOrder()]);
      }),
      { numRuns: 150 },
    );
  });

  it("lists out-of-order ids in id order, from a sorted copy that follows later additions", () => {
    const d = new Driver();
    d.do({ kind: "submit", task: 9, run: 9 });
    d.do({ kind: "submit", task: 3, run: 3 });
    expect([...d.p.runIdsInIdOrder()]).toEqual([R(3), R(9)]);
    expect([...d.p.runIdsInIdOrder(R(3))]).toEqual([R(9)]);
    d.do({ kind: "submit", task: 5, run: 5 });
    expect([...d.p.runIdsInIdOrder()]).toEqual([R(3), R(5), R(9)]);
    expect([...d.p.taskIdsInIdOrder(T(3))]).toEqual([T(5), T(9)]);
    // The map itself still iterates in arrival order: the listing does not depend on it.
    expect([...d.p.runIds()]).toEqual([R(9), R(3), R(5)]);
  });
});
