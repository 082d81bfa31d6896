/**
 * A model-based property test of the public control surface. fast-check
 * generates interleavings of submit (once, repeat, or cron — every minute,
 * every 5 minutes or every 10 seconds, or at hours whose instants depend on
 * the time zone, maybe in an IANA time zone (Berlin, New York, Kolkata's :30
 * offset, or UTC spelt out; maybe in another letter case), maybe with
 * maxOccurrences 1–4 — repeat and cron maybe with a misfire policy, any of
 * them maybe with a startAt (already passed, just ahead or minutes ahead),
 * maybe a retry backoff of its own (fixed or exponential, maybe with full
 * jitter, maybe with jitter "none" or null spelt out), maybe a concurrency key
 * with either hold policy, maxAttempts 1–3, maybe a 5 ms timeout, and per
 * started attempt a scripted outcome — ok, a thrown Error, a TerminalError,
 * suspended() — and a duration), idempotent submit under a caller-chosen
 * taskId (new, or twice at once; existing with the same spec, the same with
 * its defaults spelled out — jitter "none", its zone in another spelling —, a
 * different one, or the same but for its startAt, its backoff or its zone),
 * submitMany of 2–4 tasks
 * (fresh, existing ids, a taskId twice, a mismatching spec), cancelTask,
 * cancelRun, resumeRun (of a suspended run, or of any other to see it
 * refused), purge (olderThanMs 0 or more, finishedBefore, maybe by end
 * states, maybe a limit of 0–2; now or as a handler ends), pause, resume, a
 * few event-loop turns, runUntilIdle, advancing the ManualClock, and restarts
 * (close in drain or abort mode, maybe a minute or more of downtime on the
 * ManualClock, then open the same directory with the same handler, started
 * or not). Each case also picks the concurrency, the backoff (none, fixed
 * 100 ms, or exponential 50–200 ms), the lease length, whether snapshots are
 * written (on the loop or in a worker), the cronWindow (default 5, or 1–3)
 * and, on the ManualClock, maybe the retention option. Against a real data
 * directory it checks after every step:
 *
 * - every task has exactly the runs its policy implies, and reads back the
 *   policy it was submitted with (its startAt as given, even one already
 *   passed; its zone in its canonical spelling, none for UTC; restarts and
 *   snapshots included) and its backoff (without a jitter of "none" or null);
 *   a once or repeat task's run i
 *   is due at its origin + i × intervalMs, the origin the later of its
 *   submission and its startAt; a cron task's runs
 *   only grow (restarts included), never past maxOccurrences, never once it
 *   is canceled, and they are its expression's instants in strictly
 *   increasing order: the first one at or after the later of the submission
 *   and the startAt, each other the first one after the run before it (after
 *   the later of that run and its own creation when the misfire policy does
 *   not replay missed runs; never before the startAt), with at most
 *   cronWindow of them unfinished, and
 *   a full window whenever the queue is idle, right after a cancelRun and
 *   after a restart (unless canceled or at maxOccurrences);
 * - no run is made ready, started or handed to the handler before it is due,
 *   nor any attempt of a task before its policy's startAt;
 * - the handler is called only for its run's current, running attempt, at
 *   most once per attempt, never for a run already seen terminal, never for a
 *   run seen suspended and not resumed since, never beyond the concurrency,
 *   and never while another run holds the attempt's key (a handler counts as
 *   running until it returns or its signal aborts); ctx.attemptNumber is the
 *   attempt's counted number (suspended attempts left out);
 * - no run has more counted attempts (all but the suspended ones) than
 *   maxAttempts; every recorded attempt is the scripted outcome of its place
 *   in the run's list, "attempt canceled (shutdown)" for exactly the attempts
 *   an abort-mode close found in flight, or a timeout for exactly the attempts
 *   whose signal aborted with "timeout"; the run's state is the one the retry
 *   table implies for that sequence, fed with counted attempt numbers;
 * - a run seen terminal never changes again, nor does a suspended one until a
 *   resumeRun call; the run's history leaves "suspended" for "ready" exactly
 *   as often as resumeRun succeeded on it; exactly the runs a successful
 *   cancel call found non-terminal end canceled, and a running one's handler
 *   saw its signal abort with reason "cancel";
 * - at most one run holds each key (leased or running, and under
 *   holdDuringRetry also a run between attempts or suspended), and explain()
 *   names that run as the holder blocking a ready run of the key; a waiting
 *   retry is due one backoff after it began waiting — the task's own backoff
 *   if it has one, else the queue's —, the backoff going by counted attempts
 *   (a suspension never grows it); with full jitter, some time from the start
 *   of the wait to one backoff after it, the same after a restart; no run
 *   leaves retryWait for ready before its retry is due;
 * - while paused no attempt is created (in-flight handlers only finish);
 * - stats() agrees with listRuns()/listTasks();
 * - a repeated submission (same spec) returns the task with existing: true
 *   and writes nothing; a different spec under the id (another startAt too,
 *   even one that gives the same schedule), a taskId twice in one
 *   submitMany, or a mismatch in a batch is refused with its code, and
 *   nothing of the call is written;
 * - purge removes exactly the finished tasks its options select — every run
 *   terminal and, for a cron task, canceled or at maxOccurrences; finished
 *   by the earlier of finishedBefore and now − olderThanMs; runs only in
 *   `states` — at most `limit` of them and all of them short of it (and
 *   task:purged names them); purged tasks and runs name nothing (getTask/
 *   getRun undefined, NOT_FOUND for explain, cancel and resumeRun), also
 *   after restarts, until a caller-chosen taskId is submitted again;
 * - with the retention option, a task disappears only when the retention
 *   timer fires (everyMs after start()/runUntilIdle() armed it, or after its
 *   last purge ended) and then exactly as purge({ olderThanMs, states }) at
 *   that instant would remove it; an unfinished task never disappears;
 * - a close leaves nothing running, what is on disk equals what the closed
 *   queue showed, and the reopened queue shows it without reconciling
 *   anything, except what open() itself does: the overdue runs (scheduled,
 *   due more than the 60 s misfire tolerance ago) of each repeat and cron
 *   task are kept or canceled exactly as its misfire policy says (catchUp
 *   all or the newest maxRuns, skip none, coalesce the newest), and each
 *   cron task's window is refilled (exactly the instants predicted).
 *
 * Timeouts: the runner measures an attempt's deadline on the queue's clock,
 * here the ManualClock (`@actionqueue/executor-local`: "timers and
 * randomness from an injected Clock"), so a handler "takes longer than its
 * timeout" when that clock moves past the deadline while it runs. The
 * "overrun" durations do exactly that (the handler advances the clock by its
 * timeoutMs after one turn) and then either honour their signal at once or
 * ignore it for 30 real milliseconds; the `advance` command times out any
 * in-flight attempt of a task with a timeout as well.
 *
 * Retention: its timer is on the queue's clock, so on the ManualClock it fires
 * exactly when the test moves the clock past it. Retention cases have no
 * timeouts (an overrunning handler would move the clock too), so the test
 * knows when the timer is due and what its purge must remove.
 *
 * A second, smaller property runs the same model on the system clock (no
 * `advance`; repeat intervals of 20–50 ms and backoffs of 0–20 ms that
 * runUntilIdle waits for; no cron, misfire or retention, which need minutes
 * to pass): there a 5 ms timeout meets real handlers of 1, 6 and 30 ms, the
 * 30 ms ones ignoring or honouring their signal.
 *
 * What is guaranteed about handler calls, exactly: a call is always for a
 * distinct durable attempt (never more calls than attempts). With graceful
 * closes (no kill -9 here) the only attempts the handler never sees are those
 * an abort-mode close aborted before their start was durable and the open
 * attempt of a run canceled before its start was durable; this is checked
 * whenever the queue is idle. At-least-once shows only as extra attempts: an
 * interrupted attempt counts toward maxAttempts, and the run retries.
 *
 * At the end (resume, cancel every cron task without maxOccurrences, run
 * everything due, resume every suspended run until none is left, one more
 * restart) every run is terminal in the state the retry table implies, every
 * cron task not canceled has exactly maxOccurrences runs, and the restart
 * changes nothing; then a purge removes
 * every task and a last restart shows an empty queue. A failure prints the
 * seed, the path and the shrunk command list; AQ_MODEL_SEED replays a seed,
 * AQ_MODEL_RUNS / AQ_MODEL_COMMANDS (AQ_MODEL_REAL_RUNS /
 * AQ_MODEL_REAL_COMMANDS for the real-time property) make a soak, and
 * AQ_MODEL_TALLY=1 prints how often each interesting thing happened.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock, cronPolicy, nextCronOccurrences, oncePolicy, parseTaskId, repeatPolicy, systemClock } from "@actionqueue/core";
import type { AttemptId, Clock, ConcurrencyKeyHoldPolicy, MisfirePolicy, RetryBackoff, RunId, RunPolicy, TaskId } from "@actionqueue/core";
import { ActionQueue, TerminalError, exponentialBackoff, fixedBackoff, suspended } from "@actionqueue/runtime";
import type { HandlerContext, PurgeOptions, RetentionOptions, RunView, SubmitInput, SubmitResult, TerminalRunState } from "@actionqueue/runtime";
import { allRuns, codeOf, openQueue, sleep, tempDir, text } from "./helpers.js";

type Outcome = "ok" | "retry" | "terminal" | "suspend";
type Snapshots = "off" | "onLoop" | "inWorker";
/**
 * How long an attempt takes: returns at once, after one setImmediate, or after
 * a 1 ms or 6 ms timer (real time: the queue's ManualClock does not move);
 * or (tasks with a timeout only) it overruns its timeout: after one turn it
 * moves the ManualClock by its timeoutMs, then honours its aborted signal
 * ("overrun") or ignores it for 30 real ms ("overrunDeaf").
 */
type Delay = "sync" | "turn" | "timer" | "slow" | "overrun" | "overrunDeaf";
type Step = readonly [Outcome, Delay];
/** Fixed `[ms]`, or exponential `[baseMs, maxMs]`: min(maxMs, baseMs × 2^(n−1)) after the n-th counted attempt. */
type Backoff = readonly [number] | readonly [number, number];
/** How a task's own backoff spells its jitter: "none" and null are the default (no jitter) spelt out. */
type JitterSpelling = "full" | "none" | null | undefined;
/** A task's own backoff (`constraints.backoff`) as submitted. */
type TaskBackoff =
  | { readonly kind: "fixed"; readonly delayMs: number; readonly jitter?: JitterSpelling }
  | { readonly kind: "exponential"; readonly baseMs: number; readonly maxMs: number; readonly jitter?: JitterSpelling };

/** Scripted steps per run: at most MAX_SUSPENDS suspensions plus maxAttempts (≤ 3) counted attempts. */
const STEPS = 5;
const MAX_SUSPENDS = 2;
const TIMEOUT_MS = 5;
const DEAF_MS = 30;

interface TaskPlan {
  /** The policy's `startAt`, as an offset from the clock at submission (negative: already passed); absent: none. */
  readonly startAtIn: number | undefined;
  /** Absent (and no cron): a once task. */
  readonly repeat: { readonly count: number; readonly intervalMs: number } | undefined;
  /** A cron task (never with `repeat`). */
  readonly cron: CronPlan | undefined;
  /** Repeat and cron tasks: absent means the default, catchUp of every missed run. */
  readonly misfire: MisfirePolicy | undefined;
  readonly maxAttempts: number;
  readonly key: string | undefined;
  readonly hold: ConcurrencyKeyHoldPolicy;
  readonly timeoutMs: number | undefined;
  /** The task's own retry backoff, in place of the queue's; absent: the queue's. */
  readonly backoff: TaskBackoff | undefined;
  /** What the run's n-th started attempt (suspended ones included) does is `steps[n - 1]`. */
  readonly steps: readonly Step[];
}

interface CronPlan {
  readonly expression: string;
  readonly maxOccurrences: number | undefined;
  /** The policy's `timezone` as submitted (any spelling); absent: UTC. */
  readonly timezone: string | undefined;
}

/** The payload the handler reads its script from: the test's plan travels with the task, so it survives restarts. */
interface Payload {
  readonly steps: readonly Step[];
  readonly key: string | null;
  /** Only to make a spec differ from another with the same plan. */
  readonly tag?: string;
}

const SHUTDOWN_ERROR = "attempt canceled (shutdown)";
/** How late a run due while the queue was down may be before its misfire policy judges it (README, *What happens on a crash*). */
const MISFIRE_TOLERANCE_MS = 60_000;
const DEFAULT_CRON_WINDOW = 5;
const TERMINAL: ReadonlySet<string> = new Set(["completed", "failed", "canceled"]);
const TERMINAL_STATES: readonly TerminalRunState[] = ["completed", "failed", "canceled"];
/** Caller-chosen task ids (valid ULIDs that no id factory of these cases mints). */
const CALLER_IDS: readonly TaskId[] = ["01ARZ3NDEKTSV4RRFFQ69G5FA0", "01ARZ3NDEKTSV4RRFFQ69G5FA1", "01ARZ3NDEKTSV4RRFFQ69G5FA2"].map(parseTaskId);

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
  /** A cron task's list grows as its window is topped up (see `syncRuns`). */
  runIds: readonly RunId[];
  readonly plan: TaskPlan;
  /** What was submitted: submitting it again is the same spec. Its policy's `startAt` is the absolute one. */
  readonly input: SubmitInput;
  /** When it was submitted: the task's createdAt, checked to lie between the clock's readings around the call. */
  readonly createdAt: number;
}

/** The submission variants under an existing caller-chosen id. */
type Variant = "same" | "spelledOut" | "different" | "otherStart" | "otherBackoff" | "otherZone";

type Decision = "complete" | "fail" | "retry" | "suspend";
/** How an attempt ended, as far as the script is concerned. */
type Ending = "scripted" | "shutdown" | "timeout";

/**
 * What the recorded attempt n (its place in the run's list) should say, and
 * what the retry table decides after it; `counted` is its counted number
 * (suspended attempts left out), which the cap applies to.
 */
function expectedAttempt(
  plan: TaskPlan,
  n: number,
  counted: number,
  ending: Ending,
): { record: { result: string; error: string | undefined; output: string | undefined }; decision: Decision } {
  const capped = (d: "retry" | "fail"): "retry" | "fail" => (d === "retry" && counted >= plan.maxAttempts ? "fail" : d);
  if (ending === "shutdown") return { record: { result: "failure", error: SHUTDOWN_ERROR, output: undefined }, decision: capped("retry") };
  if (ending === "timeout") {
    return { record: { result: "timeout", error: `attempt timed out after ${plan.timeoutMs}ms`, output: undefined }, decision: capped("retry") };
  }
  const step = plan.steps[n - 1];
  if (step === undefined) return { record: { result: `no scripted step ${n}`, error: undefined, output: undefined }, decision: "fail" };
  switch (step[0]) {
    case "ok":
      return { record: { result: "success", error: undefined, output: `ok #${n}` }, decision: "complete" };
    case "terminal":
      return { record: { result: "failure", error: `terminal #${n}`, output: undefined }, decision: "fail" };
    case "suspend":
      return { record: { result: "suspended", error: undefined, output: `part #${n}` }, decision: "suspend" };
    case "retry":
      return { record: { result: "failure", error: `retry #${n}`, output: undefined }, decision: capped("retry") };
  }
}

/** True when `run` holds its key by the documented rule (guarantee 4 of the README). */
function holdsKey(run: RunView, hold: ConcurrencyKeyHoldPolicy): boolean {
  if (run.state === "leased" || run.state === "running") return true;
  // Between attempts (retrying, suspended, or ready again after an attempt) the key stays with the run under holdDuringRetry.
  if (hold === "holdDuringRetry") return run.state === "retryWait" || run.state === "suspended" || (run.state === "ready" && run.attempts.length > 0);
  return false;
}

/**
 * The first instant of `expression`, read in `zone` (default UTC), strictly
 * after `afterMs` (memoised: every step asks again for the same ones). Core's
 * cron maths is the oracle for instants; the model's own part is which
 * instant follows which, and when.
 */
const cronInstants = new Map<string, number>();
function nextOccurrence(expression: string, afterMs: number, zone = "UTC"): number | undefined {
  const key = `${zone} ${expression} ${afterMs}`;
  if (!cronInstants.has(key)) {
    if (cronInstants.size > 100_000) cronInstants.clear();
    cronInstants.set(key, nextCronOccurrences(expression, Math.max(0, afterMs), 1, zone)[0]!);
  }
  return cronInstants.get(key);
}

/**
 * The zone a cron policy keeps for the zone it was submitted with: the
 * runtime's canonical spelling of it (what `Intl` resolves it to, so
 * "europe/berlin" is "Europe/Berlin"), and none for UTC, the default.
 */
const zones = new Map<string, string | undefined>();
function storedZone(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  if (!zones.has(zone)) {
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    zones.set(zone, canonical === "UTC" ? undefined : canonical);
  }
  return zones.get(zone);
}

/** The zone `task`'s cron instants are computed in. */
function zoneOf(task: SubmittedTask): string {
  return storedZone(task.plan.cron?.timezone) ?? "UTC";
}

/** The run policy a task reads back: as submitted, but for its zone (canonical; left out for UTC). */
function storedPolicy(policy: RunPolicy): RunPolicy {
  if (policy.kind !== "cron" || policy.timezone === undefined) return policy;
  const { timezone, ...rest } = policy;
  const zone = storedZone(timezone);
  return zone === undefined ? rest : { ...rest, timezone: zone };
}

/** The backoff a task reads back: as submitted, without a jitter of "none" or null (the default). */
function storedBackoff(backoff: TaskBackoff): RetryBackoff {
  const { jitter, ...rest } = backoff;
  return jitter === "full" ? { ...rest, jitter } : rest;
}

/** Counted attempts (suspended ones left out) among the first `started` attempts of `run` (default: all). */
function countedAttempts(run: RunView, started = run.attempts.length): number {
  let counted = 0;
  for (let i = 0; i < started && i < run.attempts.length; i += 1) if (run.attempts[i]!.result !== "suspended") counted += 1;
  return counted;
}

/**
 * Whether a cron task refills its window right after its latest run, missed
 * instants included: under the default, unbounded catchUp. Under skip,
 * coalesce and a capped catchUp the refill starts at the moment it is made
 * (engine `deriveCronWindow`; the runtime gives it no tolerance).
 */
function replaysMissed(misfire: MisfirePolicy | undefined): boolean {
  return misfire === undefined || (misfire.kind === "catchUp" && misfire.maxRuns === undefined);
}

/** How many of a task's `overdue` runs its misfire policy lets run at open (the newest ones); the rest are canceled. */
function misfireKeeps(misfire: MisfirePolicy | undefined, overdue: number): number {
  switch (misfire?.kind) {
    case undefined:
      return overdue;
    case "catchUp":
      return Math.min(misfire.maxRuns ?? overdue, overdue);
    case "skip":
      return 0;
    case "coalesce":
      return Math.min(1, overdue);
  }
}

/** The startAt a task was submitted with (0, no bound, without one). */
function startAtOf(task: SubmittedTask): number {
  return task.input.runPolicy.startAt ?? 0;
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

/** The error a promise rejects with (the case fails if it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

/**
 * `promise`, with its rejection handled from now on: a check that fails
 * before it is awaited then reports only itself, not an unhandled rejection.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The error code of a synchronous call (undefined if it does not throw). */
function syncCodeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as { code?: string }).code ?? `no code: ${String(error)}`;
  }
  return undefined;
}

/** With AQ_MODEL_TALLY set: how often each interesting thing happened, printed at the end (does a soak reach it?). */
const TALLY = process.env.AQ_MODEL_TALLY === undefined ? undefined : new Map<string, number>();
function note(what: string): void {
  TALLY?.set(what, (TALLY.get(what) ?? 0) + 1);
}

/** Another spelling of a cron policy's zone: UTC spelt out for none, else the name in other letter cases. */
function otherSpelling(zone: string | undefined): string {
  if (zone === undefined) return "UTC";
  return zone === zone.toLowerCase() ? zone.toUpperCase() : zone.toLowerCase();
}

/**
 * The same spec as `input`, in new objects; "spelledOut" also states the
 * defaults it left out (a backoff's jitter "none", a cron policy's UTC) and
 * spells a cron policy's zone in other letter cases.
 */
function sameSpec(input: SubmitInput, variant: "same" | "spelledOut"): SubmitInput {
  const copy = structuredClone(input);
  if (variant === "same") return copy;
  const backoff = copy.constraints?.backoff;
  const constraints = {
    safetyLevel: "pure" as const,
    concurrencyKeyHoldPolicy: "holdDuringRetry" as const,
    ...copy.constraints,
    ...(backoff === undefined || backoff.jitter === "full" ? {} : { backoff: { ...backoff, jitter: "none" } as unknown as RetryBackoff }),
  };
  const policy = copy.runPolicy;
  const runPolicy: RunPolicy = policy.kind === "cron" ? { ...policy, timezone: otherSpelling(policy.timezone) } : policy;
  return { ...copy, runPolicy, contentType: "application/json", metadata: {}, constraints };
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Waits one turn or `delay` real ms (a ManualClock does not move them), or rejects as soon as `signal` aborts. */
function delayOrAbort(delay: "turn" | number, signal: AbortSignal): Promise<void> {
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
    const handle: NodeJS.Immediate | NodeJS.Timeout = delay === "turn" ? setImmediate(done) : setTimeout(done, delay);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The system under test plus everything the test knows about it. */
class Harness {
  readonly dataDir = tempDir("aq-model-");
  /** The queue's clock: a ManualClock, or the system clock (then `manual` is undefined). */
  readonly clock: Clock;
  readonly manual: ManualClock | undefined;
  readonly snapshots: Snapshots;
  readonly backoff: Backoff;
  readonly leaseTimeoutMs: number;
  /** The `cronWindow` option (undefined: left at its default) and the window it gives. */
  readonly cronWindowOption: number | undefined;
  readonly cronWindow: number;
  /** The `retention` option, how often it purges, and when its armed timer fires (undefined: not armed). */
  readonly retention: RetentionOptions | undefined;
  readonly retentionEveryMs: number;
  retentionDueAt: number | undefined;
  q!: ActionQueue;
  concurrency: number;
  /** The tasks the queue holds (purged ones are forgotten). */
  tasks: SubmittedTask[] = [];
  readonly planOfRun = new Map<RunId, TaskPlan>();
  readonly calls = new Map<AttemptId, Call>();
  /** Runs seen terminal, with the view they had then (a terminal run never changes again). */
  readonly terminalSeen = new Map<RunId, RunView>();
  /** The jittered retry times explain() gave, by run and attempt count: the same wait must keep its time (restarts too). */
  readonly retryAtSeen = new Map<string, number>();
  /** Runs seen suspended and not resumed or canceled since, with the view they had then (it may not change). */
  readonly suspendedSeen = new Map<RunId, RunView>();
  /** Successful resumeRun calls per run. */
  readonly resumes = new Map<RunId, number>();
  /** Runs a successful cancel call found non-terminal: exactly these end canceled. */
  readonly expectCanceled = new Set<RunId>();
  readonly canceledTasks = new Set<TaskId>();
  /** Attempts in flight when an abort-mode close began: each records the shutdown failure. */
  readonly shutdownAborted = new Set<AttemptId>();
  /** Purged task ids not submitted again, and every purged run id: they name nothing. */
  readonly purgedTasks = new Set<TaskId>();
  readonly purgedRuns = new Set<RunId>();
  /** Every `task:purged` event, in order. */
  readonly purgeEvents: { taskId: TaskId; runIds: readonly RunId[] }[] = [];
  paused = false;
  /** While paused: the attempts that existed when pause() took effect (no others may appear). */
  frozenAttempts: ReadonlySet<AttemptId> | undefined;
  /** Handlers running now, in total and per key. */
  active = 0;
  readonly activeByKey = new Map<string, number>();
  /** Called (once) when the next handler returns, throws or sees its signal abort. */
  private handlerEnded: (() => void)[] = [];
  /** Violations seen where an expect cannot be thrown (inside the handler, in event listeners). */
  readonly violations: string[] = [];

  constructor(options: CaseOptions) {
    this.manual = options.realTime ? undefined : new ManualClock({ seed: options.seed });
    this.clock = this.manual ?? systemClock;
    this.concurrency = options.concurrency;
    this.snapshots = options.snapshots;
    this.backoff = options.backoff;
    this.leaseTimeoutMs = options.leaseTimeoutMs;
    this.cronWindowOption = options.cronWindow;
    this.cronWindow = options.cronWindow ?? DEFAULT_CRON_WINDOW;
    this.retention = options.retention;
    // README: "every everyMs (default olderThanMs, clamped to 1 s – 1 h)".
    this.retentionEveryMs = options.retention?.everyMs ?? Math.min(3_600_000, Math.max(1_000, options.retention?.olderThanMs ?? 0));
  }

  /** The one handler every queue instance of this case uses. */
  readonly handler = (ctx: HandlerContext<Payload>): unknown => {
    const { steps, key } = ctx.json();
    const where = `handler(run ${ctx.runId}, attempt ${ctx.attemptId})`;
    // The queue's own view when the handler starts: the run is running this very attempt.
    const view = this.q.getRun(ctx.runId);
    if (view?.state !== "running" || view.currentAttemptId !== ctx.attemptId) {
      this.violations.push(`${where}: called while the run is ${view?.state} with current attempt ${view?.currentAttemptId}`);
    }
    // The script goes by the attempt's place in the run's list; the cap by its counted number.
    const index = view?.attempts.findIndex((a) => a.attemptId === ctx.attemptId) ?? -1;
    const n = index >= 0 ? index + 1 : ctx.attemptNumber;
    const counted = (view?.attempts ?? []).slice(0, n).filter((a) => a.result !== "suspended").length;
    if (ctx.attemptNumber !== counted) this.violations.push(`${where}: ctx.attemptNumber ${ctx.attemptNumber}, but it is counted attempt ${counted} (attempt ${n} of the run)`);
    if (this.terminalSeen.has(ctx.runId)) this.violations.push(`${where}: called after the run was seen ${this.terminalSeen.get(ctx.runId)!.state}`);
    if (this.suspendedSeen.has(ctx.runId)) this.violations.push(`${where}: called for a run seen suspended and not resumed since`);
    if (this.calls.has(ctx.attemptId)) this.violations.push(`${where}: called twice for one attempt`);
    if (this.frozenAttempts !== undefined && !this.frozenAttempts.has(ctx.attemptId)) this.violations.push(`${where}: a new attempt started while paused`);
    if (ctx.attemptNumber > ctx.maxAttempts) this.violations.push(`${where}: attempt number above maxAttempts ${ctx.maxAttempts}`);
    if (view !== undefined && this.clock.now() < view.scheduledAt) this.violations.push(`${where}: called at ${this.clock.now()}, before the run is due at ${view.scheduledAt}`);
    // (A task whose submit() has not resolved yet is not known here: observe checks its attempts' start.)
    const startAt = this.tasks.find((t) => t.taskId === ctx.taskId)?.input.runPolicy.startAt;
    if (startAt !== undefined && this.clock.now() < startAt) this.violations.push(`${where}: called at ${this.clock.now()}, before its task's startAt ${startAt}`);
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
      for (const resolve of this.handlerEnded.splice(0)) resolve();
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
    let step = steps[n - 1];
    if (step === undefined) {
      this.violations.push(`${where}: attempt ${n} has no scripted step (more attempts than ${STEPS})`);
      step = ["ok", "sync"];
    }
    const [outcome, delay] = step;
    const produce = (): unknown => {
      end();
      if (outcome === "retry") throw new Error(`retry #${n}`);
      if (outcome === "terminal") throw new TerminalError(`terminal #${n}`);
      if (outcome === "suspend") return suspended(`part #${n}`);
      return `ok #${n}`;
    };
    if (delay === "sync") return produce();
    if (delay === "overrun" || delay === "overrunDeaf") {
      return nextTurn().then(async () => {
        // The attempt takes longer than its timeout. Its deadline is on the queue's clock: a manual one is moved past it here.
        if (this.manual !== undefined && !signal.aborted && ctx.timeoutMs !== undefined) this.manual.advance(ctx.timeoutMs);
        if (delay === "overrunDeaf") await sleep(DEAF_MS); // ignores its signal
        else await delayOrAbort(DEAF_MS, signal); // honours it: stops when it aborts
        return produce();
      });
    }
    // A cooperative handler: it stops as soon as its signal aborts (the late result is ignored anyway).
    return delayOrAbort(delay === "turn" ? "turn" : delay === "timer" ? 1 : 6, signal).then(produce);
  };

  async open(start: boolean): Promise<void> {
    this.q = await openQueue({
      dataDir: this.dataDir,
      clock: this.clock,
      // With a ManualClock nothing in the future becomes due by itself: runUntilIdle must not wait for it.
      // In real time it waits for the (short) repeat intervals and backoffs.
      idleHorizonMs: this.manual === undefined ? 1_000 : 0,
      // 0: a retry is due at once; otherwise retrying runs wait (holding their key) until the clock reaches the retry.
      backoff: this.backoff.length === 1 ? fixedBackoff(this.backoff[0]) : exponentialBackoff(this.backoff[0], this.backoff[1]),
      concurrency: this.concurrency,
      // The shortest lease heartbeats every 333 ms of the ManualClock: advancing it while handlers run renews their leases.
      leaseTimeoutMs: this.leaseTimeoutMs,
      // Frequent snapshots (and WAL compaction) make restarts recover from a snapshot plus a WAL tail.
      snapshotEvery: this.snapshots === "off" ? 0 : 16,
      snapshotInWorker: this.snapshots === "inWorker",
      handler: this.handler,
      ...(this.cronWindowOption === undefined ? {} : { cronWindow: this.cronWindowOption }),
      ...(this.retention === undefined ? {} : { retention: this.retention }),
    });
    this.q.on("error", ({ error }) => this.violations.push(`queue error: ${error instanceof Error ? error.message : String(error)}`));
    this.q.on("task:purged", ({ taskId, runIds }) => this.purgeEvents.push({ taskId, runIds }));
    if (start) {
      this.q.start();
      this.armRetention();
    }
  }

  /** start() and runUntilIdle() arm the retention timer unless it is armed: it fires everyMs later on the queue's clock. */
  private armRetention(): void {
    if (this.retention !== undefined && this.retentionDueAt === undefined) this.retentionDueAt = this.clock.now() + this.retentionEveryMs;
  }

  // ---------------------------------------------------------------- actions

  /** The submission of `plan` (under `taskId` if given; `tag` makes the spec differ from the plan's own). */
  inputOf(plan: TaskPlan, taskId?: TaskId, tag?: string): SubmitInput {
    const payload: Payload = { steps: plan.steps, key: plan.key ?? null, ...(tag === undefined ? {} : { tag }) };
    const constraints = {
      maxAttempts: plan.maxAttempts,
      ...(plan.timeoutMs === undefined ? {} : { timeoutMs: plan.timeoutMs }),
      ...(plan.key === undefined ? {} : { concurrencyKey: plan.key, concurrencyKeyHoldPolicy: plan.hold }),
      // As the plan spells it (jitter "none" or null included): the submission keeps that spelling, the task reads back without it.
      ...(plan.backoff === undefined ? {} : { backoff: { ...plan.backoff } as RetryBackoff }),
    };
    const { repeat, cron, misfire } = plan;
    // The factories know no startAt: it is added to the policy they make (an absolute time from now on).
    const start = plan.startAtIn === undefined ? {} : { startAt: Math.max(0, this.clock.now() + plan.startAtIn) };
    const runPolicy: RunPolicy =
      cron !== undefined
        ? {
            ...cronPolicy(cron.expression, { ...(cron.maxOccurrences === undefined ? {} : { maxOccurrences: cron.maxOccurrences }), ...(misfire === undefined ? {} : { misfire }) }),
            ...(cron.timezone === undefined ? {} : { timezone: cron.timezone }),
            ...start,
          }
        : repeat !== undefined
          ? { ...repeatPolicy(repeat.count, repeat.intervalMs, misfire), ...start }
          : { ...oncePolicy(), ...start };
    return { runPolicy, payload, constraints, ...(taskId === undefined ? {} : { taskId }) };
  }

  /** The runs a submission creates: once 1, repeat its count, cron its first window (at most maxOccurrences). */
  initialRuns(plan: TaskPlan): number {
    if (plan.cron !== undefined) return Math.min(this.cronWindow, plan.cron.maxOccurrences ?? Number.POSITIVE_INFINITY);
    return plan.repeat?.count ?? 1;
  }

  /**
   * Checks the result of a fresh submission and remembers the task; `around`
   * are the clock's readings right before and right after the (synchronous
   * part of the) call, which bound the submission time.
   */
  private added(result: SubmitResult, plan: TaskPlan, input: SubmitInput, around: readonly [number, number]): void {
    expect(result.existing).toBe(false);
    if (input.taskId !== undefined) expect(result.taskId).toBe(input.taskId);
    expect(result.runIds).toHaveLength(this.initialRuns(plan));
    const createdAt = this.q.getTask(result.taskId)!.createdAt;
    expect(createdAt, `task ${result.taskId} created when it was submitted`).toBeGreaterThanOrEqual(around[0]);
    expect(createdAt, `task ${result.taskId} created when it was submitted`).toBeLessThanOrEqual(around[1]);
    this.tasks.push({ taskId: result.taskId, runIds: result.runIds, plan, input, createdAt });
    const startAt = input.runPolicy.startAt;
    if (startAt !== undefined) note(`submit: ${input.runPolicy.kind} with a startAt ${startAt < createdAt ? "passed" : startAt === createdAt ? "now" : "ahead"}`);
    if (plan.backoff !== undefined) note(`submit: own ${plan.backoff.kind} backoff, jitter ${String(plan.backoff.jitter)}`);
    if (plan.cron?.timezone !== undefined) note(`submit: cron "${plan.cron.expression}" in ${plan.cron.timezone}`);
    // A caller-chosen id that was purged names a new task now.
    this.purgedTasks.delete(result.taskId);
    for (const runId of result.runIds) this.planOfRun.set(runId, plan);
  }

  async submit(plan: TaskPlan): Promise<void> {
    const input = this.inputOf(plan);
    const at = this.clock.now();
    const pending = this.q.submit(input);
    this.added(await pending, plan, input, [at, this.clock.now()]);
  }

  /**
   * `task`'s own submission with another startAt: dropped when it had passed
   * at submission (the schedule without it is the same), a millisecond later
   * when not, or (it had none) the submission time (the same schedule again).
   */
  private otherStart(task: SubmittedTask): SubmitInput {
    const copy = structuredClone(task.input);
    const policy: { startAt?: number } = copy.runPolicy;
    const startAt = policy.startAt;
    if (startAt === undefined) policy.startAt = task.createdAt;
    else if (startAt <= task.createdAt) delete policy.startAt;
    else policy.startAt = startAt + 1;
    note(`submit taskId: existing, startAt ${startAt === undefined ? "added" : startAt <= task.createdAt ? "dropped" : "moved"}`);
    return copy;
  }

  /**
   * `task`'s own submission with another backoff: without one, the queue's
   * own delays as the task's (the same retry times, another spec); with full
   * jitter, none; a fixed one a millisecond longer; an exponential one
   * dropped (the queue's from then on).
   */
  private otherBackoff(task: SubmittedTask): SubmitInput {
    const copy = structuredClone(task.input);
    const own = task.plan.backoff;
    const [base, max] = this.backoff;
    let backoff: TaskBackoff | undefined;
    if (own === undefined) backoff = max === undefined ? { kind: "fixed", delayMs: base } : { kind: "exponential", baseMs: base, maxMs: max };
    else if (own.jitter === "full") backoff = { ...own, jitter: "none" };
    else if (own.kind === "fixed") backoff = { kind: "fixed", delayMs: own.delayMs + 1 };
    note(`submit taskId: existing, backoff ${own === undefined ? "added" : backoff === undefined ? "dropped" : "changed"}`);
    const { backoff: _, ...constraints } = copy.constraints ?? {};
    return { ...copy, constraints: backoff === undefined ? constraints : { ...constraints, backoff: backoff as RetryBackoff } };
  }

  /**
   * `task`'s own submission in another zone (none: New York; Berlin: none;
   * any other: Berlin), even where the instants are the same; a task that is
   * not cron gets another backoff instead.
   */
  private otherZone(task: SubmittedTask): SubmitInput {
    const policy = task.input.runPolicy;
    if (policy.kind !== "cron") return this.otherBackoff(task);
    const copy = structuredClone(task.input);
    const zone = storedZone(policy.timezone);
    const { timezone: _, ...rest } = policy;
    const runPolicy: RunPolicy = zone === undefined ? { ...rest, timezone: "America/New_York" } : zone === "Europe/Berlin" ? rest : { ...rest, timezone: "Europe/Berlin" };
    note(`submit taskId: existing, zone ${zone ?? "UTC"} to ${runPolicy.kind === "cron" ? (runPolicy.timezone ?? "UTC") : ""}`);
    return { ...copy, runPolicy };
  }

  /**
   * Submits under caller-chosen id `slot`. A new task if no task has that id
   * (with "same" or "spelledOut", twice at once: the second submission is
   * acknowledged as existing, and only once the first is on disk); otherwise
   * the existing task's spec again, as it was or with its defaults spelled
   * out (`existing: true`, nothing written), or a different spec, maybe
   * only by its startAt, its backoff or its zone (`TASK_SPEC_MISMATCH`,
   * nothing written).
   */
  async submitWithId(slot: number, plan: TaskPlan, variant: Variant): Promise<void> {
    const taskId = CALLER_IDS[slot]!;
    const live = this.tasks.find((t) => t.taskId === taskId);
    if (live === undefined) {
      note(this.purgedTasks.size > 0 ? "submit taskId: new (some id purged before)" : "submit taskId: new");
      const input = this.inputOf(plan, taskId);
      const at = this.clock.now();
      if (variant !== "same" && variant !== "spelledOut") {
        const pending = this.q.submit(input);
        this.added(await pending, plan, input, [at, this.clock.now()]);
        return;
      }
      const first = this.q.submit(input);
      const around = [at, this.clock.now()] as const;
      const again = this.q.submit(sameSpec(input, variant)).then(async (result) => ({ result, onDisk: (await ActionQueue.inspect(this.dataDir)).getTask(taskId) }));
      const [created, { result, onDisk }] = await Promise.all([first, again]);
      this.added(created, plan, input, around);
      this.expectExisting(result, taskId, created.runIds, "the same submission twice at once");
      // (A cron task's first runs may have ended meanwhile, and its window been refilled.)
      const durable = plan.cron === undefined ? onDisk?.runIds : onDisk?.runIds.slice(0, created.runIds.length);
      expect(durable, "a repeated submission is acknowledged only once the original is durable").toEqual(created.runIds);
      return;
    }
    note(`submit taskId: existing, ${variant} spec`);
    const before = this.q.getTask(taskId);
    const sequence = this.q.stats().latestSequence;
    const input =
      variant === "different"
        ? this.inputOf(live.plan, taskId, "different")
        : variant === "otherStart"
          ? this.otherStart(live)
          : variant === "otherBackoff"
            ? this.otherBackoff(live)
            : variant === "otherZone"
              ? this.otherZone(live)
              : sameSpec(live.input, variant);
    const pending = handled(this.q.submit(input));
    // The submission is decided synchronously: had it written anything, the sequence would have moved now.
    expect(this.q.stats().latestSequence, "a repeated submission writes nothing").toBe(sequence);
    if (variant === "same" || variant === "spelledOut") {
      const result = await pending;
      this.expectExisting(result, taskId, live.runIds, "a repeated submission");
      expect(result.latestSequence).toBeGreaterThanOrEqual(sequence);
    } else {
      const error = await errorOf(pending);
      expect(error.code, error.message).toBe("TASK_SPEC_MISMATCH");
      expect(error.message).toContain(taskId);
    }
    // Unchanged, but for the runs a cron task gained meanwhile (syncRuns checks those).
    const after = this.q.getTask(taskId)!;
    expect({ ...after, runIds: after.runIds.slice(0, before!.runIds.length) }, "the existing task is unchanged").toEqual(before);
  }

  /**
   * The result of submitting an existing task again names its runs as they
   * are when the call resolves: the runs it had at the call, and for a cron
   * task perhaps the ones its window gained since.
   */
  private expectExisting(result: SubmitResult, taskId: TaskId, atCall: readonly RunId[], what: string): void {
    expect(result, what).toMatchObject({ taskId, existing: true });
    if (this.tasks.find((t) => t.taskId === taskId)!.plan.cron === undefined) {
      expect(result.runIds, what).toEqual(atCall);
      return;
    }
    expect(result.runIds.slice(0, atCall.length), `${what}: the runs it had`).toEqual(atCall);
    expect(this.q.getTask(taskId)!.runIds.slice(0, result.runIds.length), `${what}: runs of the task`).toEqual(result.runIds);
  }

  /**
   * submitMany of 2–4 tasks, fresh or under caller-chosen ids (an existing
   * one with its own spec comes back `existing: true`). "duplicate" names one
   * taskId twice (`INVALID_FIELD`), "mismatch" gives an existing id a
   * different spec (`TASK_SPEC_MISMATCH`): either way nothing is written.
   */
  async submitMany(items: readonly { plan: TaskPlan; slot: number | undefined }[], mode: "ok" | "duplicate" | "mismatch"): Promise<void> {
    const inputs: SubmitInput[] = [];
    /** Per input: the existing task it names, or the plan of the new one. */
    const expected: ({ existing: SubmittedTask } | { plan: TaskPlan })[] = [];
    const named = new Set<TaskId>();
    const set = (index: number, plan: TaskPlan, taskId: TaskId | undefined): void => {
      const live = taskId === undefined ? undefined : this.tasks.find((t) => t.taskId === taskId);
      if (taskId !== undefined) named.add(taskId);
      inputs[index] = live === undefined ? this.inputOf(plan, taskId) : structuredClone(live.input);
      expected[index] = live === undefined ? { plan } : { existing: live };
    };
    for (const [index, { plan, slot }] of items.entries()) {
      const taskId = slot === undefined ? undefined : CALLER_IDS[slot]!;
      set(index, plan, taskId !== undefined && named.has(taskId) ? undefined : taskId);
    }
    let refusal: { code: string; index: number; message: string } | undefined;
    if (mode === "duplicate") {
      let first = inputs.findIndex((i) => i.taskId !== undefined);
      if (first < 0) {
        first = 0;
        set(0, items[0]!.plan, CALLER_IDS[0]);
      }
      // The same taskId again (with the same spec), last.
      inputs.push(structuredClone(inputs[first]!));
      refusal = { code: "INVALID_FIELD", index: inputs.length - 1, message: "appears more than once in this call" };
    } else if (mode === "mismatch") {
      const live = this.tasks.find((t) => CALLER_IDS.includes(t.taskId));
      if (live !== undefined) {
        const at = inputs.findIndex((i) => i.taskId === live.taskId);
        const index = at >= 0 ? at : inputs.length - 1;
        inputs[index] = this.inputOf(live.plan, live.taskId, "different");
        refusal = { code: "TASK_SPEC_MISMATCH", index, message: `task ${live.taskId} already exists with a different spec` };
      }
    }
    const stats = this.q.stats();
    const at = this.clock.now();
    const pending = handled(this.q.submitMany(inputs));
    const around = [at, this.clock.now()] as const;
    const fresh = expected.filter((e) => "plan" in e).length;
    if (refusal !== undefined || fresh === 0) {
      expect(this.q.stats().latestSequence, "a refused or all-existing submitMany writes nothing").toBe(stats.latestSequence);
    }
    note(`submitMany: ${refusal?.code ?? (fresh === 0 ? "all existing" : fresh < inputs.length ? "some existing" : "all new")}`);
    if (refusal !== undefined) {
      const error = await errorOf(pending);
      expect(error.code, error.message).toBe(refusal.code);
      expect(error.message.startsWith(`submission ${refusal.index}: `), error.message).toBe(true);
      expect(error.message).toContain(refusal.message);
      // All or none: no task of the batch exists (the counts cannot move by themselves).
      expect(this.q.stats()).toMatchObject({ tasks: stats.tasks, runs: stats.runs });
      for (const input of inputs) if (input.taskId !== undefined && !this.tasks.some((t) => t.taskId === input.taskId)) expect(this.q.getTask(input.taskId)).toBeUndefined();
      return;
    }
    const results = await pending;
    expect(results).toHaveLength(inputs.length);
    for (const [i, result] of results.entries()) {
      const e = expected[i]!;
      if ("existing" in e) this.expectExisting(result, e.existing.taskId, e.existing.runIds, `submitMany result ${i}`);
      else this.added(result, e.plan, inputs[i]!, around);
    }
  }

  async cancelTask(pick: number): Promise<void> {
    this.syncRuns();
    const task = this.tasks[pick % this.tasks.length]!;
    // cancelTask decides synchronously which runs it cancels: this view is exact.
    const live = task.runIds.filter((id) => !TERMINAL.has(this.q.getRun(id)!.state));
    const running = new Map(task.runIds.map((id) => [id, this.q.getRun(id)!] as const).filter(([, r]) => r.state === "running"));
    const { canceledRuns } = await this.q.cancelTask(task.taskId);
    expect(canceledRuns).toBe(live.length);
    this.canceledTasks.add(task.taskId);
    for (const id of live) this.canceledNow(id, running.get(id));
    expect(this.q.getTask(task.taskId)!.canceledAt).toBeDefined();
    // A canceled cron task derives nothing more, not even for the runs just canceled (syncRuns holds it to that from now on).
    expect(this.q.getTask(task.taskId)!.runIds, "runs after cancelTask").toEqual(task.runIds);
    if (task.plan.cron !== undefined) note("cancelTask: a cron task");
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
    const unfinished = (): number => this.q.getTask(task.taskId)!.runIds.filter((id) => !TERMINAL.has(this.q.getRun(id)!.state)).length;
    const [live, total] = [unfinished(), this.q.getTask(task.taskId)!.runIds.length];
    const pending = handled(this.q.cancelRun(runId));
    const cron = task.plan.cron;
    if (cron !== undefined && !this.canceledTasks.has(task.taskId)) {
      // The canceled run leaves the window, which is refilled at once (as far as maxOccurrences lets it; with any refill still owed).
      const room = (cron.maxOccurrences ?? Number.POSITIVE_INFINITY) - total;
      expect(unfinished(), `cron task ${task.taskId}: unfinished runs right after cancelRun`).toBe(Math.min(this.cronWindow, live - 1 + room));
      note(room > 0 ? "cancelRun: a cron run, window refilled" : "cancelRun: a cron run, at maxOccurrences");
    }
    await pending;
    this.canceledNow(runId, before.state === "running" ? before : undefined);
  }

  /** Bookkeeping of a run a cancel call just canceled (`running`: its view when the call was made, if it was running). */
  private canceledNow(runId: RunId, running: RunView | undefined): void {
    this.expectCanceled.add(runId);
    this.suspendedSeen.delete(runId);
    const run = this.q.getRun(runId)!;
    expect(run.state).toBe("canceled");
    if (running !== undefined) {
      const call = this.calls.get(running.currentAttemptId!);
      // Its handler, if it was called, saw its signal abort with "cancel". (Not called yet: the start was not durable, and it never will be called.)
      if (call !== undefined) expect(call.abortReason, `handler of canceled run ${runId}`).toBe("cancel");
    }
  }

  /**
   * resumeRun of a suspended run (when `suspendedFirst` and there is one),
   * else of any run, or now and then of a purged one: a suspended run is
   * ready at once; any other is refused (`INVALID_TRANSITION`, `NOT_FOUND`
   * once purged) and nothing changes.
   */
  async resumeRun(pickTask: number, pickRun: number, suspendedFirst: boolean): Promise<void> {
    const suspendedRuns = allRuns(this.q).filter((r) => r.state === "suspended");
    if (suspendedFirst && suspendedRuns.length > 0) {
      await this.resumeSuspended(suspendedRuns[pickRun % suspendedRuns.length]!.runId);
      return;
    }
    if (this.purgedRuns.size > 0 && pickTask % 4 === 0) {
      const gone = [...this.purgedRuns][pickRun % this.purgedRuns.size]!;
      const sequence = this.q.stats().latestSequence;
      const error = await errorOf(this.q.resumeRun(gone));
      note("resumeRun: purged run refused");
      expect(error.code, error.message).toBe("NOT_FOUND");
      expect(this.q.stats().latestSequence).toBe(sequence);
      return;
    }
    const task = this.tasks[pickTask % this.tasks.length]!;
    const runId = task.runIds[pickRun % task.runIds.length]!;
    const before = this.q.getRun(runId)!;
    if (before.state === "suspended") {
      await this.resumeSuspended(runId);
      return;
    }
    const sequence = this.q.stats().latestSequence;
    const pending = handled(this.q.resumeRun(runId));
    // Refused before anything is applied (synchronously): the run and the WAL are as they were.
    expect(this.q.getRun(runId), "a refused resumeRun changes nothing").toEqual(before);
    expect(this.q.stats().latestSequence).toBe(sequence);
    const error = await errorOf(pending);
    note(`resumeRun: ${before.state} run refused`);
    expect(error.code, error.message).toBe("INVALID_TRANSITION");
    expect(error.message).toContain(`run ${runId} is ${before.state}: only a suspended run can be resumed`);
  }

  private async resumeSuspended(runId: RunId): Promise<void> {
    const pending = handled(this.q.resumeRun(runId));
    // resumeRun applies synchronously: the run is ready now (and may be dispatched as soon as the loop runs).
    this.suspendedSeen.delete(runId);
    this.resumes.set(runId, (this.resumes.get(runId) ?? 0) + 1);
    expect(this.q.getRun(runId)!.state).toBe("ready");
    note("resumeRun: suspended run resumed");
    await pending;
  }

  /**
   * purge(options): removes exactly the finished tasks (every run terminal,
   * and a cron task canceled or at maxOccurrences) that match the options,
   * with their runs: finished by the cut-off (the earlier of finishedBefore
   * and now − olderThanMs), every run in `states`, at most `limit` of them
   * (which ones the README leaves open; short of the limit, all). A run
   * running at the call may still finish before the purge looks (handler
   * results settle in microtasks), so its task may go too.
   * `finishedBeforeIn` sets finishedBefore that far from now.
   */
  async purge(options: PurgeOptions, finishedBeforeIn?: number): Promise<void> {
    const now = this.clock.now();
    if (finishedBeforeIn !== undefined) options = { ...options, finishedBefore: Math.max(0, now + finishedBeforeIn) };
    const cutoffAt = (t: number): number => Math.min(t, options.finishedBefore ?? t, t - (options.olderThanMs ?? 0));
    const candidates = this.purgeCandidates(new Set(options.states ?? TERMINAL_STATES));
    const events = this.purgeEvents.length;
    const pending = handled(this.q.purge(options));
    // The cut-off is "now" at the call: between these two readings (the same instant on a ManualClock).
    const after = this.clock.now();
    const must = new Set<TaskId>();
    const may = new Set<TaskId>();
    for (const c of candidates) {
      if (!c.running && c.finishedAt <= cutoffAt(now)) must.add(c.taskId);
      else if ((c.running ? now : c.finishedAt) <= cutoffAt(after)) may.add(c.taskId);
    }
    const result = await within(pending, "purge");
    const gone = await this.checkPurged({ must, may, limit: options.limit ?? Number.POSITIVE_INFINITY, events, what: `purge ${JSON.stringify(options)}` });
    note(`purge: ${gone.length === 0 ? "nothing" : "some"} purged, ${this.tasks.length === 0 ? "nothing" : "some"} kept${gone.some((t) => may.has(t.taskId)) ? ", one finishing during the purge" : ""}`);
    if (options.limit !== undefined && gone.length === options.limit && must.size > gone.length) note("purge: limit reached");
    if (options.finishedBefore !== undefined && gone.length === 0 && must.size === 0 && candidates.length > 0) note("purge: finishedBefore kept every finished task");
    expect(result).toEqual({ tasks: gone.length, runs: gone.reduce((sum, t) => sum + t.runIds.length, 0) });
  }

  /**
   * purge() as a handler ends, one turn later: its run has ended in memory,
   * and what follows (a cron task's refill, once the end is durable) may not
   * have happened yet.
   */
  async purgeAsRunEnds(options: PurgeOptions, finishedBeforeIn?: number): Promise<void> {
    if (this.active > 0) {
      await within(new Promise<void>((resolve) => this.handlerEnded.push(resolve)), "a handler to end");
      await nextTurn();
      note("purge as a run ends");
    }
    await this.purge(options, finishedBeforeIn);
  }

  /**
   * Tasks that are finished, or would be once their running handlers return,
   * with every terminal run in `states`; `finishedAt` is when the last of
   * their terminal runs ended (or the task was canceled or created). A cron
   * task is not finished while it may still derive runs, whatever its runs'
   * states (README, *Purging finished tasks*).
   */
  private purgeCandidates(states: ReadonlySet<string>): { taskId: TaskId; finishedAt: number; running: boolean }[] {
    const candidates: { taskId: TaskId; finishedAt: number; running: boolean }[] = [];
    for (const task of this.tasks) {
      const view = this.q.getTask(task.taskId)!;
      const cron = task.plan.cron;
      if (cron !== undefined && view.canceledAt === undefined && view.runIds.length < (cron.maxOccurrences ?? Number.POSITIVE_INFINITY)) continue;
      let finishedAt = view.canceledAt ?? view.createdAt;
      let open = false;
      let running = false;
      let selected = true;
      for (const run of view.runIds.map((id) => this.q.getRun(id)!)) {
        if (run.state === "running") running = true;
        else if (!TERMINAL.has(run.state)) open = true;
        else {
          selected &&= states.has(run.state);
          finishedAt = Math.max(finishedAt, run.history.at(-1)!.at);
        }
      }
      if (!open && selected) candidates.push({ taskId: task.taskId, finishedAt, running });
    }
    return candidates;
  }

  /**
   * After a purge: the tasks gone are among `must` and `may`, at most `limit`
   * of them, and every one of `must` unless the limit was reached; exactly
   * they were reported by task:purged (since event `events`), and their ids
   * name nothing now. The model forgets them; returns them.
   */
  private async checkPurged(p: { must: ReadonlySet<TaskId>; may: ReadonlySet<TaskId>; limit: number; events: number; what: string }): Promise<SubmittedTask[]> {
    const gone = this.tasks.filter((t) => this.q.getTask(t.taskId) === undefined);
    for (const t of gone) expect(p.must.has(t.taskId) || p.may.has(t.taskId), `${p.what}: purged task ${t.taskId} was not finished, or not selected`).toBe(true);
    expect(gone.length, `${p.what}: purged within the limit`).toBeLessThanOrEqual(p.limit);
    if (gone.length < p.limit) for (const id of p.must) expect(gone.some((t) => t.taskId === id), `${p.what}: finished task ${id} was not purged`).toBe(true);
    const byId = (a: { taskId: TaskId }, b: { taskId: TaskId }): number => (a.taskId < b.taskId ? -1 : 1);
    expect(this.purgeEvents.slice(p.events).sort(byId), `${p.what}: task:purged events`).toEqual(gone.map((t) => ({ taskId: t.taskId, runIds: t.runIds })).sort(byId));
    for (const t of gone) {
      // The ids name nothing now.
      for (const runId of t.runIds) {
        expect(this.q.getRun(runId)).toBeUndefined();
        expect(syncCodeOf(() => this.q.explain(runId))).toBe("NOT_FOUND");
      }
      expect(await codeOf(() => this.q.cancelRun(t.runIds[0]!))).toBe("NOT_FOUND");
      expect(await codeOf(() => this.q.cancelTask(t.taskId))).toBe("NOT_FOUND");
    }
    this.forget(gone);
    return gone;
  }

  /** The model forgets purged tasks. */
  private forget(gone: readonly SubmittedTask[]): void {
    if (gone.length === 0) return;
    const runs = new Set(gone.flatMap((t) => t.runIds));
    this.tasks = this.tasks.filter((t) => !gone.includes(t));
    for (const t of gone) {
      this.purgedTasks.add(t.taskId);
      this.canceledTasks.delete(t.taskId);
    }
    for (const runId of runs) {
      this.purgedRuns.add(runId);
      this.planOfRun.delete(runId);
      this.terminalSeen.delete(runId);
      this.expectCanceled.delete(runId);
      this.resumes.delete(runId);
    }
    for (const [attemptId, call] of this.calls) if (runs.has(call.runId)) this.calls.delete(attemptId);
    if (this.frozenAttempts !== undefined) this.frozenAttempts = new Set(this.attemptIds());
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
    for (let i = 0; i < count; i += 1) await nextTurn();
  }

  async idle(): Promise<void> {
    const idle = this.q.runUntilIdle();
    this.armRetention();
    await within(idle, "runUntilIdle");
    this.checkQuiescent();
  }

  async advance(ms: number): Promise<void> {
    await this.moveClockTo(this.manual!.now() + ms);
  }

  /** Exactly to the moment the retention timer fires (a small step when it is not armed). */
  async advanceToRetention(): Promise<void> {
    note(this.retentionDueAt === undefined ? "advance to retention: not armed" : "advance to retention: armed");
    await this.moveClockTo(this.retentionDueAt ?? this.manual!.now() + 100);
  }

  /** Until the clock reads `at`: moves a ManualClock there, or sleeps. */
  async waitUntil(at: number): Promise<void> {
    if (this.manual !== undefined) await this.moveClockTo(Math.max(this.manual.now(), at));
    else await sleep(Math.max(0, at - this.clock.now() + 1));
  }

  /**
   * Moves the ManualClock to `to`, firing the timers that fall due on the
   * way. When the retention timer is one of them, it purges, as purge()
   * would, the finished tasks (with runs in retention.states) that ended
   * olderThanMs or more before the instant it fires: that purge is awaited
   * and checked, and the timer is armed again everyMs after it ended.
   * (Retention cases have no timeouts, so nothing else moves the clock:
   * the timer's due time is known exactly.)
   */
  private async moveClockTo(to: number): Promise<void> {
    const manual = this.manual!;
    const dueAt = this.retentionDueAt;
    if (this.retention === undefined || dueAt === undefined || dueAt > to) {
      manual.set(to);
      return;
    }
    const from = manual.now();
    this.syncRuns();
    const candidates = this.purgeCandidates(new Set(this.retention.states ?? TERMINAL_STATES));
    const events = this.purgeEvents.length;
    manual.set(to);
    // Purges run one at a time: one that removes nothing settles after the timer's, then a turn lets it re-arm.
    expect(await within(this.q.purge({ limit: 0 }), "purge behind the retention purge")).toEqual({ tasks: 0, runs: 0 });
    await nextTurn();
    this.retentionDueAt = to + this.retentionEveryMs;
    const cutoff = dueAt - this.retention.olderThanMs;
    const must = new Set<TaskId>();
    const may = new Set<TaskId>();
    // A running handler's task ends at `from` or later.
    for (const c of candidates) {
      if (!c.running && c.finishedAt <= cutoff) must.add(c.taskId);
      else if (c.running && from <= cutoff) may.add(c.taskId);
    }
    const gone = await this.checkPurged({ must, may, limit: Number.POSITIVE_INFINITY, events, what: `retention purge at ${dueAt}` });
    note(`retention fired: ${gone.length === 0 ? "nothing" : "some"} purged, ${this.tasks.length === 0 ? "nothing" : "some"} kept`);
  }

  /** Close, then (after `downMs` of downtime on the ManualClock) open the same directory. */
  async restart(mode: "drain" | "abort", start: boolean, concurrency: number, downMs = 0): Promise<void> {
    const old = this.q;
    this.noteRetryTimes(old);
    if (mode === "abort") {
      // close({ mode: "abort" }) aborts synchronously whatever is in flight at the call.
      for (const run of allRuns(old)) if (run.state === "running") this.shutdownAborted.add(run.currentAttemptId!);
    }
    await within(old.close({ mode }), `close(${mode})`);
    this.retentionDueAt = undefined;
    this.syncRuns();
    const shown = allRuns(old);
    const onDisk = allRuns(await ActionQueue.inspect(this.dataDir));
    expect(onDisk.filter((r) => r.state === "running" || r.state === "leased")).toEqual([]);
    expect(onDisk, "what the closed queue showed is what is on disk").toEqual(shown);
    this.concurrency = concurrency;
    if (downMs > 0) this.manual!.advance(downMs);
    const now = this.clock.now();
    const { runs, misfired, added } = this.recovered(onDisk, now);
    await this.open(start);
    expect(this.q.recoveryReport.reconciledRuns).toEqual([]);
    const stored = new Set(onDisk.map((r) => r.runId));
    const reopened = allRuns(this.q);
    expect(
      reopened.filter((r) => stored.has(r.runId)),
      "the reopened queue shows what is on disk, but for the overdue runs its misfire policy cancels",
    ).toEqual(runs);
    const byTaskAndTime = (a: { taskId: TaskId; scheduledAt: number }, b: { taskId: TaskId; scheduledAt: number }): number =>
      a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.scheduledAt - b.scheduledAt;
    expect(
      reopened
        .filter((r) => !stored.has(r.runId))
        .map(({ runId: _, ...run }) => run)
        .sort(byTaskAndTime),
      "the runs open() adds: each live cron task's window refilled",
    ).toEqual(added.sort(byTaskAndTime));
    for (const runId of misfired) this.expectCanceled.add(runId);
    for (const runId of misfired) note(`restart: misfire ${this.planOfRun.get(runId)!.misfire?.kind} canceled a ${this.planOfRun.get(runId)!.cron === undefined ? "repeat" : "cron"} run${downMs > 0 ? " (after downtime)" : ""}`);
    if (added.length > 0) note("restart: cron window refilled");
    expect(this.q.stats().paused).toBe(this.paused);
    this.checkCronWindowsFull("after a restart");
  }

  /**
   * What open() makes of the runs on disk at `now` (README, *What happens on
   * a crash*): of a repeat or cron task's runs still scheduled more than the
   * misfire tolerance after they were due, its misfire policy keeps the
   * newest and cancels the rest (once tasks and canceled tasks aside); then
   * each cron task that is neither canceled nor at maxOccurrences gets its
   * window refilled, as after a run ends (see `checkCron`). Returns the
   * stored runs as open() leaves them, the ones it cancels, and the runs it
   * adds (without their new ids).
   */
  private recovered(onDisk: readonly RunView[], now: number): { runs: RunView[]; misfired: RunId[]; added: Omit<RunView, "runId">[] } {
    const byId = new Map(onDisk.map((r) => [r.runId, r] as const));
    const misfired: RunId[] = [];
    const added: Omit<RunView, "runId">[] = [];
    for (const task of this.tasks) {
      const { cron, misfire } = task.plan;
      if ((task.plan.repeat === undefined && cron === undefined) || this.canceledTasks.has(task.taskId)) continue;
      const overdue = task.runIds
        .map((id) => byId.get(id)!)
        .filter((r) => r.state === "scheduled" && r.scheduledAt < now - MISFIRE_TOLERANCE_MS)
        .sort((a, b) => a.scheduledAt - b.scheduledAt || (a.runId < b.runId ? -1 : 1));
      for (const run of overdue.slice(0, overdue.length - misfireKeeps(misfire, overdue.length))) {
        misfired.push(run.runId);
        byId.set(run.runId, { ...run, state: "canceled", history: [...run.history, { from: "scheduled", to: "canceled", at: now }] });
      }
      if (cron === undefined) continue;
      const runs = task.runIds.map((id) => byId.get(id)!);
      const live = runs.filter((r) => !TERMINAL.has(r.state)).length;
      const room = Math.min(this.cronWindow - live, (cron.maxOccurrences ?? Number.POSITIVE_INFINITY) - runs.length);
      if (room <= 0) continue;
      const latest = Math.max(...runs.map((r) => r.scheduledAt));
      const after = Math.max(replaysMissed(misfire) ? latest : Math.max(latest, now - 1), startAtOf(task) - 1);
      for (const scheduledAt of nextCronOccurrences(cron.expression, after, room, zoneOf(task))) {
        added.push({ taskId: task.taskId, state: "scheduled", createdAt: now, scheduledAt, priority: 0, attemptCount: 0, attempts: [], history: [{ from: null, to: "scheduled", at: now }] });
      }
    }
    return { runs: onDisk.map((r) => byId.get(r.runId)!), misfired, added };
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

  /** How a recorded attempt ended: aborted by an abort-mode close, timed out (its signal said so), or as its script says. */
  private ending(attemptId: AttemptId): Ending {
    if (this.shutdownAborted.has(attemptId)) return "shutdown";
    return this.calls.get(attemptId)?.abortReason === "timeout" ? "timeout" : "scripted";
  }

  /**
   * The backoff after the `counted`-th counted attempt of a run of `plan`
   * (suspended attempts never grow it): the task's own if it has one, else
   * the queue's; fixed, or min(maxMs, baseMs × 2^(n−1)). With full jitter
   * (`jitter`), the wait is some time from 0 up to `delay`.
   */
  backoffAfter(plan: TaskPlan, counted: number): { delay: number; jitter: boolean } {
    const own = plan.backoff;
    if (own === undefined) {
      const [base, max] = this.backoff;
      return { delay: max === undefined ? base : Math.min(max, base * 2 ** (counted - 1)), jitter: false };
    }
    const delay = own.kind === "fixed" ? own.delayMs : Math.min(own.maxMs, own.baseMs * 2 ** (counted - 1));
    return { delay, jitter: own.jitter === "full" };
  }

  /**
   * Takes in the runs the queue added to cron tasks since the last look:
   * only a cron task that is not canceled gains runs, appended to its list
   * (none is ever removed or reordered, restarts included, but by a purge).
   */
  syncRuns(): void {
    for (const task of this.tasks) {
      const ids = this.q.getTask(task.taskId)?.runIds;
      expect(ids, `task ${task.taskId} is gone, and no purge removed it`).toBeDefined();
      expect(ids!.slice(0, task.runIds.length), `runs of task ${task.taskId}: none removed or reordered`).toEqual(task.runIds);
      if (ids!.length === task.runIds.length) continue;
      expect(task.plan.cron, `task ${task.taskId} without a cron policy gained runs`).toBeDefined();
      expect(this.canceledTasks.has(task.taskId), `canceled cron task ${task.taskId} gained runs`).toBe(false);
      let latest = this.q.getRun(task.runIds.at(-1)!)!.scheduledAt;
      for (const runId of ids!.slice(task.runIds.length)) {
        this.planOfRun.set(runId, task.plan);
        const run = this.q.getRun(runId)!;
        if (run.scheduledAt < run.createdAt) note("cron refill: a missed instant replayed");
        else if (run.scheduledAt > nextOccurrence(task.plan.cron!.expression, latest, zoneOf(task))!) note("cron refill: missed instants skipped");
        else note("cron refill: the next instant");
        latest = run.scheduledAt;
      }
      task.runIds = [...ids!];
    }
  }

  /**
   * A cron task's runs, in creation order, are instants of its expression,
   * each the first one after its predecessor (the window refills from the
   * latest run) or, when its misfire policy does not replay missed runs,
   * after the later of its predecessor and the moment it was created; so
   * their scheduledAt strictly increase. The first window is created with
   * the task, from the first instant at or after the later of the
   * submission and the startAt; nothing is ever due before the startAt.
   * Never more runs than maxOccurrences, never more than cronWindow of them
   * unfinished.
   */
  private checkCron(task: SubmittedTask, byId: ReadonlyMap<RunId, RunView>): void {
    const { expression, maxOccurrences } = task.plan.cron!;
    const zone = zoneOf(task);
    const what = `cron task ${task.taskId} (${expression} in ${zone})`;
    const createdAt = this.q.getTask(task.taskId)!.createdAt;
    if (maxOccurrences !== undefined) expect(task.runIds.length, `${what}: runs within maxOccurrences`).toBeLessThanOrEqual(maxOccurrences);
    let previous: RunView | undefined;
    let live = 0;
    for (const runId of task.runIds) {
      const run = byId.get(runId)!;
      if (!TERMINAL.has(run.state)) live += 1;
      if (previous === undefined) expect(run.createdAt, `${what}: its first run is created with it`).toBe(createdAt);
      else {
        expect(run.createdAt, `${what}: run ${runId} created in order`).toBeGreaterThanOrEqual(previous.createdAt);
        expect(run.scheduledAt, `${what}: run ${runId} is due after the one before`).toBeGreaterThan(previous.scheduledAt);
      }
      expect(run.createdAt, `${what}: run ${runId} created in the future`).toBeLessThanOrEqual(this.clock.now());
      const follows = previous === undefined ? task.createdAt - 1 : replaysMissed(task.plan.misfire) ? previous.scheduledAt : Math.max(previous.scheduledAt, run.createdAt - 1);
      const after = Math.max(follows, startAtOf(task) - 1);
      expect(run.scheduledAt, `${what}: run ${runId} (created at ${run.createdAt}) is due at the first instant after ${after}`).toBe(nextOccurrence(expression, after, zone));
      previous = run;
    }
    expect(live, `${what}: unfinished runs within cronWindow ${this.cronWindow}`).toBeLessThanOrEqual(this.cronWindow);
  }

  /**
   * A once or repeat task's runs, in creation order: run i is due at the
   * origin + i × intervalMs, the origin the later of the submission and the
   * startAt (a once task's one run at the origin).
   */
  private checkSchedule(task: SubmittedTask, byId: ReadonlyMap<RunId, RunView>): void {
    const origin = Math.max(task.createdAt, startAtOf(task));
    const intervalMs = task.plan.repeat?.intervalMs ?? 0;
    for (const [i, runId] of task.runIds.entries()) {
      expect(byId.get(runId)!.scheduledAt, `run ${i} of task ${task.taskId} (submitted at ${task.createdAt}, startAt ${String(task.input.runPolicy.startAt)})`).toBe(origin + i * intervalMs);
    }
  }

  /** With nothing in flight or being written: every live cron task that is not at maxOccurrences has a full window. */
  private checkCronWindowsFull(when: string): void {
    this.syncRuns();
    for (const task of this.tasks) {
      const cron = task.plan.cron;
      if (cron === undefined || this.canceledTasks.has(task.taskId) || task.runIds.length === cron.maxOccurrences) continue;
      const live = task.runIds.filter((id) => !TERMINAL.has(this.q.getRun(id)!.state)).length;
      expect(live, `cron task ${task.taskId} ${when}: a full window of unfinished runs`).toBe(this.cronWindow);
    }
  }

  /** The invariants that hold after every step. */
  observe(step: string): void {
    expect(this.violations, `violations after ${step}`).toEqual([]);
    this.syncRuns();
    const runs = allRuns(this.q);
    const byId = new Map(runs.map((r) => [r.runId, r] as const));

    // Run accounting: exactly the implied runs, each task's in its own list; purged ids name nothing.
    expect(runs).toHaveLength(this.tasks.reduce((sum, t) => sum + t.runIds.length, 0));
    for (const task of this.tasks) {
      const view = this.q.getTask(task.taskId)!;
      expect(view.runIds).toEqual(task.runIds);
      // The policy as it was submitted: its startAt exactly as given (also one already passed), its zone canonical
      // (no key for UTC), after restarts too; and its own backoff, without a jitter of "none" or null (no key without one).
      expect(view.runPolicy, `task ${task.taskId}: its run policy`).toStrictEqual(storedPolicy(task.input.runPolicy));
      const backoff = task.plan.backoff;
      if (backoff === undefined) expect(Object.hasOwn(view.constraints, "backoff"), `task ${task.taskId}: a backoff of its own`).toBe(false);
      else expect(view.constraints.backoff, `task ${task.taskId}: its backoff`).toStrictEqual(storedBackoff(backoff));
      if (this.canceledTasks.has(task.taskId)) {
        for (const id of task.runIds) expect(TERMINAL.has(byId.get(id)!.state), `run ${id} of canceled task`).toBe(true);
      }
      if (task.plan.cron !== undefined) this.checkCron(task, byId);
      else this.checkSchedule(task, byId);
      // No attempt of the task starts before its startAt.
      const startAt = task.input.runPolicy.startAt;
      if (startAt !== undefined) {
        for (const id of task.runIds) {
          const first = byId.get(id)!.attempts[0];
          if (first !== undefined) expect(first.startedAt, `run ${id}: attempt started before its task's startAt ${startAt}`).toBeGreaterThanOrEqual(startAt);
        }
      }
    }
    for (const taskId of this.purgedTasks) expect(this.q.getTask(taskId), `purged task ${taskId}`).toBeUndefined();
    for (const runId of this.purgedRuns) expect(this.q.getRun(runId), `purged run ${runId}`).toBeUndefined();

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
      // A suspended run stays exactly as it is until resumeRun (or a cancel): it is never dispatched.
      const asSuspended = this.suspendedSeen.get(run.runId);
      if (asSuspended !== undefined) expect(run, `suspended run ${run.runId} changed without resumeRun`).toEqual(asSuspended);
      else if (run.state === "suspended") this.suspendedSeen.set(run.runId, run);
      expect(run.state === "canceled", `run ${run.runId} is ${run.state}; expected canceled: ${this.expectCanceled.has(run.runId)}`).toBe(this.expectCanceled.has(run.runId));
      // Never promoted or started before it is due.
      for (const h of run.history) if (h.from === "scheduled" && h.to === "ready") expect(h.at, `run ${run.runId} ready before it is due`).toBeGreaterThanOrEqual(run.scheduledAt);
      if (run.attempts.length > 0) expect(run.attempts[0]!.startedAt, `run ${run.runId} started before it is due`).toBeGreaterThanOrEqual(run.scheduledAt);
      this.checkAttempts(run, plan);
      if (seen === undefined) this.checkRetryWaits(run, plan);
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
      expect(byId.get(call.runId)?.attempts.some((a) => a.attemptId === attemptId), `called attempt ${attemptId} is recorded`).toBe(true);
    }
    if (this.frozenAttempts !== undefined) expect(new Set(seenAttempts), "no attempt created while paused").toEqual(this.frozenAttempts);
  }

  /**
   * explain() tells the same story: a waiting retry is due one backoff after
   * it began waiting, a suspended run waits for resumeRun, and a ready run is
   * blocked by exactly the run that holds its key by the documented rule (so
   * the queue's in-memory key gate agrees with durable state, also after a
   * restart rebuilt it).
   */
  private checkExplanations(runs: readonly RunView[], holders: ReadonlyMap<string, readonly RunId[]>): void {
    for (const run of runs) {
      const why = this.q.explain(run.runId);
      const what = `explain(${run.runId}) of a ${run.state} run: ${why.message}`;
      if (TERMINAL.has(run.state)) {
        expect(why.kind === "terminal" || why.kind === "taskCanceled", what).toBe(true);
        continue;
      }
      if (run.state === "suspended") expect(why.kind, what).toBe("suspended");
      if (why.kind === "retryWait") expect(run.state, what).toBe("retryWait");
      if (run.state === "retryWait") this.checkRetryAt(run, why.kind === "retryWait" ? why.retryAt : undefined, what);
      if (run.state !== "ready" || this.paused) continue;
      const key = this.planOfRun.get(run.runId)!.key;
      const holder = key === undefined ? undefined : holders.get(key)?.find((id) => id !== run.runId);
      if (holder === undefined) expect(why.kind, what).toBe("ready");
      else expect(why, what).toMatchObject({ kind: "concurrencyKeyHeld", key, heldBy: holder });
    }
  }

  /**
   * A retry-waiting run's due time, as explain() gave it (undefined: explain
   * says it is due already). It is one backoff after the wait began, without
   * jitter; with full jitter some time from the start of the wait to one
   * backoff after it, and always the same one for the same wait (restarts
   * included: the jitter is the run's and the attempt's, not a fresh draw).
   */
  private checkRetryAt(run: RunView, retryAt: number | undefined, what: string): void {
    const since = run.history.at(-1)!.at;
    const { delay, jitter } = this.backoffAfter(this.planOfRun.get(run.runId)!, countedAttempts(run));
    const key = `${run.runId}#${run.attemptCount}`;
    if (retryAt === undefined) {
      // Due already: by the model too (the clock only moves forward).
      expect(jitter ? (this.retryAtSeen.get(key) ?? since) : since + delay, `${what}: not yet due by the model`).toBeLessThanOrEqual(this.clock.now());
      return;
    }
    if (!jitter) {
      expect(retryAt, `${what}: due one backoff (${delay} ms) after ${since}`).toBe(since + delay);
      return;
    }
    expect(retryAt, `${what}: a jittered retry from ${since}`).toBeGreaterThanOrEqual(since);
    expect(retryAt, `${what}: a jittered retry within ${delay} ms of ${since}`).toBeLessThanOrEqual(since + delay);
    const seen = this.retryAtSeen.get(key);
    if (seen === undefined) this.retryAtSeen.set(key, retryAt);
    else {
      expect(retryAt, `${what}: the same jittered retry time as before`).toBe(seen);
      note("jittered retry time seen again");
    }
  }

  /** Records the retry time of every retry-waiting run of `q` (before a restart, which must keep it). */
  private noteRetryTimes(q: ActionQueue): void {
    for (const run of allRuns(q)) {
      if (run.state !== "retryWait") continue;
      const why = q.explain(run.runId);
      this.checkRetryAt(run, why.kind === "retryWait" ? why.retryAt : undefined, `explain(${run.runId}) before a restart: ${why.message}`);
    }
  }

  /**
   * No retry came early: each time the run left retryWait for ready, its
   * backoff after the attempt that made it wait (by counted attempts) had
   * passed — exactly known without jitter; with jitter, the retry time
   * explain() gave for that wait, if one was seen.
   */
  private checkRetryWaits(run: RunView, plan: TaskPlan): void {
    let started = 0;
    for (const [i, h] of run.history.entries()) {
      if (h.to === "running") started += 1;
      if (h.from !== "retryWait" || h.to !== "ready") continue;
      const since = run.history[i - 1]!.at;
      const { delay, jitter } = this.backoffAfter(plan, countedAttempts(run, started));
      const due = jitter ? (this.retryAtSeen.get(`${run.runId}#${started}`) ?? since) : since + delay;
      expect(h.at, `run ${run.runId}: ready again at ${h.at} after a retry wait from ${since}, before its retry was due at ${due}`).toBeGreaterThanOrEqual(due);
      if (plan.backoff !== undefined && delay > 0) note(`retry waited out the task's own ${plan.backoff.kind} backoff${jitter ? " (jittered)" : ""}`);
    }
  }

  /**
   * The attempts of one run follow its script and the retry table (fed with
   * counted attempt numbers), its state is what the table implies, and it
   * left "suspended" exactly as often as resumeRun succeeded on it.
   */
  private checkAttempts(run: RunView, plan: TaskPlan): void {
    const what = `run ${run.runId} (${run.state})`;
    const attempts = run.attempts;
    expect(run.attemptCount).toBe(attempts.length);
    const resumed = run.history.filter((h) => h.from === "suspended" && h.to === "ready").length;
    expect(resumed, `${what}: resumed as often as resumeRun succeeded`).toBe(this.resumes.get(run.runId) ?? 0);
    if (attempts.length === 0) {
      expect(["scheduled", "ready", "canceled"], `${what} without attempts`).toContain(run.state);
      return;
    }
    let counted = 0;
    let suspensions = 0;
    let decision: Decision | "open" = "open";
    for (const [i, a] of attempts.entries()) {
      const n = i + 1;
      const last = n === attempts.length;
      expect(a.attemptNumber).toBe(n);
      // Every attempt but a suspended one counts toward maxAttempts (an open one too).
      if (a.result === "suspended") suspensions += 1;
      else counted += 1;
      if (a.result === undefined) {
        // An open attempt: only the last, and only while running or once a cancel cut it off.
        expect(last, `${what}: only the last attempt may be open`).toBe(true);
        expect(["running", "canceled"], `${what} with an open attempt`).toContain(run.state);
        decision = "open";
        continue;
      }
      const want = expectedAttempt(plan, n, counted, this.ending(a.attemptId));
      expect({ result: a.result, error: a.error, output: text(a.output) }, `${what}: attempt ${n}`).toEqual(want.record);
      decision = want.decision;
      if (!last) expect(["retry", "suspend"], `${what}: attempt ${n} is followed by another`).toContain(decision);
    }
    expect(counted, `${what}: counted attempts within maxAttempts ${plan.maxAttempts}`).toBeLessThanOrEqual(plan.maxAttempts);
    // Each suspension that another attempt followed was resumed first.
    const followed = suspensions - (decision === "suspend" ? 1 : 0);
    expect(resumed, `${what}: resumes before attempts that followed a suspension`).toBeGreaterThanOrEqual(followed);
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
      case "suspended":
        expect(decision, what).toBe("suspend");
        expect(resumed, `${what}: not resumed since it suspended`).toBe(suspensions - 1);
        break;
      case "retryWait":
        expect(decision, what).toBe("retry");
        break;
      case "canceled":
        break; // a cancel may cut a run off at any point
      default:
        // Waiting for its next attempt: ready (or leased) again after a retry, or after resumeRun.
        expect(["ready", "leased"], what).toContain(run.state);
        expect(["retry", "suspend"], what).toContain(decision);
        if (decision === "suspend") expect(resumed, `${what}: ready again after a suspension only by resumeRun`).toBe(suspensions);
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
    this.checkCronWindowsFull("after runUntilIdle");
  }

  /**
   * Resume, run everything due (advancing the clock past every repeat run,
   * resuming every suspended run), check the end state, restart, and check
   * nothing changed; then purge everything and check it stays gone.
   */
  async finish(): Promise<void> {
    if (this.paused) await this.resume();
    // A cron task without maxOccurrences never finishes: cancel it.
    this.syncRuns();
    for (const [i, task] of this.tasks.entries()) {
      if (task.plan.cron !== undefined && task.plan.cron.maxOccurrences === undefined && !this.canceledTasks.has(task.taskId)) await this.cancelTask(i);
    }
    this.observe("the unbounded cron tasks canceled");
    for (let round = 0; ; round += 1) {
      await this.idle();
      // Whatever waits for the clock (scheduled repeat runs and retries in backoff) or for resumeRun.
      const dueAt: number[] = [];
      const waiting: RunId[] = [];
      for (const run of allRuns(this.q)) {
        if (run.state === "scheduled") dueAt.push(run.scheduledAt);
        if (run.state === "suspended") waiting.push(run.runId);
        const why = this.q.explain(run.runId);
        if (why.kind === "retryWait") dueAt.push(why.retryAt);
      }
      if (dueAt.length === 0 && waiting.length === 0) break;
      expect(round, "rounds to run every waiting run").toBeLessThan(40);
      for (const runId of waiting) await this.resumeSuspended(runId);
      if (dueAt.length > 0) await this.waitUntil(Math.max(...dueAt));
    }
    this.observe("final");
    for (const task of this.tasks) {
      const cron = task.plan.cron;
      if (cron === undefined) continue;
      note(`cron task ends with ${task.runIds.length} runs`);
      if (!this.canceledTasks.has(task.taskId)) expect(task.runIds, `bounded cron task ${task.taskId} ends with maxOccurrences runs`).toHaveLength(cron.maxOccurrences!);
    }
    for (const task of this.tasks) {
      const startAt = task.input.runPolicy.startAt;
      if (startAt === undefined || startAt <= task.createdAt) continue;
      const started = task.runIds.map((id) => this.q.getRun(id)!.attempts[0]?.startedAt).filter((at) => at !== undefined);
      if (started.length > 0) note(`startAt ahead: a ${task.input.runPolicy.kind} run started${started.includes(startAt) ? " (one at the startAt itself)" : ""}`);
    }
    for (const run of allRuns(this.q)) {
      note(`run ends ${run.state}`);
      for (const [i, a] of run.attempts.entries()) note(`attempt ${a.result ?? "open"}${a.result === "timeout" ? ` (a ${this.planOfRun.get(run.runId)!.steps[i]![1]} step)` : ""}`);
      if (run.attempts.some((a) => a.result === "suspended") && run.attempts.filter((a) => a.result !== "suspended").length === this.planOfRun.get(run.runId)!.maxAttempts) {
        note("run used maxAttempts besides suspensions");
      }
      // Terminal, in the state its attempts imply (checked by observe), and canceled only if a cancel call said so.
      expect(TERMINAL.has(run.state), `run ${run.runId} ends ${run.state}`).toBe(true);
    }
    const before = allRuns(this.q);
    await this.restart("drain", false, this.concurrency);
    await this.idle();
    expect(allRuns(this.q), "a restart after the end changes nothing").toEqual(before);
    this.observe("after the final restart");
    // Everything is finished now: a purge removes every task, and a restart brings none back.
    await this.purge({ olderThanMs: 0 });
    expect(this.tasks).toEqual([]);
    this.observe("after the final purge");
    await this.restart("drain", false, this.concurrency);
    expect(this.q.stats()).toMatchObject({ tasks: 0, runs: 0 });
    this.observe("after a restart following the final purge");
    await this.q.close();
  }
}

// ------------------------------------------------------------------ commands

interface Model {
  tasks: number;
}

type Cmd = fc.AsyncCommand<Model, Harness>;

/** A command that runs `action` and then checks every invariant. */
function command(label: string, action: (h: Harness) => Promise<void> | void, options: { needsTask?: boolean } = {}): Cmd {
  return {
    check: (m) => !options.needsTask || m.tasks > 0,
    run: async (m, h) => {
      // The runs cron tasks gained since the last step (an action picks runs from the model's lists).
      h.syncRuns();
      await action(h);
      m.tasks = h.tasks.length;
      h.observe(label);
    },
    toString: () => label,
  };
}

const outcomeArb = fc.constantFrom<Outcome>("ok", "ok", "retry", "retry", "terminal", "suspend");
const plainDelayArb = fc.constantFrom<Delay>("sync", "turn", "timer", "slow");
const timedDelayArb = fc.constantFrom<Delay>("sync", "turn", "timer", "slow", "overrun", "overrun", "overrunDeaf");

/** At most MAX_SUSPENDS suspensions (later ones become ok): STEPS steps then cover every counted attempt. */
function capSuspensions(steps: readonly Step[]): Step[] {
  let suspensions = 0;
  return steps.map(([outcome, delay]): Step => (outcome === "suspend" && ++suspensions > MAX_SUSPENDS ? ["ok", delay] : [outcome, delay]));
}

/**
 * Cron policies: every minute, every 5 minutes, or (6 fields) every 10
 * seconds, unbounded or capped; the ManualClock starts 20 s past a minute, on
 * a 10 s instant (2023-11-14 22:13:20 UTC). Now and then hours that make the
 * zone matter: every minute of 23:00–23:59 (under way in Berlin, 47 minutes
 * ahead in UTC, a day ahead in New York and Kolkata), and every 2 minutes of
 * 03:00–04:59 (under way in Kolkata, +05:30, hours ahead elsewhere). Any of
 * them maybe in a zone, maybe spelt in lower case, maybe UTC spelt out.
 */
const cronArb: fc.Arbitrary<CronPlan> = fc.record({
  expression: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("* * * * *", "*/5 * * * *", "*/10 * * * * *") },
    { weight: 1, arbitrary: fc.constantFrom("* 23 * * *", "*/2 3,4 * * *") },
  ),
  maxOccurrences: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 2 }),
  timezone: fc.option(fc.constantFrom("UTC", "Europe/Berlin", "europe/berlin", "America/New_York", "Asia/Kolkata"), { nil: undefined, freq: 2 }),
});
const misfireArb = fc.constantFrom<MisfirePolicy | undefined>(undefined, undefined, { kind: "skip" }, { kind: "coalesce" }, { kind: "catchUp", maxRuns: 1 }, { kind: "catchUp", maxRuns: 2 });

/** What the plans of a case may use: cron policies and misfire policies (on the ManualClock), timeouts (not with retention). */
interface PlanKinds {
  readonly intervals: readonly number[];
  /** The startAt offsets from the clock at submission a plan may have. */
  readonly startOffsets: readonly number[];
  readonly cron: boolean;
  readonly misfire: boolean;
  readonly timeouts: boolean;
  /** The backoffs a task may have of its own (its jitter is drawn apart). */
  readonly backoffs: readonly TaskBackoff[];
}

/** Plans: once, repeat (of `kinds.intervals`), or now and then cron. */
const planArbOf = (kinds: PlanKinds): fc.Arbitrary<TaskPlan> =>
  fc.constantFrom<number | undefined>(...(kinds.timeouts ? [undefined, undefined, TIMEOUT_MS] : [undefined])).chain((timeoutMs) =>
    fc
      .record({
        // Now and then a startAt (any kind): passed, now, just ahead (less than a clock step), or steps ahead.
        startAtIn: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...kinds.startOffsets) }),
        repeat: fc.option(fc.record({ count: fc.integer({ min: 1, max: 3 }), intervalMs: fc.constantFrom(...kinds.intervals) }), { nil: undefined }),
        cron: kinds.cron ? fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: cronArb }) : fc.constant(undefined),
        misfire: kinds.misfire ? misfireArb : fc.constant(undefined),
        maxAttempts: fc.integer({ min: 1, max: 3 }),
        key: fc.option(fc.constantFrom("a", "b"), { nil: undefined, freq: 2 }),
        hold: fc.constantFrom<ConcurrencyKeyHoldPolicy>("holdDuringRetry", "releaseOnRetry"),
        timeoutMs: fc.constant(timeoutMs),
        // Now and then a backoff of its own: maybe with full jitter, maybe with no jitter spelt out ("none" or null).
        backoff: fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.constantFrom(...kinds.backoffs), fc.constantFrom<JitterSpelling>(undefined, undefined, "full", "full", "none", null))
              .map(([b, jitter]): TaskBackoff => (jitter === undefined ? b : { ...b, jitter })),
          },
        ),
        steps: fc
          .array(fc.tuple(outcomeArb, timeoutMs === undefined ? plainDelayArb : timedDelayArb), { minLength: STEPS, maxLength: STEPS })
          .map(capSuspensions),
      })
      // fc.option gives nil one time in `freq` (most plans repeat); a cron plan drops its repeat, a once plan its misfire policy.
      .map((p): TaskPlan => (p.cron !== undefined ? { ...p, repeat: undefined } : p.repeat === undefined ? { ...p, misfire: undefined } : p)),
  );

function describePlan(p: TaskPlan): string {
  const policy =
    p.cron !== undefined
      ? `cron("${p.cron.expression}"${p.cron.timezone === undefined ? "" : ` in ${p.cron.timezone}`}${p.cron.maxOccurrences === undefined ? "" : `, maxOccurrences ${p.cron.maxOccurrences}`})`
      : p.repeat === undefined
        ? "once"
        : `repeat(${p.repeat.count}, ${p.repeat.intervalMs})`;
  const misfire = p.misfire === undefined ? "" : ` misfire=${p.misfire.kind}${p.misfire.kind === "catchUp" ? `(${p.misfire.maxRuns})` : ""}`;
  const start = p.startAtIn === undefined ? "" : ` startAt=now${p.startAtIn < 0 ? "" : "+"}${p.startAtIn}`;
  const key = p.key === undefined ? "" : ` key=${p.key}/${p.hold}`;
  const timeout = p.timeoutMs === undefined ? "" : ` timeout=${p.timeoutMs}`;
  const b = p.backoff;
  const backoff =
    b === undefined ? "" : ` backoff=${b.kind === "fixed" ? `fixed(${b.delayMs})` : `exp(${b.baseMs},${b.maxMs})`}${b.jitter === undefined ? "" : `/jitter:${String(b.jitter)}`}`;
  return `${policy}${start}${misfire} max=${p.maxAttempts}${key}${timeout}${backoff} steps=${p.steps.map(([o, d]) => `${o}:${d}`).join(",")}`;
}

/**
 * The commands of a case, weighted by repetition (fc.commands picks uniformly).
 * Submissions come most often (everything else acts on them), resume twice as
 * often as pause so that work does run, resumeRun twice (suspensions should
 * be resumed, and refusals seen), and cancels and purges rarely enough that
 * most runs get to run. In real time there is no clock to advance, repeat
 * intervals are short, and there are no cron tasks (a minute is too long to
 * wait for) and no misfires (no restart comes a minute late). With the
 * retention option there are no timeouts: only the test moves the clock then.
 */
function commandArbsOf(realTime: boolean, retention: boolean): fc.Arbitrary<Cmd>[] {
  // Starts (from the clock at submission): passed (on the ManualClock, past the misfire tolerance too), now, within a
  // clock step (a repeat interval in real time), or steps ahead (a cron instant or more on the ManualClock).
  const startOffsets = realTime ? [-1_000, -1, 0, 3, 30] : [-61_000, -1, 0, 1, 99, 250, 1_000, 10_001, 61_000, 150_000, 400_000];
  // A task's own backoffs: in real time a few ms (runUntilIdle waits for them); on the ManualClock from none to a second, so clock steps pass some and not others.
  const backoffs: TaskBackoff[] = realTime
    ? [
        { kind: "fixed", delayMs: 0 },
        { kind: "fixed", delayMs: 10 },
        { kind: "exponential", baseMs: 4, maxMs: 12 },
      ]
    : [
        { kind: "fixed", delayMs: 0 },
        { kind: "fixed", delayMs: 150 },
        { kind: "fixed", delayMs: 1_000 },
        { kind: "exponential", baseMs: 100, maxMs: 300 },
        { kind: "exponential", baseMs: 250, maxMs: 2_000 },
      ];
  const planArb = planArbOf({ intervals: realTime ? [20, 50] : [100, 250, 500], startOffsets, cron: !realTime, misfire: !realTime, timeouts: !retention, backoffs });
  const submitCmd = planArb.map((plan) => command(`submit ${describePlan(plan)}`, (h) => h.submit(plan)));
  const submitCronCmd = fc
    .tuple(planArb, cronArb)
    .map(([plan, cron]) => ({ ...plan, repeat: undefined, cron }))
    .map((plan) => command(`submit ${describePlan(plan)}`, (h) => h.submit(plan)));
  const submitWithIdCmd = fc
    .record({
      slot: fc.integer({ min: 0, max: CALLER_IDS.length - 1 }),
      plan: planArb,
      variant: fc.constantFrom<Variant>("same", "spelledOut", "different", "otherStart", "otherBackoff", "otherZone"),
      cron: cronArb,
    })
    // "otherZone" is about cron tasks, and "spelledOut" spells their zone anew: with these a new task under the id is a
    // cron task, so that the id's later submissions meet a zone.
    .map(({ slot, plan, variant, cron }) => ({ slot, variant, plan: (variant === "otherZone" || variant === "spelledOut") && !realTime ? { ...plan, repeat: undefined, cron } : plan }))
    .map(({ slot, plan, variant }) => command(`submit taskId #${slot} (if it exists: ${variant} spec) ${describePlan(plan)}`, (h) => h.submitWithId(slot, plan, variant)));
  const submitManyCmd = fc
    .record({
      items: fc.array(fc.record({ plan: planArb, slot: fc.option(fc.integer({ min: 0, max: CALLER_IDS.length - 1 }), { nil: undefined }) }), { minLength: 2, maxLength: 4 }),
      mode: fc.constantFrom<"ok" | "duplicate" | "mismatch">("ok", "ok", "ok", "duplicate", "mismatch"),
    })
    .map(({ items, mode }) =>
      command(`submitMany ${mode} [${items.map((i) => `${i.slot === undefined ? "" : `taskId #${i.slot} `}${describePlan(i.plan)}`).join(" | ")}]`, (h) => h.submitMany(items, mode)),
    );
  const cancelTaskCmd = fc.nat().map((t) => command(`cancelTask #${t}`, (h) => h.cancelTask(t), { needsTask: true }));
  const cancelRunCmd = fc.tuple(fc.nat(), fc.nat()).map(([t, r]) => command(`cancelRun #${t}.${r}`, (h) => h.cancelRun(t, r), { needsTask: true }));
  const resumeRunCmd = fc
    .tuple(fc.nat(), fc.nat(), fc.constantFrom(true, true, true, false))
    .map(([t, r, s]) => command(`resumeRun ${s ? "suspended" : "any"} #${t}.${r}`, (h) => h.resumeRun(t, r, s), { needsTask: true }));
  const purgeCmd = fc
    .record({
      olderThanMs: fc.constantFrom<number | undefined>(undefined, 0, 0, realTime ? 30 : 300),
      // finishedBefore, as an offset from the clock when the purge is made.
      finishedBeforeIn: fc.option(fc.constantFrom(...(realTime ? [-30, 0, 1_000] : [-61_000, -300, 0, 1_000])), { nil: undefined, freq: 3 }),
      states: fc.option(fc.subarray([...TERMINAL_STATES], { minLength: 1 }), { nil: undefined, freq: 3 }),
      limit: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined, freq: 3 }),
      asRunEnds: fc.boolean(),
    })
    .map(({ olderThanMs, finishedBeforeIn, states, limit, asRunEnds }) => {
      const options: PurgeOptions = {
        ...(olderThanMs === undefined ? {} : { olderThanMs }),
        ...(states === undefined ? {} : { states }),
        ...(limit === undefined ? {} : { limit }),
      };
      const label = JSON.stringify(finishedBeforeIn === undefined ? options : { ...options, finishedBefore: `now${finishedBeforeIn < 0 ? "" : "+"}${finishedBeforeIn}` });
      if (asRunEnds) return command(`purge ${label} as a run ends`, (h) => h.purgeAsRunEnds(options, finishedBeforeIn));
      return command(`purge ${label}`, (h) => h.purge(options, finishedBeforeIn));
    });
  const pauseCmd = fc.constant(command("pause", (h) => h.pause()));
  const resumeCmd = fc.constant(command("resume", (h) => h.resume()));
  const turnsCmd = fc.integer({ min: 1, max: 6 }).map((n) => command(`turns ${n}`, (h) => h.turns(n)));
  const idleCmd = fc.constant(command("runUntilIdle", (h) => h.idle()));
  // 10 s: the next instant of a 10-second cron. 61 s: past the misfire tolerance, so a restart that follows sees overdue runs.
  const advanceCmd = fc.constantFrom(100, 250, 500, 10_000, 61_000).map((ms) => command(`advance ${ms}`, (h) => h.advance(ms)));
  const advanceToRetentionCmd = fc.constant(command("advance to the retention timer", (h) => h.advanceToRetention()));
  // Downtime (ManualClock only) past the misfire tolerance: what fell due meanwhile meets its misfire policy at open.
  const restartCmd = fc
    .record({
      mode: fc.constantFrom<"drain" | "abort">("drain", "abort"),
      start: fc.constantFrom(true, true, true, false),
      concurrency: fc.integer({ min: 1, max: 4 }),
      downMs: realTime ? fc.constant(0) : fc.constantFrom(0, 0, 0, 61_000, 150_000),
    })
    .map(({ mode, start, concurrency, downMs }) =>
      command(`restart ${mode} start=${start} concurrency=${concurrency}${downMs > 0 ? ` down=${downMs}` : ""}`, (h) => h.restart(mode, start, concurrency, downMs)),
    );
  return [
    submitCmd,
    submitCmd,
    submitCmd,
    ...(realTime ? [] : [submitCronCmd]),
    submitWithIdCmd,
    submitManyCmd,
    cancelTaskCmd,
    cancelRunCmd,
    resumeRunCmd,
    resumeRunCmd,
    purgeCmd,
    pauseCmd,
    resumeCmd,
    resumeCmd,
    turnsCmd,
    turnsCmd,
    idleCmd,
    ...(realTime ? [] : [advanceCmd]),
    ...(retention ? [advanceToRetentionCmd, advanceToRetentionCmd] : []),
    restartCmd,
  ];
}

/** What a case chooses besides its commands. */
interface CaseOptions {
  readonly seed: number;
  readonly concurrency: number;
  readonly snapshots: Snapshots;
  readonly backoff: Backoff;
  readonly leaseTimeoutMs: number;
  readonly realTime: boolean;
  /** The `cronWindow` option; undefined leaves it out (default 5). */
  readonly cronWindow: number | undefined;
  readonly retention: RetentionOptions | undefined;
}

/** The `retention` option of some ManualClock cases: everyMs its lowest, 1 s, or left to default (olderThanMs clamped to 1 s – 1 h). */
const retentionArb: fc.Arbitrary<RetentionOptions> = fc
  .record({
    olderThanMs: fc.constantFrom(0, 300, 61_000),
    everyMs: fc.constantFrom<number | undefined>(undefined, 100, 1_000),
    states: fc.option(fc.subarray([...TERMINAL_STATES], { minLength: 1 }), { nil: undefined, freq: 3 }),
  })
  .map(({ olderThanMs, everyMs, states }) => ({ olderThanMs, ...(everyMs === undefined ? {} : { everyMs }), ...(states === undefined ? {} : { states }) }));

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SEED = process.env.AQ_MODEL_SEED === undefined ? undefined : Number(process.env.AQ_MODEL_SEED);

/**
 * Runs `runs` cases of up to `maxCommands` commands each, on a ManualClock or
 * in real time. The test's timeout is generous for the defaults (the two
 * properties take about 6 + 1 s on 2 cores) and scales for a soak.
 */
function modelTest(title: string, realTime: boolean, runs: number, maxCommands: number): void {
  it(title, async () => {
    const caseArb: fc.Arbitrary<CaseOptions> = fc.record({
      seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      snapshots: fc.constantFrom<Snapshots>("off", "onLoop", "inWorker"),
      backoff: realTime ? fc.constantFrom<Backoff>([0], [20], [5, 20]) : fc.constantFrom<Backoff>([0], [100], [50, 200], [50, 200]),
      leaseTimeoutMs: fc.constantFrom(1_000, 30_000),
      realTime: fc.constant(realTime),
      cronWindow: realTime ? fc.constant(undefined) : fc.constantFrom(undefined, 1, 2, 3),
      retention: realTime ? fc.constant(undefined) : fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: retentionArb }),
    });
    await fc.assert(
      fc.asyncProperty(
        // The commands depend on the case: with retention, plans have no timeouts.
        caseArb.chain((options) => fc.tuple(fc.constant(options), fc.commands(commandArbsOf(realTime, options.retention !== undefined), { maxCommands, size: "max" }))),
        async ([options, cmds]) => {
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
      { numRuns: runs, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    if (TALLY !== undefined) {
      console.log([...TALLY].sort(([a], [b]) => (a < b ? -1 : 1)).map(([what, n]) => `${String(n).padStart(6)}  ${what}`).join("\n"));
      TALLY.clear();
    }
  }, Math.max(120_000, runs * maxCommands * 60));
}

describe("control model", () => {
  modelTest(
    "submit (also idempotent, in batches and cron), cancel, suspend/resumeRun, timeouts, purge and retention, pause/resume, progress and restarts (with misfires) keep the queue's invariants",
    false,
    // More cases than the real-time property: cron, misfire and retention widen what a case can meet.
    env("AQ_MODEL_RUNS", 100),
    env("AQ_MODEL_COMMANDS", 30),
  );
  // On the system clock: a 5 ms timeout against handlers of real 6 ms and 30 ms, retries and repeat runs due by themselves.
  modelTest("the same in real time (timeouts on the system clock)", true, env("AQ_MODEL_REAL_RUNS", 12), env("AQ_MODEL_REAL_COMMANDS", 20));
});
