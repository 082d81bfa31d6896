/**
 * Where the data directory is: `--data-dir`, else `$ACTIONQUEUE_DATA_DIR`,
 * else `~/.actionqueue/data`, with a leading `~` expanded and the result made
 * absolute. Also the existence check every command but `submit` and `run`
 * makes before touching anything, so a typo never creates a directory.
 */
import { statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { CliError } from "./cli-error.js";

/** Environment variable naming the default data directory. */
export const DATA_DIR_ENV = "ACTIONQUEUE_DATA_DIR";

/** The data directory used when neither the flag nor the variable is set, relative to the home directory. */
export const DEFAULT_DATA_DIR = join(".actionqueue", "data");

/** Inputs of {@link resolveDataDir}. */
export interface DataDirSources {
  /** Value of `--data-dir`, when given. */
  readonly flag?: string | undefined;
  /** The process environment (only {@link DATA_DIR_ENV} is read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory (for `~` and the default). */
  readonly homeDir: string;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
}

/** Expands a leading `~` or `~/` to `homeDir`; other paths are returned unchanged. */
export function expandHome(path: string, homeDir: string): string {
  if (path === "~") return homeDir;
  if (path.startsWith("~/") || path.startsWith(`~\\`)) return join(homeDir, path.slice(2));
  return path;
}

/**
 * Resolves the data directory to an absolute path. Throws `INVALID_OPTION`
 * (exit 3) for an empty `--data-dir`, and when the default is needed but no
 * home directory is known. An empty environment variable counts as unset.
 */
export function resolveDataDir(sources: DataDirSources): string {
  let chosen: string;
  if (sources.flag !== undefined) {
    if (sources.flag.trim() === "") throw new CliError("INVALID_OPTION", `--data-dir "": expected a directory path`);
    chosen = sources.flag;
  } else {
    const fromEnv = sources.env[DATA_DIR_ENV];
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      chosen = fromEnv;
    } else {
      if (sources.homeDir === "") {
        throw new CliError("INVALID_OPTION", `no home directory to find ~/${DEFAULT_DATA_DIR}: pass --data-dir or set ${DATA_DIR_ENV}`);
      }
      chosen = join(sources.homeDir, DEFAULT_DATA_DIR);
    }
  }
  const expanded = expandHome(chosen, sources.homeDir);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(sources.cwd, expanded);
}

/**
 * Throws `DATA_DIR_MISSING` (exit 4) naming the path when `dataDir` does not
 * exist, `DATA_DIR_INVALID` when it is not a directory. Creates nothing.
 */
export function assertDataDirExists(dataDir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dataDir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new CliError("DATA_DIR_MISSING", `data directory ${dataDir} does not exist (submit creates it; check --data-dir or ${DATA_DIR_ENV})`, {
        cause: error,
      });
    }
    throw new CliError("DATA_DIR_INVALID", `data directory ${dataDir} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (!isDirectory) throw new CliError("DATA_DIR_INVALID", `data directory ${dataDir} is not a directory`);
}
