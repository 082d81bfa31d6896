import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CRC32_START, crc32CopyUpdate, crc32Finish, crc32Range, crc32Update } from "./crc32.js";

describe("crc32Range", () => {
  it("matches the check value and zlib on random ranges", () => {
    expect(crc32Range(Buffer.from("123456789"), 0, 9)).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        expect(crc32Range(bytes, start, end)).toBe(crc32(bytes.subarray(start, end)));
      }),
    );
  });

  it("a running state over consecutive ranges, copying or not, equals zlib over their concatenation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 40 }), (head, body, at) => {
        const target = new Uint8Array(at + head.length + body.length + 8).fill(0xee);
        target.set(head, at);
        let state = crc32Update(CRC32_START, target, at, at + head.length);
        state = crc32CopyUpdate(state, target, at + head.length, body, 0, body.length);
        const written = target.subarray(at, at + head.length + body.length);
        expect(Buffer.from(written.subarray(head.length))).toEqual(Buffer.from(body));
        expect(crc32Finish(state)).toBe(crc32(written));
        // Nothing outside the destination range is touched.
        expect(target.subarray(at + head.length + body.length).every((b) => b === 0xee)).toBe(true);
      }),
    );
  });
});
