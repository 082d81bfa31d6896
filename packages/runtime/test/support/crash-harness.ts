/**
 * The crash loop shared by test/crash-recovery.test.ts and scripts/soak.ts:
 * a real child process (test/fixtures/crash-worker.mjs on the built package)
 * is SIGKILLed at random moments while it works, restarted, and finally run
 * to completion; then the WAL (read-only) and the execution log are checked
 * against the queue's promises.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ManualClock, createIdFactory, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { TaskId } from "@actionqueue/core";
import { ActionQueue } from "@actionqueue/runtime";
import type { RunView, SubmitInput } from "@actionqueue/runtime";

const WORKER = fileURLToPath(new URL("../fixtures/crash-worker.mjs", import.meta.url));

/** What one crash-loop campaign should do. */
export interface CrashLoopOptions {
  readonly dir: string;
  readonly kills: number;
  readonly onceTasks: number;
  readonly repeatTasks: number;
  readonly repeatCount: number;
  /** Random delay before each kill, after the child reported it opened the queue (ms). */
  readonly killAfterMs: readonly [number, number];
  readonly seed: number;
  readonly log?: (line: string) => void;
}

/** What the campaign observed. */
export interface CrashLoopResult {
  readonly killsDelivered: number;
  readonly reconciled: { runId: string; from: string; to: string }[];
  readonly truncations: number;
  /** Restarts that recovered from a snapshot (plus the WAL tail). */
  readonly fromSnapshot: number;
  readonly runs: RunView[];
  readonly plan: Plan;
  readonly executions: Map<string, string[]>;
  readonly violations: string[];
}

/** What the worker is told to do (written to plan.json). */
interface Plan {
  readonly tasks: (SubmitInput & { taskId: TaskId })[];
  /** Tasks the worker cancels right after (re)submitting. */
  readonly cancelTaskIds: TaskId[];
  readonly snapshotEvery: number;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** What a worker reported after opening the queue. */
interface Opened {
  reconciled: { runId: string; from: string; to: string }[];
  truncations: number;
  snapshot: number | null;
}

interface ChildRun {
  readonly opened: Promise<Opened | undefined>;
  /** Resolves when the first handler started (or the child exited). */
  readonly working: Promise<void>;
  /** Resolves when the child wrote an automatic snapshot (or exited). */
  readonly snapshotted: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startWorker(dataDir: string, planFile: string, logFile: string, mode: "work" | "final"): ChildRun {
  const child = spawn(process.execPath, [WORKER, dataDir, planFile, logFile, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let resolveOpened!: (v: Opened | undefined) => void;
  const opened = new Promise<Opened | undefined>((r) => {
    resolveOpened = r;
  });
  let resolveWorking!: () => void;
  const working = new Promise<void>((r) => {
    resolveWorking = r;
  });
  let resolveSnapshotted!: () => void;
  const snapshotted = new Promise<void>((r) => {
    resolveSnapshotted = r;
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const line of stdout.split("\n").slice(0, -1)) {
      const msg = JSON.parse(line) as Opened & { event: string };
      if (msg.event === "open") resolveOpened({ reconciled: msg.reconciled, truncations: msg.truncations, snapshot: msg.snapshot });
      if (msg.event === "working") resolveWorking();
      if (msg.event === "snapshot") resolveSnapshotted();
    }
    stdout = stdout.slice(stdout.lastIndexOf("\n") + 1);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on("exit", (code, signal) => {
      resolveOpened(undefined);
      resolveWorking();
      resolveSnapshotted();
      resolve({ code, signal, stderr });
    });
  });
  return { opened, working, snapshotted, exited, kill: () => child.kill("SIGKILL") };
}

/** Builds the plan: once tasks of four kinds and repeat tasks, with fixed ids. */
function buildPlan(o: CrashLoopOptions): Plan {
  const ids = createIdFactory(new ManualClock({ seed: o.seed }));
  const tasks: (SubmitInput & { taskId: TaskId })[] = [];
  const kinds = [
    { name: "ok", constraints: { maxAttempts: 1 } },
    { name: "flaky", constraints: { maxAttempts: 3 } },
    { name: "slow", constraints: { maxAttempts: 2 } },
    { name: "timing", constraints: { maxAttempts: 3, timeoutMs: 25 } },
  ];
  for (let i = 0; i < o.onceTasks; i += 1) {
    const k = kinds[i % kinds.length]!;
    const keyed = i % 10 === 0 ? { concurrencyKey: `key-${i % 3}` } : {};
    tasks.push({ taskId: ids.taskId(), name: k.name, runPolicy: oncePolicy(), constraints: { ...k.constraints, ...keyed }, payload: { i } });
  }
  for (let i = 0; i < o.repeatTasks; i += 1) {
    tasks.push({ taskId: ids.taskId(), name: i % 2 === 0 ? "ok" : "flaky", runPolicy: repeatPolicy(o.repeatCount, 40), constraints: { maxAttempts: 2 } });
  }
  // Every 25th task is canceled by the worker soon after it starts: some of its runs may be running.
  const cancelTaskIds = tasks.filter((_, i) => i % 25 === 24).map((t) => t.taskId);
  return { tasks, cancelTaskIds, snapshotEvery: 500 };
}

/** Runs the campaign and checks every promise; `violations` lists each breach found. */
export async function crashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const say = o.log ?? (() => undefined);
  const random = rng(o.seed);
  const dataDir = join(o.dir, "data");
  const planFile = join(o.dir, "plan.json");
  const logFile = join(o.dir, "executions.log");
  mkdirSync(o.dir, { recursive: true });
  const plan = buildPlan(o);
  writeFileSync(planFile, JSON.stringify(plan));
  const reconciled: { runId: string; from: string; to: string }[] = [];
  let truncations = 0;
  let fromSnapshot = 0;
  let killsDelivered = 0;
  const violations: string[] = [];

  for (let k = 0; k < o.kills; k += 1) {
    const child = startWorker(dataDir, planFile, logFile, "work");
    const opened = await child.opened;
    if (opened) {
      reconciled.push(...opened.reconciled);
      truncations += opened.truncations;
      if (opened.snapshot !== null) fromSnapshot += 1;
      // Mostly mid-work; one kill in five lands during start-up (recovery, submissions, cancellations).
      if (random() >= 0.2) await child.working;
      // While no restart has found a snapshot yet, every third round first waits (up to 20 s) for one, so later
      // restarts recover from one however slow the machine is (on a loaded machine the worker thread that builds
      // it can be slower than every random kill); the kill then lands in the work that follows it.
      if (fromSnapshot === 0 && k % 3 === 1) await Promise.race([child.snapshotted, new Promise((r) => setTimeout(r, 20_000))]);
      const [lo, hi] = o.killAfterMs;
      await new Promise((r) => setTimeout(r, lo + Math.floor(random() * (hi - lo))));
    }
    child.kill();
    const exit = await child.exited;
    if (exit.signal === "SIGKILL") killsDelivered += 1;
    else if (exit.code !== 0) violations.push(`worker ${k} exited ${exit.code}: ${exit.stderr.slice(0, 2000)}`);
    say(`kill ${k + 1}/${o.kills}: ${exit.signal ?? `exit ${exit.code}`}, reconciled ${opened?.reconciled.length ?? "?"} run(s)`);
  }

  const final = startWorker(dataDir, planFile, logFile, "final");
  const opened = await final.opened;
  if (opened) {
    reconciled.push(...opened.reconciled);
    truncations += opened.truncations;
  }
  const exit = await final.exited;
  if (exit.code !== 0) violations.push(`final worker exited ${exit.code ?? exit.signal}: ${exit.stderr.slice(0, 2000)}`);

  const inspector = await ActionQueue.inspect(dataDir);
  if (inspector.findings.length > 0) violations.push(`WAL findings after a clean close: ${JSON.stringify(inspector.findings)}`);
  const runs: RunView[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = inspector.listRuns({ limit: 10_000, ...(cursor === undefined ? {} : { cursor }) });
    runs.push(...page.runs);
    if (page.nextCursor === undefined) break;
    cursor = page.nextCursor;
  }

  // The execution log: runId -> attempt ids executed, in order.
  const executions = new Map<string, string[]>();
  const logText = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
  const seenAttempts = new Set<string>();
  for (const line of logText.split("\n")) {
    if (line === "") continue;
    const [runId, attemptId] = line.split(" ") as [string, string];
    if (seenAttempts.has(attemptId)) violations.push(`attempt ${attemptId} of run ${runId} executed twice`);
    seenAttempts.add(attemptId);
    const list = executions.get(runId) ?? [];
    list.push(attemptId);
    executions.set(runId, list);
  }

  const specByTask = new Map(plan.tasks.map((t) => [t.taskId as string, t]));
  const runsByTask = new Map<string, RunView[]>();
  for (const run of runs) {
    const spec = specByTask.get(run.taskId);
    if (!spec) {
      violations.push(`run ${run.runId} belongs to unknown task ${run.taskId}`);
      continue;
    }
    runsByTask.set(run.taskId, [...(runsByTask.get(run.taskId) ?? []), run]);
    if (!["completed", "failed", "canceled"].includes(run.state)) violations.push(`run ${run.runId} is ${run.state} after the final clean run`);
    if (run.state === "canceled" && !plan.cancelTaskIds.includes(run.taskId)) violations.push(`run ${run.runId} canceled though its task never was`);
    const max = spec.constraints?.maxAttempts ?? 1;
    if (run.attempts.length > max) violations.push(`run ${run.runId} has ${run.attempts.length} attempts > maxAttempts ${max}`);
    const walAttempts = run.attempts.map((a) => a.attemptId as string);
    const executed = executions.get(run.runId) ?? [];
    for (const attemptId of executed) {
      if (!walAttempts.includes(attemptId)) violations.push(`run ${run.runId} executed attempt ${attemptId} the WAL never started`);
    }
    const successAt = run.attempts.findIndex((a) => a.result === "success");
    if (run.state === "completed") {
      if (successAt !== run.attempts.length - 1) violations.push(`completed run ${run.runId} has attempts after its success`);
      const after = executed.filter((id) => walAttempts.indexOf(id) > successAt);
      if (after.length > 0) violations.push(`completed run ${run.runId} executed again after completion: ${after.join(", ")}`);
      if (!executed.includes(walAttempts[successAt]!)) violations.push(`run ${run.runId} completed by attempt ${walAttempts[successAt]} that never executed`);
    } else if (successAt >= 0) {
      violations.push(`run ${run.runId} is ${run.state} despite a successful attempt`);
    }
  }
  for (const task of plan.tasks) {
    const got = runsByTask.get(task.taskId)?.length ?? 0;
    const want = task.runPolicy.kind === "repeat" ? task.runPolicy.count : 1;
    if (got !== want) violations.push(`task ${task.taskId} (${task.runPolicy.kind}) has ${got} runs, expected ${want}`);
  }
  const finalStates = new Map(runs.map((r) => [r.runId as string, r.state]));
  for (const r of reconciled) {
    if (!["completed", "failed", "canceled"].includes(finalStates.get(r.runId) ?? "missing")) violations.push(`run ${r.runId} in flight at a kill did not finish`);
  }
  return { killsDelivered, reconciled, truncations, fromSnapshot, runs, plan, executions, violations };
}
