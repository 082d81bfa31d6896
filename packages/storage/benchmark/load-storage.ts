/**
 * Loads the package for a benchmark: the built `dist/` with `--dist` (what
 * users run: plain tsc output), the sources otherwise. Under tsx the sources
 * carry esbuild's name-keeping helpers on every closure, which distorts hot
 * paths, so the published numbers use `--dist` (build first).
 */
import type * as Storage from "../src/index.js";

type StorageModule = typeof Storage;

export async function loadStorage(): Promise<StorageModule> {
  const path = process.argv.includes("--dist") ? "../dist/index.js" : "../src/index.js";
  return (await import(path)) as StorageModule;
}

/** Positional (non-flag) command-line arguments. */
export const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
