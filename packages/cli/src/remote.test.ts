// `--url`: the read commands against a real daemon (started in-process on an
// ephemeral port of 127.0.0.1) print what they print for the directory, map
// the daemon's errors to the same exit codes, and exit 5 naming the URL when
// nothing answers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaemon } from "@actionqueue/daemon";
import type { RunningDaemon } from "@actionqueue/daemon";
import type { CliIo } from "./context.js";
import { main } from "./program.js";
import { parseDaemonUrl } from "./remote.js";

let dir: string;
let daemon: RunningDaemon;
let taskId: string;
let runId: string;

async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: dir,
    homeDir: dir,
    onSignal: () => () => undefined,
    exit: () => undefined,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "aq-cli-remote-"));
  daemon = await startDaemon({ dataDir: join(dir, "data"), bind: "127.0.0.1:0", allowUnauthenticatedControl: true, logLevel: "silent" });
  const res = await fetch(`${daemon.url}/api/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ runPolicy: "once", payload: { hello: 1 } }),
  });
  const body = (await res.json()) as { taskId: string; runIds: string[] };
  taskId = body.taskId;
  runId = body.runIds[0]!;
});

afterAll(async () => {
  await daemon.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("--url", () => {
  it("answers like the data directory (daemon without a handler: nothing dispatched)", async () => {
    const remote = await cli(["stats", "--url", daemon.url, "--json"]);
    expect(remote.code).toBe(0);
    expect(JSON.parse(remote.stdout)).toMatchObject({ tasks: 1, runs: 1 });
    for (const args of [["tasks", "list"], ["tasks", "get", taskId], ["runs", "list", "--task", taskId], ["runs", "get", runId], ["runs", "explain", runId]]) {
      const res = await cli([...args, "--url", `${daemon.url}/`, "--json"]);
      expect(res.code, args.join(" ")).toBe(0);
    }
    const task = JSON.parse((await cli(["tasks", "get", taskId, "--url", daemon.url, "--json"])).stdout) as { payload: string };
    expect(Buffer.from(task.payload, "base64").toString()).toBe('{"hello":1}');
  });

  it("unknown ids exit 3; a bad --url exits 3; nothing listening exits 5 naming the URL", async () => {
    const missing = await cli(["runs", "get", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--url", daemon.url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(daemon.url);
    expect((await cli(["stats", "--url", "not a url"])).code).toBe(3);
    expect(() => parseDaemonUrl("ftp://host")).toThrow(/http/);
    const closed = await startDaemon({ dataDir: join(dir, "other"), bind: "127.0.0.1:0", logLevel: "silent" });
    const deadUrl = closed.url;
    await closed.close();
    const gone = await cli(["stats", "--url", deadUrl, "--json"]);
    expect(gone.code).toBe(5);
    expect(JSON.parse(gone.stderr)).toEqual({ error: { code: "DAEMON_UNREACHABLE", message: expect.stringContaining(deadUrl) } });
  });

  it("a daemon that answers 404 for a path under --url is reachable: exit 4 with the status and its error", async () => {
    const res = await cli(["stats", "--url", `${daemon.url}/prefix`, "--json"]);
    expect(res.code).toBe(4);
    const { error } = JSON.parse(res.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe("INTERNAL");
    expect(error.message).toContain(`${daemon.url}/prefix answered 404 ROUTE_NOT_FOUND: no route GET /prefix/api/v1/stats`);
  });
});
