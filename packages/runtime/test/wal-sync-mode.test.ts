/**
 * Both WAL sync modes end to end through the public API: work submitted,
 * retried and completed, then the directory reopened (in the other mode, as
 * an operator switching would) with nothing lost and nothing run again.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixedBackoff } from "@actionqueue/runtime";
import type { HandlerContext, WalSyncMode } from "@actionqueue/runtime";
import { openQueue, tempDir } from "./helpers.js";

describe("WAL sync modes", () => {
  for (const [first, second] of [
    ["writeThrough", "fdatasync"],
    ["fdatasync", "writeThrough"],
  ] as const satisfies readonly (readonly [WalSyncMode, WalSyncMode])[]) {
    it(`runs work durably in ${first} mode and reopens in ${second} mode with nothing lost or run again`, async () => {
      const dataDir = join(tempDir(), "data");
      const executed: string[] = [];
      const handler = (ctx: HandlerContext<{ n: number }>) => {
        executed.push(ctx.runId);
        // Every fifth task fails its first attempt, so retries go through the log too.
        if (ctx.json().n % 5 === 0 && ctx.attemptNumber === 1) throw new Error("first attempt fails");
      };
      const q = await openQueue({ dataDir, walSyncMode: first, concurrency: 8, backoff: fixedBackoff(0), handler });
      const submitted = await Promise.all(Array.from({ length: 60 }, (_, n) => q.submit({ runPolicy: { kind: "once" }, payload: { n }, constraints: { maxAttempts: 2 } })));
      await q.runUntilIdle();
      expect(q.stats().runsByState.completed).toBe(60);
      expect(executed).toHaveLength(60 + 12);
      await q.close();

      const again = await openQueue({ dataDir, walSyncMode: second, handler });
      expect(again.stats().runsByState.completed).toBe(60);
      expect(again.stats().attemptsByResult).toMatchObject({ success: 60, failure: 12 });
      await again.runUntilIdle();
      expect(executed).toHaveLength(72);
      for (const { runIds } of submitted) expect(again.getRun(runIds[0]!)?.state).toBe("completed");
      await again.close();
    });
  }
});
