import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionQueueError, AttemptOutcome, RunInstance, createTaskSpec } from "@actionqueue/core";
import type { RunId, TaskId, UnsequencedCommand } from "@actionqueue/core";
import { encodeSnapshot, openStorage } from "@actionqueue/storage";
import type { Projection, Storage } from "@actionqueue/storage";
import { Commands, removeDir, startRun, submit, submitBatch, tempDir } from "./helpers.js";

// taskPurge: a finished task leaves the projection with its runs (and what
// belongs to it alone), durably; an unfinished one is refused with nothing
// changed.

let dataDir: string;
let c: Commands;
const open = (): Promise<Storage> => openStorage({ dataDir, clock: c.clock });
const purge = (taskId: TaskId): UnsequencedCommand => ({ kind: "taskPurge", timestamp: c.clock.now(), taskId });

beforeEach(() => {
  dataDir = tempDir();
  c = new Commands();
});
afterEach(() => removeDir(dataDir));

/** A once task whose one run completed. */
async function completedTask(store: Storage): Promise<{ taskId: TaskId; runId: RunId }> {
  const task = c.taskCreate();
  const run = c.runCreate(task.taskSpec.id);
  await submit(store.authority, task);
  await submit(store.authority, run);
  const attemptId = await startRun(store.authority, c, run.run.id);
  await submit(store.authority, { kind: "runFinish", timestamp: c.clock.now(), runId: run.run.id, attemptId, outcome: AttemptOutcome.success(), newState: "completed" });
  return { taskId: task.taskSpec.id, runId: run.run.id };
}

async function rejection(promise: Promise<unknown>): Promise<ActionQueueError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ActionQueueError);
  return error as ActionQueueError;
}

const bytes = (p: unknown): Buffer => encodeSnapshot(p as Projection, 0);

describe("taskPurge", () => {
  it("removes a finished task and its runs, and the removal survives a reopen and a snapshot", async () => {
    const store = await open();
    const done = await completedTask(store);
    const kept = await completedTask(store);
    expect(store.projection.countsByState().completed).toBe(2);
    expect(await submit(store.authority, purge(done.taskId))).toMatchObject({ applied: { kind: "taskPurge", taskId: done.taskId } });
    expect(store.projection.getTask(done.taskId)).toBeUndefined();
    expect(store.projection.getRun(done.runId)).toBeUndefined();
    expect(store.projection.taskCount).toBe(1);
    expect(store.projection.runCount).toBe(1);
    expect(store.projection.countsByState().completed).toBe(1);
    const after = bytes(store.projection);
    await store.close();

    const replayed = await open();
    expect(replayed.projection.getTask(done.taskId)).toBeUndefined();
    expect(replayed.projection.getRun(kept.runId)?.state).toBe("completed");
    expect(bytes(replayed.projection).equals(after)).toBe(true);
    await replayed.writeSnapshot();
    await replayed.close();

    const fromSnapshot = await open();
    expect(fromSnapshot.recoveryReport.snapshot).toBeDefined();
    expect(fromSnapshot.projection.countsByState().completed).toBe(1);
    expect(bytes(fromSnapshot.projection).equals(after)).toBe(true);
    // The id is free again.
    await submit(fromSnapshot.authority, c.taskCreate({}, done.taskId));
    expect(fromSnapshot.projection.getTask(done.taskId)).toBeDefined();
    await fromSnapshot.close();
  });

  it("refuses a task with a run that is not terminal, or an unknown task, and changes nothing", async () => {
    const store = await open();
    const task = c.taskCreate();
    const run = c.runCreate(task.taskSpec.id);
    await submit(store.authority, task);
    await submit(store.authority, run);
    await startRun(store.authority, c, run.run.id);
    const sequence = store.authority.latestSequence();
    const before = bytes(store.projection);
    const error = await rejection(submit(store.authority, purge(task.taskSpec.id)));
    expect(error.code).toBe("COMMAND_REJECTED");
    expect(error.message).toContain(`run ${run.run.id} is running, not terminal`);
    expect((await rejection(submit(store.authority, purge(c.ids.taskId())))).code).toBe("NOT_FOUND");
    expect((await rejection(submit(store.authority, purge("not-a-ulid" as TaskId)))).code).toBe("INVALID_ID");
    expect(store.authority.latestSequence()).toBe(sequence);
    expect(bytes(store.projection).equals(before)).toBe(true);
    await store.close();
  });

  it("refuses a cron task that may still derive runs, until it is canceled or has all its occurrences", async () => {
    const store = await open();
    const cron = createTaskSpec({ id: c.ids.taskId(), runPolicy: { kind: "cron", expression: "* * * * *" } });
    const capped = createTaskSpec({ id: c.ids.taskId(), runPolicy: { kind: "cron", expression: "* * * * *", maxOccurrences: 1 } });
    for (const spec of [cron, capped]) await submit(store.authority, { kind: "taskCreate", timestamp: c.clock.now(), taskSpec: spec });
    expect((await rejection(submit(store.authority, purge(cron.id)))).message).toContain("cancel it first");
    expect((await rejection(submit(store.authority, purge(capped.id)))).message).toContain("cancel it first");
    // The capped task's one occurrence, canceled: it can derive no more.
    const now = c.clock.now();
    const run = RunInstance.newScheduled({ id: c.ids.runId(), taskId: capped.id, scheduledAt: now, createdAt: now });
    await submit(store.authority, { kind: "runCreate", timestamp: now, run });
    await submit(store.authority, c.transition(run.id, "scheduled", "canceled"));
    await submit(store.authority, purge(capped.id));
    await submit(store.authority, { kind: "taskCancel", timestamp: c.clock.now(), taskId: cron.id });
    await submit(store.authority, purge(cron.id));
    expect(store.projection.taskCount).toBe(0);
    await store.close();
  });

  it("refuses a prerequisite while its dependent exists; dependent then prerequisite go in one batch", async () => {
    const store = await open();
    const prerequisite = await completedTask(store);
    const dependent = await completedTask(store);
    await submit(store.authority, { kind: "dependencyDeclare", timestamp: c.clock.now(), taskId: dependent.taskId, dependsOn: [prerequisite.taskId] });
    const error = await rejection(submit(store.authority, purge(prerequisite.taskId)));
    expect(error.message).toContain(`task ${dependent.taskId} depends on it`);
    await submitBatch(store.authority, [purge(dependent.taskId), purge(prerequisite.taskId)]);
    expect(store.projection.taskCount).toBe(0);
    expect(store.projection.dependencies(dependent.taskId)).toEqual([]);
    await store.close();
  });

  it("takes the task's budgets and subscriptions with it", async () => {
    const store = await open();
    const done = await completedTask(store);
    const other = await completedTask(store);
    const subscriptionId = c.ids.subscriptionId();
    await submit(store.authority, { kind: "budgetAllocate", timestamp: c.clock.now(), taskId: done.taskId, dimension: "token", limit: 10 });
    await submit(store.authority, { kind: "budgetAllocate", timestamp: c.clock.now(), taskId: other.taskId, dimension: "token", limit: 10 });
    await submit(store.authority, { kind: "subscriptionCreate", timestamp: c.clock.now(), subscriptionId, taskId: done.taskId, filter: { kind: "taskCompleted", taskId: other.taskId } });
    await submit(store.authority, purge(done.taskId));
    expect(store.projection.budget(done.taskId, "token")).toBeUndefined();
    expect(store.projection.budget(other.taskId, "token")).toBeDefined();
    expect(store.projection.subscription(subscriptionId)).toBeUndefined();
    const after = bytes(store.projection);
    await store.close();
    const again = await open();
    expect(bytes(again.projection).equals(after)).toBe(true);
    await again.close();
  });

  it("is undone with the rest of a refused batch: task, runs, counts and budgets come back", async () => {
    const store = await open();
    const done = await completedTask(store);
    await submit(store.authority, { kind: "budgetAllocate", timestamp: c.clock.now(), taskId: done.taskId, dimension: "token", limit: 10 });
    const before = bytes(store.projection);
    const counts = store.projection.countsByState();
    // The second command is refused (the run is gone by then), so the purge is rolled back.
    const error = await rejection(submitBatch(store.authority, [purge(done.taskId), c.transition(done.runId, "completed", "ready")]));
    expect(error.code).toBe("NOT_FOUND");
    expect(store.projection.getRun(done.runId)?.state).toBe("completed");
    expect(store.projection.runsOfTask(done.taskId)).toEqual([done.runId]);
    expect(store.projection.countsByState()).toEqual(counts);
    expect(bytes(store.projection).equals(before)).toBe(true);
    await store.close();
  });
});
