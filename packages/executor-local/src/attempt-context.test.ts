import { createIdFactory, ManualClock } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { AttemptContext } from "./attempt-context.js";
import type { AttemptRequest } from "./attempt-context.js";

const ids = createIdFactory(new ManualClock());

function request(payload: Uint8Array): AttemptRequest {
  return { runId: ids.runId(), attemptId: ids.attemptId(), taskId: ids.taskId(), payload, attemptNumber: 1, maxAttempts: 2 };
}

describe("attempt context payload", () => {
  it("hands the handler its own copy, made once when first read: changing it in place leaves the task's bytes alone", () => {
    const taskBytes = new TextEncoder().encode('{"n":1}');
    const ctx = new AttemptContext(request(taskBytes));
    const bytes = ctx.payload;
    expect(ctx.payload).toBe(bytes);
    expect([...bytes]).toEqual([...taskBytes]);
    bytes.fill(0);
    expect(new TextDecoder().decode(taskBytes)).toBe('{"n":1}');
    // A second attempt (a retry) starts from the task's bytes.
    expect(new TextDecoder().decode(new AttemptContext(request(taskBytes)).payload)).toBe('{"n":1}');
  });

  it("parses JSON from the task's bytes, whatever the handler did to its copy", () => {
    const ctx = new AttemptContext<{ n: number }>(request(new TextEncoder().encode('{"n":2}')));
    ctx.payload.fill(0x20);
    expect(ctx.json()).toEqual({ n: 2 });
  });

  it("an empty payload is empty", () => {
    expect(new AttemptContext(request(new Uint8Array(0))).payload.length).toBe(0);
  });
});
