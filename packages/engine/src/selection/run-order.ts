/**
 * The one selection order for ready runs: effective priority descending,
 * then `scheduledAt`, then `createdAt` ascending, then RunId ascending (plain
 * string comparison; ULIDs sort in creation order). A strict total order, so
 * selection never depends on input order.
 */
import type { RunId } from "@actionqueue/core";

/** The fields the selection order reads. */
export interface OrderedRun {
  readonly id: RunId;
  readonly effectivePriority: number;
  readonly scheduledAt: number;
  readonly createdAt: number;
}

/** Negative when `a` is selected before `b`, positive after, 0 only for the same id. */
export function compareForSelection(a: OrderedRun, b: OrderedRun): number {
  if (a.effectivePriority !== b.effectivePriority) return a.effectivePriority > b.effectivePriority ? -1 : 1;
  if (a.scheduledAt !== b.scheduledAt) return a.scheduledAt < b.scheduledAt ? -1 : 1;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** True when `a` is selected before `b` (the same order as {@link compareForSelection}, without the sign; the ready heap's hot comparison). */
export function selectedBefore(a: OrderedRun, b: OrderedRun): boolean {
  if (a.effectivePriority !== b.effectivePriority) return a.effectivePriority > b.effectivePriority;
  if (a.scheduledAt !== b.scheduledAt) return a.scheduledAt < b.scheduledAt;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
  return a.id < b.id;
}

/**
 * Orders ready runs for dispatch (a sorted copy). `priorityOf` overrides a
 * run's own `effectivePriority` (the priority snapshot); the caller applies
 * capacity.
 */
export function orderReadyRuns<TRun extends OrderedRun>(runs: readonly TRun[], priorityOf?: (run: TRun) => number): TRun[] {
  if (priorityOf === undefined) return [...runs].sort(compareForSelection);
  const keyed = runs.map((run) => ({ run, view: { id: run.id, effectivePriority: priorityOf(run), scheduledAt: run.scheduledAt, createdAt: run.createdAt } }));
  keyed.sort((a, b) => compareForSelection(a.view, b.view));
  return keyed.map((k) => k.run);
}
