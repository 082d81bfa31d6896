/**
 * Bytes in JSON: standard base64 (RFC 4648, with padding). Decoding is strict:
 * Node's decoder skips bad characters silently, so we check the alphabet,
 * padding and length first and refuse anything that would not round-trip.
 */
import { ValidationError, describeValue } from "../errors/action-queue-error.js";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as standard padded base64. */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes standard padded base64 into a fresh `Uint8Array`; throws `INVALID_FIELD` naming `field`. */
export function bytesFromBase64(text: unknown, field = "bytes"): Uint8Array {
  if (typeof text !== "string" || !BASE64.test(text)) {
    throw new ValidationError("INVALID_FIELD", `invalid ${field} ${describeValue(text)}: expected standard padded base64`, {
      details: { field, value: describeValue(text) },
    });
  }
  const decoded = Buffer.from(text, "base64");
  if (decoded.toString("base64") !== text) {
    throw new ValidationError("INVALID_FIELD", `invalid ${field} ${describeValue(text)}: base64 is not in canonical form`, {
      details: { field, value: describeValue(text) },
    });
  }
  return new Uint8Array(decoded);
}
