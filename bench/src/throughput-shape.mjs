// The throughput workload's shape in plain JavaScript, shared by the tools
// that run it outside the bench's own children (throughput-child.mjs for the
// A/B and instruction counts, write-timeline.mjs for the write diagnostic):
// a queue at concurrency 64 with Immediate durability whose handler parses
// its JSON payload, and N once tasks with a small JSON payload each.
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const encoder = new TextEncoder();

/** A fresh data directory for one run of `tool` under BENCH_TMP (removed first if it exists). */
export function freshDataDir(tool) {
  const dataDir = path.join(process.env.BENCH_TMP || path.join(tmpdir(), "actionqueue-bench"), `${tool}-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  return dataDir;
}

/** Opens the workload's queue with `runtime` (a checkout's `@actionqueue/runtime`). */
export function openQueue(runtime, dataDir) {
  return runtime.ActionQueue.open({
    dataDir,
    concurrency: 64,
    backoff: runtime.fixedBackoff(0),
    handler: (ctx) => {
      ctx.json();
      return Promise.resolve();
    },
  });
}

/** Resolves once `jobs` runs completed (durably: `run:completed` follows the completion's fsync). */
export function completionOf(queue, jobs) {
  let completed = 0;
  return new Promise((resolve) => {
    queue.on("run:completed", () => {
      if (++completed === jobs) resolve();
    });
  });
}

/** The i-th task of the workload; `t0` is carried in the payload, as the bench's jobs carry their enqueue time. */
export function taskInput(i, t0) {
  return { runPolicy: { kind: "once" }, payload: encoder.encode(`{"id":"tp-${i}","t":${t0}}`), contentType: "application/json" };
}
