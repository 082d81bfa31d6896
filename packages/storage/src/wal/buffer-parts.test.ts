import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { partsAfter } from "./buffer-parts.js";

describe("partsAfter", () => {
  it("drops whole parts and cuts into the first one left", () => {
    const parts = [Buffer.from("abc"), Buffer.from(""), Buffer.from("defg"), Buffer.from("h")];
    expect(partsAfter(parts, 0).map(String)).toEqual(["abc", "defg", "h"]); // empty parts go too
    expect(partsAfter(parts, 3).map(String)).toEqual(["defg", "h"]);
    expect(partsAfter(parts, 5).map(String)).toEqual(["fg", "h"]);
    expect(partsAfter(parts, 8)).toEqual([]);
  });

  it("leaves exactly the bytes after the skipped ones (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 8 }), fc.nat(200), (arrays, n) => {
        const parts = arrays.map((a) => Buffer.from(a));
        const whole = Buffer.concat(parts);
        const skip = Math.min(n, whole.length);
        expect(Buffer.concat(partsAfter(parts, skip))).toEqual(whole.subarray(skip));
      }),
    );
  });
});
