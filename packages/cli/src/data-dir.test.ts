import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error.js";
import { DATA_DIR_ENV, assertDataDirExists, expandHome, resolveDataDir } from "./data-dir.js";

const base = { env: {}, homeDir: "/home/ada", cwd: "/work" };

describe("resolveDataDir", () => {
  it("prefers the flag, then the variable, then ~/.actionqueue/data", () => {
    expect(resolveDataDir({ ...base, flag: "/d", env: { [DATA_DIR_ENV]: "/e" } })).toBe("/d");
    expect(resolveDataDir({ ...base, env: { [DATA_DIR_ENV]: "/e" } })).toBe("/e");
    expect(resolveDataDir(base)).toBe("/home/ada/.actionqueue/data");
  });

  it("expands a leading ~ everywhere and resolves relative paths against cwd", () => {
    expect(resolveDataDir({ ...base, flag: "~/q" })).toBe("/home/ada/q");
    expect(resolveDataDir({ ...base, flag: "~" })).toBe("/home/ada");
    expect(resolveDataDir({ ...base, env: { [DATA_DIR_ENV]: "~/env-q" } })).toBe("/home/ada/env-q");
    expect(resolveDataDir({ ...base, flag: "data" })).toBe("/work/data");
    expect(resolveDataDir({ ...base, flag: "./a/../b" })).toBe("/work/b");
  });

  it("treats an empty variable as unset and refuses an empty flag", () => {
    expect(resolveDataDir({ ...base, env: { [DATA_DIR_ENV]: "" } })).toBe("/home/ada/.actionqueue/data");
    expect(() => resolveDataDir({ ...base, flag: "" })).toThrow(CliError);
    expect(() => resolveDataDir({ ...base, flag: " " })).toThrow(/--data-dir/);
  });

  it("needs a home directory only for the default", () => {
    expect(() => resolveDataDir({ ...base, homeDir: "" })).toThrow(/--data-dir/);
    expect(resolveDataDir({ ...base, homeDir: "", flag: "/x" })).toBe("/x");
  });
});

describe("expandHome", () => {
  it("leaves other tildes alone", () => {
    expect(expandHome("~other/x", "/h")).toBe("~other/x");
    expect(expandHome("a/~/b", "/h")).toBe("a/~/b");
  });
});

describe("assertDataDirExists", () => {
  it("names a missing path (exit 4) and creates nothing", () => {
    const root = mkdtempSync(join(tmpdir(), "aq-cli-dd-"));
    try {
      const missing = join(root, "nope", "data");
      let caught: unknown;
      try {
        assertDataDirExists(missing);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CliError);
      expect((caught as CliError).code).toBe("DATA_DIR_MISSING");
      expect((caught as CliError).exitCode).toBe(4);
      expect((caught as CliError).message).toContain(missing);
      expect(existsSync(join(root, "nope"))).toBe(false);

      const file = join(root, "file");
      writeFileSync(file, "x");
      expect(() => assertDataDirExists(file)).toThrow(/not a directory/);
      expect(() => assertDataDirExists(join(file, "below"))).toThrow(/does not exist/);
      expect(() => assertDataDirExists(root)).not.toThrow();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
