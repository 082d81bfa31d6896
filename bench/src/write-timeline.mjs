// Where the processing phase's time goes, write by write: the throughput
// workload's shape (N once tasks submitted concurrently, then processed at
// concurrency 64, Immediate durability) with every WAL write timed from the
// `fs.write` call to its callback, the writer's zero fills timed the same way,
// and GC pauses from `perf_hooks`. Prints one summary of the processing phase:
// how many writes, how long each took, how far apart they were, and how much
// of the phase the slow ones (> 2 ms) and the GC pauses inside them account for.
// Plain JavaScript (like throughput-child.mjs) so that `fs` can be wrapped
// before the runtime binds it; a diagnostic, not a benchmark.
//   node write-timeline.mjs <checkout> [jobs=20000]
import fs, { rmSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { completionOf, freshDataDir, openQueue, taskInput } from "./throughput-shape.mjs";

const SLOW_MS = 2;

/** Completed WAL writes as [startMs, endMs, bytes]; zero fills as [startMs, endMs]. */
const writes = [];
const fills = [];
/** GC pauses as [startMs, endMs]. */
const pauses = [];
let recording = false;

const fsWrite = fs.write;
// The runtime's WAL writer calls fs.write(fd, buffer, offset, length, position, callback) and fs.writev for bulk backlogs.
fs.write = function timedWrite(fd, buffer, ...rest) {
  const callback = rest[rest.length - 1];
  if (!recording || typeof callback !== "function") return fsWrite.call(this, fd, buffer, ...rest);
  const start = performance.now();
  const bytes = typeof rest[1] === "number" ? rest[1] : buffer.length;
  rest[rest.length - 1] = (...args) => {
    writes.push([start, performance.now(), bytes]);
    callback(...args);
  };
  return fsWrite.call(this, fd, buffer, ...rest);
};
syncBuiltinESMExports();
// Zero fills go through a FileHandle (fs/promises).
const probe = await fs.promises.open(path.join(tmpdir(), `write-timeline-${process.pid}`), "w");
const handleProto = Object.getPrototypeOf(probe);
await probe.close();
rmSync(path.join(tmpdir(), `write-timeline-${process.pid}`), { force: true });
const handleWrite = handleProto.write;
handleProto.write = async function timedFill(...args) {
  const start = performance.now();
  try {
    return await handleWrite.apply(this, args);
  } finally {
    if (recording) fills.push([start, performance.now()]);
  }
};
new PerformanceObserver((list) => {
  if (!recording) return;
  for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
}).observe({ entryTypes: ["gc"] });

const [root = ".", jobsText = "20000"] = process.argv.slice(2);
const jobs = Number(jobsText);
const runtime = await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"));
const dataDir = freshDataDir("timeline");
const queue = await openQueue(runtime, dataDir);
const done = completionOf(queue, jobs);
const t0 = performance.now();
await Promise.all(Array.from({ length: jobs }, (_, i) => queue.submit(taskInput(i, t0))));
const t1 = performance.now();
recording = true;
queue.start();
await done;
const t2 = performance.now();
recording = false;
await queue.close({ mode: "abort" });
rmSync(dataDir, { recursive: true, force: true });
// Let the observer deliver the last GC entries.
await new Promise((resolve) => setTimeout(resolve, 10));

const ms = (value) => value.toFixed(2);
const sorted = (values) => values.slice().sort((a, b) => a - b);
const at = (values, q) => values[Math.min(values.length - 1, Math.floor(values.length * q))];
/** Milliseconds of [start, end] covered by the given intervals. */
const overlap = (start, end, intervals) => intervals.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(end, b) - Math.max(start, a)), 0);

const phase = t2 - t1;
const durations = sorted(writes.map(([a, b]) => b - a));
const gaps = sorted(writes.slice(1).map(([a], i) => a - writes[i][1]));
const slow = writes.filter(([a, b]) => b - a > SLOW_MS);
const slowMs = slow.reduce((sum, [a, b]) => sum + b - a, 0);
const lines = [
  `enqueue ${ms(t1 - t0)} ms, processing ${ms(phase)} ms (${Math.round((jobs / phase) * 1000)} jobs/s)`,
  `writes: ${writes.length}, median ${at(sorted(writes.map((w) => w[2])), 0.5)} bytes; call to callback median ${ms(at(durations, 0.5))} ms, p90 ${ms(at(durations, 0.9))}, max ${ms(durations[durations.length - 1] ?? 0)}`,
  `callback to next write: median ${ms(at(gaps, 0.5) ?? 0)} ms, p90 ${ms(at(gaps, 0.9) ?? 0)}; writes in flight ${ms(durations.reduce((s, d) => s + d, 0))} ms of the phase`,
  `slow writes (> ${SLOW_MS} ms): ${slow.length}, ${ms(slowMs)} ms; GC pauses inside them ${ms(slow.reduce((s, [a, b]) => s + overlap(a, b, pauses), 0))} ms, zero fills overlapping them ${ms(slow.reduce((s, [a, b]) => s + overlap(a, b, fills), 0))} ms`,
  `GC pauses in the phase: ${pauses.length}, ${ms(pauses.reduce((s, [a, b]) => s + b - a, 0))} ms; zero-fill writes: ${fills.length}, ${ms(fills.reduce((s, [a, b]) => s + b - a, 0))} ms`,
];
process.stdout.write(`${lines.join("\n")}\n`);
