import { describe, expect, it } from "vitest";
import { crashRound } from "./crash/crash-loop.js";
import { removeDir, tempDir } from "./helpers.js";

// Bounded for CI: the long soak is scripts/crash-soak.ts.
const ROUNDS = Number(process.env.AQ_CRASH_ROUNDS ?? 15);

describe("crash loop (real child process, SIGKILL)", () => {
  // Every round alternates the WAL sync mode: write-through (the default) and fdatasync.
  it(`keeps every acknowledged command across ${ROUNDS} kills, in both WAL sync modes`, async () => {
    const dataDir = tempDir();
    try {
      let previous = 0;
      let reconciled = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const mode = round % 2 === 0 ? "writeThrough" : "fdatasync";
        const result = await crashRound(dataDir, round + 1, 30 + ((round * 37) % 170), mode);
        expect(result.recoveredSequence).toBeGreaterThanOrEqual(result.highestAck);
        expect(result.recoveredSequence).toBeGreaterThanOrEqual(previous);
        previous = result.recoveredSequence;
        reconciled += result.reconciled;
      }
      expect(previous).toBeGreaterThan(0);
      expect(reconciled).toBeGreaterThan(0);
    } finally {
      removeDir(dataDir);
    }
  }, 120_000);
});
