import { describe, expect, it } from "vitest";
import { actorId, expectCode, subscriptionId, taskId, tenantId } from "../../test/support.js";
import type { SubscriptionId } from "../ids/ids.js";
import type { ActionQueueEvent, ActiveSubscription, SubscriptionSource } from "./event.js";
import { checkEvent, eventMatchesFilter } from "./event.js";
import type { EventFilter } from "./event-filter.js";
import { eventFilter, validateEventFilter } from "./event-filter.js";

const source = (subs: ActiveSubscription[]): SubscriptionSource => ({ activeSubscriptions: () => subs });

describe("eventFilter validation", () => {
  const t = taskId();
  it("accepts every kind", () => {
    expect(eventFilter({ kind: "taskCompleted", taskId: t })).toEqual({ kind: "taskCompleted", taskId: t });
    expect(eventFilter({ kind: "runStateChanged", taskId: t, state: "suspended" }).kind).toBe("runStateChanged");
    expect(eventFilter({ kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 0 }).kind).toBe("budgetThreshold");
    expect(eventFilter({ kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 100 }).kind).toBe("budgetThreshold");
    expect(eventFilter({ kind: "custom", key: "caelum.thread.completed" })).toEqual({ kind: "custom", key: "caelum.thread.completed" });
  });

  it("rejects thresholds outside 0..100 or fractional", () => {
    for (const thresholdPct of [101, -1, 50.5, 255]) {
      const error = expectCode(() => eventFilter({ kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct }), "INVALID_THRESHOLD_PCT");
      expect(error.details).toMatchObject({ field: "filter.thresholdPct" });
    }
  });

  it("rejects an empty custom key, an unknown kind, state or dimension, and a bad task id", () => {
    expectCode(() => eventFilter({ kind: "custom", key: "" }), "EMPTY_CUSTOM_EVENT_KEY");
    expectCode(() => validateEventFilter({ kind: "nope" } as unknown as EventFilter), "INVALID_EVENT_FILTER");
    expectCode(() => validateEventFilter({ kind: "runStateChanged", taskId: t, state: "done" } as unknown as EventFilter), "INVALID_EVENT_FILTER");
    expectCode(() => validateEventFilter({ kind: "budgetThreshold", taskId: t, dimension: "gpu", thresholdPct: 5 } as unknown as EventFilter), "INVALID_BUDGET_DIMENSION");
    expectCode(() => validateEventFilter({ kind: "taskCompleted", taskId: "x" } as unknown as EventFilter), "INVALID_ID");
  });
});

describe("checkEvent", () => {
  const t = taskId();
  const other = taskId();
  const s = (): SubscriptionId => subscriptionId();

  it("taskCompleted matches terminal success of the same task only", () => {
    const a = s();
    const src = source([{ subscriptionId: a, filter: { kind: "taskCompleted", taskId: t } }]);
    expect(checkEvent({ kind: "taskReachedTerminalSuccess", taskId: t }, src)).toEqual([a]);
    expect(checkEvent({ kind: "taskReachedTerminalSuccess", taskId: other }, src)).toEqual([]);
    expect(checkEvent({ kind: "runChangedState", taskId: t, newState: "completed" }, src)).toEqual([]);
  });

  it("runStateChanged needs the same task and the same new state", () => {
    const a = s();
    const src = source([{ subscriptionId: a, filter: { kind: "runStateChanged", taskId: t, state: "suspended" } }]);
    expect(checkEvent({ kind: "runChangedState", taskId: t, newState: "suspended" }, src)).toEqual([a]);
    expect(checkEvent({ kind: "runChangedState", taskId: t, newState: "ready" }, src)).toEqual([]);
    expect(checkEvent({ kind: "runChangedState", taskId: other, newState: "suspended" }, src)).toEqual([]);
  });

  it("budgetThreshold matches pct ≥ threshold (equal included) for the same task and dimension", () => {
    const a = s();
    const src = source([{ subscriptionId: a, filter: { kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 80 } }]);
    const crossed = (pct: number, dimension: "token" | "costCents" = "token", task = t): ActionQueueEvent => ({
      kind: "budgetThresholdCrossed",
      taskId: task,
      dimension,
      pct,
    });
    expect(checkEvent(crossed(80), src)).toEqual([a]);
    expect(checkEvent(crossed(95), src)).toEqual([a]);
    expect(checkEvent(crossed(79), src)).toEqual([]);
    expect(checkEvent(crossed(90, "costCents"), src)).toEqual([]);
    expect(checkEvent(crossed(90, "token", other), src)).toEqual([]);
  });

  it("a threshold of 0 matches any crossing", () => {
    const filter: EventFilter = { kind: "budgetThreshold", taskId: t, dimension: "timeMs", thresholdPct: 0 };
    expect(eventMatchesFilter({ kind: "budgetThresholdCrossed", taskId: t, dimension: "timeMs", pct: 0 }, filter)).toBe(true);
    expect(eventMatchesFilter({ kind: "budgetThresholdCrossed", taskId: t, dimension: "timeMs", pct: 100 }, filter)).toBe(true);
  });

  it("custom keys match exactly and case-sensitively", () => {
    const filter: EventFilter = { kind: "custom", key: "caelum.thread.completed" };
    expect(eventMatchesFilter({ kind: "customEvent", key: "caelum.thread.completed" }, filter)).toBe(true);
    expect(eventMatchesFilter({ kind: "customEvent", key: "Caelum.Thread.Completed" }, filter)).toBe(false);
    expect(eventMatchesFilter({ kind: "customEvent", key: "caelum.thread" }, filter)).toBe(false);
  });

  it("actor and ledger events match no filter", () => {
    const filters: EventFilter[] = [
      { kind: "taskCompleted", taskId: t },
      { kind: "runStateChanged", taskId: t, state: "completed" },
      { kind: "budgetThreshold", taskId: t, dimension: "token", thresholdPct: 0 },
      { kind: "custom", key: "actorRegistered" },
    ];
    const src = source(filters.map((filter) => ({ subscriptionId: s(), filter })));
    const a = actorId();
    for (const event of [
      { kind: "actorRegistered", actorId: a },
      { kind: "actorDeregistered", actorId: a },
      { kind: "actorHeartbeatTimeout", actorId: a },
      { kind: "ledgerEntryAppended", tenantId: tenantId(), ledgerKey: "audit" },
    ] as ActionQueueEvent[]) {
      expect(checkEvent(event, src)).toEqual([]);
    }
  });

  it("returns every match in the source's order", () => {
    const [a, b, c] = [s(), s(), s()];
    const src = source([
      { subscriptionId: c, filter: { kind: "custom", key: "k" } },
      { subscriptionId: a, filter: { kind: "custom", key: "other" } },
      { subscriptionId: b, filter: { kind: "custom", key: "k" } },
    ]);
    expect(checkEvent({ kind: "customEvent", key: "k" }, src)).toEqual([c, b]);
  });
});
