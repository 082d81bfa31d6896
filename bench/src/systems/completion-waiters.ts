/**
 * Callers waiting for a system's count of completed jobs to reach a target:
 * each driver counts completions its own way and calls `check()` when the
 * count grows.
 */
interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class CompletionWaiters {
  readonly #count: () => number;
  readonly #noun: string;
  #waiters: Waiter[] = [];

  /** `count` reads the current number of completed jobs; `noun` names them in the timeout message. */
  constructor(count: () => number, noun: string) {
    this.#count = count;
    this.#noun = noun;
  }

  /** Resolves once the count reaches `target`; rejects after `timeoutMs`. */
  wait(target: number, timeoutMs: number): Promise<void> {
    if (this.#count() >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms with ${this.#count()}/${target} ${this.#noun} completed`)), timeoutMs);
      this.#waiters.push({
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Resolves the waiters whose target the count has reached. */
  check(): void {
    if (this.#waiters.length === 0) return;
    const done = this.#count();
    this.#waiters = this.#waiters.filter((w) => {
      if (done < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Rejects every waiter: the system failed. */
  fail(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }
}
