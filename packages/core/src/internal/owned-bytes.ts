/**
 * Owned copies of bytes a caller hands over: task payloads and attempt
 * outputs. Each keeps its own copy, so a caller may reuse its buffer right
 * away (a handler once saw the payload of a later submission when one
 * buffer was reused). Small ones — most JSON payloads are a few dozen bytes —
 * are copied into shared slabs: one ArrayBuffer per slab instead of one per
 * task, which is less memory per retained task and less work for the garbage
 * collector. As with Node's own Buffer pool, a view keeps its whole slab alive.
 */

/** Bytes per slab. */
const SLAB_BYTES = 16 * 1024;
/** Byte strings up to this size share slabs; larger ones get an exact copy of their own. */
const SLAB_MAX_PAYLOAD = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A copy of `bytes` that no one else holds: a view into a shared slab for
 * small ones, an exact copy otherwise. Always a plain `Uint8Array` (a
 * `Buffer` argument is copied into one, as bytes read back from disk are).
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
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
