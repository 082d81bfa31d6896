import { describe, expect, it } from "vitest";
import { ActionQueueError } from "@actionqueue/core";
import { parseStartAtText } from "./start-at-text.js";

const NOW = Date.UTC(2026, 10, 27, 12, 0);

function codeOf(text: string): string | undefined {
  try {
    parseStartAtText(text, NOW, "--start-at");
  } catch (error) {
    return ActionQueueError.is(error) ? error.code : "other";
  }
  return undefined;
}

describe("parseStartAtText", () => {
  it("reads a delay from now, an ISO date-time with its zone, and epoch milliseconds", () => {
    expect(parseStartAtText("+90s", NOW)).toBe(NOW + 90_000);
    expect(parseStartAtText(" +2h ", NOW)).toBe(NOW + 7_200_000);
    expect(parseStartAtText("2026-12-01T09:00:00Z", NOW)).toBe(Date.UTC(2026, 11, 1, 9));
    expect(parseStartAtText("2026-12-01T09:00Z", NOW)).toBe(Date.UTC(2026, 11, 1, 9));
    expect(parseStartAtText("2026-12-01T09:00:00.5+01:30", NOW)).toBe(Date.UTC(2026, 11, 1, 7, 30, 0, 500));
    expect(parseStartAtText("2026-12-01T09:00:00-05:00", NOW)).toBe(Date.UTC(2026, 11, 1, 14));
    expect(parseStartAtText("2024-02-29T00:00:00Z", NOW)).toBe(Date.UTC(2024, 1, 29));
    expect(parseStartAtText("1800000000000", NOW)).toBe(1_800_000_000_000);
    // ISO 8601 allows more fraction digits (kept to the millisecond) and an offset without its colon; both were refused as zone-less.
    expect(parseStartAtText("2027-01-04T00:00:00.123456Z", NOW)).toBe(Date.UTC(2027, 0, 4, 0, 0, 0, 123));
    expect(parseStartAtText("2027-01-04T01:00:00+0100", NOW)).toBe(Date.UTC(2027, 0, 4));
    expect(parseStartAtText("2027-01-04T01:00:00,5+01:00", NOW)).toBe(Date.UTC(2027, 0, 4, 0, 0, 0, 500));
  });

  it("says a zone is missing only when it is: other malformed date-times get the expected form", () => {
    expect(() => parseStartAtText("2026-12-01T09:00:00.5", NOW)).toThrow(/needs its zone/);
    expect(() => parseStartAtText("2026-12-01T09:00:00 UTC", NOW)).toThrow(/expected an ISO 8601 date-time with zone/);
    expect(() => parseStartAtText("2026-12-01T09:00:00+1", NOW)).toThrow(/expected an ISO 8601 date-time with zone/);
  });

  it("refuses, naming the flag and the text, what it would have to guess", () => {
    expect(() => parseStartAtText("2026-12-01T09:00", NOW, "--start-at")).toThrow(/--start-at "2026-12-01T09:00": a date and time needs its zone/);
    for (const bad of ["", "soon", "+", "+soon", "+-5m", "-5", "2026-12-01", "2026-02-30T09:00:00Z", "2025-02-29T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:60Z", "2026-12-01T09:00+24:00", "99999999999999999999"]) {
      expect(codeOf(bad), bad).toBe("INVALID_START_AT");
    }
  });
});
