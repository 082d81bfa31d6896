/**
 * Recovery speed: a WAL of N events (a realistic mix: task + run creation and
 * each run's walk scheduled → ready → leased → running → attempt → finish →
 * completed, with a lease) replayed from scratch, then the same state from a
 * snapshot plus a short tail. Run: `npx tsx benchmark/replay.ts [events=1000000]`.
 */
import { AttemptOutcome, ManualClock, RunInstance, createIdFactory, createTaskSpec } from "@actionqueue/core";
import type { MutationCommand, UnsequencedCommand } from "@actionqueue/core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, loadStorage } from "./load-storage.js";

const { openStorage } = await loadStorage();

const target = Number(args[0] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "aq-bench-replay-"));
const clock = new ManualClock();
const ids = createIdFactory(clock);

const store = await openStorage({ dataDir: dir, clock });
const authority = store.authority;
let pending: UnsequencedCommand[] = [];
async function flush(): Promise<void> {
  const first = authority.latestSequence() + 1;
  await authority.submitBatch(pending.map((c, i) => ({ ...c, sequence: first + i })), "deferred");
  pending = [];
}
const now = clock.now();
let taskId = ids.taskId();
let runsInTask = 0;
let count = 0;
const buildStarted = performance.now();
while (count < target) {
  if (runsInTask === 0) {
    taskId = ids.taskId();
    pending.push({ kind: "taskCreate", timestamp: now, taskSpec: createTaskSpec({ id: taskId, runPolicy: { kind: "once" } }) });
    count++;
  }
  runsInTask = (runsInTask + 1) % 10;
  const runId = ids.runId();
  const attemptId = ids.attemptId();
  pending.push(
    { kind: "runCreate", timestamp: now, run: RunInstance.newScheduled({ id: runId, taskId, scheduledAt: now, createdAt: now }) },
    { kind: "runStateTransition", timestamp: now, runId, previousState: "scheduled", newState: "ready" },
    { kind: "leaseAcquire", timestamp: now, runId, owner: "worker-1", expiresAt: now + 30_000, attemptId },
    { kind: "runStateTransition", timestamp: now, runId, previousState: "ready", newState: "leased" },
    { kind: "runStateTransition", timestamp: now, runId, previousState: "leased", newState: "running" },
    { kind: "attemptStart", timestamp: now, runId, attemptId },
    { kind: "attemptFinish", timestamp: now, runId, attemptId, outcome: AttemptOutcome.success() },
    { kind: "runStateTransition", timestamp: now, runId, previousState: "running", newState: "completed" },
  );
  count += 8;
  if (pending.length >= 8_000) await flush();
}
await flush();
const runs = store.projection.runCount;
await store.close();
console.log(`built ${authority.latestSequence().toLocaleString("en-US")} events (${runs.toLocaleString("en-US")} runs) in ${((performance.now() - buildStarted) / 1000).toFixed(1)} s`);

let started = performance.now();
const replayed = await openStorage({ dataDir: dir, clock });
let seconds = (performance.now() - started) / 1000;
const events = replayed.recoveryReport.walRecordsReplayed;
console.log(`WAL-only recovery: ${events.toLocaleString("en-US")} events in ${seconds.toFixed(2)} s = ${Math.round(events / seconds).toLocaleString("en-US")} events/s`);
const snapshot = await replayed.writeSnapshot();
// A tail after the snapshot.
const tailTask = ids.taskId();
const tail: MutationCommand[] = [{ kind: "taskCreate", sequence: replayed.authority.latestSequence() + 1, timestamp: now, taskSpec: createTaskSpec({ id: tailTask, runPolicy: { kind: "once" } }) }];
for (let i = 0; i < 10_000; i++) {
  tail.push({ kind: "runCreate", sequence: tail[0]!.sequence + tail.length, timestamp: now, run: RunInstance.newScheduled({ id: ids.runId(), taskId: tailTask, scheduledAt: now, createdAt: now }) });
}
await replayed.authority.submitBatch(tail, "immediate");
await replayed.close();
console.log(`snapshot of ${runs.toLocaleString("en-US")} runs: ${(snapshot.bytes / 1024 / 1024).toFixed(1)} MiB`);

started = performance.now();
const fromSnapshot = await openStorage({ dataDir: dir, clock });
seconds = (performance.now() - started) / 1000;
console.log(
  `snapshot + tail recovery: ${fromSnapshot.projection.runCount.toLocaleString("en-US")} runs, ${fromSnapshot.recoveryReport.walRecordsReplayed.toLocaleString("en-US")} tail events in ${seconds.toFixed(2)} s`,
);
await fromSnapshot.close();
if (process.argv.includes("--keep")) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
