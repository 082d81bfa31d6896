/**
 * Crash-loop soak (not part of the vitest suite): many more SIGKILLs and a
 * bigger workload than test/crash-recovery.test.ts, same checks. Build first,
 * then from packages/runtime:
 *
 *   npx tsx scripts/soak.ts [kills=200] [onceTasks=3000] [seed=random]
 *
 * Exits 1 and prints every violation when a promise was broken.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashLoop } from "../test/support/crash-harness.js";

const kills = Number(process.argv[2] ?? 200);
const onceTasks = Number(process.argv[3] ?? 3_000);
const seed = Number(process.argv[4] ?? Math.floor(Math.random() * 2 ** 31));
const dir = mkdtempSync(join(tmpdir(), "aq-soak-"));
const started = Date.now();
console.log(`soak: ${kills} kills, ${onceTasks} once tasks + 40 repeat tasks, seed ${seed}, in ${dir}`);
try {
  const result = await crashLoop({
    dir,
    kills,
    onceTasks,
    repeatTasks: 40,
    repeatCount: 5,
    killAfterMs: [5, 400],
    seed,
    log: (line) => console.log(`  ${line}`),
  });
  const byState: Record<string, number> = {};
  for (const run of result.runs) byState[run.state] = (byState[run.state] ?? 0) + 1;
  const executions = [...result.executions.values()].reduce((n, list) => n + list.length, 0);
  console.log(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.killsDelivered} kills delivered, ` +
      `${result.reconciled.length} in-flight runs recovered, ${result.fromSnapshot} restarts from a snapshot, ${result.truncations} torn tails repaired, ` +
      `${executions} handler executions, runs ${JSON.stringify(byState)}`,
  );
  if (result.violations.length > 0) {
    console.error(`${result.violations.length} violation(s):`);
    for (const v of result.violations.slice(0, 50)) console.error(`  - ${v}`);
    process.exitCode = 1;
  } else {
    console.log("no violations");
    rmSync(dir, { recursive: true, force: true });
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
