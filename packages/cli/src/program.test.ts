import { describe, expect, it } from "vitest";
import type { CliIo } from "./context.js";
import { firstCommandWord, invocationDir, main, onDemandCommands, wantsJson } from "./program.js";

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
    cwd: "/nonexistent-cwd",
    homeDir: "/nonexistent-home",
    onSignal: () => () => undefined,
    exit: () => undefined,
    out: () => out,
    err: () => err,
  };
}

describe("wantsJson", () => {
  it("finds --json before any --", () => {
    expect(wantsJson(["stats", "--json"])).toBe(true);
    expect(wantsJson(["--json", "stats"])).toBe(true);
    expect(wantsJson(["stats", "--", "--json"])).toBe(false);
    expect(wantsJson(["stats"])).toBe(false);
  });
});

describe("main (in process)", () => {
  it("prints help and the version on stdout with exit 0", async () => {
    const io = fakeIo();
    expect(await main(["--version"], io)).toBe(0);
    expect(io.out()).toMatch(/^\d+\.\d+\.\d+/);
    const help = fakeIo();
    expect(await main(["runs", "list", "--help"], help)).toBe(0);
    expect(help.out()).toContain("--state");
    expect(help.out()).toContain("--data-dir");
    expect(help.err()).toBe("");
    // Listings page in id order; only minted ids make that creation order.
    const tasksHelp = fakeIo();
    expect(await main(["tasks", "list", "--help"], tasksHelp)).toBe(0);
    expect(tasksHelp.out()).toContain("task-id order");
  });

  it.each([
    [["frobnicate"], "UNKNOWN_COMMAND", "frobnicate"],
    [["stats", "--bogus"], "UNKNOWN_OPTION", "--bogus"],
    [["submit"], "MISSING_VALUE", "--run-policy"],
    [["run"], "MISSING_VALUE", "--handler"],
    // A mistyped required flag is reported as unknown, not as the required one missing.
    [["submit", "--run-polcy", "once"], "UNKNOWN_OPTION", "--run-polcy"],
    [["run", "--handlr", "handlers.mjs"], "UNKNOWN_OPTION", "--handlr"],
    [["submit", "--run-policy"], "MISSING_VALUE", "--run-policy"],
    [["tasks", "get"], "MISSING_VALUE", "id"],
    [["tasks"], "MISSING_COMMAND", "list, get"],
    [[], "MISSING_COMMAND", "submit"],
    [["stats", "extra"], "UNEXPECTED_ARGUMENT", "extra"],
  ])("%j is a usage error (exit 2)", async (argv, code, named) => {
    const io = fakeIo();
    expect(await main([...argv, "--json"], io)).toBe(2);
    expect(io.out()).toBe("");
    const parsed = JSON.parse(io.err()) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.message).toContain(named);
    const text = fakeIo();
    expect(await main(argv, text)).toBe(2);
    expect(text.err()).toMatch(/^error: [^\n]+\n$/);
  });

  it("reports invalid values with exit 3 and never reaches the data directory", async () => {
    const io = fakeIo();
    expect(await main(["tasks", "get", "not-a-ulid", "--data-dir", "/nonexistent/x"], io)).toBe(3);
    expect(io.err()).toContain('"not-a-ulid"');
    const limit = fakeIo();
    expect(await main(["runs", "list", "--limit", "abc"], limit)).toBe(3);
    expect(limit.err()).toContain('--limit "abc"');
  });

  it("reports a missing data directory with exit 4 naming it", async () => {
    const io = fakeIo();
    expect(await main(["stats", "--data-dir", "/nonexistent/aq-data"], io)).toBe(4);
    expect(io.err()).toContain("/nonexistent/aq-data");
  });
});

describe("invocationDir", () => {
  it("uses pnpm's INIT_CWD only for the actionqueue script", () => {
    expect(invocationDir({ npm_lifecycle_event: "actionqueue", INIT_CWD: "/from" }, "/root")).toBe("/from");
    expect(invocationDir({ npm_lifecycle_event: "test", INIT_CWD: "/from" }, "/root")).toBe("/root");
    expect(invocationDir({}, "/root")).toBe("/root");
  });
});

describe("on-demand commands", () => {
  it("finds the command word past global options", () => {
    expect(firstCommandWord(["--data-dir", "stats", "tasks", "list"])).toBe("tasks");
    expect(firstCommandWord(["--json", "stats"])).toBe("stats");
    expect(firstCommandWord(["--help"])).toBeUndefined();
    expect(firstCommandWord([])).toBeUndefined();
  });

  it("loads the daemon command only when it may be needed", async () => {
    expect(await onDemandCommands(["stats", "--json"])).toEqual([]);
    expect(await onDemandCommands(["run", "--handler", "x"])).toEqual([]);
    expect(await onDemandCommands(["daemon"])).toHaveLength(1);
    expect(await onDemandCommands(["--help"])).toHaveLength(1);
    expect(await onDemandCommands(["--version"])).toEqual([]);
  });
});
