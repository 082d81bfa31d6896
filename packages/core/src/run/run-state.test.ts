import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectCode, runId, taskId } from "../../test/support.js";
import { RunInstance } from "./run-instance.js";
import type { RunState } from "./run-state.js";
import { RUN_STATES, TERMINAL_STATES, TRANSITIONS, displayRunState, isTerminalState, isValidTransition, transition, validTransitions } from "./run-state.js";

/** The full 9×9 table from the spec, written out independently of TRANSITIONS. */
const LEGAL = new Set([
  "scheduled>ready",
  "scheduled>canceled",
  "ready>leased",
  "ready>canceled",
  "leased>ready",
  "leased>running",
  "leased>canceled",
  "running>retryWait",
  "running>suspended",
  "running>completed",
  "running>failed",
  "running>canceled",
  "retryWait>ready",
  "retryWait>failed",
  "retryWait>canceled",
  "suspended>ready",
  "suspended>canceled",
]);

describe("transition table", () => {
  const matrix = RUN_STATES.flatMap((from) => RUN_STATES.map((to) => [from, to] as const));

  it("has 81 cells with exactly 17 legal pairs", () => {
    expect(matrix).toHaveLength(81);
    expect(matrix.filter(([f, t]) => isValidTransition(f, t))).toHaveLength(17);
  });

  it.each(matrix)("%s → %s matches the spec table", (from, to) => {
    const legal = LEGAL.has(`${from}>${to}`);
    expect(isValidTransition(from, to)).toBe(legal);
    if (legal) expect(transition(from, to)).toEqual({ from, to });
    else expectCode(() => transition(from, to), "INVALID_TRANSITION");
  });

  it("terminal states have no legal target, themselves included", () => {
    for (const s of TERMINAL_STATES) {
      expect(validTransitions(s)).toEqual([]);
      for (const t of RUN_STATES) expect(isValidTransition(s, t)).toBe(false);
      expect(isTerminalState(s)).toBe(true);
    }
    expect(RUN_STATES.filter(isTerminalState)).toEqual(["completed", "failed", "canceled"]);
  });

  it("every legal pair has from ≠ to", () => {
    for (const [from, to] of matrix) if (isValidTransition(from, to)) expect(from).not.toBe(to);
  });

  it.each([
    ["scheduled", "ready"],
    ["ready", "leased"],
    ["ready", "canceled"],
    ["leased", "running"],
    ["leased", "ready"],
    ["leased", "canceled"],
    ["running", "retryWait"],
    ["running", "completed"],
    ["running", "failed"],
    ["running", "canceled"],
    ["retryWait", "ready"],
    ["retryWait", "failed"],
    ["retryWait", "canceled"],
  ] as [RunState, RunState][])("legal: %s → %s", (from, to) => {
    expect(isValidTransition(from, to)).toBe(true);
  });

  it.each([
    ["ready", "scheduled"],
    ["running", "leased"],
    ["running", "ready"],
    ["retryWait", "running"],
    ["retryWait", "leased"],
    ["completed", "running"],
    ["failed", "running"],
    ["canceled", "running"],
    ["scheduled", "leased"],
    ["suspended", "running"],
    ["suspended", "failed"],
  ] as [RunState, RunState][])("illegal: %s → %s", (from, to) => {
    expect(isValidTransition(from, to)).toBe(false);
  });

  it("transition(scheduled, ready) exposes from/to; transition(ready, scheduled) names both states", () => {
    expect(transition("scheduled", "ready")).toEqual({ from: "scheduled", to: "ready" });
    const error = expectCode(() => transition("ready", "scheduled"), "INVALID_TRANSITION");
    expect(error.details).toEqual({ from: "ready", to: "scheduled" });
  });

  it("non-terminal states have targets in canonical order, each valid", () => {
    expect(validTransitions("leased")).toEqual(["ready", "running", "canceled"]);
    for (const s of ["scheduled", "ready", "leased", "running", "retryWait", "suspended"] as const) {
      expect(validTransitions(s).length).toBeGreaterThan(0);
      for (const t of validTransitions(s)) expect(isValidTransition(s, t)).toBe(true);
      const order = validTransitions(s).map((t) => RUN_STATES.indexOf(t));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it("ready is reachable from scheduled, leased, retryWait, suspended; canceled from every non-terminal state", () => {
    expect(RUN_STATES.filter((s) => isValidTransition(s, "ready"))).toEqual(["scheduled", "leased", "retryWait", "suspended"]);
    expect(RUN_STATES.filter((s) => isValidTransition(s, "canceled"))).toEqual(["scheduled", "ready", "leased", "running", "retryWait", "suspended"]);
  });

  it("suspended is not terminal; displays are snake_case", () => {
    expect(isTerminalState("suspended")).toBe(false);
    expect(RUN_STATES.map(displayRunState)).toEqual([
      "scheduled",
      "ready",
      "leased",
      "running",
      "retry_wait",
      "suspended",
      "completed",
      "failed",
      "canceled",
    ]);
  });

  it("untrusted non-states are never legal and never reach the prototype", () => {
    expect(isValidTransition("constructor" as RunState, "ready")).toBe(false);
    expect(isValidTransition("ready", "toString" as RunState)).toBe(false);
    expect(validTransitions("__proto__" as RunState)).toEqual([]);
  });

  it("TRANSITIONS is frozen", () => {
    expect(Object.isFrozen(TRANSITIONS)).toBe(true);
  });
});

describe("state machine property", () => {
  it("random transition sequences never leave a terminal state and never take an illegal edge", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...RUN_STATES), { maxLength: 40 }), fc.boolean(), (targets, startReady) => {
        const run = startReady
          ? RunInstance.newReady({ id: runId(), taskId: taskId(), scheduledAt: 0, createdAt: 0 })
          : RunInstance.newScheduled({ id: runId(), taskId: taskId(), scheduledAt: 10, createdAt: 0 });
        for (const to of targets) {
          const from = run.state;
          try {
            run.transitionTo(to);
            expect(TRANSITIONS[from]).toContain(to);
            expect(isTerminalState(from)).toBe(false);
          } catch (error) {
            expect(TRANSITIONS[from]).not.toContain(to);
            expect(run.state).toBe(from);
            expect((error as { code: string }).code).toBe("INVALID_TRANSITION");
          }
          if (run.state !== "running") expect(run.currentAttemptId).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });
});
