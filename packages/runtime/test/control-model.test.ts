/**
 * A model-based property test of the public control surface. fast-check
 * generates interleavings of submit (once or repeat, maybe a concurrency key
 * with either hold policy, maxAttempts 1–3, and per attempt a scripted outcome
 * — ok, a thrown Error, a TerminalError — and a duration), cancelTask,
 * cancelRun, pause, resume, a few event-loop turns, runUntilIdle, advancing the
 * ManualClock, and restarts (close in drain or abort mode, then open the same
 * directory with the same handler, started or not). Each case also picks the
 * concurrency, a zero or 100 ms backoff, the lease length and whether
 * snapshots are written (on the loop or in a worker). Against a real data
 * directory it checks after every step:
 *
 * - every task has exactly the runs its policy implies;
 * - the handler is called only for its run's current, running attempt, at
 *   most once per attempt, never for a run already seen terminal, never beyond
 *   the concurrency, and never while another run holds the attempt's key (a
 *   handler counts as running until it returns or its signal aborts);
 * - no run has more attempts than maxAttempts; every recorded attempt is the
 *   scripted outcome of its attempt number, or "attempt canceled (shutdown)"
 *   for exactly the attempts an abort-mode close found in flight; the run's
 *   state is the one the retry table implies for that sequence;
 * - a run seen terminal never changes again; exactly the runs a successful
 *   cancel call found non-terminal end canceled, and a running one's handler
 *   saw its signal abort with reason "cancel";
 * - at most one run holds each key (leased or running, and under
 *   holdDuringRetry also a run between attempts), and explain() names that
 *   run as the holder blocking a ready run of the key;
 * - while paused no attempt is created (in-flight handlers only finish);
 * - stats() agrees with listRuns()/listTasks();
 * - a close leaves nothing running, what is on disk equals what the closed
 *   queue showed, and the reopened queue shows it without reconciling anything.
 *
 * What is guaranteed about handler calls, exactly: a call is always for a
 * distinct durable attempt (never more calls than attempts). With graceful
 * closes (no kill -9 here) the only attempts the handler never sees are those
 * an abort-mode close aborted before their start was durable and the open
 * attempt of a run canceled before its start was durable; this is checked
 * whenever the queue is idle. At-least-once shows only as extra attempts: an
 * interrupted attempt counts toward maxAttempts, and the run retries.
 *
 * At the end (resume, run everything due, one more restart) every run is
 * terminal in the state the retry table implies, and the restart changes
 * nothing. A failure prints the seed, the path and the shrunk command list;
 * AQ_MODEL_SEED replays a seed, AQ_MODEL_RUNS / AQ_MODEL_COMMANDS make a soak.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock, oncePolicy, repeatPolicy } from "@actionqueue/core";
import type { AttemptId, ConcurrencyKeyHoldPolicy, RunId, TaskId } from "@actionqueue/core";
import { ActionQueue, TerminalError, fixedBackoff } from "@actionqueue/runtime";
import type { HandlerContext, RunView } from "@actionqueue/runtime";
import { allRuns, codeOf, openQueue, tempDir, text } from "./helpers.js";

type Outcome = "ok" | "retry" | "terminal";
type Snapshots = "off" | "onLoop" | "inWorker";
/** How long an attempt takes: returns at once, after one setImmediate, or after a 1 ms or 6 ms timer (real time). */
type Delay = "sync" | "turn" | "timer" | "slow";

interface TaskPlan {
  /** Absent: a once task. */
  readonly repeat: { readonly count: number; readonly intervalMs: number } | undefined;
  readonly maxAttempts: number;
  readonly key: string | undefined;
  readonly hold: ConcurrencyKeyHoldPolicy;
  /** What attempt n does is `steps[n - 1]` (three steps cover maxAttempts ≤ 3). */
  readonly steps: readonly (readonly [Outcome, Delay])[];
}

/** The payload the handler reads its script from: the test's plan travels with the task, so it survives restarts. */
interface Payload {
  readonly steps: readonly (readonly [Outcome, Delay])[];
  readonly key: string | null;
}

const SHUTDOWN_ERROR = "attempt canceled (shutdown)";
const TERMINAL: ReadonlySet<string> = new Set(["completed", "failed", "canceled"]);

/** One call of the handler, as the handler saw it. */
interface Call {
  readonly runId: RunId;
  /** Set when the attempt's signal aborted (at any time, also after the handler returned). */
  abortReason: string | undefined;
  /** Returned, threw or saw its signal abort: no longer counted as running. */
  ended: boolean;
}

interface SubmittedTask {
  readonly taskId: TaskId;
  readonly runIds: readonly RunId[];
}

/** What the recorded attempt n should say, and what the retry table decides after it. */
function expectedAttempt(
  plan: TaskPlan,
  n: number,
  aborted: boolean,
): { record: { result: string; error: string | undefined; output: string | undefined }; decision: "complete" | "fail" | "retry" } {
  const capped = (d: "retry" | "fail"): "retry" | "fail" => (d === "retry" && n >= plan.maxAttempts ? "fail" : d);
  if (aborted) return { record: { result: "failure", error: SHUTDOWN_ERROR, output: undefined }, decision: capped("retry") };
  const outcome = plan.steps[n - 1]![0];
  if (outcome === "ok") return { record: { result: "success", error: undefined, output: `ok #${n}` }, decision: "complete" };
  if (outcome === "terminal") return { record: { result: "failure", error: `terminal #${n}`, output: undefined }, decision: "fail" };
  return { record: { result: "failure", error: `retry #${n}`, output: undefined }, decision: capped("retry") };
}

/** True when `run` holds its key by the documented rule (guarantee 4 of the README). */
function holdsKey(run: RunView, hold: ConcurrencyKeyHoldPolicy): boolean {
  if (run.state === "leased" || run.state === "running") return true;
  // Between attempts (retrying, or ready again after a failed attempt) the key stays with the run under holdDuringRetry.
  if (hold === "holdDuringRetry") return run.state === "retryWait" || run.state === "suspended" || (run.state === "ready" && run.attempts.length > 0);
  return false;
}

/** Resolves with `promise`, or fails the case when it hangs (a hang is a finding, not a test timeout). */
async function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `delay` (real time: the queue's ManualClock does not move it), or rejects as soon as `signal` aborts. */
function delayOrAbort(delay: Exclude<Delay, "sync">, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      if (delay === "turn") clearImmediate(handle as NodeJS.Immediate);
      else clearTimeout(handle as NodeJS.Timeout);
      reject(new Error("aborted"));
    };
    const done = (): void => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const handle: NodeJS.Immediate | NodeJS.Timeout = delay === "turn" ? setImmediate(done) : setTimeout(done, delay === "timer" ? 1 : 6);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The system under test plus everything the test knows about it. */
class Harness {
  readonly dataDir = tempDir("aq-model-");
  readonly clock: ManualClock;
  readonly snapshots: Snapshots;
  readonly backoffMs: number;
  readonly leaseTimeoutMs: number;
  q!: ActionQueue;
  concurrency: number;
  readonly tasks: SubmittedTask[] = [];
  readonly planOfRun = new Map<RunId, TaskPlan>();
  readonly calls = new Map<AttemptId, Call>();
  /** Runs seen terminal, with the view they had then (a terminal run never changes again). */
  readonly terminalSeen = new Map<RunId, RunView>();
  /** Runs a successful cancel call found non-terminal: exactly these end canceled. */
  readonly expectCanceled = new Set<RunId>();
  readonly canceledTasks = new Set<TaskId>();
  /** Attempts in flight when an abort-mode close began: each records the shutdown failure. */
  readonly shutdownAborted = new Set<AttemptId>();
  paused = false;
  /** While paused: the attempts that existed when pause() took effect (no others may appear). */
  frozenAttempts: ReadonlySet<AttemptId> | undefined;
  /** Handlers running now, in total and per key. */
  active = 0;
  readonly activeByKey = new Map<string, number>();
  /** Violations seen where an expect cannot be thrown (inside the handler, in event listeners). */
  readonly violations: string[] = [];

  constructor(options: { seed: number; concurrency: number; snapshots: Snapshots; backoffMs: number; leaseTimeoutMs: number }) {
    this.clock = new ManualClock({ seed: options.seed });
    this.concurrency = options.concurrency;
    this.snapshots = options.snapshots;
    this.backoffMs = options.backoffMs;
    this.leaseTimeoutMs = options.leaseTimeoutMs;
  }

  /** The one handler every queue instance of this case uses. */
  readonly handler = (ctx: HandlerContext<Payload>): unknown => {
    const { steps, key } = ctx.json();
    const n = ctx.attemptNumber;
    const where = `handler(run ${ctx.runId}, attempt ${n} ${ctx.attemptId})`;
    // The queue's own view when the handler starts: the run is running this very attempt.
    const view = this.q.getRun(ctx.runId);
    if (view?.state !== "running" || view.currentAttemptId !== ctx.attemptId) {
      this.violations.push(`${where}: called while the run is ${view?.state} with current attempt ${view?.currentAttemptId}`);
    }
    if (this.terminalSeen.has(ctx.runId)) this.violations.push(`${where}: called after the run was seen ${this.terminalSeen.get(ctx.runId)!.state}`);
    if (this.calls.has(ctx.attemptId)) this.violations.push(`${where}: called twice for one attempt`);
    if (this.frozenAttempts !== undefined && !this.frozenAttempts.has(ctx.attemptId)) this.violations.push(`${where}: a new attempt started while paused`);
    if (n > ctx.maxAttempts) this.violations.push(`${where}: attempt number above maxAttempts ${ctx.maxAttempts}`);
    this.active += 1;
    if (this.active > this.concurrency) this.violations.push(`${where}: ${this.active} handlers running with concurrency ${this.concurrency}`);
    if (key !== null) {
      const running = (this.activeByKey.get(key) ?? 0) + 1;
      this.activeByKey.set(key, running);
      if (running > 1) this.violations.push(`${where}: ${running} handlers of key ${key} running at once`);
      // The moment a keyed attempt starts is when a second holder would show: no other run may hold the key now.
      const others = this.keyHolders(key).filter((id) => id !== ctx.runId);
      if (others.length > 0) this.violations.push(`${where}: started while ${others.join(", ")} held key ${key}`);
    }
    const call: Call = { runId: ctx.runId, abortReason: undefined, ended: false };
    this.calls.set(ctx.attemptId, call);
    const end = (): void => {
      if (call.ended) return;
      call.ended = true;
      this.active -= 1;
      if (key !== null) this.activeByKey.set(key, this.activeByKey.get(key)! - 1);
    };
    const signal = ctx.signal;
    // Kept after the handler returns: an abort that beats the runner's bookkeeping still shows here.
    signal.addEventListener(
      "abort",
      () => {
        call.abortReason ??= String(signal.reason);
        end();
      },
      { once: true },
    );
    const [outcome, delay] = steps[n - 1]!;
    const produce = (): string => {
      end();
      if (outcome === "retry") throw new Error(`retry #${n}`);
      if (outcome === "terminal") throw new TerminalError(`terminal #${n}`);
      return `ok #${n}`;
    };
    if (delay === "sync") return produce();
    // A cooperative handler: it stops as soon as its signal aborts (the late result is ignored anyway).
    return delayOrAbort(delay, signal).then(produce);
  };

  async open(start: boolean): Promise<void> {
    this.q = await openQueue({
      dataDir: this.dataDir,
      clock: this.clock,
      // With a ManualClock nothing in the future becomes due by itself: runUntilIdle must not wait for it.
      idleHorizonMs: 0,
      // 0: a retry is due at once; otherwise retrying runs wait (holding their key) until the clock is advanced.
      backoff: fixedBackoff(this.backoffMs),
      concurrency: this.concurrency,
      // The shortest lease heartbeats every 333 ms of the ManualClock: advancing it while handlers run renews their leases.
      leaseTimeoutMs: this.leaseTimeoutMs,
      // Frequent snapshots (and WAL compaction) make restarts recover from a snapshot plus a WAL tail.
      snapshotEvery: this.snapshots === "off" ? 0 : 16,
      snapshotInWorker: this.snapshots === "inWorker",
      handler: this.handler,
    });
    this.q.on("error", ({ error }) => this.violations.push(`queue error: ${error instanceof Error ? error.message : String(error)}`));
    if (start) this.q.start();
  }

  // ---------------------------------------------------------------- actions

  async submit(plan: TaskPlan): Promise<void> {
    const payload: Payload = { steps: plan.steps, key: plan.key ?? null };
    const constraints = {
      maxAttempts: plan.maxAttempts,
      ...(plan.key === undefined ? {} : { concurrencyKey: plan.key, concurrencyKeyHoldPolicy: plan.hold }),
    };
    const runPolicy = plan.repeat === undefined ? oncePolicy() : repeatPolicy(plan.repeat.count, plan.repeat.intervalMs);
    const result = await this.q.submit({ runPolicy, payload, constraints });
    expect(result.existing).toBe(false);
    expect(result.runIds).toHaveLength(plan.repeat?.count ?? 1);
    this.tasks.push({ taskId: result.taskId, runIds: result.runIds });
    for (const runId of result.runIds) this.planOfRun.set(runId, plan);
  }

  async cancelTask(pick: number): Promise<void> {
    const task = this.tasks[pick % this.tasks.length]!;
    // cancelTask decides synchronously which runs it cancels: this view is exact.
    const live = task.runIds.filter((id) => !TERMINAL.has(this.q.getRun(id)!.state));
    const running = new Map(task.runIds.map((id) => [id, this.q.getRun(id)!] as const).filter(([, r]) => r.state === "running"));
    const { canceledRuns } = await this.q.cancelTask(task.taskId);
    expect(canceledRuns).toBe(live.length);
    this.canceledTasks.add(task.taskId);
    for (const id of live) this.canceledNow(id, running.get(id));
    expect(this.q.getTask(task.taskId)!.canceledAt).toBeDefined();
  }

  async cancelRun(pickTask: number, pickRun: number): Promise<void> {
    const task = this.tasks[pickTask % this.tasks.length]!;
    const runId = task.runIds[pickRun % task.runIds.length]!;
    const before = this.q.getRun(runId)!;
    if (TERMINAL.has(before.state)) {
      expect(await codeOf(() => this.q.cancelRun(runId))).toBe("INVALID_TRANSITION");
      expect(this.q.getRun(runId)).toEqual(before);
      return;
    }
    await this.q.cancelRun(runId);
    this.canceledNow(runId, before.state === "running" ? before : undefined);
  }

  /** Bookkeeping of a run a cancel call just canceled (`running`: its view when the call was made, if it was running). */
  private canceledNow(runId: RunId, running: RunView | undefined): void {
    this.expectCanceled.add(runId);
    const run = this.q.getRun(runId)!;
    expect(run.state).toBe("canceled");
    if (running !== undefined) {
      const call = this.calls.get(running.currentAttemptId!);
      // Its handler, if it was called, saw its signal abort with "cancel". (Not called yet: the start was not durable, and it never will be called.)
      if (call !== undefined) expect(call.abortReason, `handler of canceled run ${runId}`).toBe("cancel");
    }
  }

  async pause(): Promise<void> {
    await this.q.pause();
    // pause() takes effect synchronously: every attempt existing now existed before it.
    if (!this.paused) this.frozenAttempts = new Set(this.attemptIds());
    this.paused = true;
  }

  async resume(): Promise<void> {
    const resumed = this.q.resume();
    // resume() takes effect synchronously too: dispatching may begin before its promise settles.
    this.paused = false;
    this.frozenAttempts = undefined;
    await resumed;
  }

  async turns(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) await new Promise((r) => setImmediate(r));
  }

  async idle(): Promise<void> {
    await within(this.q.runUntilIdle(), "runUntilIdle");
    this.checkQuiescent();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  async restart(mode: "drain" | "abort", start: boolean, concurrency: number): Promise<void> {
    const old = this.q;
    if (mode === "abort") {
      // close({ mode: "abort" }) aborts synchronously whatever is in flight at the call.
      for (const run of allRuns(old)) if (run.state === "running") this.shutdownAborted.add(run.currentAttemptId!);
    }
    await within(old.close({ mode }), `close(${mode})`);
    const shown = allRuns(old);
    const onDisk = allRuns(await ActionQueue.inspect(this.dataDir));
    expect(onDisk.filter((r) => r.state === "running" || r.state === "leased")).toEqual([]);
    expect(onDisk, "what the closed queue showed is what is on disk").toEqual(shown);
    this.concurrency = concurrency;
    await this.open(start);
    expect(this.q.recoveryReport.reconciledRuns).toEqual([]);
    expect(allRuns(this.q), "the reopened queue shows what is on disk").toEqual(onDisk);
    expect(this.q.stats().paused).toBe(this.paused);
  }

  // ---------------------------------------------------------------- checks

  /**
   * The runs holding `key` now, by the documented hold rule. Read from the
   * queue's own task constraints: a handler can start before the submit()
   * that created its run has resolved (the run is leased in the commit that
   * writes it), so the test's own bookkeeping may not know the task yet.
   */
  keyHolders(key: string): RunId[] {
    const holders: RunId[] = [];
    for (const run of allRuns(this.q)) {
      const { concurrencyKey, concurrencyKeyHoldPolicy } = this.q.getTask(run.taskId)!.constraints;
      if (concurrencyKey === key && holdsKey(run, concurrencyKeyHoldPolicy)) holders.push(run.runId);
    }
    return holders;
  }

  attemptIds(): AttemptId[] {
    return allRuns(this.q).flatMap((r) => r.attempts.map((a) => a.attemptId));
  }

  /** The invariants that hold after every step. */
  observe(step: string): void {
    expect(this.violations, `violations after ${step}`).toEqual([]);
    const runs = allRuns(this.q);
    const byId = new Map(runs.map((r) => [r.runId, r] as const));

    // Run accounting: exactly the implied runs, each task's in its own list.
    expect(runs).toHaveLength(this.tasks.reduce((sum, t) => sum + t.runIds.length, 0));
    for (const task of this.tasks) {
      expect(this.q.getTask(task.taskId)!.runIds).toEqual(task.runIds);
      if (this.canceledTasks.has(task.taskId)) {
        for (const id of task.runIds) expect(TERMINAL.has(byId.get(id)!.state), `run ${id} of canceled task`).toBe(true);
      }
    }

    // stats() agrees with the listings.
    const stats = this.q.stats();
    const tasks = this.q.listTasks({ limit: 10_000 }).tasks;
    expect(stats.tasks).toBe(this.tasks.length);
    expect(tasks).toHaveLength(this.tasks.length);
    expect(stats.runs).toBe(runs.length);
    expect(Object.values(stats.runsByState).reduce((a, b) => a + b, 0)).toBe(runs.length);
    const byState: Record<string, number> = {};
    const byResult: Record<string, number> = { success: 0, failure: 0, timeout: 0, suspended: 0 };
    for (const r of runs) {
      byState[r.state] = (byState[r.state] ?? 0) + 1;
      for (const a of r.attempts) if (a.result !== undefined) byResult[a.result] = byResult[a.result]! + 1;
    }
    for (const [state, count] of Object.entries(stats.runsByState)) expect(count, `stats.runsByState.${state}`).toBe(byState[state] ?? 0);
    expect(stats.attemptsByResult).toEqual(byResult);
    expect(stats.paused).toBe(this.paused);

    const seenAttempts = new Set<AttemptId>();
    const holders = new Map<string, RunId[]>();
    let running = 0;
    for (const run of runs) {
      const plan = this.planOfRun.get(run.runId)!;
      if (run.state === "running") running += 1;
      // Terminal runs never change, and the right ones are canceled.
      const seen = this.terminalSeen.get(run.runId);
      if (seen !== undefined) expect(run, `terminal run ${run.runId} changed`).toEqual(seen);
      else if (TERMINAL.has(run.state)) this.terminalSeen.set(run.runId, run);
      expect(run.state === "canceled", `run ${run.runId} is ${run.state}; expected canceled: ${this.expectCanceled.has(run.runId)}`).toBe(this.expectCanceled.has(run.runId));
      this.checkAttempts(run, plan);
      for (const a of run.attempts) {
        expect(seenAttempts.has(a.attemptId), `attempt id ${a.attemptId} reused`).toBe(false);
        seenAttempts.add(a.attemptId);
      }
      if (plan.key !== undefined && holdsKey(run, plan.hold)) holders.set(plan.key, [...(holders.get(plan.key) ?? []), run.runId]);
    }
    for (const [key, ids] of holders) expect(ids, `holders of key ${key}`).toHaveLength(1);
    this.checkExplanations(runs, holders);
    expect(running).toBeLessThanOrEqual(this.concurrency);
    // Every attempt the handler was given is a recorded attempt of that run.
    for (const [attemptId, call] of this.calls) {
      expect(byId.get(call.runId)!.attempts.some((a) => a.attemptId === attemptId), `called attempt ${attemptId} is recorded`).toBe(true);
    }
    if (this.frozenAttempts !== undefined) expect(new Set(seenAttempts), "no attempt created while paused").toEqual(this.frozenAttempts);
  }

  /**
   * explain() tells the same story: a waiting retry is due one backoff after
   * it began waiting, and a ready run is blocked by exactly the run that holds
   * its key by the documented rule (so the queue's in-memory key gate agrees
   * with durable state, also after a restart rebuilt it).
   */
  private checkExplanations(runs: readonly RunView[], holders: ReadonlyMap<string, readonly RunId[]>): void {
    for (const run of runs) {
      const why = this.q.explain(run.runId);
      const what = `explain(${run.runId}) of a ${run.state} run: ${why.message}`;
      if (TERMINAL.has(run.state)) {
        expect(why.kind === "terminal" || why.kind === "taskCanceled", what).toBe(true);
        continue;
      }
      if (why.kind === "retryWait") {
        expect(run.state, what).toBe("retryWait");
        expect(why.retryAt, what).toBe(run.history.at(-1)!.at + this.backoffMs);
      }
      if (run.state !== "ready" || this.paused) continue;
      const key = this.planOfRun.get(run.runId)!.key;
      const holder = key === undefined ? undefined : holders.get(key)?.find((id) => id !== run.runId);
      if (holder === undefined) expect(why.kind, what).toBe("ready");
      else expect(why, what).toMatchObject({ kind: "concurrencyKeyHeld", key, heldBy: holder });
    }
  }

  /** The attempts of one run follow its script and the retry table, and its state is what the table implies. */
  private checkAttempts(run: RunView, plan: TaskPlan): void {
    const what = `run ${run.runId} (${run.state})`;
    const attempts = run.attempts;
    expect(attempts.length, `${what}: attempts within maxAttempts ${plan.maxAttempts}`).toBeLessThanOrEqual(plan.maxAttempts);
    expect(run.attemptCount).toBe(attempts.length);
    if (attempts.length === 0) {
      expect(["scheduled", "ready", "canceled"], `${what} without attempts`).toContain(run.state);
      return;
    }
    let decision: "complete" | "fail" | "retry" | "open" = "open";
    for (const [i, a] of attempts.entries()) {
      const n = i + 1;
      const last = n === attempts.length;
      expect(a.attemptNumber).toBe(n);
      if (a.result === undefined) {
        // An open attempt: only the last, and only while running or once a cancel cut it off.
        expect(last, `${what}: only the last attempt may be open`).toBe(true);
        expect(["running", "canceled"], `${what} with an open attempt`).toContain(run.state);
        decision = "open";
        continue;
      }
      const want = expectedAttempt(plan, n, this.shutdownAborted.has(a.attemptId));
      expect({ result: a.result, error: a.error, output: text(a.output) }, `${what}: attempt ${n}`).toEqual(want.record);
      decision = want.decision;
      if (!last) expect(decision, `${what}: attempt ${n} is followed by another`).toBe("retry");
    }
    switch (run.state) {
      case "completed":
        expect(decision, what).toBe("complete");
        break;
      case "failed":
        expect(decision, what).toBe("fail");
        break;
      case "running":
        expect(decision, what).toBe("open");
        break;
      case "canceled":
        break; // a cancel may cut a run off at any point
      default:
        // Waiting for its next attempt (retryWait, or ready again).
        expect(["retryWait", "ready", "leased"], what).toContain(run.state);
        expect(decision, what).toBe("retry");
    }
  }

  /**
   * Nothing in flight, nothing being written: every recorded attempt reached
   * the handler, except those an abort-mode close aborted before their start
   * was durable and the open attempt of a run canceled before its start was.
   */
  checkQuiescent(): void {
    expect(this.q.inFlight).toBe(0);
    for (const run of allRuns(this.q)) {
      expect(run.state, `run ${run.runId} after runUntilIdle`).not.toBe("running");
      for (const [i, a] of run.attempts.entries()) {
        if (this.calls.has(a.attemptId)) continue;
        const canceledBeforeStart = run.state === "canceled" && i === run.attempts.length - 1 && a.result === undefined;
        expect(this.shutdownAborted.has(a.attemptId) || canceledBeforeStart, `attempt ${i + 1} of run ${run.runId} never reached the handler`).toBe(true);
      }
    }
    expect(this.active, "handlers still running when idle").toBe(0);
  }

  /** Resume, run everything due (advancing the clock past every repeat run), check the end state, restart, and check nothing changed. */
  async finish(): Promise<void> {
    if (this.paused) await this.resume();
    for (let round = 0; ; round += 1) {
      await this.idle();
      // Whatever waits for the clock: scheduled repeat runs and retries in backoff.
      const dueAt: number[] = [];
      for (const run of allRuns(this.q)) {
        if (run.state === "scheduled") dueAt.push(run.scheduledAt);
        const why = this.q.explain(run.runId);
        if (why.kind === "retryWait") dueAt.push(why.retryAt);
      }
      if (dueAt.length === 0) break;
      expect(round, "rounds to run every waiting run").toBeLessThan(20);
      this.clock.set(Math.max(this.clock.now(), ...dueAt));
    }
    this.observe("final");
    for (const run of allRuns(this.q)) {
      // Terminal, in the state its attempts imply (checked by observe), and canceled only if a cancel call said so.
      expect(TERMINAL.has(run.state), `run ${run.runId} ends ${run.state}`).toBe(true);
    }
    const before = allRuns(this.q);
    await this.restart("drain", false, this.concurrency);
    await this.idle();
    expect(allRuns(this.q), "a restart after the end changes nothing").toEqual(before);
    this.observe("after the final restart");
    await this.q.close();
  }
}

// ------------------------------------------------------------------ commands

interface Model {
  tasks: number;
}

type Cmd = fc.AsyncCommand<Model, Harness>;

/** A command that runs `action` and then checks every invariant. */
function command(label: string, action: (h: Harness) => Promise<void> | void, options: { needsTask?: boolean; addsTask?: boolean } = {}): Cmd {
  return {
    check: (m) => !options.needsTask || m.tasks > 0,
    run: async (m, h) => {
      await action(h);
      if (options.addsTask) m.tasks += 1;
      h.observe(label);
    },
    toString: () => label,
  };
}

const stepArb = fc.tuple(fc.constantFrom<Outcome>("ok", "ok", "retry", "retry", "terminal"), fc.constantFrom<Delay>("sync", "turn", "timer", "slow"));

const planArb: fc.Arbitrary<TaskPlan> = fc.record({
  repeat: fc.option(fc.record({ count: fc.integer({ min: 1, max: 3 }), intervalMs: fc.constantFrom(100, 250, 500) }), { nil: undefined }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  key: fc.option(fc.constantFrom("a", "b"), { nil: undefined, freq: 2 }),
  hold: fc.constantFrom<ConcurrencyKeyHoldPolicy>("holdDuringRetry", "releaseOnRetry"),
  steps: fc.array(stepArb, { minLength: 3, maxLength: 3 }),
});

function describePlan(p: TaskPlan): string {
  const policy = p.repeat === undefined ? "once" : `repeat(${p.repeat.count}, ${p.repeat.intervalMs})`;
  const key = p.key === undefined ? "" : ` key=${p.key}/${p.hold}`;
  return `submit ${policy} max=${p.maxAttempts}${key} steps=${p.steps.map(([o, d]) => `${o}:${d}`).join(",")}`;
}

const submitCmd = planArb.map((plan) => command(describePlan(plan), (h) => h.submit(plan), { addsTask: true }));

const cancelTaskCmd = fc.nat().map((t) => command(`cancelTask #${t}`, (h) => h.cancelTask(t), { needsTask: true }));
const cancelRunCmd = fc.tuple(fc.nat(), fc.nat()).map(([t, r]) => command(`cancelRun #${t}.${r}`, (h) => h.cancelRun(t, r), { needsTask: true }));
const pauseCmd = fc.constant(command("pause", (h) => h.pause()));
const resumeCmd = fc.constant(command("resume", (h) => h.resume()));
const turnsCmd = fc.integer({ min: 1, max: 6 }).map((n) => command(`turns ${n}`, (h) => h.turns(n)));
const idleCmd = fc.constant(command("runUntilIdle", (h) => h.idle()));
// 61 s: past the misfire tolerance, so a restart that follows sees overdue runs (default catchUp: all still run).
const advanceCmd = fc.constantFrom(100, 250, 500, 61_000).map((ms) => command(`advance ${ms}`, (h) => h.advance(ms)));
const restartCmd = fc
  .record({ mode: fc.constantFrom<"drain" | "abort">("drain", "abort"), start: fc.constantFrom(true, true, true, false), concurrency: fc.integer({ min: 1, max: 4 }) })
  .map(({ mode, start, concurrency }) => command(`restart ${mode} start=${start} concurrency=${concurrency}`, (h) => h.restart(mode, start, concurrency)));

// fc.commands picks uniformly among these: repetition is the weight. Submissions
// come most often (everything else acts on them), resume twice as often as pause
// so that work does run, and cancels rarely enough that most runs get to run.
const commandArbs: fc.Arbitrary<Cmd>[] = [
  submitCmd,
  submitCmd,
  submitCmd,
  submitCmd,
  cancelTaskCmd,
  cancelRunCmd,
  pauseCmd,
  resumeCmd,
  resumeCmd,
  turnsCmd,
  turnsCmd,
  idleCmd,
  advanceCmd,
  restartCmd,
];

const RUNS = Number(process.env.AQ_MODEL_RUNS ?? 50);
const MAX_COMMANDS = Number(process.env.AQ_MODEL_COMMANDS ?? 30);
const SEED = process.env.AQ_MODEL_SEED === undefined ? undefined : Number(process.env.AQ_MODEL_SEED);

describe("control model", () => {
  it("submit, cancel, pause/resume, progress and restarts keep the queue's invariants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: "max" }),
        fc.record({
          seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
          concurrency: fc.integer({ min: 1, max: 4 }),
          snapshots: fc.constantFrom<Snapshots>("off", "onLoop", "inWorker"),
          backoffMs: fc.constantFrom(0, 100),
          leaseTimeoutMs: fc.constantFrom(1_000, 30_000),
        }),
        async (cmds, options) => {
          const h = new Harness(options);
          await h.open(true);
          try {
            await fc.asyncModelRun(() => ({ model: { tasks: 0 }, real: h }), cmds);
            await h.finish();
          } finally {
            // A failing case must not leave handlers and timers running into the next one.
            await h.q.close({ mode: "abort" }).catch(() => undefined);
          }
        },
      ),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  }, 120_000);
});
