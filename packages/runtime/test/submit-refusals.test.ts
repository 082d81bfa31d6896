/**
 * Submissions the queue must refuse by name, writing nothing: a repeat task
 * with more runs than one task may have (its runs are all created at once, so
 * 2^32 − 1 used to exhaust memory), a repeat schedule past the largest time
 * (named by its policy, not by a task id that never existed), a payload too
 * deeply nested to serialise, and, through the JSON input the daemon and the
 * CLI use, base64 that does not decode to whole bytes and unknown keys inside
 * a misfire policy.
 */
import { describe, expect, it } from "vitest";
import { ActionQueueError } from "@actionqueue/core";
import { MAX_RUNS_PER_TASK, parseSubmitJson } from "@actionqueue/runtime";
import { fileTree, openQueue, tempDir } from "./helpers.js";


async function refusal(action: () => Promise<unknown>): Promise<ActionQueueError> {
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ActionQueueError.is(error), String(error)).toBe(true);
  return error as ActionQueueError;
}

describe("submissions refused by name, writing nothing", () => {
  it("a repeat task with more runs than a task may have, an overflowing schedule, a payload too deep to serialise", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    await q.submit({ runPolicy: { kind: "once" } });
    const before = fileTree(dataDir);

    for (const count of [MAX_RUNS_PER_TASK + 1, 4_294_967_295]) {
      const error = await refusal(() => q.submit({ runPolicy: { kind: "repeat", count, intervalMs: 1000 } }));
      expect(error.code).toBe("INVALID_REPEAT_COUNT");
      expect(error.details.field).toBe("runPolicy.count");
      expect(error.message).toContain(`repeat count ${count}`);
      expect(error.message).toContain(`at most ${MAX_RUNS_PER_TASK} runs`);
    }

    const overflow = await refusal(() => q.submit({ runPolicy: { kind: "repeat", count: 3, intervalMs: Number.MAX_SAFE_INTEGER } }));
    expect(overflow.code).toBe("DERIVATION_OVERFLOW");
    expect(overflow.details.field).toBe("runPolicy");
    expect(overflow.message).toMatch(/^runPolicy repeat \(count 3, intervalMs 9007199254740991\) overflows/);
    // No task id in the message or the details: the task was never created.
    expect(overflow.details.taskId).toBeUndefined();

    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const nested = await refusal(() => q.submit({ runPolicy: { kind: "once" }, payload: deep }));
    expect(nested.code).toBe("INVALID_PAYLOAD");
    expect(nested.message).toBe("payload is not JSON-serialisable: it is nested too deeply to store");

    expect(q.stats().tasks).toBe(1);
    expect(fileTree(dataDir)).toEqual(before);
  });

  it("a cron expression that never fires is refused, not kept as a task with no runs", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    for (const expression of ["0 0 30 2 *", "0 0 31 4 *"]) {
      const error = await refusal(() => q.submit({ runPolicy: { kind: "cron", expression } }));
      expect(error.code).toBe("INVALID_CRON_EXPRESSION");
      expect(error.details.field).toBe("runPolicy.expression");
      expect(error.message).toContain(`${JSON.stringify(expression)}: it never fires after`);
    }
    // Rare but real dates are fine.
    const { runIds } = await q.submit({ runPolicy: { kind: "cron", expression: "0 0 29 2 *" } });
    expect(runIds.length).toBeGreaterThan(0);
    expect(q.stats().tasks).toBe(1);
  });

  it("a repeat task at the limit is accepted", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const { runIds } = await q.submit({ runPolicy: { kind: "repeat", count: MAX_RUNS_PER_TASK, intervalMs: 1000 } });
    expect(runIds).toHaveLength(MAX_RUNS_PER_TASK);
  }, 30_000);

  it("JSON input: base64 must decode to whole bytes; padding is optional but must complete the group", () => {
    const bytes = (payloadBase64: string): number[] => [...(parseSubmitJson({ runPolicy: "once", payloadBase64 }).payload ?? [])];
    expect(bytes("")).toEqual([]);
    expect(bytes("AAEC")).toEqual([0, 1, 2]);
    expect(bytes("AAE=")).toEqual([0, 1]);
    expect(bytes("AAE")).toEqual([0, 1]);
    expect(bytes("AA==")).toEqual([0]);
    expect(bytes("AA")).toEqual([0]);
    for (const bad of ["A", "AAAAA", "=", "==", "A=", "AA=", "AAE==", "AA===", "AA A", "AA-_", 5]) {
      let caught: unknown;
      try {
        parseSubmitJson({ runPolicy: "once", payloadBase64: bad });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(bad)).toMatchObject({ code: "INVALID_PAYLOAD", details: { field: "payloadBase64" } });
      expect((caught as Error).message).toContain(`payloadBase64 ${JSON.stringify(bad)}`);
    }
  });

  it("JSON input: an unknown key inside runPolicy.misfire is refused, not dropped", () => {
    const policy = (misfire: unknown) => ({ runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, misfire } });
    expect(parseSubmitJson(policy({ kind: "catchUp", maxRuns: 3 })).runPolicy).toMatchObject({ misfire: { kind: "catchUp", maxRuns: 3 } });
    expect(() => parseSubmitJson(policy({ kind: "catchUp", maxRun: 3 }))).toThrow(/runPolicy\.misfire: unknown key "maxRun" \(did you mean maxRuns\?\); expected one of kind, maxRuns/);
    expect(() => parseSubmitJson(policy({ kind: "skip", extra: true }))).toThrow(/unknown key "extra"/);
    // Not an object at all: the policy's own refusal, as before.
    for (const misfire of [[], "catchUp", 3]) expect(() => parseSubmitJson(policy(misfire))).toThrow(expect.objectContaining({ code: "INVALID_RUN_POLICY" }));
  });
});

describe("null in an optional field of submit() means not given", () => {
  it("a JavaScript caller's nulls give the task that leaving the fields out gives; constraints: null and tags: null used to throw TypeErrors", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const none = null as never;
    const plain = await q.submit({ runPolicy: { kind: "once" }, payload: { a: 1 } });
    const nulled = await q.submit({
      taskId: none,
      name: none,
      contentType: none,
      runPolicy: { kind: "once" },
      payload: { a: 1 },
      constraints: { maxAttempts: none, timeoutMs: none, concurrencyKey: none, concurrencyKeyHoldPolicy: none, safetyLevel: none, requiredCapabilities: none },
      metadata: { tags: none, priority: none, description: none },
    });
    const bare = await q.submit({ runPolicy: { kind: "once" }, payload: { a: 1 }, constraints: none, metadata: none });
    const view = (taskId: string) => {
      const { taskId: _id, createdAt: _at, runIds: _runs, ...rest } = q.getTask(taskId)!;
      return rest;
    };
    expect(view(nulled.taskId)).toEqual(view(plain.taskId));
    expect(view(bare.taskId)).toEqual(view(plain.taskId));
    await q.close();
  });

  it("a payload of null is the JSON value null, not a missing payload", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const { taskId } = await q.submit({ runPolicy: { kind: "once" }, payload: null });
    const task = q.getTask(taskId)!;
    expect([task.contentType, Buffer.from(task.payload).toString()]).toEqual(["application/json", "null"]);
    await q.close();
  });

  it("an empty content type is refused by name, writing nothing", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const before = fileTree(dataDir);
    const error = await refusal(() => q.submit({ runPolicy: { kind: "once" }, payload: new Uint8Array([1]), contentType: "" }));
    expect(error.code).toBe("INVALID_CONTENT_TYPE");
    expect(error.details).toMatchObject({ field: "contentType", value: "" });
    expect(fileTree(dataDir)).toEqual(before);
    await q.close();
  });

  it("bytes in any wrapper but Uint8Array are refused, not stored as JSON ({} for an ArrayBuffer)", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const before = fileTree(dataDir);
    const bytes = new Uint8Array([1, 2, 3]);
    for (const [payload, kind] of [
      [bytes.buffer, "ArrayBuffer"],
      [new DataView(bytes.buffer), "DataView"],
      [new Int16Array([1, 2]), "Int16Array"],
    ] as const) {
      const error = await refusal(() => q.submit({ runPolicy: { kind: "once" }, payload }));
      expect(error.code).toBe("INVALID_PAYLOAD");
      expect(error.message).toContain(`payload is a ${kind}: give binary payloads as a Uint8Array`);
    }
    expect(fileTree(dataDir)).toEqual(before);
    // A Buffer is a Uint8Array: stored as the bytes it holds.
    const { taskId } = await q.submit({ runPolicy: { kind: "once" }, payload: Buffer.from([7, 8]) });
    expect([...q.getTask(taskId)!.payload]).toEqual([7, 8]);
    await q.close();
  });
});

describe("keys submit() does not know", () => {
  it("a misspelt top-level field is refused with the one it likely meant, writing nothing (a dropped `constraint` ran a retrying task once)", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const before = fileTree(dataDir);
    const typo = await refusal(() => q.submit({ runPolicy: { kind: "once" }, constraint: { maxAttempts: 3 } } as never));
    expect(typo.code).toBe("UNKNOWN_FIELD");
    expect(typo.details.field).toBe("constraint");
    expect(typo.message).toContain("did you mean constraints?");
    const many = await refusal(() => q.submitMany([{ runPolicy: { kind: "once" } }, { runPolicy: { kind: "once" }, priority: 3 } as never]));
    expect(many.message).toMatch(/^submission 1: unknown field priority/);
    expect(q.stats().tasks).toBe(0);
    expect(fileTree(dataDir)).toEqual(before);
    await q.close();
  });
});
