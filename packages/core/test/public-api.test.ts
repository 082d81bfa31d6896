/**
 * Black-box test: uses only what `@actionqueue/core` exports (the built
 * package), the way other packages and users do.
 */
import { describe, expect, it } from "vitest";
import {
  ActionQueueError,
  AttemptOutcome,
  ERROR_CODES,
  ManualClock,
  RunInstance,
  checkEvent,
  createIdFactory,
  createTaskSpec,
  cronPolicy,
  errorFamily,
  nextCronOccurrences,
  oncePolicy,
  repeatPolicy,
  runInstanceFromJson,
  runInstanceToJson,
  taskSpecFromJson,
  taskSpecToJson,
  validateCommandShape,
} from "@actionqueue/core";
import type { MutationCommand, SubscriptionSource } from "@actionqueue/core";

describe("@actionqueue/core public API", () => {
  const clock = new ManualClock({ startMs: Date.UTC(2024, 0, 1) });
  const ids = createIdFactory(clock);

  it("builds specs for every policy kind and round-trips them through JSON", () => {
    for (const runPolicy of [oncePolicy(), repeatPolicy(3, 60_000), cronPolicy("0 9 * * MON-FRI", { maxOccurrences: 10 })]) {
      const spec = createTaskSpec({ id: ids.taskId(), runPolicy, constraints: { maxAttempts: 3 } });
      expect(taskSpecFromJson(JSON.parse(JSON.stringify(taskSpecToJson(spec))))).toEqual(spec);
    }
    expect(nextCronOccurrences("0 9 * * MON-FRI", clock.now(), 2).map((ms) => new Date(ms).toISOString())).toEqual([
      "2024-01-01T09:00:00.000Z",
      "2024-01-02T09:00:00.000Z",
    ]);
  });

  it("walks a run to completion and persists it", () => {
    const run = RunInstance.newScheduled({ id: ids.runId(), taskId: ids.taskId(), scheduledAt: clock.now() + 1000, createdAt: clock.now() });
    run.promoteToReady(5);
    run.transitionTo("leased");
    run.transitionTo("running");
    const attempt = ids.attemptId();
    run.startAttempt(attempt);
    const finish: MutationCommand = {
      kind: "attemptFinish",
      sequence: 7,
      timestamp: clock.now(),
      runId: run.id,
      attemptId: attempt,
      outcome: AttemptOutcome.success(),
    };
    expect(() => validateCommandShape(finish)).not.toThrow();
    run.finishAttempt(attempt);
    run.transitionTo("completed");
    expect(runInstanceFromJson(JSON.parse(JSON.stringify(runInstanceToJson(run)))).toFields()).toEqual(run.toFields());
  });

  it("reports errors by stable code and family", () => {
    const run = RunInstance.newReady({ id: ids.runId(), taskId: ids.taskId(), scheduledAt: 0, createdAt: 0 });
    try {
      run.transitionTo("completed");
      expect.unreachable();
    } catch (error) {
      expect(ActionQueueError.hasCode(error, "INVALID_TRANSITION")).toBe(true);
      expect((error as ActionQueueError).family).toBe("transition");
    }
    expect(errorFamily("ZERO_LIMIT")).toBe("validation");
    expect(errorFamily("NOPE")).toBeUndefined();
    expect(Object.keys(ERROR_CODES).length).toBeGreaterThan(50);
  });

  it("matches events against subscriptions", () => {
    const taskId = ids.taskId();
    const subscriptionId = ids.subscriptionId();
    const source: SubscriptionSource = { activeSubscriptions: () => [{ subscriptionId, filter: { kind: "taskCompleted", taskId } }] };
    expect(checkEvent({ kind: "taskReachedTerminalSuccess", taskId }, source)).toEqual([subscriptionId]);
  });
});
