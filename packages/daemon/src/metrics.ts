/**
 * Prometheus metrics (prom-client, a registry of our own). Gauges of runs by
 * state are read from `stats()` at scrape time, so they always agree with
 * `GET /api/v1/stats`. Attempt counters are true counters: seeded from the
 * durable attempt history when the queue opens (so they agree with the stats
 * after a restart too) and incremented on every `attempt:finished`. Lag and
 * handler durations are observed from the runtime's events as they happen.
 *
 * WAL telemetry is limited to what the storage package exposes: records
 * appended (from the WAL sequence) and the size of the WAL on disk. It has no
 * fsync or appended-byte counters yet.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ActionQueue, Stats, WalWriterStats } from "@actionqueue/runtime";
import { RUN_STATES, displayRunState } from "@actionqueue/core";
import { dataDirPaths } from "@actionqueue/storage";
import type { DaemonState } from "./state.js";

/** Prometheus label value of each `runsByState` key: core's snake_case display name (`retry_wait`). */
export const STATE_LABELS: Readonly<Record<keyof Stats["runsByState"], string>> = Object.fromEntries(
  RUN_STATES.map((state) => [state, displayRunState(state)]),
) as Record<keyof Stats["runsByState"], string>;

/** Attempt results, as label values. */
export const RESULT_LABELS = ["success", "failure", "timeout", "suspended"] as const satisfies readonly (keyof Stats["attemptsByResult"])[];

const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      total += (await stat(join(dir, name))).size;
    } catch {
      // removed by compaction while we looked
    }
  }
  return total;
}

/** The daemon's metrics registry and the collectors that feed it. */
export class DaemonMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #attempts: Counter<"result">;
  readonly #lag: Histogram;
  readonly #handlerDuration: Histogram<"result">;
  readonly #leaseExpirations: Counter;
  readonly #httpRequests: Histogram<"method" | "route" | "status">;
  readonly #recoveryDuration: Gauge;

  /** `state` is read at scrape time; `processMetrics` adds prom-client's default process metrics. */
  constructor(state: DaemonState, options: { readonly processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const queueOf = (): ActionQueue | undefined => state.queue;
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: "actionqueue_runs",
      help: "Runs currently in each lifecycle state.",
      labelNames: ["state"],
      registers,
      collect() {
        const stats = queueOf()?.stats();
        for (const [key, label] of Object.entries(STATE_LABELS)) {
          this.set({ state: label }, stats === undefined ? 0 : stats.runsByState[key as keyof Stats["runsByState"]]);
        }
      },
    });
    new Gauge({
      name: "actionqueue_tasks",
      help: "Tasks in the data directory.",
      registers,
      collect() {
        this.set(queueOf()?.stats().tasks ?? 0);
      },
    });
    new Gauge({
      name: "actionqueue_engine_paused",
      help: "1 while the engine is paused, else 0.",
      registers,
      collect() {
        this.set(queueOf()?.stats().paused === true ? 1 : 0);
      },
    });
    new Gauge({
      name: "actionqueue_attempts_in_flight",
      help: "Attempts whose handler is running in this process.",
      registers,
      collect() {
        this.set(queueOf()?.inFlight ?? 0);
      },
    });
    this.#attempts = new Counter({
      name: "actionqueue_attempts_total",
      help: "Finished attempts by result (seeded from the durable history at start).",
      labelNames: ["result"],
      registers,
    });
    for (const result of RESULT_LABELS) this.#attempts.inc({ result }, 0);
    this.#lag = new Histogram({
      name: "actionqueue_scheduling_lag_seconds",
      help: "How late an attempt started versus its run's due time, observed at dispatch.",
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#handlerDuration = new Histogram({
      name: "actionqueue_handler_duration_seconds",
      help: "Handler (attempt) durations by result.",
      labelNames: ["result"],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#leaseExpirations = new Counter({
      name: "actionqueue_lease_expirations_total",
      help: "Leases that ran out in this process.",
      registers,
    });
    this.#httpRequests = new Histogram({
      name: "actionqueue_http_request_duration_seconds",
      help: "HTTP requests served, by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const walSequence = (): number | undefined => queueOf()?.stats().latestSequence;
    // The writer's own counters are monotonic within the process; each counter
    // catches up with them at scrape time.
    const walCounter = (name: string, help: string, read: (stats: WalWriterStats) => number): void => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const stats = queueOf()?.walStats();
          if (stats === undefined) return;
          const value = read(stats);
          if (value > seen) this.inc(value - seen);
          seen = value;
        },
      });
    };
    walCounter("actionqueue_wal_appends_total", "WAL records appended by this process.", (w) => w.recordsAppended);
    walCounter("actionqueue_wal_fsyncs_total", "fdatasync calls on the WAL (group commit shares one among many records).", (w) => w.syncs);
    walCounter("actionqueue_wal_bytes_written_total", "Bytes written to WAL segment files by this process.", (w) => w.bytesWritten);
    walCounter("actionqueue_wal_write_cycles_total", "WAL write cycles (one positional write each).", (w) => w.writeCycles);
    walCounter("actionqueue_wal_bytes_preallocated_total", "Zero bytes written ahead of the WAL's data (preallocation) by this process.", (w) => w.bytesPreallocated);
    new Gauge({
      name: "actionqueue_wal_latest_sequence",
      help: "Sequence number of the last durable WAL record.",
      registers,
      collect() {
        this.set(walSequence() ?? 0);
      },
    });
    new Gauge({
      name: "actionqueue_wal_size_bytes",
      help: "Bytes of WAL segment files on disk, including the zero-filled free space kept ahead of the data.",
      registers,
      async collect() {
        const queue = queueOf();
        this.set(queue === undefined ? 0 : await directoryBytes(dataDirPaths(queue.dataDir).walDir));
      },
    });
    this.#recoveryDuration = new Gauge({
      name: "actionqueue_recovery_duration_seconds",
      help: "How long recovering the data directory took at start.",
      registers,
    });
    new Gauge({
      name: "actionqueue_recovery_records_replayed",
      help: "WAL records replayed at start (after the snapshot).",
      registers,
      collect() {
        this.set(queueOf()?.recoveryReport.walRecordsReplayed ?? 0);
      },
    });
    new Gauge({
      name: "actionqueue_recovery_reconciled_runs",
      help: "Runs found leased or running at start and made eligible again.",
      registers,
      collect() {
        this.set(queueOf()?.recoveryReport.reconciledRuns.length ?? 0);
      },
    });
  }

  /**
   * Starts counting `queue`'s events: seeds the attempt counters from its
   * durable history and records the recovery duration. Call once, right
   * after the queue opened and before it dispatches. Returns the unsubscribe function.
   */
  attach(queue: ActionQueue): () => void {
    const stats = queue.stats();
    for (const result of RESULT_LABELS) this.#attempts.inc({ result }, stats.attemptsByResult[result]);
    this.#recoveryDuration.set(queue.recoveryReport.durationMs / 1000);
    const offs = [
      queue.on("attempt:started", (event) => this.#lag.observe(Math.max(0, event.lagMs) / 1000)),
      queue.on("attempt:finished", (event) => {
        this.#attempts.inc({ result: event.result });
        this.#handlerDuration.observe({ result: event.result }, Math.max(0, event.durationMs) / 1000);
      }),
      queue.on("lease:expired", () => this.#leaseExpirations.inc()),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** Records one served request; `route` is the route pattern (`/api/v1/runs/:id`), never the raw URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#httpRequests.observe({ method, route, status: String(status) }, seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    // prom-client prints NaN (the event-loop lag before its first sample) as `Nan`; the format says `NaN`.
    const text = (await this.registry.metrics()).replace(/ Nan$/gm, " NaN");
    return { contentType: this.registry.contentType, text };
  }
}
