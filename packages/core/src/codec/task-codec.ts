/**
 * JSON codecs of the task model: payload (bytes as base64), metadata,
 * constraints, run policy and the whole task spec. Keys are the TypeScript
 * field names; absent optionals are omitted (a decoder also accepts null).
 * Every decoder rejects unknown keys and runs the full domain validation.
 */
import { ValidationError } from "../errors/action-queue-error.js";
import type { TaskId, TenantId } from "../ids/ids.js";
import { parseTaskId, parseTenantId } from "../ids/ids.js";
import { requireId } from "../internal/checks.js";
import { asNumber, asString, asStringArray, optionalWith, readObject, required } from "../internal/json.js";
import type { MisfirePolicy, RunPolicy } from "../task/run-policy.js";
import { CRON_POLICY_FIELDS, MISFIRE_FIELDS, ONCE_POLICY_FIELDS, REPEAT_POLICY_FIELDS, RUN_POLICY_FIELDS, validateRunPolicy } from "../task/run-policy.js";
import type { ConcurrencyKeyHoldPolicy, SafetyLevel, TaskConstraints } from "../task/task-constraints.js";
import { CONSTRAINT_FIELDS, validateTaskConstraints } from "../task/task-constraints.js";
import type { RetryBackoff } from "../task/retry-backoff.js";
import { RETRY_BACKOFF_FIELDS, copyRetryBackoff, validateRetryBackoff } from "../task/retry-backoff.js";
import type { TaskMetadata, TaskPayload, TaskSpec } from "../task/task-spec.js";
import { METADATA_FIELDS, validateTaskMetadata, validateTaskSpec } from "../task/task-spec.js";
import { bytesFromBase64, bytesToBase64 } from "./base64.js";

/** JSON form of a {@link TaskPayload}: bytes as standard base64. */
export interface TaskPayloadJson {
  readonly bytes: string;
  readonly contentType?: string;
}
/** JSON form of {@link TaskMetadata}. */
export interface TaskMetadataJson {
  readonly tags: readonly string[];
  readonly priority: number;
  readonly description?: string;
}
/** JSON form of {@link TaskConstraints}; hold policy and safety level may be omitted on decode. */
export interface TaskConstraintsJson {
  readonly maxAttempts: number;
  readonly timeoutMs?: number;
  readonly concurrencyKey?: string;
  readonly concurrencyKeyHoldPolicy: ConcurrencyKeyHoldPolicy;
  readonly safetyLevel: SafetyLevel;
  readonly requiredCapabilities?: readonly string[];
  readonly backoff?: RetryBackoff;
}
/** JSON form of a {@link MisfirePolicy} (the same tagged shape). */
export type MisfirePolicyJson = MisfirePolicy;
/** JSON form of a {@link RunPolicy} (the same tagged shape). */
export type RunPolicyJson = RunPolicy;
/** JSON form of a {@link TaskSpec}. */
export interface TaskSpecJson {
  readonly id: string;
  readonly name?: string;
  readonly payload: TaskPayloadJson;
  readonly runPolicy: RunPolicyJson;
  readonly constraints: TaskConstraintsJson;
  readonly metadata: TaskMetadataJson;
  readonly parentTaskId?: string;
  readonly tenantId?: string;
}

/** Encodes a payload. */
export function taskPayloadToJson(payload: TaskPayload): TaskPayloadJson {
  return {
    bytes: bytesToBase64(payload.bytes),
    ...(payload.contentType === undefined ? {} : { contentType: payload.contentType }),
  };
}

/** Decodes a payload; throws `INVALID_FIELD`/`UNKNOWN_FIELD`. */
export function taskPayloadFromJson(json: unknown, path = "payload"): TaskPayload {
  const o = readObject(json, path, ["bytes", "contentType"]);
  const contentType = optionalWith(o, "contentType", (v) => asString(v, `${path}.contentType`));
  return {
    bytes: bytesFromBase64(required(o, "bytes", path), `${path}.bytes`),
    ...(contentType === undefined ? {} : { contentType }),
  };
}

/** Encodes metadata. */
export function taskMetadataToJson(metadata: TaskMetadata): TaskMetadataJson {
  return {
    tags: [...metadata.tags],
    priority: metadata.priority,
    ...(metadata.description === undefined ? {} : { description: metadata.description }),
  };
}

/** Decodes and validates metadata (`INVALID_TAGS`, `INVALID_PRIORITY`, ...). */
export function taskMetadataFromJson(json: unknown, path = "metadata"): TaskMetadata {
  const o = readObject(json, path, METADATA_FIELDS);
  const description = optionalWith(o, "description", (v) => asString(v, `${path}.description`));
  const metadata: TaskMetadata = {
    tags: asStringArray(required(o, "tags", path), `${path}.tags`),
    priority: asNumber(required(o, "priority", path), `${path}.priority`),
    ...(description === undefined ? {} : { description }),
  };
  validateTaskMetadata(metadata);
  return metadata;
}

/** Encodes constraints (defaults written out explicitly). */
export function taskConstraintsToJson(c: TaskConstraints): TaskConstraintsJson {
  return {
    maxAttempts: c.maxAttempts,
    ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }),
    ...(c.concurrencyKey === undefined ? {} : { concurrencyKey: c.concurrencyKey }),
    concurrencyKeyHoldPolicy: c.concurrencyKeyHoldPolicy,
    safetyLevel: c.safetyLevel,
    ...(c.requiredCapabilities === undefined ? {} : { requiredCapabilities: [...c.requiredCapabilities] }),
    ...(c.backoff === undefined ? {} : { backoff: { ...c.backoff } }),
  };
}

/**
 * Decodes and validates constraints. A missing hold policy defaults to
 * `holdDuringRetry` and a missing safety level to `pure`.
 */
export function taskConstraintsFromJson(json: unknown, path = "constraints"): TaskConstraints {
  const o = readObject(json, path, CONSTRAINT_FIELDS);
  const timeoutMs = optionalWith(o, "timeoutMs", (v) => asNumber(v, `${path}.timeoutMs`));
  const concurrencyKey = optionalWith(o, "concurrencyKey", (v) => asString(v, `${path}.concurrencyKey`));
  const requiredCapabilities = optionalWith(o, "requiredCapabilities", (v) => asStringArray(v, `${path}.requiredCapabilities`));
  const backoff = optionalWith(o, "backoff", (v) => retryBackoffFromJson(v, `${path}.backoff`));
  const c: TaskConstraints = {
    maxAttempts: asNumber(required(o, "maxAttempts", path), `${path}.maxAttempts`),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(concurrencyKey === undefined ? {} : { concurrencyKey }),
    concurrencyKeyHoldPolicy: (optionalWith(o, "concurrencyKeyHoldPolicy", (v) => asString(v, `${path}.concurrencyKeyHoldPolicy`)) ??
      "holdDuringRetry") as ConcurrencyKeyHoldPolicy,
    safetyLevel: (optionalWith(o, "safetyLevel", (v) => asString(v, `${path}.safetyLevel`)) ?? "pure") as SafetyLevel,
    ...(requiredCapabilities === undefined ? {} : { requiredCapabilities }),
    ...(backoff === undefined ? {} : { backoff }),
  };
  validateTaskConstraints(c);
  return c;
}

function retryBackoffFromJson(json: unknown, path: string): RetryBackoff {
  // The fields of its own kind only, as the programmatic API takes them.
  const backoff = copyRetryBackoff(readObject(json, path, RETRY_BACKOFF_FIELDS) as unknown as RetryBackoff);
  validateRetryBackoff(backoff, path);
  return backoff;
}

function misfireFromJson(json: unknown, path: string): MisfirePolicy {
  const kind = readObject(json, path, MISFIRE_FIELDS).kind;
  if (kind === "catchUp") {
    const o = readObject(json, path, MISFIRE_FIELDS);
    const maxRuns = optionalWith(o, "maxRuns", (v) => asNumber(v, `${path}.maxRuns`));
    return maxRuns === undefined ? { kind } : { kind, maxRuns };
  }
  if (kind === "skip" || kind === "coalesce") {
    readObject(json, path, ["kind"]);
    return { kind };
  }
  throw new ValidationError("INVALID_RUN_POLICY", `invalid ${path}.kind ${JSON.stringify(kind)}: expected "catchUp", "skip" or "coalesce"`, {
    details: { field: `${path}.kind` },
  });
}

/** Encodes a run policy (a fresh plain object). */
export function runPolicyToJson(policy: RunPolicy): RunPolicyJson {
  switch (policy.kind) {
    case "once":
      return policy.startAt === undefined ? { kind: "once" } : { kind: "once", startAt: policy.startAt };
    case "repeat":
      return {
        kind: "repeat",
        count: policy.count,
        intervalMs: policy.intervalMs,
        ...(policy.startAt === undefined ? {} : { startAt: policy.startAt }),
        ...(policy.misfire === undefined ? {} : { misfire: { ...policy.misfire } }),
      };
    case "cron":
      return {
        kind: "cron",
        expression: policy.expression,
        ...(policy.timezone === undefined ? {} : { timezone: policy.timezone }),
        ...(policy.maxOccurrences === undefined ? {} : { maxOccurrences: policy.maxOccurrences }),
        ...(policy.startAt === undefined ? {} : { startAt: policy.startAt }),
        ...(policy.misfire === undefined ? {} : { misfire: { ...policy.misfire } }),
      };
  }
}

/** Decodes and validates a run policy (`INVALID_REPEAT_COUNT`, `INVALID_CRON_EXPRESSION`, ...). */
export function runPolicyFromJson(json: unknown, path = "runPolicy"): RunPolicy {
  const kind = readObject(json, path, RUN_POLICY_FIELDS).kind;
  let policy: RunPolicy;
  if (kind === "once") {
    const o = readObject(json, path, ONCE_POLICY_FIELDS);
    const startAt = optionalWith(o, "startAt", (v) => asNumber(v, `${path}.startAt`));
    policy = startAt === undefined ? { kind } : { kind, startAt };
  } else if (kind === "repeat") {
    const o = readObject(json, path, REPEAT_POLICY_FIELDS);
    const startAt = optionalWith(o, "startAt", (v) => asNumber(v, `${path}.startAt`));
    const misfire = optionalWith(o, "misfire", (v) => misfireFromJson(v, `${path}.misfire`));
    policy = {
      kind,
      count: asNumber(required(o, "count", path), `${path}.count`),
      intervalMs: asNumber(required(o, "intervalMs", path), `${path}.intervalMs`),
      ...(startAt === undefined ? {} : { startAt }),
      ...(misfire === undefined ? {} : { misfire }),
    };
  } else if (kind === "cron") {
    const o = readObject(json, path, CRON_POLICY_FIELDS);
    const timezone = optionalWith(o, "timezone", (v) => asString(v, `${path}.timezone`));
    const maxOccurrences = optionalWith(o, "maxOccurrences", (v) => asNumber(v, `${path}.maxOccurrences`));
    const startAt = optionalWith(o, "startAt", (v) => asNumber(v, `${path}.startAt`));
    const misfire = optionalWith(o, "misfire", (v) => misfireFromJson(v, `${path}.misfire`));
    policy = {
      kind,
      expression: asString(required(o, "expression", path), `${path}.expression`),
      ...(timezone === undefined ? {} : { timezone }),
      ...(maxOccurrences === undefined ? {} : { maxOccurrences }),
      ...(startAt === undefined ? {} : { startAt }),
      ...(misfire === undefined ? {} : { misfire }),
    };
  } else {
    throw new ValidationError("INVALID_RUN_POLICY", `invalid ${path}.kind ${JSON.stringify(kind)}: expected "once", "repeat" or "cron"`, {
      details: { field: `${path}.kind` },
    });
  }
  validateRunPolicy(policy);
  return policy;
}

/** Encodes a task spec. */
export function taskSpecToJson(spec: TaskSpec): TaskSpecJson {
  return {
    id: spec.id,
    ...(spec.name === undefined ? {} : { name: spec.name }),
    payload: taskPayloadToJson(spec.payload),
    runPolicy: runPolicyToJson(spec.runPolicy),
    constraints: taskConstraintsToJson(spec.constraints),
    metadata: taskMetadataToJson(spec.metadata),
    ...(spec.parentTaskId === undefined ? {} : { parentTaskId: spec.parentTaskId }),
    ...(spec.tenantId === undefined ? {} : { tenantId: spec.tenantId }),
  };
}

/**
 * Decodes a task spec and runs the full `validateTaskSpec` (nil id, policy,
 * constraints, metadata, parent). Ids are returned in canonical form.
 */
export function taskSpecFromJson(json: unknown, path = "taskSpec"): TaskSpec {
  const o = readObject(json, path, ["id", "name", "payload", "runPolicy", "constraints", "metadata", "parentTaskId", "tenantId"]);
  const name = optionalWith(o, "name", (v) => asString(v, `${path}.name`));
  const parentTaskId: TaskId | undefined = optionalWith(o, "parentTaskId", (v) => requireId(parseTaskId, `${path}.parentTaskId`, v));
  const tenantId: TenantId | undefined = optionalWith(o, "tenantId", (v) => requireId(parseTenantId, `${path}.tenantId`, v));
  const spec: TaskSpec = {
    id: requireId(parseTaskId, `${path}.id`, required(o, "id", path)),
    ...(name === undefined ? {} : { name }),
    payload: taskPayloadFromJson(required(o, "payload", path), `${path}.payload`),
    runPolicy: runPolicyFromJson(required(o, "runPolicy", path), `${path}.runPolicy`),
    constraints: taskConstraintsFromJson(required(o, "constraints", path), `${path}.constraints`),
    metadata: taskMetadataFromJson(required(o, "metadata", path), `${path}.metadata`),
    ...(parentTaskId === undefined ? {} : { parentTaskId }),
    ...(tenantId === undefined ? {} : { tenantId }),
  };
  validateTaskSpec(spec);
  return spec;
}
