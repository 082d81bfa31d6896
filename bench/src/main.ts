/**
 * `pnpm bench [--quick]`: runs every workload on ActionQueue and on each
 * reachable peer, one child process per measurement, rotating the system
 * order between repetitions, then measures ActionQueue's heap per retained
 * run and writes `results/latest.{json,md}` (`results/quick.{json,md}` with
 * `--quick`). Exits non-zero only when a benchmark broke (an exception, a
 * wrong count), never because a number is slow.
 *
 * Flags: --quick, --reps=N, --systems=a,b, --workloads=a,b, --no-heap,
 * --heap-only (measure the heap and merge it into an existing report),
 * --keep-redis-config, --throughput-jobs=N, --out=DIR, --name=BASE.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Sizes } from "./config.js";
import { FULL, QUICK, scratchRoot } from "./config.js";
import type { MachineInfo } from "./machine.js";
import { loadAverage, machineInfo } from "./machine.js";
import type { RedisDurabilityState } from "./redis-durability.js";
import { applyRedisDurability } from "./redis-durability.js";
import type { Report, RunRecord, SystemStatus } from "./report.js";
import { WORKLOAD_METRICS, summarise, writeReport } from "./report.js";
import { forkChild } from "./spawn.js";
import { round } from "./stats.js";
import { loadDriver } from "./systems/index.js";
import type { SystemName } from "./systems/types.js";
import { SYSTEM_NAMES } from "./systems/types.js";
import { orchestrateCrash } from "./workloads/crash.js";
import type { Metrics, WorkloadName } from "./workloads/types.js";
import { WORKLOAD_NAMES } from "./workloads/types.js";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A system's label as its status recorded it. */
function labelOf(statuses: readonly SystemStatus[], name: SystemName): string {
  return statuses.find((s) => s.name === name)?.label ?? name;
}

function list<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (value === undefined) return [...all];
  const picked = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} ${JSON.stringify(p)}; expected one of ${all.join(", ")}`);
  return picked as T[];
}

/** The system order of repetition `rep`: rotated by one each time, so every system goes first in turn. */
function rotation(systems: readonly SystemName[], rep: number): SystemName[] {
  const k = rep % Math.max(1, systems.length);
  return [...systems.slice(k), ...systems.slice(0, k)];
}

function headline(workload: WorkloadName, m: Metrics): string {
  const pick = (key: string): string => {
    const spec = WORKLOAD_METRICS[workload].find((s) => s.key === key);
    return `${String(m[key])} ${spec?.label ?? key}`;
  };
  switch (workload) {
    case "throughput":
    case "throughput-warm":
      return pick("jobsPerSec");
    case "latency":
      return `${pick("p50Ms")}, ${pick("p99Ms")}`;
    case "retries":
      return pick("jobsPerSec");
    case "crash":
      return `${pick("lost")}, ${pick("duplicated")}, ${pick("recoveryMs")}`;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      reps: { type: "string" },
      systems: { type: "string" },
      workloads: { type: "string" },
      "no-heap": { type: "boolean", default: false },
      "heap-only": { type: "boolean", default: false },
      "keep-redis-config": { type: "boolean", default: false },
      "throughput-jobs": { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const base: Sizes = quick ? QUICK : FULL;
  const reps = values.reps === undefined ? base.repetitions : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${String(values.reps)}`);
  const throughputJobs = values["throughput-jobs"] === undefined ? base.throughputJobs : Number(values["throughput-jobs"]);
  if (!Number.isInteger(throughputJobs) || throughputJobs < 1) {
    throw new Error(`--throughput-jobs must be a positive integer, got ${String(values["throughput-jobs"])}`);
  }
  const sizes: Sizes = { ...base, repetitions: reps, throughputJobs };
  const heapOnly = values["heap-only"] === true;
  const wanted = heapOnly ? (["actionqueue"] as SystemName[]) : list(values.systems, SYSTEM_NAMES, "system");
  const workloads = heapOnly ? [] : list(values.workloads, WORKLOAD_NAMES, "workload");
  const outDir = values.out ?? path.join(BENCH_DIR, "results");
  const outName = values.name ?? (quick ? "quick" : "latest");
  // Per-run scratch space and pg-boss schema (inherited by the children), so two bench runs
  // on one machine never delete each other's data directories or drop each other's schema.
  process.env.BENCH_TMP = path.join(scratchRoot(), `run-${process.pid}`);
  process.env.BENCH_PGBOSS_SCHEMA ??= `pgboss_bench_${process.pid}`;
  const machine = machineInfo();
  const started = performance.now();
  console.log(`bench (${quick ? "quick" : "full"}): ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAverageStart.join(" ")}`);

  const statuses: SystemStatus[] = [];
  const runnable: SystemName[] = [];
  for (const name of wanted) {
    let label: string = name;
    try {
      const driver = await loadDriver(name);
      label = driver.label;
      const reason = await driver.probe();
      if (reason === undefined) {
        runnable.push(name);
        statuses.push({ name, label, status: "ran" });
      } else {
        console.log(`  skipped ${label}: ${reason}`);
        statuses.push({ name, label, status: "skipped", reason });
      }
    } catch (error) {
      const reason = `could not load its driver: ${error instanceof Error ? error.message : String(error)}`;
      console.log(`  skipped ${label}: ${reason}`);
      statuses.push({ name, label, status: "skipped", reason });
    }
  }

  const notes: string[] = [];
  let redis: RedisDurabilityState | undefined;
  if (runnable.includes("bullmq")) {
    redis = await applyRedisDurability(values["keep-redis-config"] === true);
    notes.push(`Redis for BullMQ: ${redis.setting}.`);
  }
  const restore = async (): Promise<void> => {
    const r = redis;
    redis = undefined;
    await r?.restore();
  };
  const onSignal = (): void => {
    void restore().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const runs: RunRecord[] = [];
  const order: SystemName[][] = [];
  let heap: Metrics | undefined;
  let heapError: string | undefined;
  try {
    for (const status of statuses) {
      if (status.status !== "ran") continue;
      const driver = await loadDriver(status.name);
      (status as { durability?: string }).durability = status.name === "bullmq" && redis ? `Redis ${redis.setting}` : await driver.durability();
    }
    const childTimeout = quick ? 180_000 : 600_000;
    for (let rep = 0; rep < reps; rep++) {
      const systems = rotation(runnable, rep);
      order.push(systems);
      for (const workload of workloads) {
        for (const system of systems) {
          const unsupported = (await loadDriver(system)).unsupported?.[workload];
          if (unsupported !== undefined) {
            const note = `${labelOf(statuses, system)}: ${workload} not run — ${unsupported}.`;
            if (!notes.includes(note)) {
              notes.push(note);
              console.log(`  ${workload.padEnd(15)} ${system.padEnd(11)} not run: ${unsupported}`);
            }
            continue;
          }
          const namespace = `aqb-${workload}-${system}-${rep}-${process.pid}`;
          const task = { system, sizes, namespace };
          const t0 = performance.now();
          let record: RunRecord;
          try {
            const metrics =
              workload === "crash"
                ? await orchestrateCrash(namespace, { system, sizes, timeoutMs: quick ? 30_000 : 60_000 })
                : await forkChild({ ...task, role: workload }, [], childTimeout).result;
            record = { system, workload, repetition: rep + 1, ok: true, metrics, wallSeconds: round((performance.now() - t0) / 1000, 1) };
            console.log(`  [${rep + 1}/${reps}] ${workload.padEnd(15)} ${system.padEnd(11)} ${headline(workload, metrics)}`);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            record = { system, workload, repetition: rep + 1, ok: false, error: message, wallSeconds: round((performance.now() - t0) / 1000, 1) };
            console.log(`  [${rep + 1}/${reps}] ${workload.padEnd(15)} ${system.padEnd(11)} BROKE: ${message.split("\n").slice(0, 3).join(" | ")}`);
          }
          runs.push(record);
        }
      }
    }
    if (values["no-heap"] !== true && runnable.includes("actionqueue")) {
      try {
        heap = await forkChild({ role: "heap", system: "actionqueue", sizes, namespace: `aqb-heap-${process.pid}`, heapRuns: sizes.heapRuns }, ["--expose-gc", "--max-old-space-size=6144"], 1_200_000).result;
        console.log(`  heap: ${sizes.heapRuns.map((n) => `${String(heap?.[`bytesPerRun_${n}`])} B/run at ${n}`).join(", ")}`);
      } catch (error) {
        heapError = error instanceof Error ? error.message : String(error);
        console.log(`  heap BROKE: ${heapError.split("\n")[0]}`);
      }
    }
  } finally {
    await restore();
    if (runnable.includes("pgboss")) {
      const { dropPgBossSchema } = await import("./systems/pgboss.js");
      await dropPgBossSchema().catch((e: unknown) => console.log(`  could not drop the pg-boss schema: ${String(e)}`));
    }
    rmSync(scratchRoot(), { recursive: true, force: true });
  }

  machine.loadAverageEnd = loadAverage();
  if (heapOnly) return mergeHeap(path.join(outDir, `${outName}.json`), machine, heap, heapError);
  const report: Report = {
    title: `ActionQueue benchmark (${quick ? "quick" : "full"})`,
    mode: quick ? "quick" : "full",
    machine,
    sizes,
    systems: statuses,
    order,
    runs,
    ...summarise(runs),
    ...(heap === undefined ? {} : { heap }),
    ...(heapError === undefined ? {} : { heapError }),
    notes,
  };
  const files = writeReport(report, outDir, outName);
  const broken = runs.filter((r) => !r.ok).length + (heapError === undefined ? 0 : 1);
  console.log(`bench: ${runs.length} runs, ${broken} broken, ${round((performance.now() - started) / 1000, 1)} s; wrote ${path.relative(process.cwd(), files.md)}`);
  return broken === 0 ? 0 : 1;
}

/** `--heap-only`: puts a separately measured heap into an existing report and re-renders it. */
function mergeHeap(file: string, machine: MachineInfo, heap: Metrics | undefined, heapError: string | undefined): number {
  const old = JSON.parse(readFileSync(file, "utf8")) as Report;
  const { heap: _oldHeap, heapError: _oldError, ...rest } = old;
  const note = `Heap measured separately (--heap-only) on ${machine.date}, commit ${machine.commit}, load ${machine.loadAverageStart.join(" / ")} at start and ${(machine.loadAverageEnd ?? []).join(" / ")} at end.`;
  const report: Report = {
    ...rest,
    ...summarise(old.runs),
    ...(heap === undefined ? {} : { heap }),
    ...(heapError === undefined ? {} : { heapError }),
    notes: [...old.notes.filter((n) => !n.startsWith("Heap measured separately")), note],
  };
  const files = writeReport(report, path.dirname(file), path.basename(file, ".json"));
  console.log(`bench: heap merged into ${path.relative(process.cwd(), files.md)}`);
  return heapError === undefined ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
