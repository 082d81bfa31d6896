/**
 * A small typed event emitter. Listener exceptions are caught and re-emitted
 * as `error`, so an observer can never break the dispatch loop.
 */
import type { ActionQueueEventName, ActionQueueEvents, ActionQueueListener } from "./event-map.js";

/**
 * Subscribe/unsubscribe surface of the queue's events. Listener lists are
 * copy-on-write: `on`/`off` (rare) publish a new array, so `emit` (hot) walks
 * the current one without copying it, and a listener added or removed during
 * an emit does not change who that emit reaches.
 */
export class TypedEmitter {
  readonly #listeners = new Map<ActionQueueEventName, readonly ((event: never) => void)[]>();

  /** Adds a listener (once: adding the same function again changes nothing); returns a function that removes it. */
  on<TName extends ActionQueueEventName>(name: TName, listener: ActionQueueListener<TName>): () => void {
    const list = this.#listeners.get(name) ?? [];
    if (!list.includes(listener)) this.#listeners.set(name, [...list, listener]);
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
    const list = this.#listeners.get(name);
    if (list === undefined || !list.includes(listener)) return;
    const rest = list.filter((l) => l !== listener);
    if (rest.length === 0) this.#listeners.delete(name);
    else this.#listeners.set(name, rest);
  }

  /** True when anyone listens to `name` (lets hot paths skip building payloads). */
  has(name: ActionQueueEventName): boolean {
    return this.#listeners.has(name);
  }

  /** Delivers an event synchronously to every listener. */
  emit<TName extends ActionQueueEventName>(name: TName, event: ActionQueueEvents[TName]): void {
    const list = this.#listeners.get(name);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as ActionQueueListener<TName>)(event);
      } catch (error) {
        if (name !== "error") this.emit("error", { error });
      }
    }
  }
}
