/**
 * Engine events and the subscription matcher. `checkEvent` answers "which
 * active subscriptions does this event satisfy?"; the budget/workflow layers
 * own the subscription store and feed it in through {@link SubscriptionSource}.
 */
import type { BudgetDimension } from "../budget/budget.js";
import type { ActorId, SubscriptionId, TaskId, TenantId } from "../ids/ids.js";
import type { RunState } from "../run/run-state.js";
import type { EventFilter } from "./event-filter.js";

/** Something that happened in the engine that subscriptions may wait for. */
export type ActionQueueEvent =
  | { readonly kind: "taskReachedTerminalSuccess"; readonly taskId: TaskId }
  | { readonly kind: "runChangedState"; readonly taskId: TaskId; readonly newState: RunState }
  | { readonly kind: "budgetThresholdCrossed"; readonly taskId: TaskId; readonly dimension: BudgetDimension; readonly pct: number }
  | { readonly kind: "customEvent"; readonly key: string }
  | { readonly kind: "actorRegistered"; readonly actorId: ActorId }
  | { readonly kind: "actorDeregistered"; readonly actorId: ActorId }
  | { readonly kind: "actorHeartbeatTimeout"; readonly actorId: ActorId }
  | { readonly kind: "ledgerEntryAppended"; readonly tenantId: TenantId; readonly ledgerKey: string };

/** One active subscription as yielded by a {@link SubscriptionSource}. */
export interface ActiveSubscription {
  readonly subscriptionId: SubscriptionId;
  readonly filter: EventFilter;
}

/** Where `checkEvent` finds subscriptions. */
export interface SubscriptionSource {
  /**
   * The active subscriptions only (neither canceled nor already triggered), in
   * a stable order; `checkEvent` reports matches in this order.
   */
  activeSubscriptions(): Iterable<ActiveSubscription>;
}

/**
 * True when `event` satisfies `filter`:
 * - `taskCompleted{t}` ↔ `taskReachedTerminalSuccess{t}`;
 * - `runStateChanged{t, s}` ↔ `runChangedState{t, newState: s}`;
 * - `budgetThreshold{t, d, th}` ↔ `budgetThresholdCrossed{t, d, pct}` with
 *   `pct ≥ th` (so a threshold of 0 matches every crossing);
 * - `custom{k}` ↔ `customEvent{k}`, compared exactly (case-sensitive).
 * Actor and ledger events match no filter.
 */
export function eventMatchesFilter(event: ActionQueueEvent, filter: EventFilter): boolean {
  switch (filter.kind) {
    case "taskCompleted":
      return event.kind === "taskReachedTerminalSuccess" && event.taskId === filter.taskId;
    case "runStateChanged":
      return event.kind === "runChangedState" && event.taskId === filter.taskId && event.newState === filter.state;
    case "budgetThreshold":
      return (
        event.kind === "budgetThresholdCrossed" &&
        event.taskId === filter.taskId &&
        event.dimension === filter.dimension &&
        event.pct >= filter.thresholdPct
      );
    case "custom":
      return event.kind === "customEvent" && event.key === filter.key;
  }
}

/** Ids of the active subscriptions `event` satisfies, in the source's order (see {@link eventMatchesFilter}). */
export function checkEvent(event: ActionQueueEvent, source: SubscriptionSource): SubscriptionId[] {
  const matched: SubscriptionId[] = [];
  for (const { subscriptionId, filter } of source.activeSubscriptions()) {
    if (eventMatchesFilter(event, filter)) matched.push(subscriptionId);
  }
  return matched;
}
