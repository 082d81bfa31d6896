/**
 * Attempt-runner throughput: trivial async handlers through the plain path (no
 * timeout), the timeout path (system clock timer per attempt) and the
 * external-signal path. Run: `node --import tsx packages/executor-local/benchmark/attempt-runner.ts`.
 */
import { createIdFactory, systemClock } from "@actionqueue/core";
import { AttemptRunner } from "@actionqueue/executor-local";
import type { AttemptRequest } from "@actionqueue/executor-local";

const N = Number(process.env.N ?? 200_000);
const ids = createIdFactory(systemClock);
const runner = new AttemptRunner({ clock: systemClock });
const base: AttemptRequest = { runId: ids.runId(), attemptId: ids.attemptId(), taskId: ids.taskId(), payload: new Uint8Array(8), attemptNumber: 1, maxAttempts: 3 };
const handler = (): Promise<undefined> => Promise.resolve(undefined);
const shutdown = new AbortController();

async function measure(label: string, request: AttemptRequest): Promise<void> {
  const batch = 1_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += batch) {
    const ps = [];
    for (let j = 0; j < batch; j++) ps.push(runner.run(handler, request));
    await Promise.all(ps);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label.padEnd(28)} ${Math.round(N / s).toLocaleString("en")} attempts/s`);
}

await measure("warm-up", base);
await measure("no timeout", base);
await measure("timeout 5000ms", { ...base, timeoutMs: 5_000 });
await measure("timeout + external signal", { ...base, timeoutMs: 5_000, signal: shutdown.signal });
