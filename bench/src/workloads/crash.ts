/**
 * Crash: a worker process enqueues N jobs (durably acknowledged), starts
 * processing them and is SIGKILLed once about half have been executed; a new
 * worker process resumes the same queue and runs until every job completed
 * (or a timeout). Every handler execution is appended to an execution log and
 * fdatasync'd (group commit) before the handler returns, so the log survives
 * the kill. Reported: completions lost (jobs never completed at the end) and
 * duplicated executions (log lines beyond one per job), plus the time the
 * second worker took from its first dispatch to the last completion (which
 * includes each system's detection of the dead worker's jobs).
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import path from "node:path";
import { scratchRoot } from "../config.js";
import type { Forked } from "../spawn.js";
import { forkChild } from "../spawn.js";
import { round } from "../stats.js";
import type { SystemDriver } from "../systems/types.js";
import { makeJobs } from "./throughput.js";
import type { ChildTask, Metrics } from "./types.js";

/** An append-only log of executed job ids; `append` resolves once the line is on disk. */
class ExecutionLog {
  readonly #file: FileHandle;
  #pending: { line: string; done: () => void }[] = [];
  #flushing = false;

  private constructor(file: FileHandle) {
    this.#file = file;
  }

  static async open(file: string): Promise<ExecutionLog> {
    return new ExecutionLog(await open(file, "a"));
  }

  append(id: string): Promise<void> {
    return new Promise((resolve) => {
      this.#pending.push({ line: `${id}\n`, done: resolve });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        await this.#file.write(batch.map((p) => p.line).join(""));
        await this.#file.datasync();
        for (const p of batch) p.done();
      }
    } finally {
      this.#flushing = false;
    }
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}

/**
 * Child role `crash-worker`. The first worker (`seed`) enqueues the N jobs, then processes
 * them and is killed mid-run; the second resumes the same queue until every job completed
 * (or the timeout), reports what the system counts as completed, and removes the queue.
 */
export async function runCrashWorker(driver: SystemDriver, task: ChildTask): Promise<Metrics> {
  const n = task.sizes.crashJobs;
  if (task.execLog === undefined) throw new Error("crash-worker needs execLog");
  const log = await ExecutionLog.open(task.execLog);
  const seed = task.seed === true;
  const system = await driver.setup({ namespace: task.namespace, fresh: seed, retries: 2, fastRecovery: true, concurrency: task.sizes.concurrency });
  let executions = 0;
  const progress = setInterval(() => process.send?.({ kind: "progress", executions }), 10);
  let timedOut = false;
  let destroy = false;
  try {
    if (seed) await system.enqueueBulk(makeJobs("cr", n));
    const before = await system.completed();
    const t0 = performance.now();
    await system.process(task.sizes.concurrency, async (job) => {
      await log.append(job.id);
      executions += 1;
    });
    try {
      await system.waitForCompleted(n, task.timeoutMs ?? 60_000);
    } catch {
      timedOut = true;
    }
    const resumeMs = performance.now() - t0;
    const completed = await system.completed();
    destroy = !seed;
    return { completedBefore: before, completed, executions, timedOut, resumeMs: round(resumeMs) };
  } finally {
    clearInterval(progress);
    await system.teardown(destroy);
    await log.close();
  }
}

/** Orchestrator side: seed, run a worker, SIGKILL it mid-run, resume with a new worker, count. */
export async function orchestrateCrash(namespace: string, task: Omit<ChildTask, "role" | "namespace">): Promise<Metrics> {
  const n = task.sizes.crashJobs;
  const dir = path.join(scratchRoot(), `${namespace}-log`);
  rmSync(dir, { recursive: true, force: true });
  const execLog = path.join(dir, "executions.log");
  mkdirSync(dir, { recursive: true });
  try {
    const killAt = Math.floor(n / 2);
    const first: Forked = forkChild({ ...task, role: "crash-worker", seed: true, namespace, execLog, timeoutMs: 120_000 }, [], 180_000);
    let killedAtExecutions = -1;
    first.onProgress((executions) => {
      if (killedAtExecutions < 0 && executions >= killAt) {
        killedAtExecutions = executions;
        first.kill("SIGKILL");
      }
    });
    const firstOutcome = await first.exit;
    if (killedAtExecutions < 0) throw new Error(`the first ${task.system} worker exited (${firstOutcome}) before it could be killed`);
    const linesAtKill = countLines(execLog);
    const second = await forkChild({ ...task, role: "crash-worker", namespace, execLog, timeoutMs: task.timeoutMs ?? 60_000 }, [], 180_000).result;
    const lines = readFileSync(execLog, "utf8").split("\n").filter((l) => l !== "");
    const unique = new Set(lines).size;
    const completed = Number(second.completed);
    return {
      jobs: n,
      killedAtExecutions: linesAtKill,
      completedAtKill: Number(second.completedBefore),
      executions: lines.length,
      duplicated: lines.length - unique,
      neverExecuted: n - unique,
      lost: n - completed,
      recoveryMs: Number(second.resumeMs),
      timedOut: second.timedOut === true,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function countLines(file: string): number {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length;
  } catch {
    return 0;
  }
}
