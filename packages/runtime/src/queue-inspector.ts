/**
 * Read-only inspection of a data directory: the same views as a live queue,
 * built without creating, writing, repairing or locking anything, so it works
 * while another process holds the writer lock.
 */
import { existsSync, statSync } from "node:fs";
import type { RunId, TaskId } from "@actionqueue/core";
import { StorageError, ValidationError, describeValue, systemClock } from "@actionqueue/core";
import type { Clock } from "@actionqueue/core";
import type { WalFinding } from "@actionqueue/storage";
import { openStorageReadOnly } from "@actionqueue/storage";
import { QueryView } from "./query-view.js";
import type { Explanation, ListRunsQuery, RunPage, RunView, Stats, TaskView } from "./types.js";

/** A read-only view of a data directory as it is on disk now. */
export class QueueInspector {
  readonly #query: QueryView;
  readonly #clock: Clock;
  /** Damage found while reading (a torn tail is reported, never repaired). */
  readonly findings: readonly WalFinding[];
  readonly dataDir: string;

  private constructor(dataDir: string, query: QueryView, findings: readonly WalFinding[], clock: Clock) {
    this.dataDir = dataDir;
    this.#query = query;
    this.findings = findings;
    this.#clock = clock;
  }

  /** Reads `dataDir`; throws `STORAGE_IO` naming the path when it is not an existing directory. */
  static open(dataDir: string, clock: Clock = systemClock): QueueInspector {
    if (typeof dataDir !== "string" || dataDir.trim() === "") {
      throw new ValidationError("INVALID_CONFIG", `invalid dataDir ${describeValue(dataDir)}: expected a directory path`, {
        details: { field: "dataDir", value: describeValue(dataDir) },
      });
    }
    if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
      throw new StorageError("STORAGE_IO", `no ActionQueue data directory at ${dataDir}`, { details: { dataDir } });
    }
    const storage = openStorageReadOnly({ dataDir });
    return new QueueInspector(dataDir, new QueryView(storage.projection), storage.findings, clock);
  }

  getTask(id: TaskId | string): TaskView | undefined {
    return this.#query.getTask(id);
  }

  listTasks(query?: { limit?: number; cursor?: string }): { tasks: TaskView[]; nextCursor?: string } {
    return this.#query.listTasks(query);
  }

  getRun(id: RunId | string): RunView | undefined {
    return this.#query.getRun(id);
  }

  listRuns(query?: ListRunsQuery): RunPage {
    return this.#query.listRuns(query);
  }

  stats(): Stats {
    return this.#query.stats();
  }

  /** Why a run is not running (from durable state alone). Throws `NOT_FOUND` for an unknown run. */
  explain(id: RunId | string): Explanation {
    return this.#query.explain(id, this.#clock.now());
  }

  /** Nothing to release; present so callers can treat it like a queue. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
