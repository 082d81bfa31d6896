/**
 * Loading a handler module for the CLI and the daemon: its default export is
 * the handler of every task, its named function exports are handlers for
 * tasks of that name, and an exported list named `gates` holds its dispatch
 * gates (checked by `ActionQueue.open` like any gates option).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ValidationError } from "@actionqueue/core";
import type { Handler } from "@actionqueue/executor-local";
import type { DispatchGate } from "../gates/dispatch-gate.js";

/** What a handler module provides. */
export interface LoadedHandlers {
  readonly handler?: Handler<never>;
  readonly handlers?: Readonly<Record<string, Handler<never>>>;
  /** The module's `gates` export, when it is a list. */
  readonly gates?: readonly DispatchGate[];
}

/**
 * Imports `path` (relative to the working directory) and collects its
 * handlers. Throws `INVALID_CONFIG` when the file cannot be imported or
 * exports no function.
 */
export async function loadHandlerModule(path: string): Promise<LoadedHandlers> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw new ValidationError("INVALID_CONFIG", `handler module ${JSON.stringify(path)} could not be loaded: ${(cause as Error).message}`, {
      details: { field: "handler", value: path },
      cause,
    });
  }
  const handlers: Record<string, Handler<never>> = {};
  let handler: Handler<never> | undefined;
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value !== "function") continue;
    if (name === "default") handler = value as Handler<never>;
    else handlers[name] = value as Handler<never>;
  }
  if (handler === undefined && Object.keys(handlers).length === 0) {
    throw new ValidationError(
      "INVALID_CONFIG",
      `handler module ${JSON.stringify(path)} exports no function: export a default handler or named handlers per task name`,
      { details: { field: "handler", value: path } },
    );
  }
  // A list, not a function: a handler for a task named "gates" stays a handler.
  const gates = Array.isArray(mod.gates) ? (mod.gates as DispatchGate[]) : undefined;
  return {
    ...(handler === undefined ? {} : { handler }),
    ...(Object.keys(handlers).length === 0 ? {} : { handlers }),
    ...(gates === undefined ? {} : { gates }),
  };
}
