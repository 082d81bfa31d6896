// GET /metrics against GET /api/v1/stats on a real daemon and data directory:
// the runs gauge has exactly one series per lifecycle state (all nine, 0 where
// no run is in it) equal to runsByState, and the attempt counters have one
// series per result equal to attemptsByResult. Checked on a fresh data
// directory and with runs in eight of the nine states at once, a different
// number in each.
import { isDeepStrictEqual } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, api, cleanup, startReady, stop } from "./helpers.js";
import type { Sample } from "./exposition.js";
import { STATE_LABELS, parseExposition, sampleValue } from "./exposition.js";

afterEach(() => cleanup());

const RESULTS = ["success", "failure", "timeout", "suspended"] as const;

/** The parts of /api/v1/stats the metrics mirror. */
interface Counts {
  readonly tasks: number;
  readonly runsByState: Readonly<Record<string, number>>;
  readonly attemptsByResult: Readonly<Record<string, number>>;
}

/** One scrape with the stats read just before and just after it, unchanged in between. */
interface Reading {
  readonly stats: Counts;
  /** `actionqueue_runs` by its `state` label. */
  readonly runs: Readonly<Record<string, number>>;
  /** `actionqueue_attempts_total` by its `result` label. */
  readonly attempts: Readonly<Record<string, number>>;
  readonly tasks: number | undefined;
}

async function counts(url: string): Promise<Counts> {
  const { status, body } = await api(url, "/api/v1/stats");
  expect(status).toBe(200);
  const { tasks, runsByState, attemptsByResult } = body as Counts;
  return { tasks, runsByState, attemptsByResult };
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

/** The series of family `name` by the value of `label`, which must be its only label (the parser refuses a repeated series). */
function byLabel(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== name) continue;
    expect(Object.keys(sample.labels), `labels of ${name}`).toEqual([label]);
    values[sample.labels[label]!] = sample.value;
  }
  return values;
}

/** What the runs gauge must show for `stats`: every state under its label. */
function expectedRuns(stats: Counts): Record<string, number> {
  const labels: Readonly<Record<string, string | undefined>> = STATE_LABELS;
  return Object.fromEntries(Object.entries(stats.runsByState).map(([state, n]) => [labels[state] ?? `unknown state ${state}`, n]));
}

function agrees(reading: Reading): boolean {
  return isDeepStrictEqual(reading.runs, expectedRuns(reading.stats)) && isDeepStrictEqual(reading.attempts, reading.stats.attemptsByResult) && reading.tasks === reading.stats.tasks;
}

/**
 * A reading where the metrics agree with the stats and `wanted` holds. Runs
 * move while the daemon works (and an attempt counter moves when its outcome
 * is durable, a moment after the state): only a scrape whose stats did not
 * change around it is compared, and a disagreement is retried for a while
 * before the last one is reported.
 */
async function agreedReading(url: string, wanted: (stats: Counts) => boolean = () => true): Promise<Reading> {
  let last: Reading | undefined;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const before = await counts(url);
    const samples = await scrape(url);
    const after = await counts(url);
    if (isDeepStrictEqual(before, after)) {
      last = {
        stats: before,
        runs: byLabel(samples, "actionqueue_runs", "state"),
        attempts: byLabel(samples, "actionqueue_attempts_total", "result"),
        tasks: sampleValue(samples, "actionqueue_tasks"),
      };
      if (agrees(last) && wanted(last.stats)) return last;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(last, "the stats never stood still around a scrape").toBeDefined();
  expect(last!.runs).toEqual(expectedRuns(last!.stats));
  expect(last!.attempts).toEqual(last!.stats.attemptsByResult);
  expect(last!.tasks).toBe(last!.stats.tasks);
  throw new Error(`the metrics agreed, but never with the wanted states: ${JSON.stringify(last!.stats)}`);
}

/** Every state and result is there, in the stats and in the metrics, and nothing else. */
function expectAllSeries(reading: Reading): void {
  expect(Object.keys(reading.stats.runsByState).sort()).toEqual(Object.keys(STATE_LABELS).sort());
  expect(Object.keys(reading.runs).sort()).toEqual(Object.values(STATE_LABELS).sort());
  expect(Object.keys(reading.stats.attemptsByResult).sort()).toEqual([...RESULTS].sort());
  expect(Object.keys(reading.attempts).sort()).toEqual([...RESULTS].sort());
}

describe("metrics agree with /api/v1/stats", () => {
  it("on a fresh data directory: all nine state series and all four result series, every one 0", async () => {
    const daemon = await startReady();
    const reading = await agreedReading(daemon.url);
    expectAllSeries(reading);
    expect(reading.runs).toEqual(Object.fromEntries(Object.values(STATE_LABELS).map((label) => [label, 0])));
    expect(reading.attempts).toEqual(Object.fromEntries(RESULTS.map((result) => [result, 0])));
    expect(reading.tasks).toBe(0);
    expect((await stop(daemon)).code).toBe(0);
  });

  it("with a different number of runs completed, failed, scheduled ahead, canceled, suspended, waiting to retry, held back by a key and running", async () => {
    // The running handlers never finish: a short grace lets the shutdown abort them soon.
    const daemon = await startReady({ extra: ["--grace", "200ms"] });
    const submit = async (body: unknown): Promise<string[]> => {
      const res = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.runIds as string[];
    };
    const forever = { ms: 600_000 };
    // A different number of runs in each state, so that a series showing another state's count shows.
    const times = async (n: number, body: unknown): Promise<void> => {
      for (let i = 0; i < n; i++) await submit(body);
    };
    await times(7, { runPolicy: "once" }); // completed (success)
    await times(7, { name: "flaky", runPolicy: "once", constraints: { maxAttempts: 1 } }); // failed (failure)
    // The first run completes (the eighth); of the eleven an hour or more ahead, five are canceled.
    const repeat = await submit({ runPolicy: "repeat:12:1h" });
    await times(4, { name: "hold", runPolicy: "once" }); // suspended
    // Time out after 50 ms every attempt: they wait out the 5 s backoff in retryWait most of the time.
    await times(3, { name: "slow", runPolicy: "once", payload: forever, constraints: { maxAttempts: 1_000, timeoutMs: 50 } });
    // The first runs until shutdown; the other two are ready but held back by its key.
    await times(3, { name: "slow", runPolicy: "once", payload: forever, constraints: { concurrencyKey: "metrics-parity" } });
    for (const runId of repeat.slice(-5)) {
      const cancel = await api(daemon.url, `/api/v1/runs/${runId}/cancel`, { method: "POST", headers: AUTH });
      expect(cancel.body).toMatchObject({ status: "canceled", previousState: "scheduled" });
    }

    const wanted = { completed: 8, failed: 7, scheduled: 6, canceled: 5, suspended: 4, retryWait: 3, ready: 2, running: 1, leased: 0 };
    const reading = await agreedReading(daemon.url, (stats) => isDeepStrictEqual(stats.runsByState, wanted) && stats.attemptsByResult.timeout! >= 3);
    expectAllSeries(reading);
    expect(reading.runs).toEqual({ completed: 8, failed: 7, scheduled: 6, canceled: 5, suspended: 4, retry_wait: 3, ready: 2, running: 1, leased: 0 });
    expect(reading.attempts).toMatchObject({ success: 8, failure: 7, suspended: 4 });
    expect(reading.attempts.timeout).toBeGreaterThanOrEqual(3);
    expect(reading.tasks).toBe(25);
    expect((await stop(daemon)).code).toBe(0);
  });
});
