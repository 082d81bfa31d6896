/**
 * Append throughput with `immediate` durability and many concurrent
 * submitters: raw WAL appends, then commands through the authority.
 * Run: `npx tsx benchmark/append.ts [events=400000] [submitters=2000]`.
 */
import { ManualClock, RunInstance, createIdFactory, createTaskSpec } from "@actionqueue/core";
import type { MutationCommand } from "@actionqueue/core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, loadStorage } from "./load-storage.js";

const { openStorage, openWalWriter } = await loadStorage();

const total = Number(args[0] ?? 400_000);
const submitters = Number(args[1] ?? 2_000);
// CPU time of the last timed section: on a busy shared machine wall time overstates the cost.
let lastCpuSeconds = 0;

async function rawWal(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "aq-bench-wal-"));
  const { writer } = await openWalWriter(join(dir, "wal"));
  const payload = Buffer.alloc(60, 7);
  let next = 1;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next <= total) await writer.append(next++, payload, "immediate");
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  lastCpuSeconds = (cpu.user + cpu.system) / 1e6;
  await writer.close();
  rmSync(dir, { recursive: true, force: true });
  return (next - 1) / seconds;
}

async function viaAuthority(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "aq-bench-auth-"));
  const clock = new ManualClock();
  const ids = createIdFactory(clock);
  const store = await openStorage({ dataDir: dir, clock });
  const taskId = ids.taskId();
  const authority = store.authority;
  await authority.submitCommand({ kind: "taskCreate", sequence: 1, timestamp: clock.now(), taskSpec: createTaskSpec({ id: taskId, runPolicy: { kind: "once" } }) }, "immediate");
  // Commands are built before the clock starts: this measures the authority
  // (validate, encode, append, apply, group commit), not RunInstance factories.
  const now0 = clock.now();
  const runs = Array.from({ length: total }, () => RunInstance.newScheduled({ id: ids.runId(), taskId, scheduledAt: now0, createdAt: now0 }));
  let created = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (created < total) {
        const run = runs[created++]!;
        const command: MutationCommand = { kind: "runCreate", sequence: authority.latestSequence() + 1, timestamp: now0, run };
        await authority.submitCommand(command, "immediate");
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  lastCpuSeconds = (cpu.user + cpu.system) / 1e6;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return created / seconds;
}

async function transitionsViaAuthority(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "aq-bench-tr-"));
  const clock = new ManualClock();
  const ids = createIdFactory(clock);
  const store = await openStorage({ dataDir: dir, clock });
  const authority = store.authority;
  const taskId = ids.taskId();
  const now = clock.now();
  const runIds = Array.from({ length: total }, () => ids.runId());
  const setup: MutationCommand[] = [{ kind: "taskCreate", sequence: 1, timestamp: now, taskSpec: createTaskSpec({ id: taskId, runPolicy: { kind: "once" } }) }];
  for (const id of runIds) setup.push({ kind: "runCreate", sequence: setup.length + 1, timestamp: now, run: RunInstance.newScheduled({ id, taskId, scheduledAt: now, createdAt: now }) });
  for (let i = 0; i < setup.length; i += 10_000) await authority.submitBatch(setup.slice(i, i + 10_000), "deferred");
  let next = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next < total) {
        const runId = runIds[next++]!;
        await authority.submitCommand({ kind: "runStateTransition", sequence: authority.latestSequence() + 1, timestamp: now, runId, previousState: "scheduled", newState: "ready" }, "immediate");
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  lastCpuSeconds = (cpu.user + cpu.system) / 1e6;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

const report = (name: string, rate: number): void =>
  console.log(`${name} (immediate, ${submitters} submitters): ${Math.round(rate).toLocaleString("en-US")} events/s wall, ${lastCpuSeconds.toFixed(2)} s CPU`);
report("raw WAL appends", await rawWal());
report("authority runCreate", await viaAuthority());
report("authority runStateTransition", await transitionsViaAuthority());
