import { describe, expect, it } from "vitest";
import { encodeTime } from "ulid";
import type { Clock } from "../time/clock.js";
import { ManualClock } from "../time/clock.js";
import { DEPARTMENT_ID_MAX_BYTES, parseDepartmentId } from "./department-id.js";
import {
  NIL_ID,
  createIdFactory,
  isNilId,
  parseActorId,
  parseAttemptId,
  parseLedgerEntryId,
  parseRunId,
  parseSubscriptionId,
  parseTaskId,
  parseTenantId,
} from "./ids.js";
import { expectCode } from "../../test/support.js";

const factory = () => createIdFactory(new ManualClock());

describe("ids", () => {
  const parsers = [
    ["TaskId", parseTaskId, (f: ReturnType<typeof factory>) => f.taskId()],
    ["RunId", parseRunId, (f: ReturnType<typeof factory>) => f.runId()],
    ["AttemptId", parseAttemptId, (f: ReturnType<typeof factory>) => f.attemptId()],
    ["ActorId", parseActorId, (f: ReturnType<typeof factory>) => f.actorId()],
    ["TenantId", parseTenantId, (f: ReturnType<typeof factory>) => f.tenantId()],
    ["LedgerEntryId", parseLedgerEntryId, (f: ReturnType<typeof factory>) => f.ledgerEntryId()],
    ["SubscriptionId", parseSubscriptionId, (f: ReturnType<typeof factory>) => f.subscriptionId()],
  ] as const;

  it.each(parsers)("%s round-trips through its string form and parse", (_kind, parse, mint) => {
    const id = mint(factory());
    expect(parse(String(id))).toBe(id);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it.each(parsers)("%s: two fresh ids differ", (_kind, _parse, mint) => {
    const f = factory();
    expect(mint(f)).not.toBe(mint(f));
  });

  it.each(parsers)("%s survives a JSON round trip", (_kind, parse, mint) => {
    const id = mint(factory());
    expect(parse(JSON.parse(JSON.stringify({ id })).id)).toBe(id);
  });

  it("accepts lowercase input and returns the canonical uppercase form", () => {
    const id = factory().runId();
    expect(parseRunId(id.toLowerCase())).toBe(id);
  });

  it.each(["", "not-a-ulid", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVV", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "550e8400-e29b-41d4-a716-446655440000"])(
    "rejects %j with INVALID_ID naming the value",
    (value) => {
      const error = expectCode(() => parseTaskId(value), "INVALID_ID");
      expect(error.message).toContain(JSON.stringify(value));
      expect(error.message).toContain("TaskId");
    },
  );

  it("rejects non-strings with INVALID_ID", () => {
    expectCode(() => parseRunId(42), "INVALID_ID");
    expectCode(() => parseRunId(undefined), "INVALID_ID");
  });

  it("treats the all-zero ULID as the nil id", () => {
    expect(isNilId(NIL_ID)).toBe(true);
    expect(parseTaskId(NIL_ID)).toBe(NIL_ID);
    expect(isNilId(factory().taskId())).toBe(false);
  });

  it("ids from one factory strictly increase within one millisecond", () => {
    const f = factory();
    const minted = Array.from({ length: 1000 }, () => f.runId());
    for (let i = 1; i < minted.length; i++) expect(minted[i - 1]! < minted[i]!).toBe(true);
  });

  it("continues after a given id: sorted after it even with an earlier or identical clock", () => {
    const first = createIdFactory(new ManualClock({ startMs: 2_000_000 }));
    const earlier = [first.runId(), first.runId(), first.attemptId()];
    const last = earlier[earlier.length - 1]!;
    // The same deterministic clock again (a restart in a test) would mint the same ids; seeded, it continues.
    const again = createIdFactory(new ManualClock({ startMs: 2_000_000 }), { after: last });
    const sameClock = [again.runId(), again.taskId()];
    expect(sameClock[0]! > last).toBe(true);
    expect(sameClock[1]! > sameClock[0]!).toBe(true);
    // A clock that stepped back a long way still mints after `after`.
    const back = createIdFactory(new ManualClock({ startMs: 5 }), { after: last });
    expect(back.runId() > last).toBe(true);
    // A later clock mints from its own time.
    const later = createIdFactory(new ManualClock({ startMs: 9_000_000 }), { after: last });
    const fresh = later.runId();
    expect(fresh > last).toBe(true);
    expect(fresh.slice(0, 10)).toBe(createIdFactory(new ManualClock({ startMs: 9_000_000 })).runId().slice(0, 10));
  });

  it("continues after an id whose random part is all Z by moving to the next millisecond", () => {
    const after = "00000001ZZZZZZZZZZZZZZZZZZ";
    const id = createIdFactory(new ManualClock({ startMs: 0 }), { after }).runId();
    expect(id > after).toBe(true);
    // Its time part "00000001ZZ" is 2047 ms; the next id takes 2048 ms.
    expect(id.slice(0, 10)).toBe("0000000200");
  });

  it("refuses a malformed after id, naming it", () => {
    const error = expectCode(() => createIdFactory(new ManualClock(), { after: "not-an-id" }), "INVALID_ID");
    expect(error.message).toContain("not-an-id");
  });

  it("ids keep increasing when the clock steps back", () => {
    const clock = new ManualClock({ startMs: 2_000_000 });
    const f = createIdFactory(clock);
    const a = f.taskId();
    clock.set(1_000_000);
    const b = f.taskId();
    clock.set(2_000_000);
    const c = f.taskId();
    clock.advance(5);
    const d = f.taskId();
    expect([a, b, c, d]).toEqual([a, b, c, d].slice().sort());
    expect(new Set([a, b, c, d]).size).toBe(4);
  });

  it("the time part is the minting millisecond, or the last one when the clock steps back", () => {
    const clock = new ManualClock({ startMs: 1_700_000_000_000 });
    const f = createIdFactory(clock);
    const a = f.runId();
    const b = f.runId();
    expect(a.slice(0, 10)).toBe(encodeTime(1_700_000_000_000));
    expect(b.slice(0, 10)).toBe(a.slice(0, 10));
    clock.advance(1);
    expect(f.runId().slice(0, 10)).toBe(encodeTime(1_700_000_000_001));
    clock.set(1_600_000_000_000);
    expect(f.runId().slice(0, 10)).toBe(encodeTime(1_700_000_000_001));
  });

  it("borrows the next millisecond once the random part is exhausted", () => {
    const clock: Clock = { now: () => 5_000, random: () => 0.999_999, setTimeout: () => ({ cancel: () => undefined }) };
    const f = createIdFactory(clock);
    const a = f.taskId();
    expect(a).toBe(encodeTime(5_000) + "Z".repeat(16));
    const b = f.taskId();
    expect(b).toBe(encodeTime(5_001) + "Z".repeat(16));
    expect(f.taskId().slice(0, 10)).toBe(encodeTime(5_002));
  });

  it("carries a Z in the random part into the digit above, within one millisecond", () => {
    // The 16 draws of the random part: fifteen 0s, then one Z.
    let draw = 0;
    const clock: Clock = { now: () => 5_000, random: () => (draw++ % 16 === 15 ? 0.999_999 : 0), setTimeout: () => ({ cancel: () => undefined }) };
    const f = createIdFactory(clock);
    expect(f.runId()).toBe(encodeTime(5_000) + "0".repeat(15) + "Z");
    expect(f.runId()).toBe(encodeTime(5_000) + "0".repeat(14) + "10");
    expect(f.runId()).toBe(encodeTime(5_000) + "0".repeat(14) + "11");
  });

  it("is deterministic under a manual clock, including at epoch 0", () => {
    const one = createIdFactory(new ManualClock({ startMs: 0 }));
    const two = createIdFactory(new ManualClock({ startMs: 0 }));
    const a = one.runId();
    expect(a).toBe(two.runId());
    expect(a.startsWith("0000000000")).toBe(true);
  });

  it("rejects a clock reading that is not epoch milliseconds", () => {
    const f = createIdFactory({ now: () => -1, random: () => 0.5, setTimeout: () => ({ cancel() {} }) });
    expectCode(() => f.taskId(), "INVALID_TIMESTAMP");
  });
});

describe("DepartmentId", () => {
  it("rejects the empty string", () => {
    expectCode(() => parseDepartmentId(""), "EMPTY_DEPARTMENT_ID");
  });
  it("accepts exactly 128 bytes and rejects 129", () => {
    expect(parseDepartmentId("a".repeat(DEPARTMENT_ID_MAX_BYTES))).toHaveLength(128);
    const error = expectCode(() => parseDepartmentId("a".repeat(129)), "DEPARTMENT_ID_TOO_LONG");
    expect(error.details).toMatchObject({ length: 129 });
  });
  it("counts UTF-8 bytes, not characters", () => {
    expect(parseDepartmentId("é".repeat(64))).toBeDefined(); // 128 bytes
    expectCode(() => parseDepartmentId("é".repeat(64) + "a"), "DEPARTMENT_ID_TOO_LONG");
  });
  it("does not trim or fold case", () => {
    expect(parseDepartmentId(" Engineering ")).toBe(" Engineering ");
  });
});
