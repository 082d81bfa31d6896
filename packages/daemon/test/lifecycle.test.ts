// The daemon as a process: start-up refusals, the writer lock, SIGTERM with
// a graceful drain (exit 0), a second signal cutting the drain short (exit 4),
// and SIGTERM under load followed by a restart in which no run that was
// Completed is executed again.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ActionQueue } from "@actionqueue/runtime";
import { AUTH, MAIN, TOKEN, api, cleanup, eventually, spawnDaemon, startReady, stop, tempDir } from "./helpers.js";

afterEach(() => cleanup());

/** Spawns a daemon that must exit without ever printing its listening line. */
function startFails(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnDaemon(args, env).then(
    () => {
      throw new Error("daemon started but should have refused");
    },
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe("start-up", () => {
  it("refuses a non-loopback bind without a token (exit 3)", async () => {
    const { code, stderr } = await startFails(["--data-dir", join(tempDir(), "d"), "--bind", "0.0.0.0:0"]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/non-loopback/);
    expect(stderr).toMatch(/--token-file/);
  });

  it("refuses a bad bind address, a short token and an unreadable token file (exit 3)", async () => {
    const dir = tempDir();
    expect((await startFails(["--data-dir", join(dir, "d"), "--bind", "nowhere"])).code).toBe(3);
    const short = await startFails(["--data-dir", join(dir, "d"), "--bind", "127.0.0.1:0"], { ACTIONQUEUE_TOKEN: "short" });
    expect(short.code).toBe(3);
    expect(short.stderr).toMatch(/at least 16/);
    const missing = await startFails(["--data-dir", join(dir, "d"), "--bind", "127.0.0.1:0", "--token-file", join(dir, "absent")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/--token-file/);
  });

  it("refuses a handler module that does not load (exit 3) before listening", async () => {
    const dir = tempDir();
    const missing = await startFails(["--data-dir", join(dir, "d"), "--bind", "127.0.0.1:0", "--handler", join(dir, "absent.mjs")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/handler module/);
    // The operator's path, resolved, and why; never the runtime file that would have imported it.
    expect(missing.stderr).toContain(`${join(dir, "absent.mjs")} does not exist`);
    expect(missing.stderr).not.toMatch(/imported from|packages\/runtime/);
  });

  it("reads the token from --token-file; binds a non-loopback address with it", async () => {
    const dir = tempDir();
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    const daemon = await spawnDaemon(["--data-dir", join(dir, "d"), "--bind", "0.0.0.0:0", "--token-file", file, "--log-level", "silent"]);
    const url = daemon.url.replace("0.0.0.0", "127.0.0.1");
    await eventually(async () => ((await api(url, "/ready")).status === 200 ? true : undefined));
    expect((await api(url, "/api/v1/engine/pause", { method: "POST", headers: AUTH })).body).toEqual({ status: "paused" });
    expect((await stop(daemon)).code).toBe(0);
  });

  it("a second daemon on the same data directory prints no listening line and fails with LOCK_HELD (exit 4); the first keeps serving", async () => {
    const first = await startReady();
    const second = await startFails(["--data-dir", first.dataDir, "--bind", "127.0.0.1:0", "--log-level", "silent"]);
    expect(second.code).toBe(4);
    expect(second.stdout).toBe("");
    expect(second.stderr).toMatch(/LOCK_HELD/);
    expect((await api(first.url, "/ready")).status).toBe(200);
    expect((await stop(first)).code).toBe(0);
  });

  it("a data directory that is a regular file: no listening line, a non-zero exit naming it", async () => {
    const file = join(tempDir(), "not-a-directory");
    writeFileSync(file, "x");
    const refused = await startFails(["--data-dir", file, "--bind", "127.0.0.1:0", "--log-level", "silent"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("not-a-directory");
  });

  it("refuses --retain without --handler (exit 3) naming both flags, before listening", async () => {
    const refused = await startFails(["--data-dir", join(tempDir(), "d"), "--bind", "127.0.0.1:0", "--retain", "7d"]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe("");
    expect(JSON.parse(refused.stderr.trim())).toMatchObject({ error: { code: "INVALID_CONFIG", message: expect.stringMatching(/--retain.*--handler/) } });
  });

  it("--help and -h print usage, --version the version, each with exit 0", () => {
    for (const flag of ["--help", "-h"]) {
      const help = spawnSync(process.execPath, [MAIN, flag], { encoding: "utf8" });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: actionqueue-daemon/);
      for (const option of ["--data-dir", "--bind", "--handler", "--token-file", "--retain", "--log-level"]) expect(help.stdout).toContain(option);
      expect(help.stderr).toBe("");
    }
    const version = spawnSync(process.execPath, [MAIN, "--version"], { encoding: "utf8" });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("--retain purges finished tasks on its own, and the purge is durable", async () => {
    const daemon = await startReady({ extra: ["--retain", "1s"] });
    const submitted = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { runPolicy: "once" } });
    const taskId = submitted.body.taskId as string;
    // Completed at once, then purged by a check about a second later (checks run every second at this setting).
    await eventually(async () => ((await api(daemon.url, `/api/v1/tasks/${taskId}`)).status === 404 ? true : undefined), 10_000);
    expect((await api(daemon.url, "/api/v1/stats")).body).toMatchObject({ tasks: 0, runs: 0 });
    expect((await stop(daemon)).code).toBe(0);
    const inspector = await ActionQueue.inspect(daemon.dataDir);
    expect(inspector.getTask(taskId)).toBeUndefined();
  });

  it("logs are JSON lines on stderr; stdout carries only the listening line", async () => {
    const daemon = await startReady({ extra: ["--log-level", "info"] });
    const submitted = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { runPolicy: "once" } });
    const runId = (submitted.body.runIds as string[])[0]!;
    await eventually(async () => ((await api(daemon.url, `/api/v1/runs/${runId}`)).body.state === "completed" ? true : undefined));
    expect((await stop(daemon)).code).toBe(0);
    expect(daemon.stdout().trim().split("\n")).toEqual([JSON.stringify({ listening: daemon.url })]);
    const lines = daemon
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const completed = lines.find((line) => line.msg === "run completed");
    expect(completed).toMatchObject({ runId });
    expect(typeof completed?.attemptId).toBe("string");
    for (const line of lines.filter((l) => "runId" in l)) expect(line).toHaveProperty("attemptId");
  });
});

describe("shutdown", () => {
  it("SIGTERM drains an in-flight attempt (it completes) and exits 0", async () => {
    const daemon = await startReady();
    const submitted = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { name: "slow", runPolicy: "once", payload: { ms: 600 } } });
    const runId = (submitted.body.runIds as string[])[0]!;
    await eventually(async () => ((await api(daemon.url, `/api/v1/runs/${runId}`)).body.state === "running" ? true : undefined));
    const { code } = await stop(daemon);
    expect(code).toBe(0);
    const inspector = await ActionQueue.inspect(daemon.dataDir);
    expect(inspector.getRun(runId)?.state).toBe("completed");
  });

  it("a second signal during the drain stops at once: exit 4 INTERRUPTED, and the next start recovers the abandoned attempt", async () => {
    const daemon = await startReady({ extra: ["--grace", "30s", "--log-level", "info"] });
    const submitted = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { name: "slow", runPolicy: "once", payload: { ms: 20_000 } } });
    const runId = (submitted.body.runIds as string[])[0]!;
    await eventually(async () => ((await api(daemon.url, `/api/v1/runs/${runId}`)).body.state === "running" ? true : undefined));
    daemon.child.kill("SIGTERM");
    // The drain waits for the 20 s attempt; the second signal must not.
    await eventually(async () => (daemon.stderr().includes("shutting down") ? true : undefined));
    daemon.child.kill("SIGINT");
    const { code } = await daemon.exited;
    expect(code).toBe(4);
    const error = daemon
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith('{"error"'))
      .map((line) => (JSON.parse(line) as { error: { code: string; message: string } }).error);
    expect(error).toEqual([{ code: "INTERRUPTED", message: expect.stringMatching(/abandoned.*recovered.*next start/) }]);
    expect(daemon.stdout().trim().split("\n")).toEqual([JSON.stringify({ listening: daemon.url })]);
    // The attempt was abandoned in flight, not finished: the next open makes the run eligible again.
    const next = await ActionQueue.open({ dataDir: daemon.dataDir });
    try {
      expect(next.recoveryReport.reconciledRuns).toEqual([expect.objectContaining({ runId, from: "running" })]);
    } finally {
      await next.close();
    }
  });

  it("SIGTERM under load, restart: every run completes and no Completed run is executed again", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const log1 = join(dir, "exec-1.log");
    const log2 = join(dir, "exec-2.log");
    const first = await startReady({ dataDir, extra: ["--concurrency", "8", "--grace", "200ms"], env: { AQ_EXEC_LOG: log1 } });
    const runIds: string[] = [];
    // About 3 s of handler time at concurrency 8, so the stop lands with work left even when a loaded
    // machine is slow to answer the stats polls below (with about 1 s of work, everything had finished).
    const submissions = Array.from({ length: 200 }, (_, i) =>
      api(first.url, "/api/v1/tasks", {
        method: "POST",
        headers: AUTH,
        body: { name: "slow", runPolicy: "once", payload: { ms: 50 + (i % 7) * 25 }, constraints: { maxAttempts: 5 } },
      }),
    );
    for (const res of await Promise.all(submissions)) {
      expect(res.status).toBe(201);
      runIds.push(...(res.body.runIds as string[]));
    }
    // Let some finish, then stop while others are in flight.
    await eventually(async () => ((await api(first.url, "/api/v1/stats")).body.runsByState.completed >= 20 ? true : undefined));
    expect((await stop(first)).code).toBe(0);

    const inspector = await ActionQueue.inspect(dataDir);
    const completedBefore = new Set(runIds.filter((id) => inspector.getRun(id)?.state === "completed"));
    expect(completedBefore.size).toBeGreaterThanOrEqual(20);
    expect(completedBefore.size).toBeLessThan(runIds.length);

    const second = await startReady({ dataDir, extra: ["--concurrency", "16"], env: { AQ_EXEC_LOG: log2 } });
    await eventually(async () => {
      const stats = (await api(second.url, "/api/v1/stats")).body;
      return stats.runsByState.completed === runIds.length ? true : undefined;
    }, 30_000);
    expect((await stop(second)).code).toBe(0);

    const executedAgain = existsSync(log2)
      ? readFileSync(log2, "utf8")
          .trim()
          .split("\n")
          .map((line) => line.split(" ")[0]!)
      : [];
    expect(executedAgain.filter((id) => completedBefore.has(id))).toEqual([]);
    // Each run succeeded exactly once across both lives.
    const final = await ActionQueue.inspect(dataDir);
    for (const id of runIds) {
      const run = final.getRun(id)!;
      expect(run.state).toBe("completed");
      expect(run.attempts.filter((a) => a.result === "success")).toHaveLength(1);
    }
  });
});
