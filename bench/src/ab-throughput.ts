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
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as Runtime from "@actionqueue/runtime";
import { scratchRoot } from "./config.js";

interface Sample {
  readonly e2e: number;
  readonly enqueue: number;
  readonly process: number;
  readonly cpuUsPerJob: number;
}

async function child(root: string, jobs: number): Promise<void> {
  const runtime = (await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"))) as typeof Runtime;
  const dataDir = path.join(scratchRoot(), `ab-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const encoder = new TextEncoder();
  const queue = await runtime.ActionQueue.open({
    dataDir,
    concurrency: 64,
    backoff: runtime.fixedBackoff(0),
    handler: (ctx) => {
      ctx.json();
      return Promise.resolve();
    },
  });
  let completed = 0;
  const done = new Promise<void>((resolve) => {
    queue.on("run:completed", () => {
      if (++completed === jobs) resolve();
    });
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stamp = performance.now();
  await Promise.all(
    Array.from({ length: jobs }, (_, i) =>
      queue.submit({ runPolicy: { kind: "once" }, payload: encoder.encode(`{"id":"tp-${i}","t":${stamp}}`), contentType: "application/json" }),
    ),
  );
  const t1 = performance.now();
  queue.start();
  await done;
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await queue.close({ mode: "abort" });
  rmSync(dataDir, { recursive: true, force: true });
  const sample: Sample = {
    e2e: Math.round((jobs / (t2 - t0)) * 1000),
    enqueue: Math.round((jobs / (t1 - t0)) * 1000),
    process: Math.round((jobs / (t2 - t1)) * 1000),
    cpuUsPerJob: Math.round(((cpu.user + cpu.system) / jobs) * 10) / 10,
  };
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function parent(roots: readonly string[], reps: number, jobs: number): void {
  const self = fileURLToPath(import.meta.url);
  const samples = new Map<string, Sample[]>(roots.map((r) => [r, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const root of rep % 2 === 0 ? roots : [...roots].reverse()) {
      const run = spawnSync(process.execPath, ["--import", "tsx", self, "--child", root, String(jobs)], { encoding: "utf8" });
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
if (args[0] === "--child") {
  await child(args[1]!, Number(args[2] ?? 20_000));
} else {
  if (args.length < 2) {
    console.error("usage: tsx src/ab-throughput.ts <checkoutA> <checkoutB> [reps=5] [jobs=20000]");
    process.exit(2);
  }
  parent([args[0]!, args[1]!], Number(args[2] ?? 5), Number(args[3] ?? 20_000));
}
