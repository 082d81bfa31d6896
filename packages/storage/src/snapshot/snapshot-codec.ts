/**
 * Snapshot encoding: the whole projection in one checksummed binary file, in
 * a deterministic order (every section sorted by key), so equal states give
 * equal bytes. Nothing is dropped: run priority, attempt outputs, lease
 * acquisition and heartbeat times, declaration and heartbeat times all survive
 * a round trip (the Rust snapshot lost several of these).
 *
 * Header (32 bytes, LE): magic "AQTSSNAP", schema version u32, reserved u32,
 * WAL sequence u64, payload length u32, CRC-32 over bytes 0..28 and payload.
 */
import { crc32 } from "node:zlib";
import { BUDGET_DIMENSIONS, RUN_STATES, StorageError, isValidTransition } from "@actionqueue/core";
import type { ActorId, AttemptId, RunId, RunState, SubscriptionId, TaskId, TenantId } from "@actionqueue/core";
import { BinaryReader, BinaryWriter } from "../codec/binary.js";
import {
  readActor,
  readFilter,
  readLedgerEntry,
  readOutcome,
  readPermission,
  readRole,
  readRun,
  readTaskSpec,
  readTenant,
  writeActor,
  writeFilter,
  writeLedgerEntry,
  writeOutcome,
  writePermission,
  writeRole,
  writeRun,
  writeTaskSpec,
  writeTenant,
} from "../codec/domain-codec.js";
import { Projection, projectionState } from "../projection/projection.js";
import type { AttemptRecord, RunRecord, StateChange } from "../projection/records.js";
import { budgetKey, grantKey, roleKey } from "../projection/records.js";

/** Bytes of the snapshot header. */
export const SNAPSHOT_HEADER_BYTES = 32;
/** Magic at the start of every snapshot file. */
export const SNAPSHOT_MAGIC = Buffer.from("AQTSSNAP", "latin1");
/** Schema version this build writes and reads. */
export const SNAPSHOT_SCHEMA_VERSION = 1;

const TWO_POW_32 = 0x1_0000_0000;

function sortedKeys<TKey extends string>(map: Map<TKey, unknown>): TKey[] {
  return [...map.keys()].sort();
}

/** Encodes a projection (deterministically) into snapshot file bytes. */
export function encodeSnapshot(projection: Projection, createdAt: number): Buffer {
  const s = projectionState(projection);
  const w = new BinaryWriter(1 << 16);
  w.uint(createdAt, "createdAt");
  const taskIds = sortedKeys(s.tasks);
  w.uint(taskIds.length, "tasks");
  for (const id of taskIds) {
    const t = s.tasks.get(id)!;
    writeTaskSpec(w, t.spec);
    w.uint(t.createdAt, "task.createdAt");
    w.optional(t.canceledAt, (v) => w.uint(v, "task.canceledAt"));
  }
  const runIds = sortedKeys(s.runs);
  w.uint(runIds.length, "runs");
  for (const id of runIds) {
    const r = s.runs.get(id)!;
    writeRun(w, r.run);
    w.list(r.history, (h) => {
      w.optional(h.from ?? undefined, (v) => w.choice(v, RUN_STATES, "history.from"));
      w.choice(h.to, RUN_STATES, "history.to");
      w.uint(h.at, "history.at");
    });
    w.list(r.attempts, (a) => {
      w.ulid(a.attemptId, "attempt.attemptId");
      w.uint(a.startedAt, "attempt.startedAt");
      w.optional(a.finishedAt, (v) => w.uint(v, "attempt.finishedAt"));
      w.optional(a.outcome, (o) => writeOutcome(w, o));
    });
    w.optional(r.lease, (l) => {
      w.string(l.owner);
      w.uint(l.expiresAt, "lease.expiresAt");
      w.ulid(l.attemptId, "lease.attemptId");
      w.uint(l.acquiredAt, "lease.acquiredAt");
      w.uint(l.updatedAt, "lease.updatedAt");
    });
  }
  w.bool(s.engine.paused);
  w.optional(s.engine.pausedAt, (v) => w.uint(v, "engine.pausedAt"));
  w.optional(s.engine.resumedAt, (v) => w.uint(v, "engine.resumedAt"));
  const depTasks = sortedKeys(s.dependencies);
  w.list(depTasks, (id) => {
    w.ulid(id, "dependency.taskId");
    w.list([...s.dependencies.get(id)!].sort(), (d) => w.ulid(d, "dependency.dependsOn"));
  });
  w.list(sortedKeys(s.budgets), (key) => {
    const b = s.budgets.get(key)!;
    w.ulid(b.taskId, "budget.taskId");
    w.choice(b.dimension, BUDGET_DIMENSIONS, "budget.dimension");
    w.uint(b.limit, "budget.limit");
    w.uint(b.consumed, "budget.consumed");
    w.uint(b.allocatedAt, "budget.allocatedAt");
    w.bool(b.exhausted);
  });
  w.list(sortedKeys(s.subscriptions), (key) => {
    const sub = s.subscriptions.get(key)!;
    w.ulid(sub.subscriptionId, "subscription.id");
    w.ulid(sub.taskId, "subscription.taskId");
    writeFilter(w, sub.filter);
    w.uint(sub.createdAt, "subscription.createdAt");
    w.optional(sub.triggeredAt, (v) => w.uint(v, "subscription.triggeredAt"));
    w.optional(sub.canceledAt, (v) => w.uint(v, "subscription.canceledAt"));
  });
  w.list(sortedKeys(s.actors), (key) => {
    const a = s.actors.get(key)!;
    writeActor(w, a.registration);
    w.uint(a.registeredAt, "actor.registeredAt");
    w.optional(a.lastHeartbeatAt, (v) => w.uint(v, "actor.lastHeartbeatAt"));
    w.optional(a.deregisteredAt, (v) => w.uint(v, "actor.deregisteredAt"));
  });
  w.list(sortedKeys(s.tenants), (key) => {
    const t = s.tenants.get(key)!;
    writeTenant(w, t.registration);
    w.uint(t.createdAt, "tenant.createdAt");
  });
  w.list(sortedKeys(s.roles), (key) => {
    const r = s.roles.get(key)!;
    w.ulid(r.actorId, "role.actorId");
    w.ulid(r.tenantId, "role.tenantId");
    writeRole(w, r.role);
    w.uint(r.assignedAt, "role.assignedAt");
  });
  w.list(sortedKeys(s.grants), (key) => {
    const g = s.grants.get(key)!;
    w.ulid(g.actorId, "grant.actorId");
    w.ulid(g.tenantId, "grant.tenantId");
    writePermission(w, g.capability);
    w.uint(g.grantedAt, "grant.grantedAt");
    w.optional(g.revokedAt, (v) => w.uint(v, "grant.revokedAt"));
  });
  w.list(s.ledger, (e) => writeLedgerEntry(w, e));

  const payload = w.view();
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SNAPSHOT_SCHEMA_VERSION, 8);
  header.writeUInt32LE(s.latestSequence % TWO_POW_32, 16);
  header.writeUInt32LE(Math.floor(s.latestSequence / TWO_POW_32), 20);
  header.writeUInt32LE(payload.length, 24);
  header.writeUInt32LE(crc32(payload, crc32(header.subarray(0, 28))), 28);
  return Buffer.concat([header, payload]);
}

function corrupt(message: string, details: Record<string, unknown> = {}, cause?: unknown): StorageError {
  return new StorageError("SNAPSHOT_CORRUPT", message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** Reads just the header: the WAL sequence a snapshot covers. Throws `SNAPSHOT_CORRUPT`. */
export function readSnapshotHeader(bytes: Buffer): { sequence: number; payloadLength: number } {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw corrupt(`snapshot is ${bytes.length} bytes, shorter than its ${SNAPSHOT_HEADER_BYTES}-byte header`);
  if (!bytes.subarray(0, 8).equals(SNAPSHOT_MAGIC)) throw corrupt("snapshot does not start with the magic \"AQTSSNAP\"");
  const version = bytes.readUInt32LE(8);
  if (version !== SNAPSHOT_SCHEMA_VERSION) throw corrupt(`snapshot schema version ${version} is not supported (this build reads ${SNAPSHOT_SCHEMA_VERSION})`, { version });
  const payloadLength = bytes.readUInt32LE(24);
  if (SNAPSHOT_HEADER_BYTES + payloadLength !== bytes.length) {
    throw corrupt(`snapshot payload should be ${payloadLength} bytes, the file holds ${bytes.length - SNAPSHOT_HEADER_BYTES}`);
  }
  const expected = bytes.readUInt32LE(28);
  const actual = crc32(bytes.subarray(SNAPSHOT_HEADER_BYTES), crc32(bytes.subarray(0, 28)));
  if (expected !== actual) throw corrupt(`snapshot checksum mismatch (stored 0x${expected.toString(16)}, computed 0x${actual.toString(16)})`);
  return { sequence: bytes.readUInt32LE(16) + bytes.readUInt32LE(20) * TWO_POW_32, payloadLength };
}

/** Decodes snapshot bytes into a projection; throws `SNAPSHOT_CORRUPT` naming what is wrong. */
export function decodeSnapshot(bytes: Buffer): { projection: Projection; sequence: number; createdAt: number } {
  const { sequence } = readSnapshotHeader(bytes);
  const projection = new Projection();
  const s = projectionState(projection);
  try {
    const r = new BinaryReader(bytes, SNAPSHOT_HEADER_BYTES);
    const createdAt = r.uint("createdAt");
    const taskCount = r.uint("tasks");
    for (let i = 0; i < taskCount; i++) {
      const spec = readTaskSpec(r);
      const created = r.uint("task.createdAt");
      const canceledAt = r.optional("task.canceledAt", () => r.uint("task.canceledAt"));
      if (s.tasks.has(spec.id)) throw corrupt(`snapshot lists task ${spec.id} twice`);
      s.tasks.set(spec.id, canceledAt === undefined ? { spec, createdAt: created } : { spec, createdAt: created, canceledAt });
    }
    const runCount = r.uint("runs");
    for (let i = 0; i < runCount; i++) {
      const run = readRun(r);
      const history = r.list("history", (): StateChange => {
        const from = r.optional("history.from", () => r.choice(RUN_STATES, "history.from")) ?? null;
        return { from, to: r.choice(RUN_STATES, "history.to"), at: r.uint("history.at") };
      });
      const attempts = r.list("attempts", (): AttemptRecord => {
        const attemptId = r.ulid("attempt.attemptId") as AttemptId;
        const startedAt = r.uint("attempt.startedAt");
        const finishedAt = r.optional("attempt.finishedAt", () => r.uint("attempt.finishedAt"));
        const outcome = r.optional("attempt.outcome", () => readOutcome(r));
        if (finishedAt === undefined) return outcome === undefined ? { attemptId, startedAt } : { attemptId, startedAt, outcome };
        return outcome === undefined ? { attemptId, startedAt, finishedAt } : { attemptId, startedAt, finishedAt, outcome };
      });
      const lease = r.optional("lease", () => ({
        owner: r.string("lease.owner"),
        expiresAt: r.uint("lease.expiresAt"),
        attemptId: r.ulid("lease.attemptId") as AttemptId,
        acquiredAt: r.uint("lease.acquiredAt"),
        updatedAt: r.uint("lease.updatedAt"),
      }));
      // Explicit shapes, no object spread: this loop runs once per run.
      const record: RunRecord = lease === undefined ? { run, history, attempts } : { run, history, attempts, lease };
      checkRun(record, s.tasks.has(run.taskId), s.runs.has(run.id));
      s.runs.set(run.id, record);
      s.runsByState.get(run.state)!.add(run.id);
      const list = s.runsByTask.get(run.taskId);
      if (list === undefined) s.runsByTask.set(run.taskId, [run.id]);
      else list.push(run.id);
    }
    const paused = r.bool("engine.paused");
    const pausedAt = r.optional("engine.pausedAt", () => r.uint("engine.pausedAt"));
    const resumedAt = r.optional("engine.resumedAt", () => r.uint("engine.resumedAt"));
    s.engine = { paused, ...(pausedAt === undefined ? {} : { pausedAt }), ...(resumedAt === undefined ? {} : { resumedAt }) };
    r.list("dependencies", () => {
      const taskId = r.ulid("dependency.taskId") as TaskId;
      s.dependencies.set(taskId, new Set(r.list("dependency.dependsOn", () => r.ulid("dependency.dependsOn") as TaskId)));
    });
    r.list("budgets", () => {
      const taskId = r.ulid("budget.taskId") as TaskId;
      const dimension = r.choice(BUDGET_DIMENSIONS, "budget.dimension");
      const limit = r.uint("budget.limit");
      const consumed = r.uint("budget.consumed");
      const allocatedAt = r.uint("budget.allocatedAt");
      s.budgets.set(budgetKey(taskId, dimension), { taskId, dimension, limit, consumed, allocatedAt, exhausted: r.bool("budget.exhausted") });
    });
    r.list("subscriptions", () => {
      const subscriptionId = r.ulid("subscription.id") as SubscriptionId;
      const taskId = r.ulid("subscription.taskId") as TaskId;
      const filter = readFilter(r);
      const created = r.uint("subscription.createdAt");
      const triggeredAt = r.optional("subscription.triggeredAt", () => r.uint("subscription.triggeredAt"));
      const canceledAt = r.optional("subscription.canceledAt", () => r.uint("subscription.canceledAt"));
      s.subscriptions.set(subscriptionId, {
        subscriptionId,
        taskId,
        filter,
        createdAt: created,
        ...(triggeredAt === undefined ? {} : { triggeredAt }),
        ...(canceledAt === undefined ? {} : { canceledAt }),
      });
    });
    r.list("actors", () => {
      const registration = readActor(r);
      const registeredAt = r.uint("actor.registeredAt");
      const lastHeartbeatAt = r.optional("actor.lastHeartbeatAt", () => r.uint("actor.lastHeartbeatAt"));
      const deregisteredAt = r.optional("actor.deregisteredAt", () => r.uint("actor.deregisteredAt"));
      s.actors.set(registration.actorId, {
        registration,
        registeredAt,
        ...(lastHeartbeatAt === undefined ? {} : { lastHeartbeatAt }),
        ...(deregisteredAt === undefined ? {} : { deregisteredAt }),
      });
    });
    r.list("tenants", () => {
      const registration = readTenant(r);
      s.tenants.set(registration.tenantId, { registration, createdAt: r.uint("tenant.createdAt") });
    });
    r.list("roles", () => {
      const actorId = r.ulid("role.actorId") as ActorId;
      const tenantId = r.ulid("role.tenantId") as TenantId;
      const role = readRole(r);
      s.roles.set(roleKey(actorId, tenantId), { actorId, tenantId, role, assignedAt: r.uint("role.assignedAt") });
    });
    r.list("grants", () => {
      const actorId = r.ulid("grant.actorId") as ActorId;
      const tenantId = r.ulid("grant.tenantId") as TenantId;
      const capability = readPermission(r);
      const grantedAt = r.uint("grant.grantedAt");
      const revokedAt = r.optional("grant.revokedAt", () => r.uint("grant.revokedAt"));
      s.grants.set(grantKey(actorId, capability, tenantId), { actorId, tenantId, capability, grantedAt, ...(revokedAt === undefined ? {} : { revokedAt }) });
    });
    s.ledger.push(...r.list("ledger", () => readLedgerEntry(r)));
    r.end("snapshot");
    s.latestSequence = sequence;
    return { projection, sequence, createdAt };
  } catch (error) {
    if (StorageError.hasCode(error, "SNAPSHOT_CORRUPT")) throw error;
    throw corrupt(`snapshot does not decode: ${(error as Error).message}`, {}, error);
  }
}

function checkRun(record: RunRecord, taskKnown: boolean, duplicate: boolean): void {
  const run = record.run;
  const id: RunId = run.id;
  if (duplicate) throw corrupt(`snapshot lists run ${id} twice`, { runId: id });
  if (!taskKnown) throw corrupt(`snapshot run ${id} references unknown task ${run.taskId}`, { runId: id });
  const first = record.history[0];
  if (first === undefined || first.from !== null || first.to !== "scheduled") throw corrupt(`snapshot run ${id}: history does not start with → scheduled`, { runId: id });
  let state: RunState = "scheduled";
  for (let i = 1; i < record.history.length; i++) {
    const change = record.history[i]!;
    if (change.from !== state || !isValidTransition(state, change.to)) throw corrupt(`snapshot run ${id}: history step ${String(change.from)} → ${change.to} is invalid`, { runId: id });
    state = change.to;
  }
  if (state !== run.state) throw corrupt(`snapshot run ${id}: history ends at ${state}, the run is ${run.state}`, { runId: id });
  if (record.attempts.length !== run.attemptCount) throw corrupt(`snapshot run ${id}: ${record.attempts.length} attempts recorded, attemptCount is ${run.attemptCount}`, { runId: id });
  const active = run.currentAttemptId;
  if (active !== undefined) {
    const last = record.attempts.at(-1);
    if (last?.attemptId !== active || last.finishedAt !== undefined) throw corrupt(`snapshot run ${id}: active attempt ${active} is not the last, unfinished attempt`, { runId: id });
  }
}
