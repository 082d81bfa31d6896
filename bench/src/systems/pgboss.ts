/**
 * pg-boss 10 against PostgreSQL as a benchmarked system, in its own schema
 * (default `pgboss_bench`, created by pg-boss's migrations in `start()` and
 * dropped by the orchestrator at the end). Bulk enqueue uses `insert`;
 * processing keeps `concurrency` jobs in flight with pg-boss's `fetch()`,
 * `complete()` and `fail()` (see `process` for why not `work()`), polling
 * every 0.5 s (pg-boss's minimum interval) only when a fetch comes back
 * empty. Completed counts come from the job table. Durability: PostgreSQL's
 * defaults (fsync=on, synchronous_commit=on), its documented production setting.
 */
import pg from "pg";
import type { Client as PgClient } from "pg";
import PgBoss from "pg-boss";
import { pgConfig } from "../config.js";
import { sleep } from "../stats.js";
import { CompletionWaiters } from "./completion-waiters.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";

const BULK_CHUNK = 5_000;

/** How long to wait after an empty fetch: BENCH_PGBOSS_POLL_MS, default 500 (pg-boss's minimum polling interval). */
function pollMs(): number {
  const v = Number(process.env.BENCH_PGBOSS_POLL_MS ?? "500");
  return Number.isFinite(v) && v >= 1 ? v : 500;
}

/** A plain client on the bench database. */
export async function pgClient(): Promise<PgClient> {
  const client = new pg.Client({ connectionString: pgConfig().connectionString, connectionTimeoutMillis: 2_000 });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

class PgBossInstance implements SystemInstance {
  readonly #boss: PgBoss;
  readonly #name: string;
  readonly #client: PgClient;
  readonly #jobOptions: { retryLimit: number; retryDelay: number; expireInSeconds?: number };
  readonly #countSql: string;
  readonly #pollMs = pollMs();
  #running = false;
  #slots = 0;
  #inFlight = 0;
  #done = 0;
  #baseline = 0;
  #failure: unknown;
  #fetcher: Promise<void> | undefined;
  #slotFreed: (() => void) | undefined;
  #pollWake: (() => void) | undefined;
  readonly #waiters = new CompletionWaiters(() => this.#baseline + this.#done, "jobs");

  constructor(boss: PgBoss, client: PgClient, name: string, retries: number, fastRecovery: boolean) {
    this.#boss = boss;
    this.#client = client;
    this.#name = name;
    // The crash workload lets a killed worker's active jobs expire after 2 s (default 15 min) so they are retried in seconds.
    this.#jobOptions = { retryLimit: retries, retryDelay: 0, ...(fastRecovery ? { expireInSeconds: 2 } : {}) };
    this.#countSql = `SELECT count(*)::int AS n FROM ${pgConfig().schema}.job WHERE name = $1 AND state = 'completed'`;
  }

  async enqueueBulk(jobs: readonly BenchJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
      await this.#boss.insert(jobs.slice(i, i + BULK_CHUNK).map((data) => ({ name: this.#name, data, ...this.#jobOptions })));
    }
  }

  async enqueue(job: BenchJob): Promise<void> {
    await this.#boss.send(this.#name, job, this.#jobOptions);
  }

  /**
   * pg-boss 10's `work()` sleeps a full polling interval between fetches even when a fetch
   * returned jobs, capping a worker at batchSize / 0.5 s. So this keeps `concurrency` slots
   * filled with pg-boss's public `fetch()` and settles each job with `complete()` / `fail()`
   * (awaited, so a completion counted here is durable); it waits one polling interval only
   * when a fetch comes back empty.
   */
  async process(concurrency: number, handler: JobHandler): Promise<void> {
    this.#baseline = await this.completed();
    this.#running = true;
    this.#slots = concurrency;
    this.#fetcher = this.#fetchLoop(handler);
    this.#fetcher.catch((e: unknown) => {
      this.#failure = e;
      this.#wake();
    });
    return Promise.resolve();
  }

  async #fetchLoop(handler: JobHandler): Promise<void> {
    while (this.#running) {
      const free = this.#slots - this.#inFlight;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        continue;
      }
      const jobs = await this.#boss.fetch<BenchJob>(this.#name, { batchSize: free });
      if (jobs.length === 0) {
        await new Promise<void>((resolve) => {
          this.#pollWake = resolve;
          setTimeout(resolve, this.#pollMs);
        });
        continue;
      }
      for (const job of jobs) {
        this.#inFlight += 1;
        void this.#settle(job.id, job.data, handler);
      }
    }
  }

  async #settle(id: string, data: BenchJob, handler: JobHandler): Promise<void> {
    let ok = true;
    try {
      await handler(data);
    } catch {
      ok = false;
    }
    try {
      if (ok) {
        await this.#boss.complete(this.#name, id);
        this.#done += 1;
        this.#wake();
      } else await this.#boss.fail(this.#name, id);
    } catch (e) {
      if (this.#running) {
        this.#failure = e;
        this.#wake();
      }
    } finally {
      this.#inFlight -= 1;
      const freed = this.#slotFreed;
      this.#slotFreed = undefined;
      freed?.();
    }
  }

  #wake(): void {
    if (this.#failure !== undefined) this.#waiters.fail(this.#failure instanceof Error ? this.#failure : new Error("pg-boss failed"));
    else this.#waiters.check();
  }


  async completed(): Promise<number> {
    const { rows } = await this.#client.query<{ n: number }>(this.#countSql, [this.#name]);
    return rows[0]?.n ?? 0;
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<void> {
    const waiting = this.#waiters.wait(target, timeoutMs);
    this.#wake();
    return waiting;
  }


  async teardown(destroy: boolean): Promise<void> {
    this.#running = false;
    this.#slotFreed?.();
    this.#pollWake?.();
    await this.#fetcher?.catch(() => undefined);
    const deadline = performance.now() + 5_000;
    while (this.#inFlight > 0 && performance.now() < deadline) await sleep(5);
    // deleteQueue() of a queue with jobs fails in pg-boss 10.4 (foreign key from the job partition);
    // queues are per run and the orchestrator drops the whole schema at the end instead.
    void destroy;
    await this.#boss.stop({ graceful: false, wait: true, timeout: 1_000 });
    await this.#client.end();
  }
}

export const pgBossDriver: SystemDriver = {
  name: "pgboss",
  label: "pg-boss 10.4 (PostgreSQL)",
  async probe(): Promise<string | undefined> {
    try {
      const c = await pgClient();
      await c.query("SELECT 1");
      await c.end();
      return undefined;
    } catch (error) {
      return `PostgreSQL unreachable at ${pgConfig().display} (${error instanceof Error ? error.message : String(error)})`;
    }
  },
  async durability(): Promise<string> {
    const c = await pgClient();
    try {
      const get = async (name: string): Promise<string> => ((await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? "?");
      return `PostgreSQL fsync=${await get("fsync")} synchronous_commit=${await get("synchronous_commit")} wal_sync_method=${await get("wal_sync_method")}`;
    } finally {
      await c.end();
    }
  },
  async setup(options: SetupOptions): Promise<SystemInstance> {
    const { connectionString, schema } = pgConfig();
    const boss = new PgBoss({
      connectionString,
      schema,
      schedule: false,
      ...(options.fastRecovery ? { maintenanceIntervalSeconds: 1 } : {}),
    });
    boss.on("error", (e: Error) => console.error("pg-boss error:", e.message));
    await boss.start();
    const name = options.namespace;
    // Namespaces are unique per run, so a fresh run always starts from a new queue.
    if ((await boss.getQueue(name)) === null) await boss.createQueue(name);
    const client = await pgClient();
    // Give pg-boss's start-up maintenance a moment so it does not overlap the measurement.
    await sleep(50);
    return new PgBossInstance(boss, client, name, options.retries, options.fastRecovery);
  },
};

/** Drops the bench schema (orchestrator clean-up). */
export async function dropPgBossSchema(): Promise<void> {
  const c = await pgClient();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${pgConfig().schema} CASCADE`);
  } finally {
    await c.end();
  }
}
