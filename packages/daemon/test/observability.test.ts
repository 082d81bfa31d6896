// /metrics parses as valid Prometheus exposition and agrees with
// /api/v1/stats (also after a restart); the SSE stream delivers a run's
// events in order.
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, api, cleanup, eventually, startReady, stop } from "./helpers.js";
import { STATE_LABELS, parseExposition, sampleValue } from "./exposition.js";

afterEach(() => cleanup());

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function expectAgreement(url: string): Promise<void> {
  const stats = (await api(url, "/api/v1/stats")).body as {
    tasks: number;
    runsByState: Record<string, number>;
    attemptsByResult: Record<string, number>;
    latestSequence: number;
  };
  const samples = await scrape(url);
  for (const [key, label] of Object.entries(STATE_LABELS)) {
    expect(sampleValue(samples, "actionqueue_runs", { state: label }), label).toBe(stats.runsByState[key]);
  }
  for (const result of ["success", "failure", "timeout", "suspended"]) {
    expect(sampleValue(samples, "actionqueue_attempts_total", { result }), result).toBe(stats.attemptsByResult[result]);
  }
  expect(sampleValue(samples, "actionqueue_tasks")).toBe(stats.tasks);
  expect(sampleValue(samples, "actionqueue_wal_latest_sequence")).toBe(stats.latestSequence);
}

describe("metrics", () => {
  it("valid exposition with every family; agrees with /api/v1/stats before and after a restart", async () => {
    const daemon = await startReady();
    const post = (body: unknown) => api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body });
    const submitted = await Promise.all([
      ...Array.from({ length: 6 }, () => post({ runPolicy: "once" })),
      post({ name: "flaky", runPolicy: "once", constraints: { maxAttempts: 1 } }),
      post({ runPolicy: "repeat:2:1h" }),
    ]);
    const all = submitted.flatMap((r) => r.body.runIds as string[]);
    const canceled = (submitted[7]!.body.runIds as string[])[1]!;
    await api(daemon.url, `/api/v1/runs/${canceled}/cancel`, { method: "POST", headers: AUTH });
    await eventually(async () => {
      const s = (await api(daemon.url, "/api/v1/stats")).body;
      return s.runsByState.completed === 7 && s.runsByState.failed === 1 && s.runsByState.canceled === 1 ? true : undefined;
    });
    expect(all).toHaveLength(9);
    // Counters move when an outcome is durable, the state a moment earlier when it is applied: wait for the writes to settle.
    const samples = await eventually(async () => {
      const s = await scrape(daemon.url);
      return sampleValue(s, "actionqueue_attempts_total", { result: "success" }) === 7 && sampleValue(s, "actionqueue_attempts_total", { result: "failure" }) === 1
        ? s
        : undefined;
    });
    for (const family of [
      "actionqueue_scheduling_lag_seconds_count",
      "actionqueue_handler_duration_seconds_count",
      "actionqueue_lease_expirations_total",
      "actionqueue_wal_appends_total",
      "actionqueue_wal_fsyncs_total",
      "actionqueue_wal_bytes_written_total",
      "actionqueue_wal_bytes_preallocated_total",
      "actionqueue_wal_size_bytes",
      "actionqueue_recovery_duration_seconds",
      "process_cpu_user_seconds_total",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(samples.some((s) => s.name === family), family).toBe(true);
    }
    expect(sampleValue(samples, "actionqueue_scheduling_lag_seconds_count")).toBe(8);
    expect(sampleValue(samples, "actionqueue_handler_duration_seconds_count", { result: "failure" })).toBe(1);
    expect(sampleValue(samples, "actionqueue_wal_appends_total")).toBeGreaterThan(0);
    // Group commit: never more fsyncs than records, and bytes for every record.
    expect(sampleValue(samples, "actionqueue_wal_fsyncs_total")).toBeGreaterThan(0);
    expect(sampleValue(samples, "actionqueue_wal_fsyncs_total")!).toBeLessThanOrEqual(sampleValue(samples, "actionqueue_wal_appends_total")!);
    expect(sampleValue(samples, "actionqueue_wal_bytes_written_total")!).toBeGreaterThan(sampleValue(samples, "actionqueue_wal_appends_total")!);
    await expectAgreement(daemon.url);
    const walSize = sampleValue(samples, "actionqueue_wal_size_bytes")!;
    expect(walSize).toBeGreaterThan(0);
    // The segment is kept zero-filled ahead of its data: the first fill alone is 64 KiB.
    expect(sampleValue(samples, "actionqueue_wal_bytes_preallocated_total")!).toBeGreaterThanOrEqual(60 * 1024);
    expect(walSize).toBeGreaterThanOrEqual(64 * 1024);
    expect((await stop(daemon)).code).toBe(0);

    const again = await startReady({ dataDir: daemon.dataDir });
    await expectAgreement(again.url);
    const after = await scrape(again.url);
    // Counters were seeded from the durable history: they did not restart at 0.
    expect(sampleValue(after, "actionqueue_attempts_total", { result: "success" })).toBe(7);
    expect(sampleValue(after, "actionqueue_recovery_duration_seconds")).toBeGreaterThan(0);
    expect((await stop(again)).code).toBe(0);
  });
});

interface SseMessage {
  readonly id: number;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads SSE messages from `url` until `until` returns true (or the timeout). */
async function readEvents(url: string, until: (messages: readonly SseMessage[]) => boolean, onOpen: () => Promise<void>): Promise<SseMessage[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const res = await fetch(url, { signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const messages: SseMessage[] = [];
  let buffer = "";
  let opened = false;
  try {
    while (!until(messages)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
        }
        if (fields.event !== undefined) messages.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data ?? "null") });
      }
      if (!opened) {
        opened = true;
        await onOpen();
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return messages;
}

describe("events (SSE)", () => {
  it("delivers the events of a run in order", async () => {
    const daemon = await startReady();
    let runId = "";
    let taskId = "";
    const messages = await readEvents(
      `${daemon.url}/api/v1/events`,
      (ms) => ms.some((m) => m.event === "run:completed" && m.data.runId === runId),
      async () => {
        const res = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { runPolicy: "once", payload: { n: 1 } } });
        taskId = res.body.taskId as string;
        runId = (res.body.runIds as string[])[0]!;
      },
    );
    const ids = messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const ofRun = messages.filter((m) => m.data.runId === runId || m.data.taskId === taskId);
    const names = ofRun.map((m) => m.event);
    expect(names[0]).toBe("task:submitted");
    expect(names).toEqual(["task:submitted", "run:ready", "attempt:started", "attempt:finished", "run:completed"]);
    const started = ofRun.find((m) => m.event === "attempt:started")!;
    const finished = ofRun.find((m) => m.event === "attempt:finished")!;
    expect(finished.data).toMatchObject({ runId, attemptId: started.data.attemptId, result: "success" });
    expect(typeof started.data.lagMs).toBe("number");
    expect((await stop(daemon)).code).toBe(0);
  });

  it("?events= filters the stream; an unknown event name is 400", async () => {
    const daemon = await startReady();
    const bad = await api(daemon.url, "/api/v1/events?events=run:exploded");
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("events");
    let runId = "";
    const messages = await readEvents(
      `${daemon.url}/api/v1/events?events=run:completed`,
      (ms) => ms.some((m) => m.data.runId === runId),
      async () => {
        const res = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { runPolicy: "once" } });
        runId = (res.body.runIds as string[])[0]!;
      },
    );
    expect(new Set(messages.map((m) => m.event))).toEqual(new Set(["run:completed"]));
    // An open stream does not hold up shutdown.
    expect((await stop(daemon)).code).toBe(0);
  });
});
