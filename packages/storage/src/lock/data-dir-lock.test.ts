import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireDataDirLock, isProcessAlive } from "./data-dir-lock.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe("data directory lock", () => {
  it("writes our pid and removes the file on release", () => {
    const lock = acquireDataDirLock(dir);
    expect(readFileSync(join(dir, "LOCK"), "utf8").trim()).toBe(String(process.pid));
    lock.release();
    lock.release();
    expect(existsSync(join(dir, "LOCK"))).toBe(false);
  });

  it("refuses a second writer in this process", () => {
    const lock = acquireDataDirLock(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(/already open for writing in this process/);
    lock.release();
  });

  it("refuses while another live process holds it, naming its pid", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, "LOCK"), `${child.pid}\n`);
      expect(() => acquireDataDirLock(dir)).toThrow(new RegExp(`locked by process ${child.pid}`));
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    // Now the holder is dead: the stale lock is taken over.
    expect(isProcessAlive(child.pid!)).toBe(false);
    const lock = acquireDataDirLock(dir);
    expect(readFileSync(join(dir, "LOCK"), "utf8").trim()).toBe(String(process.pid));
    lock.release();
  });

  it("takes over a lock whose pid is dead or garbage", () => {
    const done = spawnSync("true");
    writeFileSync(join(dir, "LOCK"), `${done.pid}\n`);
    acquireDataDirLock(dir).release();
    writeFileSync(join(dir, "LOCK"), "not a pid");
    acquireDataDirLock(dir).release();
  });

  it.skipIf(process.platform !== "linux")("takes over a lock whose holder exited but is not reaped yet (a zombie)", async () => {
    // The shell backgrounds a child that exits a moment later, after the shell has become `sleep`, which never
    // reaps it: a real zombie. (A child exiting at once may be reaped by the shell itself before its exec.)
    const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const zombie = Number((await new Promise<Buffer>((resolve) => parent.stdout.once("data", resolve))).toString().trim());
      const state = () => readFileSync(`/proc/${zombie}/stat`, "utf8").split(") ")[1]!.charAt(0);
      for (let i = 0; i < 500 && state() !== "Z"; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(state()).toBe("Z");
      expect(isProcessAlive(zombie)).toBe(false);
      writeFileSync(join(dir, "LOCK"), `${zombie}\n`);
      const lock = acquireDataDirLock(dir);
      expect(readFileSync(join(dir, "LOCK"), "utf8").trim()).toBe(String(process.pid));
      lock.release();
    } finally {
      parent.kill("SIGKILL");
    }
  }, 15_000);

  it("lets exactly one of many racing processes win, also when they race to take over a stale lock", async () => {
    // The children load the TypeScript source through tsx (no build needed),
    // and hold what they got until every child has answered: a winner that
    // exited early would leave a stale lock for a slow starter to take over.
    const lockModule = new URL("./data-dir-lock.ts", import.meta.url).href;
    const script = `
      const { acquireDataDirLock } = await import(${JSON.stringify(lockModule)});
      try { acquireDataDirLock(process.argv[1]); console.log("won"); }
      catch (e) { console.log(e.code); }
      process.stdin.resume();
      await new Promise((r) => process.stdin.once("end", r));`;
    for (const stale of [false, true]) {
      if (stale) writeFileSync(join(dir, "LOCK"), `${spawnSync("true").pid}\n`);
      const children = Array.from({ length: 4 }, () =>
        spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, dir], { stdio: ["pipe", "pipe", "inherit"] }),
      );
      const outputs = await Promise.all(
        children.map(
          (child) =>
            new Promise<string>((resolve) => {
              let out = "";
              child.stdout.on("data", (chunk: Buffer) => {
                out += chunk.toString();
                if (out.includes("\n")) resolve(out.trim());
              });
              child.once("exit", () => resolve(out.trim()));
            }),
        ),
      );
      await Promise.all(
        children.map((child) => {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.stdin.end();
          return exited;
        }),
      );
      expect(outputs.filter((o) => o === "won")).toHaveLength(1);
      expect(outputs.filter((o) => o !== "won").every((o) => o === "LOCK_HELD")).toBe(true);
    }
  }, 30_000);
});
