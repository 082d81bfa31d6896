import { describe, expect, it } from "vitest";
import { actorId, expectCode, ledgerEntryId, tenantId } from "../../test/support.js";
import type { Permission, Role } from "./platform.js";
import { customPermission, customRole, ledgerEntry, tenantRegistration, validatePermission, validateRole } from "./platform.js";

describe("roles and permissions", () => {
  it("custom names must be non-empty", () => {
    expect(customRole("reviewer")).toEqual({ kind: "custom", name: "reviewer" });
    expectCode(() => customRole(""), "EMPTY_CUSTOM_ROLE");
    expect(customPermission("can-deploy")).toEqual({ kind: "custom", name: "can-deploy" });
    expectCode(() => customPermission(""), "EMPTY_CUSTOM_CAPABILITY");
  });

  it("validators catch literals that bypass the factories", () => {
    expectCode(() => validateRole({ kind: "custom", name: "" }), "EMPTY_CUSTOM_ROLE");
    expectCode(() => validateRole({ kind: "admin" } as unknown as Role), "INVALID_FIELD");
    expectCode(() => validatePermission({ kind: "custom", name: "" }), "EMPTY_CUSTOM_CAPABILITY");
    expectCode(() => validatePermission({ kind: "canFly" } as unknown as Permission), "INVALID_FIELD");
    expect(() => validateRole({ kind: "gatekeeper" })).not.toThrow();
    expect(() => validatePermission({ kind: "canApprove" })).not.toThrow();
  });
});

describe("tenants and ledger entries", () => {
  it("tenant names must be non-empty", () => {
    const t = tenantId();
    expect(tenantRegistration(t, "acme")).toEqual({ tenantId: t, name: "acme" });
    expectCode(() => tenantRegistration(t, ""), "EMPTY_TENANT_NAME");
  });

  it("ledger keys must be non-empty; timestamps epoch ms; actor optional", () => {
    const base = { entryId: ledgerEntryId(), tenantId: tenantId(), ledgerKey: "audit", payload: new Uint8Array([1]), timestamp: 5 };
    expect(ledgerEntry(base)).toEqual(base);
    const a = actorId();
    expect(ledgerEntry({ ...base, actorId: a }).actorId).toBe(a);
    expectCode(() => ledgerEntry({ ...base, ledgerKey: "" }), "EMPTY_LEDGER_KEY");
    expectCode(() => ledgerEntry({ ...base, timestamp: -1 }), "INVALID_TIMESTAMP");
    expectCode(() => ledgerEntry({ ...base, payload: "x" as never }), "INVALID_FIELD");
  });
});
