/**
 * Worker-thread entry of a snapshot build: builds from the files named in
 * `workerData` and posts the bytes back (transferred, not copied, when they
 * own their memory), or the error.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ActionQueueError } from "@actionqueue/core";
import type { SnapshotJob, SnapshotWorkerReply } from "./snapshot-builder.js";
import { buildSnapshotFromFiles } from "./snapshot-builder.js";

const port = parentPort;
if (port !== null) {
  let reply: SnapshotWorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = buildSnapshotFromFiles(workerData as SnapshotJob);
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const view = owned ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
    reply = { ok: true, bytes: view };
    transfer = [view.buffer as ArrayBuffer];
  } catch (error) {
    reply = { ok: false, message: (error as Error).message, code: ActionQueueError.is(error) ? error.code : undefined };
  }
  port.postMessage(reply, transfer);
}
