/**
 * Identifiers: branded ULID strings. New ids come from one monotonic factory
 * driven by the injected clock, so ids sort in creation order even when many are
 * minted in one millisecond, and RunId is a meaningful final tie-break.
 */
import { MIN_ULID, TIME_MAX, isValid } from "ulid";
import type { Clock } from "../time/clock.js";
import { ValidationError, describeValue } from "../errors/action-queue-error.js";

declare const brand: unique symbol;
type Brand<TName extends string> = string & { readonly [brand]: TName };

/** Durable task definition. */
export type TaskId = Brand<"TaskId">;
/** One run of a task; also the idempotency key for a handler's external side effects. */
export type RunId = Brand<"RunId">;
/** One execution attempt inside a run; also the fencing token of its lease. */
export type AttemptId = Brand<"AttemptId">;
/** A registered remote actor. */
export type ActorId = Brand<"ActorId">;
/** An organisational tenant. */
export type TenantId = Brand<"TenantId">;
/** An append-only ledger entry. */
export type LedgerEntryId = Brand<"LedgerEntryId">;
/** An event subscription. */
export type SubscriptionId = Brand<"SubscriptionId">;

/** The kinds of id, as used in error messages and codecs. */
export type IdKind = "TaskId" | "RunId" | "AttemptId" | "ActorId" | "TenantId" | "LedgerEntryId" | "SubscriptionId";

/** The all-zero ULID: a valid value, rejected where a real id is required. */
export const NIL_ID = MIN_ULID;

/** True for the all-zero id. */
export function isNilId(id: string): boolean {
  return id === NIL_ID;
}

const CANONICAL = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

// Crockford base32 membership by char code: a table lookup beats the regex on
// the hot path.
const CROCKFORD_CODES = new Uint8Array(128);
for (const ch of "0123456789ABCDEFGHJKMNPQRSTVWXYZ") CROCKFORD_CODES[ch.charCodeAt(0)] = 1;

function isCanonicalUlid(value: string): boolean {
  if (value.length !== 26) return false;
  const first = value.charCodeAt(0);
  if (first < 48 || first > 55) return false;
  for (let i = 1; i < 26; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || CROCKFORD_CODES[c] === 0) return false;
  }
  return true;
}

function parseAs<T extends string>(kind: IdKind | "IdFactoryOptions.after", value: unknown): T {
  if (typeof value !== "string") {
    throw new ValidationError("INVALID_ID", `invalid ${kind}: expected a ULID string, got ${describeValue(value)}`, {
      details: { kind, value: describeValue(value) },
    });
  }
  // Hot path (every command the authority validates): canonical ids need no
  // copy; the pattern alone proves a valid ULID (first char 0-7 bounds the time).
  if (isCanonicalUlid(value)) return value as T;
  const upper = value.toUpperCase();
  if (!CANONICAL.test(upper) || !isValid(upper)) {
    throw new ValidationError(
      "INVALID_ID",
      `invalid ${kind} ${describeValue(value)}: expected a 26-character ULID (Crockford base32)`,
      { details: { kind, value } },
    );
  }
  return upper as T;
}

/** Parses untrusted text as a TaskId; throws `INVALID_ID` naming the value otherwise. */
export const parseTaskId = (value: unknown): TaskId => parseAs<TaskId>("TaskId", value);
/** Parses untrusted text as a RunId; throws `INVALID_ID` naming the value otherwise. */
export const parseRunId = (value: unknown): RunId => parseAs<RunId>("RunId", value);
/** Parses untrusted text as an AttemptId; throws `INVALID_ID` naming the value otherwise. */
export const parseAttemptId = (value: unknown): AttemptId => parseAs<AttemptId>("AttemptId", value);
/** Parses untrusted text as an ActorId; throws `INVALID_ID` naming the value otherwise. */
export const parseActorId = (value: unknown): ActorId => parseAs<ActorId>("ActorId", value);
/** Parses untrusted text as a TenantId; throws `INVALID_ID` naming the value otherwise. */
export const parseTenantId = (value: unknown): TenantId => parseAs<TenantId>("TenantId", value);
/** Parses untrusted text as a LedgerEntryId; throws `INVALID_ID` naming the value otherwise. */
export const parseLedgerEntryId = (value: unknown): LedgerEntryId => parseAs<LedgerEntryId>("LedgerEntryId", value);
/** Parses untrusted text as a SubscriptionId; throws `INVALID_ID` naming the value otherwise. */
export const parseSubscriptionId = (value: unknown): SubscriptionId =>
  parseAs<SubscriptionId>("SubscriptionId", value);

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DIGIT_CODES = Array.from(CROCKFORD, (ch) => ch.charCodeAt(0));
const TIME_LENGTH = 10;
const RANDOM_LENGTH = 16;
const ID_LENGTH = TIME_LENGTH + RANDOM_LENGTH;

/** Mints every kind of id from one monotonic ULID sequence. */
export interface IdFactory {
  /** A new TaskId. */
  taskId(): TaskId;
  /** A new RunId (sorts after every id minted before it). */
  runId(): RunId;
  /** A new AttemptId. */
  attemptId(): AttemptId;
  /** A new ActorId. */
  actorId(): ActorId;
  /** A new TenantId. */
  tenantId(): TenantId;
  /** A new LedgerEntryId. */
  ledgerEntryId(): LedgerEntryId;
  /** A new SubscriptionId. */
  subscriptionId(): SubscriptionId;
}

/** Options of {@link createIdFactory}. */
export interface IdFactoryOptions {
  /**
   * Every id the factory mints sorts after this one (a canonical ULID), even
   * when the clock reads an earlier time: a process that reopens a store
   * passes the largest id the store holds, so new ids continue its order
   * after a clock step back and a deterministic clock never mints an id
   * again after a restart.
   */
  readonly after?: string;
}

/**
 * Creates the id factory for a process (or a test). The time part comes from
 * `clock.now()` and the random part from `clock.random()`, so a manual clock
 * gives reproducible ids. Share one factory: ids from one factory are strictly
 * increasing even within one millisecond or when the clock steps back.
 * Throws `INVALID_ID` when `options.after` is not a ULID.
 */
export function createIdFactory(clock: Clock, options: IdFactoryOptions = {}): IdFactory {
  // Our own monotonic sequence rather than ulid's monotonicFactory, which
  // silently swaps a clock reading of 0 for Date.now() (breaking determinism).
  let lastTime = -1;
  // The id being built, as character codes: time part (re-encoded only when
  // the millisecond changes), then the random part, incremented in place for
  // ids within one millisecond. One String.fromCharCode call turns it into a
  // flat string: concatenating parts made a rope that every Map lookup had
  // to flatten first.
  const codes = new Array<number>(ID_LENGTH).fill(48);
  const digits = new Uint8Array(RANDOM_LENGTH);
  const freshRandom = (): void => {
    for (let i = 0; i < RANDOM_LENGTH; i++) {
      const digit = Math.min(31, Math.max(0, Math.floor(clock.random() * 32)));
      digits[i] = digit;
      codes[TIME_LENGTH + i] = DIGIT_CODES[digit]!;
    }
  };
  const setTime = (time: number): void => {
    lastTime = time;
    let rest = time;
    for (let i = TIME_LENGTH - 1; i >= 0; i--) {
      codes[i] = DIGIT_CODES[rest % 32]!;
      rest = Math.floor(rest / 32);
    }
  };
  /** Adds one to the random part; false when it was all Z (2^80 ids in one millisecond). */
  const increment = (): boolean => {
    for (let i = RANDOM_LENGTH - 1; i >= 0; i--) {
      if (digits[i] !== 31) {
        digits[i]! += 1;
        codes[TIME_LENGTH + i] = DIGIT_CODES[digits[i]!]!;
        return true;
      }
      // Z carries: it becomes 0 and the next digit up is incremented.
      digits[i] = 0;
      codes[TIME_LENGTH + i] = DIGIT_CODES[0]!;
    }
    return false;
  };
  if (options.after !== undefined) {
    // Continue from `after`: its time becomes the last one used and its random
    // part the one the next id of that millisecond increments.
    const after = parseAs<string>("IdFactoryOptions.after", options.after);
    let time = 0;
    for (let i = 0; i < TIME_LENGTH; i++) time = time * 32 + CROCKFORD.indexOf(after[i]!);
    setTime(time);
    for (let i = 0; i < RANDOM_LENGTH; i++) {
      digits[i] = CROCKFORD.indexOf(after[TIME_LENGTH + i]!);
      codes[TIME_LENGTH + i] = after.charCodeAt(TIME_LENGTH + i);
    }
  }
  const mint = <T extends string>(): T => {
    const now = clock.now();
    if (!Number.isSafeInteger(now) || now < 0 || now > TIME_MAX) {
      throw new ValidationError("INVALID_TIMESTAMP", `invalid clock.now() ${describeValue(now)}: expected epoch milliseconds`, {
        details: { field: "clock.now()", value: describeValue(now) },
      });
    }
    if (now > lastTime) {
      setTime(now);
      freshRandom();
    } else if (!increment()) {
      // Borrow the next millisecond rather than wrap; the random part was all
      // Z, so the carry reset it to all 0 and a fresh one is drawn.
      setTime(lastTime + 1);
      freshRandom();
    }
    return String.fromCharCode.apply(null, codes) as T;
  };
  return {
    taskId: () => mint<TaskId>(),
    runId: () => mint<RunId>(),
    attemptId: () => mint<AttemptId>(),
    actorId: () => mint<ActorId>(),
    tenantId: () => mint<TenantId>(),
    ledgerEntryId: () => mint<LedgerEntryId>(),
    subscriptionId: () => mint<SubscriptionId>(),
  };
}
