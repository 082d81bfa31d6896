/**
 * Instructions per job of one or two builds, counted by valgrind's callgrind:
 * the throughput workload's shape run once with N jobs and once with one, the
 * difference divided by N − 1 (start-up cancels out). Instruction counts do
 * not see cache misses or disk waits, but they barely move when the machine
 * does: on the project VM, where wall time drifts by ±20 % within the hour,
 * repeated counts agreed within about 2 %. Use it to compare builds, not
 * as a throughput figure (valgrind runs the program ~50× slower).
 *
 *   pnpm --filter @actionqueue/bench exec tsx src/instructions.ts <checkoutA> [checkoutB] [jobs=10000]
 *
 * Each checkout needs `packages/runtime/dist` built. Two checkouts are
 * measured side by side (one per core).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "throughput-child.mjs");

/** Total instructions of one child run (callgrind's "Collected" line). */
function collected(root: string, jobs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn("valgrind", ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, child, root, String(jobs)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    p.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      const match = /Collected : (\d+)/.exec(stderr);
      if (code !== 0 || match === null) reject(new Error(`valgrind run of ${root} with ${jobs} jobs failed (exit ${code}):\n${stderr.slice(-2000)}`));
      else resolve(Number(match[1]));
    });
  });
}

async function perJob(root: string, jobs: number): Promise<number> {
  const base = await collected(root, 1);
  const full = await collected(root, jobs);
  return (full - base) / (jobs - 1);
}

const args = process.argv.slice(2);
const jobsArg = args.length > 0 && /^\d+$/.test(args[args.length - 1]!) ? Number(args.pop()) : 10_000;
if (args.length === 0 || args.length > 2) {
  console.error("usage: tsx src/instructions.ts <checkoutA> [checkoutB] [jobs=10000]");
  process.exit(2);
}
for (const root of args) {
  if (!existsSync(path.join(root, "packages/runtime/dist/index.js"))) {
    console.error(`${root}: packages/runtime/dist is missing; run pnpm build there first`);
    process.exit(2);
  }
}
if (!Number.isSafeInteger(jobsArg) || jobsArg < 2) {
  console.error(`jobs must be an integer of at least 2, got ${jobsArg}`);
  process.exit(2);
}
const results = await Promise.all(args.map((root) => perJob(root, jobsArg)));
args.forEach((root, i) => console.log(`${root}: ${Math.round(results[i]! / 100) / 10}k instructions per job (${jobsArg} jobs)`));
if (results.length === 2) console.log(`change: ${(((results[1]! - results[0]!) / results[0]!) * 100).toFixed(1)} %`);
