/**
 * The one table of stable error codes. The CLI maps them to exit codes and the
 * daemon to HTTP statuses, so a code, once published, never changes meaning.
 */

/** Every error code ActionQueue can raise, grouped by family. */
export const ERROR_CODES = {
  // ids
  INVALID_ID: "validation",
  // department
  EMPTY_DEPARTMENT_ID: "validation",
  DEPARTMENT_ID_TOO_LONG: "validation",
  // task spec and parts
  INVALID_TASK_ID: "validation",
  INVALID_MAX_ATTEMPTS: "validation",
  ZERO_TIMEOUT: "validation",
  INVALID_TIMEOUT: "validation",
  EMPTY_CONCURRENCY_KEY: "validation",
  INVALID_CONCURRENCY_KEY_HOLD_POLICY: "validation",
  INVALID_SAFETY_LEVEL: "validation",
  EMPTY_CAPABILITIES: "validation",
  INVALID_CAPABILITIES: "validation",
  EMPTY_CAPABILITY_ENTRY: "validation",
  INVALID_PRIORITY: "validation",
  INVALID_TAGS: "validation",
  INVALID_DESCRIPTION: "validation",
  INVALID_TASK_NAME: "validation",
  INVALID_PAYLOAD: "validation",
  INVALID_CONTENT_TYPE: "validation",
  INVALID_RUN_POLICY: "validation",
  INVALID_REPEAT_COUNT: "validation",
  INVALID_REPEAT_INTERVAL: "validation",
  INVALID_CRON_EXPRESSION: "validation",
  INVALID_CRON_MAX_OCCURRENCES: "validation",
  INVALID_START_AT: "validation",
  INVALID_TIME_ZONE: "validation",
  INVALID_BACKOFF: "validation",
  INVALID_TIMESTAMP: "validation",
  INVALID_DURATION: "validation",
  INVALID_FIELD: "validation",
  INVALID_TEXT: "validation",
  UNKNOWN_FIELD: "validation",
  // run lifecycle
  INVALID_TRANSITION: "transition",
  INVALID_RUN_ID: "validation",
  READY_SCHEDULED_AT_AFTER_CREATED_AT: "validation",
  ATTEMPT_IN_PROGRESS: "transition",
  PRIORITY_MUTATION_REQUIRES_READY: "transition",
  ATTEMPT_START_REQUIRES_RUNNING: "transition",
  ATTEMPT_ALREADY_ACTIVE: "transition",
  ATTEMPT_COUNT_OVERFLOW: "transition",
  ATTEMPT_FINISH_REQUIRES_RUNNING: "transition",
  NO_ACTIVE_ATTEMPT: "transition",
  ATTEMPT_OWNERSHIP_MISMATCH: "transition",
  INVALID_RUN_INSTANCE: "validation",
  // attempt outcome
  SUCCESS_WITH_ERROR: "validation",
  NON_SUCCESS_WITHOUT_ERROR: "validation",
  NON_SUCCESS_WITH_OUTPUT: "validation",
  EMPTY_FAILURE_MESSAGE: "validation",
  INVALID_ATTEMPT_RESULT: "validation",
  // budget, subscriptions, actors, platform
  ZERO_LIMIT: "validation",
  INVALID_BUDGET_AMOUNT: "validation",
  INVALID_BUDGET_DIMENSION: "validation",
  INVALID_THRESHOLD_PCT: "validation",
  EMPTY_CUSTOM_EVENT_KEY: "validation",
  INVALID_EVENT_FILTER: "validation",
  EMPTY_ACTOR_CAPABILITIES: "validation",
  EMPTY_ACTOR_CAPABILITY_ENTRY: "validation",
  EMPTY_IDENTITY: "validation",
  ZERO_HEARTBEAT_INTERVAL: "validation",
  ZERO_TIMEOUT_MULTIPLIER: "validation",
  EMPTY_CUSTOM_ROLE: "validation",
  EMPTY_CUSTOM_CAPABILITY: "validation",
  EMPTY_TENANT_NAME: "validation",
  EMPTY_LEDGER_KEY: "validation",
  EMPTY_LEASE_OWNER: "validation",
  EMPTY_DEPENDENCY_LIST: "validation",
  INVALID_COMMAND: "validation",
  // mutation authority and storage
  SEQUENCE_CONFLICT: "conflict",
  COMMAND_REJECTED: "conflict",
  NOT_FOUND: "not_found",
  ALREADY_EXISTS: "conflict",
  AUTHORITY_POISONED: "storage",
  STORAGE_IO: "storage",
  WAL_CORRUPT: "storage",
  WAL_UNSUPPORTED_VERSION: "storage",
  WAL_FOREIGN_FORMAT: "storage",
  SNAPSHOT_CORRUPT: "storage",
  DECODE_FAILED: "storage",
  LOCK_HELD: "storage",
  READ_ONLY: "storage",
  CLOSED: "storage",
  // engine, executor, runtime
  DERIVATION_OVERFLOW: "validation",
  INVALID_DERIVATION_STATE: "validation",
  INVALID_ATTEMPT_NUMBER: "validation",
  ATTEMPT_EXCEEDS_CAP: "validation",
  ATTEMPT_FINISH_SUBMISSION: "storage",
  TERMINAL_HANDLER_ERROR: "handler",
  NO_HANDLER: "handler",
  STALE_FENCING_TOKEN: "conflict",
  TASK_SPEC_MISMATCH: "conflict",
  INVALID_CONFIG: "validation",
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The family an error code belongs to; surfaces map families to exit codes and HTTP statuses. */
export type ErrorFamily = (typeof ERROR_CODES)[ErrorCode];

/** Returns the family of a code, or `undefined` for a code that is not in the table. */
export function errorFamily(code: string): ErrorFamily | undefined {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : undefined;
}
