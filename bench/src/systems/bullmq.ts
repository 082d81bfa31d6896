/**
 * BullMQ 6 (ioredis) against Redis as a benchmarked system: `addBulk` for
 * bulk enqueue, one `Worker` at the requested concurrency, completions
 * counted from the worker's `completed` event (emitted once Redis has moved
 * the job to completed) and checked against `getJobCounts`. Durability is
 * whatever Redis runs with; the orchestrator switches it to appendonly with
 * appendfsync everysec (BullMQ's documented production advice) for the run.
 */
import { Queue, Worker } from "bullmq";
import type { JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { redisConfig } from "../config.js";
import { CompletionWaiters } from "./completion-waiters.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";

const BULK_CHUNK = 5_000;

function connection(): { host: string; port: number; maxRetriesPerRequest: null } {
  return { ...redisConfig(), maxRetriesPerRequest: null };
}

/** A short-lived client that fails fast instead of retrying forever. */
export async function redisClient(): Promise<Redis> {
  const r = new Redis({ ...redisConfig(), lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on("error", () => undefined);
  await r.connect();
  return r;
}

/** Redis's persistence setting right now, e.g. `appendonly=yes appendfsync=everysec`. */
export async function redisDurability(): Promise<string> {
  const r = await redisClient();
  try {
    const ao = (await r.config("GET", "appendonly"));
    const fs = (await r.config("GET", "appendfsync"));
    const save = (await r.config("GET", "save"));
    return `Redis appendonly=${ao[1] ?? "?"} appendfsync=${fs[1] ?? "?"} save="${save[1] ?? "?"}"`;
  } finally {
    r.disconnect();
  }
}

class BullInstance implements SystemInstance {
  readonly #name: string;
  readonly #queue: Queue;
  readonly #opts: JobsOptions;
  readonly #fastRecovery: boolean;
  #worker: Worker | undefined;
  #events = 0;
  #baseline = 0;
  readonly #waiters = new CompletionWaiters(() => this.#baseline + this.#events, "jobs");

  constructor(name: string, retries: number, fastRecovery: boolean) {
    this.#name = name;
    this.#queue = new Queue(name, { connection: connection() });
    this.#queue.on("error", (e) => console.error("bullmq queue error:", e.message));
    this.#opts = retries > 0 ? { attempts: retries + 1, backoff: { type: "fixed", delay: 0 } } : {};
    this.#fastRecovery = fastRecovery;
  }

  get queue(): Queue {
    return this.#queue;
  }

  async enqueueBulk(jobs: readonly BenchJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
      await this.#queue.addBulk(jobs.slice(i, i + BULK_CHUNK).map((data) => ({ name: "job", data, opts: this.#opts })));
    }
  }

  async enqueue(job: BenchJob): Promise<void> {
    await this.#queue.add("job", job, this.#opts);
  }

  async process(concurrency: number, handler: JobHandler): Promise<void> {
    this.#baseline = await this.completed();
    this.#worker = new Worker<BenchJob>(this.#name, (job) => handler(job.data), {
      connection: connection(),
      concurrency,
      // The crash workload shortens stalled-job detection (defaults: 30 s) so a killed worker's jobs come back in seconds.
      ...(this.#fastRecovery ? { lockDuration: 2_000, stalledInterval: 1_000 } : {}),
    });
    this.#worker.on("error", (e) => console.error("bullmq worker error:", e.message));
    this.#worker.on("completed", () => {
      this.#events += 1;
      this.#waiters.check();
    });
    await this.#worker.waitUntilReady();
  }

  async completed(): Promise<number> {
    const counts = await this.#queue.getJobCounts("completed");
    return counts.completed ?? 0;
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<void> {
    return this.#waiters.wait(target, timeoutMs);
  }


  async teardown(destroy: boolean): Promise<void> {
    await this.#worker?.close();
    if (destroy) await this.#queue.obliterate({ force: true });
    await this.#queue.close();
  }
}

export const bullmqDriver: SystemDriver = {
  name: "bullmq",
  label: "BullMQ 6.7 (Redis)",
  async probe(): Promise<string | undefined> {
    const { host, port } = redisConfig();
    try {
      const r = await redisClient();
      await r.ping();
      r.disconnect();
      return undefined;
    } catch (error) {
      return `Redis unreachable at ${host}:${port} (${error instanceof Error ? error.message : String(error)})`;
    }
  },
  durability: redisDurability,
  async setup(options: SetupOptions): Promise<SystemInstance> {
    const instance = new BullInstance(options.namespace, options.retries, options.fastRecovery);
    await instance.queue.waitUntilReady();
    if (options.fresh) await instance.queue.obliterate({ force: true });
    return instance;
  },
};
