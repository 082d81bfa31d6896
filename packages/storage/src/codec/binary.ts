/**
 * Binary primitives of the event and snapshot codecs, postcard style: LEB128
 * varints (minimal form only, at most 2^53 − 1), zigzag for signed values,
 * ULIDs as 16 raw bytes, length-prefixed UTF-8 and bytes, option byte 0/1.
 * The reader is strict: every malformed input throws `DECODE_FAILED` naming
 * the field and offset, never a generic exception.
 */
import { StorageError } from "@actionqueue/core";

const ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ULID_ALPHABET.length; i++) ULID_VALUES[ULID_ALPHABET.charCodeAt(i)] = i;
const ULID_CODES = Uint8Array.from(ULID_ALPHABET, (c) => c.charCodeAt(0));
const textDecoder = new TextDecoder("utf-8", { fatal: true });

const ULID_CACHE_BITS = 14;
const ULID_CACHE_KEYS = new Int32Array(4 << ULID_CACHE_BITS);
const ULID_CACHE_VALUES: (string | undefined)[] = new Array<string | undefined>(1 << ULID_CACHE_BITS).fill(undefined);

/** Thrown by {@link BinaryReader} on malformed input. */
export function decodeError(message: string, details: Record<string, unknown> = {}, cause?: unknown): StorageError {
  return new StorageError("DECODE_FAILED", message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** Appends primitives to a growing buffer. */
export class BinaryWriter {
  #buffer: Buffer;
  #length = 0;
  // The last two ULIDs encoded and their bytes: a batch names the same run
  // (and attempt) in several commands, so most ids repeat one another.
  #ulidA: string | undefined;
  #ulidB: string | undefined;
  readonly #ulidBytesA = new Uint8Array(16);
  readonly #ulidBytesB = new Uint8Array(16);
  #ulidNextIsA = true;

  constructor(initialBytes = 256) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  #ensure(extra: number): void {
    if (this.#length + extra <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + extra));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * The whole underlying buffer, valid until the next write: bytes written
   * so far are `[0, length)`. No view is created (a caller that knows where
   * its records end needs none).
   */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Forgets everything written, keeping the buffer (for a reused scratch writer). */
  reset(): void {
    this.#length = 0;
  }

  /** The bytes written so far (a copy-free view valid until the next write). */
  view(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  /** A detached copy of the bytes written so far. */
  toBytes(): Buffer {
    return Buffer.from(this.view());
  }

  /** Unsigned integer up to 2^53 − 1. */
  uint(value: number, field: string): void {
    if (!Number.isSafeInteger(value) || value < 0) throw decodeError(`cannot encode ${field}: ${value} is not a non-negative safe integer`, { field });
    this.#ensure(8);
    const b = this.#buffer;
    let n = this.#length;
    let v = value;
    // Above 2^28 (every timestamp), split once into 28 low bits and the rest
    // (below 2^25 for a safe integer), so every group is cut with integer
    // operations instead of a float division each. Same bytes as before.
    if (v >= 0x1000_0000) {
      const low = v % 0x1000_0000;
      v = (v - low) / 0x1000_0000;
      b[n++] = (low & 0x7f) | 0x80;
      b[n++] = ((low >>> 7) & 0x7f) | 0x80;
      b[n++] = ((low >>> 14) & 0x7f) | 0x80;
      b[n++] = ((low >>> 21) & 0x7f) | 0x80;
    }
    while (v >= 0x80) {
      b[n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[n++] = v;
    this.#length = n;
  }

  /** Signed safe integer, zigzag-encoded. */
  int(value: number, field: string): void {
    if (!Number.isSafeInteger(value)) throw decodeError(`cannot encode ${field}: ${value} is not a safe integer`, { field });
    this.uint(value >= 0 ? value * 2 : -value * 2 - 1, field);
  }

  u8(value: number): void {
    this.#ensure(1);
    this.#buffer[this.#length++] = value;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  bytes(value: Uint8Array): void {
    this.uint(value.length, "length");
    this.#ensure(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
  }

  string(value: string): void {
    // Short ASCII (lease owners, content types, names) is copied by hand:
    // cheaper than measuring and encoding it natively.
    const n = value.length;
    if (n < 128) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (value.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.#ensure(n + 1);
        const b = this.#buffer;
        b[this.#length++] = n;
        for (let i = 0; i < n; i++) b[this.#length++] = value.charCodeAt(i);
        return;
      }
    }
    const length = Buffer.byteLength(value, "utf8");
    this.uint(length, "length");
    this.#ensure(length);
    this.#length += this.#buffer.write(value, this.#length, "utf8");
  }

  /** A 26-character ULID as 16 bytes (big-endian, so byte order = text order). */
  ulid(value: string, field: string): void {
    if (value === this.#ulidA) return this.#copyUlid(this.#ulidBytesA);
    if (value === this.#ulidB) return this.#copyUlid(this.#ulidBytesB);
    if (value.length !== 26) throw decodeError(`cannot encode ${field}: ${JSON.stringify(value)} is not a ULID`, { field });
    this.#ensure(16);
    const b = this.#buffer;
    const n = this.#length;
    // Unrolled: the first 2 characters give byte 0 (3 + 5 bits), then each run
    // of 8 characters (40 bits) gives 5 bytes. Every run of a job's commands
    // encodes a handful of ids, so this is on the hot path.
    const t = ULID_VALUES;
    let codes = 0;
    let bad = 0;
    const c0 = value.charCodeAt(0);
    const c1 = value.charCodeAt(1);
    codes |= c0 | c1;
    const v0 = t[c0 & 127]!;
    const v1 = t[c1 & 127]!;
    bad |= v0 | v1;
    b[n] = (v0 << 5) | v1;
    let at = n + 1;
    for (let i = 2; i < 26; i += 8) {
      const k0 = value.charCodeAt(i);
      const k1 = value.charCodeAt(i + 1);
      const k2 = value.charCodeAt(i + 2);
      const k3 = value.charCodeAt(i + 3);
      const k4 = value.charCodeAt(i + 4);
      const k5 = value.charCodeAt(i + 5);
      const k6 = value.charCodeAt(i + 6);
      const k7 = value.charCodeAt(i + 7);
      codes |= k0 | k1 | k2 | k3 | k4 | k5 | k6 | k7;
      const w0 = t[k0 & 127]!;
      const w1 = t[k1 & 127]!;
      const w2 = t[k2 & 127]!;
      const w3 = t[k3 & 127]!;
      const w4 = t[k4 & 127]!;
      const w5 = t[k5 & 127]!;
      const w6 = t[k6 & 127]!;
      const w7 = t[k7 & 127]!;
      bad |= w0 | w1 | w2 | w3 | w4 | w5 | w6 | w7;
      b[at] = (w0 << 3) | (w1 >> 2);
      b[at + 1] = ((w1 & 3) << 6) | (w2 << 1) | (w3 >> 4);
      b[at + 2] = ((w3 & 15) << 4) | (w4 >> 1);
      b[at + 3] = ((w4 & 1) << 7) | (w5 << 2) | (w6 >> 3);
      b[at + 4] = ((w6 & 7) << 5) | w7;
      at += 5;
    }
    // A character outside the alphabet maps to -1 (or is not ASCII); the first carries only 3 bits.
    if (bad < 0 || codes > 127 || v0 > 7) throw decodeError(`cannot encode ${field}: ${JSON.stringify(value)} is not a ULID`, { field });
    this.#length = n + 16;
    // Remember it in the older of the two slots.
    const slot = this.#ulidNextIsA ? this.#ulidBytesA : this.#ulidBytesB;
    for (let i = 0; i < 16; i++) slot[i] = b[n + i]!;
    if (this.#ulidNextIsA) this.#ulidA = value;
    else this.#ulidB = value;
    this.#ulidNextIsA = !this.#ulidNextIsA;
  }

  #copyUlid(bytes: Uint8Array): void {
    this.#ensure(16);
    const b = this.#buffer;
    const n = this.#length;
    for (let i = 0; i < 16; i++) b[n + i] = bytes[i]!;
    this.#length = n + 16;
  }

  // Closure-free forms of `optional` for the hot encoders (a closure per
  // optional field of every task and run added up).
  /** An optional string. */
  optionalString(value: string | undefined): void {
    if (value === undefined) this.u8(0);
    else {
      this.u8(1);
      this.string(value);
    }
  }

  /** An optional unsigned integer. */
  optionalUint(value: number | undefined, field: string): void {
    if (value === undefined) this.u8(0);
    else {
      this.u8(1);
      this.uint(value, field);
    }
  }

  /** An optional ULID. */
  optionalUlid(value: string | undefined, field: string): void {
    if (value === undefined) this.u8(0);
    else {
      this.u8(1);
      this.ulid(value, field);
    }
  }

  /** Optional bytes. */
  optionalBytes(value: Uint8Array | undefined): void {
    if (value === undefined) this.u8(0);
    else {
      this.u8(1);
      this.bytes(value);
    }
  }

  optional<T>(value: T | undefined, write: (v: T) => void): void {
    if (value === undefined) this.u8(0);
    else {
      this.u8(1);
      write(value);
    }
  }

  list<T>(values: readonly T[], write: (v: T) => void): void {
    this.uint(values.length, "length");
    for (const v of values) write(v);
  }

  /** Index of `value` in `table`, as one byte, with `flags` (high bits the table's indices never use) set in it. */
  choice<T>(value: T, table: readonly T[], field: string, flags = 0): void {
    const index = table.indexOf(value);
    if (index < 0) throw decodeError(`cannot encode ${field}: ${String(value)} is not one of ${table.join(", ")}`, { field });
    this.u8(index | flags);
  }
}

/** Reads primitives from a buffer, strictly. */
export class BinaryReader {
  #bytes: Uint8Array;
  #pos: number;
  #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  /** Points this reader at new input (one reader serves every decode on the replay path). */
  reset(bytes: Uint8Array, start: number, end: number): this {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    return this;
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #fail(field: string, message: string): never {
    throw decodeError(`cannot decode ${field} at byte ${this.#pos}: ${message}`, { field, offset: this.#pos });
  }

  uint(field: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.#pos >= this.#end) this.#fail(field, "input ends inside a varint");
      const byte = this.#bytes[this.#pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) this.#fail(field, "non-minimal varint");
        if (!Number.isSafeInteger(result)) this.#fail(field, "varint exceeds 2^53 − 1");
        return result;
      }
      scale *= 0x80;
    }
    return this.#fail(field, "varint longer than 8 bytes");
  }

  int(field: string): number {
    const z = this.uint(field);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  u8(field: string): number {
    if (this.#pos >= this.#end) this.#fail(field, "input ends");
    return this.#bytes[this.#pos++]!;
  }

  bool(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) this.#fail(field, `boolean byte ${v}`);
    return v === 1;
  }

  bytes(field: string): Uint8Array {
    const length = this.uint(field);
    if (length > this.remaining) this.#fail(field, `length ${length} exceeds the ${this.remaining} bytes left`);
    // A plain copy: never a view that would keep a whole segment buffer alive.
    const out = new Uint8Array(length);
    out.set(this.#bytes.subarray(this.#pos, this.#pos + length));
    this.#pos += length;
    return out;
  }

  string(field: string): string {
    const length = this.uint(field);
    if (length > this.remaining) this.#fail(field, `length ${length} exceeds the ${this.remaining} bytes left`);
    const start = this.#pos;
    const end = start + length;
    const b = this.#bytes;
    // Fast path for short ASCII (owners, keys, names): no TextDecoder call.
    if (length <= 64) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (b[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.#pos = end;
        return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
      }
    }
    try {
      const text = textDecoder.decode(b.subarray(start, end));
      this.#pos = end;
      return text;
    } catch {
      return this.#fail(field, "invalid UTF-8");
    }
  }

  ulid(field: string): string {
    if (this.remaining < 16) this.#fail(field, "input ends inside a ULID");
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos = p + 16;
    // Replay sees the same run id in every event of that run: a small
    // direct-mapped cache returns the string already built (and already
    // hashed for Map lookups) instead of building it again.
    const w0 = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const w1 = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
    const w2 = (b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!;
    const w3 = (b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!;
    const slot = (Math.imul(w3 ^ w2, 0x9e3779b1) ^ Math.imul(w1 ^ w0, 0x85ebca6b)) >>> (32 - ULID_CACHE_BITS);
    const k = slot * 4;
    const cached = ULID_CACHE_VALUES[slot];
    if (cached !== undefined && ULID_CACHE_KEYS[k] === w0 && ULID_CACHE_KEYS[k + 1] === w1 && ULID_CACHE_KEYS[k + 2] === w2 && ULID_CACHE_KEYS[k + 3] === w3) {
      return cached;
    }
    // One fixed-arity String.fromCharCode call builds a flat string directly:
    // no per-character concatenation (a rope that is slow to hash) and no
    // native Buffer call. Byte 0 gives 3 + 5 bits, then each run of 5 bytes
    // gives 8 characters, with constant shifts.
    const c = ULID_CODES;
    const b0 = b[p]!;
    const x00 = b[p + 1]!, x01 = b[p + 2]!, x02 = b[p + 3]!, x03 = b[p + 4]!, x04 = b[p + 5]!;
    const x10 = b[p + 6]!, x11 = b[p + 7]!, x12 = b[p + 8]!, x13 = b[p + 9]!, x14 = b[p + 10]!;
    const x20 = b[p + 11]!, x21 = b[p + 12]!, x22 = b[p + 13]!, x23 = b[p + 14]!, x24 = b[p + 15]!;
    const text = String.fromCharCode(
      c[b0 >> 5]!, c[b0 & 31]!,
      c[x00 >> 3]!, c[((x00 & 7) << 2) | (x01 >> 6)]!, c[(x01 >> 1) & 31]!, c[((x01 & 1) << 4) | (x02 >> 4)]!, c[((x02 & 15) << 1) | (x03 >> 7)]!, c[(x03 >> 2) & 31]!, c[((x03 & 3) << 3) | (x04 >> 5)]!, c[x04 & 31]!,
      c[x10 >> 3]!, c[((x10 & 7) << 2) | (x11 >> 6)]!, c[(x11 >> 1) & 31]!, c[((x11 & 1) << 4) | (x12 >> 4)]!, c[((x12 & 15) << 1) | (x13 >> 7)]!, c[(x13 >> 2) & 31]!, c[((x13 & 3) << 3) | (x14 >> 5)]!, c[x14 & 31]!,
      c[x20 >> 3]!, c[((x20 & 7) << 2) | (x21 >> 6)]!, c[(x21 >> 1) & 31]!, c[((x21 & 1) << 4) | (x22 >> 4)]!, c[((x22 & 15) << 1) | (x23 >> 7)]!, c[(x23 >> 2) & 31]!, c[((x23 & 3) << 3) | (x24 >> 5)]!, c[x24 & 31]!,
    );
    ULID_CACHE_KEYS[k] = w0;
    ULID_CACHE_KEYS[k + 1] = w1;
    ULID_CACHE_KEYS[k + 2] = w2;
    ULID_CACHE_KEYS[k + 3] = w3;
    ULID_CACHE_VALUES[slot] = text;
    return text;
  }

  optional<T>(field: string, read: () => T): T | undefined {
    return this.bool(field) ? read() : undefined;
  }

  list<T>(field: string, read: () => T): T[] {
    const length = this.uint(field);
    if (length > this.remaining) this.#fail(field, `list length ${length} exceeds the bytes left`);
    const out: T[] = [];
    for (let i = 0; i < length; i++) out.push(read());
    return out;
  }

  /** Throws a decode error for `field` at the current position (for checks the primitives cannot make). */
  invalid(field: string, message: string): never {
    return this.#fail(field, message);
  }

  choice<T>(table: readonly T[], field: string): T {
    const index = this.u8(field);
    const value = table[index];
    if (value === undefined) this.#fail(field, `value ${index} is not one of 0..${table.length - 1}`);
    return value;
  }

  /** Throws unless every byte was consumed. */
  end(what: string): void {
    if (this.#pos !== this.#end) this.#fail(what, `${this.#end - this.#pos} trailing bytes`);
  }
}
