import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { codeBlocks } from "./code-blocks.js";
import type { CodeBlock } from "./code-blocks.js";

/** The workspace's root folder. */
export const WORKSPACE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The built `actionqueue` binary. */
export const CLI_BIN = join(WORKSPACE_ROOT, "packages/cli/dist/bin.js");

/**
 * Every README a reader meets, relative to the workspace root: the top
 * level's, each package's and example's, and the bench's.
 */
export function readmePaths(): string[] {
  const root = WORKSPACE_ROOT;
  const found = ["README.md"];
  for (const dir of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (existsSync(join(root, dir, name, "README.md"))) found.push(`${dir}/${name}/README.md`);
    }
  }
  if (existsSync(join(root, "bench/README.md"))) found.push("bench/README.md");
  return found;
}

/** Each workspace README (as {@link readmePaths} lists them) with its fenced code blocks. */
export function readmeCodeBlocks(): Array<{ readonly readme: string; readonly blocks: CodeBlock[] }> {
  return readmePaths().map((readme) => ({ readme, blocks: codeBlocks(readFileSync(join(WORKSPACE_ROOT, readme), "utf8")) }));
}
