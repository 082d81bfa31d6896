import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RunInstance, createTaskSpec } from "@actionqueue/core";
import type { RunId, TaskId } from "@actionqueue/core";
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

  it("names what made a record too big: the payload, or the runs a submission creates", async () => {
    const authority = new StorageMutationAuthority(new Projection(), failingSink(-1));
    const huge = { ...taskCreate(1, 1), taskSpec: createTaskSpec({ id: taskId(1), runPolicy: { kind: "once" }, payload: new Uint8Array(17 * 1024 * 1024) }) };
    const byPayload = await authority.submitCommand(huge, "immediate").catch((error: unknown) => error);
    expect(byPayload).toMatchObject({ code: "INVALID_PAYLOAD", details: { field: "payload" } });
    expect((byPayload as Error).message).toContain(`a ${17 * 1024 * 1024}-byte payload`);
    // A 4 MiB payload and 640,000 runs (20 bytes each): over the 16 MiB a record holds, mostly runs. The runs are to blame, not the payload.
    const spec = createTaskSpec({ id: taskId(2), runPolicy: { kind: "repeat", count: 640_000, intervalMs: 1 }, payload: new Uint8Array(4 * 1024 * 1024) });
    const runs = Array.from({ length: 640_000 }, (_, k) =>
      RunInstance.newScheduled({ id: `01HF${String(k).padStart(22, "0")}` as RunId, taskId: spec.id, scheduledAt: 1 + k, createdAt: 1 }),
    );
    const byRuns = await authority.submitCommand({ kind: "taskSubmit", sequence: 1, timestamp: 1, taskSpec: spec, runs }, "immediate").catch((error: unknown) => error);
    expect(byRuns).toMatchObject({ code: "INVALID_PAYLOAD", details: { field: "runPolicy.count" } });
    expect((byRuns as Error).message).toMatch(/a task with 640000 runs\) encodes to \d+ bytes.*create fewer runs per task/);
    expect(authority.latestSequence()).toBe(0);
  }, 30_000);

  describe("submitBatchDurable", () => {
    /** A sink whose group commits the test settles by hand: one promise per commit, as the WAL writer's. */
    function commitSink(): EventSink & { written: number[]; commit(error?: Error): void } {
      let pending: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
      let poisonedBy: Error | undefined;
      const current = () => {
        if (pending === undefined) {
          let resolve!: () => void;
          let reject!: (e: Error) => void;
          const promise = new Promise<void>((res, rej) => {
            resolve = res;
            reject = rej;
          });
          pending = { promise, resolve, reject };
        }
        return pending.promise;
      };
      const sink = {
        written: [] as number[],
        get poisonedBy() {
          return poisonedBy;
        },
        append(sequence: number) {
          sink.written.push(sequence);
          return current();
        },
        appendEncodedBatch(firstSequence: number, _bytes: Uint8Array, ends: readonly number[]) {
          for (let i = 0; i < ends.length; i++) sink.written.push(firstSequence + i);
          return current();
        },
        commit(error?: Error) {
          const p = pending;
          pending = undefined;
          if (error === undefined) p?.resolve();
          else {
            poisonedBy = error;
            p?.reject(error);
          }
        },
      };
      return sink;
    }

    it("shares one promise among the batches of a group commit and a new one for the next", async () => {
      const sink = commitSink();
      const authority = new StorageMutationAuthority(new Projection(), sink);
      const a = authority.submitBatchDurable([taskCreate(1, 1)], "immediate");
      const b = authority.submitBatchDurable([taskCreate(2, 2), taskCreate(3, 3)], "immediate");
      expect(b).toBe(a);
      let settled = false;
      void a.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      sink.commit();
      await a;
      expect(settled).toBe(true);
      const c = authority.submitBatchDurable([taskCreate(4, 4)], "immediate");
      expect(c).not.toBe(a);
      sink.commit();
      await c;
      expect(sink.written).toEqual([1, 2, 3, 4]);
    });

    it("applies all or nothing: a refused batch rejects with its error and writes nothing", async () => {
      const sink = commitSink();
      const projection = new Projection();
      const authority = new StorageMutationAuthority(projection, sink);
      // The second command duplicates the first task: refused, so the first is rolled back too.
      await expect(authority.submitBatchDurable([taskCreate(1, 1), taskCreate(1, 2)], "immediate")).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      await expect(authority.submitBatchDurable([taskCreate(1, 5)], "immediate")).rejects.toMatchObject({ code: "SEQUENCE_CONFLICT" });
      expect(projection.getTask(taskId(1))).toBeUndefined();
      expect(authority.latestSequence()).toBe(0);
      expect(sink.written).toEqual([]);
      const ok = authority.submitBatchDurable([taskCreate(1, 1)], "immediate");
      sink.commit();
      await ok;
      expect(authority.latestSequence()).toBe(1);
    });

    it("a refused batch undoes its own changes only, whatever batches came before it", async () => {
      const sink = commitSink();
      const projection = new Projection();
      const authority = new StorageMutationAuthority(projection, sink);
      const tasks = (first: number, count: number, sequence: number) => Array.from({ length: count }, (_, i) => taskCreate(first + i, sequence + i));
      const small = authority.submitBatchDurable(tasks(1, 2, 1), "immediate");
      // Larger than the undo journal the authority keeps between batches.
      const large = authority.submitBatchDurable(tasks(10, 80, 3), "immediate");
      // Refused at its last command (task 10 exists): its first task is undone, nothing earlier is.
      await expect(authority.submitBatchDurable([taskCreate(95, 83), taskCreate(10, 84)], "immediate")).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      await expect(authority.submitBatchDurable([taskCreate(96, 83), taskCreate(97, 84), taskCreate(96, 85)], "immediate")).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      expect(projection.getTask(taskId(95))).toBeUndefined();
      expect(projection.getTask(taskId(96))).toBeUndefined();
      expect(projection.getTask(taskId(97))).toBeUndefined();
      for (const n of [1, 2, 10, 50, 89]) expect(projection.getTask(taskId(n))).toBeDefined();
      expect(authority.latestSequence()).toBe(82);
      sink.commit();
      await Promise.all([small, large]);
      expect(sink.written).toEqual(Array.from({ length: 82 }, (_, i) => i + 1));
    });

    it("an open batch applies each command as it is added and writes them all as one batch at commit", async () => {
      const sink = commitSink();
      const projection = new Projection();
      const authority = new StorageMutationAuthority(projection, sink);
      const batch = authority.openBatch();
      batch.add(taskCreate(1, 1));
      batch.add(taskCreate(2, 2));
      expect(batch.size).toBe(2);
      expect(projection.getTask(taskId(2))).toBeDefined();
      expect(sink.written).toEqual([]);
      // Nothing else may interleave while it is open.
      await expect(authority.submitBatchDurable([taskCreate(3, 3)], "immediate")).rejects.toMatchObject({ code: "COMMAND_REJECTED" });
      await expect(authority.submitCommand(taskCreate(3, 3), "immediate")).rejects.toMatchObject({ code: "COMMAND_REJECTED" });
      expect(() => authority.openBatch()).toThrow(/a batch is open/);
      const done = batch.commit("immediate");
      expect(sink.written).toEqual([1, 2]);
      await expect(batch.commit("immediate")).rejects.toMatchObject({ code: "COMMAND_REJECTED" });
      expect(() => batch.add(taskCreate(3, 3))).toThrow(/already committed or aborted/);
      batch.abort(); // a no-op once committed
      expect(projection.getTask(taskId(2))).toBeDefined();
      sink.commit();
      await done;
      // Usable again, and an empty batch writes nothing.
      await expect(authority.openBatch().commit("immediate")).resolves.toBeUndefined();
      const next = authority.submitBatchDurable([taskCreate(3, 3)], "immediate");
      sink.commit();
      await next;
      expect(sink.written).toEqual([1, 2, 3]);
    });

    it("an open batch is undone whole when a command is refused, or when aborted", () => {
      const sink = commitSink();
      const projection = new Projection();
      const authority = new StorageMutationAuthority(projection, sink);
      const refused = authority.openBatch();
      refused.add(taskCreate(1, 1));
      expect(() => refused.add(taskCreate(1, 2))).toThrow(/already exists/);
      expect(projection.getTask(taskId(1))).toBeUndefined();
      expect(authority.latestSequence()).toBe(0);
      expect(() => refused.add(taskCreate(2, 1))).toThrow(/already committed or aborted/);
      const aborted = authority.openBatch();
      aborted.add(taskCreate(2, 1));
      expect(() => aborted.add(taskCreate(3, 3))).toThrow(/sequence/);
      const third = authority.openBatch();
      third.add(taskCreate(4, 1));
      third.abort();
      expect(projection.getTask(taskId(4))).toBeUndefined();
      expect(authority.latestSequence()).toBe(0);
      expect(sink.written).toEqual([]);
    });

    it("whatever mix of batches is committed, refused or aborted, the state holds exactly the committed ones, written in order", () => {
      // Each batch names task numbers; a number already present (or repeated) is refused.
      const batchArb = fc.record({ tasks: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 5 }), abort: fc.boolean() });
      fc.assert(
        fc.property(fc.array(batchArb, { maxLength: 12 }), (batches) => {
          const sink = commitSink();
          const projection = new Projection();
          const authority = new StorageMutationAuthority(projection, sink);
          const expected = new Set<number>();
          for (const { tasks, abort } of batches) {
            const batch = authority.openBatch();
            let refused = false;
            for (const n of tasks) {
              try {
                batch.add(taskCreate(n, authority.latestSequence() + 1));
              } catch {
                refused = true;
                break;
              }
            }
            const wouldRefuse = new Set(tasks).size !== tasks.length || tasks.some((n) => expected.has(n));
            expect(refused).toBe(wouldRefuse);
            if (refused) continue;
            if (abort) batch.abort();
            else {
              void batch.commit("immediate");
              for (const n of tasks) expected.add(n);
            }
          }
          expect(authority.latestSequence()).toBe(expected.size);
          expect(sink.written).toEqual(Array.from({ length: expected.size }, (_, i) => i + 1));
          for (let n = 1; n <= 30; n++) expect(projection.getTask(taskId(n)) !== undefined).toBe(expected.has(n));
        }),
      );
    });

    it("poisons the authority when the commit fails, for every batch in it and every later call", async () => {
      const sink = commitSink();
      const authority = new StorageMutationAuthority(new Projection(), sink);
      const a = authority.submitBatchDurable([taskCreate(1, 1)], "immediate");
      const b = authority.submitBatchDurable([taskCreate(2, 2)], "immediate");
      sink.commit(new Error("EIO: fsync failed"));
      await expect(a).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
      await expect(b).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
      await expect(authority.submitBatchDurable([taskCreate(3, 3)], "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
      await expect(authority.submitBatchDurable([], "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
    });

    it("a dropped promise of a failed commit poisons the authority without an unhandled rejection", async () => {
      const sink = commitSink();
      const authority = new StorageMutationAuthority(new Projection(), sink);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on("unhandledRejection", onUnhandled);
      try {
        // The caller keeps nothing of this batch's promise.
        void authority.submitBatchDurable([taskCreate(1, 1)], "deferred");
        sink.commit(new Error("EIO: write failed"));
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(unhandled).toEqual([]);
        expect(authority.poisonedBy?.code).toBe("AUTHORITY_POISONED");
        await expect(authority.submitBatchDurable([taskCreate(2, 2)], "immediate")).rejects.toMatchObject({ code: "AUTHORITY_POISONED" });
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    });
  });
});
