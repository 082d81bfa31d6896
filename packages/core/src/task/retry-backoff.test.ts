import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/support.js";
import { createTaskConstraints, DEFAULT_TASK_CONSTRAINTS } from "./task-constraints.js";
import { MAX_RETRY_DELAY_MS, validateRetryBackoff } from "./retry-backoff.js";

describe("constraints.backoff", () => {
  it("is copied with its kind's fields only; jitter none and null fields are the defaults left out", () => {
    const input = { kind: "exponential", baseMs: 100, maxMs: 800, jitter: "full" } as const;
    const c = createTaskConstraints({ backoff: input });
    expect(c.backoff).toEqual(input);
    expect(c.backoff).not.toBe(input);
    expect(createTaskConstraints({ backoff: { kind: "fixed", delayMs: 0, jitter: "none" } as never }).backoff).toEqual({ kind: "fixed", delayMs: 0 });
    expect(createTaskConstraints({ backoff: { kind: "fixed", delayMs: 5, jitter: null } as never }).backoff).toEqual({ kind: "fixed", delayMs: 5 });
    expect(createTaskConstraints({ backoff: null } as never)).toBe(DEFAULT_TASK_CONSTRAINTS);
  });

  it("refuses what is not a backoff, naming the field (INVALID_BACKOFF) or the stray key (UNKNOWN_FIELD)", () => {
    const bad: [unknown, string][] = [
      [5, "constraints.backoff"],
      [[], "constraints.backoff"],
      [{ kind: "linear" }, "constraints.backoff.kind"],
      [{ kind: "fixed", delayMs: -1 }, "constraints.backoff.delayMs"],
      [{ kind: "fixed", delayMs: MAX_RETRY_DELAY_MS + 1 }, "constraints.backoff.delayMs"],
      [{ kind: "exponential", baseMs: 1, maxMs: "9" }, "constraints.backoff.maxMs"],
      [{ kind: "exponential", baseMs: 10, maxMs: 9 }, "constraints.backoff.baseMs"],
      [{ kind: "fixed", delayMs: 1, jitter: "some" }, "constraints.backoff.jitter"],
    ];
    for (const [backoff, field] of bad) {
      const error = expectCode(() => createTaskConstraints({ backoff: backoff as never }), "INVALID_BACKOFF");
      expect(error.details.field, JSON.stringify(backoff)).toBe(field);
    }
    expectCode(() => createTaskConstraints({ backoff: { kind: "fixed", delayMs: 1, baseMs: 2 } as never }), "UNKNOWN_FIELD");
    expectCode(() => createTaskConstraints({ backoff: { kind: "fixed", delayMs: 1, delay: 2 } as never }), "UNKNOWN_FIELD");
  });

  it("validateRetryBackoff names the path it is given", () => {
    const error = expectCode(() => validateRetryBackoff({ kind: "fixed", delayMs: -5 }, "backoff"), "INVALID_BACKOFF");
    expect(error.details.field).toBe("backoff.delayMs");
  });
});
