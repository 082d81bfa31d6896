import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ActionQueueError, MUTATION_COMMAND_KINDS } from "@actionqueue/core";
import type { MutationCommand } from "@actionqueue/core";
import { BinaryReader, BinaryWriter } from "./binary.js";
import { EVENT_TAGS, decodeEvent, encodeEvent } from "./event-codec.js";
import { sampleEvents } from "./sample-events.js";
import { FRAME_HEADER_BYTES, encodeFrame } from "../wal/frame.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/events/", import.meta.url));

/** Plain-data view for equality (RunInstance has private fields). */
function plain(command: MutationCommand): unknown {
  const sort = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return [...v];
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      const source = typeof (v as { toJSON?: unknown }).toJSON === "function" ? (v as { toJSON: () => object }).toJSON() : v;
      return Object.fromEntries(Object.entries(source).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sort(x)]));
    }
    return v;
  };
  return sort(command);
}

describe("event codec", () => {
  it("has one tag per command kind", () => {
    expect([...EVENT_TAGS].sort()).toEqual([...MUTATION_COMMAND_KINDS].sort());
    const covered = new Set(sampleEvents().map((s) => s.command.kind));
    expect(covered.size).toBe(MUTATION_COMMAND_KINDS.length);
  });

  it("matches the golden fixtures byte for byte, both ways (regenerate with scripts/generate-fixtures.ts)", () => {
    const samples = sampleEvents();
    expect(readdirSync(fixtures).length).toBe(samples.length);
    for (const { name, command } of samples) {
      const file = readFileSync(`${fixtures}${name}.bin`);
      expect(encodeFrame(command.sequence, 0, encodeEvent(command)).equals(file), name).toBe(true);
      const decoded = decodeEvent(file.subarray(FRAME_HEADER_BYTES), command.sequence);
      expect(plain(decoded), name).toEqual(plain(command));
    }
  });

  it("rejects unknown tags, truncation and trailing bytes as DECODE_FAILED", () => {
    const payload = encodeEvent(sampleEvents()[3]!.command);
    const unknown = Buffer.from(payload);
    unknown[0] = 99;
    expect(() => decodeEvent(unknown, 1)).toThrow(/unknown event tag 99/);
    for (let cut = 0; cut < payload.length; cut++) {
      const error = (() => {
        try {
          decodeEvent(payload.subarray(0, cut), 1);
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(ActionQueueError.hasCode(error, "DECODE_FAILED")).toBe(true);
    }
    expect(() => decodeEvent(Buffer.concat([payload, Buffer.from([0])]), 1)).toThrow(/trailing bytes/);
  });

  it("turns core validation failures into DECODE_FAILED", () => {
    const finish = sampleEvents().find((s) => s.name === "attempt-finish-timeout")!.command;
    const payload = Buffer.from(encodeEvent(finish));
    // result byte sits after tag, timestamp, two ULIDs; make it "success" while an error is present
    const resultOffset = payload.length - 1 - Buffer.byteLength("timed out after 30000 ms") - 1 - 1 - 1;
    payload[resultOffset] = 0;
    expect(() => decodeEvent(payload, 1)).toThrow(/outcome is invalid/);
  });

  it("round-trips varints, zigzag and ULIDs (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat()), fc.array(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 })), fc.ulid(), (uints, ints, ulid) => {
        const w = new BinaryWriter(4);
        uints.forEach((v) => w.uint(v, "u"));
        ints.forEach((v) => w.int(v, "i"));
        w.ulid(ulid.toUpperCase(), "id");
        const r = new BinaryReader(w.view());
        expect(uints.map(() => r.uint("u"))).toEqual(uints);
        expect(ints.map(() => r.int("i"))).toEqual(ints);
        expect(r.ulid("id")).toBe(ulid.toUpperCase());
        r.end("all");
      }),
    );
  });

  it("encodes a ULID to the same 16 bytes as a plain bit-by-bit reference, and refuses anything else (property)", () => {
    const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const reference = (text: string): Buffer => {
      let bits = "";
      for (let i = 0; i < 26; i++) bits += alphabet.indexOf(text[i]!).toString(2).padStart(i === 0 ? 3 : 5, "0");
      const out = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
      return out;
    };
    fc.assert(
      fc.property(fc.ulid(), (ulid) => {
        const text = ulid.toUpperCase();
        const w = new BinaryWriter(1);
        w.u8(0xee);
        w.ulid(text, "id");
        expect(w.view().subarray(1)).toEqual(reference(text));
      }),
    );
    fc.assert(
      fc.property(fc.ulid(), fc.nat(25), fc.constantFrom("I", "L", "O", "U", "a", "z", "-", " ", "é", "\u{1F600}".slice(0, 1), "\0"), (ulid, at, bad) => {
        const text = ulid.toUpperCase();
        const broken = text.slice(0, at) + bad + text.slice(at + 1);
        expect(() => new BinaryWriter().ulid(broken, "id")).toThrow(/is not a ULID/);
      }),
    );
    // Ids repeat within a batch (the writer remembers the last two): any order of a few ids still encodes each correctly.
    fc.assert(
      fc.property(fc.array(fc.ulid(), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), (pool, picks) => {
        const texts = picks.map((p) => pool[p % pool.length]!.toUpperCase());
        const w = new BinaryWriter(8);
        for (const text of texts) w.ulid(text, "id");
        expect(w.view()).toEqual(Buffer.concat(texts.map(reference)));
      }),
    );
    // The first character carries 3 bits only: 8 and above overflow 128 bits.
    expect(() => new BinaryWriter().ulid("80000000000000000000000000", "id")).toThrow(/is not a ULID/);
    expect(() => new BinaryWriter().ulid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "id")).not.toThrow();
    expect(() => new BinaryWriter().ulid("0000000000000000000000000", "id")).toThrow(/is not a ULID/);
  });

  it("rejects non-minimal and oversized varints", () => {
    expect(() => new BinaryReader(Buffer.from([0x80, 0x00])).uint("x")).toThrow(/non-minimal/);
    expect(() => new BinaryReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).uint("x")).toThrow(/2\^53/);
  });
});
