#!/usr/bin/env node
/**
 * `actionqueue-daemon`: the daemon binary of this package, with the same
 * flags as `actionqueue daemon` (which most users run instead). Exit codes
 * follow the CLI: 0 after a graceful shutdown, 2 bad usage, 3 invalid
 * configuration, 4 runtime or storage failure. Errors are one JSON line on stderr.
 */
import { parseArgs } from "node:util";
import { ActionQueueError } from "@actionqueue/core";
import { daemonOptionsFromFlags, runDaemonProcess } from "./process.js";

function fail(code: string, message: string, exitCode: number): never {
  process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.exit(exitCode);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      "data-dir": { type: "string" },
      bind: { type: "string" },
      handler: { type: "string" },
      concurrency: { type: "string" },
      "token-file": { type: "string" },
      "allow-unauthenticated-control": { type: "boolean" },
      grace: { type: "string" },
      retain: { type: "string" },
      "log-level": { type: "string" },
    },
  }));
} catch (error) {
  fail("USAGE", (error as Error).message, 2);
}
const dataDir = values["data-dir"] ?? process.env.ACTIONQUEUE_DATA_DIR;
if (typeof dataDir !== "string" || dataDir === "") fail("USAGE", "--data-dir DIR is required (or ACTIONQUEUE_DATA_DIR)", 2);
const str = (key: string): string | undefined => (typeof values[key] === "string" ? values[key] : undefined);

try {
  const options = daemonOptionsFromFlags(
    {
      dataDir,
      bind: str("bind"),
      handler: str("handler"),
      concurrency: str("concurrency"),
      tokenFile: str("token-file"),
      allowUnauthenticatedControl: values["allow-unauthenticated-control"] === true,
      grace: str("grace"),
      retain: str("retain"),
      logLevel: str("log-level"),
    },
    process.env,
  );
  const onSignal = (listener: (signal: NodeJS.Signals) => void): (() => void) => {
    process.on("SIGINT", listener);
    process.on("SIGTERM", listener);
    return () => {
      process.off("SIGINT", listener);
      process.off("SIGTERM", listener);
    };
  };
  await runDaemonProcess(options, { stdout: process.stdout, onSignal });
  process.exit(0);
} catch (error) {
  if (ActionQueueError.is(error)) fail(error.code, error.message, error.family === "validation" ? 3 : 4);
  fail("INTERNAL", error instanceof Error ? error.message : String(error), 4);
}
