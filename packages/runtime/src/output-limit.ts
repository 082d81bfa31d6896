/**
 * A handler's output is recorded in the attempt's finish record, and a WAL
 * record holds at most 16 MiB. An output that cannot be recorded must fail
 * its own attempt, not the queue: before this check, the finish was refused
 * by the storage authority, which stopped the queue with the run still
 * "running" (and every retry after a restart stopped it again).
 */
import { MAX_PAYLOAD_BYTES } from "@actionqueue/storage";
import type { ExecutorResponse } from "@actionqueue/executor-local";

/** Room left in a finish record for everything but the output (ids, times, lengths). */
const FINISH_RECORD_OVERHEAD_BYTES = 4096;

/** Largest handler output (success or suspended) an attempt can record, in bytes. */
export const MAX_HANDLER_OUTPUT_BYTES = MAX_PAYLOAD_BYTES - FINISH_RECORD_OVERHEAD_BYTES;

/**
 * `response`, or a terminal failure naming the size when its output is too
 * large to record. Terminal, because the same handler would most likely
 * produce the same output again: a retry would repeat its side effects for
 * nothing.
 */
export function recordableResponse(response: ExecutorResponse): ExecutorResponse {
  if (response.kind !== "success" && response.kind !== "suspended") return response;
  const output = response.output;
  if (output === undefined || output.length <= MAX_HANDLER_OUTPUT_BYTES) return response;
  return {
    kind: "terminalFailure",
    error: `handler ${response.kind === "success" ? "output" : "suspended state"} of ${output.length} bytes is over the ${MAX_HANDLER_OUTPUT_BYTES}-byte limit of one attempt's record: store large results elsewhere and return a reference to them`,
  };
}
