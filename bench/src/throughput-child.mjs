// The throughput workload's shape against the runtime of one checkout, for
// the A/B tools (ab-throughput.ts, instructions.ts): N once tasks submitted
// concurrently, then processed at concurrency 64 with Immediate durability,
// the handler parsing its JSON payload (AQ_BULK=n: submitMany in chunks of n). Plain JavaScript, so that no loader's
// work is timed or counted. Prints one JSON line: jobs/s end to end, enqueue
// and processing, and CPU µs per job.
//   node throughput-child.mjs <checkout> <jobs>
import { rmSync } from "node:fs";
import path from "node:path";
import { completionOf, freshDataDir, openQueue, taskInput } from "./throughput-shape.mjs";

const [root = ".", jobsText = "20000"] = process.argv.slice(2);
const jobs = Number(jobsText);
const runtime = await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"));
const dataDir = freshDataDir("ab");
const queue = await openQueue(runtime, dataDir);
const done = completionOf(queue, jobs);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const input = (i) => taskInput(i, t0);
const chunk = Number(process.env.AQ_BULK || 0);
if (chunk > 0) {
  // submitMany in chunks, as the peers' bulk APIs are used.
  const calls = [];
  for (let from = 0; from < jobs; from += chunk) calls.push(queue.submitMany(Array.from({ length: Math.min(chunk, jobs - from) }, (_, k) => input(from + k))));
  await Promise.all(calls);
} else {
  await Promise.all(Array.from({ length: jobs }, (_, i) => queue.submit(input(i))));
}
const t1 = performance.now();
queue.start();
await done;
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);
await queue.close({ mode: "abort" });
rmSync(dataDir, { recursive: true, force: true });
const sample = {
  e2e: Math.round((jobs / (t2 - t0)) * 1000),
  enqueue: Math.round((jobs / (t1 - t0)) * 1000),
  process: Math.round((jobs / (t2 - t1)) * 1000),
  cpuUsPerJob: Math.round(((cpu.user + cpu.system) / jobs) * 10) / 10,
};
process.stdout.write(`${JSON.stringify(sample)}\n`);
