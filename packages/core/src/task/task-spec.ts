/**
 * TaskSpec: the user's intent — payload, run policy, constraints, metadata, an
 * optional name that routes the task to a handler, and optional parent and
 * tenant. Plain readonly data built by a validating factory.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";
import { assertKnownKeys } from "../internal/known-keys.js";
import { assertWellFormedText } from "../internal/well-formed.js";
import type { TaskId, TenantId } from "../ids/ids.js";
import { isNilId, parseTaskId, parseTenantId } from "../ids/ids.js";
import type { RunPolicy } from "./run-policy.js";
import { copyRunPolicy, validateRunPolicy } from "./run-policy.js";
import type { TaskConstraints, TaskConstraintsInput } from "./task-constraints.js";
import { buildTaskConstraints, createTaskConstraints, validateTaskConstraints } from "./task-constraints.js";
import { ownedBytes } from "../internal/owned-bytes.js";

/** Opaque payload bytes with an optional content type (`application/json` for JSON). */
export interface TaskPayload {
  readonly bytes: Uint8Array;
  readonly contentType?: string;
}

/** Descriptive metadata; `priority` (higher = sooner) is copied into each run. */
export interface TaskMetadata {
  readonly tags: readonly string[];
  /** A 32-bit signed integer; default 0. */
  readonly priority: number;
  readonly description?: string;
}

/** A durable task definition. */
export interface TaskSpec {
  readonly id: TaskId;
  /** Routes the task to `handlers[name]`; absent means the default handler. */
  readonly name?: string;
  readonly payload: TaskPayload;
  readonly runPolicy: RunPolicy;
  readonly constraints: TaskConstraints;
  readonly metadata: TaskMetadata;
  readonly parentTaskId?: TaskId;
  readonly tenantId?: TenantId;
}

/** Input of {@link createTaskSpec}: everything but the id and policy may be omitted. */
export interface TaskSpecInput {
  readonly id: TaskId;
  readonly name?: string;
  /** Copied by {@link createTaskSpec}: the caller may reuse the buffer. */
  readonly payload?: Uint8Array;
  readonly contentType?: string;
  readonly runPolicy: RunPolicy;
  readonly constraints?: TaskConstraintsInput;
  readonly metadata?: Partial<TaskMetadata>;
  readonly parentTaskId?: TaskId;
  readonly tenantId?: TenantId;
}

/** Longest task name, in characters. */
export const TASK_NAME_MAX_LENGTH = 256;
const I32_MIN = -2_147_483_648;
const I32_MAX = 2_147_483_647;

/**
 * Default metadata: no tags, priority 0, no description. Frozen and shared:
 * {@link createTaskSpec} uses this very object when the input asks for nothing else.
 */
export const DEFAULT_TASK_METADATA: TaskMetadata = Object.freeze({ tags: Object.freeze<string[]>([]), priority: 0 });

/**
 * The zero-length payload bytes shared by every task submitted without a
 * payload (frozen; being empty, it has no bytes to change).
 */
export const EMPTY_PAYLOAD_BYTES: Uint8Array = Object.freeze(new Uint8Array(0));

/** The payload of a task with neither payload nor content type: frozen, shared. */
export const EMPTY_TASK_PAYLOAD: TaskPayload = Object.freeze({ bytes: EMPTY_PAYLOAD_BYTES });

/** The content type of JSON payloads. */
export const JSON_CONTENT_TYPE = "application/json";

/**
 * Builds and validates a task spec; throws a `ValidationError` naming the
 * first bad field. The payload bytes are copied (the caller may reuse its
 * buffer); the spec's bytes are a plain `Uint8Array`.
 */
export function createTaskSpec(input: TaskSpecInput): TaskSpec {
  // Built by assignment rather than conditional spreads, which are slow on
  // Node 20 (this runs for every submitted task). Parts that equal the
  // defaults are the shared frozen defaults, so a plain task allocates little
  // more than the spec itself. A caller's payload bytes are copied: the
  // caller may reuse its buffer, and the spec keeps the bytes the WAL holds.
  // null, for every optional field, means "not given" (JSON clients send it for absent values).
  const contentType = input.contentType ?? undefined;
  if (contentType === "") {
    throw new ValidationError("INVALID_CONTENT_TYPE", 'invalid contentType "": expected a media type such as application/json (omit it for none)', {
      details: { field: "contentType", value: "" },
    });
  }
  let payload: TaskPayload;
  if (input.payload === undefined && contentType === undefined) {
    payload = EMPTY_TASK_PAYLOAD;
  } else {
    const given = input.payload;
    // Anything but a Uint8Array is kept as given, for validation to name it.
    const bytes = !(given instanceof Uint8Array) ? (given ?? EMPTY_PAYLOAD_BYTES) : given.length === 0 ? EMPTY_PAYLOAD_BYTES : ownedBytes(given);
    // One literal per shape: a content type added to `{ bytes }` afterwards
    // went to a separate property array (40 bytes more per task on the heap).
    payload = contentType === undefined ? { bytes } : { bytes, contentType };
  }
  // Metadata before constraints, the order in which their errors have always surfaced.
  const metadata = createTaskMetadata(input.metadata);
  // A copy (the shared ONCE_POLICY for any once policy): the caller may change or reuse its policy object after submitting.
  const runPolicy = copyRunPolicy(input.runPolicy);
  const constraints = createTaskConstraints(input.constraints);
  // A name (the common optional field) is part of the literal: added
  // afterwards it went to a separate property array, 40 bytes per task.
  const name = input.name ?? undefined;
  const spec: Mutable<TaskSpec> =
    name === undefined ? { id: input.id, payload, runPolicy, constraints, metadata } : { id: input.id, payload, runPolicy, constraints, metadata, name };
  if (input.parentTaskId != null) spec.parentTaskId = input.parentTaskId;
  if (input.tenantId != null) spec.tenantId = input.tenantId;
  validateTaskSpec(spec);
  return spec;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Every field of {@link TaskMetadata}: any other key in an input is refused. */
export const METADATA_FIELDS: readonly (keyof TaskMetadata)[] = ["tags", "priority", "description"];

/** Metadata from partial input (tags copied); the shared {@link DEFAULT_TASK_METADATA} when it asks for nothing else. */
function createTaskMetadata(input: Partial<TaskMetadata> | null | undefined): TaskMetadata {
  if (input === undefined || input === null) return DEFAULT_TASK_METADATA;
  // A number, string or list has none of the fields, so it read as the defaults: refused by name instead.
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError("INVALID_FIELD", `invalid metadata ${describeValue(input)}: expected an object (omit it for the defaults)`, {
      details: { field: "metadata", value: describeValue(input) },
    });
  }
  assertKnownKeys(input, "metadata", METADATA_FIELDS);
  // null means "not given" here too.
  const tags = input.tags ?? undefined;
  const priority = input.priority ?? undefined;
  const description = input.description ?? undefined;
  if ((tags === undefined || (Array.isArray(tags) && tags.length === 0)) && (priority === undefined || Object.is(priority, 0)) && description === undefined) {
    return DEFAULT_TASK_METADATA;
  }
  // Anything but a list is kept as given, for validation to refuse by name (spreading it failed with a TypeError).
  const listed: unknown = tags;
  const metadata: Mutable<TaskMetadata> = { tags: tags === undefined ? [] : Array.isArray(listed) ? [...(listed as readonly string[])] : tags, priority: priority ?? 0 };
  if (description !== undefined) metadata.description = description;
  return metadata;
}

/** True when every element is a string (a loop: no closure per validated spec). */
function allStrings(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== "string") return false;
  return true;
}

/** Validates task metadata; throws `INVALID_TAGS`, `INVALID_PRIORITY` or `INVALID_DESCRIPTION`. */
export function validateTaskMetadata(m: TaskMetadata): void {
  if (!Array.isArray(m.tags) || !allStrings(m.tags)) {
    throw new ValidationError("INVALID_TAGS", "invalid metadata.tags: expected an array of strings", {
      details: { field: "metadata.tags" },
    });
  }
  if (typeof m.priority !== "number" || !Number.isInteger(m.priority) || m.priority < I32_MIN || m.priority > I32_MAX) {
    throw new ValidationError(
      "INVALID_PRIORITY",
      `invalid metadata.priority ${describeValue(m.priority)}: expected an integer from ${I32_MIN} to ${I32_MAX}`,
      { details: { field: "metadata.priority", value: describeValue(m.priority) } },
    );
  }
  if (m.description !== undefined && typeof m.description !== "string") {
    throw new ValidationError("INVALID_DESCRIPTION", `invalid metadata.description ${describeValue(m.description)}: expected a string`, {
      details: { field: "metadata.description" },
    });
  }
  const tags: readonly string[] = m.tags;
  tags.forEach((tag, i) => assertWellFormedText(`metadata.tags[${i}]`, tag));
  if (m.description !== undefined) assertWellFormedText("metadata.description", m.description);
}

/**
 * Checks every rule of a task spec, in order: id (not nil), name, payload,
 * run policy, constraints, metadata, parent (not nil, not itself), tenant.
 */
export function validateTaskSpec(spec: TaskSpec): void {
  parseTaskId(spec.id);
  if (isNilId(spec.id)) {
    throw new ValidationError("INVALID_TASK_ID", `invalid task id ${spec.id}: the nil id is not a task id`, {
      details: { field: "id", value: spec.id },
    });
  }
  if (spec.name !== undefined && (typeof spec.name !== "string" || spec.name.length === 0 || spec.name.length > TASK_NAME_MAX_LENGTH)) {
    throw new ValidationError(
      "INVALID_TASK_NAME",
      `invalid name ${describeValue(spec.name)}: expected a non-empty string of at most ${TASK_NAME_MAX_LENGTH} characters`,
      { details: { field: "name", value: describeValue(spec.name) } },
    );
  }
  if (!(spec.payload?.bytes instanceof Uint8Array)) {
    throw new ValidationError("INVALID_PAYLOAD", `invalid payload ${describeValue(spec.payload?.bytes)}: expected a Uint8Array`, {
      details: { field: "payload" },
    });
  }
  if (spec.payload.contentType !== undefined && typeof spec.payload.contentType !== "string") {
    throw new ValidationError("INVALID_CONTENT_TYPE", `invalid contentType ${describeValue(spec.payload.contentType)}: expected a string`, {
      details: { field: "contentType" },
    });
  }
  if (spec.name !== undefined) assertWellFormedText("name", spec.name);
  if (spec.payload.contentType !== undefined) assertWellFormedText("contentType", spec.payload.contentType);
  validateRunPolicy(spec.runPolicy);
  validateTaskConstraints(spec.constraints);
  validateTaskMetadata(spec.metadata);
  if (spec.parentTaskId !== undefined) {
    parseTaskId(spec.parentTaskId);
    if (isNilId(spec.parentTaskId) || spec.parentTaskId === spec.id) {
      throw new ValidationError(
        "INVALID_TASK_ID",
        `invalid parentTaskId ${spec.parentTaskId}: a parent must be another, non-nil task`,
        { details: { field: "parentTaskId", value: spec.parentTaskId } },
      );
    }
  }
  if (spec.tenantId !== undefined) parseTenantId(spec.tenantId);
}

// One of each, shared: constructing a decoder per call cost more than decoding a small payload.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** The payload's text: short ASCII (most JSON payloads) by hand, anything else through the strict decoder. */
function payloadText(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= 256) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return utf8Decoder.decode(bytes);
}

/** Decodes the payload as JSON; throws `INVALID_PAYLOAD` if it is not valid UTF-8 JSON. */
export function payloadJson<T = unknown>(payload: TaskPayload): T {
  try {
    return JSON.parse(payloadText(payload.bytes)) as T;
  } catch (cause) {
    throw new ValidationError("INVALID_PAYLOAD", `payload is not valid JSON: ${(cause as Error).message}`, {
      details: { field: "payload" },
      cause,
    });
  }
}

/** Encodes a value as a JSON payload with content type `application/json`. */
export function jsonPayload(value: unknown): TaskPayload {
  return { bytes: utf8Encoder.encode(JSON.stringify(value)), contentType: JSON_CONTENT_TYPE };
}

/**
 * A copy of `spec` with another run policy, validated as a whole (the spec's
 * own id is re-checked first, as in Rust). On error `spec` is untouched.
 */
export function withRunPolicy(spec: TaskSpec, runPolicy: RunPolicy): TaskSpec {
  const next: TaskSpec = { ...spec, runPolicy: copyRunPolicy(runPolicy) };
  validateTaskSpec(next);
  return next;
}

/**
 * A copy of `spec` with constraints built from `input` alone, as
 * `createTaskSpec` builds them (defaults filled in; a field left out or
 * `undefined` is cleared, not kept from `spec`), validated with the whole
 * spec; `spec` is untouched on error.
 */
export function withConstraints(spec: TaskSpec, input: TaskConstraintsInput): TaskSpec {
  const next: TaskSpec = { ...spec, constraints: buildTaskConstraints(input) };
  validateTaskSpec(next);
  return next;
}
