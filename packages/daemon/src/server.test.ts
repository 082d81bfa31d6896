// Unit tests of the fastify app through inject(), over a real queue on a
// temporary data directory: every route's happy path and its errors.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ActionQueue } from "@actionqueue/runtime";
import { DaemonMetrics } from "./metrics.js";
import { createServer } from "./server.js";
import { EventHub } from "./sse.js";
import { createDaemonState } from "./state.js";
import type { DaemonState } from "./state.js";

const TOKEN = "test-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const UNKNOWN_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

let dir: string;
let queue: ActionQueue;
let state: DaemonState;
let app: FastifyInstance;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "aq-daemon-unit-"));
  queue = await ActionQueue.open({ dataDir: dir, handler: async () => "done" });
  state = createDaemonState(queue);
  const metrics = new DaemonMetrics(state, { processMetrics: false });
  metrics.attach(queue);
  app = createServer({ state, auth: { token: TOKEN }, metrics, events: new EventHub(), bodyLimitBytes: 4096 });
});

afterEach(async () => {
  await app.close();
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(body: unknown = { runPolicy: "once", payload: { n: 1 } }) {
  const res = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: AUTH, payload: body as object });
  return { status: res.statusCode, body: res.json() };
}

describe("probes", () => {
  it("healthz and ready", async () => {
    expect((await app.inject("/healthz")).json()).toEqual({ status: "ok" });
    expect((await app.inject("/ready")).statusCode).toBe(200);
    state.phase = "recovering";
    const notReady = await app.inject("/ready");
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: "recovering" });
    const stats = await app.inject("/api/v1/stats");
    expect(stats.statusCode).toBe(503);
    expect(stats.json().error.code).toBe("NOT_READY");
  });
});

describe("reads", () => {
  it("stats, task list/get, run list/get/explain", async () => {
    const { status, body } = await submit();
    expect(status).toBe(201);
    const taskId = body.taskId as string;
    const runId = (body.runIds as string[])[0]!;
    const stats = (await app.inject("/api/v1/stats")).json();
    expect(stats.tasks).toBe(1);
    expect(stats.runsByState.ready + stats.runsByState.scheduled).toBe(1);
    const tasks = (await app.inject("/api/v1/tasks")).json();
    expect(tasks.tasks).toHaveLength(1);
    expect(tasks.tasks[0].payload).toBe(Buffer.from('{"n":1}').toString("base64"));
    const task = (await app.inject(`/api/v1/tasks/${taskId}`)).json();
    expect(task.taskId).toBe(taskId);
    expect(task.runIds).toEqual([runId]);
    const runs = (await app.inject(`/api/v1/runs?taskId=${taskId}&limit=10`)).json();
    expect(runs.runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    const run = (await app.inject(`/api/v1/runs/${runId}`)).json();
    expect(run.runId).toBe(runId);
    expect(run.history[0].from).toBeNull();
    const explain = (await app.inject(`/api/v1/runs/${runId}/explain`)).json();
    expect(explain.runId).toBe(runId);
  });

  it("cursor pagination and the state filter", async () => {
    for (let i = 0; i < 3; i++) await submit();
    const first = (await app.inject("/api/v1/runs?limit=2")).json();
    expect(first.runs).toHaveLength(2);
    expect(typeof first.nextCursor).toBe("string");
    const second = (await app.inject(`/api/v1/runs?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.runs).toHaveLength(1);
    expect(second.nextCursor).toBeUndefined();
    const done = (await app.inject("/api/v1/runs?state=completed")).json();
    expect(done.runs).toHaveLength(0);
    const tasks = (await app.inject("/api/v1/tasks?limit=1")).json();
    expect(tasks.tasks).toHaveLength(1);
    expect(tasks.nextCursor).toBe(tasks.tasks[0].taskId);
  });

  it("400 naming the field, 404 for unknown ids and routes", async () => {
    const cases: Array<[string, string, string]> = [
      ["/api/v1/tasks/not-an-id", "INVALID_ID", "id"],
      ["/api/v1/runs/not-an-id", "INVALID_ID", "id"],
      ["/api/v1/runs/nope/explain", "INVALID_ID", "id"],
      ["/api/v1/runs?limit=0", "INVALID_FIELD", "limit"],
      ["/api/v1/runs?limit=abc", "INVALID_FIELD", "limit"],
      ["/api/v1/runs?state=sleeping", "INVALID_FIELD", "state"],
      ["/api/v1/runs?taskId=zzz", "INVALID_ID", "taskId"],
      ["/api/v1/runs?cursor=zzz", "INVALID_ID", "cursor"],
      ["/api/v1/runs?stat=ready", "INVALID_FIELD", "stat"],
      ["/api/v1/tasks?limit=10001", "INVALID_FIELD", "limit"],
      // Routes that take no query parameters refuse any, as the list routes refuse an unknown one.
      ["/api/v1/stats?x=1", "INVALID_FIELD", "x"],
      [`/api/v1/tasks/${UNKNOWN_ULID}?limit=1`, "INVALID_FIELD", "limit"],
      [`/api/v1/runs/${UNKNOWN_ULID}?verbose`, "INVALID_FIELD", "verbose"],
      [`/api/v1/runs/${UNKNOWN_ULID}/explain?y=2`, "INVALID_FIELD", "y"],
    ];
    for (const [url, code, field] of cases) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe(code);
      expect(res.json().error.field, url).toBe(field);
      expect(res.json().error.message, url).toContain(field);
    }
    for (const url of [`/api/v1/tasks/${UNKNOWN_ULID}`, `/api/v1/runs/${UNKNOWN_ULID}`, `/api/v1/runs/${UNKNOWN_ULID}/explain`]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe("NOT_FOUND");
    }
    const missing = await app.inject("/api/v2/nothing");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("ROUTE_NOT_FOUND");
  });
});

describe("the nil id, and reads that change nothing", () => {
  const NIL_ULID = "0".repeat(26);

  it("the nil id is a bad id, not an unknown one: 400 INVALID_ID naming the field and the id, on every route that takes an id", async () => {
    // A well-formed ULID, but no task or run can have it: core refuses to create one.
    const requests: Array<["GET" | "POST", string, string]> = [
      ["GET", `/api/v1/tasks/${NIL_ULID}`, "id"],
      ["GET", `/api/v1/runs/${NIL_ULID}`, "id"],
      ["GET", `/api/v1/runs/${NIL_ULID}/explain`, "id"],
      ["GET", `/api/v1/runs?taskId=${NIL_ULID}`, "taskId"],
      ["POST", `/api/v1/tasks/${NIL_ULID}/cancel`, "id"],
      ["POST", `/api/v1/runs/${NIL_ULID}/cancel`, "id"],
      ["POST", `/api/v1/runs/${NIL_ULID}/resume`, "id"],
    ];
    for (const [method, url, field] of requests) {
      const res = await app.inject({ method, url, headers: AUTH });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error, url).toMatchObject({ code: "INVALID_ID", field });
      expect(res.json().error.message, url).toContain(field);
      expect(res.json().error.message, url).toContain(NIL_ULID);
    }
  });

  it("read routes are read-only: repeated GETs answer identical bodies and leave stats and the WAL as they were", async () => {
    const once = await submit();
    const repeat = await submit({ runPolicy: "repeat:2:1h" });
    const canceled = (repeat.body.runIds as string[])[1]!;
    expect((await app.inject({ method: "POST", url: `/api/v1/runs/${canceled}/cancel`, headers: AUTH })).statusCode).toBe(200);
    const taskId = once.body.taskId as string;
    const runId = (once.body.runIds as string[])[0]!;
    const urls = [
      "/api/v1/stats",
      "/api/v1/tasks",
      `/api/v1/tasks/${taskId}`,
      "/api/v1/runs",
      "/api/v1/runs?limit=1",
      "/api/v1/runs?state=canceled",
      `/api/v1/runs?taskId=${repeat.body.taskId as string}`,
      `/api/v1/runs/${runId}`,
      `/api/v1/runs/${runId}/explain`,
      `/api/v1/runs/${canceled}/explain`,
      `/api/v1/runs/${UNKNOWN_ULID}`,
      `/api/v1/runs/${"0".repeat(26)}`,
    ];
    const stats = queue.stats();
    const appended = queue.walStats().recordsAppended;
    const read = async (): Promise<string[]> => Promise.all(urls.map(async (url) => (await app.inject(url)).body));
    const first = await read();
    for (let i = 0; i < 3; i++) expect(await read()).toEqual(first);
    expect(JSON.parse(first[0]!)).toEqual(stats);
    expect(queue.stats()).toEqual(stats);
    expect(queue.walStats().recordsAppended).toBe(appended);
  });
});

describe("control", () => {
  it("submit validation: 400 naming the field, 413, 415, bad JSON", async () => {
    const unknownKey = await submit({ runPolicy: "once", maxAttempts: 3 });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.body.error.code).toBe("UNKNOWN_FIELD");
    expect(unknownKey.body.error.field).toBe("body.maxAttempts");
    const noPolicy = await submit({ payload: 1 });
    expect(noPolicy.status).toBe(400);
    expect(noPolicy.body.error.field).toBe("runPolicy");
    const badTaskId = await submit({ runPolicy: "once", taskId: "x" });
    expect(badTaskId.body.error.field).toBe("taskId");
    const badConstraint = await submit({ runPolicy: "once", constraints: { maxAttempts: 0 } });
    expect(badConstraint.status).toBe(400);
    expect(badConstraint.body.error.message).toMatch(/maxAttempts/);
    const big = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: AUTH, payload: { runPolicy: "once", payload: "x".repeat(5000) } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe("PAYLOAD_TOO_LARGE");
    const text = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: { ...AUTH, "content-type": "text/plain" }, payload: "once" });
    expect(text.statusCode).toBe(415);
    const broken = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: { ...AUTH, "content-type": "application/json" }, payload: "{nope" });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe("INVALID_JSON");
  });

  it("an empty JSON body counts as no body; prototype poisoning is refused", async () => {
    const json = { ...AUTH, "content-type": "application/json" };
    const pause = await app.inject({ method: "POST", url: "/api/v1/engine/pause", headers: json, payload: "" });
    expect(pause.json()).toEqual({ status: "paused" });
    const empty = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: json, payload: "" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.field).toBe("body");
    const poisoned = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: json, payload: '{"runPolicy":"once","__proto__":{"x":1}}' });
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().error).toEqual({ code: "INVALID_FIELD", field: "body.__proto__", message: expect.stringContaining('valid JSON, but the key "__proto__" is refused') });
    // Nested, escaped, and constructor.prototype: refused by path; constructor alone is just an unknown key.
    const refusals: Array<[string, string]> = [
      ['{"runPolicy":"once","metadata":{"\\u005f_proto__":{}}}', "metadata.__proto__"],
      ['{"runPolicy":"once","constraints":{"constructor":{"prototype":{}}}}', "constraints.constructor.prototype"],
      ['[{"a":[{"__proto__":1}]}]', "body.0.a.0.__proto__"],
    ];
    for (const [payload, field] of refusals) {
      const res = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: json, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error, payload).toMatchObject({ code: "INVALID_FIELD", field, message: expect.stringContaining(field) });
    }
    const ctor = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: json, payload: '{"runPolicy":"once","constructor":1}' });
    expect(ctor.json().error).toMatchObject({ code: "UNKNOWN_FIELD", field: "body.constructor" });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("paths the router refuses get the envelope: bad percent-encoding and over-long ids", async () => {
    for (const [method, url] of [["GET", "/api/v1/runs/%E0%A4%A/explain"], ["POST", "/api/v1/runs/%E0%A4%A/cancel"], ["GET", "/api/v1/tasks/abc%"]] as const) {
      const res = await app.inject({ method, url, headers: AUTH });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error, url).toMatchObject({ code: "INVALID_ID", field: "id", message: expect.stringMatching(/"(%E0%A4%A|abc%)" is not valid percent-encoding/) });
    }
    const elsewhere = await app.inject("/api/v1/%ZZ/stats");
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json()).toEqual({ error: { code: "BAD_REQUEST", message: expect.stringContaining('path segment "%ZZ"') } });
    // Up to 512 characters the id reaches the route's validation, which names it in full.
    const long = "A".repeat(300);
    const named = await app.inject(`/api/v1/tasks/${long}`);
    expect(named.statusCode).toBe(400);
    expect(named.json().error).toMatchObject({ code: "INVALID_ID", field: "id", message: expect.stringContaining(`"${long}"`) });
    // Longer still: refused by the router, but as a bad id, never 414.
    const over = await app.inject({ method: "POST", url: `/api/v1/runs/${"A".repeat(600)}/cancel`, headers: AUTH });
    expect(over.statusCode).toBe(400);
    expect(over.json().error).toMatchObject({ code: "INVALID_ID", field: "id", message: expect.stringContaining("600 characters") });
    const unrouted = await app.inject(`/api/v1/runs/${"A".repeat(600)}/nope`);
    expect(unrouted.statusCode).toBe(404);
    expect(unrouted.json().error.code).toBe("ROUTE_NOT_FOUND");
  });

  it("purge removes finished tasks; options are checked by name; it needs the token", async () => {
    expect((await submit()).status).toBe(201);
    await queue.runUntilIdle();
    const json = { ...AUTH, "content-type": "application/json" };
    const unknown = await app.inject({ method: "POST", url: "/api/v1/purge", headers: json, payload: { olderThan: 5 } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: "INVALID_FIELD", field: "body.olderThan" });
    const bad = await app.inject({ method: "POST", url: "/api/v1/purge", headers: json, payload: { olderThanMs: -1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain("olderThanMs -1");
    expect((await app.inject({ method: "POST", url: "/api/v1/purge" })).statusCode).toBe(401);
    expect(queue.stats().tasks).toBe(1);
    const kept = await app.inject({ method: "POST", url: "/api/v1/purge", headers: json, payload: { olderThanMs: 3_600_000 } });
    expect(kept.json()).toEqual({ tasks: 0, runs: 0 });
    const purged = await app.inject({ method: "POST", url: "/api/v1/purge", headers: AUTH });
    expect(purged.statusCode).toBe(200);
    expect(purged.json()).toEqual({ tasks: 1, runs: 1 });
    expect(queue.stats().tasks).toBe(0);
  });

  it("idempotent submit with a taskId", async () => {
    const taskId = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    const first = await submit({ runPolicy: "once", taskId });
    expect(first.status).toBe(201);
    const again = await submit({ runPolicy: "once", taskId });
    expect(again.status).toBe(200);
    expect(again.body.existing).toBe(true);
    const clash = await submit({ runPolicy: "repeat:2:1s", taskId });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe("TASK_SPEC_MISMATCH");
  });

  it("401 without a token, 403 with a wrong one", async () => {
    const none = await app.inject({ method: "POST", url: "/api/v1/engine/pause" });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("UNAUTHORIZED");
    const wrong = await app.inject({ method: "POST", url: "/api/v1/engine/pause", headers: { authorization: "Bearer wrong-token-0000000000" } });
    expect(wrong.statusCode).toBe(403);
    const basic = await app.inject({ method: "POST", url: "/api/v1/engine/pause", headers: { authorization: "Basic abc" } });
    expect(basic.statusCode).toBe(401);
    expect(queue.stats().paused).toBe(false);
  });

  it("checks the token before reading the body: no 413 or 415 for a client without one", async () => {
    const big = { runPolicy: "once", payload: "x".repeat(5000) };
    const none = await app.inject({ method: "POST", url: "/api/v1/tasks", payload: big });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("UNAUTHORIZED");
    const wrong = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: { authorization: "Bearer wrong-token-0000000000" }, payload: big });
    expect(wrong.statusCode).toBe(403);
    const text = await app.inject({ method: "POST", url: "/api/v1/tasks", headers: { "content-type": "text/plain" }, payload: "once" });
    expect(text.statusCode).toBe(401);
    expect(queue.stats().tasks).toBe(0);
  });

  it("refuses query parameters on control routes, which take none", async () => {
    const res = await app.inject({ method: "POST", url: "/api/v1/engine/pause?force=1", headers: AUTH });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: "INVALID_FIELD", field: "force", message: 'unknown query parameter "force"' });
    expect(queue.stats().paused).toBe(false);
  });

  it("403 with a how-to message when no token is configured, open with --allow-unauthenticated-control", async () => {
    const closed = createServer({ state, auth: {} });
    const res = await closed.inject({ method: "POST", url: "/api/v1/engine/pause" });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/--token-file/);
    expect(res.json().error.message).toMatch(/ACTIONQUEUE_TOKEN/);
    await closed.close();
    const open = createServer({ state, auth: { allowUnauthenticatedControl: true } });
    expect((await open.inject({ method: "POST", url: "/api/v1/engine/pause" })).json()).toEqual({ status: "paused" });
    await open.close();
  });

  it("pause/resume, cancel run/task, resume run", async () => {
    const post = async (url: string) => {
      const res = await app.inject({ method: "POST", url, headers: AUTH });
      return { status: res.statusCode, body: res.json() };
    };
    expect((await post("/api/v1/engine/resume")).body).toEqual({ status: "alreadyResumed" });
    expect((await post("/api/v1/engine/pause")).body).toEqual({ status: "paused" });
    expect((await post("/api/v1/engine/pause")).body).toEqual({ status: "alreadyPaused" });
    expect((await app.inject("/api/v1/stats")).json().paused).toBe(true);
    const a = await submit();
    const b = await submit({ runPolicy: "repeat:2:1h" });
    const runA = (a.body.runIds as string[])[0]!;
    const cancel = await post(`/api/v1/runs/${runA}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe("canceled");
    expect((await post(`/api/v1/runs/${runA}/cancel`)).body.status).toBe("alreadyCanceled");
    const resume = await post(`/api/v1/runs/${runA}/resume`);
    expect(resume.status).toBe(409);
    expect(resume.body.error.code).toBe("INVALID_TRANSITION");
    const task = await post(`/api/v1/tasks/${b.body.taskId as string}/cancel`);
    expect(task.body).toEqual({ taskId: b.body.taskId, status: "canceled", canceledRuns: 2 });
    expect((await post(`/api/v1/tasks/${b.body.taskId as string}/cancel`)).body.status).toBe("alreadyCanceled");
    expect((await post(`/api/v1/runs/${UNKNOWN_ULID}/cancel`)).status).toBe(404);
    expect((await post(`/api/v1/tasks/${UNKNOWN_ULID}/cancel`)).status).toBe(404);
    expect((await post(`/api/v1/runs/${UNKNOWN_ULID}/resume`)).status).toBe(404);
    expect((await post(`/api/v1/runs/bad/cancel`)).status).toBe(400);
    expect((await post("/api/v1/engine/resume")).body).toEqual({ status: "resumed" });
  });
});

describe("metrics", () => {
  it("exposes runs by state (all nine) and attempt counters", async () => {
    await submit();
    const res = await app.inject("/metrics");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/);
    for (const state of ["scheduled", "ready", "leased", "running", "retry_wait", "suspended", "completed", "failed", "canceled"]) {
      expect(res.body).toContain(`actionqueue_runs{state="${state}"}`);
    }
    expect(res.body).toContain('actionqueue_attempts_total{result="success"} 0');
    expect(res.body).toContain("# TYPE actionqueue_attempts_total counter");
    const again = await app.inject("/metrics");
    expect(again.body).toMatch(/actionqueue_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/tasks",status="201"\} 1/);
    await app.inject("/no/such/route/123");
    expect((await app.inject("/metrics")).body).toContain('route="unmatched"');
  });
});
