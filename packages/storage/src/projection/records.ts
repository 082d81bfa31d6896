/**
 * The records the projection keeps: everything the WAL has said, in a shape
 * the engine can query. Readers get these as readonly views; only the reducer
 * (apply.ts) changes them, and only after validate.ts accepted the event.
 */
import type {
  ActorId,
  ActorRegistration,
  AttemptId,
  AttemptOutcome,
  BudgetDimension,
  EventFilter,
  Permission,
  Role,
  RunInstance,
  RunState,
  SubscriptionId,
  TaskId,
  TaskSpec,
  TenantId,
  TenantRegistration,
} from "@actionqueue/core";

/** A task and its lifecycle times (epoch ms). */
export interface TaskRecord {
  readonly spec: TaskSpec;
  readonly createdAt: number;
  canceledAt?: number;
}

/** One entry of a run's state history; the first is `{ from: null, to: 'scheduled' }`. */
export interface StateChange {
  readonly from: RunState | null;
  readonly to: RunState;
  readonly at: number;
}

/** One attempt of a run: started, and once finished, its durable outcome. */
export interface AttemptRecord {
  readonly attemptId: AttemptId;
  readonly startedAt: number;
  finishedAt?: number;
  outcome?: AttemptOutcome;
}

/** The active lease of a run. `attemptId` is the fencing token it was granted for. */
export interface LeaseRecord {
  readonly owner: string;
  expiresAt: number;
  readonly attemptId: AttemptId;
  readonly acquiredAt: number;
  updatedAt: number;
}

/** Everything known about one run. */
export interface RunRecord {
  run: RunInstance;
  history: StateChange[];
  attempts: AttemptRecord[];
  lease?: LeaseRecord;
}

/** Engine pause state. */
export interface EngineRecord {
  paused: boolean;
  pausedAt?: number;
  resumedAt?: number;
}

/** A budget on one dimension of a task. */
export interface BudgetRecord {
  readonly taskId: TaskId;
  readonly dimension: BudgetDimension;
  limit: number;
  consumed: number;
  allocatedAt: number;
  exhausted: boolean;
}

/** A subscription and its lifecycle times. */
export interface SubscriptionRecord {
  readonly subscriptionId: SubscriptionId;
  readonly taskId: TaskId;
  readonly filter: EventFilter;
  readonly createdAt: number;
  triggeredAt?: number;
  canceledAt?: number;
}

/** A registered actor. */
export interface ActorRecord {
  readonly registration: ActorRegistration;
  readonly registeredAt: number;
  lastHeartbeatAt?: number;
  deregisteredAt?: number;
}

/** A tenant. */
export interface TenantRecord {
  readonly registration: TenantRegistration;
  readonly createdAt: number;
}

/** An actor's role within a tenant (one role per actor and tenant). */
export interface RoleRecord {
  readonly actorId: ActorId;
  readonly tenantId: TenantId;
  readonly role: Role;
  readonly assignedAt: number;
}

/** A permission granted to an actor within a tenant. */
export interface GrantRecord {
  readonly actorId: ActorId;
  readonly tenantId: TenantId;
  readonly capability: Permission;
  grantedAt: number;
  revokedAt?: number;
}

/** Key of a budget: task and dimension. */
export function budgetKey(taskId: TaskId, dimension: BudgetDimension): string {
  return `${taskId}/${dimension}`;
}

/** Key of a role assignment. */
export function roleKey(actorId: ActorId, tenantId: TenantId): string {
  return `${actorId}/${tenantId}`;
}

/** Key of a grant: actor, permission (variant name or `custom:<name>`), tenant. */
export function grantKey(actorId: ActorId, capability: Permission, tenantId: TenantId): string {
  const name = capability.kind === "custom" ? `custom:${capability.name}` : capability.kind;
  return `${actorId}/${name}/${tenantId}`;
}
