/**
 * A cron policy's `timezone`: the expression is read in that IANA zone, so a
 * daily 09:00 stays 09:00 local through daylight-saving changes. The zone is
 * kept (canonically spelt) through restarts and snapshots, is part of the
 * spec, and a zone the runtime does not know is refused with nothing written.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "@actionqueue/core";
import { ActionQueue, parseSubmitJson } from "@actionqueue/runtime";
import { openQueue, tempDir, waitFor } from "./helpers.js";

const iso = (ms: number) => new Date(ms).toISOString();

describe("cron timezone", () => {
  it("09:00 in Berlin is 08:00 UTC before the spring change and 07:00 after, also after a restart and a snapshot", async () => {
    const clock = new ManualClock({ startMs: Date.UTC(2026, 2, 26, 12) }); // Thursday before the change
    const dataDir = tempDir();
    const seen: string[] = [];
    const options = { dataDir, clock, handler: () => void seen.push(iso(clock.now())) };
    let q = await ActionQueue.open(options);
    const { taskId, runIds } = await q.submit({ runPolicy: { kind: "cron", expression: "0 9 * * *", timezone: "europe/berlin", maxOccurrences: 6 } });
    expect(runIds.map((id) => iso(q.getRun(id)!.scheduledAt))).toEqual([
      "2026-03-27T08:00:00.000Z",
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
      "2026-03-31T07:00:00.000Z",
    ]);
    expect(q.getTask(taskId)?.runPolicy).toEqual({ kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin", maxOccurrences: 6 });
    await q.close();
    q = await ActionQueue.open(options);
    await q.writeSnapshot();
    await q.close();
    q = await openQueue(options);
    expect(q.getTask(taskId)?.runPolicy).toEqual({ kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin", maxOccurrences: 6 });
    q.start();
    for (let day = 0; day < 6; day++) {
      clock.advance(86_400_000);
      await waitFor(() => seen.length === day + 1, `run ${day + 1}`);
    }
    // The window was refilled after the restart in the same zone: the sixth run is 09:00 Berlin too.
    const all = q.getTask(taskId)!.runIds.map((id) => iso(q.getRun(id)!.scheduledAt));
    expect(all.at(-1)).toBe("2026-04-01T07:00:00.000Z");
    expect(all).toHaveLength(6);
  });

  it("is part of the spec: another spelling of the zone is the same task, another zone (or none) a mismatch", async () => {
    const clock = new ManualClock({ startMs: Date.UTC(2026, 0, 5) });
    const q = await openQueue({ dataDir: tempDir(), clock, handler: () => undefined });
    const first = await q.submit({ runPolicy: { kind: "cron", expression: "0 9 * * 1", timezone: "America/New_York" } });
    const again = await q.submit({ taskId: first.taskId, runPolicy: { kind: "cron", expression: "0 9 * * 1", timezone: "america/new_york" } });
    expect(again.existing).toBe(true);
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "cron", expression: "0 9 * * 1", timezone: "America/Chicago" } })).rejects.toMatchObject({
      code: "TASK_SPEC_MISMATCH",
    });
    await expect(q.submit({ taskId: first.taskId, runPolicy: { kind: "cron", expression: "0 9 * * 1" } })).rejects.toMatchObject({ code: "TASK_SPEC_MISMATCH" });
    // UTC is the default: naming it is the same spec as leaving it out.
    const utc = await q.submit({ runPolicy: { kind: "cron", expression: "0 9 * * 1" } });
    expect((await q.submit({ taskId: utc.taskId, runPolicy: { kind: "cron", expression: "0 9 * * 1", timezone: "UTC" } })).existing).toBe(true);
  });

  it("an unknown zone, an offset or a zone on a once policy is refused, and nothing is written", async () => {
    const clock = new ManualClock({ startMs: Date.UTC(2026, 0, 5) });
    const q = await openQueue({ dataDir: tempDir(), clock, handler: () => undefined });
    const before = q.stats();
    for (const timezone of ["Mars/Olympus", "+02:00", "", "CEST "]) {
      await expect(q.submit({ runPolicy: { kind: "cron", expression: "0 9 * * *", timezone } })).rejects.toMatchObject({
        code: "INVALID_TIME_ZONE",
        details: { field: "runPolicy.timezone" },
      });
    }
    await expect(q.submit({ runPolicy: { kind: "once", timezone: "Europe/Berlin" } as never })).rejects.toMatchObject({ code: "UNKNOWN_FIELD" });
    expect(q.stats()).toEqual(before);
    expect(parseSubmitJson({ runPolicy: { kind: "cron", expression: "0 9 * * *", timezone: "Asia/Tokyo" } }).runPolicy).toMatchObject({ timezone: "Asia/Tokyo" });
  });
});
