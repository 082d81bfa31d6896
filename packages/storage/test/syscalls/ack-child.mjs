/**
 * Child of ack-after-sync.test.ts, run under strace: opens storage on a data
 * directory and submits commands with `immediate` durability in overlapping
 * bursts, writing `ack <sequence>` to stdout the moment each promise
 * resolves, and `snapshot done` once a snapshot write resolves. Each line is
 * one synchronous write(2) to fd 1 on the main thread, so the trace shows
 * exactly when the acknowledgement happened relative to the WAL's writes and
 * syncs. Plain ESM against the built package (dist): no loader in the trace.
 *
 * Usage: node ack-child.mjs <dataDir> <writeThrough|fdatasync> <segmentBytes> <burst sizes>
 * where the burst sizes are submitters per burst, comma-separated (at least
 * three bursts; each submitter makes three commands; a snapshot is written
 * during the third burst).
 */
import { writeSync } from "node:fs";
import { ManualClock, RunInstance, createIdFactory, createTaskSpec } from "@actionqueue/core";
import { openStorage } from "@actionqueue/storage";

const [dataDir, syncMode, segmentBytesText, burstsText = ""] = process.argv.slice(2);
const BURSTS = burstsText.split(",").map(Number);
if (dataDir === undefined || (syncMode !== "writeThrough" && syncMode !== "fdatasync") || BURSTS.length < 3 || !BURSTS.every((n) => n >= 1)) {
  throw new Error("usage: ack-child.mjs <dataDir> <writeThrough|fdatasync> <segmentBytes> <submitters,per,burst (at least 3)>");
}
/** The burst during which a snapshot is written, alongside the appends. */
const SNAPSHOT_BURST = 2;

const clock = new ManualClock({ startMs: Date.now(), seed: 7 });
const ids = createIdFactory(clock);
// One snapshot only: a second one would compact segments away, and the test
// reads every acknowledged record's offset from the final WAL files.
const store = await openStorage({ dataDir, clock, walSyncMode: syncMode, segmentBytes: Number(segmentBytesText) });
const { authority } = store;

/** Submits one command with the next sequence and prints its acknowledgement once the promise resolves. */
async function submit(command) {
  const outcome = await authority.submitCommand({ ...command, sequence: authority.latestSequence() + 1 }, "immediate");
  // Synchronous: the write(2) happens here, on the main thread, before anything else runs.
  writeSync(1, `ack ${outcome.sequence}\n`);
}

/** A task, a run of it, and the run made ready: three records, each awaited before the next. */
async function submitter() {
  const now = clock.now();
  const taskId = ids.taskId();
  const runId = ids.runId();
  await submit({ kind: "taskCreate", timestamp: now, taskSpec: createTaskSpec({ id: taskId, runPolicy: { kind: "once" }, payload: new Uint8Array(64) }) });
  await submit({ kind: "runCreate", timestamp: now, run: RunInstance.newScheduled({ id: runId, taskId, scheduledAt: now, createdAt: now }) });
  await submit({ kind: "runStateTransition", timestamp: now, runId, previousState: "scheduled", newState: "ready" });
}

/**
 * Starts a burst: every submitter's first command is appended in this turn
 * (one group commit; a large burst in write-through mode starts eager
 * cycles mid-turn, and what is appended while a cycle runs may be sealed
 * as the next one). `firstDone` settles when its first submitter is done.
 */
function burst(submitters) {
  let settle;
  const firstDone = new Promise((resolve) => (settle = resolve));
  const all = Promise.all(Array.from({ length: submitters }, () => submitter().then(settle)));
  return { firstDone, all };
}

const running = [];
let snapshot;
for (const [b, submitters] of BURSTS.entries()) {
  const current = burst(submitters);
  running.push(current.all);
  if (b === SNAPSHOT_BURST) snapshot = store.writeSnapshot().then(() => writeSync(1, "snapshot done\n"));
  // The next burst starts while most of this one is still in flight: their group commits overlap.
  await current.firstDone;
}
await Promise.all(running);
await snapshot;
await store.close();
