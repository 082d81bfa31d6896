/**
 * JSON codecs of the extension types: budgets, event filters, actors,
 * heartbeat policy, tenants, roles, permissions and ledger entries. Rust's
 * decoders skip validation for most of these; ours run the same validators as
 * the factories, reject unknown keys and return ids in canonical form.
 */
import type { ActorRegistration, HeartbeatPolicy } from "../actor/actor.js";
import { validateActorRegistration, validateHeartbeatPolicy } from "../actor/actor.js";
import type { BudgetAllocation, BudgetConsumption, BudgetDimension } from "../budget/budget.js";
import { validateBudgetAllocation, validateBudgetConsumption } from "../budget/budget.js";
import { parseDepartmentId } from "../ids/department-id.js";
import { parseActorId, parseLedgerEntryId, parseTaskId, parseTenantId } from "../ids/ids.js";
import { fail, requireId } from "../internal/checks.js";
import type { JsonRecord } from "../internal/json.js";
import { asNumber, asString, asStringArray, optionalWith, readObject, required } from "../internal/json.js";
import type { LedgerEntry, Permission, Role, TenantRegistration } from "../platform/platform.js";
import { PERMISSION_KINDS, ROLE_KINDS, validateLedgerEntry, validatePermission, validateRole, validateTenantRegistration } from "../platform/platform.js";
import type { RunState } from "../run/run-state.js";
import type { EventFilter } from "../subscription/event-filter.js";
import { EVENT_FILTER_KINDS, copyEventFilter, validateEventFilter } from "../subscription/event-filter.js";
import { bytesFromBase64, bytesToBase64 } from "./base64.js";

/** JSON form of a budget allocation (same shape). */
export type BudgetAllocationJson = BudgetAllocation;
/** JSON form of a budget consumption (same shape). */
export type BudgetConsumptionJson = BudgetConsumption;
/** JSON form of an event filter (same tagged shape; ids as strings). */
export type EventFilterJson = EventFilter;
/** JSON form of a heartbeat policy (same shape). */
export type HeartbeatPolicyJson = HeartbeatPolicy;
/** JSON form of a role (same tagged shape). */
export type RoleJson = Role;
/** JSON form of a permission (same tagged shape). */
export type PermissionJson = Permission;
/** JSON form of a tenant registration (same shape). */
export type TenantRegistrationJson = TenantRegistration;
/** JSON form of an actor registration. */
export interface ActorRegistrationJson {
  readonly actorId: string;
  readonly identity: string;
  readonly capabilities: readonly string[];
  readonly department?: string;
  readonly heartbeatIntervalMs: number;
  readonly tenantId?: string;
}
/** JSON form of a ledger entry: payload as standard base64. */
export interface LedgerEntryJson {
  readonly entryId: string;
  readonly tenantId: string;
  readonly ledgerKey: string;
  readonly actorId?: string;
  readonly payload: string;
  readonly timestamp: number;
}

function dimensionOf(o: JsonRecord, path: string): BudgetDimension {
  return asString(required(o, "dimension", path), `${path}.dimension`) as BudgetDimension;
}

/** Encodes a budget allocation. */
export function budgetAllocationToJson(a: BudgetAllocation): BudgetAllocationJson {
  return { dimension: a.dimension, limit: a.limit };
}
/** Decodes a budget allocation; a limit of 0 fails with `ZERO_LIMIT` ("budget limit must be greater than zero"). */
export function budgetAllocationFromJson(json: unknown, path = "allocation"): BudgetAllocation {
  const o = readObject(json, path, ["dimension", "limit"]);
  const a: BudgetAllocation = { dimension: dimensionOf(o, path), limit: asNumber(required(o, "limit", path), `${path}.limit`) };
  validateBudgetAllocation(a);
  return a;
}

/** Encodes a budget consumption. */
export function budgetConsumptionToJson(c: BudgetConsumption): BudgetConsumptionJson {
  return { dimension: c.dimension, amount: c.amount };
}
/** Decodes a budget consumption (amount a safe integer ≥ 0). */
export function budgetConsumptionFromJson(json: unknown, path = "consumption"): BudgetConsumption {
  const o = readObject(json, path, ["dimension", "amount"]);
  const c: BudgetConsumption = { dimension: dimensionOf(o, path), amount: asNumber(required(o, "amount", path), `${path}.amount`) };
  validateBudgetConsumption(c);
  return c;
}

/** Encodes an event filter. */
export function eventFilterToJson(filter: EventFilter): EventFilterJson {
  return copyEventFilter(filter);
}

/** Decodes and validates an event filter (`INVALID_THRESHOLD_PCT`, `EMPTY_CUSTOM_EVENT_KEY`, ...). */
export function eventFilterFromJson(json: unknown, path = "filter"): EventFilter {
  const kind = readObject(json, path, ["kind", "taskId", "state", "dimension", "thresholdPct", "key"]).kind;
  const taskIdOf = (o: JsonRecord) => requireId(parseTaskId, `${path}.taskId`, required(o, "taskId", path));
  let filter: EventFilter;
  if (kind === "taskCompleted") {
    const o = readObject(json, path, ["kind", "taskId"]);
    filter = { kind, taskId: taskIdOf(o) };
  } else if (kind === "runStateChanged") {
    const o = readObject(json, path, ["kind", "taskId", "state"]);
    filter = { kind, taskId: taskIdOf(o), state: asString(required(o, "state", path), `${path}.state`) as RunState };
  } else if (kind === "budgetThreshold") {
    const o = readObject(json, path, ["kind", "taskId", "dimension", "thresholdPct"]);
    filter = {
      kind,
      taskId: taskIdOf(o),
      dimension: dimensionOf(o, path),
      thresholdPct: asNumber(required(o, "thresholdPct", path), `${path}.thresholdPct`),
    };
  } else if (kind === "custom") {
    const o = readObject(json, path, ["kind", "key"]);
    filter = { kind, key: asString(required(o, "key", path), `${path}.key`) };
  } else {
    fail("INVALID_EVENT_FILTER", `${path}.kind`, kind, `one of ${EVENT_FILTER_KINDS.join(", ")}`);
  }
  validateEventFilter(filter);
  return filter;
}

/** Encodes an actor registration. */
export function actorRegistrationToJson(r: ActorRegistration): ActorRegistrationJson {
  return {
    actorId: r.actorId,
    identity: r.identity,
    capabilities: [...r.capabilities],
    ...(r.department === undefined ? {} : { department: r.department }),
    heartbeatIntervalMs: r.heartbeatIntervalMs,
    ...(r.tenantId === undefined ? {} : { tenantId: r.tenantId }),
  };
}

/** Decodes and validates an actor registration (identity, capabilities, department, interval). */
export function actorRegistrationFromJson(json: unknown, path = "registration"): ActorRegistration {
  const o = readObject(json, path, ["actorId", "identity", "capabilities", "department", "heartbeatIntervalMs", "tenantId"]);
  const department = optionalWith(o, "department", (v) => parseDepartmentId(v));
  const tenantId = optionalWith(o, "tenantId", (v) => requireId(parseTenantId, `${path}.tenantId`, v));
  const r: ActorRegistration = {
    actorId: requireId(parseActorId, `${path}.actorId`, required(o, "actorId", path)),
    identity: asString(required(o, "identity", path), `${path}.identity`),
    capabilities: asStringArray(required(o, "capabilities", path), `${path}.capabilities`),
    ...(department === undefined ? {} : { department }),
    heartbeatIntervalMs: asNumber(required(o, "heartbeatIntervalMs", path), `${path}.heartbeatIntervalMs`),
    ...(tenantId === undefined ? {} : { tenantId }),
  };
  validateActorRegistration(r);
  return r;
}

/** Encodes a heartbeat policy. */
export function heartbeatPolicyToJson(p: HeartbeatPolicy): HeartbeatPolicyJson {
  return { intervalMs: p.intervalMs, timeoutMultiplier: p.timeoutMultiplier };
}
/** Decodes and validates a heartbeat policy (`ZERO_HEARTBEAT_INTERVAL`, `ZERO_TIMEOUT_MULTIPLIER`). */
export function heartbeatPolicyFromJson(json: unknown, path = "heartbeat"): HeartbeatPolicy {
  const o = readObject(json, path, ["intervalMs", "timeoutMultiplier"]);
  const p: HeartbeatPolicy = {
    intervalMs: asNumber(required(o, "intervalMs", path), `${path}.intervalMs`),
    timeoutMultiplier: asNumber(required(o, "timeoutMultiplier", path), `${path}.timeoutMultiplier`),
  };
  validateHeartbeatPolicy(p);
  return p;
}

/** Encodes a tenant registration. */
export function tenantRegistrationToJson(t: TenantRegistration): TenantRegistrationJson {
  return { tenantId: t.tenantId, name: t.name };
}
/** Decodes and validates a tenant registration (`EMPTY_TENANT_NAME`). */
export function tenantRegistrationFromJson(json: unknown, path = "tenant"): TenantRegistration {
  const o = readObject(json, path, ["tenantId", "name"]);
  const t: TenantRegistration = {
    tenantId: requireId(parseTenantId, `${path}.tenantId`, required(o, "tenantId", path)),
    name: asString(required(o, "name", path), `${path}.name`),
  };
  validateTenantRegistration(t);
  return t;
}

function taggedFromJson(json: unknown, path: string, kinds: readonly string[]): { kind: string; name?: string } {
  const kind = readObject(json, path, ["kind", "name"]).kind;
  if (kind === "custom") {
    const o = readObject(json, path, ["kind", "name"]);
    return { kind, name: asString(required(o, "name", path), `${path}.name`) };
  }
  if (typeof kind !== "string" || !kinds.includes(kind)) fail("INVALID_FIELD", `${path}.kind`, kind, `one of ${kinds.join(", ")}`);
  readObject(json, path, ["kind"]);
  return { kind };
}

/** Encodes a role. */
export function roleToJson(role: Role): RoleJson {
  return role.kind === "custom" ? { kind: "custom", name: role.name } : { kind: role.kind };
}
/** Decodes and validates a role (`EMPTY_CUSTOM_ROLE` for `{kind: "custom", name: ""}`). */
export function roleFromJson(json: unknown, path = "role"): Role {
  const role = taggedFromJson(json, path, ROLE_KINDS) as Role;
  validateRole(role, path);
  return role;
}

/** Encodes a permission. */
export function permissionToJson(permission: Permission): PermissionJson {
  return permission.kind === "custom" ? { kind: "custom", name: permission.name } : { kind: permission.kind };
}
/** Decodes and validates a permission (`EMPTY_CUSTOM_CAPABILITY` for an empty custom name). */
export function permissionFromJson(json: unknown, path = "permission"): Permission {
  const permission = taggedFromJson(json, path, PERMISSION_KINDS) as Permission;
  validatePermission(permission, path);
  return permission;
}

/** Encodes a ledger entry. */
export function ledgerEntryToJson(e: LedgerEntry): LedgerEntryJson {
  return {
    entryId: e.entryId,
    tenantId: e.tenantId,
    ledgerKey: e.ledgerKey,
    ...(e.actorId === undefined ? {} : { actorId: e.actorId }),
    payload: bytesToBase64(e.payload),
    timestamp: e.timestamp,
  };
}
/** Decodes and validates a ledger entry (`EMPTY_LEDGER_KEY`, `INVALID_TIMESTAMP`, ...). */
export function ledgerEntryFromJson(json: unknown, path = "entry"): LedgerEntry {
  const o = readObject(json, path, ["entryId", "tenantId", "ledgerKey", "actorId", "payload", "timestamp"]);
  const actorId = optionalWith(o, "actorId", (v) => requireId(parseActorId, `${path}.actorId`, v));
  const e: LedgerEntry = {
    entryId: requireId(parseLedgerEntryId, `${path}.entryId`, required(o, "entryId", path)),
    tenantId: requireId(parseTenantId, `${path}.tenantId`, required(o, "tenantId", path)),
    ledgerKey: asString(required(o, "ledgerKey", path), `${path}.ledgerKey`),
    ...(actorId === undefined ? {} : { actorId }),
    payload: bytesFromBase64(required(o, "payload", path), `${path}.payload`),
    timestamp: asNumber(required(o, "timestamp", path), `${path}.timestamp`),
  };
  validateLedgerEntry(e);
  return e;
}
