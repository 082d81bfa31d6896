import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { crc32Range } from "./crc32.js";

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
});
