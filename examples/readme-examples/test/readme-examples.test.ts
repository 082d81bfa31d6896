/**
 * Every TypeScript and JavaScript example in the READMEs, run as a reader
 * would run it: the block written to a module next to this package (so that
 * `@actionqueue/*` resolve to the built workspace packages), executed with
 * tsx in a fresh temporary directory (where its `./data` goes), its output
 * checked against what the README says it prints. The runnable ones are also
 * type-checked together with `tsc`. A block that is a fragment (a signature,
 * a file of a project that does not exist here) is listed with the reason;
 * a new block that is neither fails the first test, so no README example
 * escapes the check.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BIN, readmeCodeBlocks } from "../src/readmes.js";

const MODULES = fileURLToPath(new URL("../.examples/", import.meta.url));
const require = createRequire(import.meta.url);
const TSX = require.resolve("tsx");

const CODE_LANGS = new Set(["ts", "typescript", "js", "mjs", "javascript"]);

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Example {
  /** What the README calls the thing the block shows. */
  readonly title: string;
  /** Code put before the block: a stand-in for a function the reader supplies. */
  readonly prelude?: string;
  /** Runs the module written for the block, in `cwd`; resolves with what to check. */
  readonly run: (module: string, cwd: string) => Promise<Run>;
  /** Checks the output against what the README says. */
  readonly check: (run: Run) => void;
}

/** A block of code, by README and its position among that README's code blocks (0-based). */
type BlockKey = `${string}#${number}`;

/** The runnable examples. */
const RUNNABLE: Record<BlockKey, Example> = {
  "README.md#0": {
    title: "In a few lines",
    prelude: "const sendEmail = async (_to: string, _options: { signal: AbortSignal }): Promise<void> => {};\n",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => expect(run.stderr).toBe(""),
  },
  "packages/cli/README.md#0": {
    title: "a handler module",
    prelude: "const send = async (_to, _options) => {};\n",
    run: async (module, cwd) => {
      const dataDir = join(cwd, "data");
      await cliOk(["submit", "--data-dir", dataDir, "--run-policy", "once", "--payload-json", '"hello"'], cwd);
      await cliOk(["submit", "--data-dir", dataDir, "--run-policy", "once", "--name", "email", "--payload-json", '{"to":"a@example.com"}'], cwd);
      await cliOk(["run", "--data-dir", dataDir, "--handler", module, "--until-idle"], cwd);
      return cliOk(["stats", "--data-dir", dataDir, "--json"], cwd);
    },
    check: (run) => {
      const stats = JSON.parse(run.stdout) as { runsByState: Record<string, number>; attemptsByResult: Record<string, number> };
      expect(stats.runsByState.completed).toBe(2);
      expect(stats.attemptsByResult).toMatchObject({ success: 2, failure: 0 });
    },
  },
  "packages/cli/README.md#1": {
    title: "As a library",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => {
      expect(run.stdout).toMatch(/"taskId": ?"[0-9A-Z]{26}"/);
      expect(run.stdout).toMatch(/scheduled\D+3/);
    },
  },
  "packages/core/README.md#0": {
    title: "the core example",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => {
      expect(run.stdout).toContain('"runPolicy":{"kind":"repeat","count":3,"intervalMs":900000}');
      expect(run.stdout).toContain("invalid transition completed → running");
    },
  },
  "packages/daemon/README.md#0": {
    title: "Embedded, from code",
    run: async (module, cwd) => {
      writeFileSync(join(cwd, "handlers.mjs"), "export default async (ctx) => ({ got: ctx.json() });\n");
      const child = startModule(module, cwd, { ACTIONQUEUE_TOKEN: "a-token-of-at-least-16-chars" });
      const url = await child.line(/^http:\/\/127\.0\.0\.1:\d+/);
      const ready = await fetch(new URL("/ready", url));
      expect(ready.status).toBe(200);
      child.kill("SIGTERM");
      return child.result;
    },
    check: (run) => {
      expect(run.signal).toBeNull();
      expect(run.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/?\n$/);
    },
  },
  "packages/engine/README.md#0": {
    title: "the engine example",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => expect(run.stdout).toMatch(/^[0-9A-Z]{26} \d+\n$/),
  },
  "packages/executor-local/README.md#0": {
    title: "the executor example",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => expect(run.stdout).toBe("success { kind: 'completed' }\n"),
  },
  "packages/runtime/README.md#0": {
    title: "the runtime example",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => {
      expect(run.stdout).toMatch(/^completed \{/);
      expect(run.stdout).toMatch(/completed: 4/);
    },
  },
  "packages/storage/README.md#0": {
    title: "the storage example",
    run: (module, cwd) => runModule(module, cwd),
    check: (run) => {
      expect(run.stdout).toMatch(/^ready \{/);
      expect(run.stdout).toMatch(/\n\d+ \[\]\n$/);
    },
  },
};

/** Blocks that are not whole programs, and why. */
const FRAGMENTS: Record<BlockKey, string> = {
  "packages/runtime/README.md#1": "the signature of submit, not code",
  "packages/runtime/README.md#2": "one call on an `aq` opened earlier in the README (a delayed job)",
  "packages/runtime/README.md#3": "one call on an `aq` opened earlier in the README, with a `payload` of the reader's (a task's own backoff)",
  "packages/runtime/README.md#4": "ActionQueue.open with gates, around the reader's own `handlers`",
  "packages/runtime/README.md#5": "two calls on an `aq` opened earlier in the README",
  "packages/storage/README.md#1": "a backend's conformance test, in a project that has the backend",
  "packages/storage-testkit/README.md#0": "a backend's conformance test, in a project that has the backend",
};

interface FoundBlock {
  readonly key: BlockKey;
  readonly lang: string;
  readonly line: number;
  readonly code: string;
}

function readmeBlocks(): FoundBlock[] {
  const found: FoundBlock[] = [];
  for (const { readme, blocks: all } of readmeCodeBlocks()) {
    const blocks = all.filter((b) => CODE_LANGS.has(b.lang));
    blocks.forEach((b, i) => found.push({ key: `${readme}#${i}`, lang: b.lang, line: b.line, code: b.code }));
  }
  return found;
}

const scratch: string[] = [];

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "aq-readme-"));
  scratch.push(dir);
  return dir;
}

/** The module a block is written to: `.mts` for TypeScript, `.mjs` for JavaScript. */
function moduleFor(block: FoundBlock): string {
  const name = block.key.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return join(MODULES, `${name}.${block.lang === "ts" || block.lang === "typescript" ? "mts" : "mjs"}`);
}

type Started = ReturnType<typeof spawn> & { result: Promise<Run>; line: (pattern: RegExp) => Promise<string> };

function startModule(module: string, cwd: string, env: Record<string, string> = {}): Started {
  return start(process.execPath, ["--import", TSX, module], cwd, env);
}

function start(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): Started {
  const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const result = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const line = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      const match = stdout.split("\n").find((l) => pattern.test(l));
      if (match !== undefined) return match;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before printing ${String(pattern)}: ${stderr}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return Object.assign(child, { result, line });
}

async function runModule(module: string, cwd: string): Promise<Run> {
  return startModule(module, cwd).result;
}

async function cliOk(args: readonly string[], cwd: string): Promise<Run> {
  const run = await start(process.execPath, [CLI_BIN, ...args], cwd).result;
  if (run.code !== 0) throw new Error(`actionqueue ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return run;
}

const blocks = readmeBlocks();

beforeAll(() => {
  rmSync(MODULES, { recursive: true, force: true });
  mkdirSync(MODULES, { recursive: true });
  for (const block of blocks) {
    const example = RUNNABLE[block.key];
    if (example !== undefined) writeFileSync(moduleFor(block), `${example.prelude ?? ""}${block.code}`);
  }
});

afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("README examples", () => {
  it("every code block is either run here or listed as a fragment with a reason", () => {
    const unaccounted = blocks.filter((b) => RUNNABLE[b.key] === undefined && FRAGMENTS[b.key] === undefined).map((b) => `${b.key} (line ${b.line})`);
    expect(unaccounted).toEqual([]);
    const found = new Set(blocks.map((b) => b.key));
    const stale = [...Object.keys(RUNNABLE), ...Object.keys(FRAGMENTS)].filter((key) => !found.has(key as BlockKey));
    expect(stale).toEqual([]);
  });

  for (const block of blocks) {
    const example = RUNNABLE[block.key];
    if (example === undefined) continue;
    it(`${block.key} (line ${block.line}, ${example.title}) runs and prints what the README says`, async () => {
      const run = await example.run(moduleFor(block), scratchDir());
      if (run.code !== 0) throw new Error(`exited ${run.code ?? run.signal}:\n${run.stderr}\n${run.stdout}`);
      example.check(run);
    });
  }

  it("the runnable examples type-check against the packages' declarations", () => {
    const tsconfig = {
      extends: "../../../tsconfig.base.json",
      compilerOptions: { composite: false, declaration: false, declarationMap: false, noEmit: true, allowJs: true, checkJs: false, rootDir: "." },
      include: ["*.mts", "*.mjs"],
    };
    writeFileSync(join(MODULES, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", MODULES], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });
});
