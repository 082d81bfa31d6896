/**
 * Encoders and decoders of the domain values events and snapshots carry:
 * task specs, runs, attempt outcomes, filters, actors, tenants, roles,
 * permissions, ledger entries. Decoders rebuild values through core's own
 * validators, so a record that is well framed but semantically invalid is a
 * `DECODE_FAILED`, never a half-built object.
 */
import {
  ATTEMPT_RESULT_KINDS,
  AttemptOutcome,
  BUDGET_DIMENSIONS,
  CONCURRENCY_KEY_HOLD_POLICIES,
  DEFAULT_TASK_CONSTRAINTS,
  DEFAULT_TASK_METADATA,
  EMPTY_PAYLOAD_BYTES,
  EMPTY_TASK_PAYLOAD,
  ONCE_POLICY,
  RUN_STATES,
  RunInstance,
  SAFETY_LEVELS,
  U32_MAX,
  ActionQueueError,
  isNilId,
  parseDepartmentId,
  validateTaskSpec,
} from "@actionqueue/core";
import type {
  ActorId,
  ActorRegistration,
  AttemptId,
  CronPolicy,
  EventFilter,
  LedgerEntry,
  LedgerEntryId,
  MisfirePolicy,
  Permission,
  RepeatPolicy,
  RetryBackoff,
  Role,
  RunPolicy,
  RunState,
  TaskConstraints,
  TaskId,
  TaskMetadata,
  TaskPayload,
  TaskSpec,
  TenantId,
  TenantRegistration,
  RunId,
} from "@actionqueue/core";
import type { BinaryReader, BinaryWriter } from "./binary.js";
import { decodeError } from "./binary.js";

/** Runs a core validator, turning its error into `DECODE_FAILED` for the given field. */
export function validated<T>(field: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (ActionQueueError.is(error) && error.code === "DECODE_FAILED") throw error;
    throw decodeError(`decoded ${field} is invalid: ${(error as Error).message}`, { field }, error);
  }
}

const MISFIRE_KINDS = ["catchUp", "skip", "coalesce"] as const;
const POLICY_KINDS = ["once", "repeat", "cron"] as const;
const FILTER_KINDS = ["taskCompleted", "runStateChanged", "budgetThreshold", "custom"] as const;
const ROLE_KINDS = ["operator", "auditor", "gatekeeper", "custom"] as const;
const PERMISSION_KINDS = ["canSubmit", "canExecute", "canReview", "canApprove", "canCancel", "custom"] as const;

function writeMisfire(w: BinaryWriter, m: MisfirePolicy): void {
  w.choice(m.kind, MISFIRE_KINDS, "misfire.kind");
  if (m.kind === "catchUp") w.optional(m.maxRuns, (v) => w.uint(v, "misfire.maxRuns"));
}

function readMisfire(r: BinaryReader): MisfirePolicy {
  const kind = r.choice(MISFIRE_KINDS, "misfire.kind");
  if (kind !== "catchUp") return { kind };
  const maxRuns = r.optional("misfire.maxRuns", () => r.uint("misfire.maxRuns"));
  return maxRuns === undefined ? { kind } : { kind, maxRuns };
}

/**
 * Flags in a run policy's kind byte: a `startAt` follows the byte, a cron
 * policy's `timezone` follows its expression. Records written before either
 * existed have both bits clear and read as they always did.
 */
const POLICY_STARTS_AT = 0x80;
const POLICY_IN_ZONE = 0x40;

/**
 * The table entry a flagged choice byte (see `BinaryWriter.choice`) names
 * once its `flagBits` are masked off; a byte naming none is refused, the
 * error saying which flags it may carry.
 */
function unflagged<T>(r: BinaryReader, byte: number, table: readonly T[], flagBits: number, field: string, flagNames: string): T {
  const value = table[byte & ~flagBits];
  if (value === undefined) r.invalid(field, `value ${byte} is not one of 0..${table.length - 1} (plus ${flagNames})`);
  return value;
}

function writeRunPolicy(w: BinaryWriter, p: RunPolicy): void {
  // The shared plain once policy (most tasks): its kind byte alone.
  if (p === ONCE_POLICY) {
    w.u8(0);
    return;
  }
  const timezone = p.kind === "cron" ? p.timezone : undefined;
  w.choice(p.kind, POLICY_KINDS, "runPolicy.kind", (p.startAt === undefined ? 0 : POLICY_STARTS_AT) | (timezone === undefined ? 0 : POLICY_IN_ZONE));
  if (p.startAt !== undefined) w.uint(p.startAt, "runPolicy.startAt");
  if (p.kind === "repeat") {
    w.uint(p.count, "runPolicy.count");
    w.uint(p.intervalMs, "runPolicy.intervalMs");
    w.optional(p.misfire, (m) => writeMisfire(w, m));
  } else if (p.kind === "cron") {
    w.string(p.expression);
    if (timezone !== undefined) w.string(timezone);
    w.optional(p.maxOccurrences, (v) => w.uint(v, "runPolicy.maxOccurrences"));
    w.optional(p.misfire, (m) => writeMisfire(w, m));
  }
}

function readRunPolicy(r: BinaryReader): RunPolicy {
  const byte = r.u8("runPolicy.kind");
  const kind = unflagged(r, byte, POLICY_KINDS, POLICY_STARTS_AT | POLICY_IN_ZONE, "runPolicy.kind", `${POLICY_STARTS_AT} with a start, ${POLICY_IN_ZONE} with a time zone`);
  if ((byte & POLICY_IN_ZONE) !== 0 && kind !== "cron") r.invalid("runPolicy.kind", `value ${byte}: only a cron policy has a time zone`);
  const startAt = (byte & POLICY_STARTS_AT) === 0 ? undefined : r.uint("runPolicy.startAt");
  if (kind === "once") return startAt === undefined ? ONCE_POLICY : { kind, startAt };
  if (kind === "repeat") {
    const count = r.uint("runPolicy.count");
    const intervalMs = r.uint("runPolicy.intervalMs");
    const misfire = r.optional("runPolicy.misfire", () => readMisfire(r));
    const policy: Mutable<RepeatPolicy> = { kind, count, intervalMs };
    if (startAt !== undefined) policy.startAt = startAt;
    if (misfire !== undefined) policy.misfire = misfire;
    return policy;
  }
  const expression = r.string("runPolicy.expression");
  const timezone = (byte & POLICY_IN_ZONE) === 0 ? undefined : r.string("runPolicy.timezone");
  const maxOccurrences = r.optional("runPolicy.maxOccurrences", () => r.uint("runPolicy.maxOccurrences"));
  const misfire = r.optional("runPolicy.misfire", () => readMisfire(r));
  // Assignment rather than conditional spreads (slow on Node 20); same keys, same order.
  const policy: Mutable<CronPolicy> = { kind, expression };
  if (timezone !== undefined) policy.timezone = timezone;
  if (maxOccurrences !== undefined) policy.maxOccurrences = maxOccurrences;
  if (startAt !== undefined) policy.startAt = startAt;
  if (misfire !== undefined) policy.misfire = misfire;
  return policy;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Set in the constraints' safety-level byte when the task's own retry backoff
 * follows it. Records written before tasks had one have it clear.
 */
const CONSTRAINTS_WITH_BACKOFF = 0x80;
const BACKOFF_KINDS = ["fixed", "exponential"] as const;
const BACKOFF_FULL_JITTER = 0x80;

function writeRetryBackoff(w: BinaryWriter, b: RetryBackoff): void {
  w.choice(b.kind, BACKOFF_KINDS, "constraints.backoff.kind", b.jitter === "full" ? BACKOFF_FULL_JITTER : 0);
  if (b.kind === "fixed") w.uint(b.delayMs, "constraints.backoff.delayMs");
  else {
    w.uint(b.baseMs, "constraints.backoff.baseMs");
    w.uint(b.maxMs, "constraints.backoff.maxMs");
  }
}

function readRetryBackoff(r: BinaryReader): RetryBackoff {
  const byte = r.u8("constraints.backoff.kind");
  const kind = unflagged(r, byte, BACKOFF_KINDS, BACKOFF_FULL_JITTER, "constraints.backoff.kind", `${BACKOFF_FULL_JITTER} with full jitter`);
  const full = (byte & BACKOFF_FULL_JITTER) !== 0;
  if (kind === "fixed") {
    const delayMs = r.uint("constraints.backoff.delayMs");
    return full ? { kind, delayMs, jitter: "full" } : { kind, delayMs };
  }
  const baseMs = r.uint("constraints.backoff.baseMs");
  const maxMs = r.uint("constraints.backoff.maxMs");
  return full ? { kind, baseMs, maxMs, jitter: "full" } : { kind, baseMs, maxMs };
}

/** Encodes a whole task spec. */
export function writeTaskSpec(w: BinaryWriter, s: TaskSpec): void {
  w.ulid(s.id, "taskSpec.id");
  w.optionalString(s.name);
  w.bytes(s.payload.bytes);
  w.optionalString(s.payload.contentType);
  writeRunPolicy(w, s.runPolicy);
  const c = s.constraints;
  w.uint(c.maxAttempts, "constraints.maxAttempts");
  w.optionalUint(c.timeoutMs, "constraints.timeoutMs");
  w.optionalString(c.concurrencyKey);
  w.choice(c.concurrencyKeyHoldPolicy, CONCURRENCY_KEY_HOLD_POLICIES, "constraints.concurrencyKeyHoldPolicy");
  w.choice(c.safetyLevel, SAFETY_LEVELS, "constraints.safetyLevel", c.backoff === undefined ? 0 : CONSTRAINTS_WITH_BACKOFF);
  if (c.backoff !== undefined) writeRetryBackoff(w, c.backoff);
  // Written by hand, the same bytes as `optional(list(string))`: no closure per submitted task.
  const capabilities = c.requiredCapabilities;
  if (capabilities === undefined) w.u8(0);
  else {
    w.u8(1);
    w.uint(capabilities.length, "length");
    for (let i = 0; i < capabilities.length; i++) w.string(capabilities[i]!);
  }
  const tags = s.metadata.tags;
  w.uint(tags.length, "length");
  // Indexed loops: no iterator result per element where the encoder is not optimized yet.
  for (let i = 0; i < tags.length; i++) w.string(tags[i]!);
  w.int(s.metadata.priority, "metadata.priority");
  w.optionalString(s.metadata.description);
  w.optionalUlid(s.parentTaskId, "taskSpec.parentTaskId");
  w.optionalUlid(s.tenantId, "taskSpec.tenantId");
}

/** Decodes and validates a task spec. */
export function readTaskSpec(r: BinaryReader): TaskSpec {
  const id = r.ulid("taskSpec.id") as TaskId;
  const name = r.optional("taskSpec.name", () => r.string("taskSpec.name"));
  const bytes = r.bytes("taskSpec.payload");
  const contentType = r.optional("taskSpec.contentType", () => r.string("taskSpec.contentType"));
  const runPolicy = readRunPolicy(r);
  const maxAttempts = r.uint("constraints.maxAttempts");
  const timeoutMs = r.optional("constraints.timeoutMs", () => r.uint("constraints.timeoutMs"));
  const concurrencyKey = r.optional("constraints.concurrencyKey", () => r.string("constraints.concurrencyKey"));
  const concurrencyKeyHoldPolicy = r.choice(CONCURRENCY_KEY_HOLD_POLICIES, "constraints.concurrencyKeyHoldPolicy");
  const levelByte = r.u8("constraints.safetyLevel");
  const safetyLevel = unflagged(r, levelByte, SAFETY_LEVELS, CONSTRAINTS_WITH_BACKOFF, "constraints.safetyLevel", `${CONSTRAINTS_WITH_BACKOFF} with a backoff`);
  const backoff = (levelByte & CONSTRAINTS_WITH_BACKOFF) === 0 ? undefined : readRetryBackoff(r);
  const requiredCapabilities = r.optional("constraints.requiredCapabilities", () =>
    r.list("constraints.requiredCapabilities", () => r.string("constraints.requiredCapabilities")),
  );
  const tags = r.list("metadata.tags", () => r.string("metadata.tags"));
  const priority = r.int("metadata.priority");
  const description = r.optional("metadata.description", () => r.string("metadata.description"));
  const parentTaskId = r.optional("taskSpec.parentTaskId", () => r.ulid("taskSpec.parentTaskId") as TaskId);
  const tenantId = r.optional("taskSpec.tenantId", () => r.ulid("taskSpec.tenantId") as TenantId);
  // Built by assignment rather than conditional spreads (slow on Node 20), in
  // the shape `createTaskSpec` gives (required keys first, optional ones
  // after). Parts equal to the defaults are core's shared frozen defaults, as
  // `createTaskSpec` builds them: a replayed plain task then costs no more
  // memory than a freshly submitted one.
  let payload: TaskPayload;
  if (bytes.length === 0 && contentType === undefined) {
    payload = EMPTY_TASK_PAYLOAD;
  } else {
    const b = bytes.length === 0 ? EMPTY_PAYLOAD_BYTES : bytes;
    payload = contentType === undefined ? { bytes: b } : { bytes: b, contentType };
  }
  let constraints: TaskConstraints;
  if (
    maxAttempts === 1 &&
    timeoutMs === undefined &&
    concurrencyKey === undefined &&
    concurrencyKeyHoldPolicy === "holdDuringRetry" &&
    safetyLevel === "pure" &&
    requiredCapabilities === undefined &&
    backoff === undefined
  ) {
    constraints = DEFAULT_TASK_CONSTRAINTS;
  } else {
    const c: Mutable<TaskConstraints> = { maxAttempts, concurrencyKeyHoldPolicy, safetyLevel };
    if (timeoutMs !== undefined) c.timeoutMs = timeoutMs;
    if (concurrencyKey !== undefined) c.concurrencyKey = concurrencyKey;
    if (requiredCapabilities !== undefined) c.requiredCapabilities = requiredCapabilities;
    if (backoff !== undefined) c.backoff = backoff;
    constraints = c;
  }
  let metadata: TaskMetadata;
  if (tags.length === 0 && priority === 0 && description === undefined) {
    metadata = DEFAULT_TASK_METADATA;
  } else {
    const m: Mutable<TaskMetadata> = { tags, priority };
    if (description !== undefined) m.description = description;
    metadata = m;
  }
  // A name (the common optional field) is part of the literal, as in `createTaskSpec`.
  const spec: Mutable<TaskSpec> = name === undefined ? { id, payload, runPolicy, constraints, metadata } : { id, payload, runPolicy, constraints, metadata, name };
  if (parentTaskId !== undefined) spec.parentTaskId = parentTaskId;
  if (tenantId !== undefined) spec.tenantId = tenantId;
  validated("taskSpec", () => validateTaskSpec(spec));
  return spec;
}

/** The fields of a run that its encoding holds (a `RunInstance` or the projection's record). */
export type EncodableRun = Pick<
  RunInstance,
  "id" | "taskId" | "state" | "currentAttemptId" | "attemptCount" | "createdAt" | "scheduledAt" | "effectivePriority" | "lastStateChangeAt"
>;

/** Encodes every field of a run. */
export function writeRun(w: BinaryWriter, run: EncodableRun): void {
  w.ulid(run.id, "run.id");
  w.ulid(run.taskId, "run.taskId");
  w.choice(run.state, RUN_STATES, "run.state");
  w.optionalUlid(run.currentAttemptId, "run.currentAttemptId");
  w.uint(run.attemptCount, "run.attemptCount");
  w.uint(run.createdAt, "run.createdAt");
  w.uint(run.scheduledAt, "run.scheduledAt");
  w.int(run.effectivePriority, "run.effectivePriority");
  w.uint(run.lastStateChangeAt, "run.lastStateChangeAt");
}

/**
 * Decodes a run, checking every invariant `RunInstance.restore` checks. The
 * decoder built both ids from 16 bytes, so they are canonical ULIDs already:
 * only the nil id is left to refuse, which spares replay a full id parse per
 * created run.
 */
export function readRun(r: BinaryReader): RunInstance {
  const id = r.ulid("run.id") as RunId;
  const taskId = r.ulid("run.taskId") as TaskId;
  const state = r.choice(RUN_STATES, "run.state");
  const currentAttemptId = r.bool("run.currentAttemptId") ? (r.ulid("run.currentAttemptId") as AttemptId) : undefined;
  const attemptCount = r.uint("run.attemptCount");
  const createdAt = r.uint("run.createdAt");
  const scheduledAt = r.uint("run.scheduledAt");
  const effectivePriority = r.int("run.effectivePriority");
  const lastStateChangeAt = r.uint("run.lastStateChangeAt");
  if (isNilId(id) || isNilId(taskId)) throw decodeError(`cannot decode run ${id}: the nil id is not a run or task id`, { field: "run.id" });
  if (currentAttemptId !== undefined && state !== "running") {
    throw decodeError(`cannot decode run ${id}: an active attempt (${currentAttemptId}) is only possible while running, not ${state}`, { field: "run.currentAttemptId" });
  }
  if (attemptCount > U32_MAX) throw decodeError(`cannot decode run ${id}: attemptCount ${attemptCount} is out of range`, { field: "run.attemptCount" });
  if (effectivePriority < -2_147_483_648 || effectivePriority > 2_147_483_647) {
    throw decodeError(`cannot decode run ${id}: effectivePriority ${effectivePriority} is not a 32-bit integer`, { field: "run.effectivePriority" });
  }
  return RunInstance.fromValidatedFields(id, taskId, state, currentAttemptId, attemptCount, createdAt, scheduledAt, effectivePriority, lastStateChangeAt);
}

/**
 * Decodes a run of a `taskSubmit` event: its id and times and priority; the
 * rest is implied (the submitted task's, scheduled, no attempts, last changed
 * when created).
 */
export function readSubmittedRun(r: BinaryReader, taskId: TaskId): RunInstance {
  const id = r.ulid("run.id") as RunId;
  const createdAt = r.uint("run.createdAt");
  const scheduledAt = r.uint("run.scheduledAt");
  const effectivePriority = r.int("run.effectivePriority");
  if (isNilId(id)) throw decodeError(`cannot decode run ${id}: the nil id is not a run id`, { field: "run.id" });
  if (effectivePriority < -2_147_483_648 || effectivePriority > 2_147_483_647) {
    throw decodeError(`cannot decode run ${id}: effectivePriority ${effectivePriority} is not a 32-bit integer`, { field: "run.effectivePriority" });
  }
  return RunInstance.fromValidatedFields(id, taskId, "scheduled", undefined, 0, createdAt, scheduledAt, effectivePriority, createdAt);
}

/** Encodes an attempt outcome. */
export function writeOutcome(w: BinaryWriter, o: AttemptOutcome): void {
  w.choice(o.result, ATTEMPT_RESULT_KINDS, "outcome.result");
  w.optionalString(o.error);
  w.optionalBytes(o.output);
}

/** Decodes an outcome through `AttemptOutcome.fromParts`. */
export function readOutcome(r: BinaryReader): AttemptOutcome {
  const result = r.choice(ATTEMPT_RESULT_KINDS, "outcome.result");
  const error = r.optional("outcome.error", () => r.string("outcome.error"));
  const output = r.optional("outcome.output", () => r.bytes("outcome.output"));
  return validated("outcome", () => AttemptOutcome.fromParts(result, error, output));
}

/** Encodes a run state. */
export function writeState(w: BinaryWriter, s: RunState, field: string): void {
  w.choice(s, RUN_STATES, field);
}

/** Encodes an event filter. */
export function writeFilter(w: BinaryWriter, f: EventFilter): void {
  w.choice(f.kind, FILTER_KINDS, "filter.kind");
  if (f.kind === "custom") {
    w.string(f.key);
    return;
  }
  w.ulid(f.taskId, "filter.taskId");
  if (f.kind === "runStateChanged") writeState(w, f.state, "filter.state");
  if (f.kind === "budgetThreshold") {
    w.choice(f.dimension, BUDGET_DIMENSIONS, "filter.dimension");
    w.uint(f.thresholdPct, "filter.thresholdPct");
  }
}

/** Decodes an event filter. */
export function readFilter(r: BinaryReader): EventFilter {
  const kind = r.choice(FILTER_KINDS, "filter.kind");
  if (kind === "custom") return { kind, key: r.string("filter.key") };
  const taskId = r.ulid("filter.taskId") as TaskId;
  if (kind === "taskCompleted") return { kind, taskId };
  if (kind === "runStateChanged") return { kind, taskId, state: r.choice(RUN_STATES, "filter.state") };
  const dimension = r.choice(BUDGET_DIMENSIONS, "filter.dimension");
  return { kind, taskId, dimension, thresholdPct: r.uint("filter.thresholdPct") };
}

/** Encodes an actor registration. */
export function writeActor(w: BinaryWriter, a: ActorRegistration): void {
  w.ulid(a.actorId, "actor.actorId");
  w.string(a.identity);
  w.list(a.capabilities, (v) => w.string(v));
  w.optional(a.department, (v) => w.string(v));
  w.uint(a.heartbeatIntervalMs, "actor.heartbeatIntervalMs");
  w.optional(a.tenantId, (v) => w.ulid(v, "actor.tenantId"));
}

/** Decodes an actor registration. */
export function readActor(r: BinaryReader): ActorRegistration {
  const actorId = r.ulid("actor.actorId") as ActorId;
  const identity = r.string("actor.identity");
  const capabilities = r.list("actor.capabilities", () => r.string("actor.capabilities"));
  const department = r.optional("actor.department", () => r.string("actor.department"));
  const heartbeatIntervalMs = r.uint("actor.heartbeatIntervalMs");
  const tenantId = r.optional("actor.tenantId", () => r.ulid("actor.tenantId") as TenantId);
  return {
    actorId,
    identity,
    capabilities,
    ...(department === undefined ? {} : { department: validated("actor.department", () => parseDepartmentId(department)) }),
    heartbeatIntervalMs,
    ...(tenantId === undefined ? {} : { tenantId }),
  };
}

/** Encodes a tenant registration. */
export function writeTenant(w: BinaryWriter, t: TenantRegistration): void {
  w.ulid(t.tenantId, "tenant.tenantId");
  w.string(t.name);
}

/** Decodes a tenant registration. */
export function readTenant(r: BinaryReader): TenantRegistration {
  return { tenantId: r.ulid("tenant.tenantId") as TenantId, name: r.string("tenant.name") };
}

/** Encodes a role. */
export function writeRole(w: BinaryWriter, role: Role): void {
  w.choice(role.kind, ROLE_KINDS, "role.kind");
  if (role.kind === "custom") w.string(role.name);
}

/** Decodes a role. */
export function readRole(r: BinaryReader): Role {
  const kind = r.choice(ROLE_KINDS, "role.kind");
  return kind === "custom" ? { kind, name: r.string("role.name") } : { kind };
}

/** Encodes a permission. */
export function writePermission(w: BinaryWriter, p: Permission): void {
  w.choice(p.kind, PERMISSION_KINDS, "capability.kind");
  if (p.kind === "custom") w.string(p.name);
}

/** Decodes a permission. */
export function readPermission(r: BinaryReader): Permission {
  const kind = r.choice(PERMISSION_KINDS, "capability.kind");
  return kind === "custom" ? { kind, name: r.string("capability.name") } : { kind };
}

/** Encodes a ledger entry. */
export function writeLedgerEntry(w: BinaryWriter, e: LedgerEntry): void {
  w.ulid(e.entryId, "ledger.entryId");
  w.ulid(e.tenantId, "ledger.tenantId");
  w.string(e.ledgerKey);
  w.optional(e.actorId, (v) => w.ulid(v, "ledger.actorId"));
  w.bytes(e.payload);
  w.uint(e.timestamp, "ledger.timestamp");
}

/** Decodes a ledger entry. */
export function readLedgerEntry(r: BinaryReader): LedgerEntry {
  const entryId = r.ulid("ledger.entryId") as LedgerEntryId;
  const tenantId = r.ulid("ledger.tenantId") as TenantId;
  const ledgerKey = r.string("ledger.ledgerKey");
  const actorId = r.optional("ledger.actorId", () => r.ulid("ledger.actorId") as ActorId);
  const payload = r.bytes("ledger.payload");
  const timestamp = r.uint("ledger.timestamp");
  return { entryId, tenantId, ledgerKey, ...(actorId === undefined ? {} : { actorId }), payload, timestamp };
}
