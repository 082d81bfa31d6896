/**
 * Owned copies of payload bytes. A task keeps its own copy of the caller's
 * bytes, so a caller may reuse its buffer right after submitting (a handler
 * once saw the bytes of a later submission when it did). Small payloads —
 * most JSON payloads are a few dozen bytes — are copied into shared slabs:
 * one ArrayBuffer per slab instead of one per task, which is less memory per
 * retained task and less work for the garbage collector. As with Node's own
 * Buffer pool, a view keeps its whole slab alive.
 */

/** Bytes per slab. */
const SLAB_BYTES = 16 * 1024;
/** Payloads up to this size share slabs; larger ones get an exact copy of their own. */
const SLAB_MAX_PAYLOAD = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A copy of `bytes` that no one else holds: a view into a shared slab for
 * small payloads, an exact copy otherwise. Always a plain `Uint8Array` (a
 * `Buffer` argument is copied into one, as a payload read back from disk is).
 * Empty input returns `empty`.
 */
export function ownedPayloadBytes(bytes: Uint8Array, empty: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n === 0) return empty;
  if (n > SLAB_MAX_PAYLOAD) return new Uint8Array(bytes);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = new Uint8Array(slab, slabUsed, n);
  copy.set(bytes);
  // 8-byte aligned, as a fresh ArrayBuffer would be.
  slabUsed += (n + 7) & ~7;
  return copy;
}
