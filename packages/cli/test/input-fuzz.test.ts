/**
 * Property-based fuzzing (fast-check) of `actionqueue submit` with bad flag
 * values, running the real built binary against a data directory that already
 * holds a task.
 *
 * For every generated case — a bad run policy (unknown form, bad repeat count
 * or interval, bad cron), task id, name, payload JSON or file, constraints or
 * metadata given inline or as @FILE (not JSON, not an object, an unknown key,
 * a bad value), an unknown flag, conflicting payload flags, or a task id that
 * exists with another spec — it proves that:
 *
 * - the exit code is the documented one for bad input (3; 2 for usage);
 * - nothing is printed on stdout and stderr is one `{"error":{"code","message"}}`
 *   line whose message names the flag (or the field) and the value;
 * - the data directory is byte-for-byte unchanged (every file's path, size and hash).
 *
 * A valid submission is interleaved every few cases and must change the
 * directory, which shows the comparison can fail. Each spawn costs about
 * 0.3 s, so the property runs 20 cases; fast-check draws different ones each
 * run and prints the seed of a failure.
 *
 * The "edge inputs" block states the behaviour required for single shapes:
 * deep nesting, a count at the top of the documented range, a schedule that
 * overflows, and requiredCapabilities that is not a list.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIL_ID, TASK_NAME_MAX_LENGTH, U32_MAX, describeValue } from "@actionqueue/core";
import { cleanupTempDirs, cli, hashTree, jsonError, tempDir } from "./helpers.js";
import type { CliRun } from "./helpers.js";

const EXIT_USAGE = 2;
const EXIT_INVALID_INPUT = 3;
/** An existing task (a repeat, so it differs from any `once` resubmission). */
const KNOWN_TASK = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
/** A valid submission after this many cases. */
const VALID_EVERY = 6;
const SUBMIT_FLAGS = [
  "run-policy",
  "name",
  "task-id",
  "payload",
  "payload-json",
  "content-type",
  "constraints",
  "metadata",
  "data-dir",
  "json",
  "help",
  "version",
];

let work = "";
let dataDir = "";
/** The directory's fingerprint after the last accepted submission. */
let before = "";

/** `submit` with `args` on the shared directory, errors as JSON. */
const submit = (args: readonly string[], env?: Readonly<Record<string, string>>): Promise<CliRun> =>
  cli(["submit", "--data-dir", dataDir, ...args, "--json"], env === undefined ? {} : { env });

// ---------------------------------------------------------------------------
// A case: flags and what their refusal must look like

interface BadFlags {
  /** Flags after `submit`; the token FILE stands for a file holding `file`. */
  readonly args: readonly string[];
  readonly file?: string;
  readonly exit: number;
  readonly code?: string;
  /** The message contains each of these: the flag or field, the value as printed. */
  readonly names: readonly string[];
  /** … and at least one of these, where the flag and the field are both fair names. */
  readonly oneOf?: readonly string[];
}

const shown = (value: unknown): string => describeValue(value);

let cases = 0;
let validSubmits = 0;

/** Every few cases a valid submission: it must exit 0 and change the directory. */
async function submitValidEveryFewCases(): Promise<void> {
  if (++cases % VALID_EVERY !== 0) return;
  validSubmits++;
  const run = await submit([
    "--run-policy",
    "repeat:2:1h",
    "--name",
    `valid-${validSubmits}`,
    "--payload-json",
    '{"fuzz":true}',
  ]);
  expect(run.code, run.stderr).toBe(0);
  const after = hashTree(dataDir);
  // The comparison bad input is held to must be able to fail.
  expect(after, "a valid submit changes the data directory").not.toBe(before);
  before = after;
}

async function expectRefused(bad: BadFlags): Promise<void> {
  await submitValidEveryFewCases();
  const file = join(work, "flag-value.json");
  if (bad.file !== undefined) writeFileSync(file, bad.file);
  const args = bad.args.map((arg) => arg.replace("FILE", file));
  const run = await submit(args);
  const label = `submit ${JSON.stringify(args)}${bad.file === undefined ? "" : ` (file: ${bad.file})`}\n→ exit ${String(run.code)} ${run.stderr.slice(0, 400)}`;
  try {
    expect(run.code, label).toBe(bad.exit);
    expect(run.stdout, label).toBe("");
    const error = jsonError(run);
    expect(error.code, label).toMatch(/^[A-Z][A-Z0-9_]*$/);
    if (bad.code !== undefined) expect(error.code, label).toBe(bad.code);
    for (const name of bad.names) expect(error.message, label).toContain(name);
    if (bad.oneOf !== undefined) {
      expect(
        bad.oneOf.some((name) => error.message.includes(name)),
        `${label}\nthe message names none of ${JSON.stringify(bad.oneOf)}`,
      ).toBe(true);
    }
    expect(hashTree(dataDir), `${label}\nthe data directory changed`).toBe(before);
  } catch (error) {
    // A failed case may have written: later cases compare against what is on disk now.
    before = hashTree(dataDir);
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Generators

const flag = (name: string, value: string) => `--${name}=${value}`; // "=": a value may start with "-"
const ULID_ANY_CASE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const ulid = fc.stringMatching(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/).filter((id) => id !== NIL_ID);
const notUlid = fc.oneof(
  fc.string({ maxLength: 30 }).filter((text) => !ULID_ANY_CASE.test(text)),
  fc
    .tuple(ulid, fc.nat(25), fc.constantFrom("I", "L", "O", "U", "-", " "))
    .map(([id, at, char]) => id.slice(0, at) + char + id.slice(at + 1)),
  ulid.map((id) => `9${id.slice(1)}`),
);
const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const notJson = fc.string({ maxLength: 30 }).filter((text) => !parses(text));
/** Inline, a value starting with "@" names a file. */
const notJsonInline = notJson.filter((text) => !text.startsWith("@"));
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const notPositiveInt = fc.oneof(
  fc.integer({ max: 0 }),
  finiteDouble.filter((n) => !(Number.isSafeInteger(n) && n >= 1 && n <= U32_MAX)),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
);

/** The documented policy forms, with one part wrong. */
const badPolicy = fc.oneof(
  fc
    .string({ maxLength: 20 })
    .filter((text) => text !== "once" && !text.startsWith("repeat:") && !text.startsWith("cron:")),
  fc
    .oneof(
      fc.constantFrom("0", "x", "-1", "1.5"),
      fc.bigInt({ min: BigInt(U32_MAX) + 1n, max: 10n ** 25n }).map(String),
    )
    .map((count) => `repeat:${count}:1m`),
  fc
    .oneof(
      fc.constantFrom("0s", "0", "-5s", "1.5ms", "soon", "1w", ""),
      fc
        .stringMatching(/^[a-z]{1,6}$/)
        .filter((unit) => !["ms", "s", "m", "h", "d"].includes(unit))
        .map((unit) => `5${unit}`),
    )
    .map((interval) => `repeat:3:${interval}`),
  fc.constantFrom("repeat:3", "repeat:1:2:3"),
  fc
    .oneof(
      fc.constantFrom(
        "",
        "* * *",
        "* * * * * * *",
        "61 * * * *",
        "* 25 * * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 9",
        "*/0 * * * *",
        "x * * * *",
        "@reboot",
      ),
      fc.integer({ min: 60, max: 999 }).map((minute) => `${minute} * * * *`),
    )
    .map((expression) => `cron:${expression}`),
);

/** A JSON value that parses but is wrong for a flag, with the field the message must name. */
interface BadJson {
  readonly json: unknown;
  readonly field: string;
  readonly value?: string;
}

/** JSON that is not an object, for a flag that takes one (--constraints, --metadata). */
const notAnObjectJson: fc.Arbitrary<BadJson> = fc
  .oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }))
  .map((json) => ({ json, field: "object", value: shown(json) }));

/** A JSON text for --constraints that parses but is wrong, with the field the message must name. */
const badConstraints: fc.Arbitrary<BadJson> = fc.oneof(
  notAnObjectJson,
  fc
    .string({ minLength: 1, maxLength: 10 })
    .filter(
      (key) =>
        ![
          "maxAttempts",
          "timeoutMs",
          "concurrencyKey",
          "concurrencyKeyHoldPolicy",
          "safetyLevel",
          "requiredCapabilities",
          "__proto__",
          "constructor",
        ].includes(key),
    )
    .map((key) => ({ json: { [key]: 1 }, field: JSON.stringify(key) })),
  notPositiveInt.map((maxAttempts) => ({
    json: { maxAttempts },
    field: "maxAttempts",
    value: shown(maxAttempts),
  })),
  notPositiveInt.map((timeoutMs) => ({
    json: { timeoutMs },
    field: "timeoutMs",
    value: shown(timeoutMs),
  })),
  fc
    .constantFrom<unknown>("", 0, false)
    .map((concurrencyKey) => ({
      json: { concurrencyKey },
      field: "concurrencyKey",
      value: shown(concurrencyKey),
    })),
  fc
    .string({ maxLength: 10 })
    .filter((text) => !["holdDuringRetry", "releaseOnRetry"].includes(text))
    .map((policy) => ({
      json: { concurrencyKeyHoldPolicy: policy },
      field: "concurrencyKeyHoldPolicy",
      value: shown(policy),
    })),
  fc
    .string({ maxLength: 10 })
    .filter((text) => !["pure", "idempotent", "transactional"].includes(text))
    .map((level) => ({ json: { safetyLevel: level }, field: "safetyLevel", value: shown(level) })),
  fc
    .constantFrom<unknown[]>([], [""], ["gpu", 7])
    .map((list) => ({ json: { requiredCapabilities: list }, field: "requiredCapabilities" })),
);

const badMetadata: fc.Arbitrary<BadJson> = fc.oneof(
  notAnObjectJson,
  fc
    .string({ minLength: 1, maxLength: 10 })
    .filter((key) => !["tags", "priority", "description", "__proto__", "constructor"].includes(key))
    .map((key) => ({ json: { [key]: 1 }, field: JSON.stringify(key) })),
  fc
    // null inside the object means "not given" (the default), so it is not offered as a bad value.
    .oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant([1]), fc.constant([null]))
    .map((tags) => ({ json: { tags }, field: "tags" })),
  fc
    .oneof(
      finiteDouble.filter(
        (n) => !(Number.isInteger(n) && n >= -2_147_483_648 && n <= 2_147_483_647),
      ),
      fc.string({ maxLength: 4 }),
    )
    .map((priority) => ({ json: { priority }, field: "priority", value: shown(priority) })),
  fc
    .oneof(fc.integer(), fc.boolean())
    .map((description) => ({
      json: { description },
      field: "description",
      value: shown(description),
    })),
);

/** --constraints or --metadata: not JSON, or JSON that is wrong; inline or from @FILE. */
const badJsonFlag = (name: "constraints" | "metadata", wrong: typeof badConstraints) =>
  fc.oneof(
    notJsonInline.map((text): BadFlags => ({
      args: [flag(name, text)],
      exit: EXIT_INVALID_INPUT,
      code: "INVALID_JSON",
      names: [`--${name}`, JSON.stringify(text)],
    })),
    notJson.map((text): BadFlags => ({
      args: [flag(name, "@FILE")],
      file: text,
      exit: EXIT_INVALID_INPUT,
      code: "INVALID_JSON",
      names: [`--${name}`, "flag-value.json"],
    })),
    fc.tuple(wrong, fc.boolean()).map(([bad, fromFile]): BadFlags => ({
      ...(fromFile
        ? { args: [flag(name, "@FILE")], file: JSON.stringify(bad.json) }
        : { args: [flag(name, JSON.stringify(bad.json))] }),
      exit: EXIT_INVALID_INPUT,
      // The field is "object" when the whole value is not an object: the message says it expected one.
      names: [`--${name}`, bad.field, ...(bad.value === undefined ? [] : [bad.value])],
    })),
  );

const badFlags: fc.Arbitrary<BadFlags> = fc.oneof(
  {
    weight: 4,
    arbitrary: badPolicy.map((policy): BadFlags => ({
      args: [flag("run-policy", policy)],
      exit: EXIT_INVALID_INPUT,
      names: ["--run-policy", JSON.stringify(policy)],
    })),
  },
  {
    weight: 2,
    arbitrary: notUlid.map((id): BadFlags => ({
      args: ["--run-policy=once", flag("task-id", id)],
      exit: EXIT_INVALID_INPUT,
      code: "INVALID_ID",
      names: ["--task-id", shown(id)],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constant<BadFlags>({
      args: ["--run-policy=once", flag("task-id", NIL_ID)],
      exit: EXIT_INVALID_INPUT,
      names: [NIL_ID],
      oneOf: ["--task-id", "task id"],
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constant(""),
        fc.string({ minLength: TASK_NAME_MAX_LENGTH + 1, maxLength: TASK_NAME_MAX_LENGTH + 30 }),
      )
      .map((name): BadFlags => ({
        args: ["--run-policy=once", flag("name", name)],
        exit: EXIT_INVALID_INPUT,
        code: "INVALID_TASK_NAME",
        names: ["name", shown(name)],
      })),
  },
  {
    weight: 2,
    arbitrary: notJson.map((text): BadFlags => ({
      args: ["--run-policy=once", flag("payload-json", text)],
      exit: EXIT_INVALID_INPUT,
      code: "INVALID_JSON",
      names: ["--payload-json", JSON.stringify(text)],
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .stringMatching(/^[a-z0-9_-]{1,12}$/)
      .map((name): BadFlags => ({
        args: ["--run-policy=once", flag("payload", join("no-such-dir", name))],
        exit: EXIT_INVALID_INPUT,
        code: "FILE_UNREADABLE",
        names: ["--payload", name],
      })),
  },
  {
    weight: 3,
    arbitrary: badJsonFlag("constraints", badConstraints).map((bad) => ({
      ...bad,
      args: ["--run-policy=once", ...bad.args],
    })),
  },
  {
    weight: 3,
    arbitrary: badJsonFlag("metadata", badMetadata).map((bad) => ({
      ...bad,
      args: ["--run-policy=once", ...bad.args],
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .stringMatching(/^[a-z][a-z-]{0,14}$/)
      .filter((name) => !SUBMIT_FLAGS.includes(name))
      .map((name): BadFlags => ({
        args: ["--run-policy=once", `--${name}`],
        exit: EXIT_USAGE,
        code: "UNKNOWN_OPTION",
        names: [`--${name}`],
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constant<BadFlags>({
      args: ["--run-policy=once", "--payload=x", "--payload-json=1"],
      exit: EXIT_USAGE,
      code: "CONFLICTING_OPTIONS",
      names: ["--payload", "--payload-json"],
    }),
  },
  // The id of the existing task with another spec: refused after the directory was opened, and still nothing written.
  {
    weight: 1,
    arbitrary: fc
      .boolean()
      .map((lower): BadFlags => ({
        args: ["--run-policy=once", flag("task-id", lower ? KNOWN_TASK.toLowerCase() : KNOWN_TASK)],
        exit: EXIT_INVALID_INPUT,
        code: "TASK_SPEC_MISMATCH",
        names: [KNOWN_TASK],
      })),
  },
);

// ---------------------------------------------------------------------------

beforeAll(async () => {
  work = tempDir("aq-cli-fuzz-");
  dataDir = join(work, "data");
  const run = await submit(["--run-policy", "repeat:2:1h", "--task-id", KNOWN_TASK]);
  expect(run.code, run.stderr).toBe(0);
  before = hashTree(dataDir);
});

afterAll(() => cleanupTempDirs());

describe("submit: bad flag values exit 3 (2 for usage), name the flag and value, change nothing", () => {
  it("generated bad flags", async () => {
    await fc.assert(
      fc.asyncProperty(badFlags, (bad) => expectRefused(bad)),
      { numRuns: 20 },
    );
    expect(validSubmits, "valid submissions were interleaved").toBeGreaterThanOrEqual(3);
  });
});

describe("edge inputs", () => {
  it("--payload-json nested deeper than a recursive serialiser can follow: exit 3 naming it, or accepted; never an internal error", async () => {
    const depth = 20_000; // 40 KB of argument, well under the OS limit on one argument
    const run = await submit([
      "--run-policy=once",
      flag("payload-json", `${"[".repeat(depth)}${"]".repeat(depth)}`),
    ]);
    const label = `exit ${String(run.code)} ${run.stderr.slice(0, 300)}`;
    try {
      expect([0, EXIT_INVALID_INPUT], label).toContain(run.code);
      if (run.code === EXIT_INVALID_INPUT) {
        expect(jsonError(run).message, label).toContain("--payload-json");
        expect(hashTree(dataDir), label).toBe(before);
      }
    } finally {
      before = hashTree(dataDir);
    }
  });

  it("--constraints requiredCapabilities that is not a list: exit 3 naming it (not split into characters, not an internal error)", async () => {
    for (const requiredCapabilities of ["gpu", 5]) {
      await expectRefused({
        args: ["--run-policy=once", flag("constraints", JSON.stringify({ requiredCapabilities }))],
        exit: EXIT_INVALID_INPUT,
        names: ["--constraints", "requiredCapabilities"],
      });
    }
  });

  it("a repeat schedule that overflows epoch milliseconds: exit 3 naming --run-policy", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 1_000 })
          .chain((count) =>
            fc.tuple(
              fc.constant(count),
              fc.integer({
                min: Math.ceil(Number.MAX_SAFE_INTEGER / (count - 1)),
                max: Number.MAX_SAFE_INTEGER,
              }),
            ),
          ),
        ([count, intervalMs]) =>
          expectRefused({
            args: [flag("run-policy", `repeat:${count}:${intervalMs}ms`)],
            exit: EXIT_INVALID_INPUT,
            names: ["--run-policy", `repeat:${count}:${intervalMs}ms`],
          }),
      ),
      { numRuns: 2 },
    );
  });

  it("a repeat count at the top of the documented range (4294967295): exit 0 or 3, never a crash that leaves the directory changed", async () => {
    // A directory of its own: a crash here must not leave its stale lock in the shared one.
    const own = join(tempDir("aq-cli-fuzz-"), "data");
    expect((await cli(["submit", "--data-dir", own, "--run-policy", "once", "--json"])).code).toBe(
      0,
    );
    const ownBefore = hashTree(own);
    // The heap is capped so a failure costs seconds and 128 MB, not the machine's memory.
    const run = await cli(
      ["submit", "--data-dir", own, "--run-policy", `repeat:${U32_MAX}:1s`, "--json"],
      { env: { NODE_OPTIONS: "--max-old-space-size=128" } },
    );
    const label = `exit ${String(run.code)} signal ${String(run.signal)} ${run.stderr.slice(0, 300)}`;
    expect.soft([0, EXIT_INVALID_INPUT], label).toContain(run.code);
    // Soft: a crash is reported together with what it left behind in the directory.
    if (run.code !== 0)
      expect.soft(hashTree(own), `${label}\nthe data directory changed`).toBe(ownBefore);
    if (run.code === EXIT_INVALID_INPUT)
      expect.soft(jsonError(run).message, label).toContain("--run-policy");
  });
});
