/**
 * A process SIGKILLed right after it opened a fresh data directory leaves a
 * segment that is all free space (created and zero-filled at open): the next
 * open must take it as it is, with nothing to repair, and append into it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { oncePolicy } from "@actionqueue/core";
import { ActionQueue } from "@actionqueue/runtime";
import { openQueue, tempDir } from "./helpers.js";

const WORKER = fileURLToPath(new URL("./fixtures/open-and-die.mjs", import.meta.url));

describe("a kill right after open", () => {
  it("leaves a directory that reopens with nothing to repair and takes new work", async () => {
    const dataDir = tempDir();
    const child = spawnSync(process.execPath, [WORKER, dataDir], { encoding: "utf8" });
    expect(child.signal).toBe("SIGKILL");
    const wal = join(dataDir, "wal");
    const [segment] = readdirSync(wal);
    expect(segment).toBe("00000000000000000001.wal");
    // The segment header and the first fill of zeros.
    expect(statSync(join(wal, segment!)).size).toBeGreaterThan(32);
    expect((await ActionQueue.inspect(dataDir)).findings).toEqual([]);

    const q = await openQueue({ dataDir, handler: () => undefined });
    expect(q.recoveryReport).toMatchObject({ truncations: [], latestSequence: 0 });
    const { runIds } = await q.submit({ runPolicy: oncePolicy() });
    await q.runUntilIdle();
    await q.close();

    const again = await openQueue({ dataDir, handler: () => undefined });
    expect(again.getRun(runIds[0]!)!.state).toBe("completed");
    await again.close();
    expect((await ActionQueue.inspect(dataDir)).findings).toEqual([]);
  });
});
