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
import type { ActorId, AttemptId, SubscriptionId, TaskId, TenantId } from "@actionqueue/core";
import { BinaryReader, BinaryWriter } from "../codec/binary.js";
import {
  readActor,
  readFilter,
  readLedgerEntry,
  readOutcome,
  readRun,
  writeRun,
  readPermission,
  readRole,
  readTaskSpec,
  readTenant,
  writeActor,
  writeFilter,
  writeLedgerEntry,
  writeOutcome,
  writePermission,
  writeRole,
  writeTaskSpec,
  writeTenant,
} from "../codec/domain-codec.js";
import { Projection, projectionState } from "../projection/projection.js";
import type { AttemptRecord, LeaseRecord } from "../projection/records.js";
import { RunRecord, TaskEntry, stateCode } from "../projection/records.js";
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
  for (const id of runIds) writeRunRecord(w, s.runs.get(id)!);
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
      s.addTask(spec.id, new TaskEntry(spec, created, canceledAt, undefined));
    }
    const runCount = r.uint("runs");
    for (let i = 0; i < runCount; i++) {
      const record = readRunRecord(r);
      if (s.runs.has(record.id)) throw corrupt(`snapshot lists run ${record.id} twice`, { runId: record.id });
      if (!s.tasks.has(record.taskId)) throw corrupt(`snapshot run ${record.id} references unknown task ${record.taskId}`, { runId: record.id });
      s.addRun(record);
      s.addRunOfTask(record.taskId, record.id);
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

function writeRunRecord(w: BinaryWriter, r: RunRecord): void {
  // The run's own fields, encoded as in an event.
  writeRun(w, r);
  // History: the implicit first entry (→ scheduled at createdAt), then one
  // per packed change; the file keeps `from` explicit, as schema 1 defines.
  const h = r.history;
  w.uint(1 + h.length / 2, "history");
  w.bool(false);
  w.u8(SCHEDULED_CODE);
  w.uint(r.createdAt, "history.at");
  let from = SCHEDULED_CODE;
  for (let i = 0; i < h.length; i += 2) {
    w.bool(true);
    w.u8(from);
    w.u8(h[i]!);
    w.uint(r.createdAt + h[i + 1]!, "history.at");
    from = h[i]!;
  }
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

const SCHEDULED_CODE = stateCode("scheduled");
const STATE_COUNT = RUN_STATES.length;
// VALID_STEP[from * STATE_COUNT + to] is 1 for a legal transition.
const VALID_STEP = new Uint8Array(STATE_COUNT * STATE_COUNT);
for (let from = 0; from < STATE_COUNT; from++) {
  for (let to = 0; to < STATE_COUNT; to++) if (isValidTransition(RUN_STATES[from]!, RUN_STATES[to]!)) VALID_STEP[from * STATE_COUNT + to] = 1;
}

/**
 * Reads one run with its history, attempts and lease, checking every
 * invariant `RunInstance.restore` and replay would (ids not nil, an active
 * attempt only while running, counts and priority in range, a history that
 * starts at → scheduled on createdAt, follows the transition table and ends
 * at the run's state, one attempt per count). Written out field by field:
 * this runs once per run on every start-up from a snapshot.
 */
function readRunRecord(r: BinaryReader): RunRecord {
  // The run's own fields, with their invariants, decode as in an event.
  const run = readRun(r);
  const { id, createdAt, state, currentAttemptId, attemptCount } = run;

  const entries = r.uint("history");
  if (entries === 0 || entries > r.remaining) throw corrupt(`snapshot run ${id}: history does not start with → scheduled`, { runId: id });
  if (r.bool("history.from") || r.u8("history.to") !== SCHEDULED_CODE || r.uint("history.at") !== createdAt) {
    throw corrupt(`snapshot run ${id}: history does not start with → scheduled at createdAt`, { runId: id });
  }
  const history = new Array<number>((entries - 1) * 2);
  let current = SCHEDULED_CODE;
  for (let i = 1; i < entries; i++) {
    const from = r.bool("history.from") ? r.u8("history.from") : -1;
    const to = r.u8("history.to");
    const at = r.uint("history.at");
    if (from !== current || to >= STATE_COUNT || VALID_STEP[from * STATE_COUNT + to] !== 1) {
      throw corrupt(`snapshot run ${id}: history step ${String(RUN_STATES[from] ?? from)} → ${String(RUN_STATES[to] ?? to)} is invalid`, { runId: id });
    }
    history[(i - 1) * 2] = to;
    history[(i - 1) * 2 + 1] = at - createdAt;
    current = to;
  }
  if (RUN_STATES[current] !== state) throw corrupt(`snapshot run ${id}: history ends at ${RUN_STATES[current]!}, the run is ${state}`, { runId: id });

  const attemptTotal = r.uint("attempts");
  if (attemptTotal !== attemptCount) throw corrupt(`snapshot run ${id}: ${attemptTotal} attempts recorded, attemptCount is ${attemptCount}`, { runId: id });
  const attempts = new Array<AttemptRecord>(attemptTotal);
  for (let i = 0; i < attemptTotal; i++) {
    const attemptId = r.ulid("attempt.attemptId") as AttemptId;
    const startedAt = r.uint("attempt.startedAt");
    const finishedAt = r.bool("attempt.finishedAt") ? r.uint("attempt.finishedAt") : undefined;
    const outcome = r.bool("attempt.outcome") ? readOutcome(r) : undefined;
    if (finishedAt === undefined) attempts[i] = outcome === undefined ? { attemptId, startedAt } : { attemptId, startedAt, outcome };
    else attempts[i] = outcome === undefined ? { attemptId, startedAt, finishedAt } : { attemptId, startedAt, finishedAt, outcome };
  }
  // Snapshots written before a cancellation closed the running attempt left it
  // open on a canceled run: it ended when the run did.
  const lastAttempt = attempts[attemptTotal - 1];
  if (state === "canceled" && lastAttempt !== undefined && lastAttempt.finishedAt === undefined) {
    attempts[attemptTotal - 1] = { attemptId: lastAttempt.attemptId, startedAt: lastAttempt.startedAt, finishedAt: run.lastStateChangeAt };
  }
  if (currentAttemptId !== undefined) {
    const last = attempts[attemptTotal - 1];
    if (last?.attemptId !== currentAttemptId || last.finishedAt !== undefined) {
      throw corrupt(`snapshot run ${id}: active attempt ${currentAttemptId} is not the last, unfinished attempt`, { runId: id });
    }
  }
  const lease: LeaseRecord | undefined = r.bool("lease")
    ? {
        owner: r.string("lease.owner"),
        expiresAt: r.uint("lease.expiresAt"),
        attemptId: r.ulid("lease.attemptId") as AttemptId,
        acquiredAt: r.uint("lease.acquiredAt"),
        updatedAt: r.uint("lease.updatedAt"),
      }
    : undefined;
  return RunRecord.of(run, history, attempts, lease);
}
