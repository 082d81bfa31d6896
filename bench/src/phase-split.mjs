// Where a fresh process's end-to-end time goes, round by round: the
// throughput workload's shape (N once tasks submitted concurrently, then
// processed at concurrency 64, Immediate durability) run `rounds` times in one
// process, each on a fresh data directory. Per round it prints the length of
// the synchronous turn of `submit` calls, the wait for their write, and the
// processing phase: the first round pays for compilation and cold code, later
// rounds show the same work warm. A diagnostic, not a benchmark.
//   node phase-split.mjs <checkout> [jobs=20000] [rounds=3]
import { rmSync } from "node:fs";
import path from "node:path";
import { completionOf, freshDataDir, openQueue, taskInput } from "./throughput-shape.mjs";

const [root = ".", jobsText = "20000", roundsText = "3"] = process.argv.slice(2);
const jobs = Number(jobsText);
const runtime = await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"));
for (let round = 0; round < Number(roundsText); round++) {
  const dataDir = freshDataDir(`phase-${round}`);
  const queue = await openQueue(runtime, dataDir);
  const done = completionOf(queue, jobs);
  const t0 = performance.now();
  const submitted = Array.from({ length: jobs }, (_, i) => queue.submit(taskInput(i, t0)));
  const turnEnd = performance.now();
  await Promise.all(submitted);
  const durable = performance.now();
  queue.start();
  await done;
  const t2 = performance.now();
  await queue.close({ mode: "abort" });
  rmSync(dataDir, { recursive: true, force: true });
  const ms = (a, b) => Math.round((b - a) * 10) / 10;
  const line = { round, submitTurnMs: ms(t0, turnEnd), writeWaitMs: ms(turnEnd, durable), processMs: ms(durable, t2), e2e: Math.round((jobs / (t2 - t0)) * 1000) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
