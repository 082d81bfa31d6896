import { ActionQueueError, ERROR_CODES, StorageError, ValidationError } from "@actionqueue/core";
import { describe, expect, it } from "vitest";
import { CliError, errorReport, labelled, oneLine } from "./cli-error.js";
import { CLI_ERROR_CODES, EXIT_CODES, exitCodeForCode } from "./exit-codes.js";

describe("exit codes", () => {
  it("are the documented numbers", () => {
    expect(EXIT_CODES).toEqual({ ok: 0, usage: 2, invalidInput: 3, runtime: 4, daemonUnreachable: 5 });
  });

  it("map every core code by family", () => {
    for (const [code, family] of Object.entries(ERROR_CODES)) {
      const exit = exitCodeForCode(code);
      if (family === "storage" || family === "handler") expect(exit, code).toBe(4);
      else if (code === "SEQUENCE_CONFLICT" || code === "STALE_FENCING_TOKEN") expect(exit, code).toBe(4);
      else expect(exit, code).toBe(3);
    }
  });

  it("map the CLI's own codes and treat unknown codes as runtime failures", () => {
    expect(exitCodeForCode("UNKNOWN_OPTION")).toBe(2);
    expect(exitCodeForCode("MISSING_VALUE")).toBe(2);
    expect(exitCodeForCode("INVALID_JSON")).toBe(3);
    expect(exitCodeForCode("FILE_UNREADABLE")).toBe(3);
    expect(exitCodeForCode("DATA_DIR_MISSING")).toBe(4);
    expect(exitCodeForCode("LOCK_HELD")).toBe(4);
    expect(exitCodeForCode("WAL_CORRUPT")).toBe(4);
    expect(exitCodeForCode("DAEMON_UNREACHABLE")).toBe(5);
    expect(exitCodeForCode("SOMETHING_NEW")).toBe(4);
    expect(Object.values(CLI_ERROR_CODES).every((n) => [2, 3, 4, 5].includes(n))).toBe(true);
  });
});

describe("errorReport", () => {
  it("classifies CLI, ActionQueue and foreign errors", () => {
    expect(errorReport(new CliError("UNKNOWN_COMMAND", "unknown command 'x'"))).toEqual({
      code: "UNKNOWN_COMMAND",
      message: "unknown command 'x'",
      exitCode: 2,
    });
    expect(errorReport(new ValidationError("INVALID_ID", "bad id"))).toEqual({ code: "INVALID_ID", message: "bad id", exitCode: 3 });
    expect(errorReport(new StorageError("LOCK_HELD", "held by pid 7")).exitCode).toBe(4);
    const io = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    expect(errorReport(io)).toEqual({ code: "STORAGE_IO", message: "EACCES: permission denied", exitCode: 4 });
    expect(errorReport("weird")).toEqual({ code: "INTERNAL", message: "weird", exitCode: 4 });
  });

  it("keeps messages on one line", () => {
    expect(oneLine("unknown option '--jsn'\n(Did you mean --json?)")).toBe("unknown option '--jsn' (Did you mean --json?)");
    expect(errorReport(new CliError("USAGE", "a\n\n  b")).message).toBe("a b");
  });
});

describe("labelled", () => {
  it("prefixes the flag unless the message names it, keeping the code", () => {
    let caught: unknown;
    try {
      labelled("--constraints", () => {
        throw new ValidationError("INVALID_MAX_ATTEMPTS", "maxAttempts 0: must be at least 1");
      });
    } catch (error) {
      caught = error;
    }
    expect(ActionQueueError.hasCode(caught, "INVALID_MAX_ATTEMPTS")).toBe(true);
    expect((caught as Error).message).toBe("--constraints: maxAttempts 0: must be at least 1");
    expect(() =>
      labelled("--x", () => {
        throw new ValidationError("INVALID_FIELD", "--x: already named");
      }),
    ).toThrow(/^--x: already named$/);
    expect(labelled("--x", () => 5)).toBe(5);
  });
});
