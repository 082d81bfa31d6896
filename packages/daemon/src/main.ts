#!/usr/bin/env node
/**
 * `actionqueue-daemon`: the daemon binary of this package, with the same
 * flags as `actionqueue daemon` (which most users run instead), plus
 * `--help` and `--version`. Exit codes follow the CLI: 0 after a graceful
 * shutdown (and for help and version), 2 bad usage, 3 invalid configuration,
 * 4 runtime or storage failure or a shutdown cut short by a second signal.
 * Errors are one JSON line on stderr.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ActionQueueError } from "@actionqueue/core";
import { DAEMON_FLAG_HELP } from "./flag-help.js";
import { daemonOptionsFromFlags, interruptedMessage, runDaemonProcess } from "./process.js";

/** Width of the flags column of the usage. */
const FLAGS_WIDTH = 32;

const USAGE = `Usage: actionqueue-daemon --data-dir DIR [options]

Serve the data directory over HTTP and run its tasks with a handler module
until SIGINT/SIGTERM (a second signal stops without waiting for attempts in flight).
The same flags as \`actionqueue daemon\`.

Options:
${[
  { flags: "--data-dir <dir>", description: "data directory (default: $ACTIONQUEUE_DATA_DIR); created if missing" },
  ...DAEMON_FLAG_HELP,
  { flags: "-V, --version", description: "print the version" },
  { flags: "-h, --help", description: "show this help" },
]
  .map(({ flags, description }) => `  ${flags.padEnd(FLAGS_WIDTH)} ${description}\n`)
  .join("")}
Prints {"listening":"http://HOST:PORT"} on stdout once the data directory is open; logs are JSON lines on stderr
(their level also from $ACTIONQUEUE_LOG_LEVEL).
Exit codes: 0 graceful shutdown, 2 usage, 3 invalid configuration, 4 runtime or storage failure, or interrupted.
`;

/** This package's version (for `--version`). */
function version(): string {
  const parsed = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "0.0.0";
}

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
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
    },
  }));
} catch (error) {
  fail("USAGE", (error as Error).message, 2);
}
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (values.version === true) {
  process.stdout.write(`${version()}\n`);
  process.exit(0);
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
  const summary = await runDaemonProcess(options, { stdout: process.stdout, onSignal });
  if (summary.interrupted) fail("INTERRUPTED", interruptedMessage(summary), 4);
  process.exit(0);
} catch (error) {
  if (ActionQueueError.is(error)) fail(error.code, error.message, error.family === "validation" ? 3 : 4);
  fail("INTERNAL", error instanceof Error ? error.message : String(error), 4);
}
