/**
 * The common interface every benchmarked queue implements, so a workload is
 * written once and runs unchanged on ActionQueue and on each peer: set up a
 * fresh (or resumed) namespace, enqueue in bulk or one at a time, process at
 * a given concurrency with a plain async handler, count completions from the
 * system's own store, tear down.
 */

import type { WorkloadName } from "../workloads/types.js";

/** The names of the benchmarked systems. */
export type SystemName = "actionqueue" | "bullmq" | "pgboss" | "plainjob";

export const SYSTEM_NAMES: readonly SystemName[] = ["actionqueue", "bullmq", "pgboss", "plainjob"];

/** A job as every workload sees it: an id and the time it was enqueued (performance.now() of the enqueuing process). */
export interface BenchJob {
  readonly id: string;
  readonly t: number;
}

/** The handler a workload gives to a system: resolves for success, throws for a (retryable) failure. */
export type JobHandler = (job: BenchJob) => Promise<void>;

/** How a system is opened for one workload run. */
export interface SetupOptions {
  /** Queue / data-directory name shared by the processes of one run (crash: seed, first and second worker). */
  readonly namespace: string;
  /** Start from empty (true) or resume what an earlier process left (false). */
  readonly fresh: boolean;
  /** Handler concurrency the workers will use (some systems need it when opening). */
  readonly concurrency: number;
  /** Retries allowed after the first attempt (0: a failed job is failed). */
  readonly retries: number;
  /** Shorten the system's abandoned-job detection (lock / expiry) so the crash workload finishes in seconds. */
  readonly fastRecovery: boolean;
}

/** One opened system. */
export interface SystemInstance {
  /** Enqueues all jobs, using the system's bulk API where it has one. */
  enqueueBulk(jobs: readonly BenchJob[]): Promise<void>;
  /** Enqueues one job. */
  enqueue(job: BenchJob): Promise<void>;
  /** Starts processing at `concurrency` with `handler`; returns once the workers are running. */
  process(concurrency: number, handler: JobHandler): Promise<void>;
  /** Jobs completed so far according to the system itself (durably acknowledged). */
  completed(): Promise<number>;
  /** Resolves when `completed()` reaches `target`, or rejects after `timeoutMs`. */
  waitForCompleted(target: number, timeoutMs: number): Promise<void>;
  /** Stops workers and closes connections; `destroy` also removes the namespace's data. */
  teardown(destroy: boolean): Promise<void>;
}

/** A system: what it is, whether it can run here, and how to open it. */
export interface SystemDriver {
  readonly name: SystemName;
  readonly label: string;
  /** Undefined when usable, else why not (printed; the system is reported as skipped). */
  probe(): Promise<string | undefined>;
  /** The durability setting in effect, in words. */
  durability(): Promise<string>;
  /**
   * Workloads this system cannot run as specified, each with the reason
   * (printed and noted in the report instead of a number).
   */
  readonly unsupported?: Partial<Readonly<Record<WorkloadName, string>>>;
  setup(options: SetupOptions): Promise<SystemInstance>;
}

/** Polls `count` until it reaches `target` (for systems without a completion event). */
export async function pollUntil(count: () => Promise<number>, target: number, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms with ${n}/${target} jobs completed`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
