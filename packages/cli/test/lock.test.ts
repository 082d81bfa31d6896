/**
 * One writer per data directory: while a `run` holds the lock, read-only
 * commands still work and leave every byte as it was, a second `run` (or a
 * writing control command) fails with the lock error naming the holder, and
 * SIGINT/SIGTERM stop the holder gracefully.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { QueueInspector } from "@actionqueue/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTempDirs, cli, cliJson, hashTree, jsonError, startCli, submitOnce, tempDir, waitFor } from "./helpers.js";

afterAll(() => cleanupTempDirs());

describe.concurrent("while a run holds the writer lock", () => {
  it("reads work and change nothing; a second writer fails; SIGTERM stops it with a summary", async () => {
    const dataDir = join(tempDir(), "data");
    const [taskId] = await submitOnce(dataDir, 2);
    const holder = startCli(["run", "--handler", "handlers.mjs", "--json", "--data-dir", dataDir]);
    const lockFile = join(dataDir, "LOCK");
    await waitFor(() => existsSync(lockFile));
    // Wait until the holder has finished the submitted work and sits idle.
    await waitFor(() => statsCompleted(dataDir) === 2);
    const { json: runs } = await cliJson(["runs", "list", "--data-dir", dataDir]);
    const runId = runs.runs[0].runId as string;

    const before = hashTree(dataDir);
    const reads = await Promise.all([
      cli(["stats", "--json", "--data-dir", dataDir]),
      cli(["tasks", "list", "--data-dir", dataDir]),
      cli(["tasks", "get", taskId!, "--json", "--data-dir", dataDir]),
      cli(["runs", "list", "--json", "--data-dir", dataDir]),
      cli(["runs", "get", runId, "--data-dir", dataDir]),
      cli(["runs", "explain", runId, "--json", "--data-dir", dataDir]),
      cli(["wal", "verify", "--json", "--data-dir", dataDir]),
    ]);
    for (const read of reads) {
      expect(read.code, read.stderr).toBe(0);
      expect(read.stderr).toBe("");
    }
    expect(JSON.parse(reads[0].stdout)).toMatchObject({ tasks: 2, runsByState: { completed: 2 } });
    expect(hashTree(dataDir)).toBe(before);

    const second = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--json", "--data-dir", dataDir]);
    expect(holder.exitCode, "an idle run keeps running until a signal").toBeNull();
    expect(second.code, second.stdout).toBe(4);
    const error = jsonError(second);
    expect(error.code).toBe("LOCK_HELD");
    expect(error.message).toContain(String(holder.pid));

    const writer = await cli(["pause", "--data-dir", dataDir]);
    expect(writer.code).toBe(4);
    expect(writer.stderr).toMatch(new RegExp(`^error: .*${holder.pid}`));
    const repair = await cli(["wal", "repair", "--data-dir", dataDir]);
    expect(repair.code).toBe(4);
    expect(hashTree(dataDir)).toBe(before);

    holder.kill("SIGTERM");
    const done = await holder.result;
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ stoppedBy: "signal", runsCompleted: 2, runsFailed: 0 });
    expect(existsSync(lockFile)).toBe(false);
  });

  it("SIGINT drains: the attempt in flight finishes before the process exits", async () => {
    const dataDir = join(tempDir(), "data");
    await submitOnce(dataDir, 1);
    const holder = startCli(["run", "--handler", "slow.mjs", "--data-dir", dataDir]);
    await waitFor(() => statsState(dataDir, "running") === 1);
    holder.kill("SIGINT");
    const done = await holder.result;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/stopped by\s+signal/);
    const { json } = await cliJson(["runs", "list", "--data-dir", dataDir]);
    expect(json.runs[0].state).toBe("completed");
    expect(json.runs[0].attemptCount).toBe(1);
  });
});

describe("a second signal", () => {
  it("cuts the drain short with exit 4; the next run recovers the abandoned attempt", async () => {
    const dataDir = join(tempDir(), "data");
    await submitOnce(dataDir, 1);
    const holder = startCli(["run", "--handler", "stubborn.mjs", "--data-dir", dataDir]);
    await waitFor(() => statsState(dataDir, "running") === 1);
    holder.kill("SIGINT");
    // Signals of one kind can merge while pending: wait until the first was handled.
    await waitFor(() => holder.output().stderr.includes("stopping:"));
    holder.kill("SIGINT");
    const done = await holder.result;
    expect(done.code).toBe(4);
    expect(done.stderr).toMatch(/^error: interrupted twice/m);

    const next = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--json", "--data-dir", dataDir]);
    expect(next.code, next.stderr).toBe(0);
    const { json } = await cliJson(["runs", "list", "--data-dir", dataDir]);
    // maxAttempts 1: the abandoned attempt was the only one allowed.
    expect(json.runs[0]).toMatchObject({ state: "failed", attemptCount: 1 });
  });
});

// Synchronous peeks at durable state through the library (no extra process per poll).
function statsState(dataDir: string, state: "running" | "completed"): number {
  try {
    return QueueInspector.open(dataDir).stats().runsByState[state];
  } catch {
    return -1;
  }
}

function statsCompleted(dataDir: string): number {
  return statsState(dataDir, "completed");
}
