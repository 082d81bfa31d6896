// `actionqueue daemon` in-process: prints the listening line first, serves
// until a (fake) shutdown signal, exits 0, or 4 when a second signal cuts
// the drain short; refuses a non-loopback bind without a token, and
// --retain without --handler, with exit 3.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ActionQueue } from "@actionqueue/runtime";
import type { CliIo } from "../context.js";
import { main } from "../program.js";

const dir = mkdtempSync(join(tmpdir(), "aq-cli-daemon-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeIo(env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  let signal: ((name: NodeJS.Signals) => void) | undefined;
  let onLine: (line: string) => void = () => undefined;
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        onLine(text);
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: dir,
    homeDir: dir,
    onSignal: (listener) => {
      signal = listener;
      return () => (signal = undefined);
    },
    exit: () => undefined,
  };
  const listening = new Promise<string>((resolve) => {
    onLine = (text) => {
      if (text.startsWith("{")) resolve((JSON.parse(text) as { listening: string }).listening);
    };
  });
  return { io, listening, out: () => stdout, err: () => stderr, send: (name: NodeJS.Signals) => signal?.(name) };
}

describe("actionqueue daemon", () => {
  it("serves until SIGTERM and exits 0", async () => {
    const fake = fakeIo();
    const exit = main(["daemon", "--data-dir", join(dir, "data"), "--bind", "127.0.0.1:0", "--log-level", "silent", "--json"], fake.io);
    const url = await fake.listening;
    for (let i = 0; i < 200 && (await fetch(`${url}/ready`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    // No token configured: control is refused with a how-to message.
    const pause = await fetch(`${url}/api/v1/engine/pause`, { method: "POST" });
    expect(pause.status).toBe(403);
    fake.send("SIGTERM");
    expect(await exit).toBe(0);
    const lines = fake.out().trim().split("\n");
    expect(JSON.parse(lines[0]!)).toEqual({ listening: url });
    expect(JSON.parse(lines.slice(1).join("\n"))).toMatchObject({ stopped: true, url, stoppedBy: "SIGTERM" });
  });

  it("a second signal during the drain stops at once: exit 4 INTERRUPTED, as `run`", async () => {
    const fake = fakeIo();
    const dataDir = join(dir, "forced");
    const exit = main(["daemon", "--data-dir", dataDir, "--bind", "127.0.0.1:0", "--log-level", "silent", "--json"], fake.io);
    await fake.listening;
    fake.send("SIGTERM");
    fake.send("SIGINT");
    expect(await exit).toBe(4);
    expect(JSON.parse(fake.err())).toMatchObject({ error: { code: "INTERRUPTED", message: expect.stringMatching(/abandoned.*next start/) } });
    expect(fake.out()).not.toContain("stopped");
    // The drain goes on in the background here (a process would exit): wait until it released the directory.
    for (let i = 0; ; i++) {
      try {
        await (await ActionQueue.open({ dataDir })).close();
        break;
      } catch (error) {
        if (i > 200) throw error;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  });

  it("refuses --retain without --handler (exit 3) naming both, before listening", async () => {
    const fake = fakeIo();
    const code = await main(["daemon", "--data-dir", join(dir, "retain"), "--bind", "127.0.0.1:0", "--retain", "7d", "--json"], fake.io);
    expect(code).toBe(3);
    expect(JSON.parse(fake.err())).toMatchObject({ error: { code: "INVALID_CONFIG", message: expect.stringMatching(/--retain.*--handler/) } });
    expect(fake.out()).toBe("");
  });

  it("refuses a missing --handler (exit 3) naming the path given and resolved, no internal path", async () => {
    const fake = fakeIo();
    const code = await main(["daemon", "--data-dir", join(dir, "nohandler"), "--bind", "127.0.0.1:0", "--handler", "./nope.mjs", "--json"], fake.io);
    expect(code).toBe(3);
    const { error } = JSON.parse(fake.err()) as { error: { code: string; message: string } };
    expect(error).toEqual({ code: "FILE_UNREADABLE", message: `--handler "./nope.mjs": cannot read ${join(dir, "nope.mjs")}: no such file` });
    expect(fake.out()).toBe("");
  });

  it("refuses a non-loopback bind without a token (exit 3)", async () => {
    const fake = fakeIo();
    const code = await main(["daemon", "--data-dir", join(dir, "other"), "--bind", "0.0.0.0:0", "--json"], fake.io);
    expect(code).toBe(3);
    expect(JSON.parse(fake.err())).toMatchObject({ error: { code: "INVALID_CONFIG", message: expect.stringMatching(/non-loopback/) } });
    expect(fake.out()).toBe("");
  });
});
