/** Test helpers: a command builder over a manual clock and one id factory. */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock, RunInstance, createIdFactory, createTaskSpec } from "@actionqueue/core";
import type {
  AttemptId,
  DurabilityPolicy,
  MutationAuthority,
 
  MutationOutcome,
  RunId,
  RunState,
  TaskConstraintsInput,
  TaskId,
  UnsequencedCommand,
} from "@actionqueue/core";

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "aq-storage-test-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A SHA-256 of every file in `dir` (names and bytes, in name order): equal
 * before and after an operation exactly when it left the files alone.
 */
export function dirDigest(dir: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort()) {
    hash.update(name).update("\0").update(readFileSync(join(dir, name))).update("\0");
  }
  return hash.digest("hex");
}

/** Builds commands with fresh ids and the clock's time. */
export class Commands {
  readonly clock: ManualClock;
  readonly ids: ReturnType<typeof createIdFactory>;

  constructor(clock = new ManualClock()) {
    this.clock = clock;
    this.ids = createIdFactory(clock);
  }

  taskCreate(constraints: TaskConstraintsInput = {}, id: TaskId = this.ids.taskId()): UnsequencedCommand & { kind: "taskCreate" } {
    return { kind: "taskCreate", timestamp: this.clock.now(), taskSpec: createTaskSpec({ id, runPolicy: { kind: "once" }, constraints, payload: new Uint8Array([1, 2]) }) };
  }

  runCreate(taskId: TaskId, id: RunId = this.ids.runId()): UnsequencedCommand & { kind: "runCreate" } {
    const now = this.clock.now();
    return { kind: "runCreate", timestamp: now, run: RunInstance.newScheduled({ id, taskId, scheduledAt: now, createdAt: now }) };
  }

  /** A task and `runs` fresh runs of it in one command (the runtime's submission). */
  taskSubmit(runs: number, constraints: TaskConstraintsInput = {}): UnsequencedCommand & { kind: "taskSubmit" } {
    const { taskSpec, timestamp } = this.taskCreate(constraints);
    const list = Array.from({ length: runs }, (_, k) =>
      RunInstance.newScheduled({ id: this.ids.runId(), taskId: taskSpec.id, scheduledAt: timestamp + k, createdAt: timestamp, priority: k }),
    );
    return { kind: "taskSubmit", timestamp, taskSpec, runs: list };
  }

  transition(runId: RunId, previousState: RunState, newState: RunState): UnsequencedCommand {
    return { kind: "runStateTransition", timestamp: this.clock.now(), runId, previousState, newState };
  }

  attemptStart(runId: RunId, attemptId: AttemptId): UnsequencedCommand {
    return { kind: "attemptStart", timestamp: this.clock.now(), runId, attemptId };
  }
}

/** Submits with the next sequence. */
export function submit(authority: MutationAuthority, command: UnsequencedCommand, durability: DurabilityPolicy = "immediate"): Promise<MutationOutcome> {
  return authority.submitCommand({ ...command, sequence: authority.latestSequence() + 1 }, durability);
}

/** Submits several as one batch with consecutive sequences. */
export function submitBatch(authority: MutationAuthority, commands: readonly UnsequencedCommand[], durability: DurabilityPolicy = "immediate"): Promise<readonly MutationOutcome[]> {
  const first = authority.latestSequence() + 1;
  return authority.submitBatch(
    commands.map((c, i) => ({ ...c, sequence: first + i })),
    durability,
  );
}

/** Drives a run from scheduled to running with a started attempt (and a lease). */
export async function startRun(authority: MutationAuthority, c: Commands, runId: RunId): Promise<AttemptId> {
  const attemptId = c.ids.attemptId();
  await submit(authority, c.transition(runId, "scheduled", "ready"));
  await submit(authority, { kind: "leaseAcquire", timestamp: c.clock.now(), runId, owner: "worker-1", expiresAt: c.clock.now() + 30_000, attemptId });
  await submit(authority, c.transition(runId, "ready", "leased"));
  await submit(authority, c.transition(runId, "leased", "running"));
  await submit(authority, c.attemptStart(runId, attemptId));
  return attemptId;
}

/** What `promise` rejects with, or undefined if it resolves (a refusal the test then inspects). */
export function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}
