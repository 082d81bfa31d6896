/**
 * The record frame: the unit the WAL writes and the reader validates. The
 * checksum covers the whole header as well as the payload (unlike the Rust
 * frame, which protected only the payload), so a damaged length, sequence or
 * flag byte is caught, and a fixed marker byte lets the reader tell a real
 * frame from zero fill or garbage.
 *
 * Layout (little-endian, 20-byte header):
 *
 * | offset | size | field                                          |
 * |--------|------|------------------------------------------------|
 * | 0      | 4    | CRC-32 (zlib) of bytes 4 .. end of payload     |
 * | 4      | 1    | marker 0xA7                                    |
 * | 5      | 1    | frame version ({@link FRAME_VERSION})          |
 * | 6      | 1    | flags (bit 0: the batch continues after this)  |
 * | 7      | 1    | reserved, 0                                    |
 * | 8      | 4    | payload length N                               |
 * | 12     | 8    | sequence (u64, at most 2^53 − 1)               |
 * | 20     | N    | payload (an encoded event)                     |
 */
import { CRC32_START, crc32CopyUpdate, crc32Finish, crc32Range, crc32Update } from "../internal/crc32.js";

/** Size of a frame header in bytes. */
export const FRAME_HEADER_BYTES = 20;
/** Marker byte every frame carries at offset 4. */
export const FRAME_MARKER = 0xa7;
/** The frame layout version this build writes and reads. Bump on any layout change. */
export const FRAME_VERSION = 1;
/** Flag: more records of the same atomic batch follow this one. */
export const FLAG_BATCH_CONTINUES = 0x01;
/** Largest payload the writer accepts and the reader believes (16 MiB); one cap for both. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

const KNOWN_FLAGS = FLAG_BATCH_CONTINUES;
/** Payloads up to this size are copied and checksummed in one JS pass; larger ones go to `set` and zlib. */
const FUSED_COPY_MAX_BYTES = 1024;
const TWO_POW_32 = 0x1_0000_0000;

/** A decoded frame header, before the checksum has been checked. */
export interface FrameHeader {
  readonly crc: number;
  readonly marker: number;
  readonly version: number;
  readonly flags: number;
  readonly reserved: number;
  readonly length: number;
  readonly sequence: number;
}

/** Total bytes a frame with `payloadLength` bytes of payload occupies. */
export function frameSize(payloadLength: number): number {
  return FRAME_HEADER_BYTES + payloadLength;
}

/**
 * Writes one frame into `target` at `offset` and returns the offset after it.
 * The caller guarantees capacity; the sequence must be a safe positive integer
 * and the payload at most {@link MAX_PAYLOAD_BYTES} (checked by the writer).
 */
export function writeFrame(target: Buffer, offset: number, sequence: number, flags: number, payload: Uint8Array): number {
  return writeFrameFrom(target, offset, sequence, flags, payload, 0, payload.length);
}

/**
 * {@link writeFrame} with the payload taken from `source[start, end)`, so a
 * batch encoded into one buffer needs no view per record.
 */
export function writeFrameFrom(target: Buffer, offset: number, sequence: number, flags: number, source: Uint8Array, start: number, end: number): number {
  const length = end - start;
  target[offset + 4] = FRAME_MARKER;
  target[offset + 5] = FRAME_VERSION;
  target[offset + 6] = flags;
  target[offset + 7] = 0;
  // Byte stores rather than writeUInt32LE, whose argument checks showed in
  // profiles (the caller guarantees capacity and a safe sequence).
  putU32(target, offset + 8, length);
  putU32(target, offset + 12, sequence % TWO_POW_32);
  putU32(target, offset + 16, Math.floor(sequence / TWO_POW_32));
  const at = offset + FRAME_HEADER_BYTES;
  const frameEnd = at + length;
  if (length <= FUSED_COPY_MAX_BYTES) {
    // Most events are a few dozen bytes: copied by a loop (no view) that
    // checksums them on the way, after the header's 16 checksummed bytes.
    const state = crc32CopyUpdate(crc32Update(CRC32_START, target, offset + 4, at), target, at, source, start, end);
    putU32(target, offset, crc32Finish(state));
  } else {
    target.set(source.subarray(start, end), at);
    putU32(target, offset, crc32Range(target, offset + 4, frameEnd));
  }
  return frameEnd;
}

/** Little-endian unsigned 32-bit store (`value` below 2^32). */
function putU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value & 0xff;
  target[at + 1] = (value >>> 8) & 0xff;
  target[at + 2] = (value >>> 16) & 0xff;
  target[at + 3] = (value >>> 24) & 0xff;
}

/** Encodes one frame into a fresh buffer (tests, fixtures; the writer packs frames in place). */
export function encodeFrame(sequence: number, flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameSize(payload.length));
  writeFrame(out, 0, sequence, flags, payload);
  return out;
}

/** Reads the header at `offset`; the caller guarantees {@link FRAME_HEADER_BYTES} bytes. */
export function readFrameHeader(source: Buffer, offset: number): FrameHeader {
  return {
    crc: source.readUInt32LE(offset),
    marker: source[offset + 4] ?? 0,
    version: source[offset + 5] ?? 0,
    flags: source[offset + 6] ?? 0,
    reserved: source[offset + 7] ?? 0,
    length: source.readUInt32LE(offset + 8),
    sequence: source.readUInt32LE(offset + 12) + source.readUInt32LE(offset + 16) * TWO_POW_32,
  };
}

/** Checks the CRC of a complete frame at `offset` with the given header. */
export function frameChecksumMatches(source: Buffer, offset: number, header: FrameHeader): boolean {
  const end = offset + FRAME_HEADER_BYTES + header.length;
  return crc32Range(source, offset + 4, end) === header.crc;
}

/**
 * Why a header is not one this build can read, or `undefined` if it is. Order
 * matters: marker and version first, so a foreign frame is reported as such.
 */
export function headerProblem(header: FrameHeader): string | undefined {
  if (header.marker !== FRAME_MARKER) {
    return `frame marker is 0x${header.marker.toString(16).padStart(2, "0")}, expected 0x${FRAME_MARKER.toString(16)}`;
  }
  if (header.version !== FRAME_VERSION) return `frame version is ${header.version}, this build reads version ${FRAME_VERSION}`;
  if ((header.flags & ~KNOWN_FLAGS) !== 0 || header.reserved !== 0) {
    return `unknown frame flags 0x${header.flags.toString(16)} / reserved byte ${header.reserved}`;
  }
  if (header.length > MAX_PAYLOAD_BYTES) return `payload length ${header.length} exceeds the maximum of ${MAX_PAYLOAD_BYTES}`;
  if (header.sequence < 1 || !Number.isSafeInteger(header.sequence)) {
    return `sequence ${header.sequence} is not a positive safe integer`;
  }
  return undefined;
}

/**
 * True when a complete, checksum-valid frame starts at `offset`. Used after
 * damage is found, to decide whether anything valid follows it (in which case
 * the damage is never treated as a torn tail).
 */
export function isValidFrameAt(source: Buffer, offset: number): boolean {
  if (offset + FRAME_HEADER_BYTES > source.length || source[offset + 4] !== FRAME_MARKER) return false;
  const header = readFrameHeader(source, offset);
  if (headerProblem(header) !== undefined) return false;
  if (offset + FRAME_HEADER_BYTES + header.length > source.length) return false;
  return frameChecksumMatches(source, offset, header);
}

/** Offset of the first valid frame at or after `from`, or -1. O(bytes); only used on damage. */
export function findNextValidFrame(source: Buffer, from: number): number {
  for (let p = source.indexOf(FRAME_MARKER, from + 4); p !== -1; p = source.indexOf(FRAME_MARKER, p + 1)) {
    if (isValidFrameAt(source, p - 4)) return p - 4;
  }
  return -1;
}
