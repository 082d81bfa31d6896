/**
 * Retries: N jobs whose handler fails the first two attempts and succeeds on
 * the third, with two retries allowed and no backoff delay. Every job must
 * complete after exactly three executions; reported is completed jobs/s end
 * to end (enqueue in bulk to the last completion).
 */
import { round } from "../stats.js";
import type { SystemDriver } from "../systems/types.js";
import { makeJobs } from "./throughput.js";
import type { ChildTask, Metrics } from "./types.js";

export async function runRetries(driver: SystemDriver, task: ChildTask): Promise<Metrics> {
  const n = task.sizes.retryJobs;
  const concurrency = task.sizes.concurrency;
  const system = await driver.setup({ namespace: task.namespace, fresh: true, retries: 2, fastRecovery: false, concurrency });
  const attempts = new Map<string, number>();
  let executions = 0;
  try {
    const jobs = makeJobs("rt", n);
    const t0 = performance.now();
    await system.enqueueBulk(jobs);
    await system.process(concurrency, (job) => {
      executions += 1;
      const k = (attempts.get(job.id) ?? 0) + 1;
      attempts.set(job.id, k);
      return k <= 2 ? Promise.reject(new Error(`planned failure ${k}`)) : Promise.resolve();
    });
    await system.waitForCompleted(n, 300_000);
    const t1 = performance.now();
    const completed = await system.completed();
    if (completed !== n) throw new Error(`expected ${n} completions, the system reports ${completed}`);
    if (executions !== 3 * n) throw new Error(`expected ${3 * n} handler executions (3 per job), saw ${executions}`);
    return {
      jobs: n,
      executions,
      jobsPerSec: round((n / (t1 - t0)) * 1000),
      totalMs: round(t1 - t0, 1),
    };
  } finally {
    await system.teardown(true);
  }
}
