/**
 * Heap per retained terminal run: for each N, open a fresh ActionQueue,
 * measure the heap after a full GC, submit N no-op once tasks (no payload)
 * and run them all to Completed, GC again, and divide the growth by N. The
 * queue keeps every terminal run (and its task) in its in-memory projection,
 * so this is the memory a long-lived process pays per finished run. Snapshots
 * are disabled during the fill (see below). Needs
 * `--expose-gc` (the orchestrator passes it).
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { ActionQueue } from "@actionqueue/runtime";
import { scratchRoot } from "./config.js";
import { round } from "./stats.js";
import type { Metrics } from "./workloads/types.js";

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("heap measurement needs node --expose-gc");
  for (let i = 0; i < 3; i++) gc();
}

export async function measureHeap(counts: readonly number[], namespace: string): Promise<Metrics> {
  const out: Record<string, number> = {};
  for (const n of counts) {
    const dataDir = path.join(scratchRoot(), `${namespace}-${n}`);
    rmSync(dataDir, { recursive: true, force: true });
    // Snapshots off: they do not change what the projection retains, and with the default cadence
    // (every 100k WAL events) filling 1M runs re-encodes the whole growing projection dozens of times on
    // the main thread, which made the 1M fill take over 20 minutes.
    const queue = await ActionQueue.open({ dataDir, concurrency: 64, snapshotEvery: 0, handler: () => undefined });
    try {
      let completed = 0;
      let wake: (() => void) | undefined;
      queue.on("run:completed", () => {
        completed += 1;
        if (completed === n) wake?.();
      });
      const allDone = new Promise<void>((resolve) => (wake = resolve));
      fullGc();
      const before = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      queue.start();
      const chunk = 10_000;
      for (let i = 0; i < n; i += chunk) {
        const batch: Promise<unknown>[] = [];
        for (let k = i; k < Math.min(n, i + chunk); k++) batch.push(queue.submit({ runPolicy: { kind: "once" } }));
        await Promise.all(batch);
      }
      await allDone;
      const seconds = (performance.now() - t0) / 1000;
      fullGc();
      const after = process.memoryUsage().heapUsed;
      const stats = queue.stats();
      if (stats.runsByState.completed !== n) throw new Error(`expected ${n} completed runs, stats say ${stats.runsByState.completed}`);
      out[`bytesPerRun_${n}`] = round((after - before) / n);
      out[`heapMB_${n}`] = round(after / 1048576, 1);
      out[`seconds_${n}`] = round(seconds, 1);
    } finally {
      await queue.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return out;
}
