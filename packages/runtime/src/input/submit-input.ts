/**
 * Validation of a submission coming from outside the process (CLI flags, HTTP
 * bodies): the same rules everywhere, unknown keys refused, values checked by
 * core's factories so the error names the field and the value.
 */
import type { RunPolicy, TaskConstraintsInput, TaskMetadata, TaskId } from "@actionqueue/core";
import {
  CONSTRAINT_FIELDS,
  JSON_CONTENT_TYPE,
  METADATA_FIELDS,
  MISFIRE_FIELDS,
  RUN_POLICY_FIELDS,
  ValidationError,
  createTaskConstraints,
  describeValue,
  parseTaskId,
  validateRunPolicy,
  validateTaskMetadata,
} from "@actionqueue/core";
import { encodeJsonPayload } from "./json-payload.js";
import { assertStrictObject, withoutNulls } from "./strict-object.js";
import { parseRunPolicyText } from "./run-policy-text.js";

/** Keys accepted in constraints JSON: core's fields of TaskConstraints. */
export const CONSTRAINT_KEYS: readonly string[] = CONSTRAINT_FIELDS;
/** Keys accepted in metadata JSON: core's fields of TaskMetadata. */
export const METADATA_KEYS: readonly string[] = METADATA_FIELDS;
const SUBMIT_KEYS = ["name", "taskId", "payload", "payloadBase64", "contentType", "runPolicy", "constraints", "metadata"] as const;
// Keys whose null means "not given" (the rest are required, or, for payload, take null as a value).
const OPTIONAL_MISFIRE_KEYS = ["maxRuns"] as const;
const OPTIONAL_POLICY_KEYS = ["timezone", "maxOccurrences", "startAt", "misfire"] as const;
const OPTIONAL_SUBMIT_KEYS = ["name", "taskId", "payloadBase64", "contentType", "constraints", "metadata"] as const;

/** A submission after validation, ready for `ActionQueue.submit`. */
export interface ValidatedSubmission {
  readonly name?: string;
  readonly taskId?: TaskId;
  readonly payload?: Uint8Array;
  readonly contentType?: string;
  readonly runPolicy: RunPolicy;
  readonly constraints?: TaskConstraintsInput;
  readonly metadata?: Partial<TaskMetadata>;
}

/** Validates constraints JSON (unknown keys refused); returns the input form. */
export function parseConstraintsJson(value: unknown, field = "constraints"): TaskConstraintsInput {
  const obj = withoutNulls(assertStrictObject(value, field, CONSTRAINT_KEYS), CONSTRAINT_KEYS);
  createTaskConstraints(obj);
  return obj;
}

/** Validates metadata JSON (unknown keys refused); returns the input form. */
export function parseMetadataJson(value: unknown, field = "metadata"): Partial<TaskMetadata> {
  const obj = withoutNulls(assertStrictObject(value, field, METADATA_KEYS), METADATA_KEYS);
  validateTaskMetadata({ tags: [], priority: 0, ...obj });
  return obj;
}

/** Accepts a policy as text (`repeat:3:5s`) or as an object (`{kind:'repeat', count, intervalMs}`). */
export function parseRunPolicyJson(value: unknown, field = "runPolicy"): RunPolicy {
  if (typeof value === "string") return parseRunPolicyText(value, field);
  let obj = withoutNulls(assertStrictObject(value, field, RUN_POLICY_FIELDS), OPTIONAL_POLICY_KEYS);
  // The misfire policy is strict too: a misspelt `maxRuns` must not vanish into the default.
  // Anything but an object (an array, a string) is left to validateRunPolicy, which refuses it as INVALID_RUN_POLICY.
  if (typeof obj.misfire === "object" && obj.misfire !== null && !Array.isArray(obj.misfire)) {
    const misfire = withoutNulls(assertStrictObject(obj.misfire, `${field}.misfire`, MISFIRE_FIELDS), OPTIONAL_MISFIRE_KEYS);
    if (misfire !== obj.misfire) obj = { ...obj, misfire };
  }
  validateRunPolicy(obj);
  return obj;
}

/**
 * Base64 text as bytes, refusing text that does not decode to whole bytes:
 * `Buffer.from` silently drops a trailing partial byte and stray padding.
 * Padding is optional, but when present it must complete the last group.
 */
function decodeBase64Strict(value: unknown, field: string): Uint8Array {
  const parts = typeof value === "string" ? /^([A-Za-z0-9+/]*)(={0,2})$/.exec(value) : null;
  const digits = parts?.[1]?.length ?? 0;
  const padding = parts?.[2]?.length ?? 0;
  if (parts === null || digits % 4 === 1 || (padding > 0 && (digits + padding) % 4 !== 0)) {
    throw new ValidationError(
      "INVALID_PAYLOAD",
      `${field} ${describeValue(value)}: expected base64 text that decodes to whole bytes (A–Z, a–z, 0–9, + and /, padded with = to a multiple of 4 or unpadded)`,
      { details: { field, value: describeValue(value) } },
    );
  }
  return new Uint8Array(Buffer.from(value as string, "base64"));
}

/**
 * Validates a whole submission body. `payload` may be any JSON value (stored
 * as JSON with content type application/json) or `payloadBase64` raw bytes.
 */
export function parseSubmitJson(value: unknown): ValidatedSubmission {
  // null is "not given" for every optional key but payload, where it is the JSON value null.
  const obj = withoutNulls(assertStrictObject(value, "body", SUBMIT_KEYS), OPTIONAL_SUBMIT_KEYS);
  if (obj.runPolicy === undefined) {
    throw new ValidationError("INVALID_RUN_POLICY", "runPolicy is required: once, repeat:COUNT:INTERVAL, cron:EXPR or an object", {
      details: { field: "runPolicy" },
    });
  }
  if (obj.payload !== undefined && obj.payloadBase64 !== undefined) {
    throw new ValidationError("INVALID_PAYLOAD", "give either payload (JSON) or payloadBase64 (bytes), not both", {
      details: { field: "payload" },
    });
  }
  if (obj.name !== undefined && typeof obj.name !== "string") {
    throw new ValidationError("INVALID_TASK_NAME", `name ${describeValue(obj.name)}: expected a string`, { details: { field: "name" } });
  }
  if (obj.contentType !== undefined && typeof obj.contentType !== "string") {
    throw new ValidationError("INVALID_CONTENT_TYPE", `contentType ${describeValue(obj.contentType)}: expected a string`, {
      details: { field: "contentType" },
    });
  }
  let payload: Uint8Array | undefined;
  let contentType = obj.contentType;
  if (obj.payloadBase64 !== undefined) {
    payload = decodeBase64Strict(obj.payloadBase64, "payloadBase64");
  } else if (obj.payload !== undefined) {
    payload = encodeJsonPayload(obj.payload);
    contentType ??= JSON_CONTENT_TYPE;
  }
  return {
    ...(obj.name === undefined ? {} : { name: obj.name }),
    ...(obj.taskId === undefined ? {} : { taskId: parseTaskId(obj.taskId) }),
    ...(payload === undefined ? {} : { payload }),
    ...(contentType === undefined ? {} : { contentType }),
    runPolicy: parseRunPolicyJson(obj.runPolicy),
    ...(obj.constraints === undefined ? {} : { constraints: parseConstraintsJson(obj.constraints) }),
    ...(obj.metadata === undefined ? {} : { metadata: parseMetadataJson(obj.metadata) }),
  };
}
