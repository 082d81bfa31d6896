// Adds up every package's vitest JSON report into the one plain line CI reads:
// `N passed, N failed`. Exits non-zero when anything failed or nothing ran.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const roots = ["packages", "examples"].flatMap((dir) =>
  existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [],
);
roots.push("bench");

let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const root of roots) {
  const file = join(root, ".vitest-report.json");
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, "utf8"));
  reports += 1;
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.success === false && !report.numFailedTests ? 1 : 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
const tail = skipped > 0 ? `, ${skipped} skipped` : "";
console.log(`${passed} passed, ${failed} failed${tail}`);
if (reports === 0 || passed === 0) {
  console.error("test-summary: no test ran");
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
