/**
 * plainjob (SQLite via better-sqlite3) as a benchmarked system. Neither
 * package is a dependency of the bench: better-sqlite3 compiles from source
 * (about a minute). `pnpm --filter @actionqueue/bench peers:plainjob`
 * installs pinned versions into `bench/.peers/` (not committed, not part of
 * the workspace); the driver loads them from there, or from normal module
 * resolution. Without them the probe says so and the orchestrator reports
 * plainjob as skipped.
 *
 * Set up as plainjob's README shows (`better(new Database(file))`,
 * `defineQueue`, one `defineWorker` per slot, since a plainjob worker runs
 * one job at a time), with these choices for a fair comparison:
 * - Durability: `defineQueue` sets `synchronous = 1` (NORMAL: in WAL mode a
 *   commit is not fsync'd), so the driver sets `synchronous = FULL` after it
 *   and checks that it took. Completions are counted from the database
 *   (status done), that is once plainjob committed them.
 * - Polling: a worker sleeps `BENCH_PLAINJOB_POLL_MS` (default 100; plainjob's
 *   own default is 1000) after finding no job.
 * - Crash recovery: plainjob re-queues jobs left "processing" from a
 *   maintenance timer (default: every minute, after 30 minutes); the crash
 *   workload shortens both (every 500 ms, after 2 s).
 * - Retries: plainjob has none (a job whose handler throws is marked failed
 *   for good), so the retries workload is not run for it.
 */
import { mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { scratchRoot } from "../config.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";
import { pollUntil } from "./types.js";

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- plainjob ships no types here and may be absent */
type Loose = any;

interface Modules {
  readonly plainjob: Loose;
  readonly Database: Loose;
}

/** Where `peers:plainjob` installs the packages. */
const PEERS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.peers");

/** SQLite's `synchronous` levels by number, as `PRAGMA synchronous` reports them. */
const SYNCHRONOUS_LEVELS = ["OFF", "NORMAL", "FULL", "EXTRA"];

async function importOptional(name: string): Promise<Loose> {
  try {
    // A variable specifier keeps TypeScript from requiring the (absent) package's types.
    const specifier = name;
    return await import(specifier);
  } catch {
    const resolved = createRequire(path.join(PEERS_DIR, "package.json")).resolve(name);
    return import(pathToFileURL(resolved).href);
  }
}

let modules: Modules | undefined;

async function load(): Promise<Modules> {
  if (modules) return modules;
  const plainjob = await importOptional("plainjob");
  const sqlite = await importOptional("better-sqlite3");
  modules = { plainjob, Database: sqlite.default ?? sqlite };
  return modules;
}

function pollMs(): number {
  const text = process.env.BENCH_PLAINJOB_POLL_MS ?? "100";
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_PLAINJOB_POLL_MS must be a positive integer (ms), got ${JSON.stringify(text)}`);
  return value;
}

/** plainjob logs every worker start and stop at info level: keep warnings and errors only. */
const quietLogger = {
  error: (message: string, ...meta: unknown[]): void => console.error(message, ...meta),
  warn: (message: string, ...meta: unknown[]): void => console.warn(message, ...meta),
  info: (): void => undefined,
  debug: (): void => undefined,
};

class PlainJobInstance implements SystemInstance {
  readonly #db: Loose;
  readonly #queue: Loose;
  readonly #file: string;
  readonly #mods: Modules;
  readonly #workers: Loose[] = [];

  constructor(mods: Modules, file: string, fastRecovery: boolean) {
    this.#mods = mods;
    this.#file = file;
    this.#db = new mods.Database(file);
    this.#queue = mods.plainjob.defineQueue({
      connection: mods.plainjob.better(this.#db),
      logger: quietLogger,
      ...(fastRecovery ? { timeout: 2_000, maintenanceInterval: 500 } : {}),
    });
    // After defineQueue, which sets synchronous = NORMAL (no fsync per commit in WAL mode).
    this.#db.pragma("synchronous = FULL");
    const journal = String(this.#db.pragma("journal_mode", { simple: true }));
    const synchronous = SYNCHRONOUS_LEVELS[Number(this.#db.pragma("synchronous", { simple: true }))];
    if (journal !== "wal" || synchronous !== "FULL") {
      throw new Error(`plainjob's database is journal_mode=${journal} synchronous=${String(synchronous)}, not the durable WAL + FULL the report states`);
    }
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
    const pollIntervall = pollMs();
    for (let i = 0; i < concurrency; i++) {
      const worker = this.#mods.plainjob.defineWorker("job", (job: Loose) => handler(typeof job.data === "string" ? (JSON.parse(job.data) as BenchJob) : (job.data as BenchJob)), {
        queue: this.#queue,
        pollIntervall,
        logger: quietLogger,
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
      return "plainjob + better-sqlite3 are not installed (better-sqlite3 compiles from source, ~60 s); `pnpm --filter @actionqueue/bench peers:plainjob` installs them into bench/.peers";
    }
  },
  durability: () => Promise.resolve(`SQLite journal_mode=WAL synchronous=FULL (set after defineQueue, which sets NORMAL); workers poll every ${pollMs()} ms when idle`),
  unsupported: { retries: "plainjob has no retries (a job whose handler throws is marked failed for good)" },
  async setup(options: SetupOptions): Promise<SystemInstance> {
    const mods = await load();
    const dir = path.join(scratchRoot(), options.namespace);
    if (options.fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return new PlainJobInstance(mods, path.join(dir, "queue.db"), options.fastRecovery);
  },
};
