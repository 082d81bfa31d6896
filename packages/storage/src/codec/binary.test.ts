import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BinaryReader, BinaryWriter } from "./binary.js";

/** The plain LEB128 definition the writer's split fast path must match byte for byte. */
function referenceUint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

describe("BinaryWriter.uint", () => {
  it("writes the minimal LEB128 bytes of every safe integer, and reads them back", () => {
    const edges = [0, 1, 0x7f, 0x80, 0x0fff_ffff, 0x1000_0000, 0x1000_0001, 2 ** 31, 2 ** 32, 1.7e12, Number.MAX_SAFE_INTEGER];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat()), (value) => {
        const w = new BinaryWriter(4);
        w.uint(value, "v");
        expect([...w.view()]).toEqual(referenceUint(value));
        expect(new BinaryReader(w.view()).uint("v")).toBe(value);
      }),
      { numRuns: 2_000 },
    );
  });

  it("refuses negative, fractional and unsafe values, naming the field", () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) expect(() => new BinaryWriter().uint(bad, "timestamp")).toThrow(/timestamp/);
  });
});
