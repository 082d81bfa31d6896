/**
 * Long crash soak: the crash-loop round from the test suite, many times over
 * one data directory. `npx tsx scripts/crash-soak.ts [rounds=500]`.
 * Prints one line per round; exits non-zero on the first failed check.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashRound } from "../test/crash/crash-loop.js";

const rounds = Number(process.argv[2] ?? 500);
const dataDir = mkdtempSync(join(tmpdir(), "aq-crash-soak-"));
try {
  for (let round = 1; round <= rounds; round++) {
    const killAfterMs = 10 + Math.floor(Math.random() * 400);
    const r = await crashRound(dataDir, round, killAfterMs, round % 2 === 0 ? "writeThrough" : "fdatasync");
    console.log(
      `round ${round}: killed after ${killAfterMs} ms, ${r.acked} acks (highest ${r.highestAck}), recovered to ${r.recoveredSequence}, ` +
        `${r.truncations} truncation(s), ${r.reconciled} run(s) reconciled`,
    );
  }
  console.log(`ok: ${rounds} rounds`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
