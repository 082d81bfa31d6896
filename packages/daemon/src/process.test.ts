import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { daemonOptionsFromFlags, resolveToken } from "./process.js";

const dir = mkdtempSync(join(tmpdir(), "aq-daemon-flags-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("daemonOptionsFromFlags", () => {
  it("converts flags, durations and the log level", () => {
    expect(daemonOptionsFromFlags({ dataDir: "/d", bind: "127.0.0.1:0", concurrency: "4", grace: "2s", retain: "7d", logLevel: "warn", handler: "h.mjs" }, {})).toEqual({
      dataDir: "/d",
      bind: "127.0.0.1:0",
      concurrency: 4,
      graceMs: 2000,
      retainMs: 7 * 86_400_000,
      logLevel: "warn",
      handlerModule: "h.mjs",
    });
  });

  it("names the bad flag", () => {
    expect(() => daemonOptionsFromFlags({ dataDir: "/d", concurrency: "0" }, {})).toThrow(/--concurrency/);
    expect(() => daemonOptionsFromFlags({ dataDir: "/d", concurrency: "2x" }, {})).toThrow(/--concurrency/);
    expect(() => daemonOptionsFromFlags({ dataDir: "/d", grace: "soon" }, {})).toThrow(/--grace/);
    expect(() => daemonOptionsFromFlags({ dataDir: "/d", retain: "forever" }, {})).toThrow(/--retain "forever"/);
    expect(() => daemonOptionsFromFlags({ dataDir: "/d", logLevel: "loud" }, {})).toThrow(/--log-level/);
  });
});

describe("resolveToken", () => {
  it("prefers --token-file (trimmed) over ACTIONQUEUE_TOKEN", () => {
    const file = join(dir, "token");
    writeFileSync(file, "file-token-0123456789\n");
    expect(resolveToken(file, { ACTIONQUEUE_TOKEN: "env-token-0123456789" })).toBe("file-token-0123456789");
    expect(resolveToken(undefined, { ACTIONQUEUE_TOKEN: "env-token-0123456789" })).toBe("env-token-0123456789");
    expect(resolveToken(undefined, { ACTIONQUEUE_TOKEN: "" })).toBeUndefined();
  });

  it("names the source of a bad token", () => {
    expect(() => resolveToken(join(dir, "absent"), {})).toThrow(/--token-file/);
    expect(() => resolveToken(undefined, { ACTIONQUEUE_TOKEN: "short" })).toThrow(/ACTIONQUEUE_TOKEN/);
  });
});
