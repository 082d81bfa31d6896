import { describe, expect, it } from "vitest";
import { actorId, expectCode, tenantId } from "../../test/support.js";
import {
  DEFAULT_HEARTBEAT_POLICY,
  actorCapabilities,
  actorRegistration,
  heartbeatPolicy,
  heartbeatTimeoutMs,
  satisfiesCapabilities,
} from "./actor.js";

describe("actor capabilities", () => {
  it("reject an empty list and an empty entry", () => {
    expectCode(() => actorCapabilities([]), "EMPTY_ACTOR_CAPABILITIES");
    const error = expectCode(() => actorCapabilities(["gpu", ""]), "EMPTY_ACTOR_CAPABILITY_ENTRY");
    expect(error.details).toMatchObject({ field: "capabilities[1]" });
    expect(actorCapabilities(["gpu", "cpu"])).toEqual(["gpu", "cpu"]);
  });

  it("satisfies: every required entry present; duplicates irrelevant; [] always satisfied", () => {
    expect(satisfiesCapabilities(["gpu", "cpu"], ["gpu"])).toBe(true);
    expect(satisfiesCapabilities(["gpu"], ["gpu", "gpu"])).toBe(true);
    expect(satisfiesCapabilities(["gpu"], ["gpu", "tpu"])).toBe(false);
    expect(satisfiesCapabilities(["gpu"], [])).toBe(true);
  });
});

describe("actor registration", () => {
  const base = { actorId: actorId(), identity: "worker-1", capabilities: ["gpu"], heartbeatIntervalMs: 1 };

  it("builds with optional department and tenant", () => {
    const t = tenantId();
    const r = actorRegistration({ ...base, department: "engineering", tenantId: t });
    expect(r).toEqual({ ...base, department: "engineering", tenantId: t });
  });

  it("guards identity, interval, capabilities, department and ids", () => {
    expectCode(() => actorRegistration({ ...base, identity: "" }), "EMPTY_IDENTITY");
    expectCode(() => actorRegistration({ ...base, heartbeatIntervalMs: 0 }), "ZERO_HEARTBEAT_INTERVAL");
    expectCode(() => actorRegistration({ ...base, heartbeatIntervalMs: 0.5 }), "INVALID_DURATION");
    expectCode(() => actorRegistration({ ...base, capabilities: [] }), "EMPTY_ACTOR_CAPABILITIES");
    expectCode(() => actorRegistration({ ...base, department: "" }), "EMPTY_DEPARTMENT_ID");
    expectCode(() => actorRegistration({ ...base, department: "x".repeat(129) }), "DEPARTMENT_ID_TOO_LONG");
    expectCode(() => actorRegistration({ ...base, actorId: "nope" as never }), "INVALID_ID");
  });
});

describe("heartbeat policy", () => {
  it("defaults to 30 s × 3", () => {
    expect(DEFAULT_HEARTBEAT_POLICY).toEqual({ intervalMs: 30_000, timeoutMultiplier: 3 });
    expect(heartbeatPolicy(5_000)).toEqual({ intervalMs: 5_000, timeoutMultiplier: 3 });
    expect(heartbeatTimeoutMs(DEFAULT_HEARTBEAT_POLICY)).toBe(90_000);
  });

  it("rejects a zero interval and a zero multiplier", () => {
    expectCode(() => heartbeatPolicy(0, 3), "ZERO_HEARTBEAT_INTERVAL");
    expectCode(() => heartbeatPolicy(1000, 0), "ZERO_TIMEOUT_MULTIPLIER");
    expectCode(() => heartbeatPolicy(1000, 4_294_967_296), "INVALID_FIELD");
  });

  it("timeoutMs saturates at MAX_SAFE_INTEGER", () => {
    expect(heartbeatTimeoutMs(heartbeatPolicy(Number.MAX_SAFE_INTEGER, 4_294_967_295))).toBe(Number.MAX_SAFE_INTEGER);
  });
});
