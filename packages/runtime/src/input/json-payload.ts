/**
 * A JSON payload as the bytes a task stores. Shared by `submit()` and the
 * JSON inputs (HTTP bodies, CLI flags), so every surface refuses the same
 * values with the same error.
 */
import { ValidationError } from "@actionqueue/core";

const textEncoder = new TextEncoder();

/**
 * A JSON value as UTF-8 JSON bytes. Throws `INVALID_PAYLOAD` naming `field`
 * for a value JSON cannot hold (undefined, a function, a BigInt, a cycle) or
 * one nested too deeply for the serialiser's recursion.
 */
export function encodeJsonPayload(value: unknown, field = "payload"): Uint8Array {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value) || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) {
    // Bytes in any other wrapper than Uint8Array would serialise as JSON ({} for an ArrayBuffer): the data would be lost without a word.
    const kind = (value as object).constructor?.name ?? "binary data";
    throw new ValidationError("INVALID_PAYLOAD", `${field} is a ${kind}: give binary payloads as a Uint8Array (new Uint8Array(buffer)), or a JSON value`, {
      details: { field, value: kind },
    });
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    // The serialiser recurses per level: a value nested thousands deep (a 10 KB body can be) overflows the stack.
    const reason = cause instanceof RangeError ? "it is nested too deeply to store" : (cause as Error).message;
    throw new ValidationError("INVALID_PAYLOAD", `${field} is not JSON-serialisable: ${reason}`, { details: { field }, cause });
  }
  if (text === undefined) {
    throw new ValidationError("INVALID_PAYLOAD", `${field} of type ${typeof value} cannot be stored: give bytes or a JSON value`, { details: { field } });
  }
  return textEncoder.encode(text);
}
