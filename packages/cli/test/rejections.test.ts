/**
 * Every bad input is refused with the right exit code, a message naming the
 * value, and a data directory left byte-for-byte unchanged (or not created
 * at all when it did not exist).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTempDirs, cli, cliJson, hashTree, jsonError, submitOnce, tempDir } from "./helpers.js";

const UNKNOWN_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

let work: string;
let dataDir: string;
let runId: string;
let before: string;

beforeAll(async () => {
  work = tempDir();
  dataDir = join(work, "data");
  await submitOnce(dataDir, 1);
  const { json } = await cliJson<{ runIds: string[] }>(["submit", "--data-dir", dataDir, "--run-policy", "repeat:2:1h"]);
  runId = json.runIds[0]!;
  writeFileSync(join(work, "bad.json"), "{ not json");
  writeFileSync(join(work, "unknown-key.json"), JSON.stringify({ maxAttempt: 3 }));
  mkdirSync(join(work, "a-directory"));
  // Over the 16 MiB record limit of the WAL: refused by its size, before the queue is opened.
  writeFileSync(join(work, "oversized.bin"), Buffer.alloc(20 * 1024 * 1024));
  // Under the limit itself, but not with the rest of the record: refused by the queue.
  writeFileSync(join(work, "near-limit.bin"), Buffer.alloc(16 * 1024 * 1024 - 8));
  before = hashTree(dataDir);
});

afterAll(() => cleanupTempDirs());

interface Case {
  readonly name: string;
  readonly args: (dir: string) => string[];
  readonly exit: 2 | 3 | 4;
  readonly code?: string;
  /** Substrings the message must contain (the value, the flag). */
  readonly names: (dir: string) => string[];
  /** Also check the plain-text error line (a sample per exit code keeps the suite fast). */
  readonly text?: true;
}

const cases: Case[] = [
  // usage → 2
  { text: true, name: "unknown command", args: () => ["frobnicate"], exit: 2, code: "UNKNOWN_COMMAND", names: () => ["frobnicate"] },
  { name: "unknown flag", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--bogus"], exit: 2, code: "UNKNOWN_OPTION", names: () => ["--bogus"] },
  { name: "unknown flag on a read command", args: (d) => ["stats", "--data-dir", d, "--verbose"], exit: 2, code: "UNKNOWN_OPTION", names: () => ["--verbose"] },
  { text: true, name: "missing --run-policy", args: (d) => ["submit", "--data-dir", d], exit: 2, code: "MISSING_VALUE", names: () => ["--run-policy"] },
  { name: "flag without its value", args: (d) => ["submit", "--data-dir", d, "--run-policy"], exit: 2, code: "MISSING_VALUE", names: () => ["--run-policy"] },
  { name: "missing id", args: (d) => ["cancel", "task", "--data-dir", d], exit: 2, code: "MISSING_VALUE", names: () => ["id"] },
  { name: "missing subcommand", args: (d) => ["wal", "--data-dir", d], exit: 2, code: "MISSING_COMMAND", names: () => ["verify", "repair"] },
  {
    name: "both payload flags",
    args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload", "x", "--payload-json", "1"],
    exit: 2,
    code: "CONFLICTING_OPTIONS",
    names: () => ["--payload", "--payload-json"],
  },
  // invalid input → 3
  { text: true, name: "repeat count 0", args: (d) => ["submit", "--data-dir", d, "--run-policy", "repeat:0:60"], exit: 3, code: "INVALID_REPEAT_COUNT", names: () => ['--run-policy "repeat:0:60": count must be at least 1'] },
  { name: "unknown policy", args: (d) => ["submit", "--data-dir", d, "--run-policy", "weekly"], exit: 3, code: "INVALID_RUN_POLICY", names: () => ['"weekly"'] },
  { name: "bad interval", args: (d) => ["submit", "--data-dir", d, "--run-policy", "repeat:3:soon"], exit: 3, code: "INVALID_DURATION", names: () => ['"repeat:3:soon"'] },
  { name: "interval too large", args: (d) => ["submit", "--data-dir", d, "--run-policy", "repeat:2:99999999999d"], exit: 3, code: "INVALID_DURATION", names: () => ['"99999999999d"', "too large, at most"] },
  { name: "unknown --timezone", args: (d) => ["submit", "--data-dir", d, "--run-policy", "cron:0 9 * * *", "--timezone", "Mars/Olympus"], exit: 3, code: "INVALID_TIME_ZONE", names: () => ['--timezone "Mars/Olympus": expected an IANA time zone'] },
  {
    name: "payload file over the record limit",
    args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload", join(work, "oversized.bin")],
    exit: 3,
    code: "INVALID_PAYLOAD",
    names: () => [`--payload ${JSON.stringify(join(work, "oversized.bin"))}: the file is 20971520 bytes`, "16777216"],
  },
  { name: "bad cron", args: (d) => ["submit", "--data-dir", d, "--run-policy", "cron:99 * * * *"], exit: 3, code: "INVALID_CRON_EXPRESSION", names: () => ['"cron:99 * * * *"'] },
  { name: "non-ULID task id", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--task-id", "task-1"], exit: 3, code: "INVALID_ID", names: () => ["--task-id", '"task-1"'] },
  { name: "missing payload file", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload", "nope.bin"], exit: 3, code: "FILE_UNREADABLE", names: () => ["--payload", "nope.bin"] },
  { name: "payload is a directory", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload", join(work, "a-directory")], exit: 3, code: "FILE_UNREADABLE", names: () => ["a-directory"] },
  { name: "malformed payload JSON", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload-json", "{oops"], exit: 3, code: "INVALID_JSON", names: () => ["--payload-json", "{oops"] },
  { name: "malformed constraints JSON", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", "{maxAttempts:3}"], exit: 3, code: "INVALID_JSON", names: () => ["--constraints", "{maxAttempts:3}"] },
  { text: true, name: "unknown constraint key", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", '{"maxAttempt":3}'], exit: 3, code: "UNKNOWN_FIELD", names: () => ["--constraints", '"maxAttempt"'] },
  { name: "bad constraint value", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", '{"maxAttempts":0}'], exit: 3, code: "INVALID_MAX_ATTEMPTS", names: () => ["--constraints"] },
  { name: "bad timeout", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", '{"timeoutMs":0}'], exit: 3, code: "ZERO_TIMEOUT", names: () => ["--constraints"] },
  { text: true, name: "constraints file missing", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", "@missing.json"], exit: 3, code: "FILE_UNREADABLE", names: () => ["--constraints", "missing.json"] },
  { name: "constraints file malformed", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", `@${join(work, "bad.json")}`], exit: 3, code: "INVALID_JSON", names: () => ["--constraints", "bad.json"] },
  { name: "constraints file unknown key", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--constraints", `@${join(work, "unknown-key.json")}`], exit: 3, code: "UNKNOWN_FIELD", names: () => ["unknown-key.json", '"maxAttempt"'] },
  { name: "unknown metadata key", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--metadata", '{"prio":1}'], exit: 3, code: "UNKNOWN_FIELD", names: () => ["--metadata", '"prio"'] },
  { name: "bad priority", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--metadata", '{"priority":1.5}'], exit: 3, code: "INVALID_PRIORITY", names: () => ["--metadata"] },
  { name: "metadata not an object", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--metadata", "[1]"], exit: 3, code: "INVALID_FIELD", names: () => ["--metadata"] },
  { name: "empty --data-dir", args: () => ["stats", "--data-dir", ""], exit: 3, code: "INVALID_OPTION", names: () => ["--data-dir"] },
  { text: true, name: "tasks get non-ULID", args: (d) => ["tasks", "get", "xyz", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"xyz"'] },
  { name: "runs get non-ULID", args: (d) => ["runs", "get", "run-9", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"run-9"'] },
  { name: "runs explain non-ULID", args: (d) => ["runs", "explain", "0000", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"0000"'] },
  { name: "cancel task non-ULID", args: (d) => ["cancel", "task", "abc", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"abc"'] },
  { name: "cancel run non-ULID", args: (d) => ["cancel", "run", "abc", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"abc"'] },
  { name: "resume-run non-ULID", args: (d) => ["resume-run", "abc", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ['"abc"'] },
  { name: "tasks get unknown", args: (d) => ["tasks", "get", UNKNOWN_ULID, "--data-dir", d], exit: 3, code: "NOT_FOUND", names: () => [UNKNOWN_ULID] },
  { text: true, name: "cancel task unknown", args: (d) => ["cancel", "task", UNKNOWN_ULID, "--data-dir", d], exit: 3, code: "NOT_FOUND", names: () => [UNKNOWN_ULID] },
  { name: "cancel run unknown", args: (d) => ["cancel", "run", UNKNOWN_ULID, "--data-dir", d], exit: 3, code: "NOT_FOUND", names: () => [UNKNOWN_ULID] },
  { name: "resume-run of a run that is not suspended", args: (d) => ["resume-run", runId, "--data-dir", d], exit: 3, code: "INVALID_TRANSITION", names: () => [runId, "not suspended"] },
  { name: "bad --state", args: (d) => ["runs", "list", "--state", "sleeping", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ['"sleeping"'] },
  { name: "bad --limit", args: (d) => ["runs", "list", "--limit", "0", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ['--limit "0"'] },
  { name: "bad --task", args: (d) => ["runs", "list", "--task", "t1", "--data-dir", d], exit: 3, code: "INVALID_ID", names: () => ["--task", '"t1"'] },
  { name: "missing handler module", args: (d) => ["run", "--handler", "missing.mjs", "--data-dir", d], exit: 3, code: "FILE_UNREADABLE", names: () => ["missing.mjs"] },
  { name: "module without handlers", args: (d) => ["run", "--handler", "no-handlers.mjs", "--data-dir", d], exit: 3, code: "INVALID_HANDLER_MODULE", names: () => ["no-handlers.mjs"] },
  { text: true, name: "module that throws", args: (d) => ["run", "--handler", "broken.mjs", "--data-dir", d], exit: 3, code: "INVALID_HANDLER_MODULE", names: () => ["broken.mjs", "broken module on purpose"] },
  { name: "bad --concurrency", args: (d) => ["run", "--handler", "handlers.mjs", "--concurrency", "0", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ['--concurrency "0"'] },
  { name: "run: bad --retain", args: (d) => ["run", "--handler", "handlers.mjs", "--retain", "forever", "--data-dir", d], exit: 3, code: "INVALID_DURATION", names: () => ['--retain "forever"'] },
  { name: "purge: bad --older-than", args: (d) => ["purge", "--older-than", "a week", "--data-dir", d], exit: 3, code: "INVALID_DURATION", names: () => ["--older-than", '"a week"'] },
  { name: "purge: bad --states", args: (d) => ["purge", "--states", "completed,running", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ["--states", '"running"'] },
  { name: "purge: bad --limit", args: (d) => ["purge", "--limit", "-3", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ['--limit "-3"'] },
  { name: "purge: --limit 0", args: (d) => ["purge", "--limit", "0", "--data-dir", d], exit: 3, code: "INVALID_OPTION", names: () => ['--limit "0"', "from 1"] },
];

describe("rejected commands on an existing data directory", () => {
  it.concurrent.each(cases)("$name → exit $exit, named, directory unchanged", async (c) => {
    const json = await cli([...c.args(dataDir), "--json"]);
    expect(json.code, json.stderr).toBe(c.exit);
    expect(json.stdout).toBe("");
    const error = jsonError(json);
    if (c.code !== undefined) expect(error.code).toBe(c.code);
    for (const name of c.names(dataDir)) expect(error.message).toContain(name);

    if (c.text) {
      const text = await cli(c.args(dataDir));
      expect(text.code).toBe(c.exit);
      expect(text.stdout).toBe("");
      expect(text.stderr).toMatch(/^error: [^\n]+\n$/);
      for (const name of c.names(dataDir)) expect(text.stderr).toContain(name);
    }
    expect(hashTree(dataDir)).toBe(before);
  });
});

// Refused by the queue itself, with the directory open and locked (so not
// beside the concurrent cases above, whose hashes would see the lock file).
describe("submissions the queue refuses, on an existing data directory", () => {
  const refused: Array<{ name: string; args: (d: string) => string[]; names: string[] }> = [
    { name: "repeat over the limit", args: (d) => ["submit", "--data-dir", d, "--run-policy", "repeat:1000000:1s"], names: ["--run-policy", "1000000"] },
    { name: "payload just under the record limit", args: (d) => ["submit", "--data-dir", d, "--run-policy", "once", "--payload", join(work, "near-limit.bin")], names: ['--payload "', 'near-limit.bin": ', "16777216"] },
  ];
  it.each(refused)("$name → exit 3, directory unchanged", async (c) => {
    const run = await cli([...c.args(dataDir), "--json"]);
    expect(run.code, run.stderr).toBe(3);
    for (const name of c.names) expect(jsonError(run).message).toContain(name);
    expect(hashTree(dataDir)).toBe(before);
  });
});

describe("unreadable files", () => {
  // Root reads any file whatever its mode (CAP_DAC_OVERRIDE). As root, the
  // binary runs under setpriv without the two capabilities that bypass file
  // permissions, so the mode applies to it as to anyone else.
  const root = process.getuid?.() === 0;
  const prefix = root ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] : [];
  const setprivMissing = root && spawnSync("setpriv", ["--version"]).status !== 0;

  it.skipIf(setprivMissing)("a payload file without read permission → exit 3 naming it", async () => {
    const file = join(work, "secret.bin");
    writeFileSync(file, "x");
    chmodSync(file, 0o000);
    const args = ["submit", "--run-policy", "once", "--payload", file, "--json", "--data-dir", dataDir];
    const run = await cli(args, { prefix });
    expect(run.code).toBe(3);
    expect(jsonError(run)).toMatchObject({ code: "FILE_UNREADABLE" });
    expect(jsonError(run).message).toContain("secret.bin");
    expect(hashTree(dataDir)).toBe(before);
    // The same submission with the file readable goes through: it was the permission that was refused.
    chmodSync(file, 0o600);
    const ok = await cli(args, { prefix });
    expect(ok.code).toBe(0);
    before = hashTree(dataDir);
  });
});

describe("rejected commands on a directory that does not exist", () => {
  const missingCases: Array<{ name: string; args: (d: string) => string[]; exit: number }> = [
    { name: "stats", args: (d) => ["stats", "--data-dir", d], exit: 4 },
    { name: "tasks list", args: (d) => ["tasks", "list", "--data-dir", d], exit: 4 },
    { name: "runs list", args: (d) => ["runs", "list", "--data-dir", d], exit: 4 },
    { name: "runs get", args: (d) => ["runs", "get", UNKNOWN_ULID, "--data-dir", d], exit: 4 },
    { name: "cancel task", args: (d) => ["cancel", "task", UNKNOWN_ULID, "--data-dir", d], exit: 4 },
    { name: "pause", args: (d) => ["pause", "--data-dir", d], exit: 4 },
    { name: "wal verify", args: (d) => ["wal", "verify", "--data-dir", d], exit: 4 },
    { name: "wal repair", args: (d) => ["wal", "repair", "--truncate-partial", "--data-dir", d], exit: 4 },
    { name: "snapshot", args: (d) => ["snapshot", "--data-dir", d], exit: 4 },
    { name: "submit with a bad policy", args: (d) => ["submit", "--run-policy", "repeat:0:1s", "--data-dir", d], exit: 3 },
    { name: "submit with a bad constraint", args: (d) => ["submit", "--run-policy", "once", "--constraints", '{"x":1}', "--data-dir", d], exit: 3 },
    // Refused inside the queue, after the open created the directory: it is removed again.
    { name: "submit over the repeat limit", args: (d) => ["submit", "--run-policy", "repeat:1000000:1s", "--data-dir", d], exit: 3 },
    { name: "submit with a payload over the record limit", args: (d) => ["submit", "--run-policy", "once", "--payload", join(work, "oversized.bin"), "--data-dir", d], exit: 3 },
    { name: "submit with a cron that never fires", args: (d) => ["submit", "--run-policy", "cron:0 0 30 2 *", "--data-dir", d], exit: 3 },
    // The open creates missing ancestors too: they go as well.
    { name: "submit over the repeat limit, two levels deep", args: (d) => ["submit", "--run-policy", "repeat:1000000:1s", "--data-dir", join(d, "nested", "data")], exit: 3 },
    { name: "submit with a cron starting after its last time", args: (d) => ["submit", "--run-policy", "cron:0 0 * * *", "--start-at", "99999999999999", "--data-dir", d], exit: 3 },
    { name: "run with a bad module", args: (d) => ["run", "--handler", "broken.mjs", "--until-idle", "--data-dir", d], exit: 3 },
  ];
  it.concurrent.each(missingCases)("$name → exit $exit, nothing created", async (c) => {
    const parent = tempDir();
    const missing = join(parent, "not", "there");
    const run = await cli([...c.args(missing), "--json"]);
    expect(run.code, run.stderr).toBe(c.exit);
    if (c.exit === 4) expect(jsonError(run).message).toContain(missing);
    expect(hashTree(parent)).toBe("");
  });

  it("the default data directory comes from $ACTIONQUEUE_DATA_DIR, then ~/.actionqueue/data", async () => {
    const home = tempDir();
    const fromEnv = join(home, "env-dir");
    const viaEnv = await cli(["stats", "--json"], { env: { HOME: home, ACTIONQUEUE_DATA_DIR: fromEnv } });
    expect(viaEnv.code).toBe(4);
    expect(jsonError(viaEnv).message).toContain(fromEnv);
    const viaHome = await cli(["stats", "--json"], { env: { HOME: home } });
    expect(viaHome.code).toBe(4);
    expect(jsonError(viaHome).message).toContain(join(home, ".actionqueue", "data"));
    expect(hashTree(home)).toBe("");
  });
});
