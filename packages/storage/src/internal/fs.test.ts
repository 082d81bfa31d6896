import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdirDurableSync, truncateFileSync, writeFileAtomic, writeFileAtomicSync } from "./fs.js";
import { makeTempDir, removeDir } from "./test-dirs.js";

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe("durable fs helpers", () => {
  it("replaces a file atomically; a smaller rewrite shrinks it; no temp file remains", async () => {
    const target = join(dir, "snap.bin");
    await writeFileAtomic(target, Buffer.from("a long first version"));
    writeFileAtomicSync(target, Buffer.from("short"));
    expect(readFileSync(target, "utf8")).toBe("short");
    expect(existsSync(`${target}.tmp`)).toBe(false);
  });

  it("overwrites a stale temp file", async () => {
    const target = join(dir, "snap.bin");
    writeFileSync(`${target}.tmp`, "stale junk that is longer");
    await writeFileAtomic(target, Buffer.from("new"));
    expect(readFileSync(target, "utf8")).toBe("new");
  });

  it("fails for a missing parent", async () => {
    await expect(writeFileAtomic(join(dir, "missing", "x"), Buffer.from("x"))).rejects.toThrow();
  });

  it("mkdir -p and truncate", () => {
    const deep = join(dir, "a", "b", "c");
    mkdirDurableSync(deep);
    mkdirDurableSync(deep);
    const file = join(deep, "f");
    writeFileSync(file, "0123456789");
    truncateFileSync(file, 4);
    expect(readFileSync(file, "utf8")).toBe("0123");
  });
});
