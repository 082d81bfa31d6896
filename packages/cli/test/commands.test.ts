/**
 * Happy paths of every command against the real binary: submit, run, the
 * read-only views, control commands and snapshot, in JSON and text.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/program.js";
import { cleanupTempDirs, cli, cliJson, hashTree, tempDir } from "./helpers.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const FIXED_TASK_ID = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

afterAll(() => cleanupTempDirs());

describe.concurrent("submit", () => {
  it("creates the data directory and prints { taskId, runIds, runPolicy, latestSequence }", async () => {
    const dataDir = join(tempDir(), "fresh", "data");
    const { json, run } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once"]);
    expect(run.stderr).toBe("");
    expect(json).toEqual({ taskId: expect.stringMatching(ULID), runIds: [expect.stringMatching(ULID)], runPolicy: "once", latestSequence: expect.any(Number), existing: false });
    expect(json.latestSequence).toBeGreaterThan(0);
    expect(hashTree(dataDir)).not.toBe("<missing>");

    const repeat = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:3:60s"]);
    expect(repeat.json.runIds).toHaveLength(3);
    expect(repeat.json.runPolicy).toBe("repeat:3:1m");
    expect(repeat.json.latestSequence).toBeGreaterThan(json.latestSequence);

    const bare = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:2:90"]);
    expect(bare.json.runPolicy).toBe("repeat:2:90s");

    const cron = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "cron:*/5 * * * *"]);
    expect(cron.json.runPolicy).toBe("cron:*/5 * * * *");
    expect(cron.json.runIds.length).toBeGreaterThan(0);
  });

  it("takes every flag, files included, and is idempotent with --task-id", async () => {
    const work = tempDir();
    const dataDir = join(work, "data");
    writeFileSync(join(work, "payload.bin"), Buffer.from([0, 1, 2, 250]));
    writeFileSync(join(work, "constraints.json"), JSON.stringify({ maxAttempts: 3, timeoutMs: 5000, concurrencyKey: "k1", safetyLevel: "idempotent" }));
    const args = [
      "submit",
      "--data-dir", dataDir,
      "--run-policy", "once",
      "--name", "text",
      "--task-id", FIXED_TASK_ID,
      "--payload", "payload.bin",
      "--content-type", "application/octet-stream",
      "--constraints", "@constraints.json",
      "--metadata", '{"tags":["a","b"],"priority":7,"description":"all flags"}',
    ];
    const first = await cliJson(args, { cwd: work });
    expect(first.json.taskId).toBe(FIXED_TASK_ID);
    expect(first.json.existing).toBe(false);

    const before = hashTree(dataDir);
    const again = await cliJson(args, { cwd: work });
    expect(again.json).toMatchObject({ taskId: FIXED_TASK_ID, runIds: first.json.runIds, existing: true });

    const { json: task } = await cliJson(["tasks", "get", FIXED_TASK_ID.toLowerCase(), "--data-dir", dataDir]);
    expect(task).toMatchObject({
      taskId: FIXED_TASK_ID,
      name: "text",
      contentType: "application/octet-stream",
      payload: Buffer.from([0, 1, 2, 250]).toString("base64"),
      constraints: { maxAttempts: 3, timeoutMs: 5000, concurrencyKey: "k1", safetyLevel: "idempotent" },
      metadata: { tags: ["a", "b"], priority: 7, description: "all flags" },
      runIds: first.json.runIds,
    });
    expect(before).not.toBe("<missing>");

    const text = await cli(["tasks", "get", FIXED_TASK_ID, "--data-dir", dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("all flags");
    expect(text.stdout).toContain("4 bytes");
  });

  it("--payload-json stores JSON with its content type", async () => {
    const dataDir = join(tempDir(), "data");
    const { json } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--payload-json", '{ "to": "a@b.c" }']);
    const { json: task } = await cliJson(["tasks", "get", json.taskId, "--data-dir", dataDir]);
    expect(task.contentType).toBe("application/json");
    expect(Buffer.from(task.payload, "base64").toString("utf8")).toBe('{"to":"a@b.c"}');
  });

  it("prints readable text without --json", async () => {
    const dataDir = join(tempDir(), "data");
    const run = await cli(["submit", "--data-dir", dataDir, "--run-policy", "repeat:2:5m"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^task\s+[0-9A-Z]{26}$/m);
    expect(run.stdout).toMatch(/^run policy\s+repeat:2:5m$/m);
    expect(run.stdout.match(/^ {2}run [0-9A-Z]{26}$/gm)).toHaveLength(2);
    expect(run.stdout).not.toContain("more");
  });

  it("lists at most 10 run ids as text; --json lists them all", async () => {
    const dataDir = join(tempDir(), "data");
    const run = await cli(["submit", "--data-dir", dataDir, "--run-policy", "repeat:25:1s"]);
    expect(run.code).toBe(0);
    expect(run.stdout.match(/^ {2}run [0-9A-Z]{26}$/gm)).toHaveLength(10);
    expect(run.stdout).toMatch(/^ {2}… and 15 more \(use --json for all\)$/m);
    expect(run.stdout).toMatch(/^runs\s+25$/m);
    const { json } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:25:1s"]);
    expect(json.runIds).toHaveLength(25);
  });
});

describe.sequential("run --until-idle and the read-only views", () => {
  let dataDir: string;
  let plainTask: string;
  let textTask: string;
  let doomedTask: string;

  beforeAll(async () => {
    dataDir = join(tempDir(), "data");
    plainTask = (await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--payload-json", "[1,2,3]"])).json.taskId;
    textTask = (await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:3:100ms", "--name", "text"])).json.taskId;
    doomedTask = (await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--name", "doomed", "--constraints", '{"maxAttempts":3}'])).json.taskId;
  });

  it("stats before running: every run waiting", async () => {
    const { json } = await cliJson(["stats", "--data-dir", dataDir]);
    expect(Object.keys(json).sort()).toEqual(["attemptsByResult", "latestSequence", "paused", "runs", "runsByState", "tasks"]);
    expect(json.tasks).toBe(3);
    expect(json.runs).toBe(5);
    expect(json.runsByState.completed).toBe(0);
  });

  it("run --until-idle completes what submit created and prints a summary", async () => {
    const { json, run } = await cliJson(["run", "--handler", "handlers.mjs", "--until-idle", "--concurrency", "4", "--data-dir", dataDir]);
    expect(run.stderr).toBe("");
    expect(json).toMatchObject({ stoppedBy: "idle", runsCompleted: 4, runsFailed: 1, attemptsFinished: 5, attemptsFailed: 1, inFlight: 0 });
    expect(json.elapsedMs).toEqual(expect.any(Number));
    expect(json.runsPerSecond).toEqual(expect.any(Number));
    expect(json.stats.runsByState).toMatchObject({ completed: 4, failed: 1, ready: 0, scheduled: 0 });

    const again = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--data-dir", dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/runs completed\s+0/);
    expect(again.stderr).toBe("");
  });

  it("stats, tasks and runs show the outcome, changing nothing on disk", async () => {
    const before = hashTree(dataDir);
    const [{ json: stats }, { json: tasks }, page1, { json: completed }, { json: ofText }, { json: limited }] = await Promise.all([
      cliJson(["stats", "--data-dir", dataDir]),
      cliJson(["tasks", "list", "--data-dir", dataDir]),
      cliJson(["tasks", "list", "--limit", "2", "--data-dir", dataDir]),
      cliJson(["runs", "list", "--state", "completed", "--data-dir", dataDir]),
      cliJson(["runs", "list", "--task", textTask, "--data-dir", dataDir]),
      cliJson(["runs", "list", "--limit", "1", "--state", "failed", "--data-dir", dataDir]),
    ]);
    expect(stats).toMatchObject({ tasks: 3, runs: 5, runsByState: { completed: 4, failed: 1 }, attemptsByResult: { success: 4 }, paused: false });

    expect(tasks.tasks.map((t: { taskId: string }) => t.taskId)).toEqual([plainTask, textTask, doomedTask]);
    expect(tasks.nextCursor).toBeUndefined();

    expect(page1.json.tasks).toHaveLength(2);
    expect(page1.json.nextCursor).toEqual(expect.any(String));
    const page2 = await cliJson(["tasks", "list", "--limit", "2", "--cursor", page1.json.nextCursor, "--data-dir", dataDir]);
    expect(page2.json.tasks.map((t: { taskId: string }) => t.taskId)).toEqual([doomedTask]);

    expect(completed.runs).toHaveLength(4);
    expect(ofText.runs).toHaveLength(3);
    expect(limited.runs).toHaveLength(1);
    expect(limited.runs[0].taskId).toBe(doomedTask);

    const textRunId = ofText.runs[0].runId as string;
    const doomedRun = limited.runs[0].runId as string;
    const [{ json: run }, { json: explained }] = await Promise.all([
      cliJson(["runs", "get", textRunId, "--data-dir", dataDir]),
      cliJson(["runs", "explain", doomedRun, "--data-dir", dataDir]),
    ]);
    expect(run).toMatchObject({ runId: textRunId, taskId: textTask, state: "completed", attemptCount: 1 });
    expect(run.attempts[0]).toMatchObject({ attemptNumber: 1, result: "success", output: Buffer.from("hello").toString("base64") });
    expect(run.history[0]).toMatchObject({ from: null, to: "scheduled" });

    expect(explained).toMatchObject({ kind: "terminal", runId: doomedRun, state: "failed" });
    expect(explained.message).toEqual(expect.any(String));
    expect(hashTree(dataDir)).toBe(before);
  });

  it("prints tables and blocks as text", async () => {
    const [stats, tasks, runs, runGet, explain] = await Promise.all([
      cli(["stats", "--data-dir", dataDir]),
      cli(["tasks", "list", "--data-dir", dataDir]),
      cli(["runs", "list", "--state", "failed", "--data-dir", dataDir]),
      cli(["runs", "list", "--task", textTask, "--limit", "1", "--json", "--data-dir", dataDir]).then((r) =>
        cli(["runs", "get", (JSON.parse(r.stdout) as { runs: Array<{ runId: string }> }).runs[0]!.runId, "--data-dir", dataDir]),
      ),
      cli(["runs", "list", "--state", "failed", "--json", "--data-dir", dataDir]).then((r) =>
        cli(["runs", "explain", (JSON.parse(r.stdout) as { runs: Array<{ runId: string }> }).runs[0]!.runId, "--data-dir", dataDir]),
      ),
    ]);
    for (const r of [stats, tasks, runs, runGet, explain]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
    }
    expect(stats.stdout).toMatch(/^tasks\s+3$/m);
    expect(stats.stdout).toMatch(/^ {2}completed\s+4$/m);
    expect(tasks.stdout).toMatch(/^TASK\s+NAME\s+POLICY/m);
    expect(tasks.stdout).toContain("repeat:3:100ms");
    expect(runs.stdout).toContain("failed");
    expect(runGet.stdout).toMatch(/^state\s+completed$/m);
    expect(runGet.stdout).toContain("running -> completed");
    expect(explain.stdout).toContain("terminal");
  });
});

describe.concurrent("control commands", () => {
  it("cancel run, cancel task, pause, resume, snapshot", async () => {
    const dataDir = join(tempDir(), "data");
    const { json: submitted } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:3:1h"]);
    const [firstRun, secondRun] = submitted.runIds as string[];

    const canceled = await cliJson(["cancel", "run", firstRun!, "--data-dir", dataDir]);
    expect(canceled.json).toMatchObject({ runId: firstRun, status: "canceled", state: "canceled" });
    const twice = await cliJson(["cancel", "run", firstRun!, "--data-dir", dataDir]);
    expect(twice.json).toMatchObject({ runId: firstRun, status: "already_canceled" });

    const task = await cliJson(["cancel", "task", submitted.taskId, "--data-dir", dataDir]);
    expect(task.json).toEqual({ taskId: submitted.taskId, status: "canceled", canceledRuns: 2 });
    const { json: second } = await cliJson(["runs", "get", secondRun!, "--data-dir", dataDir]);
    expect(second.state).toBe("canceled");
    const taskAgain = await cliJson(["cancel", "task", submitted.taskId, "--data-dir", dataDir]);
    expect(taskAgain.json).toMatchObject({ status: "already_canceled", canceledRuns: 0 });

    expect((await cliJson(["pause", "--data-dir", dataDir])).json).toEqual({ paused: true, changed: true, status: "paused" });
    expect((await cliJson(["pause", "--data-dir", dataDir])).json).toMatchObject({ paused: true, changed: false });
    expect((await cliJson(["stats", "--data-dir", dataDir])).json.paused).toBe(true);
    expect((await cliJson(["resume", "--data-dir", dataDir])).json).toEqual({ paused: false, changed: true, status: "resumed" });
    expect((await cliJson(["stats", "--data-dir", dataDir])).json.paused).toBe(false);

    const { json: stats } = await cliJson(["stats", "--data-dir", dataDir]);
    const { json: snap } = await cliJson(["snapshot", "--data-dir", dataDir]);
    expect(snap.sequence).toBeGreaterThanOrEqual(stats.latestSequence);
    expect(hashTree(join(dataDir, "snapshots"))).not.toBe("");

    const text = await cli(["pause", "--data-dir", dataDir]);
    expect(text.stdout).toBe("the queue is paused\n");
  });

  it("run --until-idle on a paused queue says so, with the runs that wait", async () => {
    const dataDir = join(tempDir(), "data");
    await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:2:1ms"]);
    await cliJson(["pause", "--data-dir", dataDir]);
    const run = await cli(["run", "--handler", "handlers.mjs", "--until-idle", "--data-dir", dataDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^stopped by\s+idle: the queue is paused and 2 runs wait \(`actionqueue resume` dispatches them\)$/m);
    expect(run.stdout).not.toContain("no work left");
  });

  it("purge removes finished tasks only, filtered by age and state", async () => {
    const dataDir = join(tempDir(), "data");
    const { json: done } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once"]);
    const { json: later } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "repeat:2:1h"]);
    await cliJson(["run", "--handler", "handlers.mjs", "--until-idle", "--data-dir", dataDir]);
    expect((await cliJson(["purge", "--older-than", "1h", "--data-dir", dataDir])).json).toEqual({ tasks: 0, runs: 0 });
    expect((await cliJson(["purge", "--states", "failed,canceled", "--data-dir", dataDir])).json).toEqual({ tasks: 0, runs: 0 });
    expect((await cliJson(["purge", "--states", "completed", "--limit", "5", "--data-dir", dataDir])).json).toEqual({ tasks: 1, runs: 1 });
    const { json: stats } = await cliJson(["stats", "--data-dir", dataDir]);
    expect(stats).toMatchObject({ tasks: 1, runs: 2 });
    expect((await cliJson(["tasks", "get", later.taskId, "--data-dir", dataDir])).json.taskId).toBe(later.taskId);
    const gone = await cli(["tasks", "get", done.taskId, "--data-dir", dataDir]);
    expect(gone.code).toBe(3); // NOT_FOUND: the id names nothing (any more)
    expect((await cli(["purge", "--data-dir", dataDir])).stdout).toMatch(/^tasks purged\s+0$/m);
  });

  it("run takes the dispatch gates a handler module exports as `gates`", async () => {
    const dataDir = join(tempDir(), "data");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once"])).json.runIds as string[])[0]!);
    await cliJson(["run", "--handler", "gated.mjs", "--until-idle", "--data-dir", dataDir]);
    const { json: stats } = await cliJson(["stats", "--data-dir", dataDir]);
    expect(stats.runsByState).toMatchObject({ completed: 1, ready: 2 });
    const { json: states } = await cliJson(["runs", "list", "--state", "ready", "--data-dir", dataDir]);
    expect((states.runs as unknown[]).length).toBe(2);
  });

  it("resume-run resumes a suspended run", async () => {
    const dataDir = join(tempDir(), "data");
    const { json: submitted } = await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--name", "hold"]);
    await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--name", "doomed"]);
    const { json: summary } = await cliJson(["run", "--handler", "handlers.mjs", "--until-idle", "--data-dir", dataDir]);
    // The suspension is counted as such, not as a failed attempt.
    expect(summary).toMatchObject({ attemptsFinished: 2, attemptsFailed: 1, attemptsTimedOut: 0, attemptsSuspended: 1 });
    const runId = submitted.runIds[0] as string;
    expect((await cliJson(["runs", "get", runId, "--data-dir", dataDir])).json.state).toBe("suspended");
    // Explained in the CLI's words: the command that resumes it, not the API method.
    const explained = await cli(["runs", "explain", runId, "--data-dir", dataDir]);
    expect(explained.stdout).toContain(`actionqueue resume-run ${runId}`);
    expect(explained.stdout).not.toContain("resumeRun");
    const { json } = await cliJson(["resume-run", runId, "--data-dir", dataDir]);
    expect(json).toMatchObject({ runId, status: "resumed", previousState: "suspended" });
    expect(json.state).not.toBe("suspended");
  });
});

describe("run summary", () => {
  it("counts a timed-out attempt as timed out, not as failed", async () => {
    const dataDir = join(tempDir(), "data");
    await cliJson(["submit", "--data-dir", dataDir, "--run-policy", "once", "--constraints", '{"timeoutMs":50,"maxAttempts":1}']);
    const { json } = await cliJson(["run", "--handler", "slow.mjs", "--until-idle", "--data-dir", dataDir]);
    expect(json).toMatchObject({ runsFailed: 1, attemptsFinished: 1, attemptsFailed: 0, attemptsTimedOut: 1, attemptsSuspended: 0 });
  });
});

describe.concurrent("help and version", () => {
  const paths = [
    [],
    ["submit"],
    ["run"],
    ["stats"],
    ["tasks"],
    ["tasks", "list"],
    ["tasks", "get"],
    ["runs"],
    ["runs", "list"],
    ["runs", "get"],
    ["runs", "explain"],
    ["cancel"],
    ["cancel", "task"],
    ["cancel", "run"],
    ["pause"],
    ["resume"],
    ["resume-run"],
    ["wal"],
    ["wal", "verify"],
    ["wal", "repair"],
    ["snapshot"],
    ["purge"],
  ];
  it("--help exits 0 on every command (in process) with usage on stdout", async () => {
    for (const path of paths) {
      let out = "";
      let err = "";
      const io = {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (err += text) },
        env: {},
        cwd: "/",
        homeDir: "/nonexistent",
        onSignal: () => () => undefined,
        exit: () => undefined,
      };
      expect(await main([...path, "--help"], io), path.join(" ")).toBe(0);
      expect(err).toBe("");
      expect(out).toMatch(new RegExp(`^Usage: actionqueue${path.length === 0 ? "" : ` ${path.join(" ")}`}`));
      expect(out).toContain("--json");
      expect(out).toContain("--data-dir");
    }
  });

  it("the binary prints help and the version with exit 0", async () => {
    const [help, submitHelp, walHelp, viaHelpCommand, version] = await Promise.all([
      cli(["--help"]),
      cli(["submit", "--help"]),
      cli(["wal", "repair", "--help"]),
      cli(["help", "runs"]),
      cli(["--version"]),
    ]);
    for (const run of [help, submitHelp, walHelp, viaHelpCommand, version]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
    }
    expect(help.stdout).toContain("Exit codes");
    expect(submitHelp.stdout).toContain("--run-policy <policy>");
    expect(submitHelp.stdout).toMatch(/requiredCapabilities,\s+backoff/);
    expect(walHelp.stdout).toContain("--truncate-partial");
    expect(viaHelpCommand.stdout).toMatch(/^Usage: actionqueue runs/);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("`pnpm actionqueue` works from the repository root", () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const result = spawnSync("pnpm", ["actionqueue", "--version"], { cwd: root, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
