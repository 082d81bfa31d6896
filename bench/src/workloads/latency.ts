/**
 * Latency: a producer enqueues one job at a time at a steady rate (default
 * 1,000 jobs/s) for S seconds while workers run at concurrency C in the same
 * process; each handler records `performance.now()` minus the job's enqueue
 * stamp on entry. Reported: p50, p99 and max of enqueue-to-handler-start, and
 * the rate actually achieved. A short warm-up (not measured) precedes it.
 */
import { percentileSorted, round, sleep } from "../stats.js";
import type { BenchJob, SystemDriver, SystemInstance } from "../systems/types.js";
import type { ChildTask, Metrics } from "./types.js";

/** Enqueues `total` jobs at `rate` per second, one call per job, not waiting for each to be acknowledged. */
async function paced(system: SystemInstance, prefix: string, rate: number, total: number): Promise<number> {
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (sent < due) {
      const job: BenchJob = { id: `${prefix}-${sent}`, t: performance.now() };
      pending.push(system.enqueue(job));
      sent += 1;
    }
    await sleep(1);
  }
  const elapsed = performance.now() - start;
  await Promise.all(pending);
  return (total / elapsed) * 1000;
}

export async function runLatency(driver: SystemDriver, task: ChildTask): Promise<Metrics> {
  const { latencyRate: rate, latencySeconds: seconds, concurrency } = task.sizes;
  const system = await driver.setup({ namespace: task.namespace, fresh: true, retries: 0, fastRecovery: false, concurrency });
  const samples: number[] = [];
  let measuring = false;
  try {
    await system.process(concurrency, (job) => {
      const lag = performance.now() - job.t;
      if (measuring) samples.push(lag);
      return Promise.resolve();
    });
    const warmup = Math.max(100, Math.floor(rate / 5));
    await paced(system, "warm", rate, warmup);
    await system.waitForCompleted(warmup, 60_000);
    measuring = true;
    const total = rate * seconds;
    const achieved = await paced(system, "lat", rate, total);
    await system.waitForCompleted(warmup + total, 120_000);
    measuring = false;
    if (samples.length !== total) throw new Error(`expected ${total} measured handler starts, saw ${samples.length}`);
    samples.sort((a, b) => a - b);
    return {
      jobs: total,
      targetRate: rate,
      achievedRate: round(achieved),
      p50Ms: round(percentileSorted(samples, 50), 2),
      p99Ms: round(percentileSorted(samples, 99), 2),
      maxMs: round(samples[samples.length - 1]!, 2),
    };
  } finally {
    await system.teardown(true);
  }
}
