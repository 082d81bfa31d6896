/**
 * A small typed event emitter. Listener exceptions are caught and re-emitted
 * as `error`, so an observer can never break the dispatch loop.
 */
import type { ActionQueueEventName, ActionQueueEvents, ActionQueueListener } from "./event-map.js";

/** Subscribe/unsubscribe surface of the queue's events. */
export class TypedEmitter {
  readonly #listeners = new Map<ActionQueueEventName, Set<(event: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener);
    return () => this.off(name, listener);
  }

  /** Adds a listener that runs once. */
  once<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): () => void {
    const off = this.on(name, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  /** Removes a listener. */
  off<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): void {
    this.#listeners.get(name)?.delete(listener);
  }

  /** True when anyone listens to `name` (lets hot paths skip building payloads). */
  has(name: ActionQueueEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  /** Delivers an event synchronously to every listener. */
  emit<TName extends ActionQueueEventName>(name: TName, event: ActionQueueEvents[TName]): void {
    const set = this.#listeners.get(name);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as ActionQueueListener<TName>)(event);
      } catch (error) {
        if (name !== "error") this.emit("error", { error });
      }
    }
  }
}
