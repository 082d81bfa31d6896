/**
 * RunPolicy: how many runs a task implies and when. Once, repeat N times every
 * interval, or cron. Validated at construction and again on decode, because a
 * literal object can bypass the factories.
 */
import { Cron } from "croner";
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { assertKnownKeys } from "../internal/known-keys.js";

/**
 * What to do with runs whose time passed while the engine was down.
 * - `catchUp` (default): run them, at most `maxRuns` of them (the newest), skipping older ones.
 * - `skip`: run none of the missed ones; continue from the next future time.
 * - `coalesce`: run one run for the whole missed window.
 */
export type MisfirePolicy =
  | { readonly kind: "catchUp"; readonly maxRuns?: number }
  | { readonly kind: "skip" }
  | { readonly kind: "coalesce" };

/** Exactly one run, due at submission or at `startAt`. */
export interface OncePolicy {
  readonly kind: "once";
  /**
   * When the run is due (epoch ms): a delayed job. Default, or a time that
   * has already passed when the task is submitted: due at submission.
   */
  readonly startAt?: number;
}

/** `count` runs, the i-th due at `origin + i * intervalMs`; the origin is the submission, or `startAt` if later. */
export interface RepeatPolicy {
  readonly kind: "repeat";
  readonly count: number;
  readonly intervalMs: number;
  /** When run 0 is due (epoch ms); default, or a time already passed at submission: the submission time. */
  readonly startAt?: number;
  readonly misfire?: MisfirePolicy;
}

/** Runs at the instants of a cron expression (in UTC, or in `timezone`), optionally capped. */
export interface CronPolicy {
  readonly kind: "cron";
  /** Standard 5-field crontab, or 6 fields with a leading seconds field. */
  readonly expression: string;
  /**
   * The IANA time zone the expression's fields are read in (`Europe/Berlin`):
   * `0 9 * * *` is 09:00 there all year, through daylight-saving changes.
   * Default UTC. A wall time a spring-forward skips runs once, at the first
   * minute after the gap; one an autumn fall-back repeats runs once, at its first instance.
   */
  readonly timezone?: string;
  /** Stop after this many occurrences (default: unlimited). */
  readonly maxOccurrences?: number;
  /** No occurrence before this time (epoch ms); default: occurrences after the submission. */
  readonly startAt?: number;
  readonly misfire?: MisfirePolicy;
}

/** The run policy of a task. */
export type RunPolicy = OncePolicy | RepeatPolicy | CronPolicy;

/** Latest `startAt` accepted: the last millisecond a JavaScript `Date` can hold (year 275760). */
export const MAX_START_AT_MS = 8_640_000_000_000_000;

/** Largest u32, the Rust width of counts: kept so limits match the original. */
export const U32_MAX = 4_294_967_295;

function isPositiveInt(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1 && value <= max;
}

/**
 * The run policy `once`, frozen and shared: task specs built by
 * `createTaskSpec` (and the storage decoder) use it for every plain `{ kind: "once" }`.
 */
export const ONCE_POLICY: OncePolicy = Object.freeze({ kind: "once" });

/**
 * Whether a task with this policy may still derive runs: once and repeat
 * tasks derive all of theirs at submission; a cron task goes on until it is
 * canceled or has had `maxOccurrences` runs (`derived`: the runs it has).
 */
export function mayDeriveMoreRuns(policy: RunPolicy, canceled: boolean, derived: number): boolean {
  return policy.kind === "cron" && !canceled && (policy.maxOccurrences === undefined || derived < policy.maxOccurrences);
}

/**
 * A copy of a run policy, so that a task never shares its policy with the
 * caller (who may change or reuse the object after submitting): its known
 * fields only, as the WAL keeps them. A plain once policy is
 * {@link ONCE_POLICY}. Anything that is not a policy of a known kind is
 * returned as given, for validation to name.
 */
export function copyRunPolicy(policy: RunPolicy): RunPolicy {
  if (typeof policy !== "object" || policy === null) return policy;
  switch (policy.kind) {
    case "once":
      assertKnownKeys(policy, "runPolicy", ONCE_POLICY_FIELDS);
      // null, as for every optional field of an input, means "not given".
      return policy.startAt == null ? ONCE_POLICY : { kind: "once", startAt: policy.startAt };
    case "repeat": {
      assertKnownKeys(policy, "runPolicy", REPEAT_POLICY_FIELDS);
      const copy: { -readonly [K in keyof RepeatPolicy]: RepeatPolicy[K] } = { kind: "repeat", count: policy.count, intervalMs: policy.intervalMs };
      if (policy.startAt != null) copy.startAt = policy.startAt;
      if (policy.misfire != null) copy.misfire = copyMisfire(policy.misfire);
      return copy;
    }
    case "cron": {
      assertKnownKeys(policy, "runPolicy", CRON_POLICY_FIELDS);
      const copy: { -readonly [K in keyof CronPolicy]: CronPolicy[K] } = { kind: "cron", expression: policy.expression };
      // Kept in the zone's canonical spelling, so "europe/berlin" and "Europe/Berlin" are one spec; UTC is the default.
      if (policy.timezone != null) {
        // Anything but a string is kept as given, for validation to refuse by name (a list of one zone is not a zone).
        const zone = typeof policy.timezone === "string" ? canonicalTimeZone(policy.timezone) : undefined;
        if (zone !== "UTC") copy.timezone = zone ?? policy.timezone;
      }
      if (policy.maxOccurrences != null) copy.maxOccurrences = policy.maxOccurrences;
      if (policy.startAt != null) copy.startAt = policy.startAt;
      if (policy.misfire != null) copy.misfire = copyMisfire(policy.misfire);
      return copy;
    }
    default:
      return policy;
  }
}

/** The fields of a once policy: any other key in an input policy is refused (here and in JSON). */
export const ONCE_POLICY_FIELDS: readonly (keyof OncePolicy)[] = ["kind", "startAt"];
/** The fields of a repeat policy. */
export const REPEAT_POLICY_FIELDS: readonly (keyof RepeatPolicy)[] = ["kind", "count", "intervalMs", "startAt", "misfire"];
/** The fields of a cron policy. */
export const CRON_POLICY_FIELDS: readonly (keyof CronPolicy)[] = ["kind", "expression", "timezone", "maxOccurrences", "startAt", "misfire"];
/** Every field some run policy has: a policy of a kind not yet known is first checked against these. */
export const RUN_POLICY_FIELDS: readonly string[] = ["kind", "count", "intervalMs", "expression", "timezone", "maxOccurrences", "startAt", "misfire"];
/** The fields a misfire policy may have (`maxRuns` only with `catchUp`). */
export const MISFIRE_FIELDS: readonly string[] = ["kind", "maxRuns"];

function copyMisfire(misfire: MisfirePolicy): MisfirePolicy {
  if (typeof misfire !== "object" || misfire === null) return misfire;
  if (!Array.isArray(misfire)) assertKnownKeys(misfire, "runPolicy.misfire", MISFIRE_FIELDS);
  if (misfire.kind === "catchUp") return misfire.maxRuns == null ? { kind: "catchUp" } : { kind: "catchUp", maxRuns: misfire.maxRuns };
  if (misfire.kind === "skip" || misfire.kind === "coalesce") return { kind: misfire.kind };
  return misfire;
}

/** The run policy `once`. */
export function oncePolicy(): OncePolicy {
  return { kind: "once" };
}

/** A validated repeat policy; throws `INVALID_REPEAT_COUNT` or `INVALID_REPEAT_INTERVAL`. */
export function repeatPolicy(count: number, intervalMs: number, misfire?: MisfirePolicy): RepeatPolicy {
  const policy: RepeatPolicy = misfire ? { kind: "repeat", count, intervalMs, misfire } : { kind: "repeat", count, intervalMs };
  validateRunPolicy(policy);
  return policy;
}

/** A validated cron policy; throws `INVALID_CRON_EXPRESSION` or `INVALID_CRON_MAX_OCCURRENCES`. */
export function cronPolicy(expression: string, options: { maxOccurrences?: number; misfire?: MisfirePolicy } = {}): CronPolicy {
  const policy: CronPolicy = {
    kind: "cron",
    expression,
    ...(options.maxOccurrences === undefined ? {} : { maxOccurrences: options.maxOccurrences }),
    ...(options.misfire === undefined ? {} : { misfire: options.misfire }),
  };
  validateRunPolicy(policy);
  return policy;
}

function validateMisfire(misfire: unknown): void {
  if (misfire === undefined) return;
  const m = misfire as { kind?: unknown; maxRuns?: unknown };
  if (typeof misfire !== "object" || misfire === null || Array.isArray(misfire)) {
    throw new ValidationError(
      "INVALID_RUN_POLICY",
      `invalid runPolicy.misfire ${describeValue(misfire)}: expected an object with kind "catchUp", "skip" or "coalesce"`,
      { details: { field: "runPolicy.misfire", value: describeValue(misfire) } },
    );
  }
  if (!["catchUp", "skip", "coalesce"].includes(m.kind as string)) {
    throw new ValidationError(
      "INVALID_RUN_POLICY",
      `invalid runPolicy.misfire.kind ${describeValue(m.kind)}: expected "catchUp", "skip" or "coalesce"`,
      { details: { field: "runPolicy.misfire.kind", value: describeValue(m.kind) } },
    );
  }
  if (m.kind === "catchUp" && m.maxRuns !== undefined && !isPositiveInt(m.maxRuns, U32_MAX)) {
    throw new ValidationError(
      "INVALID_RUN_POLICY",
      `invalid runPolicy.misfire.maxRuns ${describeValue(m.maxRuns)}: expected an integer of at least 1`,
      { details: { field: "runPolicy.misfire.maxRuns", value: describeValue(m.maxRuns) } },
    );
  }
}

function validateStartAt(startAt: unknown): void {
  if (startAt === undefined) return;
  if (typeof startAt !== "number" || !Number.isSafeInteger(startAt) || startAt < 0 || startAt > MAX_START_AT_MS) {
    const hint = startAt instanceof Date ? " (a Date: pass date.getTime())" : "";
    throw new ValidationError(
      "INVALID_START_AT",
      `invalid runPolicy.startAt ${describeValue(startAt)}: expected epoch milliseconds, a whole number from 0 to ${MAX_START_AT_MS}${hint}`,
      { details: { field: "runPolicy.startAt", value: describeValue(startAt) } },
    );
  }
}

/**
 * Checks every rule of a run policy and throws a `ValidationError` naming the
 * field and value on the first failure. Order: kind, count, interval, cron, startAt.
 */
export function validateRunPolicy(policy: unknown): asserts policy is RunPolicy {
  const p = policy as {
    kind?: unknown;
    count?: unknown;
    intervalMs?: unknown;
    expression?: unknown;
    timezone?: unknown;
    maxOccurrences?: unknown;
    startAt?: unknown;
    misfire?: unknown;
  };
  if (typeof policy !== "object" || policy === null) {
    throw new ValidationError("INVALID_RUN_POLICY", `invalid runPolicy ${describeValue(policy)}: expected an object`, {
      details: { field: "runPolicy" },
    });
  }
  switch (p.kind) {
    case "once":
      validateStartAt(p.startAt);
      return;
    case "repeat":
      if (!isPositiveInt(p.count, U32_MAX)) {
        throw new ValidationError(
          "INVALID_REPEAT_COUNT",
          `invalid repeat count ${describeValue(p.count)}: expected an integer from 1 to ${U32_MAX}`,
          { details: { field: "runPolicy.count", value: p.count } },
        );
      }
      if (!isPositiveInt(p.intervalMs)) {
        throw new ValidationError(
          "INVALID_REPEAT_INTERVAL",
          `invalid repeat intervalMs ${describeValue(p.intervalMs)}: expected a whole number of milliseconds of at least 1`,
          { details: { field: "runPolicy.intervalMs", value: p.intervalMs } },
        );
      }
      validateStartAt(p.startAt);
      validateMisfire(p.misfire);
      return;
    case "cron":
      parseCronExpression(p.expression);
      if (p.timezone !== undefined && (typeof p.timezone !== "string" || canonicalTimeZone(p.timezone) === undefined)) {
        throw new ValidationError(
          "INVALID_TIME_ZONE",
          `invalid runPolicy.timezone ${describeValue(p.timezone)}: expected an IANA time zone name such as "Europe/Berlin" or "America/New_York"`,
          { details: { field: "runPolicy.timezone", value: describeValue(p.timezone) } },
        );
      }
      if (p.maxOccurrences !== undefined && !isPositiveInt(p.maxOccurrences, U32_MAX)) {
        throw new ValidationError(
          "INVALID_CRON_MAX_OCCURRENCES",
          `invalid cron maxOccurrences ${describeValue(p.maxOccurrences)}: must be at least 1`,
          { details: { field: "runPolicy.maxOccurrences", value: p.maxOccurrences } },
        );
      }
      validateStartAt(p.startAt);
      validateMisfire(p.misfire);
      return;
    default:
      throw new ValidationError(
        "INVALID_RUN_POLICY",
        `invalid runPolicy.kind ${describeValue(p.kind)}: expected "once", "repeat" or "cron"`,
        { details: { field: "runPolicy.kind", value: describeValue(p.kind) } },
      );
  }
}

const cronCache = new Map<string, Cron>();
const zoneCache = new Map<string, string | undefined>();

/**
 * The canonical spelling of an IANA time zone name (`europe/berlin` →
 * `Europe/Berlin`), or undefined when this runtime's time zone data does not
 * know it. Offsets such as `+01:00` are not zones and are refused.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (typeof name !== "string") return undefined;
  if (zoneCache.has(name)) return zoneCache.get(name);
  let zone: string | undefined;
  if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) {
    try {
      zone = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      zone = undefined;
    }
  }
  if (zoneCache.size > 1000) zoneCache.clear();
  zoneCache.set(name, zone);
  return zone;
}

/**
 * Parses a cron expression: 5 fields (`min hour dom month dow`) or 6 with a
 * leading seconds field, evaluated in UTC or in `timezone` (an IANA name,
 * checked by {@link validateRunPolicy}). Throws `INVALID_CRON_EXPRESSION`.
 */
export function parseCronExpression(expression: unknown, timezone = "UTC"): Cron {
  if (typeof expression !== "string" || expression.trim() === "") {
    throw new ValidationError(
      "INVALID_CRON_EXPRESSION",
      `invalid cron expression ${describeValue(expression)}: expected 5 fields (min hour day month weekday) or 6 with leading seconds`,
      { details: { field: "runPolicy.expression", value: describeValue(expression) } },
    );
  }
  const key = timezone === "UTC" ? expression : `${timezone} ${expression}`;
  const cached = cronCache.get(key);
  if (cached) return cached;
  const fields = expression.trim().split(/\s+/);
  if (!expression.trim().startsWith("@") && fields.length !== 5 && fields.length !== 6) {
    throw new ValidationError(
      "INVALID_CRON_EXPRESSION",
      `invalid cron expression ${JSON.stringify(expression)}: has ${fields.length} fields, expected 5 (min hour day month weekday) or 6 with leading seconds`,
      { details: { field: "runPolicy.expression", value: expression } },
    );
  }
  try {
    // Standard crontab semantics: day-of-month and day-of-week are ORed as in Vixie cron.
    const cron = new Cron(expression, { timezone, paused: true, mode: "5-or-6-parts" });
    if (cronCache.size > 1000) cronCache.clear();
    cronCache.set(key, cron);
    return cron;
  } catch (cause) {
    throw new ValidationError(
      "INVALID_CRON_EXPRESSION",
      `invalid cron expression ${JSON.stringify(expression)}: ${(cause as Error).message}`,
      { details: { field: "runPolicy.expression", value: expression }, cause },
    );
  }
}

/** Cron instants are computed up to the end of year 2999 UTC; later `afterMs` values have none. */
export const CRON_HORIZON_MS = Date.UTC(2999, 11, 31, 23, 59, 59, 999);

/**
 * Up to `count` cron instants (epoch ms) strictly after `afterMs`, ascending,
 * with the expression read in `timezone` (default UTC).
 * Does not apply `maxOccurrences`; derivation does. `count` 0 gives `[]`, and
 * so does an `afterMs` at or past {@link CRON_HORIZON_MS} (never a past instant,
 * unlike Rust's fallback to epoch 0). Throws `INVALID_TIMESTAMP` for an
 * `afterMs` that is not epoch milliseconds and `INVALID_FIELD` for a bad count.
 */
export function nextCronOccurrences(expression: string, afterMs: number, count: number, timezone = "UTC"): number[] {
  const cron = parseCronExpression(expression, timezone);
  if (!Number.isSafeInteger(afterMs) || afterMs < 0) {
    throw new ValidationError("INVALID_TIMESTAMP", `invalid afterMs ${describeValue(afterMs)}: expected epoch milliseconds`, {
      details: { field: "afterMs", value: afterMs },
    });
  }
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new ValidationError("INVALID_FIELD", `invalid count ${describeValue(count)}: expected an integer ≥ 0`, {
      details: { field: "count", value: describeValue(count) },
    });
  }
  const out: number[] = [];
  if (afterMs >= CRON_HORIZON_MS) return out;
  let cursor = new Date(afterMs);
  while (out.length < count) {
    const next = cron.nextRun(cursor);
    if (next === null) break;
    const ms = next.getTime();
    if (ms > CRON_HORIZON_MS) break;
    if (ms <= afterMs || (out.length > 0 && ms <= out[out.length - 1]!)) {
      cursor = new Date(ms + 1);
      continue;
    }
    out.push(ms);
    cursor = next;
  }
  return out;
}
