/**
 * plainjob (SQLite via better-sqlite3@12) as a benchmarked system, when both
 * packages are installed in bench/ — they are not by default, because
 * better-sqlite3 compiles from source (about a minute). Without them the
 * probe says so and the orchestrator reports plainjob as skipped.
 *
 * The driver follows plainjob's documented surface (`defineQueue`,
 * `defineWorker`, `queue.add`) and is loaded through untyped dynamic imports;
 * SQLite runs in WAL mode with synchronous=FULL, its durable setting.
 * Completions are counted from the database (status `done`).
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { scratchRoot } from "../config.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";
import { pollUntil } from "./types.js";

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- plainjob ships no types and may be absent */
type Loose = any;

interface Modules {
  readonly plainjob: Loose;
  readonly Database: Loose;
}

async function importOptional(name: string): Promise<Loose> {
  // A variable specifier keeps TypeScript from requiring the (absent) package's types.
  const specifier = name;
  return import(specifier);
}

let modules: Modules | undefined;

async function load(): Promise<Modules> {
  if (modules) return modules;
  const plainjob = await importOptional("plainjob");
  const sqlite = await importOptional("better-sqlite3");
  modules = { plainjob, Database: sqlite.default ?? sqlite };
  return modules;
}

class PlainJobInstance implements SystemInstance {
  readonly #db: Loose;
  readonly #queue: Loose;
  readonly #file: string;
  readonly #mods: Modules;
  readonly #workers: Loose[] = [];

  constructor(mods: Modules, file: string, retries: number, fastRecovery: boolean) {
    this.#mods = mods;
    this.#file = file;
    this.#db = new mods.Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#queue = mods.plainjob.defineQueue({
      connection: this.#db,
      ...(fastRecovery ? { timeout: 2_000 } : {}),
      ...(retries > 0 ? { maxAttempts: retries + 1 } : {}),
    });
  }

  enqueueBulk(jobs: readonly BenchJob[]): Promise<void> {
    if (typeof this.#queue.addMany === "function") this.#queue.addMany("job", jobs);
    else this.#db.transaction(() => jobs.forEach((j) => this.#queue.add("job", j)))();
    return Promise.resolve();
  }

  enqueue(job: BenchJob): Promise<void> {
    this.#queue.add("job", job);
    return Promise.resolve();
  }

  process(concurrency: number, handler: JobHandler): Promise<void> {
    // plainjob workers process one job at a time: run `concurrency` of them.
    for (let i = 0; i < concurrency; i++) {
      const worker = this.#mods.plainjob.defineWorker("job", (job: Loose) => handler(typeof job.data === "string" ? (JSON.parse(job.data) as BenchJob) : (job.data as BenchJob)), {
        queue: this.#queue,
      });
      void worker.start();
      this.#workers.push(worker);
    }
    return Promise.resolve();
  }

  completed(): Promise<number> {
    if (typeof this.#queue.countJobs === "function") {
      return Promise.resolve(Number(this.#queue.countJobs({ status: this.#mods.plainjob.JobStatus?.Done ?? "done" })));
    }
    throw new Error("this plainjob version has no countJobs(): update bench/src/systems/plainjob.ts");
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<void> {
    return pollUntil(() => this.completed(), target, timeoutMs, 10);
  }

  async teardown(destroy: boolean): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop?.()));
    this.#queue.close?.();
    this.#db.close();
    if (destroy) rmSync(path.dirname(this.#file), { recursive: true, force: true });
  }
}
/* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any */

export const plainJobDriver: SystemDriver = {
  name: "plainjob",
  label: "plainjob (SQLite)",
  async probe(): Promise<string | undefined> {
    try {
      await load();
      return undefined;
    } catch {
      return "plainjob + better-sqlite3@12 are not installed in bench/ (better-sqlite3 compiles from source, ~60 s); `pnpm --filter @actionqueue/bench add -D plainjob better-sqlite3@12` to include it";
    }
  },
  durability: () => Promise.resolve("SQLite journal_mode=WAL synchronous=FULL"),
  async setup(options: SetupOptions): Promise<SystemInstance> {
    const mods = await load();
    const dir = path.join(scratchRoot(), options.namespace);
    if (options.fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return new PlainJobInstance(mods, path.join(dir, "queue.db"), options.retries, options.fastRecovery);
  },
};
