/**
 * Benchmark configuration: workload sizes for the full and `--quick` runs,
 * and connection settings of the peers' servers, each overridable by an
 * environment variable so the same command works against other hosts.
 */
import os from "node:os";
import path from "node:path";

/** Sizes of every workload; `quick` shrinks them so the whole run fits in a minute. */
export interface Sizes {
  readonly throughputJobs: number;
  readonly concurrency: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly retryJobs: number;
  readonly crashJobs: number;
  readonly repetitions: number;
  readonly heapRuns: readonly number[];
}

export const FULL: Sizes = {
  throughputJobs: 20_000,
  concurrency: 64,
  latencyRate: 1_000,
  latencySeconds: 10,
  retryJobs: 5_000,
  crashJobs: 5_000,
  repetitions: 3,
  heapRuns: [100_000, 1_000_000],
};

export const QUICK: Sizes = {
  throughputJobs: 2_000,
  concurrency: 64,
  latencyRate: 1_000,
  latencySeconds: 3,
  retryJobs: 500,
  crashJobs: 1_000,
  repetitions: 1,
  heapRuns: [20_000],
};

function env(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : v;
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Redis for BullMQ: BENCH_REDIS_HOST / BENCH_REDIS_PORT (default 127.0.0.1:6379). */
export function redisConfig(): { host: string; port: number } {
  return { host: env("BENCH_REDIS_HOST", "127.0.0.1"), port: envInt("BENCH_REDIS_PORT", 6379) };
}

/**
 * PostgreSQL for pg-boss: BENCH_PG_URL, or BENCH_PG_HOST / BENCH_PG_PORT /
 * BENCH_PG_USER / BENCH_PG_PASSWORD / BENCH_PG_DATABASE (default
 * postgres@127.0.0.1:5432/test); BENCH_PGBOSS_SCHEMA (default pgboss_bench).
 */
export function pgConfig(): { connectionString: string; schema: string; display: string } {
  const schema = env("BENCH_PGBOSS_SCHEMA", "pgboss_bench");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`BENCH_PGBOSS_SCHEMA must be a plain lower-case identifier, got ${JSON.stringify(schema)}`);
  const url = process.env.BENCH_PG_URL;
  if (url !== undefined && url !== "") return { connectionString: url, schema, display: url.replace(/\/\/[^@]*@/, "//***@") };
  const host = env("BENCH_PG_HOST", "127.0.0.1");
  const port = envInt("BENCH_PG_PORT", 5432);
  const user = env("BENCH_PG_USER", "postgres");
  const password = process.env.BENCH_PG_PASSWORD ?? "";
  const database = env("BENCH_PG_DATABASE", "test");
  const auth = password === "" ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return { connectionString: `postgres://${auth}@${host}:${port}/${database}`, schema, display: `postgres://${user}@${host}:${port}/${database}` };
}

/** Scratch space for data directories and execution logs (BENCH_TMP; default the OS temp dir). */
export function scratchRoot(): string {
  return env("BENCH_TMP", path.join(os.tmpdir(), "actionqueue-bench"));
}
