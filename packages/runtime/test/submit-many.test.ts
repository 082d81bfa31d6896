/**
 * submitMany: many tasks validated first, then written as one atomic,
 * durable batch; a bad input writes nothing and is named by its index.
 */
import { describe, expect, it } from "vitest";
import { oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { TaskId } from "@actionqueue/core";
import { codeOf, openQueue, tempDir } from "./helpers.js";

describe("submitMany", () => {
  it("writes one WAL record per task, its runs included, for submit and submitMany alike; a reopened queue holds the same tasks and runs", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const single = await q.submit({ runPolicy: repeatPolicy(3, 60_000) });
    expect(single.latestSequence).toBe(1);
    const many = await q.submitMany([{ runPolicy: oncePolicy() }, { runPolicy: repeatPolicy(2, 60_000) }]);
    expect(q.stats().latestSequence).toBe(3);
    await q.close();
    const reopened = await openQueue({ dataDir, handler: () => undefined });
    expect(reopened.stats()).toMatchObject({ tasks: 3, runs: 6, latestSequence: 3 });
    expect(reopened.getTask(single.taskId)?.runIds).toEqual(single.runIds);
    expect(reopened.getTask(many[1]!.taskId)?.runIds).toEqual(many[1]!.runIds);
    await reopened.close();
  });

  it("writes every task and run, returns results in input order, and runs them all", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const submitted: TaskId[] = [];
    q.on("task:submitted", (e) => void submitted.push(e.taskId));
    const results = await q.submitMany([
      { runPolicy: oncePolicy(), payload: { n: 0 } },
      { name: "r", runPolicy: repeatPolicy(3, 1) },
      { runPolicy: oncePolicy(), payload: { n: 2 } },
    ]);
    expect(results.map((r) => r.runIds.length)).toEqual([1, 3, 1]);
    expect(results.every((r) => !r.existing)).toBe(true);
    expect(submitted).toEqual(results.map((r) => r.taskId));
    expect(q.stats()).toMatchObject({ tasks: 3, runs: 5 });
    await q.runUntilIdle();
    expect(q.stats().runsByState.completed).toBe(5);
    await q.close();
    // Durable: all of it is there after a restart.
    const again = await openQueue({ dataDir, handler: () => undefined });
    expect(again.stats()).toMatchObject({ tasks: 3, runs: 5 });
    expect(again.getTask(results[1]!.taskId)?.name).toBe("r");
    await again.close();
  });

  it("writes nothing when one input is invalid, and names its index", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const before = q.stats();
    const error = await q.submitMany([{ runPolicy: oncePolicy() }, { runPolicy: oncePolicy() }, { runPolicy: { kind: "repeat", count: 0, intervalMs: 10 } }]).catch((e: unknown) => e as Error & { code: string });
    expect(error).toMatchObject({ code: "INVALID_REPEAT_COUNT" });
    expect((error as Error).message).toMatch(/^submission 2: /);
    expect(q.stats()).toEqual(before);
    expect(await codeOf(() => q.submitMany("nope" as never))).toBe("INVALID_FIELD");
    // Refused by the storage (a record too large) rather than by validation: named all the same.
    const tooLarge = await q.submitMany([{ runPolicy: oncePolicy() }, { runPolicy: oncePolicy(), payload: new Uint8Array(17 * 1024 * 1024) }]).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(tooLarge?.message).toMatch(/^submission 1: /);
    expect(q.stats()).toEqual(before);
    await q.close();
  });

  it("treats existing task ids as submit does, and refuses the same id twice in one call", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const [first] = await q.submitMany([{ runPolicy: oncePolicy(), payload: { a: 1 } }]);
    const taskId = first!.taskId;
    const [again, fresh] = await q.submitMany([{ taskId, runPolicy: oncePolicy(), payload: { a: 1 } }, { runPolicy: oncePolicy() }]);
    expect(again).toMatchObject({ taskId, existing: true, runIds: first!.runIds });
    expect(fresh!.existing).toBe(false);
    const before = q.stats();
    expect(await codeOf(() => q.submitMany([{ runPolicy: oncePolicy() }, { taskId, runPolicy: oncePolicy(), payload: { a: 2 } }]))).toBe("TASK_SPEC_MISMATCH");
    const dup = "01HZZZZZZZZZZZZZZZZZZZZZZZ" as TaskId;
    expect(await codeOf(() => q.submitMany([{ taskId: dup, runPolicy: oncePolicy() }, { taskId: dup, runPolicy: oncePolicy() }]))).toBe("INVALID_FIELD");
    // The same id in another case is the same id.
    expect(await codeOf(() => q.submitMany([{ taskId: dup, runPolicy: oncePolicy() }, { taskId: dup.toLowerCase() as TaskId, runPolicy: oncePolicy() }]))).toBe("INVALID_FIELD");
    expect(q.stats()).toEqual(before);
    expect(await q.submitMany([])).toEqual([]);
    await q.close();
  });

  it("a refused call leaves nothing for the loop to chase: the queue still goes idle", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    q.start();
    const before = q.stats();
    // Valid tasks first (already known to the scheduler when the last input is refused), then a bad one.
    const inputs = [...Array.from({ length: 5 }, (_, i) => ({ runPolicy: oncePolicy(), payload: { i } })), { runPolicy: { kind: "repeat" as const, count: 0, intervalMs: 10 } }];
    expect(await codeOf(() => q.submitMany(inputs))).toBe("INVALID_REPEAT_COUNT");
    expect(q.stats()).toEqual(before);
    await q.runUntilIdle();
    expect(q.stats()).toEqual(before);
    const [ok] = await q.submitMany([{ runPolicy: oncePolicy() }]);
    await q.runUntilIdle();
    expect(q.getRun(ok!.runIds[0]!)?.state).toBe("completed");
    await q.close();
  });

  it("keeps a concurrency key's single flight among tasks submitted together", async () => {
    let running = 0;
    let most = 0;
    const q = await openQueue({
      dataDir: tempDir(),
      concurrency: 8,
      handler: async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
      },
    });
    const results = await q.submitMany(Array.from({ length: 6 }, (_, i) => ({ runPolicy: oncePolicy(), payload: { i }, constraints: { concurrencyKey: "k" } })));
    q.start();
    await q.runUntilIdle();
    expect(most).toBe(1);
    for (const r of results) expect(q.getRun(r.runIds[0]!)?.state).toBe("completed");
    await q.close();
  });
});
