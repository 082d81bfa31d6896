/**
 * Remote actors: registration, declared capabilities and the heartbeat policy.
 * Rust panics or returns plain strings for bad input here; we throw typed
 * errors from validating factories, and the JSON decoder runs the same checks.
 */
import type { DepartmentId } from "../ids/department-id.js";
import { parseDepartmentId } from "../ids/department-id.js";
import type { ActorId, TenantId } from "../ids/ids.js";
import { parseActorId, parseTenantId } from "../ids/ids.js";
import { fail, isIntInRange, requireCanonicalId, requireNonEmpty, U32 } from "../internal/checks.js";

/** A registered remote actor. `identity` is also its lease owner string. */
export interface ActorRegistration {
  readonly actorId: ActorId;
  readonly identity: string;
  /** Non-empty list of non-empty capability strings. */
  readonly capabilities: readonly string[];
  readonly department?: DepartmentId;
  /** Expected heartbeat interval in milliseconds, ≥ 1. */
  readonly heartbeatIntervalMs: number;
  readonly tenantId?: TenantId;
}

/** When an actor counts as dead: `intervalMs × timeoutMultiplier` without a heartbeat. */
export interface HeartbeatPolicy {
  readonly intervalMs: number;
  readonly timeoutMultiplier: number;
}

/** Capability strings an actor declares: a non-empty list of non-empty strings. */
export type ActorCapabilities = readonly string[];

/** Default heartbeat timeout multiplier. */
export const DEFAULT_HEARTBEAT_MULTIPLIER = 3;
/** Default heartbeat interval: 30 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** The default policy: a heartbeat every 30 s, dead after 3 missed (90 s). */
export const DEFAULT_HEARTBEAT_POLICY: HeartbeatPolicy = Object.freeze({
  intervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  timeoutMultiplier: DEFAULT_HEARTBEAT_MULTIPLIER,
});

/**
 * Checks declared capabilities: `EMPTY_ACTOR_CAPABILITIES` for an empty list
 * (or a non-array), `EMPTY_ACTOR_CAPABILITY_ENTRY` naming the index of an empty entry.
 */
export function validateActorCapabilities(capabilities: readonly string[], field = "capabilities"): void {
  if (!Array.isArray(capabilities) || capabilities.length === 0) {
    fail("EMPTY_ACTOR_CAPABILITIES", field, capabilities, "a non-empty list of capability strings");
  }
  capabilities.forEach((entry, i) => requireNonEmpty("EMPTY_ACTOR_CAPABILITY_ENTRY", `${field}[${i}]`, entry));
}

/** A validated, frozen copy of an actor's capability list. */
export function actorCapabilities(capabilities: readonly string[]): ActorCapabilities {
  validateActorCapabilities(capabilities);
  return Object.freeze([...capabilities]);
}

/** True when `held` contains every entry of `required` (duplicates irrelevant; `[]` is always satisfied). */
export function satisfiesCapabilities(held: readonly string[], required: readonly string[]): boolean {
  const set = new Set(held);
  return required.every((c) => set.has(c));
}

function validateHeartbeatInterval(field: string, value: unknown): void {
  if (value === 0) fail("ZERO_HEARTBEAT_INTERVAL", field, value, "a heartbeat interval of at least 1 ms");
  if (!isIntInRange(value, 1, Number.MAX_SAFE_INTEGER)) fail("INVALID_DURATION", field, value, "whole milliseconds ≥ 1");
}

/**
 * Checks a registration, in order: actor id, identity (`EMPTY_IDENTITY`),
 * capabilities, department (`EMPTY_DEPARTMENT_ID`/`DEPARTMENT_ID_TOO_LONG`),
 * heartbeat interval (`ZERO_HEARTBEAT_INTERVAL`), tenant id.
 */
export function validateActorRegistration(registration: ActorRegistration): void {
  requireCanonicalId(parseActorId, "registration.actorId", registration.actorId);
  requireNonEmpty("EMPTY_IDENTITY", "registration.identity", registration.identity);
  validateActorCapabilities(registration.capabilities, "registration.capabilities");
  if (registration.department !== undefined) parseDepartmentId(registration.department);
  validateHeartbeatInterval("registration.heartbeatIntervalMs", registration.heartbeatIntervalMs);
  if (registration.tenantId !== undefined) requireCanonicalId(parseTenantId, "registration.tenantId", registration.tenantId);
}

/** Input of {@link actorRegistration}: the department may be a plain string; it is validated. */
export interface ActorRegistrationInput {
  readonly actorId: ActorId;
  readonly identity: string;
  readonly capabilities: readonly string[];
  readonly department?: string;
  readonly heartbeatIntervalMs: number;
  readonly tenantId?: TenantId;
}

/** Builds a validated registration; throws as {@link validateActorRegistration}. */
export function actorRegistration(input: ActorRegistrationInput): ActorRegistration {
  const registration: ActorRegistration = {
    actorId: input.actorId,
    identity: input.identity,
    capabilities: Array.isArray(input.capabilities) ? Object.freeze<string[]>([...(input.capabilities as readonly string[])]) : input.capabilities,
    ...(input.department === undefined ? {} : { department: parseDepartmentId(input.department) }),
    heartbeatIntervalMs: input.heartbeatIntervalMs,
    ...(input.tenantId === undefined ? {} : { tenantId: input.tenantId }),
  };
  validateActorRegistration(registration);
  return registration;
}

/** Checks a policy: `ZERO_HEARTBEAT_INTERVAL`, then `ZERO_TIMEOUT_MULTIPLIER` (multiplier 1..u32 max). */
export function validateHeartbeatPolicy(policy: HeartbeatPolicy): void {
  validateHeartbeatInterval("heartbeat.intervalMs", policy.intervalMs);
  if (policy.timeoutMultiplier === 0) fail("ZERO_TIMEOUT_MULTIPLIER", "heartbeat.timeoutMultiplier", 0, "a multiplier of at least 1");
  if (!isIntInRange(policy.timeoutMultiplier, 1, U32)) {
    fail("INVALID_FIELD", "heartbeat.timeoutMultiplier", policy.timeoutMultiplier, `an integer from 1 to ${U32}`);
  }
}

/** A validated heartbeat policy; the multiplier defaults to {@link DEFAULT_HEARTBEAT_MULTIPLIER}. */
export function heartbeatPolicy(intervalMs: number, timeoutMultiplier: number = DEFAULT_HEARTBEAT_MULTIPLIER): HeartbeatPolicy {
  const policy: HeartbeatPolicy = { intervalMs, timeoutMultiplier };
  validateHeartbeatPolicy(policy);
  return policy;
}

/** Silence after which an actor is dead: `intervalMs × timeoutMultiplier`, saturating at `Number.MAX_SAFE_INTEGER`. */
export function heartbeatTimeoutMs(policy: HeartbeatPolicy): number {
  const product = policy.intervalMs * policy.timeoutMultiplier;
  return product > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : product;
}
