/**
 * Throughput: N no-op jobs enqueued in bulk, then processed at concurrency C
 * until the system reports all N completed. The headline number is jobs/s end
 * to end (first enqueue to last durable completion); enqueue and processing
 * rates are reported separately, and so is the CPU time this process spent
 * per job (for the peers the server's CPU is not included).
 *
 * `throughput-warm` measures the same round after one unmeasured round of
 * the same size and shape in the same process (its own queue or namespace,
 * torn down before the measured round starts): what a long-running service
 * sees once its JIT has compiled the hot paths and its heap has grown, where
 * `throughput` is a fresh process's first round.
 */
import { round } from "../stats.js";
import type { BenchJob, SystemDriver } from "../systems/types.js";
import type { ChildTask, Metrics } from "./types.js";

/** `count` jobs with ids `<prefix>-<i>`, stamped with the current time. */
export function makeJobs(prefix: string, count: number): BenchJob[] {
  const t = performance.now();
  const jobs: BenchJob[] = [];
  for (let i = 0; i < count; i++) jobs.push({ id: `${prefix}-${i}`, t });
  return jobs;
}

/** Options of {@link runThroughput}. */
export interface ThroughputOptions {
  /** Run one unmeasured round of the same size first, in a namespace of its own. */
  readonly warmUp?: boolean;
}

export async function runThroughput(driver: SystemDriver, task: ChildTask, options: ThroughputOptions = {}): Promise<Metrics> {
  if (options.warmUp === true) {
    const warm = await oneRound(driver, { ...task, namespace: `${task.namespace}-warmup` }, "wu");
    return { ...(await oneRound(driver, task, "tp")), warmUpJobsPerSec: warm.jobsPerSec as number };
  }
  return oneRound(driver, task, "tp");
}

async function oneRound(driver: SystemDriver, task: ChildTask, prefix: string): Promise<Metrics> {
  const n = task.sizes.throughputJobs;
  const concurrency = task.sizes.concurrency;
  const system = await driver.setup({ namespace: task.namespace, fresh: true, retries: 0, fastRecovery: false, concurrency });
  let executions = 0;
  try {
    const jobs = makeJobs(prefix, n);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await system.enqueueBulk(jobs);
    const t1 = performance.now();
    await system.process(concurrency, () => {
      executions += 1;
      return Promise.resolve();
    });
    await system.waitForCompleted(n, 300_000);
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const completed = await system.completed();
    if (completed !== n) throw new Error(`expected ${n} completions, the system reports ${completed}`);
    if (executions !== n) throw new Error(`expected ${n} handler executions, saw ${executions}`);
    return {
      jobs: n,
      concurrency,
      jobsPerSec: round((n / (t2 - t0)) * 1000),
      enqueuePerSec: round((n / (t1 - t0)) * 1000),
      processPerSec: round((n / (t2 - t1)) * 1000),
      totalMs: round(t2 - t0, 1),
      // CPU time of this (client/embedded) process per job: less sensitive to a busy machine than wall time.
      cpuUsPerJob: round((cpu.user + cpu.system) / n, 1),
    };
  } finally {
    await system.teardown(true);
  }
}
