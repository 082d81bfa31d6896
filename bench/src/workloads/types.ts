/**
 * What a workload child receives and returns. Every measurement runs in its
 * own child process (the same layout for every system); the orchestrator
 * passes a {@link ChildTask} on the command line and receives a
 * {@link ChildMessage} over the IPC channel.
 */
import type { Sizes } from "../config.js";
import type { SystemName } from "../systems/types.js";

/** The workloads of the comparison. */
export type WorkloadName = "throughput" | "throughput-warm" | "latency" | "retries" | "crash";

export const WORKLOAD_NAMES: readonly WorkloadName[] = ["throughput", "throughput-warm", "latency", "retries", "crash"];

/** Roles a child process can play. Crash uses two workers: one that seeds and is killed, then one that resumes. */
export type ChildRole = "throughput" | "throughput-warm" | "latency" | "retries" | "crash-worker" | "heap";

export interface ChildTask {
  readonly role: ChildRole;
  readonly system: SystemName;
  readonly sizes: Sizes;
  readonly namespace: string;
  /** crash-worker only: enqueue the jobs first (the worker that will be killed). */
  readonly seed?: boolean;
  /** crash-worker only: the execution log the handler appends to. */
  readonly execLog?: string;
  /** crash-worker only: how long the resuming worker waits for the remaining completions. */
  readonly timeoutMs?: number;
  /** heap only: the run counts to measure. */
  readonly heapRuns?: readonly number[];
}

/** A flat record of numbers (and a few strings) one run produced. */
export type Metrics = Readonly<Record<string, number | string | boolean>>;

export type ChildMessage =
  | { readonly kind: "result"; readonly metrics: Metrics }
  | { readonly kind: "progress"; readonly executions: number }
  | { readonly kind: "error"; readonly message: string };
