/**
 * The live progress line of `actionqueue run` on a terminal: runs done,
 * failed, retries, attempts in flight and the completion rate, redrawn in
 * place a few times a second. Nothing is drawn when the stream is not a TTY.
 */

/** Counters a `run` keeps from the queue's events. */
export interface RunCounters {
  /** Runs that reached Completed. */
  runsCompleted: number;
  /** Runs that reached Failed. */
  runsFailed: number;
  /** Runs canceled while this process ran. */
  runsCanceled: number;
  /** Attempts that finished (any result). */
  attemptsFinished: number;
  /** Attempts whose handler failed (threw, a TerminalError included); timeouts and suspensions are counted apart. */
  attemptsFailed: number;
  /** Attempts stopped by their task's `timeoutMs`. */
  attemptsTimedOut: number;
  /** Attempts whose handler suspended the run (not a failure: the run waits for `resume-run`). */
  attemptsSuspended: number;
  /** Failed attempts scheduled for a retry. */
  retries: number;
  /** Attempts started and not yet finished. */
  inFlight: number;
}

/** Fresh zeroed counters. */
export function emptyCounters(): RunCounters {
  return { runsCompleted: 0, runsFailed: 0, runsCanceled: 0, attemptsFinished: 0, attemptsFailed: 0, attemptsTimedOut: 0, attemptsSuspended: 0, retries: 0, inFlight: 0 };
}

/** Runs finished (completed or failed) per second over `elapsedMs`; 0 before any time passed. */
export function runsPerSecond(counters: Readonly<RunCounters>, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return ((counters.runsCompleted + counters.runsFailed) * 1000) / elapsedMs;
}

/** Elapsed time for people: `850ms`, `12.3s`, `4m05s`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, "0")}s`;
}

/** The progress line: `12 done, 1 failed, 2 retries, 3 in flight, 4.0 runs/s, 3.0s`. */
export function formatProgressLine(counters: Readonly<RunCounters>, elapsedMs: number): string {
  const parts = [`${counters.runsCompleted} done`, `${counters.runsFailed} failed`];
  if (counters.retries > 0) parts.push(`${counters.retries} ${counters.retries === 1 ? "retry" : "retries"}`);
  if (counters.runsCanceled > 0) parts.push(`${counters.runsCanceled} canceled`);
  parts.push(`${counters.inFlight} in flight`, `${runsPerSecond(counters, elapsedMs).toFixed(1)} runs/s`, formatElapsed(elapsedMs));
  return parts.join(", ");
}

/** A stream the reporter can draw on. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Options of {@link ProgressReporter}. */
export interface ProgressReporterOptions {
  readonly stream: ProgressStream;
  /** Draw at all (false when not a TTY or with `--json`). */
  readonly enabled: boolean;
  /** The counters to show (read at every redraw). */
  readonly counters: Readonly<RunCounters>;
  /** Milliseconds since some fixed point (default `performance.now`). */
  readonly now?: () => number;
  /** Redraw period (default 200 ms). */
  readonly intervalMs?: number;
}

// Carriage return + "erase line": redraw in place without scrolling.
const CLEAR_LINE = "\r\u001b[2K";

/** Redraws the progress line in place until {@link ProgressReporter.stop}. */
export class ProgressReporter {
  readonly #options: ProgressReporterOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ProgressReporterOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  /** Milliseconds since the reporter was created. */
  elapsedMs(): number {
    return this.#now() - this.#startedAt;
  }

  /** Starts redrawing (no-op when disabled). The timer never keeps the process alive. */
  start(): void {
    if (!this.#options.enabled || this.#timer !== undefined) return;
    this.draw();
    this.#timer = setInterval(() => this.draw(), this.#options.intervalMs ?? 200);
    this.#timer.unref();
  }

  /** Draws the line once now. */
  draw(): void {
    if (!this.#options.enabled) return;
    this.#options.stream.write(`${CLEAR_LINE}${formatProgressLine(this.#options.counters, this.elapsedMs())}`);
  }

  /** Stops redrawing and erases the line. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#options.enabled) this.#options.stream.write(CLEAR_LINE);
  }
}
