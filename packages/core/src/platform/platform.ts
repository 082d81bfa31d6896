/**
 * Platform types: tenants, roles, RBAC permissions and ledger entries, with
 * their validating factories. Rust panics on an empty tenant name or ledger
 * key and lets `Custom("")` through its decoder; here every path throws typed errors.
 */
import type { ActorId, LedgerEntryId, TenantId } from "../ids/ids.js";
import { parseActorId, parseLedgerEntryId, parseTenantId } from "../ids/ids.js";
import { fail, requireBytes, requireCanonicalId, requireNonEmpty, requireTimestamp } from "../internal/checks.js";

/** An actor's role within a tenant. */
export type Role =
  | { readonly kind: "operator" }
  | { readonly kind: "auditor" }
  | { readonly kind: "gatekeeper" }
  | { readonly kind: "custom"; readonly name: string };

/** An RBAC permission (distinct from the capability strings of constraints and actors). */
export type Permission =
  | { readonly kind: "canSubmit" }
  | { readonly kind: "canExecute" }
  | { readonly kind: "canReview" }
  | { readonly kind: "canApprove" }
  | { readonly kind: "canCancel" }
  | { readonly kind: "custom"; readonly name: string };

/** An organisational tenant. */
export interface TenantRegistration {
  readonly tenantId: TenantId;
  /** Non-empty. */
  readonly name: string;
}

/** An append-only ledger entry. */
export interface LedgerEntry {
  readonly entryId: LedgerEntryId;
  readonly tenantId: TenantId;
  /** Names the logical ledger ("audit", "decision", ...); non-empty. */
  readonly ledgerKey: string;
  readonly actorId?: ActorId;
  readonly payload: Uint8Array;
  /** Epoch milliseconds. */
  readonly timestamp: number;
}

/** Every role kind, in order. */
export const ROLE_KINDS: readonly Role["kind"][] = ["operator", "auditor", "gatekeeper", "custom"];
/** Every permission kind, in order. */
export const PERMISSION_KINDS: readonly Permission["kind"][] = ["canSubmit", "canExecute", "canReview", "canApprove", "canCancel", "custom"];

/** Checks a role: a known kind (`INVALID_FIELD`), and a non-empty name for `custom` (`EMPTY_CUSTOM_ROLE`). */
export function validateRole(role: Role, field = "role"): void {
  const r = role as { kind?: unknown; name?: unknown };
  if (!(ROLE_KINDS as readonly unknown[]).includes(r.kind)) fail("INVALID_FIELD", `${field}.kind`, r.kind, `one of ${ROLE_KINDS.join(", ")}`);
  if (r.kind === "custom") requireNonEmpty("EMPTY_CUSTOM_ROLE", `${field}.name`, r.name);
}

/** A custom role; throws `EMPTY_CUSTOM_ROLE` for an empty name. */
export function customRole(name: string): Role {
  const role: Role = { kind: "custom", name };
  validateRole(role);
  return role;
}

/** Checks a permission: a known kind (`INVALID_FIELD`), and a non-empty name for `custom` (`EMPTY_CUSTOM_CAPABILITY`). */
export function validatePermission(permission: Permission, field = "permission"): void {
  const p = permission as { kind?: unknown; name?: unknown };
  if (!(PERMISSION_KINDS as readonly unknown[]).includes(p.kind)) {
    fail("INVALID_FIELD", `${field}.kind`, p.kind, `one of ${PERMISSION_KINDS.join(", ")}`);
  }
  if (p.kind === "custom") requireNonEmpty("EMPTY_CUSTOM_CAPABILITY", `${field}.name`, p.name);
}

/** A custom permission; throws `EMPTY_CUSTOM_CAPABILITY` for an empty name. */
export function customPermission(name: string): Permission {
  const permission: Permission = { kind: "custom", name };
  validatePermission(permission);
  return permission;
}

/** Checks a tenant: canonical tenant id, non-empty name (`EMPTY_TENANT_NAME`). */
export function validateTenantRegistration(tenant: TenantRegistration): void {
  requireCanonicalId(parseTenantId, "tenant.tenantId", tenant.tenantId);
  requireNonEmpty("EMPTY_TENANT_NAME", "tenant.name", tenant.name);
}

/** A validated tenant registration. */
export function tenantRegistration(tenantId: TenantId, name: string): TenantRegistration {
  const tenant: TenantRegistration = { tenantId, name };
  validateTenantRegistration(tenant);
  return tenant;
}

/**
 * Checks a ledger entry, in order: entry id, tenant id, ledger key
 * (`EMPTY_LEDGER_KEY`), actor id, payload bytes, timestamp (`INVALID_TIMESTAMP`).
 */
export function validateLedgerEntry(entry: LedgerEntry): void {
  requireCanonicalId(parseLedgerEntryId, "entry.entryId", entry.entryId);
  requireCanonicalId(parseTenantId, "entry.tenantId", entry.tenantId);
  requireNonEmpty("EMPTY_LEDGER_KEY", "entry.ledgerKey", entry.ledgerKey);
  if (entry.actorId !== undefined) requireCanonicalId(parseActorId, "entry.actorId", entry.actorId);
  requireBytes("entry.payload", entry.payload);
  requireTimestamp("entry.timestamp", entry.timestamp);
}

/** Input of {@link ledgerEntry}. */
export interface LedgerEntryInput {
  readonly entryId: LedgerEntryId;
  readonly tenantId: TenantId;
  readonly ledgerKey: string;
  readonly actorId?: ActorId;
  readonly payload: Uint8Array;
  readonly timestamp: number;
}

/** A validated ledger entry; throws as {@link validateLedgerEntry}. */
export function ledgerEntry(input: LedgerEntryInput): LedgerEntry {
  const entry: LedgerEntry = {
    entryId: input.entryId,
    tenantId: input.tenantId,
    ledgerKey: input.ledgerKey,
    ...(input.actorId === undefined ? {} : { actorId: input.actorId }),
    payload: input.payload,
    timestamp: input.timestamp,
  };
  validateLedgerEntry(entry);
  return entry;
}
