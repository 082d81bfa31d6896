/**
 * Property-based fuzzing (fast-check) of what the daemon does with bad input,
 * over real HTTP against the built binary on a temporary data directory.
 *
 * For every generated malformed request — a submit body with one bad field
 * among valid ones, a body that is not a JSON object, not JSON at all, of the
 * wrong media type or over the size limit, a resubmission that conflicts with
 * an existing task id, malformed and unknown ids and bad queries on the read,
 * cancel and resume routes, control requests without a valid token or with a
 * body that is not JSON, bad purge options — it proves that:
 *
 * - the answer is the expected 4xx, within a deadline: never a 5xx, never a hang;
 * - the body is the documented envelope `{"error":{"code","message","field"?}}`,
 *   and for a bad field `field` names it and the message names the field and,
 *   where the daemon prints it, the value;
 * - nothing on disk changed: every file under the data directory byte for byte
 *   (WAL segments, snapshots and LOCK, which holds only the pid and is stable
 *   while the daemon lives), and `latestSequence` of `/api/v1/stats`.
 *
 * A valid submission is interleaved every few cases and must change both, which
 * shows the comparison can fail. The daemon runs without a handler: nothing is
 * dispatched, so the only writes are the ones the requests cause.
 *
 * The last block, "edge inputs", states the behaviour required for inputs that
 * need a shape of their own (deep nesting, counts at the top of the documented
 * range, framework-level rejections, prototype keys, nested unknown keys).
 */
import { request as httpRequest } from "node:http";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NIL_ID,
  RUN_STATES,
  TASK_NAME_MAX_LENGTH,
  U32_MAX,
  describeValue,
} from "@actionqueue/core";
import { AUTH, TOKEN, cleanup, spawnDaemon, stop, tempDir, waitReady } from "./helpers.js";
import type { DaemonChild } from "./helpers.js";

// The documented key sets (README: "unknown keys refused"); a generated key outside them must be refused by name.
const SUBMIT_KEYS = [
  "runPolicy",
  "name",
  "taskId",
  "payload",
  "payloadBase64",
  "contentType",
  "constraints",
  "metadata",
];
const POLICY_KEYS = ["kind", "count", "intervalMs", "expression", "maxOccurrences", "misfire"];
const CONSTRAINT_KEYS = [
  "maxAttempts",
  "timeoutMs",
  "concurrencyKey",
  "concurrencyKeyHoldPolicy",
  "safetyLevel",
  "requiredCapabilities",
];
const METADATA_KEYS = ["tags", "priority", "description"];
const PURGE_KEYS = ["olderThanMs", "finishedBefore", "states", "limit"];
const I32_MIN = -2_147_483_648;
const I32_MAX = 2_147_483_647;
const MAX_PAGE_SIZE = 10_000;
const BODY_LIMIT = 1024 * 1024;
/** Per-request deadline: an answer later than this counts as a hang. */
const DEADLINE_MS = 5_000;
/** One valid submission after this many probes. */
const VALID_EVERY = 25;

/** A task submitted before fuzzing (a repeat task, so its first run stays `scheduled`: no handler runs it). */
const KNOWN_TASK = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
/** Its first run, known once the daemon is up; generated probes name it through this placeholder. */
const KNOWN_RUN_PLACEHOLDER = "KNOWN-RUN";
let knownRun = "";
let daemon: DaemonChild;
let dataDir = "";

// ---------------------------------------------------------------------------
// HTTP with a deadline

interface Request {
  readonly method: "GET" | "POST";
  /** Sent verbatim (already percent-encoded): no URL normalisation on the way. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Declares this Content-Length and sends no body: the server must refuse from the header alone. */
  readonly declaredLength?: number;
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
}

/**
 * One request on a fresh connection (no keep-alive: a connection the server
 * closes after a refusal must not break the next probe). Rejects when no
 * answer arrives within `deadlineMs`.
 */
function send(base: string, req: Request, deadlineMs = DEADLINE_MS): Promise<Answer> {
  const url = new URL(base);
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
  if (req.declaredLength !== undefined) headers["content-length"] = req.declaredLength;
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: url.hostname,
      port: url.port,
      path: req.path,
      method: req.method,
      headers,
      agent: false,
    });
    const timer = setTimeout(
      () => request.destroy(new Error(`no answer within ${deadlineMs} ms`)),
      deadlineMs,
    );
    let answered = false;
    request.on("response", (response) => {
      answered = true;
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        clearTimeout(timer);
        request.destroy();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the envelope check reports it
        }
        resolve({ status: response.statusCode ?? 0, text, body });
      });
      response.on("error", reject);
    });
    request.on("error", (error) => {
      clearTimeout(timer);
      if (!answered) reject(error);
    });
    if (req.body !== undefined) request.end(req.body);
    else if (req.declaredLength !== undefined) request.flushHeaders();
    else request.end();
  });
}

const postJson = (
  path: string,
  value: unknown,
  headers: Readonly<Record<string, string>> = AUTH,
): Request => ({
  method: "POST",
  path,
  headers: { ...headers, "content-type": "application/json" },
  body: JSON.stringify(value),
});
const postText = (path: string, body: string, contentType: string | undefined): Request => ({
  method: "POST",
  path,
  headers: contentType === undefined ? AUTH : { ...AUTH, "content-type": contentType },
  body,
});
const post = (path: string, headers: Readonly<Record<string, string>> = AUTH): Request => ({
  method: "POST",
  path,
  headers,
});
const get = (path: string): Request => ({ method: "GET", path });

// ---------------------------------------------------------------------------
// The data directory, byte for byte

type Tree = ReadonlyMap<string, Buffer>;

/** Every file (content) and directory (empty marker, path ending in `/`) under `root`. */
function readTree(root: string, rel = ""): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      entries.set(`${path}/`, Buffer.alloc(0));
      for (const [inner, bytes] of readTree(root, path)) entries.set(inner, bytes);
    } else {
      entries.set(path, readFileSync(join(root, path)));
    }
  }
  return entries;
}

/** What differs between two trees, one line per path (empty: identical). */
function treeChanges(before: Tree, after: Tree): string[] {
  const changes: string[] = [];
  for (const [path, bytes] of after) {
    const old = before.get(path);
    if (old === undefined) changes.push(`added ${path}`);
    else if (!old.equals(bytes))
      changes.push(`changed ${path} (${old.length} → ${bytes.length} bytes)`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`removed ${path}`);
  return changes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The tree once two reads 25 ms apart agree. After an accepted write the WAL
 * writer may zero-fill free space ahead of the data in the background, so the
 * reference is taken only once the directory is quiet.
 */
async function settledTree(): Promise<Map<string, Buffer>> {
  let last = readTree(dataDir);
  for (let i = 0; i < 80; i++) {
    await sleep(25);
    const next = readTree(dataDir);
    if (treeChanges(last, next).length === 0) return next;
    last = next;
  }
  throw new Error("the data directory kept changing for 2 s");
}

async function latestSequence(): Promise<number> {
  const answer = await send(daemon.url, get("/api/v1/stats"));
  return (answer.body as { latestSequence: number }).latestSequence;
}

/** What the disk held after the last accepted write: bad input must leave exactly this. */
let disk: { tree: Tree; sequence: number } = { tree: new Map(), sequence: 0 };

async function resync(): Promise<void> {
  disk = { tree: await settledTree(), sequence: await latestSequence() };
}

async function expectDiskUnchanged(label: string): Promise<void> {
  expect(treeChanges(disk.tree, readTree(dataDir)), `${label}\nchanged on disk`).toEqual([]);
  expect(await latestSequence(), `${label}\nlatestSequence`).toBe(disk.sequence);
}

// ---------------------------------------------------------------------------
// Interleaved valid submissions: the daemon still works, and they do change the disk.

const VALID_BODIES: readonly unknown[] = [
  { runPolicy: "once", payload: { fuzz: true } },
  { runPolicy: "repeat:2:1h", name: "fuzz", metadata: { tags: ["a"], priority: 2 } },
  // Yearly: the cron window is derived at submission and nothing tops it up without a handler.
  { runPolicy: { kind: "cron", expression: "0 0 1 1 *" }, constraints: { maxAttempts: 3 } },
];
let probes = 0;
let validSubmits = 0;

async function submitValidEveryFewProbes(): Promise<void> {
  if (++probes % VALID_EVERY !== 0) return;
  const body = VALID_BODIES[validSubmits++ % VALID_BODIES.length];
  const answer = await send(daemon.url, postJson("/api/v1/tasks", body));
  expect(answer.status, `valid submit ${JSON.stringify(body)} → ${answer.text}`).toBe(201);
  const tree = await settledTree();
  const sequence = await latestSequence();
  // The comparison bad input is held to must be able to fail: an accepted write shows up in both.
  expect(
    treeChanges(disk.tree, tree).length,
    "a valid submit changes the data directory",
  ).toBeGreaterThan(0);
  expect(sequence).toBeGreaterThan(disk.sequence);
  disk = { tree, sequence };
}

// ---------------------------------------------------------------------------
// A probe: a request and what its refusal must look like

interface Probe {
  readonly request: Request;
  /** The status; "4xx" where several client errors would be right. */
  readonly status: number | "4xx";
  readonly code?: string;
  /** `error.field` must start with this. */
  readonly field?: string;
  /** Each must appear in `error.message`. */
  readonly names?: readonly string[];
}

function describeRequest(req: Request): string {
  const body =
    req.body === undefined
      ? ""
      : ` ${req.body.length > 300 ? `${req.body.slice(0, 300)}…` : req.body}`;
  return `${req.method} ${req.path}${body}`;
}

/** Checks the envelope `{"error":{"code","message","field"?}}` and returns the error. */
function expectEnvelope(
  answer: Answer,
  label: string,
): { code: string; message: string; field?: string } {
  expect(answer.body, `${label}\nnot the error envelope`).toEqual({
    error: expect.objectContaining({
      code: expect.stringMatching(/^[A-Z][A-Z0-9_]*$/),
      message: expect.any(String),
    }),
  });
  const error = (answer.body as { error: { code: string; message: string; field?: string } }).error;
  expect(
    Object.keys(error).filter((key) => !["code", "message", "field"].includes(key)),
    label,
  ).toEqual([]);
  expect(error.message.length, label).toBeGreaterThan(0);
  if ("field" in error) expect(typeof error.field, label).toBe("string");
  return error;
}

/** Sends the probe; asserts the refusal and an unchanged disk. */
async function expectRefused(probe: Probe): Promise<void> {
  await submitValidEveryFewProbes();
  const answer = await send(daemon.url, probe.request);
  const label = `${describeRequest(probe.request)}\n→ ${answer.status} ${answer.text.slice(0, 400)}`;
  try {
    if (probe.status === "4xx") {
      expect(answer.status, label).toBeGreaterThanOrEqual(400);
      expect(answer.status, label).toBeLessThan(500);
    } else {
      expect(answer.status, label).toBe(probe.status);
    }
    const error = expectEnvelope(answer, label);
    if (probe.code !== undefined) expect(error.code, label).toBe(probe.code);
    if (probe.field !== undefined)
      expect(error.field ?? "<no field>", label).toMatch(
        new RegExp(`^${escapeRegExp(probe.field)}`),
      );
    for (const name of probe.names ?? []) expect(error.message, label).toContain(name);
    await expectDiskUnchanged(label);
  } catch (error) {
    // A failed probe may have written: later probes compare against what is on disk now.
    await resync();
    throw error;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------
// Generators

/** How the daemon prints a value in a message (core's describeValue): what the message must contain. */
const shown = (value: unknown): string => describeValue(value);

// fastify refuses these keys anywhere in a body; they have their own test below.
const POISON_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor"]);
const keyOutside = (allowed: readonly string[]) =>
  fc.string({ maxLength: 12 }).filter((key) => !allowed.includes(key) && !POISON_KEYS.has(key));
const safeKey = fc.string({ maxLength: 6 }).filter((key) => !POISON_KEYS.has(key));
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

/** Valid ULIDs (any case is accepted), never the nil id. */
const ulid = fc.stringMatching(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/).filter((id) => id !== NIL_ID);
const ULID_ANY_CASE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
/** Strings that are not a ULID in any case: junk, and near misses of real ones. */
const notUlid = fc.oneof(
  fc.string({ maxLength: 30 }).filter((text) => !ULID_ANY_CASE.test(text)),
  ulid.map((id) => `8${id.slice(1)}`), // past the 48-bit time
  fc
    .tuple(ulid, fc.nat(25), fc.constantFrom("I", "L", "O", "U", "i", "-", " ", "é"))
    .map(([id, at, char]) => id.slice(0, at) + char + id.slice(at + 1)),
  ulid.map((id) => id.slice(1)),
  ulid.map((id) => `${id}0`),
);

/** JSON values of the wrong type for an object-valued field. */
const nonObject = fc.oneof(
  fc.integer(),
  finiteDouble,
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
/** JSON values of the wrong type for a string-valued field. */
const nonString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(safeKey, fc.integer(), { maxKeys: 2 }),
);
/** Anything but an integer in 1..max: zero, negatives, fractions, beyond max, other types. */
const notPositiveInt = (max: number) =>
  fc.oneof(
    fc.integer({ max: 0 }),
    finiteDouble.filter((n) => !(Number.isSafeInteger(n) && n >= 1 && n <= max)),
    ...(max < Number.MAX_SAFE_INTEGER
      ? [fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER })]
      : []),
    fc.string({ maxLength: 5 }),
    fc.boolean(),
    fc.constant(null),
  );
const notNonNegativeInt = fc.oneof(
  fc.integer({ max: -1 }),
  finiteDouble.filter((n) => !(Number.isSafeInteger(n) && n >= 0)),
  fc.string({ maxLength: 5 }),
  fc.boolean(),
  fc.constant(null),
);
/** Generated values but null: an optional field given as null is "not given" (accepted, as if left out). */
const nonNull = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T> => arbitrary.filter((value) => value !== null);
/** Strings outside `allowed`, and other types; never null (these fields treat null as "use the default"). */
const notOneOf = (allowed: readonly string[]) =>
  fc.oneof(
    fc.string({ maxLength: 16 }).filter((text) => !allowed.includes(text)),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 2 }),
  );

/** Run policy texts that are not `once`, `repeat:…` or `cron:…`. */
const notPolicyText = fc
  .string({ maxLength: 30 })
  .filter((text) => text !== "once" && !text.startsWith("repeat:") && !text.startsWith("cron:"));
/** The documented duration grammar (250ms, 60s, 5m, 1h, 2d, bare seconds); anything else is not a duration. */
const DURATION = /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$/i;
const badDuration = fc.oneof(
  fc.constantFrom(
    "0",
    "0s",
    "0ms",
    "0.5ms",
    "1.5ms",
    "-1s",
    "",
    "s",
    "1w",
    "1e3s",
    "5 parsecs",
    "99999999999999999d",
  ),
  fc.string({ maxLength: 8 }).filter((text) => !DURATION.test(text)),
);
const badRepeatCount = fc.oneof(
  fc.constantFrom("0", "", "x", "+1", "1.5", "1e3"),
  fc.integer({ max: -1 }).map(String),
  fc.bigInt({ min: BigInt(U32_MAX) + 1n, max: 10n ** 30n }).map(String),
);
const badRepeatText = fc.oneof(
  badRepeatCount.map((count) => `repeat:${count}:1s`),
  badDuration.map((interval) => `repeat:2:${interval}`),
  fc.constantFrom("repeat:", "repeat:3", "repeat:1:2:3", "repeat::"),
);

/** Cron expressions core refuses: wrong field count, values out of range, junk tokens, blank. */
const CRON_OUT_OF_RANGE: ReadonlyArray<readonly number[]> = [
  [60, 99], // minute
  [24, 99], // hour
  [32, 99], // day of month (0 too, below)
  [13, 99], // month (0 too)
  [8, 99], // day of week (0-7 are valid)
];
const badCron = fc.oneof(
  fc
    .array(fc.constantFrom("*", "0", "*/5", "1-3"), { minLength: 1, maxLength: 9 })
    .filter((fields) => fields.length !== 5 && fields.length !== 6)
    .map((fields) => fields.join(" ")),
  fc
    .integer({ min: 0, max: 4 })
    .chain((at) =>
      fc.tuple(
        fc.constant(at),
        fc.integer({ min: CRON_OUT_OF_RANGE[at]![0]!, max: CRON_OUT_OF_RANGE[at]![1]! }),
      ),
    )
    .map(([at, value]) =>
      ["*", "*", "*", "*", "*"].map((field, i) => (i === at ? String(value) : field)).join(" "),
    ),
  fc.constantFrom("* * 0 * *", "* * * 0 *"),
  fc
    .constantFrom("x", "*/0", "5-1", "1,,2", "L", "#", "-1", "1-60")
    .map((token) => `${token} * * * *`),
  fc.constantFrom("", "   ", "@nonsense", "@reboot", "@"),
);

/** Any JSON value as a payload, without the keys fastify refuses. */
const jsonPayload = fc
  .jsonValue({ maxDepth: 2 })
  .filter((value) => !/"(__proto__|constructor)"/.test(JSON.stringify(value)));
/** A valid submission; one field of it is replaced by a fault. */
const validSubmission = fc.record(
  {
    runPolicy: fc.constantFrom<unknown>("once", "repeat:2:1h", {
      kind: "cron",
      expression: "0 0 1 1 *",
    }),
    name: fc.string({ minLength: 1, maxLength: 20 }),
    payload: jsonPayload,
    contentType: fc.constantFrom("application/json", "text/plain"),
    constraints: fc.record(
      {
        maxAttempts: fc.integer({ min: 1, max: 5 }),
        timeoutMs: fc.integer({ min: 1, max: 60_000 }),
      },
      { requiredKeys: [] },
    ),
    metadata: fc.record(
      {
        tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        priority: fc.integer({ min: -5, max: 5 }),
        description: fc.string({ maxLength: 20 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["runPolicy"] },
);

/** One bad field, merged into a valid submission. */
interface Fault {
  readonly set: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
  readonly code?: string;
  readonly field: string;
  readonly names: readonly string[];
}

const constraintFault =
  (key: string, code?: string) =>
  (value: unknown): Fault => ({
    set: { constraints: { [key]: value } },
    ...(code === undefined ? {} : { code }),
    field: `constraints.${key}`,
    names: [key, shown(value)],
  });

const faults: fc.Arbitrary<Fault> = fc.oneof(
  // runPolicy
  fc.constant<Fault>({
    set: {},
    remove: ["runPolicy"],
    code: "INVALID_RUN_POLICY",
    field: "runPolicy",
    names: ["runPolicy"],
  }),
  fc
    .oneof(
      fc.integer(),
      finiteDouble,
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
    )
    .map((runPolicy): Fault => ({
      set: { runPolicy },
      field: "runPolicy",
      names: ["runPolicy", shown(runPolicy)],
    })),
  notPolicyText.map((text): Fault => ({
    set: { runPolicy: text },
    code: "INVALID_RUN_POLICY",
    field: "runPolicy",
    names: ["runPolicy", JSON.stringify(text)],
  })),
  badRepeatText.map((text): Fault => ({
    set: { runPolicy: text },
    field: "runPolicy",
    names: ["runPolicy", JSON.stringify(text)],
  })),
  badCron.map((expression): Fault => {
    const text = `cron:${expression}`;
    return {
      set: { runPolicy: text },
      code: "INVALID_CRON_EXPRESSION",
      field: "runPolicy",
      names: ["runPolicy", JSON.stringify(text)],
    };
  }),
  fc
    .oneof(
      fc.string({ maxLength: 10 }).filter((kind) => !["once", "repeat", "cron"].includes(kind)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    )
    .map((kind): Fault => ({
      set: { runPolicy: { kind } },
      code: "INVALID_RUN_POLICY",
      field: "runPolicy.kind",
      names: ["runPolicy.kind", shown(kind)],
    })),
  notPositiveInt(U32_MAX).map((count): Fault => ({
    set: { runPolicy: { kind: "repeat", count, intervalMs: 60_000 } },
    code: "INVALID_REPEAT_COUNT",
    field: "runPolicy.count",
    names: ["count", shown(count)],
  })),
  notPositiveInt(Number.MAX_SAFE_INTEGER).map((intervalMs): Fault => ({
    set: { runPolicy: { kind: "repeat", count: 2, intervalMs } },
    code: "INVALID_REPEAT_INTERVAL",
    field: "runPolicy.intervalMs",
    names: ["intervalMs", shown(intervalMs)],
  })),
  fc.oneof(badCron, nonString).map((expression): Fault => ({
    set: { runPolicy: { kind: "cron", expression } },
    code: "INVALID_CRON_EXPRESSION",
    field: "runPolicy.expression",
    names: ["cron expression", shown(expression)],
  })),
  nonNull(notPositiveInt(U32_MAX)).map((maxOccurrences): Fault => ({
    set: { runPolicy: { kind: "cron", expression: "0 0 1 1 *", maxOccurrences } },
    code: "INVALID_CRON_MAX_OCCURRENCES",
    field: "runPolicy.maxOccurrences",
    names: ["maxOccurrences", shown(maxOccurrences)],
  })),
  fc
    .oneof(
      nonNull(nonObject),
      fc
        .string({ maxLength: 10 })
        .filter((kind) => !["catchUp", "skip", "coalesce"].includes(kind))
        .map((kind) => ({ kind })),
      nonNull(notPositiveInt(U32_MAX)).map((maxRuns) => ({ kind: "catchUp", maxRuns })),
    )
    .map((misfire): Fault => ({
      set: { runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, misfire } },
      code: "INVALID_RUN_POLICY",
      field: "runPolicy.misfire",
      names: ["runPolicy.misfire"],
    })),
  keyOutside(POLICY_KEYS).map((key): Fault => ({
    set: { runPolicy: { kind: "once", [key]: 1 } },
    code: "UNKNOWN_FIELD",
    field: `runPolicy.${key}`,
    names: [JSON.stringify(key)],
  })),
  // name: a string of 1..TASK_NAME_MAX_LENGTH characters
  fc
    .oneof(
      nonNull(nonString),
      fc.constant(""),
      fc.string({ minLength: TASK_NAME_MAX_LENGTH + 1, maxLength: TASK_NAME_MAX_LENGTH + 40 }),
    )
    .map((name): Fault => ({
      set: { name },
      code: "INVALID_TASK_NAME",
      field: "name",
      names: ["name", shown(name)],
    })),
  // taskId
  fc
    .oneof(notUlid, nonNull(nonString))
    .map((taskId): Fault => ({
      set: { taskId },
      code: "INVALID_ID",
      field: "taskId",
      names: ["taskId", shown(taskId)],
    })),
  fc.constant<Fault>({
    set: { taskId: NIL_ID },
    code: "INVALID_ID",
    field: "taskId",
    names: ["taskId", NIL_ID],
  }),
  // payload and payloadBase64
  jsonPayload.map((payload): Fault => ({
    set: { payload, payloadBase64: "AAAA" },
    code: "INVALID_PAYLOAD",
    field: "payload",
    names: ["payload", "payloadBase64"],
  })),
  fc
    .oneof(
      nonNull(nonString),
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((text) => !/^[A-Za-z0-9+/]*={0,2}$/.test(text)),
    )
    .map((payloadBase64): Fault => ({
      set: { payloadBase64 },
      remove: ["payload"],
      code: "INVALID_PAYLOAD",
      field: "payloadBase64",
      names: ["payloadBase64"],
    })),
  fc.oneof(fc.constant(""), nonNull(nonString)).map((contentType): Fault => ({
    set: { contentType },
    code: "INVALID_CONTENT_TYPE",
    field: "contentType",
    names: ["contentType", shown(contentType)],
  })),
  // constraints
  nonNull(nonObject).map((constraints): Fault => ({
    set: { constraints },
    code: "INVALID_FIELD",
    field: "constraints",
    names: ["constraints", shown(constraints)],
  })),
  keyOutside(CONSTRAINT_KEYS).map((key): Fault => ({
    set: { constraints: { [key]: 1 } },
    code: "UNKNOWN_FIELD",
    field: `constraints.${key}`,
    names: [JSON.stringify(key)],
  })),
  nonNull(notPositiveInt(U32_MAX)).map(constraintFault("maxAttempts", "INVALID_MAX_ATTEMPTS")),
  nonNull(notPositiveInt(Number.MAX_SAFE_INTEGER)).map(constraintFault("timeoutMs")),
  fc
    .oneof(fc.constant(""), nonNull(nonString))
    .map(constraintFault("concurrencyKey", "EMPTY_CONCURRENCY_KEY")),
  notOneOf(["holdDuringRetry", "releaseOnRetry"]).map(
    constraintFault("concurrencyKeyHoldPolicy", "INVALID_CONCURRENCY_KEY_HOLD_POLICY"),
  ),
  notOneOf(["pure", "idempotent", "transactional"]).map(
    constraintFault("safetyLevel", "INVALID_SAFETY_LEVEL"),
  ),
  fc
    .oneof(
      fc.constant<unknown[]>([]),
      fc
        .tuple(
          fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 }),
          fc.oneof(fc.constant(""), fc.integer(), fc.constant(null), fc.boolean()),
          fc.nat(),
        )
        .map(([good, bad, at]) => {
          const list: unknown[] = [...good];
          list.splice(at % (good.length + 1), 0, bad);
          return list;
        }),
    )
    .map((requiredCapabilities): Fault => ({
      set: { constraints: { requiredCapabilities } },
      field: "constraints.requiredCapabilities",
      names: ["requiredCapabilities"],
    })),
  // metadata
  nonNull(nonObject).map((metadata): Fault => ({
    set: { metadata },
    code: "INVALID_FIELD",
    field: "metadata",
    names: ["metadata", shown(metadata)],
  })),
  keyOutside(METADATA_KEYS).map((key): Fault => ({
    set: { metadata: { [key]: 1 } },
    code: "UNKNOWN_FIELD",
    field: `metadata.${key}`,
    names: [JSON.stringify(key)],
  })),
  fc
    .oneof(
      fc.string({ maxLength: 5 }),
      fc.integer(),
      fc.boolean(),
      fc.dictionary(safeKey, fc.string(), { maxKeys: 2 }),
      fc
        .tuple(
          fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
          fc.oneof(fc.integer(), fc.constant(null), fc.boolean()),
        )
        .map(([tags, bad]) => [...tags, bad]),
    )
    .map((tags): Fault => ({
      set: { metadata: { tags } },
      code: "INVALID_TAGS",
      field: "metadata.tags",
      names: ["metadata.tags"],
    })),
  fc
    .oneof(
      finiteDouble.filter((n) => !(Number.isInteger(n) && n >= I32_MIN && n <= I32_MAX)),
      fc.string({ maxLength: 5 }),
      fc.boolean(),
    )
    .map((priority): Fault => ({
      set: { metadata: { priority } },
      code: "INVALID_PRIORITY",
      field: "metadata.priority",
      names: ["priority", shown(priority)],
    })),
  nonNull(nonString).map((description): Fault => ({
    set: { metadata: { description } },
    code: "INVALID_DESCRIPTION",
    field: "metadata.description",
    names: ["description", shown(description)],
  })),
  // a key the body does not have
  keyOutside(SUBMIT_KEYS).map((key): Fault => ({
    set: { [key]: 1 },
    code: "UNKNOWN_FIELD",
    field: `body.${key}`,
    names: [JSON.stringify(key)],
  })),
);

function applyFault(
  base: Readonly<Record<string, unknown>>,
  fault: Fault,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...base, ...fault.set };
  for (const key of fault.remove ?? []) delete body[key];
  return body;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const TASKS = "/api/v1/tasks";

const badSubmit: fc.Arbitrary<Probe> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(validSubmission, faults)
      .map(([base, fault]): Probe => ({
        request: postJson(TASKS, applyFault(base, fault)),
        status: 400,
        ...fault,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.integer(),
        fc.string({ maxLength: 20 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.integer(), { maxLength: 3 }),
      )
      .map((value): Probe => ({
        request: postJson(TASKS, value),
        status: 400,
        code: "INVALID_FIELD",
        field: "body",
        names: ["body", shown(value)],
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 40 })
      .filter((text) => text.trim() !== "" && !parses(text))
      .map((text): Probe => ({
        request: postText(TASKS, text, "application/json"),
        status: 400,
        code: "INVALID_JSON",
        names: ["body"],
      })),
  },
  // An empty JSON body counts as no body (README): a submission without one is refused.
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("", " ", "\n\t")
      .map((text): Probe => ({
        request: postText(TASKS, text, "application/json"),
        status: 400,
        code: "INVALID_FIELD",
        field: "body",
        names: ["body"],
      })),
  },
  // A valid submission in anything but JSON is refused before it is read.
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        validSubmission,
        fc.constantFrom(
          undefined,
          "text/plain",
          "text/plain; charset=utf-8",
          "application/x-www-form-urlencoded",
          "application/xml",
          "application/octet-stream",
        ),
      )
      .map(([body, type]): Probe => ({
        request: postText(TASKS, JSON.stringify(body), type),
        status: 415,
        code: "UNSUPPORTED_MEDIA_TYPE",
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: BODY_LIMIT + 1, max: 64 * BODY_LIMIT })
      .map((declaredLength): Probe => ({
        request: {
          method: "POST",
          path: TASKS,
          headers: { ...AUTH, "content-type": "application/json" },
          declaredLength,
        },
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
      })),
  },
  // The id of an existing task with another spec (ids are case-insensitive).
  {
    weight: 1,
    arbitrary: fc.tuple(validSubmission, fc.boolean()).map(([base, lower]): Probe => ({
      request: postJson(TASKS, {
        ...base,
        runPolicy: "once",
        taskId: lower ? KNOWN_TASK.toLowerCase() : KNOWN_TASK,
      }),
      status: 409,
      code: "TASK_SPEC_MISMATCH",
      names: [KNOWN_TASK],
    })),
  },
);

/** Routes that take an id in the path. */
const ID_ROUTES: ReadonlyArray<{
  readonly method: "GET" | "POST";
  readonly path: (id: string) => string;
}> = [
  { method: "GET", path: (id) => `/api/v1/tasks/${id}` },
  { method: "GET", path: (id) => `/api/v1/runs/${id}` },
  { method: "GET", path: (id) => `/api/v1/runs/${id}/explain` },
  { method: "POST", path: (id) => `/api/v1/tasks/${id}/cancel` },
  { method: "POST", path: (id) => `/api/v1/runs/${id}/cancel` },
  { method: "POST", path: (id) => `/api/v1/runs/${id}/resume` },
];
const idRequest = (route: (typeof ID_ROUTES)[number], encodedId: string): Request =>
  route.method === "GET" ? get(route.path(encodedId)) : post(route.path(encodedId));

/** The router's limit on a path parameter (fastify's maxParamLength); longer ids have their own test below. */
const MAX_PARAM_LENGTH = 100;
const pathId = fc
  .oneof(
    notUlid,
    fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 8 })
      .filter((text) => !ULID_ANY_CASE.test(text)),
  )
  // "" and dot segments would change which route the path names; the rest are ids.
  .filter(
    (id) =>
      id !== "" && id !== "." && id !== ".." && encodeURIComponent(id).length <= MAX_PARAM_LENGTH,
  );

const query = (params: ReadonlyArray<readonly [string, string]>): string =>
  params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join("&");
const notPageSize = fc.oneof(
  fc.integer({ max: 0 }).map(String),
  fc.integer({ min: MAX_PAGE_SIZE + 1 }).map(String),
  fc
    .string({ maxLength: 8 })
    .filter((text) => !(/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_PAGE_SIZE)),
);
/** Not a run state, even after the documented normalisation (case, `-` and `_` ignored). */
const notRunState = fc
  .string({ maxLength: 12 })
  .filter(
    (text) =>
      !RUN_STATES.some((state) => state.toLowerCase() === text.toLowerCase().replace(/[-_]/g, "")),
  );

const badIdOrQuery: fc.Arbitrary<Probe> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...ID_ROUTES), pathId)
    .map(([route, id]): Probe => ({
      request: idRequest(route, encodeURIComponent(id)),
      status: 400,
      code: "INVALID_ID",
      field: "id",
      names: ["id", shown(id)],
    })),
  fc
    .constantFrom(...ID_ROUTES)
    .map((route): Probe => ({
      request: idRequest(route, NIL_ID),
      status: 400,
      code: "INVALID_ID",
      field: "id",
      names: [NIL_ID],
    })),
  fc
    .tuple(fc.constantFrom(...ID_ROUTES), ulid, fc.boolean())
    .map(([route, id, lower]): Probe => ({
      request: idRequest(route, lower ? id.toLowerCase() : id),
      status: 404,
      code: "NOT_FOUND",
      names: [id],
    })),
  // A run that exists but is not suspended cannot be resumed.
  fc.constant<Probe>({
    request: post(`/api/v1/runs/${KNOWN_RUN_PLACEHOLDER}/resume`),
    status: 409,
    code: "INVALID_TRANSITION",
    names: [KNOWN_RUN_PLACEHOLDER],
  }),
  fc
    .tuple(fc.constantFrom("/api/v1/runs", "/api/v1/tasks"), notPageSize)
    .map(([path, limit]): Probe => ({
      request: get(`${path}?${query([["limit", limit]])}`),
      status: 400,
      code: "INVALID_FIELD",
      field: "limit",
      names: ["limit"],
    })),
  notRunState.map((state): Probe => ({
    request: get(`/api/v1/runs?${query([["state", state]])}`),
    status: 400,
    code: "INVALID_FIELD",
    field: "state",
    names: ["state", JSON.stringify(state)],
  })),
  fc
    .oneof(notUlid, fc.constant(""))
    .map((taskId): Probe => ({
      request: get(`/api/v1/runs?${query([["taskId", taskId]])}`),
      status: 400,
      code: "INVALID_ID",
      field: "taskId",
      names: ["taskId", shown(taskId)],
    })),
  fc
    .tuple(fc.constantFrom("/api/v1/runs", "/api/v1/tasks"), fc.oneof(notUlid, fc.constant("")))
    .map(([path, cursor]): Probe => ({
      request: get(`${path}?${query([["cursor", cursor]])}`),
      status: 400,
      field: "cursor",
      names: ["cursor"],
    })),
  fc
    .tuple(
      fc.constantFrom("/api/v1/runs", "/api/v1/tasks"),
      fc.string({ minLength: 1, maxLength: 10 }).filter((key) => !POISON_KEYS.has(key)),
    )
    .filter(
      ([path, key]) =>
        !(
          path.endsWith("runs") ? ["limit", "cursor", "state", "taskId"] : ["limit", "cursor"]
        ).includes(key),
    )
    .map(([path, key]): Probe => ({
      request: get(`${path}?${query([[key, "1"]])}`),
      status: 400,
      code: "INVALID_FIELD",
      field: key,
      names: [JSON.stringify(key)],
    })),
  fc.constant<Probe>({
    request: get("/api/v1/runs?limit=1&limit=2"),
    status: 400,
    code: "INVALID_FIELD",
    field: "limit",
    names: ["limit"],
  }),
);

function withKnownRun(probe: Probe): Probe {
  if (!probe.request.path.includes(KNOWN_RUN_PLACEHOLDER)) return probe;
  return {
    ...probe,
    request: {
      ...probe.request,
      path: probe.request.path.replace(KNOWN_RUN_PLACEHOLDER, knownRun),
    },
    names: (probe.names ?? []).map((name) => name.replace(KNOWN_RUN_PLACEHOLDER, knownRun)),
  };
}

/** Control requests that change the disk when they go through. */
const CONTROL_TARGETS: ReadonlyArray<(headers: Readonly<Record<string, string>>) => Request> = [
  (headers) => post(`/api/v1/runs/${KNOWN_RUN_PLACEHOLDER}/cancel`, headers),
  (headers) => post(`/api/v1/tasks/${KNOWN_TASK}/cancel`, headers),
  (headers) => post("/api/v1/engine/pause", headers),
  (headers) => postJson(TASKS, VALID_BODIES[0], headers),
];
const tokenLike = fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,40}$/);
const badControl: fc.Arbitrary<Probe> = fc.oneof(
  // no token, or a header that is not "Bearer TOKEN": 401
  fc
    .tuple(
      fc.constantFrom(...CONTROL_TARGETS),
      fc.oneof(
        fc.constant<string | undefined>(undefined),
        fc.constantFrom("", "Bearer", "Bearer "),
        tokenLike.map((t) => `Basic ${t}`),
        tokenLike.filter((t) => t.toLowerCase() !== "bearer"),
        tokenLike.map((t) => `Bearer ${TOKEN} ${t}`),
      ),
    )
    .map(([target, authorization]): Probe => ({
      request: target(authorization === undefined ? {} : { authorization }),
      status: 401,
      code: "UNAUTHORIZED",
      names: ["Authorization"],
    })),
  // a well-formed header with the wrong token: 403
  fc
    .tuple(
      fc.constantFrom(...CONTROL_TARGETS),
      tokenLike.filter((t) => t !== TOKEN),
      fc.constantFrom("Bearer", "bearer"),
    )
    .map(([target, token, scheme]): Probe => ({
      request: target({ authorization: `${scheme} ${token}` }),
      status: 403,
      code: "FORBIDDEN",
      names: ["token"],
    })),
  // a body that is not JSON, or not declared as JSON, on a control route: refused before anything is done
  fc
    .tuple(
      fc.constantFrom(
        `/api/v1/runs/${KNOWN_RUN_PLACEHOLDER}/cancel`,
        `/api/v1/runs/${KNOWN_RUN_PLACEHOLDER}/resume`,
        `/api/v1/tasks/${KNOWN_TASK}/cancel`,
        "/api/v1/engine/pause",
        "/api/v1/engine/resume",
        "/api/v1/purge",
      ),
      fc.string({ maxLength: 20 }).filter((text) => text.trim() !== "" && !parses(text)),
    )
    .map(([path, text]): Probe => ({
      request: postText(path, text, "application/json"),
      status: 400,
      code: "INVALID_JSON",
      names: ["body"],
    })),
  fc
    .tuple(
      fc.constantFrom(
        `/api/v1/runs/${KNOWN_RUN_PLACEHOLDER}/cancel`,
        "/api/v1/engine/pause",
        "/api/v1/purge",
      ),
      fc.constantFrom("text/plain", "application/xml"),
    )
    .map(([path, type]): Probe => ({
      request: postText(path, "{}", type),
      status: 415,
      code: "UNSUPPORTED_MEDIA_TYPE",
    })),
  // purge options
  fc
    .tuple(fc.constantFrom("olderThanMs", "finishedBefore", "limit"), notNonNegativeInt)
    .map(([key, value]): Probe => ({
      request: postJson("/api/v1/purge", { [key]: value }),
      status: 400,
      code: "INVALID_FIELD",
      field: key,
      names: [key, shown(value)],
    })),
  fc
    .oneof(
      fc.constant<unknown>([]),
      fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
      fc.array(
        fc
          .string({ maxLength: 8 })
          .filter((state) => !["completed", "failed", "canceled"].includes(state)),
        { minLength: 1, maxLength: 2 },
      ),
    )
    .map((states): Probe => ({
      request: postJson("/api/v1/purge", { states }),
      status: 400,
      code: "INVALID_FIELD",
      field: "states",
      names: ["states"],
    })),
  keyOutside(PURGE_KEYS).map((key): Probe => ({
    request: postJson("/api/v1/purge", { [key]: 1 }),
    status: 400,
    code: "INVALID_FIELD",
    field: `body.${key}`,
    names: [JSON.stringify(key)],
  })),
  // null and an empty body mean "no options"; every other non-object is refused
  fc
    .oneof(
      fc.integer(),
      fc.string({ maxLength: 8 }),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 2 }),
    )
    .map((value): Probe => ({
      request: postJson("/api/v1/purge", value),
      status: 400,
      code: "INVALID_FIELD",
      field: "body",
      names: ["body"],
    })),
);

// ---------------------------------------------------------------------------

beforeAll(async () => {
  dataDir = join(tempDir("aq-daemon-fuzz-"), "data");
  // No --handler: nothing is dispatched, so the disk changes only when a request writes.
  daemon = await spawnDaemon(
    ["--data-dir", dataDir, "--bind", "127.0.0.1:0", "--log-level", "fatal", "--grace", "1s"],
    { ACTIONQUEUE_TOKEN: TOKEN },
  );
  await waitReady(daemon.url);
  const known = await send(
    daemon.url,
    postJson(TASKS, { runPolicy: "repeat:2:1h", taskId: KNOWN_TASK }),
  );
  expect(known.status, known.text).toBe(201);
  knownRun = (known.body as { runIds: string[] }).runIds[0]!;
  await resync();
});

afterAll(async () => {
  if (daemon !== undefined) await stop(daemon);
  cleanup();
});

describe("bad input changes nothing on disk and gets a clear 4xx", () => {
  it("malformed submit bodies", async () => {
    await fc.assert(
      fc.asyncProperty(badSubmit, (probe) => expectRefused(probe)),
      { numRuns: 250 },
    );
  });

  it("malformed and unknown ids, bad queries", async () => {
    await fc.assert(
      fc.asyncProperty(badIdOrQuery, (probe) => expectRefused(withKnownRun(probe))),
      { numRuns: 150 },
    );
  });

  it("control requests without a valid token, with a body that is not JSON, bad purge options", async () => {
    await fc.assert(
      fc.asyncProperty(badControl, (probe) => expectRefused(withKnownRun(probe))),
      { numRuns: 100 },
    );
  });

  it("after every batch the directory holds exactly what the valid submissions wrote", async () => {
    // A write caused by a bad request but made after its answer would be missed by the per-probe check.
    await sleep(200);
    await expectDiskUnchanged("after all the batches");
    expect(validSubmits, "valid submissions were interleaved").toBeGreaterThanOrEqual(5);
    // The daemon still serves, and the known run was neither canceled nor resumed.
    const run = await send(daemon.url, get(`/api/v1/runs/${knownRun}`));
    expect((run.body as { state: string }).state).toBe("scheduled");
    expect(
      ((await send(daemon.url, get("/api/v1/stats"))).body as { paused: boolean }).paused,
    ).toBe(false);
  });
});

describe("edge inputs", () => {
  /** Sends `request`: an answer below 500; a refusal must be a clean one (`field`, names) and change nothing. */
  async function expectRefusedOrAccepted(
    request: Request,
    refusal: { field: string; names: readonly string[] },
  ): Promise<void> {
    const answer = await send(daemon.url, request);
    const label = `${describeRequest(request)}\n→ ${answer.status} ${answer.text.slice(0, 400)}`;
    try {
      expect(answer.status, label).toBeLessThan(500);
      if (answer.status >= 400) {
        const error = expectEnvelope(answer, label);
        expect(error.field ?? "<no field>", label).toMatch(
          new RegExp(`^${escapeRegExp(refusal.field)}`),
        );
        for (const name of refusal.names) expect(error.message, label).toContain(name);
        await expectDiskUnchanged(label);
      }
    } finally {
      await resync();
    }
  }

  it("a payload nested deeper than a recursive serialiser can follow: refused naming payload or accepted, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5_000, max: 100_000 }),
        fc.constantFrom("array", "object"),
        async (depth, shape) => {
          const nested =
            shape === "array"
              ? `${"[".repeat(depth)}${"]".repeat(depth)}`
              : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
          await expectRefusedOrAccepted(
            postText(TASKS, `{"runPolicy":"once","payload":${nested}}`, "application/json"),
            { field: "payload", names: ["payload"] },
          );
        },
      ),
      { numRuns: 4 },
    );
  });

  it("null in any optional field means not given: accepted, and the task is the one the same body without those keys gives", async () => {
    // Paths of every optional field; null in each is what JSON clients send for an absent value.
    const OPTIONAL: ReadonlyArray<readonly string[]> = [
      ["name"],
      ["taskId"],
      ["contentType"],
      ["payloadBase64"],
      ["constraints"],
      ["metadata"],
      ...CONSTRAINT_KEYS.map((key) => ["constraints", key]),
      ...METADATA_KEYS.map((key) => ["metadata", key]),
      ["runPolicy", "maxOccurrences"],
      ["runPolicy", "misfire"],
      ["runPolicy", "misfire", "maxRuns"],
    ];
    const view = (task: Record<string, unknown>) => {
      const { taskId: _id, createdAt: _at, runIds: _runs, ...rest } = task;
      return rest;
    };
    await fc.assert(
      fc.asyncProperty(fc.subarray([...OPTIONAL], { minLength: 1 }), async (paths) => {
        const body: Record<string, unknown> = {
          runPolicy: { kind: "cron", expression: "0 0 1 1 *", misfire: { kind: "catchUp" } },
          payload: { n: 1 },
        };
        const plain = structuredClone(body);
        const chosen = new Set(paths.map((path) => path.join(".")));
        for (const path of paths) {
          // A parent given as null has no children to give.
          if (path.slice(0, -1).some((_, i) => chosen.has(path.slice(0, i + 1).join(".")))) continue;
          let at = body;
          for (const key of path.slice(0, -1)) {
            if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
            at = at[key] as Record<string, unknown>;
          }
          at[path[path.length - 1]!] = null;
        }
        const withNull = await send(daemon.url, postJson(TASKS, body));
        const withoutKeys = await send(daemon.url, postJson(TASKS, plain));
        const label = `${JSON.stringify(body)} → ${withNull.status} ${withNull.text.slice(0, 300)}`;
        try {
          expect(withNull.status, label).toBe(201);
          expect(withoutKeys.status).toBe(201);
          const idOf = (answer: { body: unknown }) => (answer.body as { taskId: string }).taskId;
          const a = await send(daemon.url, get(`/api/v1/tasks/${idOf(withNull)}`));
          const b = await send(daemon.url, get(`/api/v1/tasks/${idOf(withoutKeys)}`));
          const misfireOf = (v: Record<string, unknown>) => (v.runPolicy as { misfire?: unknown }).misfire;
          const nulled = view(a.body as Record<string, unknown>);
          const expected = view(b.body as Record<string, unknown>);
          // A null misfire (or null maxRuns) is the default misfire: the plain body's catchUp without maxRuns is that default too.
          if (misfireOf(nulled) === undefined) (expected.runPolicy as { misfire?: unknown }).misfire = undefined;
          expect(JSON.parse(JSON.stringify(nulled)), label).toEqual(JSON.parse(JSON.stringify(expected)));
        } finally {
          await resync();
        }
      }),
      { numRuns: 15 },
    );
  });

  it("constraints.requiredCapabilities that is not an array: 400 naming it (not split into characters, not a 5xx)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 8 }),
          fc.integer(),
          fc.boolean(),
          fc.dictionary(safeKey, fc.string(), { maxKeys: 2 }),
        ),
        (requiredCapabilities) =>
          expectRefused({
            request: postJson(TASKS, { runPolicy: "once", constraints: { requiredCapabilities } }),
            status: 400,
            field: "constraints.requiredCapabilities",
            names: ["requiredCapabilities"],
          }),
      ),
      { numRuns: 10 },
    );
  });

  it("base64 that does not decode to whole bytes: 400 naming payloadBase64, not silently truncated", async () => {
    await fc.assert(
      fc.asyncProperty(
        // 4k+1 characters leave 6 bits over: no byte; "=" alone pads nothing.
        fc.oneof(
          fc.stringMatching(/^(?:[A-Za-z0-9+/]{4}){0,3}[A-Za-z0-9+/]$/),
          fc.constantFrom("=", "=="),
        ),
        (payloadBase64) =>
          expectRefused({
            request: postJson(TASKS, { runPolicy: "once", payloadBase64 }),
            status: 400,
            field: "payloadBase64",
            names: ["payloadBase64"],
          }),
      ),
      { numRuns: 10 },
    );
  });

  it("a repeat schedule that overflows epoch milliseconds: 400 whose field and message name runPolicy", async () => {
    const overflowing = fc
      .integer({ min: 2, max: U32_MAX })
      .chain((count) =>
        fc.tuple(
          fc.constant(count),
          fc.integer({
            min: Math.ceil(Number.MAX_SAFE_INTEGER / (count - 1)),
            max: Number.MAX_SAFE_INTEGER,
          }),
        ),
      );
    await fc.assert(
      fc.asyncProperty(overflowing, fc.boolean(), ([count, intervalMs], asText) =>
        expectRefused({
          request: postJson(TASKS, {
            runPolicy: asText
              ? `repeat:${count}:${intervalMs}ms`
              : { kind: "repeat", count, intervalMs },
          }),
          status: 400,
          field: "runPolicy",
          names: ["runPolicy"],
        }),
      ),
      { numRuns: 10 },
    );
  });

  it("a repeat count too large to store: refused naming runPolicy (not payload), or accepted", async () => {
    // 600 000 runs encode to ~17 MB, over the 16 MiB a WAL record holds.
    await expectRefusedOrAccepted(postJson(TASKS, { runPolicy: "repeat:600000:1h" }), {
      field: "runPolicy",
      names: ["count"],
    });
  });

  it("a repeat count at the top of the documented range (4294967295) gets an answer and the daemon survives", async () => {
    // A daemon of its own, with its heap capped so a failure costs seconds and 128 MB, not the machine's memory.
    const own = await spawnDaemon(
      [
        "--data-dir",
        join(tempDir("aq-daemon-fuzz-"), "data"),
        "--bind",
        "127.0.0.1:0",
        "--log-level",
        "fatal",
      ],
      {
        ACTIONQUEUE_TOKEN: TOKEN,
        NODE_OPTIONS: "--max-old-space-size=128",
      },
    );
    try {
      await waitReady(own.url);
      const outcome = await send(
        own.url,
        postJson(TASKS, { runPolicy: `repeat:${U32_MAX}:1s` }),
        15_000,
      ).then(
        (answer) => `${answer.status} ${answer.text.slice(0, 300)}`,
        (error: Error) => `no answer: ${error.message}`,
      );
      expect.soft(outcome).toMatch(/^(201|4\d\d) /);
      if (outcome.startsWith("4")) expect.soft(outcome).toContain('"field":"runPolicy');
      const alive = await send(own.url, get("/healthz"), 2_000).then(
        (answer) => answer.status,
        (error: Error) => `dead: ${error.message}; ${own.stderr().slice(-300)}`,
      );
      expect.soft(alive).toBe(200);
    } finally {
      if (own.child.exitCode === null && own.child.signalCode === null) await stop(own);
    }
  });

  it("a path the router refuses (bad percent-encoding, an id over its length limit) still gets the error envelope", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ID_ROUTES),
        fc.oneof(
          fc.constantFrom("%", "%E0%A4%A", "%ZZ", "abc%"),
          fc.integer({ min: MAX_PARAM_LENGTH + 1, max: 400 }).map((n) => "A".repeat(n)),
        ),
        (route, rawId) =>
          expectRefused({ request: idRequest(route, rawId), status: "4xx", names: [rawId] }),
      ),
      { numRuns: 10 },
    );
  });

  it("__proto__ and constructor keys: 400 naming the refused key (the JSON itself is valid)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("__proto__", "constructor"),
        fc.constantFrom("top", "constraints", "metadata"),
        (key, where) => {
          const poisoned = `"${key}":{"prototype":{"polluted":true}}`;
          const text =
            where === "top"
              ? `{"runPolicy":"once",${poisoned}}`
              : `{"runPolicy":"once","${where}":{${poisoned}}}`;
          return expectRefused({
            request: postText(TASKS, text, "application/json"),
            status: 400,
            names: [key],
          });
        },
      ),
      { numRuns: 6 },
    );
  });

  it("an unknown key inside runPolicy.misfire: 400 naming it, not silently dropped", async () => {
    await fc.assert(
      fc.asyncProperty(keyOutside(["kind", "maxRuns"]), (key) =>
        expectRefused({
          request: postJson(TASKS, {
            runPolicy: {
              kind: "repeat",
              count: 2,
              intervalMs: 60_000,
              misfire: { kind: "catchUp", [key]: 3 },
            },
          }),
          status: 400,
          field: "runPolicy.misfire",
          names: [JSON.stringify(key)],
        }),
      ),
      { numRuns: 10 },
    );
  });
});
