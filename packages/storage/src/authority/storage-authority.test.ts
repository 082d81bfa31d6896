import { describe, expect, it } from "vitest";
import { createTaskSpec } from "@actionqueue/core";
import type { TaskId } from "@actionqueue/core";
import { StorageMutationAuthority } from "./storage-authority.js";
import type { EventSink } from "./storage-authority.js";
import { Projection } from "../projection/projection.js";

const taskId = (n: number): TaskId => `01HF00000000000000000000${String(n).padStart(2, "0")}` as TaskId;
const taskCreate = (n: number, sequence: number) => ({ kind: "taskCreate" as const, sequence, timestamp: 1, taskSpec: createTaskSpec({ id: taskId(n), runPolicy: { kind: "once" } }) });

function failingSink(failAt: number): EventSink & { written: number[] } {
  let poisonedBy: Error | undefined;
  const sink = {
    written: [] as number[],
    get poisonedBy() {
      return poisonedBy;
    },
    append(sequence: number) {
      if (poisonedBy !== undefined) return Promise.reject(poisonedBy);
      if (sequence === failAt) {
        poisonedBy = new Error("EIO: fsync failed");
        return Promise.reject(poisonedBy);
      }
      sink.written.push(sequence);
      return Promise.resolve();
    },
    appendEncodedBatch(firstSequence: number, _bytes: Uint8Array, ends: readonly number[]) {
      for (let i = 0; i < ends.length; i++) sink.written.push(firstSequence + i);
      return Promise.resolve();
    },
  };
  return sink;
}

describe("StorageMutationAuthority", () => {
  it("is fail-stop: after a failed write every call rejects with AUTHORITY_POISONED", async () => {
    const sink = failingSink(2);
    const authority = new StorageMutationAuthority(new Projection(), sink);
    await authority.submitCommand(taskCreate(1, 1), "immediate");
    await expect(authority.submitCommand(taskCreate(2, 2), "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
    await expect(authority.submitCommand(taskCreate(3, 3), "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
    await expect(authority.submitBatch([taskCreate(4, 3)], "immediate")).rejects.toThrow(/EIO: fsync failed/);
    expect(authority.poisonedBy?.code).toBe("AUTHORITY_POISONED");
    expect(sink.written).toEqual([1]);
  });

  it("validates and applies synchronously in submission order", () => {
    const projection = new Projection();
    const authority = new StorageMutationAuthority(projection, failingSink(-1));
    const first = authority.submitCommand(taskCreate(1, 1), "deferred");
    expect(projection.getTask(taskId(1))).toBeDefined();
    const second = authority.submitCommand(taskCreate(2, 2), "deferred");
    expect(authority.latestSequence()).toBe(2);
    return Promise.all([first, second]);
  });

  it("refuses after close", async () => {
    const authority = new StorageMutationAuthority(new Projection(), failingSink(-1));
    authority.markClosed();
    await expect(authority.submitCommand(taskCreate(1, 1), "immediate")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("refuses a record too big for the WAL before applying anything, and stays usable", async () => {
    const projection = new Projection();
    const sink = failingSink(-1);
    const authority = new StorageMutationAuthority(projection, sink);
    const huge = { ...taskCreate(1, 1), taskSpec: createTaskSpec({ id: taskId(1), runPolicy: { kind: "once" }, payload: new Uint8Array(17 * 1024 * 1024) }) };
    await expect(authority.submitCommand(huge, "immediate")).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    await expect(authority.submitBatch([huge], "immediate")).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    expect(projection.getTask(taskId(1))).toBeUndefined();
    expect(authority.latestSequence()).toBe(0);
    expect(authority.poisonedBy).toBeUndefined();
    await authority.submitCommand(taskCreate(2, 1), "immediate");
    expect(sink.written).toEqual([1]);
  });
});

