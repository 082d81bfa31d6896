/**
 * Re-renders a result's Markdown from its JSON (`tsx src/render.ts
 * results/latest.json`), e.g. after a change to the report layout.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Report } from "./report.js";
import { renderMarkdown } from "./report.js";

const file = process.argv[2];
if (file === undefined || !file.endsWith(".json")) {
  console.error("usage: tsx src/render.ts results/latest.json");
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, "utf8")) as Report;
writeFileSync(file.replace(/\.json$/, ".md"), renderMarkdown(report));
