// Where the latency workload's slow starts come from: the latency shape (one
// once task submitted per millisecond for 10 s at concurrency 64, Immediate
// durability) against one checkout's runtime, with every GC pause observed.
// Prints the percentiles of submit-to-handler-start, how many starts took
// over 4 ms, how many of those overlap a GC pause, and how the slow ones
// cluster in time (a cluster is a stall that delayed every job submitted
// during it). Plain JavaScript, a diagnostic, not a benchmark.
//   node latency-timeline.mjs <checkout> [seconds=10]
import path from "node:path";
import { rmSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { freshDataDir } from "./throughput-shape.mjs";

const [root = ".", secondsText = "10"] = process.argv.slice(2);
const runtime = await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"));
const pauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
}).observe({ entryTypes: ["gc"] });

const dataDir = freshDataDir("latency-timeline");
const samples = [];
let measuring = false;
const queue = await runtime.ActionQueue.open({
  dataDir,
  concurrency: 64,
  backoff: runtime.fixedBackoff(0),
  handler: (ctx) => {
    const { t } = ctx.json();
    if (measuring) samples.push([t, performance.now() - t]);
  },
});
queue.start();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Submits `total` tasks at one per millisecond, each carrying its submit time. */
async function paced(total) {
  const start = performance.now();
  const acks = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(performance.now() - start) + 1);
    while (sent < due) {
      acks.push(queue.submit({ runPolicy: { kind: "once" }, payload: { t: performance.now() } }));
      sent += 1;
    }
    await sleep(1);
  }
  await Promise.all(acks);
}

await paced(200);
await sleep(200);
measuring = true;
await paced(Number(secondsText) * 1000);
await sleep(300);
measuring = false;
await queue.close();
rmSync(dataDir, { recursive: true, force: true });

const sorted = samples.map((s) => s[1]).sort((a, b) => a - b);
const at = (q) => sorted[Math.floor((sorted.length - 1) * q)].toFixed(2);
const slow = samples.filter(([, lag]) => lag > 4);
const duringGc = slow.filter(([t, lag]) => pauses.some(([a, b]) => b > t && a < t + lag)).length;
const clusters = [];
for (const [t, lag] of slow) {
  const last = clusters.at(-1);
  if (last && t - last.end < 20) {
    last.end = t;
    last.starts += 1;
    last.worst = Math.max(last.worst, lag);
  } else clusters.push({ end: t, starts: 1, worst: lag });
}
console.log(`starts ${sorted.length}: p50 ${at(0.5)} ms, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${sorted.at(-1).toFixed(2)}`);
console.log(`over 4 ms: ${slow.length}, overlapping a GC pause: ${duringGc} (GC pauses: ${pauses.length})`);
console.log(`clusters: ${clusters.length}; starts@worst ms: ${clusters.slice(0, 15).map((c) => `${c.starts}@${c.worst.toFixed(1)}`).join(" ")}`);
