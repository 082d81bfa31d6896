/**
 * A/B throughput of two builds of ActionQueue on the same machine at the same
 * time: the throughput workload's shape (N once tasks submitted concurrently,
 * then processed at concurrency 64, Immediate durability, a JSON payload the
 * handler parses), each repetition in a fresh child process, the two builds
 * interleaved so that a machine whose speed drifts treats them alike.
 *
 *   pnpm --filter @actionqueue/bench exec tsx src/ab-throughput.ts <checkoutA> <checkoutB> [reps=5] [jobs=20000]
 *
 * Each checkout must have `packages/runtime/dist` built (`pnpm build` there;
 * an older commit can be checked out with `git worktree add`).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface Sample {
  readonly e2e: number;
  readonly enqueue: number;
  readonly process: number;
  readonly cpuUsPerJob: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function parent(roots: readonly string[], reps: number, jobs: number): void {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "throughput-child.mjs");
  const samples = new Map<string, Sample[]>(roots.map((r) => [r, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const root of rep % 2 === 0 ? roots : [...roots].reverse()) {
      const run = spawnSync(process.execPath, [child, root, String(jobs)], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`child for ${root} failed (${run.status}): ${run.stderr}`);
      const sample = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Sample;
      samples.get(root)!.push(sample);
      console.log(`[${rep + 1}/${reps}] ${root}: ${sample.e2e} jobs/s end to end`);
    }
  }
  for (const [root, list] of samples) {
    console.log(
      `${root}: medians of ${list.length} — ${median(list.map((s) => s.e2e))} jobs/s end to end, ` +
        `enqueue ${median(list.map((s) => s.enqueue))}/s, processing ${median(list.map((s) => s.process))}/s, ` +
        `${median(list.map((s) => s.cpuUsPerJob))} µs CPU per job`,
    );
  }
}

const args = process.argv.slice(2);
if (args.length < 2) {
  console.error("usage: tsx src/ab-throughput.ts <checkoutA> <checkoutB> [reps=5] [jobs=20000]");
  process.exit(2);
}
parent([args[0]!, args[1]!], Number(args[2] ?? 5), Number(args[3] ?? 20_000));
