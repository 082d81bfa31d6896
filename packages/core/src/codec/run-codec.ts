/**
 * JSON codecs of the run model: RunInstance (rebuilt through
 * `RunInstance.restore`, which checks every invariant) and AttemptOutcome
 * (output as base64, rebuilt through `AttemptOutcome.fromParts`). The Rust
 * decoder's "Ready with scheduledAt > createdAt is invalid" rule is
 * deliberately not applied: every promoted future run looks like that.
 */
import { ValidationError } from "../errors/action-queue-error.js";
import type { AttemptId } from "../ids/ids.js";
import { parseAttemptId, parseRunId, parseTaskId } from "../ids/ids.js";
import { requireId } from "../internal/checks.js";
import { asNumber, asString, optionalWith, readObject, required } from "../internal/json.js";
import type { AttemptOutcome as AttemptOutcomeValue, AttemptResultKind } from "../mutation/attempt-outcome.js";
import { ATTEMPT_RESULT_KINDS, AttemptOutcome } from "../mutation/attempt-outcome.js";
import { RunInstance } from "../run/run-instance.js";
import type { RunState } from "../run/run-state.js";
import { bytesFromBase64, bytesToBase64 } from "./base64.js";

/** JSON form of a {@link RunInstance}. Times are epoch milliseconds. */
export interface RunInstanceJson {
  readonly id: string;
  readonly taskId: string;
  readonly state: RunState;
  readonly currentAttemptId?: string;
  readonly attemptCount: number;
  readonly createdAt: number;
  readonly scheduledAt: number;
  readonly effectivePriority: number;
  /** Defaults to `createdAt` when missing. */
  readonly lastStateChangeAt: number;
}

/** JSON form of an attempt outcome: output as standard base64. */
export interface AttemptOutcomeJson {
  readonly result: AttemptResultKind;
  readonly error?: string;
  readonly output?: string;
}

/** Encodes a run. */
export function runInstanceToJson(run: RunInstance): RunInstanceJson {
  const f = run.toFields();
  return {
    id: f.id,
    taskId: f.taskId,
    state: f.state,
    ...(f.currentAttemptId === undefined ? {} : { currentAttemptId: f.currentAttemptId }),
    attemptCount: f.attemptCount,
    createdAt: f.createdAt,
    scheduledAt: f.scheduledAt,
    effectivePriority: f.effectivePriority,
    lastStateChangeAt: f.lastStateChangeAt,
  };
}

/**
 * Decodes a run, validating ids (not nil), state, the active attempt (only
 * while running), counts, times and priority. A missing `lastStateChangeAt`
 * defaults to `createdAt`.
 */
export function runInstanceFromJson(json: unknown, path = "run"): RunInstance {
  const o = readObject(json, path, [
    "id",
    "taskId",
    "state",
    "currentAttemptId",
    "attemptCount",
    "createdAt",
    "scheduledAt",
    "effectivePriority",
    "lastStateChangeAt",
  ]);
  const createdAt = asNumber(required(o, "createdAt", path), `${path}.createdAt`);
  const currentAttemptId: AttemptId | undefined = optionalWith(o, "currentAttemptId", (v) =>
    requireId(parseAttemptId, `${path}.currentAttemptId`, v),
  );
  return RunInstance.restore({
    id: requireId(parseRunId, `${path}.id`, required(o, "id", path)),
    taskId: requireId(parseTaskId, `${path}.taskId`, required(o, "taskId", path)),
    state: asString(required(o, "state", path), `${path}.state`) as RunState,
    ...(currentAttemptId === undefined ? {} : { currentAttemptId }),
    attemptCount: asNumber(required(o, "attemptCount", path), `${path}.attemptCount`),
    createdAt,
    scheduledAt: asNumber(required(o, "scheduledAt", path), `${path}.scheduledAt`),
    effectivePriority: asNumber(required(o, "effectivePriority", path), `${path}.effectivePriority`),
    lastStateChangeAt: optionalWith(o, "lastStateChangeAt", (v) => asNumber(v, `${path}.lastStateChangeAt`)) ?? createdAt,
  });
}

/** Encodes an attempt outcome. */
export function attemptOutcomeToJson(outcome: AttemptOutcomeValue): AttemptOutcomeJson {
  return {
    result: outcome.result,
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    ...(outcome.output === undefined ? {} : { output: bytesToBase64(outcome.output) }),
  };
}

/**
 * Decodes an attempt outcome through `AttemptOutcome.fromParts`:
 * `SUCCESS_WITH_ERROR`, `NON_SUCCESS_WITHOUT_ERROR`, `NON_SUCCESS_WITH_OUTPUT`,
 * `EMPTY_FAILURE_MESSAGE`; empty output decodes to none.
 */
export function attemptOutcomeFromJson(json: unknown, path = "outcome"): AttemptOutcomeValue {
  const o = readObject(json, path, ["result", "error", "output"]);
  const result = asString(required(o, "result", path), `${path}.result`);
  if (!(ATTEMPT_RESULT_KINDS as readonly string[]).includes(result)) {
    throw new ValidationError("INVALID_ATTEMPT_RESULT", `invalid ${path}.result ${JSON.stringify(result)}: expected ${ATTEMPT_RESULT_KINDS.join(", ")}`, {
      details: { field: `${path}.result`, value: result },
    });
  }
  const error = optionalWith(o, "error", (v) => asString(v, `${path}.error`));
  const output = optionalWith(o, "output", (v) => bytesFromBase64(v, `${path}.output`));
  return AttemptOutcome.fromParts(result as AttemptResultKind, error, output);
}
