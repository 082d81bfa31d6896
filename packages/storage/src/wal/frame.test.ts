import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  FLAG_BATCH_CONTINUES,
  FRAME_HEADER_BYTES,
  encodeFrame,
  findNextValidFrame,
  writeFrameFrom,
  frameChecksumMatches,
  headerProblem,
  isValidFrameAt,
  readFrameHeader,
} from "./frame.js";

describe("frame", () => {
  it("zlib.crc32 is the IEEE CRC-32", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
  });

  it("round-trips header fields and payload", () => {
    const frame = encodeFrame(2 ** 40 + 7, FLAG_BATCH_CONTINUES, Buffer.from("hello"));
    const header = readFrameHeader(frame, 0);
    expect(header).toMatchObject({ marker: 0xa7, version: 1, flags: 1, length: 5, sequence: 2 ** 40 + 7 });
    expect(headerProblem(header)).toBeUndefined();
    expect(frameChecksumMatches(frame, 0, header)).toBe(true);
    expect(frame.subarray(FRAME_HEADER_BYTES).toString()).toBe("hello");
  });

  it("frames a payload taken from the middle of a buffer, small or large: the stored checksum is zlib's over header and payload", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), fc.nat(), fc.nat(), fc.nat({ max: 64 }), (source, a, b, offset) => {
        const start = source.length === 0 ? 0 : a % source.length;
        const end = start + (source.length === 0 ? 0 : b % (source.length - start + 1));
        const target = Buffer.alloc(offset + FRAME_HEADER_BYTES + (end - start) + 4, 0xee);
        const frameEnd = writeFrameFrom(target, offset, 2 ** 33 + 5, FLAG_BATCH_CONTINUES, source, start, end);
        expect(frameEnd).toBe(offset + FRAME_HEADER_BYTES + end - start);
        const frame = target.subarray(offset, frameEnd);
        expect(frame.readUInt32LE(0)).toBe(crc32(frame.subarray(4)));
        expect(readFrameHeader(frame, 0)).toMatchObject({ length: end - start, sequence: 2 ** 33 + 5, flags: FLAG_BATCH_CONTINUES });
        expect(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).toEqual(Buffer.from(source.subarray(start, end)));
        expect(target.subarray(frameEnd).every((x) => x === 0xee)).toBe(true);
      }),
    );
  });

  it("is byte-stable", () => {
    expect(encodeFrame(1, 0, Buffer.from([1, 2, 3])).toString("hex")).toBe(encodeFrame(1, 0, Buffer.from([1, 2, 3])).toString("hex"));
  });

  it("detects every single-bit flip, header included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.nat(), (payload, seq, bit) => {
        const frame = encodeFrame(seq, 0, payload);
        const position = bit % (frame.length * 8);
        frame[position >> 3]! ^= 1 << (position & 7);
        expect(isValidFrameAt(frame, 0)).toBe(false);
      }),
    );
  });

  it("reports unsupported versions and bad markers", () => {
    const frame = encodeFrame(1, 0, Buffer.from("x"));
    frame[5] = 9;
    expect(headerProblem(readFrameHeader(frame, 0))).toMatch(/version is 9/);
    frame[4] = 0;
    expect(headerProblem(readFrameHeader(frame, 0))).toMatch(/marker/);
  });

  it("finds the next valid frame after garbage", () => {
    const good = encodeFrame(3, 0, Buffer.from("abc"));
    const bytes = Buffer.concat([Buffer.alloc(13, 0xa7), good]);
    expect(findNextValidFrame(bytes, 0)).toBe(13);
    expect(findNextValidFrame(bytes, 14)).toBe(-1);
  });
});
