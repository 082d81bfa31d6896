/**
 * A record cut short by a crash (a torn tail) is the normal trace of power
 * loss: the read-only inspector reports it without repairing, the next open
 * truncates it, says so in recoveryReport, and loses nothing acknowledged.
 */
import { appendFileSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { ActionQueue } from "@actionqueue/runtime";
import { allRuns, openQueue, tempDir } from "./helpers.js";

describe("torn WAL tail", () => {
  it("is reported read-only, truncated on open, and nothing acknowledged is lost", async () => {
    const dataDir = tempDir();
    const q = await openQueue({ dataDir, handler: (ctx) => `done ${ctx.runId}` });
    for (let i = 0; i < 5; i += 1) await q.submit({ runPolicy: oncePolicy(), payload: { i } });
    await q.runUntilIdle();
    const runs = allRuns(q);
    await q.close();

    const walDir = join(dataDir, "wal");
    const last = readdirSync(walDir).filter((f) => f.endsWith(".wal")).sort().at(-1)!;
    const file = join(walDir, last);
    const size = statSync(file).size;
    appendFileSync(file, Buffer.from([0x41, 0x51, 0x57, 0x31, 0x01, 0x00, 0x00])); // the first bytes of a frame, then nothing

    const inspector = await ActionQueue.inspect(dataDir);
    expect(inspector.findings.length).toBeGreaterThan(0);
    expect(statSync(file).size).toBe(size + 7); // read-only: not repaired
    expect(allRuns(inspector)).toEqual(runs);

    const q2 = await openQueue({ dataDir, handler: () => undefined });
    expect(q2.recoveryReport.truncations).toHaveLength(1);
    // The torn bytes are gone: after the last complete record there are only
    // the zeros the writer keeps ahead of its data (preallocation).
    const reopened = readFileSync(file);
    expect(reopened.length).toBeGreaterThanOrEqual(size);
    expect(reopened.subarray(size).every((b) => b === 0)).toBe(true);
    expect(allRuns(q2)).toEqual(runs);
    const more = await q2.submit({ runPolicy: oncePolicy() });
    await q2.runUntilIdle();
    expect(q2.getRun(more.runIds[0]!)!.state).toBe("completed");
    await q2.close();
    expect((await ActionQueue.inspect(dataDir)).findings).toEqual([]);
  });
});
