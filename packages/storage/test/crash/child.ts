/**
 * Crash-loop child: opens the data directory, then keeps many concurrent
 * submitters busy (task + runs batches, runs driven to Running with a lease
 * and an attempt, half of them by one runsPromote and one runDispatch, some
 * finished and purged)
 * and prints `ack <sequence>` for every command whose `immediate` promise
 * resolved. The parent SIGKILLs it at a random moment.
 */
import { AttemptOutcome, ManualClock, createIdFactory, RunInstance, createTaskSpec } from "@actionqueue/core";
import type { MutationCommand, UnsequencedCommand } from "@actionqueue/core";
import { openStorage } from "../../src/index.js";
import type { WalSyncMode } from "../../src/index.js";

const [dataDir = "", seedText = "1", syncMode = "writeThrough"] = process.argv.slice(2);
const clock = new ManualClock({ startMs: Date.now(), seed: Number(seedText) });
const ids = createIdFactory(clock);
const store = await openStorage({ dataDir, clock, walSyncMode: syncMode as WalSyncMode });
const authority = store.authority;
process.stdout.write(`open ${authority.latestSequence()} ${store.recoveryReport.reconciledRuns.length}\n`);

function number(commands: readonly UnsequencedCommand[]): MutationCommand[] {
  const first = authority.latestSequence() + 1;
  return commands.map((c, i) => ({ ...c, sequence: first + i }));
}

let started = 0;

async function submitter(): Promise<void> {
  for (;;) {
    const now = clock.now();
    const taskId = ids.taskId();
    const runId = ids.runId();
    const taskSpec = createTaskSpec({ id: taskId, runPolicy: { kind: "once" }, constraints: { maxAttempts: 2 } });
    const run = RunInstance.newScheduled({ id: runId, taskId, scheduledAt: now, createdAt: now });
    // Half the tasks as one taskSubmit record (as the runtime submits), half as a taskCreate + runCreate batch.
    const batch = number(
      started % 2 === 0
        ? [{ kind: "taskSubmit", timestamp: now, taskSpec, runs: [run] }]
        : [
            { kind: "taskCreate", timestamp: now, taskSpec },
            { kind: "runCreate", timestamp: now, run },
          ],
    );
    const outcomes = await authority.submitBatch(batch, "immediate");
    process.stdout.write(outcomes.map((o) => `ack ${o.sequence}\n`).join(""));
    const attemptId = ids.attemptId();
    // Every other run is dispatched with the one-record runDispatch, the rest command by command;
    // half of the former also finish, with the one-record runFinish.
    const turn = started++;
    const steps: UnsequencedCommand[] =
      turn % 2 === 0
        ? [
            // Promoted by the one-record runsPromote and dispatched by runDispatch or runsDispatch, as the dispatch loop does.
            { kind: "runsPromote", timestamp: now, runIds: [runId] },
            turn % 8 < 4
              ? { kind: "runDispatch", timestamp: now, runId, owner: "child", expiresAt: now + 30_000, attemptId }
              : { kind: "runsDispatch", timestamp: now, owner: "child", expiresAt: now + 30_000, runIds: [runId], attemptIds: [attemptId] },
            ...(turn % 4 === 0 ? [{ kind: "runFinish", timestamp: now, runId, attemptId, outcome: AttemptOutcome.success(), newState: "completed" } as const] : []),
            // Half of the finished tasks are purged again: their removal must replay too.
            ...(turn % 8 === 0 ? [{ kind: "taskPurge", timestamp: now, taskId } as const] : []),
          ]
        : [
            { kind: "runStateTransition", timestamp: now, runId, previousState: "scheduled", newState: "ready" },
            { kind: "leaseAcquire", timestamp: now, runId, owner: "child", expiresAt: now + 30_000, attemptId },
            { kind: "runStateTransition", timestamp: now, runId, previousState: "ready", newState: "leased" },
            { kind: "runStateTransition", timestamp: now, runId, previousState: "leased", newState: "running" },
            { kind: "attemptStart", timestamp: now, runId, attemptId },
          ];
    for (const step of steps) {
      const [command] = number([step]);
      const outcome = await authority.submitCommand(command!, "immediate");
      process.stdout.write(`ack ${outcome.sequence}\n`);
    }
  }
}

await Promise.all(Array.from({ length: 32 }, () => submitter()));
