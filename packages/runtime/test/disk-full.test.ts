/**
 * A real full disk: a 2 MiB tmpfs mounted for the test (so it needs root
 * and `mount`; skipped, and saying why, where neither is available). When
 * the WAL cannot be written, submissions are refused, the queue stops with an
 * error event, `close()` returns at once rather than waiting out its grace
 * periods for attempts that can never start, and once the disk has room again
 * every acknowledged task is there.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ActionQueue } from "@actionqueue/runtime";
import { tempDir } from "./helpers.js";

function tryMount(dir: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const mounted: string[] = [];
afterEach(() => {
  for (const dir of mounted.splice(0)) execFileSync("umount", [dir], { stdio: "ignore" });
});

const probe = tempDir("aq-df-probe-");
const canMount = tryMount(probe);
if (canMount) execFileSync("umount", [probe], { stdio: "ignore" });

describe.skipIf(!canMount)("a full disk (tmpfs; needs root)", () => {
  it("refuses submissions, stops the queue, closes at once, and loses nothing acknowledged", async () => {
    const mountPoint = tempDir("aq-df-");
    expect(tryMount(mountPoint)).toBe(true);
    mounted.push(mountPoint);
    // Leave well under the WAL's preallocation (4 MiB) free, so a write fails within the test.
    writeFileSync(join(mountPoint, "filler"), Buffer.alloc(1_200_000));
    const dataDir = join(mountPoint, "data");
    mkdirSync(dataDir);
    const handler = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
    const q = await ActionQueue.open({ dataDir, concurrency: 4, handler });
    const errors: string[] = [];
    q.on("error", ({ error }) => void errors.push(String(error)));
    q.start();
    const acknowledged: string[] = [];
    let refusal: { code?: string; message?: string } | undefined;
    for (let i = 0; i < 2_000 && refusal === undefined; i++) {
      await q.submit({ runPolicy: { kind: "once" }, payload: { pad: "x".repeat(3_000) } }).then(
        ({ taskId }) => void acknowledged.push(taskId),
        (e: unknown) => (refusal = e as { code?: string; message?: string }),
      );
    }
    expect(refusal?.code).toBe("AUTHORITY_POISONED");
    expect(refusal?.message).toContain("ENOSPC");
    expect(errors.join("\n")).toContain("ENOSPC");
    expect(acknowledged.length).toBeGreaterThan(10);
    const started = performance.now();
    await q.close({ mode: "abort" });
    // It waited 5 s twice for attempts whose dispatch could never become durable.
    expect(performance.now() - started).toBeLessThan(2_000);

    execFileSync("mount", ["-o", "remount,size=16m", mountPoint], { stdio: "ignore" });
    const reopened = await ActionQueue.open({ dataDir, concurrency: 4, handler });
    try {
      for (const taskId of acknowledged) expect(reopened.getTask(taskId), taskId).toBeDefined();
      await reopened.runUntilIdle();
      const { runsByState } = reopened.stats();
      expect(runsByState.completed + runsByState.failed).toBe(reopened.stats().runs);
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
