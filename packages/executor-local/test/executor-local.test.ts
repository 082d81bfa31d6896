import { createIdFactory, jsonPayload, ManualClock } from "@actionqueue/core";
import { AttemptRunner, decideRetry, exponentialBackoff, TerminalError } from "@actionqueue/executor-local";
import type { Handler } from "@actionqueue/executor-local";
import { describe, expect, it } from "vitest";

interface Order {
  readonly id: number;
  readonly fail?: "retry" | "terminal";
}

describe("@actionqueue/executor-local (black box)", () => {
  it("runs a typed JSON handler through the retry table", async () => {
    const clock = new ManualClock();
    const ids = createIdFactory(clock);
    const handler: Handler<Order> = async (ctx) => {
      const order = ctx.json();
      if (order.fail === "retry") throw new Error(`order ${order.id} not ready`);
      if (order.fail === "terminal") throw new TerminalError(`order ${order.id} rejected`);
      return { accepted: order.id, attempt: ctx.attemptNumber };
    };
    const runner = new AttemptRunner({ clock });
    const base = { runId: ids.runId(), taskId: ids.taskId(), attemptNumber: 1, maxAttempts: 3, timeoutMs: 1_000 };

    const ok = await runner.run(handler, { ...base, attemptId: ids.attemptId(), payload: jsonPayload({ id: 7 }).bytes });
    expect(ok.response.kind === "success" && new TextDecoder().decode(ok.response.output)).toBe('{"accepted":7,"attempt":1}');

    const retry = await runner.run(handler, { ...base, attemptId: ids.attemptId(), payload: jsonPayload({ id: 8, fail: "retry" }).bytes });
    expect(retry.response).toEqual({ kind: "retryableFailure", error: "order 8 not ready" });
    expect(decideRetry({ outcome: retry.response.kind, attemptNumber: 1, maxAttempts: 3 }, exponentialBackoff(100, 1_000))).toEqual({
      kind: "retryWait",
      delayMs: 100,
    });

    const terminal = await runner.run(handler, { ...base, attemptId: ids.attemptId(), payload: jsonPayload({ id: 9, fail: "terminal" }).bytes });
    expect(terminal.response.kind).toBe("terminalFailure");
    expect(decideRetry({ outcome: terminal.response.kind, attemptNumber: 1, maxAttempts: 3 }).kind).toBe("failed");
  });
});
