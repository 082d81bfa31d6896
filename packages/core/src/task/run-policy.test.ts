import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/support.js";
import {
  CRON_HORIZON_MS,
  CRON_POLICY_FIELDS,
  MAX_START_AT_MS,
  ONCE_POLICY_FIELDS,
  REPEAT_POLICY_FIELDS,
  RUN_POLICY_FIELDS,
  canonicalTimeZone,
  ONCE_POLICY,
  copyRunPolicy,
  cronPolicy,
  mayDeriveMoreRuns,
  nextCronOccurrences,
  oncePolicy,
  parseCronExpression,
  repeatPolicy,
  validateRunPolicy,
} from "./run-policy.js";

const JAN_1_2024 = Date.UTC(2024, 0, 1); // a Monday, 00:00 UTC
const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

describe("repeat policy", () => {
  it("rejects count 0 before looking at the interval", () => {
    const error = expectCode(() => repeatPolicy(0, 60_000), "INVALID_REPEAT_COUNT");
    expect(error.message).toContain("invalid repeat count");
    expect(error.details).toMatchObject({ value: 0 });
    expectCode(() => repeatPolicy(0, 0), "INVALID_REPEAT_COUNT");
  });

  it("rejects interval 0", () => {
    const error = expectCode(() => repeatPolicy(3, 0), "INVALID_REPEAT_INTERVAL");
    expect(error.message).toContain("invalid repeat intervalMs");
    expect(error.details).toMatchObject({ value: 0 });
  });

  it("exposes its count and interval and equals the literal", () => {
    expect(repeatPolicy(6, 1_800_000)).toEqual({ kind: "repeat", count: 6, intervalMs: 1_800_000 });
    const p = repeatPolicy(5, 120_000);
    expect([p.count, p.intervalMs]).toEqual([5, 120_000]);
  });

  it("rejects counts beyond u32, fractions and non-numbers", () => {
    expectCode(() => repeatPolicy(4_294_967_296, 1), "INVALID_REPEAT_COUNT");
    expectCode(() => repeatPolicy(1.5, 1), "INVALID_REPEAT_COUNT");
    expectCode(() => repeatPolicy(2, 0.5), "INVALID_REPEAT_INTERVAL");
    expectCode(() => validateRunPolicy({ kind: "repeat", count: "2", intervalMs: 1 }), "INVALID_REPEAT_COUNT");
  });
});

describe("mayDeriveMoreRuns", () => {
  it("once and repeat derive everything at submission; cron until canceled or at maxOccurrences", () => {
    expect(mayDeriveMoreRuns(oncePolicy(), false, 0)).toBe(false);
    expect(mayDeriveMoreRuns(repeatPolicy(3, 1_000), false, 1)).toBe(false);
    expect(mayDeriveMoreRuns(cronPolicy("* * * * *"), false, 1_000)).toBe(true);
    expect(mayDeriveMoreRuns(cronPolicy("* * * * *"), true, 0)).toBe(false);
    expect(mayDeriveMoreRuns(cronPolicy("* * * * *", { maxOccurrences: 3 }), false, 2)).toBe(true);
    expect(mayDeriveMoreRuns(cronPolicy("* * * * *", { maxOccurrences: 3 }), false, 3)).toBe(false);
  });
});

describe("validateRunPolicy", () => {
  it("passes once and a valid repeat", () => {
    expect(() => validateRunPolicy(oncePolicy())).not.toThrow();
    expect(() => validateRunPolicy({ kind: "repeat", count: 1, intervalMs: 1 })).not.toThrow();
  });

  it("re-checks literals that bypass the factories", () => {
    expectCode(() => validateRunPolicy(null), "INVALID_RUN_POLICY");
    expectCode(() => validateRunPolicy({ kind: "Once" }), "INVALID_RUN_POLICY");
    expectCode(() => validateRunPolicy({ kind: "cron", expression: "nope" }), "INVALID_CRON_EXPRESSION");
    expectCode(() => validateRunPolicy({ kind: "cron", expression: "* * * * *", maxOccurrences: 0 }), "INVALID_CRON_MAX_OCCURRENCES");
    expectCode(() => validateRunPolicy({ kind: "repeat", count: 1, intervalMs: 1, misfire: { kind: "later" } }), "INVALID_RUN_POLICY");
    expectCode(() => validateRunPolicy({ kind: "repeat", count: 1, intervalMs: 1, misfire: { kind: "catchUp", maxRuns: 0 } }), "INVALID_RUN_POLICY");
  });
});

describe("cron policy", () => {
  it("maxOccurrences 0 fails with a message containing 'at least 1'", () => {
    const error = expectCode(() => cronPolicy("* * * * * *", { maxOccurrences: 0 }), "INVALID_CRON_MAX_OCCURRENCES");
    expect(error.message).toContain("at least 1");
  });

  it("keeps maxOccurrences and misfire", () => {
    expect(cronPolicy("0 9 * * *", { maxOccurrences: 3, misfire: { kind: "skip" } })).toEqual({
      kind: "cron",
      expression: "0 9 * * *",
      maxOccurrences: 3,
      misfire: { kind: "skip" },
    });
  });

  it("an afterMs past the horizon (e.g. MAX_SAFE_INTEGER) yields no instants and never falls back to the past", () => {
    expect(nextCronOccurrences("* * * * *", Number.MAX_SAFE_INTEGER, 5)).toEqual([]);
    expect(nextCronOccurrences("* * * * *", CRON_HORIZON_MS, 5)).toEqual([]);
  });

  it("count 0 yields [], bad counts and timestamps throw", () => {
    expect(nextCronOccurrences("* * * * *", JAN_1_2024, 0)).toEqual([]);
    expectCode(() => nextCronOccurrences("* * * * *", JAN_1_2024, -1), "INVALID_FIELD");
    expectCode(() => nextCronOccurrences("* * * * *", JAN_1_2024, 1.5), "INVALID_FIELD");
    expectCode(() => nextCronOccurrences("* * * * *", -1, 1), "INVALID_TIMESTAMP");
  });

  it("instants are strictly after afterMs, even when afterMs is itself an instant or mid-second", () => {
    expect(iso(nextCronOccurrences("0 0 * * *", JAN_1_2024, 1))).toEqual(["2024-01-02T00:00:00.000Z"]);
    expect(iso(nextCronOccurrences("* * * * * *", JAN_1_2024 + 500, 2))).toEqual(["2024-01-01T00:00:01.000Z", "2024-01-01T00:00:02.000Z"]);
  });

  it("ends quietly for an expression with no future instant", () => {
    expect(nextCronOccurrences("0 0 31 2 *", JAN_1_2024, 3)).toEqual([]);
  });
});

describe("cron conformance (UTC)", () => {
  const accepted: [string, string, number, string[]][] = [
    ["5-field every minute", "* * * * *", 2, ["2024-01-01T00:01:00.000Z", "2024-01-01T00:02:00.000Z"]],
    ["6-field with seconds and a step", "*/15 * * * * *", 2, ["2024-01-01T00:00:15.000Z", "2024-01-01T00:00:30.000Z"]],
    ["6-field fixed second", "30 0 12 * * *", 1, ["2024-01-01T12:00:30.000Z"]],
    ["weekday range by name", "0 9 * * MON-FRI", 3, ["2024-01-01T09:00:00.000Z", "2024-01-02T09:00:00.000Z", "2024-01-03T09:00:00.000Z"]],
    ["range with step and month list by name", "0 0 1-5/2 jan,mar *", 2, ["2024-01-03T00:00:00.000Z", "2024-01-05T00:00:00.000Z"]],
    ["minute list", "5,10 4 * * *", 3, ["2024-01-01T04:05:00.000Z", "2024-01-01T04:10:00.000Z", "2024-01-02T04:05:00.000Z"]],
    ["names are case-insensitive", "0 0 * JaN sUn", 1, ["2024-01-07T00:00:00.000Z"]],
    ["day-of-week 7 is Sunday", "0 0 * * 7", 1, ["2024-01-07T00:00:00.000Z"]],
    ["day-of-week 0 is Sunday", "0 0 * * 0", 1, ["2024-01-07T00:00:00.000Z"]],
    ["day-of-month and day-of-week are ORed (Vixie)", "0 0 13 * 5", 3, ["2024-01-05T00:00:00.000Z", "2024-01-12T00:00:00.000Z", "2024-01-13T00:00:00.000Z"]],
    ["leap day", "0 0 29 2 *", 2, ["2024-02-29T00:00:00.000Z", "2028-02-29T00:00:00.000Z"]],
    ["@daily", "@daily", 2, ["2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"]],
    ["@hourly", "@hourly", 1, ["2024-01-01T01:00:00.000Z"]],
    ["@weekly (Sunday)", "@weekly", 1, ["2024-01-07T00:00:00.000Z"]],
    ["@monthly", "@monthly", 1, ["2024-02-01T00:00:00.000Z"]],
    ["@yearly", "@yearly", 1, ["2025-01-01T00:00:00.000Z"]],
    ["? means any in day fields", "0 0 ? * *", 1, ["2024-01-02T00:00:00.000Z"]],
  ];
  it.each(accepted)("%s: %s", (_name, expression, count, expected) => {
    expect(iso(nextCronOccurrences(expression, JAN_1_2024, count))).toEqual(expected);
  });

  const rejected: [string, string][] = [
    ["4 fields", "* * * *"],
    ["7 fields (years are not supported)", "0 0 9 * * MON *"],
    ["minute 60", "60 * * * *"],
    ["hour 24", "* 24 * * *"],
    ["day-of-month 32", "* * 32 * *"],
    ["day-of-month 0", "* * 0 * *"],
    ["month 13", "* * * 13 *"],
    ["day-of-week 8", "* * * * 8"],
    ["second 60", "60 * * * * *"],
    ["a word", "abc * * * *"],
    ["step 0", "*/0 * * * *"],
    ["reversed range", "* 5-1 * * *"],
    ["empty", ""],
    ["blank", "   "],
    ["@reboot", "@reboot"],
  ];
  it.each(rejected)("rejects %s (%j) with INVALID_CRON_EXPRESSION", (_name, expression) => {
    const error = expectCode(() => parseCronExpression(expression), "INVALID_CRON_EXPRESSION");
    expect(error.message).toContain("cron expression");
  });

  it("is evaluated in UTC whatever the process time zone", () => {
    const before = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      expect(iso(nextCronOccurrences("0 9 * * *", JAN_1_2024, 1))).toEqual(["2024-01-01T09:00:00.000Z"]);
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });
});

describe("startAt (a delayed start)", () => {
  it("is accepted on every kind, from 0 to the last millisecond a Date holds", () => {
    validateRunPolicy({ kind: "once", startAt: 0 });
    validateRunPolicy({ kind: "repeat", count: 2, intervalMs: 1, startAt: JAN_1_2024 });
    validateRunPolicy({ kind: "cron", expression: "0 * * * *", startAt: MAX_START_AT_MS });
  });

  it("refuses anything but whole epoch milliseconds, naming field and value (INVALID_START_AT)", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_START_AT_MS + 1, "2024-01-01", null, true]) {
      for (const policy of [{ kind: "once", startAt: bad }, { kind: "repeat", count: 1, intervalMs: 1, startAt: bad }, { kind: "cron", expression: "0 * * * *", startAt: bad }]) {
        const error = expectCode(() => validateRunPolicy(policy), "INVALID_START_AT");
        expect(error.details).toMatchObject({ field: "runPolicy.startAt" });
        expect(error.message).toContain("invalid runPolicy.startAt");
      }
    }
  });

  it("tells a Date apart: it asks for getTime()", () => {
    const error = expectCode(() => validateRunPolicy({ kind: "once", startAt: new Date(JAN_1_2024) }), "INVALID_START_AT");
    expect(error.message).toContain("getTime()");
  });

  it("is kept by copyRunPolicy; null means not given", () => {
    expect(copyRunPolicy({ kind: "once", startAt: 5 })).toEqual({ kind: "once", startAt: 5 });
    expect(copyRunPolicy({ kind: "once", startAt: null } as never)).toBe(ONCE_POLICY);
    expect(copyRunPolicy({ kind: "repeat", count: 2, intervalMs: 3, startAt: 7 })).toEqual({ kind: "repeat", count: 2, intervalMs: 3, startAt: 7 });
    expect(copyRunPolicy({ kind: "cron", expression: "0 * * * *", startAt: 9 })).toEqual({ kind: "cron", expression: "0 * * * *", startAt: 9 });
    expect(copyRunPolicy({ kind: "cron", expression: "0 * * * *", startAt: null } as never)).toEqual({ kind: "cron", expression: "0 * * * *" });
  });
});

describe("cron timezone", () => {
  const berlin = (from: string, n: number, expression = "0 9 * * *") => iso(nextCronOccurrences(expression, Date.parse(from), n, "Europe/Berlin"));

  it("reads the fields in the zone: 09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer", () => {
    expect(berlin("2026-03-27T00:00:00Z", 4)).toEqual(["2026-03-27T08:00:00.000Z", "2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
    expect(berlin("2026-10-24T00:00:00Z", 3)).toEqual(["2026-10-24T07:00:00.000Z", "2026-10-25T08:00:00.000Z", "2026-10-26T08:00:00.000Z"]);
    expect(iso(nextCronOccurrences("0 9 * * *", Date.parse("2026-11-26T00:00:00Z"), 1, "America/New_York"))).toEqual(["2026-11-26T14:00:00.000Z"]);
  });

  it("a wall time the spring-forward skips runs once after the gap; one the fall-back repeats runs once", () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    expect(berlin("2026-03-28T00:00:00Z", 3, "30 2 * * *")).toEqual(["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice; it runs at the first.
    expect(berlin("2026-10-24T00:00:00Z", 3, "30 2 * * *")).toEqual(["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });

  it("UTC by default, and the same instants when UTC is named", () => {
    expect(nextCronOccurrences("0 9 * * *", JAN_1_2024, 2)).toEqual(nextCronOccurrences("0 9 * * *", JAN_1_2024, 2, "UTC"));
  });

  it("refuses what is not an IANA zone (INVALID_TIME_ZONE), naming field and value", () => {
    for (const timezone of ["Mars/Olympus", "+01:00", "", "Europe/ Berlin", 5, null]) {
      const error = expectCode(() => validateRunPolicy({ kind: "cron", expression: "0 9 * * *", timezone }), "INVALID_TIME_ZONE");
      expect(error.details).toMatchObject({ field: "runPolicy.timezone" });
    }
  });

  it("copyRunPolicy keeps the zone's canonical spelling; UTC (the default) and null are left out", () => {
    expect(copyRunPolicy({ kind: "cron", expression: "0 9 * * *", timezone: "europe/berlin" })).toEqual({ kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin" });
    expect(copyRunPolicy({ kind: "cron", expression: "0 9 * * *", timezone: "UTC" })).toEqual({ kind: "cron", expression: "0 9 * * *" });
    expect(copyRunPolicy({ kind: "cron", expression: "0 9 * * *", timezone: null } as never)).toEqual({ kind: "cron", expression: "0 9 * * *" });
    expect(canonicalTimeZone("america/new_york")).toBe("America/New_York");
    expect(canonicalTimeZone("Nowhere/Special")).toBeUndefined();
  });

  it("a zone that is not a string is refused as it is, never converted to one first", () => {
    for (const timezone of [["Europe/Berlin"], ["UTC"], { toString: () => "Asia/Tokyo" }, Symbol("UTC"), Object.create(null) as unknown]) {
      const copy = copyRunPolicy({ kind: "cron", expression: "0 9 * * *", timezone } as never);
      expectCode(() => validateRunPolicy(copy), "INVALID_TIME_ZONE");
    }
  });
});

describe("RUN_POLICY_FIELDS", () => {
  it("is exactly the fields of the three kinds together, each once", () => {
    const union = new Set<string>([...ONCE_POLICY_FIELDS, ...REPEAT_POLICY_FIELDS, ...CRON_POLICY_FIELDS]);
    expect([...RUN_POLICY_FIELDS].sort()).toEqual([...union].sort());
  });
});
