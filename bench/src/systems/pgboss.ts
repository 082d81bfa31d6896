/**
 * pg-boss 10 against PostgreSQL as a benchmarked system, in its own schema
 * (default `pgboss_bench`, created by pg-boss's migrations in `start()` and
 * dropped by the orchestrator at the end). Bulk enqueue uses `insert`;
 * processing uses `work()` — one worker per concurrency slot, batch size 1,
 * polling every 0.5 s (pg-boss's minimum) when a fetch comes back empty.
 * pg-boss completes a job after its handler without telling the caller, so
 * completions are counted by polling the job table. Durability: PostgreSQL's
 * defaults (fsync=on, synchronous_commit=on), its documented production setting.
 */
import pg from "pg";
import type { Client as PgClient } from "pg";
import PgBoss from "pg-boss";
import { pgConfig } from "../config.js";
import { sleep } from "../stats.js";
import type { BenchJob, JobHandler, SetupOptions, SystemDriver, SystemInstance } from "./types.js";
import { pollUntil } from "./types.js";

const BULK_CHUNK = 5_000;

/** Workers × batch size = concurrency; BENCH_PGBOSS_BATCH sets the batch size (default 1). */
function batchSize(concurrency: number): number {
  const b = Number(process.env.BENCH_PGBOSS_BATCH ?? "1");
  return Number.isInteger(b) && b >= 1 && b <= concurrency ? b : 1;
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

  async process(concurrency: number, handler: JobHandler): Promise<void> {
    const size = batchSize(concurrency);
    const workers = Math.ceil(concurrency / size);
    for (let w = 0; w < workers; w++) {
      await this.#boss.work<BenchJob>(this.#name, { batchSize: size, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        await Promise.all(jobs.map((j) => handler(j.data)));
      });
    }
  }

  async completed(): Promise<number> {
    const { rows } = await this.#client.query<{ n: number }>(this.#countSql, [this.#name]);
    return rows[0]?.n ?? 0;
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<void> {
    return pollUntil(() => this.completed(), target, timeoutMs, 10);
  }

  async teardown(destroy: boolean): Promise<void> {
    await this.#boss.offWork(this.#name);
    if (destroy) await this.#boss.deleteQueue(this.#name);
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
    if (options.fresh && (await boss.getQueue(name)) !== null) await boss.deleteQueue(name);
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
