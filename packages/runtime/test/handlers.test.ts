/**
 * Handler edge cases: whatever a handler does — throw non-errors, return
 * values that cannot be stored, run synchronously, misread its payload — the
 * queue records an outcome and keeps running.
 */
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { ActionQueue, fixedBackoff, terminalFailure } from "@actionqueue/runtime";
import type { HandlerContext } from "@actionqueue/runtime";
import { codeOf, openQueue, results, tempDir, text } from "./helpers.js";

describe("handler edge cases", () => {
  it("records every odd behaviour as an outcome and keeps the queue healthy", async () => {
    const dataDir = tempDir();
    const errors: unknown[] = [];
    const q = await openQueue({
      dataDir,
      backoff: fixedBackoff(0),
      handlers: {
        throwsString: () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a handler throwing a non-Error
          throw "plain string";
        },
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejecting with non-Errors on purpose
        throwsUndefined: () => Promise.reject(undefined),
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejecting with non-Errors on purpose
        throwsObject: () => Promise.reject({ reason: "object" }),
        bigint: () => 10n,
        bigintWithTimeout: () => 10n,
        sync: () => "sync value",
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a duck-typed terminal error from another package copy
        terminalLike: () => Promise.reject({ code: "TERMINAL_HANDLER_ERROR", message: "duck-typed terminal" }),
        badJson: (ctx: HandlerContext) => ctx.json(),
        helper: () => terminalFailure("explicit terminal"),
      },
    });
    q.on("error", (e) => errors.push(e.error));
    const ids: Record<string, string> = {};
    for (const name of ["throwsString", "throwsUndefined", "throwsObject", "bigint", "sync", "terminalLike", "helper"]) {
      ids[name] = (await q.submit({ name, runPolicy: oncePolicy(), constraints: { maxAttempts: 2 } })).runIds[0]!;
    }
    ids.bigintWithTimeout = (await q.submit({ name: "bigintWithTimeout", runPolicy: oncePolicy(), constraints: { maxAttempts: 2, timeoutMs: 1_000 } })).runIds[0]!;
    ids.badJson = (await q.submit({ name: "badJson", runPolicy: oncePolicy(), payload: new TextEncoder().encode("{not json"), constraints: { maxAttempts: 3 } })).runIds[0]!;
    await q.runUntilIdle();

    const run = (name: string) => q.getRun(ids[name]!)!;
    for (const name of ["throwsString", "throwsUndefined", "throwsObject"]) {
      expect(run(name).state, name).toBe("failed");
      expect(results(run(name)), name).toEqual(["failure", "failure"]); // retryable: both attempts used
      expect(run(name).attempts[0]!.error, name).toBeTruthy();
    }
    // A value that cannot be stored is a terminal failure (retrying would return it again), on both runner paths.
    for (const name of ["bigint", "bigintWithTimeout"]) {
      expect(run(name).state, name).toBe("failed");
      expect(run(name).attempts, name).toHaveLength(1);
      expect(run(name).attempts[0]!.error, name).toMatch(/not JSON-serialisable/);
    }
    expect(run("throwsString").attempts[0]!.error).toBe("plain string");
    expect(run("throwsObject").attempts[0]!.error).toContain("object");
    expect(run("sync").state).toBe("completed");
    expect(text(run("sync").attempts[0]!.output)).toBe("sync value");
    for (const name of ["terminalLike", "helper", "badJson"]) {
      expect(run(name).state, name).toBe("failed");
      expect(run(name).attempts, name).toHaveLength(1); // terminal: no retry
    }
    expect(run("helper").attempts[0]!.error).toBe("explicit terminal");
    expect(errors).toEqual([]);
  });

  it("hands bytes payloads and their content type through untouched", async () => {
    const seen: { bytes: number[]; contentType: string | undefined }[] = [];
    const q = await openQueue({ dataDir: tempDir(), handler: (ctx) => void seen.push({ bytes: [...ctx.payload], contentType: ctx.contentType }) });
    await q.submit({ runPolicy: oncePolicy(), payload: new Uint8Array([0, 255, 7]), contentType: "application/octet-stream" });
    await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(seen).toEqual([
      { bytes: [0, 255, 7], contentType: "application/octet-stream" },
      { bytes: [], contentType: undefined },
    ]);
  });

  it("a caller may reuse its payload buffer: each handler sees the bytes it was submitted with, before and after a restart", async () => {
    const dataDir = tempDir();
    const seen: string[] = [];
    const q = await openQueue({ dataDir, handler: (ctx) => void seen.push(new TextDecoder().decode(ctx.payload)) });
    const buffer = Buffer.alloc(5);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      buffer.write(`job-${i}`);
      ids.push((await q.submit({ runPolicy: oncePolicy(), payload: buffer })).taskId);
    }
    buffer.write("later");
    await q.close();
    // Reopened: the bytes come back from the WAL; the live queue must have handed out the same.
    const q2 = await openQueue({ dataDir, handler: (ctx) => void seen.push(new TextDecoder().decode(ctx.payload)) });
    expect(ids.map((id) => new TextDecoder().decode(q2.getTask(id)!.payload))).toEqual(["job-0", "job-1", "job-2"]);
    await q2.close();
    const q3 = await openQueue({ dataDir: tempDir(), handler: (ctx) => void seen.push(new TextDecoder().decode(ctx.payload)) });
    for (let i = 0; i < 3; i++) {
      buffer.write(`run-${i}`);
      await q3.submit({ runPolicy: oncePolicy(), payload: buffer });
    }
    await q3.runUntilIdle();
    expect(seen.sort()).toEqual(["run-0", "run-1", "run-2"]);
  });

  it("a caller may change its run policy object after submitting: the task keeps the policy it was submitted with", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const policy = { kind: "cron" as const, expression: "0 0 1 1 *", maxOccurrences: 3 };
    const { taskId } = await q.submit({ runPolicy: policy });
    policy.expression = "* * * * *";
    policy.maxOccurrences = 1;
    expect(q.getTask(taskId)!.runPolicy).toEqual({ kind: "cron", expression: "0 0 1 1 *", maxOccurrences: 3 });
    await q.close();
    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.getTask(taskId)!.runPolicy).toEqual({ kind: "cron", expression: "0 0 1 1 *", maxOccurrences: 3 });
    await q2.close();
  });

  it("a handler may change its payload in place: a retry of the run still gets the task's bytes", async () => {
    const seen: string[] = [];
    const q = await openQueue({
      dataDir: tempDir(),
      backoff: fixedBackoff(0),
      handler: (ctx) => {
        seen.push(new TextDecoder().decode(ctx.payload));
        ctx.payload.fill(0x2a); // in-place decoding, say
        if (ctx.attemptNumber === 1) throw new Error("try again");
      },
    });
    const { taskId } = await q.submit({ runPolicy: oncePolicy(), payload: new TextEncoder().encode("secret"), constraints: { maxAttempts: 2 } });
    await q.runUntilIdle();
    expect(seen).toEqual(["secret", "secret"]);
    expect(new TextDecoder().decode(q.getTask(taskId)!.payload)).toBe("secret");
    // Views hand out copies too.
    q.getTask(taskId)!.payload.fill(0);
    expect(new TextDecoder().decode(q.getTask(taskId)!.payload)).toBe("secret");
    await q.close();
  });

  it("a handler may return the same output buffer every time: each attempt keeps the output it returned", async () => {
    const output = Buffer.alloc(5);
    let n = 0;
    const q = await openQueue({ dataDir: tempDir(), handler: () => (output.write(`out-${n++}`), output) });
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) runIds.push((await q.submit({ runPolicy: oncePolicy() })).runIds[0]!);
    await q.runUntilIdle();
    const outputs = runIds.map((id) => text(q.getRun(id)!.attempts[0]!.output));
    expect(outputs.sort()).toEqual(["out-0", "out-1", "out-2"]);
    q.getRun(runIds[0]!)!.attempts[0]!.output!.fill(0);
    expect(text(q.getRun(runIds[0]!)!.attempts[0]!.output)).toMatch(/^out-\d$/);
  });

  it("concurrent submissions with one taskId create one task", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const first = await q.submit({ runPolicy: oncePolicy() });
    const taskId = first.taskId.replace(/.$/, (c) => (c === "Z" ? "Y" : "Z")); // a fresh, valid id
    const results = await Promise.all([1, 2, 3].map(() => q.submit({ taskId: taskId as never, runPolicy: oncePolicy(), payload: { same: true } })));
    expect(results.filter((r) => !r.existing)).toHaveLength(1);
    expect(new Set(results.map((r) => r.runIds[0]))).toEqual(new Set([results[0]!.runIds[0]]));
    await q.runUntilIdle();
    expect(q.stats()).toMatchObject({ tasks: 2, runs: 2 });
  });

  it("an idempotent re-submission is acknowledged only once the original task is durable", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => undefined });
    const { taskId } = await q.submit({ runPolicy: oncePolicy() });
    const fresh = taskId.replace(/.$/, (c) => (c === "Z" ? "Y" : "Z"));
    const onDisk: boolean[] = [];
    await Promise.all(
      [1, 2, 3].map(() =>
        q.submit({ taskId: fresh as never, runPolicy: oncePolicy() }).then(async (r) => {
          // Whoever is told "it exists" must find it on disk (read-only, from the WAL).
          onDisk.push((await ActionQueue.inspect(dataDir)).getTask(r.taskId) !== undefined);
        }),
      ),
    );
    expect(onDisk).toEqual([true, true, true]);
  });

  // The storage authority checks the record size (16 MiB) before applying anything.
  it("a payload too big for one WAL record is refused without stopping the queue", async () => {
    const q = await openQueue({ dataDir: tempDir(), handler: () => undefined });
    const before = q.stats();
    expect(await codeOf(() => q.submit({ runPolicy: oncePolicy(), payload: new Uint8Array(17 * 1024 * 1024) }))).toBe("INVALID_PAYLOAD");
    expect(q.stats()).toEqual(before);
    const ok = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    expect(q.getRun(ok.runIds[0]!)!.state).toBe("completed");
  });

  it("work submitted from handlers and from event listeners is waited for by runUntilIdle", async () => {
    const dataDir = tempDir();
    const done: string[] = [];
    const ref: { queue?: ActionQueue } = {};
    const q = await openQueue({
      dataDir,
      handlers: {
        // Fan-out from inside a handler.
        parent: async (ctx: HandlerContext<{ children: number }>) => {
          for (let i = 0; i < ctx.json().children; i += 1) await ref.queue!.submit({ name: "child", runPolicy: { kind: "once" }, payload: { i } });
          done.push("parent");
        },
        child: (ctx: HandlerContext<{ i: number }>) => void done.push(`child ${ctx.json().i}`),
        step: (ctx: HandlerContext<{ n: number }>) => void done.push(`step ${ctx.json().n}`),
      },
    });
    ref.queue = q;
    // A chain driven by events: each completed step submits the next.
    q.on("run:completed", (e) => {
      const task = q.getTask(e.taskId)!;
      if (task.name !== "step") return;
      const n = (JSON.parse(new TextDecoder().decode(task.payload)) as { n: number }).n;
      if (n < 3) void q.submit({ name: "step", runPolicy: { kind: "once" }, payload: { n: n + 1 } });
    });
    await q.submit({ name: "parent", runPolicy: oncePolicy(), payload: { children: 3 } });
    await q.submit({ name: "step", runPolicy: oncePolicy(), payload: { n: 1 } });
    await q.runUntilIdle();
    expect(done.sort()).toEqual(["child 0", "child 1", "child 2", "parent", "step 1", "step 2", "step 3"]);
    expect(q.stats().runsByState.completed).toBe(7);
  });

  it("close while runUntilIdle waits: close wins, the waiter settles", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: () => new Promise((r) => setTimeout(r, 50)) });
    await q.submit({ runPolicy: oncePolicy() });
    const waiting = q.runUntilIdle().then(
      () => "resolved",
      (e: { code?: string }) => e.code,
    );
    await q.close();
    expect(["resolved", "CLOSED"]).toContain(await waiting);
    expect(await codeOf(() => q.runUntilIdle())).toBe("CLOSED");
    expect(await codeOf(() => q.pause())).toBe("CLOSED");
  });
});
