/**
 * Selection benchmark: promotion plus selection through the engine Scheduler
 * with 10k, 100k and 1M runs waiting. Reports µs per dispatched run for a fixed
 * number of dispatches (so growth with the backlog size is visible; it should
 * be logarithmic). Run: `node --import tsx packages/engine/benchmark/selection.ts`
 * from the repository root (after building core and executor-local).
 */
import { createIdFactory, ManualClock } from "@actionqueue/core";
import type { RunId, TaskId } from "@actionqueue/core";
import { Scheduler } from "@actionqueue/engine";
import type { SchedulerRun } from "@actionqueue/engine";

const SIZES = (process.env.SIZES ?? "10000,100000,1000000").split(",").map(Number);
const DISPATCH = Number(process.env.DISPATCH ?? 20_000);
const BATCH = 64;
const REPEAT = Number(process.env.REPEAT ?? 3);

interface Row {
  scenario: string;
  size: number;
  usPerRun: number;
}

function build(size: number, state: "scheduled" | "ready"): { s: Scheduler; now: number } {
  const clock = new ManualClock({ startMs: 1_000_000 });
  const ids = createIdFactory(clock);
  const tasks: { id: TaskId; constraints: { concurrencyKey?: string; concurrencyKeyHoldPolicy: "holdDuringRetry" } }[] = [];
  for (let i = 0; i < 64; i++) {
    tasks.push({
      id: ids.taskId(),
      constraints: i % 8 === 0 ? { concurrencyKey: `k${i}`, concurrencyKeyHoldPolicy: "holdDuringRetry" } : { concurrencyKeyHoldPolicy: "holdDuringRetry" },
    });
  }
  const s = Scheduler.rebuild(tasks, []);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 0x1_0000_0000;
  for (let i = 0; i < size; i++) {
    const scheduledAt = 1_000_000 + Math.floor(rnd() * 1_000_000);
    s.onRunChanged({
      id: ids.runId(),
      taskId: tasks[i % 64]!.id,
      state,
      attemptCount: 0,
      createdAt: 1_000_000,
      scheduledAt,
      effectivePriority: Math.floor(rnd() * 10),
      lastStateChangeAt: 1_000_000,
    });
  }
  return { s, now: 2_000_000 };
}

/** Dispatch `count` runs: promote due runs (if any), select in batches, mark them leased → running → completed. */
function dispatch(s: Scheduler, now: number, count: number, promote: boolean): number {
  const claims: SchedulerRun[] = [];
  const picked: SchedulerRun[] = [];
  const ids: RunId[] = [];
  let done = 0;
  const t0 = process.hrtime.bigint();
  while (done < count) {
    if (promote) {
      claims.length = 0;
      s.promoteDue(now, BATCH, claims);
      for (const c of claims) s.onTransition(c.id, "ready", now);
    }
    picked.length = 0;
    s.selectNext(BATCH, picked);
    if (picked.length === 0) break;
    ids.length = 0;
    for (const r of picked) ids.push(r.id);
    for (const id of ids) {
      s.onTransition(id, "leased", now);
      s.onTransition(id, "running", now, 1);
      s.onTransition(id, "completed", now);
    }
    done += ids.length;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return ns / 1_000 / Math.max(1, done);
}

const rows: Row[] = [];
for (const size of SIZES) {
  for (const scenario of ["scheduled", "ready"] as const) {
    const samples: number[] = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      const { s, now } = build(size, scenario);
      dispatch(s, now, 2_000, scenario === "scheduled"); // warm-up
      samples.push(dispatch(s, now, Math.min(DISPATCH, size - 2_000), scenario === "scheduled"));
    }
    const us = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
    rows.push({ scenario: scenario === "scheduled" ? "promote+select (scheduled backlog)" : "select (ready backlog)", size, usPerRun: us });
  }
}
console.log(`node ${process.version}, ${process.platform}/${process.arch}, dispatches per size: ${DISPATCH}, batch ${BATCH}, median of ${REPEAT}`);
for (const r of rows) console.log(`${r.scenario.padEnd(36)} ${String(r.size).padStart(8)} runs  ${r.usPerRun.toFixed(3)} µs/dispatched run`);
