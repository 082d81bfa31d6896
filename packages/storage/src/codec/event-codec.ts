/**
 * The WAL event codec: one event per mutation command, written as
 * `tag (varint) · timestamp (varint) · fields in a fixed order`. The sequence
 * lives in the frame header, not the payload. Tags are this file's own table
 * (never core's list order), so reordering core cannot silently change the
 * format; a layout change means a new frame version and new golden fixtures.
 */
import { BUDGET_DIMENSIONS } from "@actionqueue/core";
import type { ActorId, AttemptId, MutationCommand, MutationCommandKind, RunId, SubscriptionId, TaskId, TenantId } from "@actionqueue/core";
import { BinaryReader, BinaryWriter, decodeError } from "./binary.js";
import {
  readActor,
  readFilter,
  readLedgerEntry,
  readOutcome,
  readPermission,
  readRole,
  readRun,
  readSubmittedRun,
  readTaskSpec,
  readTenant,
  writeActor,
  writeFilter,
  writeLedgerEntry,
  writeOutcome,
  writePermission,
  writeRole,
  writeRun,
  writeState,
  writeTaskSpec,
  writeTenant,
} from "./domain-codec.js";
import { RUN_STATES } from "@actionqueue/core";

/** Event tags, fixed forever: index = tag byte on disk. */
export const EVENT_TAGS: readonly MutationCommandKind[] = [
  "taskCreate",
  "runCreate",
  "runStateTransition",
  "attemptStart",
  "attemptFinish",
  "leaseAcquire",
  "leaseHeartbeat",
  "leaseExpire",
  "leaseRelease",
  "enginePause",
  "engineResume",
  "taskCancel",
  "dependencyDeclare",
  "runSuspend",
  "runResume",
  "budgetAllocate",
  "budgetConsume",
  "budgetReplenish",
  "subscriptionCreate",
  "subscriptionCancel",
  "subscriptionTrigger",
  "actorRegister",
  "actorDeregister",
  "actorHeartbeat",
  "tenantCreate",
  "roleAssign",
  "capabilityGrant",
  "capabilityRevoke",
  "ledgerAppend",
  "runDispatch",
  "runFinish",
  "taskPurge",
  "runsPromote",
  "taskSubmit",
  "runsDispatch",
];

const TAG_OF = new Map<MutationCommandKind, number>(EVENT_TAGS.map((kind, tag) => [kind, tag]));

/** Encodes a command's event payload (everything but the sequence) into fresh bytes. */
export function encodeEvent(command: MutationCommand): Buffer {
  const w = new BinaryWriter(64);
  writeEvent(w, command);
  return w.toBytes();
}

const scratch = new BinaryWriter(4096);

/**
 * Encodes into a shared scratch buffer and returns a view of it, valid only
 * until the next call: for the authority's hot path, whose sink copies the
 * bytes synchronously. Saves an allocation and a copy per command.
 */
export function encodeEventTransient(command: MutationCommand): Buffer {
  scratch.reset();
  writeEvent(scratch, command);
  return scratch.view();
}

/**
 * Appends a command's event payload to `w` (several events can share one
 * writer; the caller keeps the offsets).
 */
export function writeEvent(w: BinaryWriter, c: MutationCommand): void {
  const tag = TAG_OF.get(c.kind);
  if (tag === undefined) throw decodeError(`cannot encode a command of unknown kind ${String((c as { kind: unknown }).kind)}`, { field: "kind" });
  w.uint(tag, "tag");
  w.uint(c.timestamp, "timestamp");
  switch (c.kind) {
    case "taskCreate":
      return writeTaskSpec(w, c.taskSpec);
    case "runCreate":
      return writeRun(w, c.run);
    case "taskSubmit": {
      writeTaskSpec(w, c.taskSpec);
      // Each run as what is its own: the task, state (scheduled), attempts (none) and last change (its creation) are implied.
      const runs = c.runs;
      w.uint(runs.length, "length");
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i]!;
        w.ulid(run.id, "run.id");
        w.uint(run.createdAt, "run.createdAt");
        w.uint(run.scheduledAt, "run.scheduledAt");
        w.int(run.effectivePriority, "run.effectivePriority");
      }
      return;
    }
    case "runStateTransition":
      w.ulid(c.runId, "runId");
      writeState(w, c.previousState, "previousState");
      return writeState(w, c.newState, "newState");
    case "attemptStart":
      w.ulid(c.runId, "runId");
      return w.ulid(c.attemptId, "attemptId");
    case "attemptFinish":
      w.ulid(c.runId, "runId");
      w.ulid(c.attemptId, "attemptId");
      return writeOutcome(w, c.outcome);
    case "runFinish":
      w.ulid(c.runId, "runId");
      w.ulid(c.attemptId, "attemptId");
      writeOutcome(w, c.outcome);
      return writeState(w, c.newState, "newState");
    case "leaseAcquire":
    case "leaseHeartbeat":
    case "runDispatch":
      w.ulid(c.runId, "runId");
      w.string(c.owner);
      w.uint(c.expiresAt, "expiresAt");
      return w.ulid(c.attemptId, "attemptId");
    case "leaseExpire":
    case "leaseRelease":
      w.ulid(c.runId, "runId");
      w.string(c.owner);
      return w.uint(c.expiresAt, "expiresAt");
    case "enginePause":
    case "engineResume":
      return;
    case "taskCancel":
    case "taskPurge":
      return w.ulid(c.taskId, "taskId");
    case "runsDispatch": {
      w.string(c.owner);
      w.uint(c.expiresAt, "expiresAt");
      const runIds = c.runIds;
      const attemptIds = c.attemptIds;
      // A mismatch would encode a record that cannot be decoded as it was meant.
      if (attemptIds.length !== runIds.length) throw decodeError(`cannot encode runsDispatch: ${runIds.length} runs but ${attemptIds.length} attempt ids`, { field: "attemptIds" });
      w.uint(runIds.length, "length");
      for (let i = 0; i < runIds.length; i++) {
        w.ulid(runIds[i]!, "runIds");
        w.ulid(attemptIds[i]!, "attemptIds");
      }
      return;
    }
    case "runsPromote": {
      // An indexed loop rather than `list`: a promotion pass lists up to 2,048 runs.
      const ids = c.runIds;
      w.uint(ids.length, "length");
      for (let i = 0; i < ids.length; i++) w.ulid(ids[i]!, "runIds");
      return;
    }
    case "dependencyDeclare":
      w.ulid(c.taskId, "taskId");
      return w.list(c.dependsOn, (id) => w.ulid(id, "dependsOn"));
    case "runSuspend":
      w.ulid(c.runId, "runId");
      return w.optional(c.reason, (v) => w.string(v));
    case "runResume":
      return w.ulid(c.runId, "runId");
    case "budgetAllocate":
    case "budgetConsume":
    case "budgetReplenish":
      w.ulid(c.taskId, "taskId");
      w.choice(c.dimension, BUDGET_DIMENSIONS, "dimension");
      return w.uint(c.kind === "budgetAllocate" ? c.limit : c.kind === "budgetConsume" ? c.amount : c.newLimit, "amount");
    case "subscriptionCreate":
      w.ulid(c.subscriptionId, "subscriptionId");
      w.ulid(c.taskId, "taskId");
      return writeFilter(w, c.filter);
    case "subscriptionCancel":
    case "subscriptionTrigger":
      return w.ulid(c.subscriptionId, "subscriptionId");
    case "actorRegister":
      return writeActor(w, c.registration);
    case "actorDeregister":
    case "actorHeartbeat":
      return w.ulid(c.actorId, "actorId");
    case "tenantCreate":
      return writeTenant(w, c.registration);
    case "roleAssign":
      w.ulid(c.actorId, "actorId");
      writeRole(w, c.role);
      return w.ulid(c.tenantId, "tenantId");
    case "capabilityGrant":
    case "capabilityRevoke":
      w.ulid(c.actorId, "actorId");
      writePermission(w, c.capability);
      return w.ulid(c.tenantId, "tenantId");
    case "ledgerAppend":
      return writeLedgerEntry(w, c.entry);
  }
}

const sharedReader = new BinaryReader(new Uint8Array(0));

/**
 * Decodes an event payload into the command it records, with `sequence` from
 * the frame. Throws `DECODE_FAILED` (field and byte offset in the message) for
 * an unknown tag, malformed field, failed core validation or trailing bytes.
 */
export function decodeEvent(payload: Uint8Array, sequence: number, start = 0, end = payload.length): MutationCommand {
  // Decoding never re-enters itself, so one reader can serve every call.
  const r = sharedReader.reset(payload, start, end);
  const tag = r.uint("tag");
  const kind = EVENT_TAGS[tag];
  if (kind === undefined) throw decodeError(`unknown event tag ${tag} (this build knows 0..${EVENT_TAGS.length - 1})`, { field: "tag", value: tag });
  const timestamp = r.uint("timestamp");
  let command: MutationCommand;
  switch (kind) {
    case "taskCreate":
      command = { kind, sequence, timestamp, taskSpec: readTaskSpec(r) };
      break;
    case "runCreate":
      command = { kind, sequence, timestamp, run: readRun(r) };
      break;
    case "taskSubmit": {
      const taskSpec = readTaskSpec(r);
      const runs = r.list("runs", () => readSubmittedRun(r, taskSpec.id));
      command = { kind, sequence, timestamp, taskSpec, runs };
      break;
    }
    case "runStateTransition":
      command = {
        kind,
        sequence,
        timestamp,
        runId: r.ulid("runId") as RunId,
        previousState: r.choice(RUN_STATES, "previousState"),
        newState: r.choice(RUN_STATES, "newState"),
      };
      break;
    case "attemptStart":
      command = { kind, sequence, timestamp, runId: r.ulid("runId") as RunId, attemptId: r.ulid("attemptId") as AttemptId };
      break;
    case "attemptFinish":
      command = { kind, sequence, timestamp, runId: r.ulid("runId") as RunId, attemptId: r.ulid("attemptId") as AttemptId, outcome: readOutcome(r) };
      break;
    case "runFinish":
      command = {
        kind,
        sequence,
        timestamp,
        runId: r.ulid("runId") as RunId,
        attemptId: r.ulid("attemptId") as AttemptId,
        outcome: readOutcome(r),
        newState: r.choice(RUN_STATES, "newState"),
      };
      break;
    case "leaseAcquire":
    case "leaseHeartbeat":
    case "runDispatch":
      command = {
        kind,
        sequence,
        timestamp,
        runId: r.ulid("runId") as RunId,
        owner: r.string("owner"),
        expiresAt: r.uint("expiresAt"),
        attemptId: r.ulid("attemptId") as AttemptId,
      };
      break;
    case "leaseExpire":
    case "leaseRelease":
      command = { kind, sequence, timestamp, runId: r.ulid("runId") as RunId, owner: r.string("owner"), expiresAt: r.uint("expiresAt") };
      break;
    case "enginePause":
    case "engineResume":
      command = { kind, sequence, timestamp };
      break;
    case "taskCancel":
    case "taskPurge":
      command = { kind, sequence, timestamp, taskId: r.ulid("taskId") as TaskId };
      break;
    case "runsDispatch": {
      const owner = r.string("owner");
      const expiresAt = r.uint("expiresAt");
      const count = r.uint("length");
      // Each entry is 32 bytes: a count beyond what is left is damage, not a reason to allocate.
      if (count === 0 || count * 32 > r.remaining) throw decodeError(`cannot decode runsDispatch: ${count} runs in ${r.remaining} bytes`, { field: "runIds" });
      const runIds = new Array<RunId>(count);
      const attemptIds = new Array<AttemptId>(count);
      for (let i = 0; i < count; i++) {
        runIds[i] = r.ulid("runIds") as RunId;
        attemptIds[i] = r.ulid("attemptIds") as AttemptId;
      }
      command = { kind, sequence, timestamp, owner, expiresAt, runIds, attemptIds };
      break;
    }
    case "runsPromote": {
      const runIds = r.list("runIds", () => r.ulid("runIds") as RunId);
      if (runIds.length === 0) throw decodeError("cannot decode runsPromote: the run list is empty", { field: "runIds" });
      command = { kind, sequence, timestamp, runIds };
      break;
    }
    case "dependencyDeclare":
      command = { kind, sequence, timestamp, taskId: r.ulid("taskId") as TaskId, dependsOn: r.list("dependsOn", () => r.ulid("dependsOn") as TaskId) };
      break;
    case "runSuspend": {
      const runId = r.ulid("runId") as RunId;
      const reason = r.optional("reason", () => r.string("reason"));
      command = reason === undefined ? { kind, sequence, timestamp, runId } : { kind, sequence, timestamp, runId, reason };
      break;
    }
    case "runResume":
      command = { kind, sequence, timestamp, runId: r.ulid("runId") as RunId };
      break;
    case "budgetAllocate":
      command = { kind, sequence, timestamp, taskId: r.ulid("taskId") as TaskId, dimension: r.choice(BUDGET_DIMENSIONS, "dimension"), limit: r.uint("limit") };
      break;
    case "budgetConsume":
      command = { kind, sequence, timestamp, taskId: r.ulid("taskId") as TaskId, dimension: r.choice(BUDGET_DIMENSIONS, "dimension"), amount: r.uint("amount") };
      break;
    case "budgetReplenish":
      command = { kind, sequence, timestamp, taskId: r.ulid("taskId") as TaskId, dimension: r.choice(BUDGET_DIMENSIONS, "dimension"), newLimit: r.uint("newLimit") };
      break;
    case "subscriptionCreate":
      command = {
        kind,
        sequence,
        timestamp,
        subscriptionId: r.ulid("subscriptionId") as SubscriptionId,
        taskId: r.ulid("taskId") as TaskId,
        filter: readFilter(r),
      };
      break;
    case "subscriptionCancel":
    case "subscriptionTrigger":
      command = { kind, sequence, timestamp, subscriptionId: r.ulid("subscriptionId") as SubscriptionId };
      break;
    case "actorRegister":
      command = { kind, sequence, timestamp, registration: readActor(r) };
      break;
    case "actorDeregister":
    case "actorHeartbeat":
      command = { kind, sequence, timestamp, actorId: r.ulid("actorId") as ActorId };
      break;
    case "tenantCreate":
      command = { kind, sequence, timestamp, registration: readTenant(r) };
      break;
    case "roleAssign":
      command = { kind, sequence, timestamp, actorId: r.ulid("actorId") as ActorId, role: readRole(r), tenantId: r.ulid("tenantId") as TenantId };
      break;
    case "capabilityGrant":
    case "capabilityRevoke":
      command = { kind, sequence, timestamp, actorId: r.ulid("actorId") as ActorId, capability: readPermission(r), tenantId: r.ulid("tenantId") as TenantId };
      break;
    case "ledgerAppend":
      command = { kind, sequence, timestamp, entry: readLedgerEntry(r) };
      break;
  }
  r.end(`${kind} event`);
  return command;
}
