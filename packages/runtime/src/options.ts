/**
 * Options of the embedded queue: defaults filled in and every value checked
 * up front, so a bad option fails `open()` with a message naming it before
 * anything touches the data directory.
 */
import type { Clock } from "@actionqueue/core";
import { ActionQueueError, ValidationError, closestKey, describeValue, isWellFormedText, systemClock } from "@actionqueue/core";
import type { BackoffStrategy, Handler } from "@actionqueue/executor-local";
import { DEFAULT_BACKOFF, validateBackoff } from "@actionqueue/executor-local";
import type { WalSyncMode } from "@actionqueue/storage";
import { DEFAULT_WAL_SYNC_MODE } from "@actionqueue/storage";
import type { ActionQueueOptions, CloseOptions, HandlerMap } from "./types.js";
import type { ResolvedRetention } from "./purge.js";
import type { DispatchGate } from "./gates/dispatch-gate.js";
import { resolveRetention } from "./purge.js";

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly dataDir: string;
  readonly handler: Handler<never> | undefined;
  readonly handlers: HandlerMap;
  readonly concurrency: number;
  readonly clock: Clock;
  readonly backoff: BackoffStrategy;
  readonly snapshotEvery: number;
  readonly snapshotInWorker: boolean;
  readonly leaseTimeoutMs: number;
  readonly owner: string;
  readonly idleHorizonMs: number;
  readonly cronWindow: number;
  readonly deferredFlushMs: number;
  readonly walSyncMode: WalSyncMode;
  readonly walPreallocate: boolean;
  readonly retention: ResolvedRetention | undefined;
  readonly gates: readonly DispatchGate[];
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError("INVALID_CONFIG", `invalid option ${field} ${describeValue(value)}: expected an integer from ${min} to ${max}`, {
      details: { field, value: describeValue(value) },
    });
  }
  return value;
}

/** Every option `ActionQueue.open` knows; any other key is refused (a typo must not silently become a default). */
export const OPTION_KEYS: readonly (keyof ActionQueueOptions)[] = [
  "dataDir",
  "handler",
  "handlers",
  "concurrency",
  "clock",
  "backoff",
  "snapshotEvery",
  "snapshotInWorker",
  "leaseTimeoutMs",
  "owner",
  "idleHorizonMs",
  "cronWindow",
  "deferredFlushMs",
  "walSyncMode",
  "walPreallocate",
  "retention",
  "gates",
];

/**
 * The options as given, checked for unknown keys, with every optional one
 * given as null left out: null means "not given", as in a submission.
 */
function knownOptions(given: ActionQueueOptions): ActionQueueOptions {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      const near = closestKey(key, OPTION_KEYS);
      throw new ValidationError(
        "INVALID_CONFIG",
        `unknown option ${JSON.stringify(key)}${near === undefined ? "" : ` (did you mean ${near}?)`}; expected one of ${OPTION_KEYS.join(", ")}`,
        { details: { field: key, ...(near === undefined ? {} : { suggestion: near }) } },
      );
    }
    if (value !== null || key === "dataDir") options[key] = value;
  }
  return options as unknown as ActionQueueOptions;
}

/** Applies defaults and validates; throws `INVALID_CONFIG` naming the option. */
export function resolveOptions(given: ActionQueueOptions): ResolvedOptions {
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new ValidationError("INVALID_CONFIG", "ActionQueue.open needs an options object with at least dataDir", { details: {} });
  }
  const options = knownOptions(given);
  if (typeof options.dataDir !== "string" || options.dataDir.trim() === "") {
    throw new ValidationError("INVALID_CONFIG", `invalid option dataDir ${describeValue(options.dataDir)}: expected a directory path`, {
      details: { field: "dataDir" },
    });
  }
  if (options.handler !== undefined && typeof options.handler !== "function") {
    throw new ValidationError("INVALID_CONFIG", `invalid option handler ${describeValue(options.handler)}: expected an async function`, {
      details: { field: "handler" },
    });
  }
  const handlers = options.handlers ?? {};
  // Object.entries finds nothing in a number or a function, so those read as "no handlers" and every task failed.
  if (typeof handlers !== "object" || Array.isArray(handlers)) {
    throw new ValidationError(
      "INVALID_CONFIG",
      `invalid option handlers ${describeValue(handlers)}: expected an object of async functions by task name (one handler for every task goes in option handler)`,
      { details: { field: "handlers", value: describeValue(handlers) } },
    );
  }
  for (const [name, h] of Object.entries(handlers)) {
    if (typeof h !== "function") {
      throw new ValidationError("INVALID_CONFIG", `invalid option handlers.${name} ${describeValue(h)}: expected an async function`, {
        details: { field: `handlers.${name}` },
      });
    }
  }
  const clock = clockOf(options.clock);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  checkBackoff(backoff);
  const leaseTimeoutMs = integerIn("leaseTimeoutMs", options.leaseTimeoutMs ?? 30_000, 1_000, 86_400_000);
  const snapshotInWorker = booleanOption("snapshotInWorker", options.snapshotInWorker ?? true);
  const owner = options.owner ?? `local:${process.pid}`;
  if (typeof owner !== "string" || owner.length === 0 || !isWellFormedText(owner)) {
    throw new ValidationError("INVALID_CONFIG", `invalid option owner ${describeValue(owner)}: expected a non-empty string of well-formed text (leases record it)`, {
      details: { field: "owner" },
    });
  }
  return {
    dataDir: options.dataDir,
    handler: options.handler,
    handlers,
    concurrency: integerIn("concurrency", options.concurrency ?? 16, 1, 10_000),
    clock,
    backoff,
    snapshotEvery: integerIn("snapshotEvery", options.snapshotEvery ?? 500_000, 0, Number.MAX_SAFE_INTEGER),
    snapshotInWorker,
    leaseTimeoutMs,
    owner,
    idleHorizonMs: integerIn("idleHorizonMs", options.idleHorizonMs ?? 10_000, 0, 86_400_000),
    cronWindow: integerIn("cronWindow", options.cronWindow ?? 5, 1, 1_000),
    deferredFlushMs: integerIn("deferredFlushMs", options.deferredFlushMs ?? 20, 1, 50),
    walSyncMode: walSyncModeOf(options.walSyncMode),
    walPreallocate: booleanOption("walPreallocate", options.walPreallocate ?? true),
    retention: resolveRetention(options.retention),
    gates: gatesOf(options.gates),
  };
}

/** The gates, checked: a list of objects with a non-empty `name` and an `admit` function (other hooks functions when given). */
function gatesOf(gates: unknown): readonly DispatchGate[] {
  if (gates === undefined) return [];
  if (!Array.isArray(gates)) {
    throw new ValidationError("INVALID_CONFIG", `invalid option gates ${describeValue(gates)}: expected a list of dispatch gates`, {
      details: { field: "gates", value: describeValue(gates) },
    });
  }
  gates.forEach((gate: unknown, i) => {
    const g = gate as Partial<Record<keyof DispatchGate, unknown>> | null;
    const bad =
      typeof g !== "object" || g === null
        ? "expected an object with name and admit(run, now)"
        : typeof g.name !== "string" || g.name.length === 0
          ? "its name must be a non-empty string"
          : typeof g.admit !== "function"
            ? "its admit must be a function of (run, now)"
            : (["dispatched", "finished"] as const).find((hook) => g[hook] !== undefined && typeof g[hook] !== "function");
    if (bad !== undefined) {
      const why = bad === "dispatched" || bad === "finished" ? `its ${bad} must be a function when given` : bad;
      throw new ValidationError("INVALID_CONFIG", `invalid option gates[${i}] ${describeValue(gate)}: ${why}`, { details: { field: `gates[${i}]` } });
    }
  });
  return [...(gates as DispatchGate[])];
}

/**
 * The backoff's own checks, with every refusal an `INVALID_CONFIG` like any
 * other bad option (executor-local calls a bad delay `INVALID_DURATION`).
 */
function checkBackoff(backoff: BackoffStrategy): void {
  try {
    validateBackoff(backoff);
  } catch (error) {
    if (!ActionQueueError.is(error) || error.code === "INVALID_CONFIG") throw error;
    throw new ValidationError("INVALID_CONFIG", error.message, { details: error.details, cause: error });
  }
}

/**
 * The clock, checked before the directory is opened: a clock without its
 * methods failed only once storage held the directory's lock, and kept it.
 */
function clockOf(value: unknown): Clock {
  if (value === undefined || value === null) return systemClock;
  const clock = value as Partial<Clock>;
  if (typeof clock.now !== "function" || typeof clock.random !== "function" || typeof clock.setTimeout !== "function") {
    throw new ValidationError(
      "INVALID_CONFIG",
      `invalid option clock ${describeValue(value)}: expected a Clock with now(), random() and setTimeout() (core's systemClock or ManualClock)`,
      { details: { field: "clock", value: describeValue(value) } },
    );
  }
  return value as Clock;
}

/** Checks the options of `close()` before anything stops; throws `INVALID_FIELD` naming the option. */
export function checkCloseOptions(options: unknown): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError("INVALID_FIELD", `invalid close options ${describeValue(options)}: expected an object with mode and graceMs, both optional`, {
      details: { field: "options", value: describeValue(options) },
    });
  }
  const { mode, graceMs } = options as CloseOptions;
  if (mode !== undefined && mode !== "drain" && mode !== "abort") {
    throw new ValidationError("INVALID_FIELD", `invalid close option mode ${describeValue(mode)}: expected "drain" or "abort"`, {
      details: { field: "mode", value: describeValue(mode) },
    });
  }
  // NaN or a string never reached the drain deadline: close waited for a hung handler forever.
  if (graceMs !== undefined && (typeof graceMs !== "number" || !Number.isSafeInteger(graceMs) || graceMs < 0)) {
    throw new ValidationError("INVALID_FIELD", `invalid close option graceMs ${describeValue(graceMs)}: expected whole milliseconds ≥ 0`, {
      details: { field: "graceMs", value: describeValue(graceMs) },
    });
  }
}

function booleanOption(field: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  throw new ValidationError("INVALID_CONFIG", `invalid option ${field} ${describeValue(value)}: expected true or false`, {
    details: { field, value: describeValue(value) },
  });
}

function walSyncModeOf(value: unknown): WalSyncMode {
  if (value === undefined) return DEFAULT_WAL_SYNC_MODE;
  if (value === "writeThrough" || value === "fdatasync") return value;
  throw new ValidationError("INVALID_CONFIG", `invalid option walSyncMode ${describeValue(value)}: expected "writeThrough" or "fdatasync"`, {
    details: { field: "walSyncMode", value: describeValue(value) },
  });
}
