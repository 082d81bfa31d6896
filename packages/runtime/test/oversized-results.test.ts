/**
 * A handler's result is recorded in one WAL record (at most 16 MiB). An
 * output or error too large for it, or an error whose message cannot be read,
 * fails that attempt alone: the queue keeps running, other runs are not
 * touched, and the outcome survives a restart.
 */
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { MAX_ERROR_MESSAGE_CHARS, MAX_HANDLER_OUTPUT_BYTES, fixedBackoff, suspended } from "@actionqueue/runtime";
import { openQueue, results, tempDir, text } from "./helpers.js";

class MessageLess extends Error {
  constructor() {
    super();
    // What some hand-written error classes do: message ends up undefined.
    (this as { message: unknown }).message = undefined;
    this.name = "MessageLess";
  }
}

describe("handler results too large or unreadable", () => {
  it("fails the attempt, not the queue", async () => {
    const dataDir = tempDir();
    const errors: unknown[] = [];
    const hugeText = "x".repeat(MAX_HANDLER_OUTPUT_BYTES + 1);
    const handlers = {
      hugeOutput: () => hugeText,
      hugeSuspend: () => suspended(hugeText),
      hugeError: () => Promise.reject(new Error("e".repeat(17 * 1024 * 1024))),
      messageLessAsync: () => Promise.reject(new MessageLess()),
      messageLessSync: () => {
        throw new MessageLess();
      },
      small: () => "ok",
    };
    const q = await openQueue({ dataDir, concurrency: 8, backoff: fixedBackoff(0), handlers });
    q.on("error", (e) => errors.push(e.error));
    const ids: Record<string, string> = {};
    for (const name of Object.keys(handlers)) {
      ids[name] = (await q.submit({ name, runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } })).runIds[0]!;
    }
    await q.runUntilIdle();
    const check = (view: typeof q) => {
      const run = (name: string) => view.getRun(ids[name]!)!;
      for (const name of ["hugeOutput", "hugeSuspend"]) {
        // Terminal: the same handler would return the same output again.
        expect(run(name).state, name).toBe("failed");
        expect(results(run(name)), name).toEqual(["failure"]);
        expect(run(name).attempts[0]!.error, name).toMatch(new RegExp(`of ${MAX_HANDLER_OUTPUT_BYTES + 1} bytes is over the ${MAX_HANDLER_OUTPUT_BYTES}-byte limit`));
      }
      expect(run("hugeError").state).toBe("failed");
      expect(results(run("hugeError"))).toEqual(["failure", "failure"]);
      const error = run("hugeError").attempts[0]!.error!;
      expect(error.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 100);
      expect(error).toMatch(/… \(truncated: 17825792 characters in all\)$/);
      for (const name of ["messageLessAsync", "messageLessSync"]) {
        expect(run(name).state, name).toBe("failed");
        expect(results(run(name)), name).toEqual(["failure", "failure"]);
        expect(run(name).attempts[0]!.error, name).toBe("MessageLess");
      }
      expect(run("small").state).toBe("completed");
      expect(text(run("small").attempts[0]!.output)).toBe("ok");
    };
    check(q);
    expect(errors).toEqual([]);
    // The queue still works after all of that.
    const later = await q.submit({ name: "small", runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(later.runIds[0]!)!.state).toBe("completed");
    await q.close();

    const reopened = await openQueue({ dataDir, handlers });
    check(reopened);
    await reopened.close();
  }, 60_000);
});
