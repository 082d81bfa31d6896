/**
 * Request validation helpers: zod schemas for query strings (unknown keys
 * refused, so a typo never silently widens a listing) and id parsing that
 * names the field. Every failure is a 400 whose message and `field` name the
 * offending input.
 */
import { z } from "zod";
import { ActionQueueError, RUN_STATES, describeValue, isNilId, parseRunId, parseTaskId } from "@actionqueue/core";
import type { RunId, RunState, TaskId } from "@actionqueue/core";
import { HttpError } from "../errors.js";
import { MAX_PATH_PARAM_LENGTH } from "./router-errors.js";

/** Parses `value` with `schema`; throws 400 `INVALID_FIELD` naming the first bad field (prefixed by `where`). */
export function parseWith<TSchema extends z.ZodType>(schema: TSchema, value: unknown, where: string): z.infer<TSchema> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  let field = path === "" ? where : path;
  let message = issue?.message ?? "invalid value";
  if (issue?.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    field = key;
    message = `unknown ${where} parameter ${JSON.stringify(key)}`;
    return fail(field, message);
  }
  return fail(field, `${field}: ${message}`);
}

const noQuery = z.strictObject({});

/**
 * Refuses any query parameter on a route that takes none, as the list routes
 * refuse an unknown one: 400 `INVALID_FIELD` naming it, so `?limt=5` on the
 * wrong route is not silently ignored either.
 */
export function refuseQuery(query: unknown): void {
  parseWith(noQuery, query, "query");
}

function fail(field: string, message: string): never {
  throw new HttpError(400, "INVALID_FIELD", message, { field });
}

/** Longest id value an error repeats in full (the router passes path ids up to this length). */
const SHOWN_ID_LENGTH = MAX_PATH_PARAM_LENGTH;

/**
 * Core's message shortens a string over 80 characters; an id the client sent
 * is named in full here (up to {@link SHOWN_ID_LENGTH}), so an over-long id
 * is recognisable in the answer.
 */
function idError(field: string, error: unknown, value: unknown): HttpError {
  let message = ActionQueueError.is(error) ? error.message : String(error);
  if (typeof value === "string" && value.length <= SHOWN_ID_LENGTH) {
    const short = describeValue(value);
    const full = JSON.stringify(value);
    if (short !== full && message.includes(short)) message = message.replace(short, () => full);
  }
  return new HttpError(400, "INVALID_ID", `${field}: ${message}`, { field, cause: error });
}

/**
 * The nil id is a well-formed ULID but never names a task or run (core
 * refuses to create one), so a request carrying it is a bad request, not a
 * lookup that found nothing.
 */
function refuseNil<T extends string>(id: T, field: string, kind: "TaskId" | "RunId"): T {
  if (isNilId(id)) throw new HttpError(400, "INVALID_ID", `${field}: invalid ${kind} ${id}: the nil id is never a ${kind === "TaskId" ? "task" : "run"} id`, { field });
  return id;
}

/** Parses a task id from the request; throws 400 `INVALID_ID` naming `field` (also for the nil id). */
export function taskIdField(value: unknown, field: string): TaskId {
  let id: TaskId;
  try {
    id = parseTaskId(value);
  } catch (error) {
    throw idError(field, error, value);
  }
  return refuseNil(id, field, "TaskId");
}

/** Parses a run id from the request; throws 400 `INVALID_ID` naming `field` (also for the nil id). */
export function runIdField(value: unknown, field: string): RunId {
  let id: RunId;
  try {
    id = parseRunId(value);
  } catch (error) {
    throw idError(field, error, value);
  }
  return refuseNil(id, field, "RunId");
}

/** Parses a run state, accepting `retryWait`, `retry_wait` and `RetryWait` alike. */
export function runStateField(value: string, field: string): RunState {
  const wanted = value.toLowerCase().replace(/[-_]/g, "");
  const match = RUN_STATES.find((state) => state.toLowerCase() === wanted);
  if (match === undefined) fail(field, `${field} ${JSON.stringify(value)}: expected one of ${RUN_STATES.join(", ")}`);
  return match;
}
