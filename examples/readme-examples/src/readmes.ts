import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Every README a reader meets, relative to the workspace root `root`: the
 * top level's, each package's and example's, and the bench's.
 */
export function readmePaths(root: string): string[] {
  const found = ["README.md"];
  for (const dir of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (existsSync(join(root, dir, name, "README.md"))) found.push(`${dir}/${name}/README.md`);
    }
  }
  if (existsSync(join(root, "bench/README.md"))) found.push("bench/README.md");
  return found;
}
