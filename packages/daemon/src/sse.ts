/**
 * Server-Sent Events: every engine event of the queue, fanned out to each
 * connected `GET /api/v1/events` client in the order the queue emitted them.
 * Each message has an `id` (a per-stream counter), an `event` (the event
 * name, e.g. `run:completed`) and JSON `data` (the event payload, camelCase).
 * A client that stops reading is dropped once its buffer passes a bound, so
 * one slow consumer cannot grow the daemon's memory.
 */
import type { ServerResponse } from "node:http";
import type { ActionQueue, ActionQueueEventName, ActionQueueEvents } from "@actionqueue/runtime";
import { toWire } from "./internal/wire.js";

/** Every event name the stream carries. */
export const STREAMED_EVENTS = [
  "task:submitted",
  "task:canceled",
  "task:purged",
  "run:ready",
  "attempt:started",
  "attempt:finished",
  "run:retrying",
  "run:completed",
  "run:failed",
  "run:canceled",
  "run:suspended",
  "run:resumed",
  "lease:expired",
  "engine:paused",
  "engine:resumed",
  "snapshot:written",
  "error",
] as const satisfies readonly ActionQueueEventName[];

// Compile-time check that no event of the runtime's map is missing above.
type MissingEvent = Exclude<ActionQueueEventName, (typeof STREAMED_EVENTS)[number]>;
const everyEventStreamed: [MissingEvent] extends [never] ? true : MissingEvent = true;
void everyEventStreamed;

/** Bytes a client may have unread before it is dropped. */
export const MAX_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;

/** Interval of the keep-alive comment line, ms. */
export const HEARTBEAT_MS = 15_000;

interface Client {
  readonly response: ServerResponse;
  readonly only: ReadonlySet<string> | undefined;
  nextId: number;
}

function payload(name: ActionQueueEventName, event: ActionQueueEvents[ActionQueueEventName]): unknown {
  if (name === "error") {
    const error = (event as ActionQueueEvents["error"]).error;
    return { message: error instanceof Error ? error.message : String(error) };
  }
  return toWire(event);
}

/** Fans engine events out to SSE clients. */
export class EventHub {
  readonly #clients = new Set<Client>();
  #heartbeat: NodeJS.Timeout | undefined;

  /** Subscribes to every event of `queue`; returns the unsubscribe function. */
  attach(queue: Pick<ActionQueue, "on">): () => void {
    const offs = STREAMED_EVENTS.map((name) =>
      queue.on(name, (event: ActionQueueEvents[typeof name]) => this.publish(name, event)),
    );
    return () => {
      for (const off of offs) off();
    };
  }

  /** Sends one event to every client that wants it. */
  publish(name: ActionQueueEventName, event: ActionQueueEvents[ActionQueueEventName]): void {
    if (this.#clients.size === 0) return;
    const data = JSON.stringify(payload(name, event));
    for (const client of this.#clients) {
      if (client.only !== undefined && !client.only.has(name)) continue;
      this.#write(client, `id: ${client.nextId++}\nevent: ${name}\ndata: ${data}\n\n`);
    }
  }

  /**
   * Takes over `response` as an event stream (headers, then messages until
   * the client goes away). `only`, when given, limits the stream to those
   * event names.
   */
  open(response: ServerResponse, only?: ReadonlySet<string>): void {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const client: Client = { response, only, nextId: 1 };
    this.#clients.add(client);
    response.on("close", () => this.#clients.delete(client));
    response.write(": connected\n\n");
    this.#heartbeat ??= setInterval(() => {
      for (const c of this.#clients) this.#write(c, ": keep-alive\n\n");
    }, HEARTBEAT_MS).unref();
  }

  /** Connected clients. */
  get size(): number {
    return this.#clients.size;
  }

  /** Ends every stream (at shutdown, so the HTTP server can close). */
  closeAll(): void {
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #write(client: Client, text: string): void {
    if (client.response.writableLength > MAX_CLIENT_BUFFER_BYTES) {
      this.#clients.delete(client);
      client.response.destroy();
      return;
    }
    client.response.write(text);
  }
}
