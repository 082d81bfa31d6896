/**
 * The daemon's lifecycle as the routes see it: the queue (absent until
 * recovery has finished) and the phase `/ready` reports. Routes that need the
 * queue answer 503 `NOT_READY` while it is missing or the daemon is draining.
 */
import type { ActionQueue } from "@actionqueue/runtime";
import { daemonError } from "./errors.js";

/** Where the daemon is in its life. */
export type DaemonPhase = "recovering" | "ready" | "draining" | "failed";

/** Mutable state shared by the routes and the process that owns the queue. */
export interface DaemonState {
  /** The open queue, once recovery has finished. */
  queue: ActionQueue | undefined;
  phase: DaemonPhase;
  /** Why the daemon failed (phase `failed`). */
  failure?: string;
}

/** A fresh state in phase `recovering`, or `ready` around an already open queue. */
export function createDaemonState(queue?: ActionQueue): DaemonState {
  return { queue, phase: queue === undefined ? "recovering" : "ready" };
}

/** The queue, or a 503 `NOT_READY` error while recovering, draining or failed. */
export function requireQueue(state: DaemonState): ActionQueue {
  if (state.queue === undefined || state.phase !== "ready") {
    throw daemonError("NOT_READY", `the daemon is ${state.phase}; retry when GET /ready answers 200`);
  }
  return state.queue;
}
