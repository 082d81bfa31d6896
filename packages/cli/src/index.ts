/**
 * @actionqueue/cli — the `actionqueue` command line: submit tasks, run them
 * with a handler module, inspect a data directory read-only, control and
 * repair it. Exposed as a library too, so other tools can embed the program.
 */
export { createProgram, main, processIo, wantsJson, cliVersion } from "./program.js";
export type { ProgramHooks, CommandRegistration } from "./program.js";
export { EXIT_CODES, CLI_ERROR_CODES, exitCodeForCode } from "./exit-codes.js";
export type { ExitCode, CliErrorCode } from "./exit-codes.js";
export { CliError, errorReport } from "./cli-error.js";
export type { ErrorReport } from "./cli-error.js";
export { DATA_DIR_ENV, DEFAULT_DATA_DIR, resolveDataDir, expandHome } from "./data-dir.js";
export type { DataDirSources } from "./data-dir.js";
export type { CliIo, TextStream, SignalSubscriber, CommandResult } from "./context.js";
