import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActionQueueError } from "@actionqueue/core";
import { MAX_PAYLOAD_BYTES } from "@actionqueue/storage";
import { afterAll, describe, expect, it } from "vitest";
import { prepareSubmission } from "./submit.js";

const dir = mkdtempSync(join(tmpdir(), "aq-cli-submit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ActionQueueError.is(error) || error instanceof Error ? (error as { code?: string }).code : "?";
  }
  return undefined;
}

describe("prepareSubmission", () => {
  it("builds the submission from flags and files", () => {
    writeFileSync(join(dir, "c.json"), '{"maxAttempts":2}');
    const prepared = prepareSubmission(
      {
        runPolicy: "repeat:2:90",
        name: "n",
        taskId: "01hzzzzzzzzzzzzzzzzzzzzzzz",
        payloadJson: '{"a": 1}',
        constraints: "@c.json",
        metadata: '{"priority":4}',
      },
      dir,
    );
    expect(prepared.runPolicyText).toBe("repeat:2:90s");
    expect(prepared.input).toMatchObject({
      name: "n",
      taskId: "01HZZZZZZZZZZZZZZZZZZZZZZZ",
      contentType: "application/json",
      runPolicy: { kind: "repeat", count: 2, intervalMs: 90_000 },
      constraints: { maxAttempts: 2 },
      metadata: { priority: 4 },
    });
    expect(new TextDecoder().decode(prepared.input.payload as Uint8Array)).toBe('{"a":1}');
  });

  it("keeps an explicit content type and reads raw payload bytes", () => {
    writeFileSync(join(dir, "p.bin"), Buffer.from([9, 8]));
    const prepared = prepareSubmission({ runPolicy: "once", payload: "p.bin", contentType: "x/y" }, dir);
    expect(prepared.input.payload).toEqual(new Uint8Array([9, 8]));
    expect(prepared.input.contentType).toBe("x/y");
  });

  it("refuses with the code of the first bad flag", () => {
    expect(codeOf(() => prepareSubmission({ runPolicy: "repeat:0:1s" }, dir))).toBe("INVALID_REPEAT_COUNT");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", taskId: "x" }, dir))).toBe("INVALID_ID");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", payload: "p.bin", payloadJson: "1" }, dir))).toBe("CONFLICTING_OPTIONS");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", payloadJson: "{" }, dir))).toBe("INVALID_JSON");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", constraints: "@nope.json" }, dir))).toBe("FILE_UNREADABLE");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", metadata: '{"prio":1}' }, dir))).toBe("UNKNOWN_FIELD");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", name: "x".repeat(300) }, dir))).toBe("INVALID_TASK_NAME");
  });
});

describe("prepareSubmission --start-at", () => {
  const now = Date.UTC(2026, 10, 27, 12, 0);
  it("sets the policy's startAt from a delay, an ISO date-time with zone or epoch ms", () => {
    expect(prepareSubmission({ runPolicy: "once", startAt: "+10m" }, dir, now).input.runPolicy).toEqual({ kind: "once", startAt: now + 600_000 });
    expect(prepareSubmission({ runPolicy: "repeat:2:1m", startAt: "2026-12-01T09:00:00+01:00" }, dir, now).input.runPolicy).toEqual({
      kind: "repeat",
      count: 2,
      intervalMs: 60_000,
      startAt: Date.UTC(2026, 11, 1, 8),
    });
    expect(prepareSubmission({ runPolicy: "cron:0 9 * * 1", startAt: "1800000000000" }, dir, now).input.runPolicy).toMatchObject({ startAt: 1_800_000_000_000 });
  });
  it("refuses a zone-less date-time, words and impossible dates (INVALID_START_AT)", () => {
    for (const startAt of ["2026-12-01T09:00", "tomorrow", "+soon", "2026-02-30T09:00:00Z", "-5", "99999999999999999999"]) {
      expect(codeOf(() => prepareSubmission({ runPolicy: "once", startAt }, dir, now)), startAt).toBe("INVALID_START_AT");
    }
  });
});

describe("prepareSubmission --timezone", () => {
  it("reads a cron expression in the zone, kept in its canonical spelling", () => {
    const prepared = prepareSubmission({ runPolicy: "cron:0 9 * * 1", timezone: "europe/berlin" }, dir);
    expect(prepared.input.runPolicy).toEqual({ kind: "cron", expression: "0 9 * * 1", timezone: "europe/berlin" });
    expect(prepared.timezone).toBe("Europe/Berlin");
  });
  it("refuses an unknown zone (INVALID_TIME_ZONE) and a zone on a policy that is not cron (CONFLICTING_OPTIONS)", () => {
    expect(codeOf(() => prepareSubmission({ runPolicy: "cron:0 9 * * 1", timezone: "Mars/Olympus" }, dir))).toBe("INVALID_TIME_ZONE");
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", timezone: "Europe/Berlin" }, dir))).toBe("CONFLICTING_OPTIONS");
  });
  it("names --timezone, not the policy field, in the refusal", () => {
    expect(() => prepareSubmission({ runPolicy: "cron:0 9 * * 1", timezone: "Mars/Olympus" }, dir)).toThrow(/^--timezone "Mars\/Olympus": expected an IANA time zone name/);
    expect(() => prepareSubmission({ runPolicy: "cron:0 9 * * 1", timezone: "Mars/Olympus" }, dir)).not.toThrow(/runPolicy/);
  });
});

describe("prepareSubmission --payload over the record limit", () => {
  it("is refused by the file's size, naming --payload and the limit (INVALID_PAYLOAD)", () => {
    const path = join(dir, "huge.bin");
    // Sparse: the size is what is checked; the file is never read.
    writeFileSync(path, "");
    truncateSync(path, MAX_PAYLOAD_BYTES + 1);
    expect(codeOf(() => prepareSubmission({ runPolicy: "once", payload: "huge.bin" }, dir))).toBe("INVALID_PAYLOAD");
    expect(() => prepareSubmission({ runPolicy: "once", payload: "huge.bin" }, dir)).toThrow(
      `--payload "huge.bin": the file is ${MAX_PAYLOAD_BYTES + 1} bytes; a payload must fit in a WAL record of at most ${MAX_PAYLOAD_BYTES} bytes`,
    );
  });
});
