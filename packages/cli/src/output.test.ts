import { describe, expect, it } from "vitest";
import { formatError, formatInterval, formatPolicy, formatJson, formatKeyValues, formatTable, formatTimestamp, plural, toJsonValue } from "./output.js";

describe("JSON output", () => {
  it("prints bytes as base64, drops undefined fields and keeps nulls", () => {
    const value = { id: "A", payload: new Uint8Array([104, 105]), missing: undefined, none: null, list: [new Uint8Array([0]), undefined], n: 10n };
    expect(toJsonValue(value)).toEqual({ id: "A", payload: "aGk=", none: null, list: ["AA==", null], n: "10" });
    expect(formatJson({ a: 1 })).toBe('{\n  "a": 1\n}\n');
  });

  it("formats errors as one line, text or JSON", () => {
    const report = { code: "INVALID_RUN_POLICY", message: '--run-policy "x": expected once' };
    expect(formatError(report, false)).toBe('error: --run-policy "x": expected once\n');
    const json = formatError(report, true);
    expect(json.endsWith("\n")).toBe(true);
    expect(json.trimEnd().includes("\n")).toBe(false);
    expect(JSON.parse(json)).toEqual({ error: report });
  });
});

describe("text output", () => {
  it("aligns key/value blocks and skips absent values", () => {
    expect(formatKeyValues([["task", "T1"], ["name", undefined], ["latest sequence", 4], ["ok", true]])).toBe(
      "task             T1\nlatest sequence  4\nok               true\n",
    );
  });

  it("pads table columns but not the last one", () => {
    expect(formatTable(["ID", "STATE"], [["A", "ready"], ["BBB", "completed"]])).toBe("ID   STATE\nA    ready\nBBB  completed\n");
    expect(formatTable(["ID"], [], "no runs")).toBe("no runs\n");
  });

  it("formats times and counts", () => {
    expect(formatTimestamp(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(formatTimestamp(undefined)).toBe("-");
    expect(plural(1, "run")).toBe("1 run");
    expect(plural(2, "run")).toBe("2 runs");
  });
});

describe("run policy text", () => {
  it("uses the largest exact unit so the text parses back", () => {
    expect(formatInterval(60_000)).toBe("1m");
    expect(formatInterval(90_000)).toBe("90s");
    expect(formatInterval(100_000)).toBe("100s");
    expect(formatInterval(250)).toBe("250ms");
    expect(formatInterval(1_500)).toBe("1500ms");
    expect(formatInterval(7_200_000)).toBe("2h");
    expect(formatInterval(172_800_000)).toBe("2d");
    expect(formatPolicy({ kind: "once" })).toBe("once");
    expect(formatPolicy({ kind: "repeat", count: 3, intervalMs: 60_000 })).toBe("repeat:3:1m");
    expect(formatPolicy({ kind: "cron", expression: "0 9 * * 1" })).toBe("cron:0 9 * * 1");
  });
});
