/**
 * Worker-thread entry of snapshot builds: for each request, builds from the
 * files the job names and posts the bytes back (transferred, not copied,
 * when they own their memory), or the error.
 */
import { parentPort } from "node:worker_threads";
import { ActionQueueError } from "@actionqueue/core";
import type { SnapshotWorkerReply, SnapshotWorkerRequest } from "./snapshot-builder.js";
import { buildSnapshotFromFiles } from "./snapshot-builder.js";

parentPort?.on("message", ({ id, job }: SnapshotWorkerRequest) => {
  let reply: SnapshotWorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = buildSnapshotFromFiles(job);
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const view = owned ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
    reply = { id, ok: true, bytes: view };
    transfer = [view.buffer as ArrayBuffer];
  } catch (error) {
    reply = { id, ok: false, message: (error as Error).message, code: ActionQueueError.is(error) ? error.code : undefined };
  }
  parentPort!.postMessage(reply, transfer);
});
