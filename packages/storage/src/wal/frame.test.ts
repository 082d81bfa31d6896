import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  FLAG_BATCH_CONTINUES,
  FRAME_HEADER_BYTES,
  encodeFrame,
  findNextValidFrame,
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
