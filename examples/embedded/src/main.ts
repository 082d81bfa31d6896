/**
 * `pnpm demo`: the embedded ActionQueue doing a small day's work on a real
 * data directory (`./data` under the working directory, or $AQ_DEMO_DATA).
 *
 * It submits once, repeat, cron, retrying, timing-out, concurrency-keyed,
 * suspending and always-failing tasks, processes them with a live progress
 * line, and prints a summary. Run it again: it reopens the same directory,
 * says what it recovered from disk (snapshot + WAL, runs left in flight by a
 * crash or Ctrl-C), and does a fresh batch on top. Delete the directory to
 * start over.
 */
import { resolve } from "node:path";
import { cronPolicy, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { RunId } from "@actionqueue/core";
import { ActionQueue, TerminalError, exponentialBackoff, suspended } from "@actionqueue/runtime";
import type { HandlerContext, Stats } from "@actionqueue/runtime";

const dataDir = resolve(process.env.AQ_DEMO_DATA ?? "data");
const tty = process.stdout.isTTY === true;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Sleeps, but stops early when the attempt is aborted (timeout, cancel, shutdown). */
const work = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      done();
    });
  });
const jitter = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo));

// ---- handlers, routed by task name -------------------------------------------------------

interface Email {
  readonly to: string;
}
interface Image {
  readonly album: string;
  readonly file: string;
}
interface Payment {
  readonly order: number;
  readonly card: string;
}

const handlers = {
  "send-email": async (ctx: HandlerContext<Email>) => {
    await work(jitter(5, 30), ctx.signal);
    return { delivered: ctx.json().to };
  },
  // One album at a time (concurrency key), many albums in parallel.
  "resize-image": async (ctx: HandlerContext<Image>) => {
    await work(jitter(10, 40), ctx.signal);
    return `${ctx.json().file} → 3 sizes`;
  },
  // The payment provider is flaky: the first attempts often fail, retries back off.
  "charge-card": async (ctx: HandlerContext<Payment>) => {
    const { card } = ctx.json();
    await work(jitter(5, 20), ctx.signal);
    if (card === "expired") throw new TerminalError("card expired: not retrying");
    if (ctx.attemptNumber < ctx.maxAttempts && Math.random() < 0.6) throw new Error(`gateway timeout (attempt ${ctx.attemptNumber})`);
    return { charged: true, attempt: ctx.attemptNumber };
  },
  // Slow on its first attempt: hits its 150 ms timeout and is retried.
  "build-report": async (ctx: HandlerContext) => {
    await work(ctx.attemptNumber === 1 ? 400 : 30, ctx.signal);
    return "report.pdf";
  },
  "sync-inventory": async (ctx: HandlerContext) => {
    await work(jitter(5, 15), ctx.signal);
  },
  "heartbeat-ping": () => undefined,
  // Waits for a human: suspends, and is resumed by resumeRun when "approved".
  "approve-refund": (ctx: HandlerContext) => (ctx.attemptNumber === 1 && !approved.has(ctx.runId) ? suspended("awaiting approval") : "refunded"),
};
const approved = new Set<RunId>();

// ---- open (recover) ----------------------------------------------------------------------

const startedAt = Date.now();
let aq: ActionQueue;
try {
  aq = await ActionQueue.open({
    dataDir,
    handlers,
    concurrency: 16,
    backoff: exponentialBackoff(100, 1_000),
  });
} catch (error) {
  const code = (error as { code?: string }).code;
  console.error(`cannot open ${dataDir}: ${(error as Error).message}${code === "LOCK_HELD" ? "\n(another demo is running on it; wait for it or set AQ_DEMO_DATA)" : ""}`);
  process.exit(1);
}

let interrupted = false;
let closing: Promise<void> | undefined;
process.once("SIGINT", () => {
  interrupted = true;
  process.stdout.write("\ninterrupted: aborting in-flight attempts (recorded as failed attempts, retried on the next run)\n");
  closing = aq.close({ mode: "abort" }).then(() => process.exit(130));
});

const before = aq.stats();
const report = aq.recoveryReport;
console.log(`ActionQueue demo — data directory ${dataDir}`);
if (before.tasks === 0) {
  console.log("fresh data directory: nothing to recover\n");
} else {
  console.log(
    `recovered ${before.tasks} tasks / ${before.runs} runs in ${report.durationMs.toFixed(0)} ms: ` +
      `${report.snapshot ? `snapshot at sequence ${report.snapshot.sequence} + ` : ""}${report.walRecordsReplayed} WAL records replayed` +
      (report.truncations.length > 0 ? `, ${report.truncations.length} torn WAL tail(s) repaired` : ""),
  );
  console.log(`  runs on disk: ${formatStates(before)}`);
  if (report.reconciledRuns.length > 0) {
    const attempts = report.reconciledRuns.filter((r) => r.abandonedAttemptId !== undefined).length;
    const outcomes = new Map<string, number>();
    for (const r of report.reconciledRuns) outcomes.set(r.to, (outcomes.get(r.to) ?? 0) + 1);
    console.log(
      `  ${report.reconciledRuns.length} run(s) were in flight when the last process died: ` +
        `${attempts} attempt(s) closed as abandoned, then by the retry table ${[...outcomes].map(([to, n]) => `${n} → ${to}`).join(", ")}`,
    );
  }
  const leftover = before.runsByState.scheduled + before.runsByState.ready + before.runsByState.retryWait + before.runsByState.suspended;
  console.log(`  ${leftover} unfinished run(s) from earlier sessions will be picked up; submitting a fresh batch on top\n`);
}

// ---- live progress -----------------------------------------------------------------------

const live = { started: 0, completed: 0, failed: 0, retrying: 0, timeouts: 0, suspended: 0, canceled: 0 };
aq.on("attempt:started", () => void (live.started += 1));
aq.on("attempt:finished", (e) => void (e.result === "timeout" && (live.timeouts += 1)));
aq.on("run:completed", () => void (live.completed += 1));
aq.on("run:failed", () => void (live.failed += 1));
aq.on("run:retrying", () => void (live.retrying += 1));
aq.on("run:canceled", () => void (live.canceled += 1));
const approvals: Promise<void>[] = [];
aq.on("run:suspended", (e) => {
  live.suspended += 1;
  // A human approves it a little later.
  approvals.push(
    sleep(300).then(async () => {
      approved.add(e.runId);
      if (!interrupted) await aq.resumeRun(e.runId);
    }),
  );
});

function progressLine(): string {
  const s = aq.stats().runsByState;
  const secs = ((Date.now() - startedAt) / 1000).toFixed(1);
  return (
    `[${secs.padStart(5)}s] attempts ${String(live.started).padStart(4)} | completed ${String(live.completed).padStart(4)} ` +
    `| failed ${live.failed} | retries ${live.retrying} | timeouts ${live.timeouts} | suspended ${live.suspended} ` +
    `| running ${s.running} | waiting ${s.scheduled + s.ready + s.retryWait}`
  );
}
let lastPlain = 0;
const ticker = setInterval(() => {
  // On a terminal: one line rewritten in place (cut to the width so it never wraps).
  if (tty) process.stdout.write(`\r\x1b[K${progressLine().slice(0, Math.max(20, (process.stdout.columns || 120) - 1))}`);
  else if (Date.now() - lastPlain >= 1_000) {
    lastPlain = Date.now();
    console.log(progressLine());
  }
}, 100);

/** One session's work: submit a batch, run until idle, print the summary. */
async function session(): Promise<void> {
  // ---- submit the batch --------------------------------------------------------------------

  aq.start();
  const submitted: Record<string, number> = {};
  const submit = async (label: string, input: Parameters<ActionQueue["submit"]>[0]): Promise<readonly RunId[]> => {
    const { runIds } = await aq.submit(input);
    submitted[label] = (submitted[label] ?? 0) + runIds.length;
    return runIds;
  };

  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i += 1) {
    batch.push(submit("once: send-email", { name: "send-email", runPolicy: oncePolicy(), payload: { to: `user${i}@example.com` } satisfies Email }));
  }
  for (let i = 0; i < 60; i += 1) {
    const album = `album-${i % 4}`;
    batch.push(
      submit("once, keyed: resize-image", {
        name: "resize-image",
        runPolicy: oncePolicy(),
        payload: { album, file: `IMG_${1000 + i}.jpg` } satisfies Image,
        constraints: { concurrencyKey: album },
      }),
    );
  }
  for (let i = 0; i < 25; i += 1) {
    const card = i % 8 === 7 ? "expired" : "visa";
    // The card processor asks for a gentler retry than the queue's default: this task's own backoff.
    const constraints = { maxAttempts: 4, backoff: { kind: "fixed", delayMs: 200 } } as const;
    batch.push(submit("retrying: charge-card", { name: "charge-card", runPolicy: oncePolicy(), payload: { order: i, card } satisfies Payment, constraints }));
  }
  for (let i = 0; i < 5; i += 1) {
    // Delayed jobs: each reminder is due 300 ms + i × 100 ms after it is submitted.
    const startAt = Date.now() + 300 + i * 100;
    batch.push(submit("delayed: send-email", { name: "send-email", runPolicy: { kind: "once", startAt }, payload: { to: `later${i}@example.com` } satisfies Email }));
  }
  for (let i = 0; i < 6; i += 1) {
    batch.push(
      submit("timing out: build-report", {
        name: "build-report",
        runPolicy: oncePolicy(),
        // Two of them get a single attempt: their timeout fails them for good.
        constraints: { timeoutMs: 150, maxAttempts: i < 2 ? 1 : 2 },
        metadata: { priority: 5 },
      }),
    );
  }
  for (let i = 0; i < 8; i += 1) {
    batch.push(submit("repeat 5×250ms: sync-inventory", { name: "sync-inventory", runPolicy: repeatPolicy(5, 250), payload: { warehouse: i } }));
  }
  batch.push(submit("cron every second ×3: heartbeat-ping", { name: "heartbeat-ping", runPolicy: cronPolicy("* * * * * *", { maxOccurrences: 3 }) }));
  for (let i = 0; i < 3; i += 1) batch.push(submit("suspend/resume: approve-refund", { name: "approve-refund", runPolicy: oncePolicy(), payload: { refund: i } }));
  await Promise.all(batch);

  // Change of plan: the last sync of warehouse 0 is not needed after all.
  const sync0 = aq.listTasks({ limit: 10_000 }).tasks.filter((t) => t.name === "sync-inventory").at(-8);
  const lastSync = sync0?.runIds.at(-1);
  if (lastSync !== undefined && aq.getRun(lastSync)?.state === "scheduled") await aq.cancelRun(lastSync);

  // ---- run until idle (waiting out retries, repeats, cron and approvals) -------------------

  await aq.runUntilIdle();
  while (approvals.length > 0) {
    await Promise.all(approvals.splice(0));
    await aq.runUntilIdle();
  }
  clearInterval(ticker);
  if (tty) process.stdout.write(`\r\x1b[K${progressLine()}\n`);
  else console.log(progressLine());

  // ---- summary -----------------------------------------------------------------------------

  const after = aq.stats();
  await aq.close();
  const elapsedMs = Date.now() - startedAt;
  const attemptsNow = sumAttempts(after) - sumAttempts(before);

  console.log("\nsubmitted this session:");
  for (const [label, runs] of Object.entries(submitted)) console.log(`  ${label.padEnd(38)} ${String(runs).padStart(4)} run(s)`);
  console.log("\nruns by state (whole data directory):");
  for (const [state, n] of Object.entries(after.runsByState)) {
    if (n > 0) console.log(`  ${state.padEnd(10)} ${String(n).padStart(6)}`);
  }
  console.log("attempts by result (whole data directory):");
  for (const [result, n] of Object.entries(after.attemptsByResult)) console.log(`  ${result.padEnd(10)} ${String(n).padStart(6)}`);
  console.log(
    `\nthis session: ${attemptsNow} attempts, ${after.runs - before.runs} new runs in ${(elapsedMs / 1000).toFixed(2)} s ` +
      `(${Math.round((attemptsNow * 1000) / Math.max(1, elapsedMs))} attempts/s; the wall time includes handler work and waiting for repeats, cron, backoff and approvals)`,
  );
  const unfinished = after.runsByState.scheduled + after.runsByState.ready + after.runsByState.leased + after.runsByState.running + after.runsByState.retryWait + after.runsByState.suspended;
  console.log(
    unfinished === 0
      ? "every run is terminal. Run `pnpm demo` again to reopen this directory and see what it recovers."
      : `${unfinished} run(s) are not terminal yet (scheduled beyond the idle horizon); a later run picks them up.`,
  );
}

try {
  await session();
} catch (error) {
  // After Ctrl-C the queue is closing under our feet: let the SIGINT handler finish and exit.
  if (!interrupted) throw error;
  await closing;
}

function sumAttempts(s: Stats): number {
  const a = s.attemptsByResult;
  return a.success + a.failure + a.timeout + a.suspended;
}

function formatStates(s: Stats): string {
  return Object.entries(s.runsByState)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
}
