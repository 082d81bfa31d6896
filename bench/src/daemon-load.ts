/**
 * Load test of the daemon's HTTP API: starts the real daemon binary on a
 * temporary data directory, then drives `GET /api/v1/stats` and
 * `POST /api/v1/tasks` with autocannon, each for `--duration` seconds
 * (default 120), while sampling the daemon's memory from its own `/metrics`.
 * Prints a Markdown table (requests/s, latency p50/p99, error responses,
 * memory) for bench/README.md. Not part of the test suite.
 *
 *   pnpm --filter @actionqueue/bench exec tsx src/daemon-load.ts [--duration 120] [--connections 50]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { Result } from "autocannon";

const DAEMON = fileURLToPath(new URL("../../packages/daemon/dist/main.js", import.meta.url));
const HANDLER = fileURLToPath(new URL("./daemon-handler.mjs", import.meta.url));
const TOKEN = "daemon-load-token-0123456789";

const { values } = parseArgs({ options: { duration: { type: "string", default: "120" }, connections: { type: "string", default: "50" } } });
const duration = Number(values.duration);
const connections = Number(values.connections);

interface MemorySample {
  readonly at: number;
  readonly rss: number;
  readonly heap: number;
}

async function memory(url: string): Promise<MemorySample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { at: Date.now(), rss: value("process_resident_memory_bytes"), heap: value("nodejs_heap_size_used_bytes") };
}

async function stats(url: string): Promise<{ tasks: number; runsByState: Record<string, number> }> {
  return (await (await fetch(`${url}/api/v1/stats`)).json()) as { tasks: number; runsByState: Record<string, number> };
}

function startDaemon(dataDir: string): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [DAEMON, "--data-dir", dataDir, "--bind", "127.0.0.1:0", "--handler", HANDLER, "--concurrency", "64", "--log-level", "warn"],
    { env: { ...process.env, ACTIONQUEUE_TOKEN: TOKEN }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      const url = (JSON.parse(out.slice(0, newline)) as { listening: string }).listening;
      resolve({
        url,
        stop: () => {
          child.kill("SIGTERM");
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`daemon exited ${String(code)} before listening`)));
  });
}

async function waitReady(url: string): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`${url}/ready`)).status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Phase {
  readonly name: string;
  readonly result: Result;
  readonly samples: readonly MemorySample[];
}

async function phase(name: string, url: string, options: Parameters<typeof autocannon>[0]): Promise<Phase> {
  const samples: MemorySample[] = [await memory(url)];
  const timer = setInterval(() => void memory(url).then((s) => samples.push(s), () => undefined), 5_000);
  process.stderr.write(`${name}: ${duration}s with ${connections} connections…\n`);
  const result = await autocannon({ ...options, connections, duration, timeout: 10 });
  clearInterval(timer);
  samples.push(await memory(url));
  return { name, result, samples };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Lowest heap of the first and the last third of the samples (robust to the GC sawtooth). */
function heapTrend(samples: readonly MemorySample[]): { early: number; late: number } {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const min = (xs: readonly MemorySample[]): number => Math.min(...xs.map((s) => s.heap));
  return { early: min(samples.slice(0, third)), late: min(samples.slice(-third)) };
}

const root = mkdtempSync(join(tmpdir(), "aq-daemon-load-"));
const daemon = await startDaemon(join(root, "data"));
try {
  await waitReady(daemon.url);
  // Some data for stats to count.
  await autocannon({
    url: `${daemon.url}/api/v1/tasks`,
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ runPolicy: "once", payload: { warmup: true } }),
    connections: 10,
    duration: 3,
  });
  const read = await phase("GET /api/v1/stats", daemon.url, { url: `${daemon.url}/api/v1/stats` });
  const before = await stats(daemon.url);
  const write = await phase("POST /api/v1/tasks", daemon.url, {
    url: `${daemon.url}/api/v1/tasks`,
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ runPolicy: "once", payload: { n: 1 } }),
  });
  // Let the dispatch loop finish what was submitted.
  let after = await stats(daemon.url);
  for (let i = 0; i < 600 && after.runsByState.completed !== after.tasks; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await stats(daemon.url);
  }
  const submitted = after.tasks - before.tasks;

  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ${duration}s per route, ${connections} connections, daemon --concurrency 64 with a no-op handler, log level warn.`,
    "",
    "| route | requests/s (mean) | latency p50 | latency p99 | 2xx | non-2xx | errors / timeouts |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...[read, write].map(
      ({ name, result: r }) =>
        `| \`${name}\` | ${Math.round(r.requests.mean)} | ${r.latency.p50} ms | ${r.latency.p99} ms | ${r["2xx"]} | ${r.non2xx} | ${r.errors} / ${r.timeouts} |`,
    ),
    "",
    "| phase | RSS start → end | heap used, lowest of first third → lowest of last third |",
    "|---|---|---|",
    ...[read, write].map(({ name, samples }) => {
      const first = samples[0]!;
      const last = samples.at(-1)!;
      const trend = heapTrend(samples);
      return `| \`${name}\` | ${mb(first.rss)} → ${mb(last.rss)} | ${mb(trend.early)} → ${mb(trend.late)} |`;
    }),
    "",
    `Submitted during the POST phase: ${submitted} tasks; all ${after.tasks} runs completed: ${after.runsByState.completed === after.tasks ? "yes" : `no (${after.runsByState.completed})`}.`,
    `Heap growth over the POST phase: ${mb(heapTrend(write.samples).late - heapTrend(write.samples).early)} ≈ ${Math.round((heapTrend(write.samples).late - heapTrend(write.samples).early) / Math.max(1, submitted))} bytes per task retained in the in-memory projection.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  const code = await daemon.stop();
  process.stderr.write(`daemon exited ${String(code)}\n`);
  rmSync(root, { recursive: true, force: true });
}
