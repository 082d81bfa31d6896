/** Platform types: tenants, roles, RBAC permissions and ledger entries. */
import type { ActorId, LedgerEntryId, TenantId } from "../ids/ids.js";

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
