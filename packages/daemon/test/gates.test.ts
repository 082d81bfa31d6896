/**
 * The daemon opens its queue with the dispatch gates its handler module
 * exports as `gates`: a real daemon process, a real socket, a gate that lets
 * one task through, and the other explained as held by it over HTTP.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AUTH, TOKEN, api, cleanup, eventually, spawnDaemon, stop, tempDir, waitReady } from "./helpers.js";

afterAll(cleanup);

describe("a handler module's gates", () => {
  it("hold runs in the daemon's queue, and explain says which gate", async () => {
    const dir = tempDir();
    const module = join(dir, "gated.mjs");
    writeFileSync(
      module,
      [
        "let admitted = 0;",
        "export default () => undefined;",
        'export const gates = [{ name: "one-only", admit: () => (admitted >= 1 ? { reason: "one task per process" } : undefined), dispatched: () => { admitted += 1; } }];',
      ].join("\n"),
    );
    const daemon = await spawnDaemon(["--data-dir", join(dir, "data"), "--bind", "127.0.0.1:0", "--handler", module, "--log-level", "silent"], { ACTIONQUEUE_TOKEN: TOKEN });
    try {
      await waitReady(daemon.url);
      const runIds: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await api(daemon.url, "/api/v1/tasks", { method: "POST", headers: AUTH, body: { runPolicy: "once" } });
        expect(res.status).toBe(201);
        runIds.push((res.body as { runIds: string[] }).runIds[0]!);
      }
      const states = await eventually(async () => {
        const got = await Promise.all(runIds.map(async (id) => (await api(daemon.url, `/api/v1/runs/${id}`)).body.state as string));
        return got.includes("completed") ? got : undefined;
      });
      expect([...states].sort()).toEqual(["completed", "ready"]);
      const held = runIds[states.indexOf("ready")]!;
      const explain = await api(daemon.url, `/api/v1/runs/${held}/explain`);
      expect(explain.body).toMatchObject({ kind: "gateHeld", gate: "one-only", reason: "one task per process" });
    } finally {
      await stop(daemon);
    }
  });
});
