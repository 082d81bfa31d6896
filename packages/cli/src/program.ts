/**
 * The commander program: global options, every command, and the one place
 * results and errors are printed. Commander never prints or exits by itself
 * here: its errors are turned into the CLI's usage errors (exit 2) and its
 * help and version output goes to stdout with exit 0.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { Command, CommanderError } from "commander";
import { ActionQueueError } from "@actionqueue/core";
import { CliError, errorReport, oneLine } from "./cli-error.js";
import type { CliErrorCode, ExitCode } from "./exit-codes.js";
import { EXIT_CODES } from "./exit-codes.js";
import type { CliIo, CommandResult, GlobalOptions } from "./context.js";
import { createContext } from "./context.js";
import { DATA_DIR_ENV } from "./data-dir.js";
import { formatError, formatJson } from "./output.js";
import type { ActionRunner, OptionBag } from "./commands/action.js";
import { registerSubmit } from "./commands/submit.js";
import { registerRun } from "./commands/run.js";
import { registerInspect } from "./commands/inspect.js";
import { registerControl } from "./commands/control.js";
import { registerWal } from "./commands/wal.js";
import { registerSnapshot } from "./commands/snapshot.js";
import { registerPurge } from "./commands/purge.js";

/** The version printed by `--version` (this package's version). */
export function cliVersion(): string {
  const raw = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const parsed = JSON.parse(raw) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "0.0.0";
}

/** Commander error codes and the CLI usage code each becomes. */
const COMMANDER_CODES: Readonly<Record<string, CliErrorCode>> = {
  "commander.unknownOption": "UNKNOWN_OPTION",
  "commander.unknownCommand": "UNKNOWN_COMMAND",
  "commander.missingArgument": "MISSING_VALUE",
  "commander.optionMissingArgument": "MISSING_VALUE",
  "commander.missingMandatoryOptionValue": "MISSING_VALUE",
  "commander.excessArguments": "UNEXPECTED_ARGUMENT",
  "commander.conflictingOption": "CONFLICTING_OPTIONS",
  "commander.invalidArgument": "INVALID_OPTION",
  "commander.help": "MISSING_COMMAND",
};

/** True when `--json` appears among the arguments (before any `--`), so even parse errors print as JSON. */
export function wantsJson(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--json") return true;
  }
  return false;
}

// The command path the user typed (`tasks`, `cancel`), for "missing command" messages.
function commandPath(program: Command, argv: readonly string[]): Command {
  let current = program;
  for (const arg of argv) {
    if (arg.startsWith("-")) continue;
    const next = current.commands.find((command) => command.name() === arg || command.aliases().includes(arg));
    if (next === undefined) break;
    current = next;
  }
  return current;
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Converts a commander error into the CLI's usage error (or `undefined` for help/version, which succeed). */
export function fromCommanderError(error: CommanderError, program: Command, argv: readonly string[]): CliError | undefined {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return undefined;
  if (error.code === "commander.help" && error.exitCode === 0) return undefined;
  const code = COMMANDER_CODES[error.code] ?? "USAGE";
  if (code === "MISSING_COMMAND") {
    const command = commandPath(program, argv);
    const names = command.commands.map((c) => c.name()).filter((name) => name !== "help");
    return new CliError(code, `missing command: expected one of ${names.join(", ")} (see '${fullName(command)} --help')`);
  }
  if (code === "UNEXPECTED_ARGUMENT") {
    const command = commandPath(program, argv);
    const extra = command.args.slice(command.registeredArguments.length);
    if (extra.length > 0) {
      const quoted = extra.map((arg) => JSON.stringify(arg)).join(" ");
      return new CliError(code, `unexpected argument ${quoted} for '${fullName(command)}' (see '${fullName(command)} --help')`);
    }
  }
  return new CliError(code, oneLine(error.message.replace(/^error:\s*/, "")));
}

/** Registers one command (or command group) on the program. */
export type CommandRegistration = (program: Command, run: ActionRunner) => void;

/** Everything {@link createProgram} needs from outside. */
export interface ProgramHooks {
  readonly io: CliIo;
  /** Receives the result of the command that ran. */
  readonly onResult: (result: CommandResult) => void;
  /**
   * Commands registered after the built-in ones. {@link main} passes
   * `daemon` here, loaded only when the arguments may need it: it pulls in a
   * whole HTTP stack that would otherwise slow every invocation down.
   */
  readonly extraCommands?: readonly CommandRegistration[];
}

/** The commands that never need the daemon package loaded. */
const BUILT_IN_COMMANDS: ReadonlySet<string> = new Set(["submit", "run", "stats", "tasks", "runs", "cancel", "pause", "resume", "resume-run", "wal", "snapshot"]);

/** The first command word of `argv`, skipping global options (and the value of `--data-dir`). */
export function firstCommandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return argv[i + 1];
    if (arg === "--data-dir") {
      i++;
      continue;
    }
    if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/**
 * The commands to load on demand for `argv`: `daemon` unless the first word
 * is a built-in command (it is needed for `daemon` itself, for help listing
 * every command, and for suggestions after a mistyped command).
 */
export async function onDemandCommands(argv: readonly string[]): Promise<CommandRegistration[]> {
  const word = firstCommandWord(argv);
  if (word !== undefined && BUILT_IN_COMMANDS.has(word)) return [];
  if (word === undefined && (argv.includes("--version") || argv.includes("-V"))) return [];
  const { registerDaemon } = await import("./commands/daemon.js");
  return [registerDaemon];
}

/**
 * Builds the `actionqueue` commander program. Parse with
 * `parseAsync(argv, { from: 'user' })`; commander errors are thrown as
 * `CommanderError` (exitOverride), never printed or exited on.
 */
export function createProgram(hooks: ProgramHooks): Command {
  const program = new Command("actionqueue");
  program
    .description("Submit, run, inspect and repair an ActionQueue data directory")
    .version(cliVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .option("--data-dir <dir>", `data directory (default: $${DATA_DIR_ENV}, else ~/.actionqueue/data)`)
    .option("--json", "print results (and errors) as JSON")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (text) => void hooks.io.stdout.write(text),
      // Commander's own error text is replaced by ours (one line, our codes).
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `\nExit codes: 0 ok, 2 usage, 3 invalid input, 4 runtime or storage, 5 daemon unreachable.\nRun 'actionqueue <command> --help' for a command's options.`,
    );

  const run: ActionRunner =
    (fn) =>
    async (...commanderArgs: unknown[]) => {
      const command = commanderArgs.at(-1) as Command;
      const args = commanderArgs.slice(0, -2).filter((arg): arg is string => typeof arg === "string");
      const options = command.optsWithGlobals<OptionBag>();
      const global: GlobalOptions = {
        json: options.json === true,
        ...(typeof options.dataDir === "string" ? { dataDir: options.dataDir } : {}),
      };
      hooks.onResult(await fn(createContext(hooks.io, global), args, options));
    };

  registerSubmit(program, run);
  registerRun(program, run);
  registerInspect(program, run);
  registerControl(program, run);
  registerWal(program, run);
  registerSnapshot(program, run);
  registerPurge(program, run);
  for (const register of hooks.extraCommands ?? []) register(program, run);

  // Subcommands inherit the output and exit settings, but commands created by
  // `.command()` copy them at creation; make sure every level has them.
  const inherit = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({ writeOut: (text) => void hooks.io.stdout.write(text), writeErr: () => undefined, outputError: () => undefined });
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/**
 * The directory relative paths are resolved against: the working directory,
 * or, under `pnpm actionqueue …` (which runs in the repository root), the
 * directory pnpm was invoked from.
 */
export function invocationDir(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const initCwd = env.INIT_CWD;
  return env.npm_lifecycle_event === "actionqueue" && initCwd !== undefined && initCwd !== "" ? initCwd : cwd;
}

/** The process's real streams, environment and signals. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: invocationDir(process.env, process.cwd()),
    homeDir: process.env.HOME ?? homedir(),
    exit: (code) => process.exit(code),
    onSignal: (listener) => {
      process.on("SIGINT", listener);
      process.on("SIGTERM", listener);
      return () => {
        process.off("SIGINT", listener);
        process.off("SIGTERM", listener);
      };
    },
  };
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code.
 * Prints the result on stdout, or one error line on stderr (`error: …`, or
 * `{"error":{"code","message"}}` with `--json`).
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  const json = wantsJson(argv);
  let result: CommandResult | undefined;
  const program = createProgram({ io, onResult: (r) => (result = r), extraCommands: await onDemandCommands(argv) });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    let failure: unknown = error;
    if (error instanceof CommanderError) {
      const converted = fromCommanderError(error, program, argv);
      if (converted === undefined) return EXIT_CODES.ok;
      failure = converted;
    }
    io.stderr.write(formatError(errorReport(failure), json));
    return errorReport(failure).exitCode;
  }
  if (result === undefined) return EXIT_CODES.ok;
  io.stdout.write(json ? formatJson(result.value) : result.text);
  if (result.failure !== undefined) {
    io.stderr.write(formatError(result.failure, json));
    return result.failure.exitCode;
  }
  return EXIT_CODES.ok;
}

/**
 * Turns an error nobody awaited (a stray rejection from a handler module or
 * from a queue that is shutting down) into the CLI's one-line error and exit
 * code instead of a stack trace. A `CLOSED` rejection (a late write of a queue
 * that has already closed: nothing was written) is ignored.
 */
export function installCrashGuard(io: Pick<CliIo, "stderr">, json: boolean, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const handle = (reason: unknown): void => {
    if (ActionQueueError.hasCode(reason, "CLOSED")) return;
    const report = errorReport(reason);
    io.stderr.write(formatError(report, json));
    exit(report.exitCode);
  };
  process.on("unhandledRejection", handle);
  process.on("uncaughtException", handle);
  return () => {
    process.off("unhandledRejection", handle);
    process.off("uncaughtException", handle);
  };
}
