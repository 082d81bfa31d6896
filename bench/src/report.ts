/**
 * Turns the runs of one bench invocation into the result files: a JSON
 * document with every run's raw metrics, the medians across repetitions and
 * the ActionQueue/peer ratios, and a Markdown rendering of the same (tables
 * per workload, machine, durability settings, skipped systems, heap).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Sizes } from "./config.js";
import type { MachineInfo } from "./machine.js";
import { median, round } from "./stats.js";
import type { SystemName } from "./systems/types.js";
import type { Metrics, WorkloadName } from "./workloads/types.js";

/** One child run (or crash sequence) of one system on one workload. */
export interface RunRecord {
  readonly system: SystemName;
  readonly workload: WorkloadName;
  readonly repetition: number;
  readonly ok: boolean;
  readonly metrics?: Metrics;
  readonly error?: string;
  readonly wallSeconds: number;
}

export interface SystemStatus {
  readonly name: SystemName;
  readonly label: string;
  readonly status: "ran" | "skipped";
  readonly reason?: string;
  readonly durability?: string;
}

interface MetricSpec {
  readonly key: string;
  readonly label: string;
  /** Which direction is better; `ratio` adds an ActionQueue/peer column. */
  readonly better: "higher" | "lower" | "none";
  readonly ratio: boolean;
}

const THROUGHPUT_METRICS: readonly MetricSpec[] = [
  { key: "jobsPerSec", label: "jobs/s end to end", better: "higher", ratio: true },
  { key: "enqueuePerSec", label: "enqueue jobs/s", better: "higher", ratio: false },
  { key: "processPerSec", label: "process jobs/s", better: "higher", ratio: false },
  { key: "cpuUsPerJob", label: "client CPU µs/job", better: "lower", ratio: false },
];

/** The numbers shown per workload, headline first. */
export const WORKLOAD_METRICS: Readonly<Record<WorkloadName, readonly MetricSpec[]>> = {
  throughput: THROUGHPUT_METRICS,
  // The same round, measured after one unmeasured round of the same size in the same process.
  "throughput-warm": [...THROUGHPUT_METRICS, { key: "warmUpJobsPerSec", label: "warm-up round jobs/s", better: "none", ratio: false }],
  latency: [
    { key: "p50Ms", label: "p50 ms", better: "lower", ratio: true },
    { key: "p99Ms", label: "p99 ms", better: "lower", ratio: true },
    { key: "maxMs", label: "max ms", better: "lower", ratio: false },
    { key: "achievedRate", label: "achieved jobs/s", better: "none", ratio: false },
  ],
  retries: [
    { key: "jobsPerSec", label: "jobs/s (3 executions each)", better: "higher", ratio: true },
    { key: "executions", label: "executions", better: "none", ratio: false },
  ],
  crash: [
    { key: "lost", label: "completions lost", better: "lower", ratio: false },
    { key: "duplicated", label: "duplicate executions", better: "lower", ratio: false },
    { key: "killedAtExecutions", label: "executions before kill", better: "none", ratio: false },
    { key: "completedAtKill", label: "completed before kill", better: "none", ratio: false },
    { key: "recoveryMs", label: "resume-to-done ms", better: "lower", ratio: true },
  ],
};

export interface Report {
  readonly title: string;
  readonly mode: "full" | "quick";
  readonly machine: MachineInfo;
  readonly sizes: Sizes;
  readonly systems: readonly SystemStatus[];
  readonly order: readonly (readonly SystemName[])[];
  readonly runs: readonly RunRecord[];
  /** workload → system → metric → median over the successful repetitions. */
  readonly medians: Record<string, Record<string, Record<string, number>>>;
  /** workload → peer → metric → ActionQueue median / peer median. */
  readonly ratios: Record<string, Record<string, Record<string, number | null>>>;
  readonly heap?: Metrics;
  readonly heapError?: string;
  readonly notes: readonly string[];
}

export function summarise(runs: readonly RunRecord[]): Pick<Report, "medians" | "ratios"> {
  const medians: Report["medians"] = {};
  const ratios: Report["ratios"] = {};
  for (const workload of Object.keys(WORKLOAD_METRICS) as WorkloadName[]) {
    const specs = WORKLOAD_METRICS[workload];
    const bySystem: Record<string, Record<string, number>> = {};
    const systems = [...new Set(runs.filter((r) => r.workload === workload).map((r) => r.system))];
    for (const system of systems) {
      const ok = runs.filter((r) => r.workload === workload && r.system === system && r.ok && r.metrics);
      if (ok.length === 0) continue;
      const m: Record<string, number> = { repetitions: ok.length };
      for (const spec of specs) {
        const values = ok.map((r) => r.metrics?.[spec.key]).filter((v): v is number => typeof v === "number");
        if (values.length > 0) m[spec.key] = round(median(values), 2);
      }
      bySystem[system] = m;
    }
    medians[workload] = bySystem;
    const aq = bySystem.actionqueue;
    if (aq === undefined) continue;
    const r: Record<string, Record<string, number | null>> = {};
    for (const [system, m] of Object.entries(bySystem)) {
      if (system === "actionqueue") continue;
      const row: Record<string, number | null> = {};
      for (const spec of specs.filter((s) => s.ratio)) {
        const a = aq[spec.key];
        const p = m[spec.key];
        row[spec.key] = a === undefined || p === undefined || p === 0 ? null : Number((a / p).toPrecision(3));
      }
      r[system] = row;
    }
    ratios[workload] = r;
  }
  return { medians, ratios };
}

function fmt(v: number | undefined | null): string {
  if (v === undefined || v === null || Number.isNaN(v)) return "–";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (v !== 0 && Math.abs(v) < 0.1) return v.toPrecision(2);
  return String(round(v, 2));
}

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const label = (name: string): string => report.systems.find((s) => s.name === name)?.label ?? name;
  const lines: string[] = [];
  lines.push(`# ${report.title}`, "");
  lines.push(`- Mode: **${report.mode}**, ${report.sizes.repetitions} repetition(s), medians shown; system order alternated per repetition: ${report.order.map((o) => o.join(" → ")).join("; ")}`);
  lines.push(`- Machine: ${m.nproc} × ${m.cpuModel}, ${m.memoryGB} GB RAM, ${m.os}; Node ${m.node}; ${m.date}; commit ${m.commit}`);
  lines.push(`- Load average (1/5/15 min): ${m.loadAverageStart.join(" / ")} at start, ${(m.loadAverageEnd ?? []).join(" / ")} at end`);
  lines.push(
    `- Sizes: throughput ${report.sizes.throughputJobs} jobs; latency ${report.sizes.latencyRate} jobs/s for ${report.sizes.latencySeconds} s; retries ${report.sizes.retryJobs} jobs; crash ${report.sizes.crashJobs} jobs; concurrency ${report.sizes.concurrency}`,
  );
  lines.push("- Ratios are ActionQueue ÷ peer (medians): above 1 is better for ActionQueue on jobs/s, below 1 is better for ActionQueue on ms.");
  lines.push("", "| System | Status | Durability setting |", "| --- | --- | --- |");
  for (const s of report.systems) lines.push(`| ${s.label} | ${s.status === "ran" ? "ran" : `skipped: ${s.reason ?? ""}`} | ${s.durability ?? "–"} |`);
  for (const workload of Object.keys(WORKLOAD_METRICS) as WorkloadName[]) {
    const bySystem = report.medians[workload];
    const failed = report.runs.filter((r) => r.workload === workload && !r.ok);
    if ((bySystem === undefined || Object.keys(bySystem).length === 0) && failed.length === 0) continue;
    const specs = WORKLOAD_METRICS[workload];
    const ratioSpecs = specs.filter((s) => s.ratio);
    lines.push("", `## ${workload}`, "");
    lines.push(`| System | ${specs.map((s) => s.label).join(" | ")} | ${ratioSpecs.map((s) => `AQ/peer ${s.label}`).join(" | ")} |`);
    lines.push(`| --- | ${specs.map(() => "---:").join(" | ")} | ${ratioSpecs.map(() => "---:").join(" | ")} |`);
    for (const [system, row] of Object.entries(bySystem ?? {})) {
      const ratio = report.ratios[workload]?.[system];
      lines.push(
        `| ${label(system)} | ${specs.map((s) => fmt(row[s.key])).join(" | ")} | ${ratioSpecs.map((s) => (system === "actionqueue" ? "1" : fmt(ratio?.[s.key]))).join(" | ")} |`,
      );
    }
    for (const f of failed) lines.push("", `- **${label(f.system)} repetition ${f.repetition} broke**: ${(f.error ?? "").split("\n")[0]}`);
  }
  if (report.heap !== undefined || report.heapError !== undefined) {
    lines.push("", "## heap per retained terminal run (ActionQueue)", "");
    if (report.heapError !== undefined) lines.push(`- broke: ${report.heapError.split("\n")[0]}`);
    if (report.heap !== undefined) {
      lines.push("| Runs retained | bytes per run | heap used (MB) | submit+run seconds |", "| ---: | ---: | ---: | ---: |");
      for (const n of report.sizes.heapRuns) {
        const b = report.heap[`bytesPerRun_${n}`];
        if (b === undefined) continue;
        lines.push(`| ${n.toLocaleString("en-US")} | ${fmt(b as number)} | ${fmt(report.heap[`heapMB_${n}`] as number)} | ${fmt(report.heap[`seconds_${n}`] as number)} |`);
      }
    }
  }
  if (report.notes.length > 0) {
    lines.push("", "## Notes", "");
    for (const n of report.notes) lines.push(`- ${n}`);
  }
  lines.push("");
  return lines.join("\n");
}

/** Writes `<base>.json` and `<base>.md` under `dir`; returns their paths. */
export function writeReport(report: Report, dir: string, base: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${base}.json`);
  const md = path.join(dir, `${base}.md`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(report));
  return { json, md };
}
