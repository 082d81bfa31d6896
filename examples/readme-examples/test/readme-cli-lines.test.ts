/**
 * Every `actionqueue …` command line in the READMEs' shell blocks names a
 * command the CLI has and only flags that command takes: each line is split
 * as a shell would split it, and its command and flags are looked up in the
 * built binary's own `--help` for that command. A renamed flag or command
 * then fails here instead of in a reader's terminal.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI_BIN, readmeCodeBlocks } from "../src/readmes.js";
import { logicalLines, shellWords } from "../src/shell-words.js";

const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);

interface CommandLine {
  readonly where: string;
  readonly text: string;
  /** The words after `actionqueue`. */
  readonly args: readonly string[];
}

function commandLines(): CommandLine[] {
  const found: CommandLine[] = [];
  for (const { readme, blocks } of readmeCodeBlocks()) {
    for (const block of blocks) {
      if (!SHELL_LANGS.has(block.lang)) continue;
      for (const { offset, text } of logicalLines(block.code)) {
        let words = shellWords(text);
        if (words[0] === "pnpm" && words[1] === "actionqueue") words = words.slice(1);
        if (words[0] !== "actionqueue") continue;
        found.push({ where: `${readme}:${block.line + 1 + offset}`, text: text.trim(), args: words.slice(1) });
      }
    }
  }
  return found;
}

const helps = new Map<string, string>();

/** The binary's help for a command path (`[]` is the top level). */
function help(path: readonly string[]): string {
  const key = path.join(" ");
  let text = helps.get(key);
  if (text === undefined) {
    const run = spawnSync(process.execPath, [CLI_BIN, ...path, "--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    if (run.status !== 0) throw new Error(`actionqueue ${key} --help exited ${run.status}: ${run.stderr}`);
    text = run.stdout;
    helps.set(key, text);
  }
  return text;
}

/** The command a line runs: the longest run of leading lower-case words the binary knows as a command. */
function commandOf(args: readonly string[]): string[] | undefined {
  const words: string[] = [];
  for (const word of args) {
    if (!/^[a-z][a-z-]*$/.test(word) || words.length === 2) break;
    words.push(word);
  }
  if (words.length === 0) return [];
  // An unknown command prints the top-level help, whose usage line does not name it.
  for (let n = words.length; n >= 1; n--) {
    const path = words.slice(0, n);
    const usage = /^Usage: (.*)$/m.exec(help(path))?.[1] ?? "";
    if (usage.startsWith(`${["actionqueue", ...path].join(" ")} `)) return path;
  }
  return undefined;
}

/** The flags a line uses (`--state` from `--state=x`, `[--json]` or `--json]`). */
function flagsOf(args: readonly string[]): string[] {
  const flags: string[] = [];
  for (const word of args) {
    const match = /^\[?(--?[a-zA-Z][a-zA-Z-]*)/.exec(word);
    if (match !== null) flags.push(match[1]!);
  }
  return flags;
}

const lines = commandLines();

describe("actionqueue command lines in the READMEs", () => {
  it("there are such lines to check (the CLI README has most)", () => {
    expect(lines.length).toBeGreaterThanOrEqual(20);
    expect(lines.some((l) => l.where.startsWith("packages/cli/README.md"))).toBe(true);
  });

  for (const line of lines) {
    it(`${line.where}: ${line.text}`, () => {
      const path = commandOf(line.args);
      expect(path, `no such command in: ${line.text}`).toBeDefined();
      const text = help(path!);
      for (const flag of flagsOf(line.args)) {
        const listed = new RegExp(`(^|[\\s,])${flag}([\\s,=]|$)`, "m").test(text);
        expect(listed, `actionqueue ${path!.join(" ")} takes no ${flag}`).toBe(true);
      }
    });
  }
});
