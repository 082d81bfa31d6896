import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { endOfNonZero, isAllZero } from "./segment.js";

const naiveAllZero = (bytes: Uint8Array, from: number): boolean => bytes.subarray(from).every((b) => b === 0);
const naiveEnd = (bytes: Uint8Array, from: number): number => {
  let end = bytes.length;
  while (end > from && bytes[end - 1] === 0) end--;
  return end;
};

/** Mostly zeros (as a preallocated segment tail is), sized around the 64 KiB compare chunk, with a few bytes set. */
const sparse = fc
  .record({
    length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_000, max: 200_000 })),
    set: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
    from: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ length, set, from }) => {
    const bytes = new Uint8Array(length);
    for (const [where, value] of set) if (length > 0) bytes[Math.floor(where * length)] = value;
    return { bytes, from: Math.floor(from * length) };
  });

describe("zero scans of segment bytes", () => {
  it("isAllZero and endOfNonZero agree with a byte-by-byte scan", () => {
    fc.assert(
      fc.property(sparse, ({ bytes, from }) => {
        expect(isAllZero(bytes, from)).toBe(naiveAllZero(bytes, from));
        expect(endOfNonZero(bytes, from)).toBe(naiveEnd(bytes, from));
      }),
      { numRuns: 300 },
    );
  });

  it("finds a single byte just before and after each chunk boundary", () => {
    for (const at of [0, 65_535, 65_536, 65_537, 131_071, 131_072]) {
      const bytes = new Uint8Array(140_000);
      bytes[at] = 1;
      expect(isAllZero(bytes, 0)).toBe(false);
      expect(isAllZero(bytes, at + 1)).toBe(true);
      expect(endOfNonZero(bytes, 0)).toBe(at + 1);
      expect(endOfNonZero(bytes, at + 1)).toBe(at + 1);
    }
  });
});
