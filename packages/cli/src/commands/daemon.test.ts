// `actionqueue daemon` in-process: prints the listening line first, serves
// until a (fake) shutdown signal, exits 0; refuses a non-loopback bind
// without a token with exit 3.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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

  it("refuses a non-loopback bind without a token (exit 3)", async () => {
    const fake = fakeIo();
    const code = await main(["daemon", "--data-dir", join(dir, "other"), "--bind", "0.0.0.0:0", "--json"], fake.io);
    expect(code).toBe(3);
    expect(JSON.parse(fake.err())).toMatchObject({ error: { code: "INVALID_CONFIG", message: expect.stringMatching(/non-loopback/) } });
    expect(fake.out()).toBe("");
  });
});
