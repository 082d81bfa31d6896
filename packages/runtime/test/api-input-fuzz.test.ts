/**
 * Property-based fuzzing (fast-check) of the programmatic API as a plain
 * JavaScript caller reaches it: no compiler stands between the caller and
 * `submit`, `submitMany`, the id-taking methods, the listings, `purge`,
 * `close` and `ActionQueue.open`, so any argument may be of any type.
 *
 * For every generated bad input — one field of a submission given a wrong
 * type or an out-of-range value, a `submitMany` list with one such element,
 * a malformed id, a bad query or option — it proves that:
 *
 * - the call fails with an `ActionQueueError` carrying a non-empty `code`,
 *   never a bare TypeError or RangeError, and a method that returns a
 *   promise rejects it instead of throwing;
 * - the message names the offending field (for a submitMany element, its
 *   index too);
 * - nothing changed: every file under the data directory byte for byte, and
 *   `stats()`.
 *
 * Refusals write nothing, so each property reuses one queue across its runs
 * and compares against the state taken once before the first run: a run that
 * wrongly writes makes every later comparison fail too, and fast-check then
 * shrinks to the smallest input that does it.
 *
 * `null` in an optional submission field means "not given" (README), so the
 * generators never offer it there as a bad value; `payload: null` is the JSON
 * value null and is not bad either.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ActionQueueError, NIL_ID, RUN_STATES, TASK_NAME_MAX_LENGTH, U32_MAX } from "@actionqueue/core";
import { ActionQueue, MAX_RUNS_PER_TASK } from "@actionqueue/runtime";
import type { Stats } from "@actionqueue/runtime";
import { fileTree, openQueue, tempDir } from "./helpers.js";

const I32_MIN = -2_147_483_648;
const I32_MAX = 2_147_483_647;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_PAGE = 10_000;
/** The documented id format (README: "Malformed ids throw INVALID_ID"); lower case is accepted and upper-cased. */
const WELL_FORMED_ID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const ONCE = { kind: "once" } as const;

/**
 * The queue as untyped JavaScript sees it: every argument may be anything.
 * Methods are called on the queue itself, so `this` is the queue.
 */
interface UntypedQueue {
  submit(input: unknown): Promise<unknown>;
  submitMany(inputs: unknown): Promise<unknown>;
  cancelRun(id: unknown): Promise<unknown>;
  cancelTask(id: unknown): Promise<unknown>;
  resumeRun(id: unknown): Promise<unknown>;
  purge(options?: unknown): Promise<unknown>;
  close(options?: unknown): Promise<unknown>;
  runUntilIdle(): Promise<void>;
  getRun(id: unknown): unknown;
  getTask(id: unknown): unknown;
  explain(id: unknown): unknown;
  listRuns(query?: unknown): unknown;
  listTasks(query?: unknown): unknown;
  stats(): Stats;
}
// Structurally an ActionQueue already is one (method parameters are bivariant): the type only widens what tests may pass.
const untyped = (q: ActionQueue): UntypedQueue => q;
const openUntyped = ActionQueue.open as (options: unknown) => Promise<ActionQueue>;

// ---------------------------------------------------------------------------
// The oracle


const ACCEPTED = Symbol("accepted");

/**
 * What a call did: the error it failed with, or {@link ACCEPTED}. A method
 * that returns a promise must report failure by rejecting it: a synchronous
 * throw would escape a caller's `q.submit(x).catch(handle)`. Such a throw
 * comes back as a plain Error, which the refusal rule then rejects.
 */
async function outcome(call: () => unknown, returnsPromise: boolean): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    if (returnsPromise) return new Error(`threw synchronously instead of rejecting: ${String(error)}`);
    return error;
  }
  if (!returnsPromise) return ACCEPTED;
  if (!(result instanceof Promise)) return new Error(`returned ${typeof result}, not a promise`);
  return result.then(
    () => ACCEPTED,
    (error: unknown) => error,
  );
}

/** Renders a generated value for an assertion message (symbols and BigInts defeat JSON). */
const show = (value: unknown): string => fc.stringify(value);

/**
 * Asserts the refusal rule for one call: an ActionQueueError with a code,
 * whose message names `field` (a substring or a pattern).
 */
async function expectRefused(call: () => unknown, returnsPromise: boolean, field: string | RegExp, what: unknown): Promise<ActionQueueError> {
  const error = await outcome(call, returnsPromise);
  const label = `${show(what)} → ${error === ACCEPTED ? "accepted" : String(error)}`;
  expect(error, label).not.toBe(ACCEPTED);
  expect(ActionQueueError.is(error), label).toBe(true);
  const aqError = error as ActionQueueError;
  expect(typeof aqError.code === "string" && aqError.code.length > 0, label).toBe(true);
  if (typeof field === "string") expect(aqError.message, label).toContain(field);
  else expect(aqError.message, label).toMatch(field);
  return aqError;
}

/** A queue with the state its refusals must leave alone. */
interface Fixture {
  readonly q: ActionQueue;
  readonly js: UntypedQueue;
  readonly dataDir: string;
  /** Asserts that nothing on disk and nothing in `stats()` changed since the fixture was taken. */
  unchanged(what: unknown): void;
}

/**
 * Opens a queue over a fresh directory holding one completed task (so a purge
 * wrongly accepted would remove it and write a record) and one scheduled
 * repeat task far in the future (so listings and ids have something to find).
 */
async function fixture(): Promise<Fixture & { completedTask: string }> {
  const dataDir = tempDir("aq-fuzz-");
  const q = await openQueue({ dataDir, handler: () => undefined, idleHorizonMs: 0 });
  const done = await q.submit({ runPolicy: ONCE, payload: { n: 1 } });
  await q.runUntilIdle();
  await q.submit({ runPolicy: { kind: "repeat", count: 2, intervalMs: 86_400_000 } });
  // Its first run is due at once; running it now leaves the fixture with nothing in flight while the properties run.
  await q.runUntilIdle();
  const files = fileTree(dataDir);
  const stats = structuredClone(q.stats());
  return {
    q,
    js: untyped(q),
    dataDir,
    completedTask: done.taskId,
    unchanged(what) {
      expect(fileTree(dataDir), `files after ${show(what)}`).toEqual(files);
      expect(q.stats(), `stats after ${show(what)}`).toEqual(stats);
    },
  };
}

// ---------------------------------------------------------------------------
// Generators of bad values

const symbol = fc.string({ maxLength: 4 }).map((s) => Symbol(s));
const func = fc.constantFrom<unknown>(
  () => undefined,
  function named() {
    return 1;
  },
  async () => 1,
  class Thing {},
);
const smallObject = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
const smallArray = fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 });
const specialNumber = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e300, -1e300, Number.MIN_VALUE);

/** Anything but a number (null and undefined excluded: they mean "not given"). */
const notANumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer().map(String),
  fc.boolean(),
  smallArray,
  fc.constant([5]),
  smallObject,
  fc.bigInt(),
  symbol,
  func,
);
/** Anything but a string (null and undefined excluded). */
const notAString: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  specialNumber,
  fc.boolean(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  smallObject,
  fc.bigInt(),
  symbol,
  func,
);
/** Anything but a plain object: arrays and functions are objects to `typeof`, not to a caller. */
const notAnObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  specialNumber,
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.bigInt(),
  symbol,
  func,
  smallArray,
);
/** Anything but an array. */
const notAnArray: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.bigInt(),
  symbol,
  func,
  smallObject,
);

/**
 * Numbers a field documented as a whole number from `min` to `max` must
 * refuse: below, above, fractional inside the range, NaN and infinities, -0
 * where 0 is out of range, and values of other types.
 */
function badWholeNumber(min: number, max: number): fc.Arbitrary<unknown> {
  // Whole parts for the fractions, within the range and within what fc.integer draws.
  const low = Math.max(min, I32_MIN);
  const high = Math.max(low, Math.min(max - 1, I32_MAX));
  const arbs: fc.Arbitrary<unknown>[] = [
    fc.constant(min - 1),
    fc.double({ max: min - 1, noNaN: true }),
    fc.tuple(fc.integer({ min: low, max: high }), fc.double({ min: 0.001, max: 0.999, noNaN: true })).map(([n, f]) => n + f),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    notANumber,
  ];
  if (max < MAX_SAFE) arbs.push(fc.constant(max + 1), fc.double({ min: max + 1, noNaN: true }));
  else arbs.push(fc.constant(MAX_SAFE + 1), fc.constant(1e300));
  if (min >= 1) arbs.push(fc.constant(-0));
  return fc.oneof(...arbs);
}

/** Strings that are not ids: random text, and ULIDs with one thing wrong. */
const malformedId: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.ulid().map((u) => u.slice(1)),
    fc.ulid().map((u) => `${u}0`),
    fc.ulid().map((u) => `8${u.slice(1)}`),
    fc.ulid().map((u) => ` ${u}`),
    fc
      .tuple(fc.ulid(), fc.nat(25), fc.constantFrom("I", "L", "O", "U", "i", "-", " ", "é", "\u0000"))
      .map(([u, at, c]) => u.slice(0, at) + c + u.slice(at + 1)),
  )
  .filter((s) => !WELL_FORMED_ID.test(s));

/** A well-formed id that names nothing in the fixture (ULIDs are 80 random bits past the time). */
const unknownId: fc.Arbitrary<string> = fc.oneof(fc.ulid(), fc.ulid().map((u) => u.toLowerCase())).filter((u) => u.toUpperCase() !== NIL_ID);

/** Any id argument that is not a string at all (null and undefined included: no id method takes them). */
const notAnId: fc.Arbitrary<unknown> = fc.oneof(notAString, fc.constant(null), fc.constant(undefined));

/** Payloads JSON cannot hold. */
const badPayload: fc.Arbitrary<unknown> = fc.oneof(
  func,
  symbol,
  fc.bigInt(),
  fc.bigInt().map((n) => ({ nested: [1, { n }] })),
  smallObject.map((o) => {
    const cyclic: Record<string, unknown> = { ...o };
    cyclic.self = cyclic;
    return cyclic;
  }),
  smallArray.map((a) => {
    const cyclic: unknown[] = [...a];
    cyclic.push({ back: cyclic });
    return cyclic;
  }),
  fc.string({ maxLength: 10 }).map((message) => ({
    toJSON() {
      throw new Error(message);
    },
  })),
  fc.constant(
    Object.defineProperty({ [fc.toStringMethod]: () => "{ get broken() { throw } }" }, "broken", {
      enumerable: true,
      get() {
        throw new TypeError("getter failed");
      },
    }),
  ),
);

/** A bad misfire policy: not an object, an unknown kind, or a bad catch-up bound. */
const badMisfire: fc.Arbitrary<unknown> = fc.oneof(
  notAnObject,
  fc.oneof(notAString, fc.string({ maxLength: 10 }).filter((k) => !["catchUp", "skip", "coalesce"].includes(k))).map((kind) => ({ kind })),
  badWholeNumber(1, U32_MAX).map((maxRuns) => ({ kind: "catchUp", maxRuns })),
);

/** A string outside a documented set. */
const notOneOf = (allowed: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    notAString,
    fc.string({ maxLength: 16 }).filter((s) => !allowed.includes(s)),
    fc.constantFrom("toString", "__proto__", "constructor", "hasOwnProperty"),
    fc.constantFrom(...allowed).map((s) => s.toUpperCase()),
  );

/** One bad submission: the field its message must name, and the input. */
interface BadSubmission {
  readonly field: string | RegExp;
  readonly input: unknown;
}

const bad = <T>(field: string | RegExp, values: fc.Arbitrary<T>, build: (value: T) => unknown): fc.Arbitrary<BadSubmission> =>
  values.map((value) => ({ field, input: build(value) }));

const cron = (fields: Record<string, unknown>) => ({ runPolicy: { kind: "cron", expression: "*/5 * * * *", ...fields } });
const repeat = (fields: Record<string, unknown>) => ({ runPolicy: { kind: "repeat", count: 2, intervalMs: 60_000, ...fields } });

/** The submission itself and its top-level fields. */
const badInput: fc.Arbitrary<BadSubmission> = fc.oneof(
  bad("runPolicy", fc.oneof(notAnObject, fc.constant(null), fc.constant(undefined)), (v) => v),
  bad("name", fc.oneof(notAString, fc.constant(""), fc.string({ minLength: TASK_NAME_MAX_LENGTH + 1, maxLength: TASK_NAME_MAX_LENGTH + 40 })), (name) => ({ runPolicy: ONCE, name })),
  bad(/task ?id/i, fc.oneof(notAString, malformedId, fc.constant(NIL_ID)), (taskId) => ({ runPolicy: ONCE, taskId })),
  bad("payload", badPayload, (payload) => ({ runPolicy: ONCE, payload })),
  // With bytes the content type is the caller's alone; with no payload it is checked all the same.
  bad("contentType", fc.oneof(notAString, fc.constant("")), (contentType) => ({ runPolicy: ONCE, payload: new Uint8Array([1]), contentType })),
  bad("contentType", notAString, (contentType) => ({ runPolicy: ONCE, contentType })),
);

/**
 * The run policy and each of its fields. They are named by their leaf
 * ("repeat count", "cron maxOccurrences"), as the policy's own messages have
 * always done; constraints and metadata by their full path.
 */
const badPolicy: fc.Arbitrary<BadSubmission> = fc.oneof(
  bad("runPolicy", fc.oneof(notAnObject, fc.constant(null), fc.constant(undefined)), (runPolicy) => ({ runPolicy })),
  bad("runPolicy.kind", fc.oneof(notAString, fc.string({ maxLength: 10 }).filter((k) => !["once", "repeat", "cron"].includes(k))), (kind) => ({ runPolicy: { kind } })),
  bad("count", badWholeNumber(1, MAX_RUNS_PER_TASK), (count) => repeat({ count })),
  bad("intervalMs", badWholeNumber(1, MAX_SAFE), (intervalMs) => repeat({ intervalMs })),
  bad("misfire", badMisfire, (misfire) => repeat({ misfire })),
  bad(
    "expression",
    fc.oneof(
      notAString,
      fc.constantFrom("", "   ", "* * *", "* * * * * * *", "61 * * * *", "* 25 * * *", "0 0 30 2 *", "@never"),
      // One field and no macro: never an expression.
      fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/\s/.test(s) && !s.startsWith("@")),
    ),
    (expression) => cron({ expression }),
  ),
  bad("maxOccurrences", badWholeNumber(1, U32_MAX), (maxOccurrences) => cron({ maxOccurrences })),
  bad("misfire", badMisfire, (misfire) => cron({ misfire })),
);

const badConstraints: fc.Arbitrary<BadSubmission> = fc.oneof(
  bad("constraints", notAnObject, (constraints) => ({ runPolicy: ONCE, constraints })),
  bad("constraints.maxAttempts", badWholeNumber(1, U32_MAX), (maxAttempts) => ({ runPolicy: ONCE, constraints: { maxAttempts } })),
  bad("constraints.timeoutMs", badWholeNumber(1, MAX_SAFE), (timeoutMs) => ({ runPolicy: ONCE, constraints: { timeoutMs } })),
  bad("constraints.concurrencyKey", fc.oneof(notAString, fc.constant("")), (concurrencyKey) => ({ runPolicy: ONCE, constraints: { concurrencyKey } })),
  bad("constraints.concurrencyKeyHoldPolicy", notOneOf(["holdDuringRetry", "releaseOnRetry"]), (concurrencyKeyHoldPolicy) => ({ runPolicy: ONCE, constraints: { concurrencyKeyHoldPolicy } })),
  bad("constraints.safetyLevel", notOneOf(["pure", "idempotent", "transactional"]), (safetyLevel) => ({ runPolicy: ONCE, constraints: { safetyLevel } })),
  bad(
    "constraints.requiredCapabilities",
    fc.oneof(notAnArray, fc.constant([]), fc.tuple(fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 2 }), fc.oneof(notAString, fc.constant(""))).map(([ok, wrong]) => [...ok, wrong])),
    (requiredCapabilities) => ({ runPolicy: ONCE, constraints: { requiredCapabilities } }),
  ),
);

const badMetadata: fc.Arbitrary<BadSubmission> = fc.oneof(
  bad("metadata", notAnObject, (metadata) => ({ runPolicy: ONCE, metadata })),
  bad(
    "metadata.tags",
    fc.oneof(notAnArray, fc.tuple(fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), notAString).map(([ok, wrong]) => [...ok, wrong])),
    (tags) => ({ runPolicy: ONCE, metadata: { tags } }),
  ),
  // -0 is an integer in range here (priority 0), so it is not among the bad values.
  bad("metadata.priority", badWholeNumber(I32_MIN, I32_MAX), (priority) => ({ runPolicy: ONCE, metadata: { priority } })),
  bad("metadata.description", notAString, (description) => ({ runPolicy: ONCE, metadata: { description } })),
);

// ---------------------------------------------------------------------------
// startAt, cron time zones and a task's own backoff: each refusal has a code of
// its own and names the field in details.field too. The limits are written
// out here (the README's), not imported.

/** README: startAt is epoch milliseconds, a whole number from 0 to 8.64e15 (the last millisecond a Date holds). */
const MAX_START_AT = 8_640_000_000_000_000;
/** README: a backoff's delays are whole milliseconds from 0 to 2^31 − 1. */
const MAX_RETRY_DELAY = 2_147_483_647;
/** Every key a backoff may have: delayMs only with fixed, baseMs and maxMs only with exponential. */
const BACKOFF_KEYS = ["kind", "delayMs", "baseMs", "maxMs", "jitter"];
/** One bad submission whose refusal has a known code and details.field (and names the field in its message). */
interface CodedSubmission extends BadSubmission {
  readonly code: string;
  readonly field: string;
}

const coded = <T>(code: string, field: string, values: fc.Arbitrary<T>, build: (value: T) => unknown): fc.Arbitrary<CodedSubmission> =>
  values.map((value) => ({ code, field, input: build(value) }));

/** A policy of each kind with `fields` added: every kind takes a startAt. */
const policyOf = (kind: "once" | "repeat" | "cron", fields: Record<string, unknown>): unknown =>
  kind === "once" ? { runPolicy: { kind: "once", ...fields } } : kind === "repeat" ? repeat(fields) : cron(fields);
const anyKind = fc.constantFrom<"once" | "repeat" | "cron">("once", "repeat", "cron");

/**
 * Bad startAt values: negative, fractional, NaN and infinities, past 8.64e15,
 * other types — numeric and ISO strings among them — and Dates (valid or
 * not: the caller must pass date.getTime()).
 */
const badStartAt: fc.Arbitrary<unknown> = fc.oneof(
  badWholeNumber(0, MAX_START_AT),
  fc.constantFrom(-1, -MAX_START_AT, MAX_START_AT + 1, MAX_START_AT * 2, MAX_SAFE, MAX_SAFE + 1, 0.5, 1_700_000_000_000.5),
  fc.date(),
  fc.constantFrom(new Date(0), new Date(1_700_000_000_000), new Date(Number.NaN)),
  fc.nat().map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

/** Zone names no time zone database has: areas on other worlds, near misses of real names, abbreviations that are not names, stray spaces and slashes. */
const unknownZone: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom("Mars", "Luna", "Atlantis", "Nowhere"), fc.stringMatching(/^[A-Z][a-z_]{1,10}$/)).map(([area, city]) => `${area}/${city}`),
  fc.constantFrom(
    "Europe/Berlinn", "Europe/Berln", "America/NewYork", "America/New York", "Asia/Kolkatta", "Europe/Berlin/", "Europe//Berlin", "/Europe/Berlin",
    "Berlin", "CEST", "PDT", "EST5", "Etc/GMT+15", "Z", "UTC ", " UTC", "Europe/Berlin\n", "Europe/Berlin\u0000", "Europe/Berlin;",
  ),
);
/** UTC offsets are not zones: ±HH:MM and the like, bare or after UTC/GMT. */
const offsetZone: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("+", "-", "UTC+", "UTC-", "GMT+", "GMT-"), fc.integer({ min: 0, max: 14 }), fc.constantFrom(":00", ":30", ":45", "00", "30", ""))
  .map(([sign, hours, minutes]) => `${sign}${String(hours).padStart(2, "0")}${minutes}`);
/**
 * Zones that are not strings, empty or blank ones among them. A list of one
 * zone name, an object whose toString gives one, a Symbol and an object
 * without a prototype were once converted to a string before the check
 * (accepted as that zone, or a bare TypeError).
 */
const notAStringZone: fc.Arbitrary<unknown> = fc.oneof(notAString, fc.constantFrom<unknown>(["Europe/Berlin"], ["UTC"], { toString: () => "Asia/Tokyo" }, Object.create(null)));
const badZone: fc.Arbitrary<unknown> = fc.oneof(unknownZone, offsetZone, notAStringZone, fc.constantFrom("", " ", "\t"));

/** A bad `constraints.backoff` (on a once task): the code and field its refusal has. */
const withBackoff = (backoff: unknown) => ({ runPolicy: ONCE, constraints: { backoff } });
const identifier = fc.stringMatching(/^[A-Za-z]\w{0,11}$/);
const badBackoff: fc.Arbitrary<CodedSubmission> = fc.oneof(
  coded("INVALID_BACKOFF", "constraints.backoff", notAnObject, withBackoff),
  // A kind neither fixed nor exponential (or none): named before the delays it would need.
  coded("INVALID_BACKOFF", "constraints.backoff.kind", fc.oneof(notOneOf(["fixed", "exponential"]), fc.constant(undefined)), (kind) => withBackoff({ kind, delayMs: 5 })),
  coded("INVALID_BACKOFF", "constraints.backoff.kind", fc.constant({ delayMs: 5 }), withBackoff),
  coded("INVALID_BACKOFF", "constraints.backoff.delayMs", fc.oneof(badWholeNumber(0, MAX_RETRY_DELAY), fc.constant(null)), (delayMs) => withBackoff({ kind: "fixed", delayMs })),
  coded("INVALID_BACKOFF", "constraints.backoff.delayMs", fc.constant({ kind: "fixed" }), withBackoff),
  coded("INVALID_BACKOFF", "constraints.backoff.baseMs", badWholeNumber(0, MAX_RETRY_DELAY), (baseMs) => withBackoff({ kind: "exponential", baseMs, maxMs: MAX_RETRY_DELAY })),
  coded("INVALID_BACKOFF", "constraints.backoff.baseMs", fc.constant({ kind: "exponential", maxMs: 100 }), withBackoff),
  coded("INVALID_BACKOFF", "constraints.backoff.maxMs", badWholeNumber(0, MAX_RETRY_DELAY), (maxMs) => withBackoff({ kind: "exponential", baseMs: 0, maxMs })),
  coded("INVALID_BACKOFF", "constraints.backoff.maxMs", fc.constant({ kind: "exponential", baseMs: 100 }), withBackoff),
  // baseMs above maxMs, both in range.
  coded(
    "INVALID_BACKOFF",
    "constraints.backoff.baseMs",
    fc.tuple(fc.integer({ min: 1, max: MAX_RETRY_DELAY }), fc.nat()).map(([baseMs, below]) => ({ baseMs, maxMs: baseMs - 1 - (below % baseMs) })),
    ({ baseMs, maxMs }) => withBackoff({ kind: "exponential", baseMs, maxMs }),
  ),
  // Jitter is "full", or left out ("none" and null say the same); anything else is refused.
  coded("INVALID_BACKOFF", "constraints.backoff.jitter", fc.tuple(notOneOf(["full", "none"]), fc.boolean()), ([jitter, fixed]) =>
    withBackoff(fixed ? { kind: "fixed", delayMs: 5, jitter } : { kind: "exponential", baseMs: 5, maxMs: 50, jitter }),
  ),
  // A key of the other kind, or one no backoff has.
  fc.tuple(fc.constantFrom("baseMs", "maxMs"), fc.nat(MAX_RETRY_DELAY)).map(([key, value]): CodedSubmission => ({
    code: "UNKNOWN_FIELD",
    field: `constraints.backoff.${key}`,
    input: withBackoff({ kind: "fixed", delayMs: 1, [key]: value }),
  })),
  coded("UNKNOWN_FIELD", "constraints.backoff.delayMs", fc.nat(MAX_RETRY_DELAY), (delayMs) => withBackoff({ kind: "exponential", baseMs: 1, maxMs: 2, delayMs })),
  coded("UNKNOWN_FIELD", "constraints.backoff.delayMs", fc.nat(MAX_RETRY_DELAY), (delayMs) => withBackoff({ kind: "exponential", delayMs })),
  fc.tuple(identifier.filter((key) => !BACKOFF_KEYS.includes(key)), fc.boolean(), fc.jsonValue({ maxDepth: 1 })).map(([key, fixed, value]): CodedSubmission => ({
    code: "UNKNOWN_FIELD",
    field: `constraints.backoff.${key}`,
    input: withBackoff(fixed ? { kind: "fixed", delayMs: 1, [key]: value } : { kind: "exponential", baseMs: 1, maxMs: 2, [key]: value }),
  })),
);

/** Bad startAt on any kind of policy, bad zones on cron policies (a zone on another kind is a field it does not have). */
const badStartOrZone: fc.Arbitrary<CodedSubmission> = fc.oneof(
  fc.tuple(anyKind, badStartAt).map(([kind, startAt]): CodedSubmission => ({ code: "INVALID_START_AT", field: "runPolicy.startAt", input: policyOf(kind, { startAt }) })),
  coded("INVALID_TIME_ZONE", "runPolicy.timezone", badZone, (timezone) => cron({ timezone })),
  coded("UNKNOWN_FIELD", "runPolicy.timezone", fc.tuple(fc.constantFrom("once" as const, "repeat" as const), fc.constantFrom("Europe/Berlin", "UTC")), ([kind, timezone]) =>
    policyOf(kind, { timezone }),
  ),
);

const badSubmission = fc.oneof(badInput, badPolicy, badConstraints, badMetadata, badStartOrZone, badBackoff);

/** Runs per property: each group below is small enough for this to reach every case several times. */
const RUNS = 100;

// ---------------------------------------------------------------------------

describe("the oracle can fail", () => {
  it("a valid submission changes both the files and the stats, so an unchanged pair means nothing was written", async () => {
    const f = await fixture();
    await f.js.submit({ runPolicy: ONCE });
    expect(() => f.unchanged("a valid submission")).toThrow();
  });
});

describe("submit() refuses every bad field by name, writing nothing", () => {
  // The examples are inputs that were once accepted (a constraints or metadata
  // that is not an object read as "all defaults"): always tried, whatever the seed.
  const groups: [string, fc.Arbitrary<BadSubmission>, BadSubmission[]][] = [
    ["the input, name, taskId, payload, contentType", badInput, []],
    ["the run policy and its fields", badPolicy, []],
    [
      "constraints and their fields",
      badConstraints,
      [
        { field: "constraints", input: { runPolicy: ONCE, constraints: 5 } },
        { field: "constraints", input: { runPolicy: ONCE, constraints: [] } },
        { field: "constraints", input: { runPolicy: ONCE, constraints: "x" } },
      ],
    ],
    [
      "metadata and its fields",
      badMetadata,
      [
        { field: "metadata", input: { runPolicy: ONCE, metadata: 5 } },
        { field: "metadata", input: { runPolicy: ONCE, metadata: ["tag"] } },
        { field: "metadata", input: { runPolicy: ONCE, metadata: true } },
      ],
    ],
  ];

  it.each(groups)("%s", async (_name, cases, examples) => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        await expectRefused(() => f.js.submit(input), true, field, input);
        f.unchanged(input);
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
  });
});

describe("submit() refuses a bad startAt, zone or backoff with its code and field, writing nothing", () => {
  // Inputs whose refusal is easy to get subtly wrong: always tried, whatever the seed.
  const groups: [string, fc.Arbitrary<CodedSubmission>, CodedSubmission[]][] = [
    [
      "startAt (INVALID_START_AT) and timezone (INVALID_TIME_ZONE; UNKNOWN_FIELD on a once or repeat policy)",
      badStartOrZone,
      [
        { code: "INVALID_START_AT", field: "runPolicy.startAt", input: policyOf("once", { startAt: new Date(1_700_000_000_000) }) },
        { code: "INVALID_START_AT", field: "runPolicy.startAt", input: policyOf("cron", { startAt: MAX_START_AT + 1 }) },
        { code: "INVALID_START_AT", field: "runPolicy.startAt", input: policyOf("repeat", { startAt: -1 }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: "+01:00" }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: "" }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: 1 }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: ["Europe/Berlin"] }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: Symbol("Europe/Berlin") }) },
        { code: "INVALID_TIME_ZONE", field: "runPolicy.timezone", input: cron({ timezone: Object.create(null) as unknown }) },
      ],
    ],
    [
      "constraints.backoff (INVALID_BACKOFF, or UNKNOWN_FIELD for a key of the other kind)",
      badBackoff,
      [
        { code: "INVALID_BACKOFF", field: "constraints.backoff.delayMs", input: withBackoff({ kind: "fixed", delayMs: -1 }) },
        { code: "INVALID_BACKOFF", field: "constraints.backoff.delayMs", input: withBackoff({ kind: "fixed", delayMs: MAX_RETRY_DELAY + 1 }) },
        { code: "INVALID_BACKOFF", field: "constraints.backoff.baseMs", input: withBackoff({ kind: "exponential", baseMs: 2, maxMs: 1 }) },
        { code: "INVALID_BACKOFF", field: "constraints.backoff.jitter", input: withBackoff({ kind: "fixed", delayMs: 1, jitter: "FULL" }) },
        { code: "INVALID_BACKOFF", field: "constraints.backoff", input: withBackoff([{ kind: "fixed", delayMs: 1 }]) },
        { code: "UNKNOWN_FIELD", field: "constraints.backoff.maxMs", input: withBackoff({ kind: "fixed", delayMs: 1, maxMs: 2 }) },
      ],
    ],
  ];

  it.each(groups)("%s", async (_name, cases, examples) => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(cases, async ({ code, field, input }) => {
        const error = await expectRefused(() => f.js.submit(input), true, field, input);
        expect(error.code, show(input)).toBe(code);
        expect((error.details as { field?: unknown } | undefined)?.field, show(input)).toBe(field);
        f.unchanged(input);
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
  });

  it("the oracle can fail: good values of each are accepted (jitter \"none\" and null too; a zone in any letter case; UTC spelt out)", async () => {
    const f = await fixture();
    const good: unknown[] = [
      policyOf("once", { startAt: 0 }),
      policyOf("repeat", { startAt: MAX_START_AT }),
      cron({ timezone: "europe/berlin" }),
      cron({ timezone: "UTC" }),
      cron({ timezone: "Asia/Kolkata" }),
      withBackoff({ kind: "fixed", delayMs: 0, jitter: "none" }),
      withBackoff({ kind: "fixed", delayMs: MAX_RETRY_DELAY, jitter: null }),
      withBackoff({ kind: "exponential", baseMs: 7, maxMs: 7, jitter: "full" }),
    ];
    for (const input of good) expect(await outcome(() => f.js.submit(input), true), show(input)).toBe(ACCEPTED);
  });
});

describe("submitMany() is all or nothing", () => {
  it("a non-array is refused naming submitMany", async () => {
    const f = await fixture();
    const notAList = fc.oneof(notAnArray, fc.constant(null), fc.constant(undefined), fc.constant(new Set([{ runPolicy: ONCE }])), fc.constant({ length: 1, 0: { runPolicy: ONCE } }));
    await fc.assert(
      fc.asyncProperty(notAList, async (inputs) => {
        await expectRefused(() => f.js.submitMany(inputs), true, "submitMany", inputs);
        f.unchanged(inputs);
      }),
      { numRuns: 50 },
    );
  });

  it("one bad element among valid ones: the error names its index and field, and none of the valid ones is written", async () => {
    const f = await fixture();
    // Valid elements with ids of their own, so the test can ask afterwards whether any of them exists.
    const valid = fc.uniqueArray(fc.record({ taskId: fc.ulid().filter((u) => u !== NIL_ID), keyed: fc.boolean() }), { maxLength: 4, selector: (v) => v.taskId });
    await fc.assert(
      fc.asyncProperty(valid, badSubmission, fc.nat(), async (good, { field, input }, at) => {
        const index = at % (good.length + 1);
        // A keyed task reaches the scheduler by another path than a plain one; both must be rolled back.
        const inputs: unknown[] = good.map(({ taskId, keyed }) => ({ taskId, runPolicy: ONCE, ...(keyed ? { constraints: { concurrencyKey: "k" } } : {}) }));
        inputs.splice(index, 0, input);
        const error = await expectRefused(() => f.js.submitMany(inputs), true, field, inputs);
        expect(error.message, show(inputs)).toMatch(new RegExp(`^submission ${index}: `));
        for (const { taskId } of good) expect(f.js.getTask(taskId), taskId).toBeUndefined();
        f.unchanged(inputs);
      }),
      { numRuns: RUNS },
    );
    // Nothing a refused call told the scheduler about is left for the loop to run.
    await f.js.runUntilIdle();
    f.unchanged("runUntilIdle after the refusals");
  });
});

describe("methods taking an id", () => {
  const methods = [
    { name: "getRun", kind: /run ?id/i, returnsPromise: false },
    { name: "getTask", kind: /task ?id/i, returnsPromise: false },
    { name: "explain", kind: /run ?id/i, returnsPromise: false },
    { name: "cancelRun", kind: /run ?id/i, returnsPromise: true },
    { name: "cancelTask", kind: /task ?id/i, returnsPromise: true },
    { name: "resumeRun", kind: /run ?id/i, returnsPromise: true },
  ] as const;
  type Method = (typeof methods)[number];
  const call = (f: Fixture, m: Method, id: unknown) => () => f.js[m.name](id);

  it("a non-string or malformed id is INVALID_ID naming the kind of id (README: malformed ids throw INVALID_ID)", async () => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), fc.oneof(notAnId, malformedId), async (m, id) => {
        const error = await expectRefused(call(f, m, id), m.returnsPromise, m.kind, [m.name, id]);
        expect(error.code, show([m.name, id])).toBe("INVALID_ID");
        f.unchanged([m.name, id]);
      }),
      { numRuns: RUNS },
    );
  });

  it("a well-formed id that names nothing: getRun/getTask give undefined, the rest NOT_FOUND", async () => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), unknownId, async (m, id) => {
        if (m.name === "getRun" || m.name === "getTask") {
          expect(f.js[m.name](id), id).toBeUndefined();
        } else {
          // Case-insensitive: a lower-case id is accepted and upper-cased, and a message may show either form.
          const error = await expectRefused(call(f, m, id), m.returnsPromise, new RegExp(id, "i"), [m.name, id]);
          expect(error.code, show([m.name, id])).toBe("NOT_FOUND");
        }
        f.unchanged([m.name, id]);
      }),
      { numRuns: 60 },
    );
  });
});

describe("listings refuse a bad query by name", () => {
  const badQueryShape = fc.oneof(notAnObject, fc.constant(null));

  it("listRuns: bad query, limit, cursor, state or taskId", async () => {
    const f = await fixture();
    const cases = fc.oneof(
      bad("query", badQueryShape, (q) => q),
      bad("limit", badWholeNumber(1, MAX_PAGE), (limit) => ({ limit })),
      bad("cursor", fc.oneof(notAString, malformedId), (cursor) => ({ cursor })),
      bad("state", notOneOf(RUN_STATES), (state) => ({ state })),
      bad("taskId", fc.oneof(notAString, malformedId), (taskId) => ({ taskId })),
    );
    // Once a TypeError (null) or read as "no filter" (a string); cursors once named only "RunId".
    const examples: BadSubmission[] = [
      { field: "query", input: null },
      { field: "query", input: "completed" },
      { field: "cursor", input: { cursor: "x" } },
      { field: "taskId", input: { taskId: 5 } },
    ];
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        await expectRefused(() => f.js.listRuns(input), false, field, input);
        f.unchanged(input);
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
  });

  it("listTasks: bad query, limit or cursor", async () => {
    const f = await fixture();
    const cases = fc.oneof(
      bad("query", badQueryShape, (q) => q),
      bad("limit", badWholeNumber(1, MAX_PAGE), (limit) => ({ limit })),
      bad("cursor", fc.oneof(notAString, malformedId), (cursor) => ({ cursor })),
    );
    const examples: BadSubmission[] = [
      { field: "query", input: null },
      { field: "cursor", input: { cursor: 5 } },
    ];
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        await expectRefused(() => f.js.listTasks(input), false, field, input);
        f.unchanged(input);
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
  });
});

describe("purge() refuses bad options before it removes anything", () => {
  it("bad options object, limit, finishedBefore, olderThanMs or states (a finished task is there to be wrongly purged)", async () => {
    const f = await fixture();
    const terminal = ["completed", "failed", "canceled"];
    const cases = fc.oneof(
      bad("options", fc.oneof(notAnObject, fc.constant(null)), (o) => o),
      bad("limit", badWholeNumber(0, MAX_SAFE), (limit) => ({ limit })),
      bad("finishedBefore", badWholeNumber(0, MAX_SAFE), (finishedBefore) => ({ finishedBefore })),
      bad("olderThanMs", badWholeNumber(0, MAX_SAFE), (olderThanMs) => ({ olderThanMs })),
      bad(
        "states",
        fc.oneof(notAnArray, fc.constant([]), fc.tuple(fc.subarray(terminal), notOneOf(terminal)).map(([ok, wrong]) => [...ok, wrong])),
        (states) => ({ states }),
      ),
    );
    // A list is not the options: purge(["completed"]) once purged every finished task.
    const examples: BadSubmission[] = [
      { field: "options", input: ["completed"] },
      { field: "options", input: [] },
    ];
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        await expectRefused(() => f.js.purge(input), true, field, input);
        f.unchanged(input);
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
    expect(f.js.getTask(f.completedTask)).toBeDefined();
  });
});

describe("close() with bad options", () => {
  it("is refused by name and leaves the queue open and working; a proper close afterwards releases the directory", async () => {
    const f = await fixture();
    const cases = fc.oneof(
      bad("options", fc.oneof(notAnObject, fc.constant(null)), (o) => o),
      bad("mode", notOneOf(["drain", "abort"]), (mode) => ({ mode })),
      bad("graceMs", badWholeNumber(0, MAX_SAFE), (graceMs) => ({ graceMs })),
    );
    // close(null) once threw a TypeError half-way, leaving a queue that refused everything and a lock never released;
    // a graceMs of NaN or text never reached its deadline.
    const examples: BadSubmission[] = [
      { field: "options", input: null },
      { field: "options", input: 5 },
      { field: "graceMs", input: { graceMs: Number.NaN } },
      { field: "graceMs", input: { graceMs: "100" } },
    ];
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        await expectRefused(() => f.js.close(input), true, field, input);
        // Still open: a closed queue refuses runUntilIdle with CLOSED.
        await f.js.runUntilIdle();
        f.unchanged(input);
      }),
      { numRuns: 60, examples: examples.map((e) => [e]) },
    );
    await f.q.close();
    const again = await openQueue({ dataDir: f.dataDir });
    expect(again.stats().tasks).toBe(2);
  });
});

describe("ActionQueue.open() refuses bad options with INVALID_CONFIG before touching the disk", () => {
  const fn = () => undefined;
  // Written out here rather than imported: the test's own record of what open() documents.
  const OPEN_OPTION_KEYS = [
    "dataDir", "handler", "handlers", "concurrency", "clock", "backoff", "snapshotEvery", "snapshotInWorker",
    "leaseTimeoutMs", "owner", "idleHorizonMs", "cronWindow", "deferredFlushMs", "walSyncMode", "walPreallocate", "retention",
  ];

  const badShapes: fc.Arbitrary<BadSubmission> = fc.oneof(
    // A list gets as far as the first required option, which it lacks: naming dataDir is as good as naming the options.
    bad(/options|dataDir/, fc.oneof(notAnObject, fc.constant(null), fc.constant(undefined)), (o) => o),
    bad("dataDir", fc.oneof(notAString, fc.constant(null), fc.constant(undefined), fc.constantFrom("", "   ")), (dataDir) => ({ dataDir })),
    bad("handler", fc.oneof(notAString.filter((h) => typeof h !== "function"), fc.string({ maxLength: 6 })), (handler) => ({ handler })),
    // A function is the wrong thing for handlers (that is `handler`); a list is not a map by name.
    bad("handlers", fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 6 }), fc.boolean(), fc.bigInt(), symbol, func, fc.array(fc.constant(fn), { maxLength: 2 })), (handlers) => ({ handlers })),
    bad("handlers.", fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), notAString.filter((h) => typeof h !== "function")), ([name, h]) => ({ handlers: { ok: fn, [name === "ok" ? "ok2" : name]: h } })),
    bad("snapshotInWorker", fc.oneof(notAString.filter((v) => typeof v !== "boolean"), fc.string({ maxLength: 5 })), (snapshotInWorker) => ({ snapshotInWorker })),
    bad("walPreallocate", fc.oneof(notAString.filter((v) => typeof v !== "boolean"), fc.string({ maxLength: 5 })), (walPreallocate) => ({ walPreallocate })),
    bad("walSyncMode", notOneOf(["writeThrough", "fdatasync"]), (walSyncMode) => ({ walSyncMode })),
    bad("owner", fc.oneof(notAString, fc.constant("")), (owner) => ({ owner })),
    bad("clock", fc.oneof(notAnObject, fc.constant({}), fc.constant({ now: () => 0 }), fc.constant({ now: 5, random: Math.random, setTimeout: fn })), (clock) => ({ clock })),
    // null in an optional option is its default (as in a submission), so it is not offered here.
    bad("retention", notAnObject, (retention) => ({ retention })),
    // A key open() does not know: a typo must not silently become a default.
    fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((key) => /^[A-Za-z]\w*$/.test(key) && !OPEN_OPTION_KEYS.includes(key))
      .map((key): BadSubmission => ({ field: key, input: { [key]: 1 } })),
    bad("retention.states", fc.oneof(notAnArray, fc.constant([]), fc.constant(["running"])), (states) => ({ retention: { olderThanMs: 0, states } })),
    bad("backoff", notAnObject, (backoff) => ({ backoff })),
    bad("backoff.kind", notOneOf(["fixed", "exponential"]), (kind) => ({ backoff: { kind, delayMs: 1 } })),
    bad("backoff.jitter", notOneOf(["none", "full"]), (jitter) => ({ backoff: { kind: "fixed", delayMs: 1, jitter } })),
  );

  const badNumbers: fc.Arbitrary<BadSubmission> = fc.oneof(
    bad("concurrency", fc.oneof(fc.constantFrom(0, -1, 1.5, "4", Number.NaN), badWholeNumber(1, 10_000)), (concurrency) => ({ concurrency })),
    bad("snapshotEvery", badWholeNumber(0, MAX_SAFE), (snapshotEvery) => ({ snapshotEvery })),
    bad("leaseTimeoutMs", badWholeNumber(1_000, 86_400_000), (leaseTimeoutMs) => ({ leaseTimeoutMs })),
    bad("idleHorizonMs", badWholeNumber(0, 86_400_000), (idleHorizonMs) => ({ idleHorizonMs })),
    bad("cronWindow", badWholeNumber(1, 1_000), (cronWindow) => ({ cronWindow })),
    bad("deferredFlushMs", badWholeNumber(1, 50), (deferredFlushMs) => ({ deferredFlushMs })),
    bad("backoff.delayMs", badWholeNumber(0, MAX_SAFE), (delayMs) => ({ backoff: { kind: "fixed", delayMs } })),
    bad("backoff.baseMs", badWholeNumber(0, MAX_SAFE), (baseMs) => ({ backoff: { kind: "exponential", baseMs, maxMs: 1_000 } })),
    bad("backoff.maxMs", badWholeNumber(0, MAX_SAFE), (maxMs) => ({ backoff: { kind: "exponential", baseMs: 0, maxMs } })),
    bad("retention.olderThanMs", badWholeNumber(0, MAX_SAFE), (olderThanMs) => ({ retention: { olderThanMs } })),
    bad("retention.everyMs", badWholeNumber(100, MAX_SAFE), (everyMs) => ({ retention: { olderThanMs: 0, everyMs } })),
  );

  // A clock without its methods once failed with a TypeError after storage had
  // taken the lock, and kept it: every later open in the process was LOCK_HELD.
  // Handlers that are not a map once read as "no handlers".
  const groups: [string, fc.Arbitrary<BadSubmission>, BadSubmission[]][] = [
    [
      "options of the wrong shape",
      badShapes,
      [
        { field: "clock", input: { clock: {} } },
        { field: "clock", input: { clock: 0 } },
        { field: "handlers", input: { handlers: 5 } },
        { field: "handlers", input: { handlers: fn } },
        { field: "handlers", input: { handlers: [fn] } },
      ],
    ],
    ["numbers out of range or not whole", badNumbers, [{ field: "concurrency", input: { concurrency: "4" } }]],
  ];

  it.each(groups)("%s: no directory is created, an existing one is unchanged and unlocked, and a good open of it then succeeds", async (_name, cases, examples) => {
    const root = tempDir("aq-fuzz-open-");
    const existing = join(root, "existing");
    await (await ActionQueue.open({ dataDir: existing, handler: fn })).close();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ({ field, input }) => {
        runs += 1;
        // Options with a dataDir of their own (the dataDir cases) are tried as they are.
        const withDir = (dataDir: string): unknown =>
          typeof input === "object" && input !== null && !Array.isArray(input) && !("dataDir" in input) ? { dataDir, ...input } : input;
        const fresh = join(root, `fresh-${runs}`);
        const error = await expectRefused(() => openUntyped(withDir(fresh)), true, field, input);
        expect(error.code, show(input)).toBe("INVALID_CONFIG");
        expect(existsSync(fresh), `${fresh} after ${show(input)}`).toBe(false);

        const before = fileTree(existing);
        await expectRefused(() => openUntyped(withDir(existing)), true, field, input);
        expect(fileTree(existing), show(input)).toEqual(before);
        // The writer lock is per process as well as on disk: a refused open that kept it would make this LOCK_HELD.
        await (await ActionQueue.open({ dataDir: existing, handler: fn })).close();
      }),
      { numRuns: RUNS, examples: examples.map((e) => [e]) },
    );
  });

  it("a refused open of a directory another queue holds leaves that queue's lock and files alone", async () => {
    const dataDir = tempDir("aq-fuzz-open-held-");
    const q = await openQueue({ dataDir, handler: fn });
    const before = fileTree(dataDir);
    await expectRefused(() => openUntyped({ dataDir, concurrency: 0 }), true, "concurrency", "concurrency 0");
    expect(fileTree(dataDir)).toEqual(before);
    await q.submit({ runPolicy: ONCE });
    expect(q.stats().tasks).toBe(1);
  });
});
