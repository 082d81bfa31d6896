/**
 * ActionQueue as a benchmarked system: one embedded queue per data directory,
 * Immediate durability (every submission and state change is fsync'd in a
 * group commit before it is acknowledged), the dispatch loop at the requested
 * concurrency. Completions are counted from `run:completed`, which the queue
 * emits only once the completion is durable.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { ActionQueue, fixedBackoff } from "@actionqueue/runtime";
import type { HandlerContext } from "@actionqueue/runtime";
import { scratchRoot } from "../config.js";
import { CompletionWaiters } from "./completion-waiters.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";

const encoder = new TextEncoder();

/** The data directory of a namespace. */
export function actionQueueDataDir(namespace: string): string {
  return path.join(scratchRoot(), namespace);
}

class ActionQueueInstance implements SystemInstance {
  #queue: ActionQueue | undefined;
  #handler: JobHandler | undefined;
  #completed = 0;
  readonly #waiters = new CompletionWaiters(() => this.#completed, "runs");
  readonly #dataDir: string;
  readonly #maxAttempts: number;

  constructor(dataDir: string, maxAttempts: number) {
    this.#dataDir = dataDir;
    this.#maxAttempts = maxAttempts;
  }

  async open(concurrency: number): Promise<void> {
    this.#queue = await ActionQueue.open({
      dataDir: this.#dataDir,
      concurrency,
      backoff: fixedBackoff(0),
      handler: (ctx: HandlerContext<BenchJob>) => {
        const h = this.#handler;
        if (h === undefined) throw new Error("no handler installed");
        return h(ctx.json());
      },
    });
    this.#completed = this.#queue.stats().runsByState.completed;
    this.#queue.on("run:completed", () => {
      this.#completed += 1;
      this.#waiters.check();
    });
    this.#queue.on("error", ({ error }) => {
      console.error("actionqueue error event:", error);
    });
  }

  get queue(): ActionQueue {
    if (this.#queue === undefined) throw new Error("queue not open");
    return this.#queue;
  }

  #submission(job: BenchJob): Parameters<ActionQueue["submit"]>[0] {
    const payload = encoder.encode(`{"id":"${job.id}","t":${job.t}}`);
    // Two literals rather than a conditional spread, which costs a clone per call on Node 20 (the peers' drivers build plain literals too).
    if (this.#maxAttempts > 1) return { runPolicy: { kind: "once" }, payload, contentType: "application/json", constraints: { maxAttempts: this.#maxAttempts } };
    return { runPolicy: { kind: "once" }, payload, contentType: "application/json" };
  }

  async enqueueBulk(jobs: readonly BenchJob[]): Promise<void> {
    const q = this.queue;
    await Promise.all(jobs.map((job) => q.submit(this.#submission(job))));
  }

  async enqueue(job: BenchJob): Promise<void> {
    await this.queue.submit(this.#submission(job));
  }

  process(_concurrency: number, handler: JobHandler): Promise<void> {
    // Concurrency is an option of ActionQueue.open(): setup() opened the queue with it.
    this.#handler = handler;
    this.queue.start();
    return Promise.resolve();
  }

  completed(): Promise<number> {
    return Promise.resolve(this.#completed);
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<void> {
    return this.#waiters.wait(target, timeoutMs);
  }


  async teardown(destroy: boolean): Promise<void> {
    // submit() queues a dispatch pass even before start(); closing before that pass ran makes it
    // write to closed storage (an `error` event, and the seed child died of it). Let it run first.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#queue?.close({ mode: "abort" });
    if (destroy) rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

export const actionQueueDriver: SystemDriver = {
  name: "actionqueue",
  label: "ActionQueue",
  probe: () => Promise.resolve(undefined),
  durability: () => Promise.resolve("Immediate: WAL fsync (group commit) before every submit/state change is acknowledged"),
  async setup(options: SetupOptions): Promise<SystemInstance> {
    const dataDir = actionQueueDataDir(options.namespace);
    if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(path.dirname(dataDir), { recursive: true });
    const instance = new ActionQueueInstance(dataDir, options.retries + 1);
    await instance.open(options.concurrency);
    return instance;
  },
};
