/**
 * The daemon's flags and their help text, in one place for both front ends:
 * `actionqueue daemon` registers them with commander and the
 * `actionqueue-daemon` binary prints them in its usage, so the two never
 * describe a flag differently. `--data-dir` is not listed: the CLI has it as
 * a global option.
 */
import { TOKEN_ENV } from "./auth.js";
import { DEFAULT_BIND } from "./bind.js";

/** One flag as commander spells it (`--bind <addr>`), with its description. */
export interface DaemonFlagHelp {
  readonly flags: string;
  readonly description: string;
}

/** The daemon's own flags, in help order. */
export const DAEMON_FLAG_HELP: readonly DaemonFlagHelp[] = [
  { flags: "--bind <addr>", description: `HOST:PORT or [IPV6]:PORT to listen on (default ${DEFAULT_BIND}; port 0 picks a free one)` },
  { flags: "--handler <module>", description: "JS module: default export = handler, or named exports = handlers per task name (without it nothing is dispatched)" },
  { flags: "--concurrency <n>", description: "attempts in flight at once (1..10000, default 16)" },
  { flags: "--token-file <file>", description: `file holding the bearer token of the mutating routes (else $${TOKEN_ENV})` },
  { flags: "--allow-unauthenticated-control", description: "let mutating routes through without a token (loopback only)" },
  { flags: "--grace <duration>", description: "how long in-flight attempts may finish at shutdown (default 30s)" },
  { flags: "--retain <duration>", description: "purge finished tasks (with their runs) this long after they finished, e.g. 7d (default: keep them); needs --handler" },
  { flags: "--log-level <level>", description: "trace, debug, info (default), warn, error, fatal or silent" },
];
