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
import { DEFAULT_BIND } from "./bind.js";
import { TOKEN_ENV } from "./auth.js";
import { LOG_LEVELS } from "./logger.js";
import { daemonOptionsFromFlags, interruptedMessage, runDaemonProcess } from "./process.js";

const USAGE = `Usage: actionqueue-daemon --data-dir DIR [options]

Serve the data directory over HTTP and run its tasks with a handler module
until SIGINT/SIGTERM (a second signal stops without waiting for attempts in flight).
The same flags as \`actionqueue daemon\`.

Options:
  --data-dir <dir>                 data directory (default: $ACTIONQUEUE_DATA_DIR); created if missing
  --bind <addr>                    HOST:PORT or [IPV6]:PORT to listen on (default ${DEFAULT_BIND}; port 0 picks a free one)
  --handler <module>               JS module: default export = handler, or named exports = handlers per task name (without it nothing is dispatched)
  --concurrency <n>                attempts in flight at once (1..10000, default 16)
  --token-file <file>              file holding the bearer token of the mutating routes (else $${TOKEN_ENV})
  --allow-unauthenticated-control  let mutating routes through without a token (loopback only)
  --grace <duration>               how long in-flight attempts may finish at shutdown (default 30s)
  --retain <duration>              purge finished tasks (with their runs) this long after they finished, e.g. 7d; needs --handler
  --log-level <level>              ${LOG_LEVELS.join(", ")} (default info, or $ACTIONQUEUE_LOG_LEVEL)
  -V, --version                    print the version
  -h, --help                       show this help

Prints {"listening":"http://HOST:PORT"} on stdout once the data directory is open; logs are JSON lines on stderr.
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
