// Child of instructions.ts: the throughput workload's shape (N once tasks
// submitted concurrently, then processed at concurrency 64, Immediate
// durability) against the runtime of one checkout, as plain JavaScript so
// that no loader's work is counted. Usage: node instructions-child.mjs <checkout> <jobs>
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const [root = ".", jobsText = "10000"] = process.argv.slice(2);
const jobs = Number(jobsText);
const runtime = await import(path.join(path.resolve(root), "packages/runtime/dist/index.js"));
const dataDir = path.join(process.env.BENCH_TMP ?? path.join(tmpdir(), "actionqueue-bench"), `instructions-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
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
const done = new Promise((resolve) => {
  queue.on("run:completed", () => {
    if (++completed === jobs) resolve();
  });
});
const stamp = performance.now();
await Promise.all(
  Array.from({ length: jobs }, (_, i) =>
    queue.submit({ runPolicy: { kind: "once" }, payload: encoder.encode(`{"id":"tp-${i}","t":${stamp}}`), contentType: "application/json" }),
  ),
);
queue.start();
await done;
await queue.close({ mode: "abort" });
rmSync(dataDir, { recursive: true, force: true });
