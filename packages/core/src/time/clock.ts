/**
 * Time, randomness and timers come from one injected Clock, so every package is
 * deterministic under test: a ManualClock never sleeps, and advancing it fires
 * the timers that fell due, in order.
 */

/** A cancellable timer returned by {@link Clock.setTimeout}. */
export interface ClockTimer {
  /** Cancels the timer; a no-op if it already fired. */
  cancel(): void;
  /** Lets the process exit while this timer is pending (Node's `unref`); clocks without a process to hold may leave it out. */
  unref?(): void;
}

/** Source of time (epoch milliseconds), timers and randomness. */
export interface Clock {
  /** Current time in epoch milliseconds (an integer). */
  now(): number;
  /** A uniformly distributed number in [0, 1): used for ids and jitter. */
  random(): number;
  /** Calls `callback` once, `delayMs` milliseconds from now (0 or negative: as soon as possible). */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
}

/** Longest delay Node's `setTimeout` honours; longer ones fire at once (with a warning). */
const MAX_NODE_TIMER_MS = 2_147_483_647;

/** Non-finite or negative delays mean "as soon as possible". */
function normaliseDelay(delayMs: number): number {
  return Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
}

/** The wall clock: `Date.now()`, `Math.random()` and Node timers. */
export class SystemClock implements Clock {
  /** `Date.now()`. */
  now(): number {
    return Date.now();
  }

  /** `Math.random()`. */
  random(): number {
    return Math.random();
  }

  /**
   * Like Node's `setTimeout`, but never early by {@link now}: Node's timers
   * run on a monotonic clock of their own and can fire up to a millisecond
   * before `Date.now()` reaches the due time (an attempt's timeout was seen
   * stamped at 3 ms of a 4 ms limit), so a timer that fires early is
   * re-armed for the rest. Delays beyond ~24.8 days are honoured by
   * re-arming too, not fired at once.
   */
  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const dueAt = Date.now() + normaliseDelay(delayMs);
    let handle: ReturnType<typeof setTimeout>;
    let unref = false;
    const fire = (): void => {
      if (Date.now() < dueAt) arm();
      else callback();
    };
    const arm = (): void => {
      const remaining = dueAt - Date.now();
      if (remaining > MAX_NODE_TIMER_MS) handle = setTimeout(arm, MAX_NODE_TIMER_MS);
      else handle = setTimeout(fire, Math.max(0, remaining));
      if (unref) handle.unref();
    };
    arm();
    return {
      cancel: () => clearTimeout(handle),
      unref: () => {
        unref = true;
        handle.unref();
      },
    };
  }
}

/** The process-wide system clock. */
export const systemClock: Clock = new SystemClock();

interface PendingTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
  canceled: boolean;
}

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /** Start time in epoch milliseconds (default 1_700_000_000_000, a fixed instant). */
  readonly startMs?: number;
  /** Seed of the deterministic random sequence (default 1). */
  readonly seed?: number;
}

/**
 * A clock that moves only when told. Deterministic by default: a fixed start
 * time and a seeded random sequence. `advance()` fires due timers in due-time
 * order, each seeing `now()` equal to its due time.
 */
export class ManualClock implements Clock {
  #now: number;
  #state: number;
  #nextTimerId = 1;
  #timers: PendingTimer[] = [];

  constructor(options: ManualClockOptions = {}) {
    this.#now = options.startMs ?? 1_700_000_000_000;
    this.#state = (options.seed ?? 1) >>> 0 || 1;
  }

  /** The manual time, epoch ms. */
  now(): number {
    return this.#now;
  }

  /** The next number of a seeded xorshift32 sequence, in [0, 1). */
  random(): number {
    // xorshift32: tiny, fast and good enough for ids and jitter in tests.
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 0x1_0000_0000;
  }

  /** Queues `callback` to fire when `advance`/`set` reaches `now() + delayMs`. */
  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const timer: PendingTimer = {
      id: this.#nextTimerId++,
      dueAt: this.#now + normaliseDelay(delayMs),
      callback,
      canceled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.canceled = true;
      },
    };
  }

  /** Number of timers that have not fired or been canceled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.canceled).length;
  }

  /** Moves time forward by `ms` (≥ 0), firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`ManualClock.advance: expected a non-negative number of milliseconds, got ${ms}`);
    }
    this.#runUntil(this.#now + ms);
  }

  /** Sets the time; moving forward fires due timers, moving back fires none. */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs)) {
      throw new RangeError(`ManualClock.set: expected a finite epoch millisecond value, got ${epochMs}`);
    }
    if (epochMs >= this.#now) this.#runUntil(epochMs);
    else this.#now = epochMs;
  }

  #runUntil(target: number): void {
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.canceled);
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (t.dueAt <= target && (next === undefined || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.id < next.id))) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      if (next.dueAt > this.#now) this.#now = next.dueAt;
      next.callback();
    }
    this.#now = target;
  }
}
