import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arbActorRegistration,
  arbAttemptOutcome,
  arbBudgetAllocation,
  arbBudgetConsumption,
  arbConstraints,
  arbEventFilter,
  arbHeartbeatPolicy,
  arbLedgerEntry,
  arbMetadata,
  arbPayload,
  arbPermission,
  arbRole,
  arbRunInstance,
  arbRunPolicy,
  arbTaskSpec,
  arbTenant,
} from "../../test/support.js";
import * as ext from "./extension-codec.js";
import * as run from "./run-codec.js";
import * as task from "./task-codec.js";

/** Encode, pass through real JSON text, decode: the value must come back equal. */
function roundTrips<T>(arb: fc.Arbitrary<T>, toJson: (v: T) => unknown, fromJson: (j: unknown) => T, view: (v: T) => unknown = (v) => v) {
  fc.assert(
    fc.property(arb, (value) => {
      const back = fromJson(JSON.parse(JSON.stringify(toJson(value))));
      expect(view(back)).toEqual(view(value));
    }),
    { numRuns: 200 },
  );
}

describe("every persisted type round-trips through JSON", () => {
  it("TaskSpec", () => roundTrips(arbTaskSpec, task.taskSpecToJson, (j) => task.taskSpecFromJson(j)));
  it("TaskPayload", () => roundTrips(arbPayload, task.taskPayloadToJson, (j) => task.taskPayloadFromJson(j)));
  it("TaskMetadata", () => roundTrips(arbMetadata, task.taskMetadataToJson, (j) => task.taskMetadataFromJson(j)));
  it("TaskConstraints", () => roundTrips(arbConstraints, task.taskConstraintsToJson, (j) => task.taskConstraintsFromJson(j)));
  it("RunPolicy", () => roundTrips(arbRunPolicy, task.runPolicyToJson, (j) => task.runPolicyFromJson(j)));
  it("RunInstance", () => roundTrips(arbRunInstance, run.runInstanceToJson, (j) => run.runInstanceFromJson(j), (r) => r.toFields()));
  it("AttemptOutcome", () => roundTrips(arbAttemptOutcome, run.attemptOutcomeToJson, (j) => run.attemptOutcomeFromJson(j)));
  it("BudgetAllocation", () => roundTrips(arbBudgetAllocation, ext.budgetAllocationToJson, (j) => ext.budgetAllocationFromJson(j)));
  it("BudgetConsumption", () => roundTrips(arbBudgetConsumption, ext.budgetConsumptionToJson, (j) => ext.budgetConsumptionFromJson(j)));
  it("EventFilter", () => roundTrips(arbEventFilter, ext.eventFilterToJson, (j) => ext.eventFilterFromJson(j)));
  it("ActorRegistration", () => roundTrips(arbActorRegistration, ext.actorRegistrationToJson, (j) => ext.actorRegistrationFromJson(j)));
  it("HeartbeatPolicy", () => roundTrips(arbHeartbeatPolicy, ext.heartbeatPolicyToJson, (j) => ext.heartbeatPolicyFromJson(j)));
  it("TenantRegistration", () => roundTrips(arbTenant, ext.tenantRegistrationToJson, (j) => ext.tenantRegistrationFromJson(j)));
  it("Role", () => roundTrips(arbRole, ext.roleToJson, (j) => ext.roleFromJson(j)));
  it("Permission", () => roundTrips(arbPermission, ext.permissionToJson, (j) => ext.permissionFromJson(j)));
  it("LedgerEntry", () => roundTrips(arbLedgerEntry, ext.ledgerEntryToJson, (j) => ext.ledgerEntryFromJson(j)));
});
