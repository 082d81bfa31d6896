/**
 * Runtime views to JSON on the wire: bytes become standard base64 strings,
 * absent (`undefined`) fields are left out, everything else passes through.
 * Field names are already camelCase in the runtime's views.
 */
import { bytesToBase64 } from "@actionqueue/core";

/** Converts a runtime value into plain JSON data (`Uint8Array` → base64). */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (Array.isArray(value)) return value.map((item: unknown) => (item === undefined ? null : toWire(item)));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined && typeof item !== "function") out[key] = toWire(item);
    }
    return out;
  }
  return value;
}
