import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock, createIdFactory } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { openStorage } from "@actionqueue/storage";
import { afterEach, describe, expect, it } from "vitest";
import { ActionQueue } from "./action-queue.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("recovery events", () => {
  it("reports a run left running by a dead process as lease:expired once listeners can hear it, then runs it again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "aq-recovery-events-"));
    dirs.push(dataDir);
    const clock = new ManualClock({ startMs: 1_700_000_000_000 });
    // Leave a run "running" in the WAL, as a process killed mid-attempt would.
    const first = await ActionQueue.open({ dataDir, clock, handler: () => new Promise<never>(() => undefined), backoff: { kind: "fixed", delayMs: 1 } });
    const { runIds } = await first.submit({ runPolicy: { kind: "once" }, constraints: { maxAttempts: 2 } });
    const runId = runIds[0]!;
    await first.close({ mode: "abort", graceMs: 0 });
    const storage = await openStorage({ dataDir, clock, reconcile: false });
    const ids = createIdFactory(clock);
    const attemptId = ids.attemptId();
    const a = storage.authority;
    const now = clock.now();
    const seq = a.latestSequence();
    const state = storage.projection.runState(runId);
    const lifecycle = [
      ...(state === "scheduled"
        ? [{ kind: "runStateTransition" as const, sequence: seq + 1, timestamp: now, runId, previousState: "scheduled" as const, newState: "ready" as const }]
        : []),
    ];
    const base = seq + lifecycle.length;
    await a.submitBatch(
      [
        ...lifecycle,
        { kind: "runStateTransition", sequence: base + 1, timestamp: now, runId, previousState: "ready", newState: "leased" },
        { kind: "leaseAcquire", sequence: base + 2, timestamp: now, runId, owner: "dead", expiresAt: now + 30_000, attemptId },
        { kind: "runStateTransition", sequence: base + 3, timestamp: now, runId, previousState: "leased", newState: "running" },
        { kind: "attemptStart", sequence: base + 4, timestamp: now, runId, attemptId },
      ],
      "immediate",
    );
    await storage.close();

    const seen: RunId[] = [];
    const aq = await ActionQueue.open({ dataDir, clock, handler: () => undefined, backoff: { kind: "fixed", delayMs: 1 } });
    aq.on("lease:expired", (e) => seen.push(e.runId));
    expect(aq.recoveryReport.reconciledRuns.map((r) => r.runId)).toEqual([runId]);
    aq.start();
    expect(seen).toEqual([runId]);
    clock.advance(10);
    await aq.runUntilIdle();
    const run = aq.getRun(runId)!;
    expect(run.state).toBe("completed");
    expect(run.attempts.map((x) => x.result)).toEqual(["failure", "success"]);
    await aq.close();
  });
});
