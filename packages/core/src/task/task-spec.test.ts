import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectCode, taskId, tenantId } from "../../test/support.js";
import { NIL_ID } from "../ids/ids.js";
import type { TaskId } from "../ids/ids.js";
import { ONCE_POLICY, oncePolicy, repeatPolicy } from "./run-policy.js";
import { DEFAULT_TASK_CONSTRAINTS, createTaskConstraints, validateTaskConstraints } from "./task-constraints.js";
import type { RunPolicy } from "./run-policy.js";
import type { TaskConstraintsInput } from "./task-constraints.js";
import { taskSpecFromJson, taskSpecToJson } from "../codec/task-codec.js";
import type { TaskSpec } from "./task-spec.js";
import {
  DEFAULT_TASK_METADATA,
  EMPTY_PAYLOAD_BYTES,
  EMPTY_TASK_PAYLOAD,
  createTaskSpec,
  jsonPayload,
  payloadJson,
  validateTaskSpec,
  withConstraints,
  withRunPolicy,
} from "./task-spec.js";

const nilSpec = (): TaskSpec => ({
  id: NIL_ID as TaskId,
  payload: { bytes: new Uint8Array() },
  runPolicy: oncePolicy(),
  constraints: DEFAULT_TASK_CONSTRAINTS,
  metadata: { tags: [], priority: 0 },
});

describe("TaskSpec", () => {
  it("rejects the nil id from the factory and from validate()", () => {
    const error = expectCode(() => createTaskSpec({ id: NIL_ID as TaskId, runPolicy: oncePolicy() }), "INVALID_TASK_ID");
    expect(error.details).toMatchObject({ value: NIL_ID });
    expectCode(() => validateTaskSpec(nilSpec()), "INVALID_TASK_ID");
  });

  it("withRunPolicy replaces the policy on a valid spec", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy() });
    const next = withRunPolicy(spec, repeatPolicy(4, 30_000));
    expect(next.runPolicy).toEqual({ kind: "repeat", count: 4, intervalMs: 30_000 });
    expect(spec.runPolicy).toEqual({ kind: "once" });
  });

  it("withRunPolicy on a nil-id spec fails with INVALID_TASK_ID and leaves the policy once", () => {
    const spec = nilSpec();
    expectCode(() => withRunPolicy(spec, repeatPolicy(4, 30_000)), "INVALID_TASK_ID");
    expect(spec.runPolicy).toEqual({ kind: "once" });
  });

  it("withConstraints checks the id first, then the constraints", () => {
    expectCode(() => withConstraints(nilSpec(), { maxAttempts: 0 }), "INVALID_TASK_ID");
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy() });
    expectCode(() => withConstraints(spec, { maxAttempts: 0 }), "INVALID_MAX_ATTEMPTS");
    expect(withConstraints(spec, { maxAttempts: 3 }).constraints.maxAttempts).toBe(3);
    expect(spec.constraints.maxAttempts).toBe(1);
  });

  it("withConstraints replaces the constraints: timeoutMs and concurrencyKey left out or undefined are cleared, not kept", () => {
    const spec = createTaskSpec({
      id: taskId(),
      runPolicy: oncePolicy(),
      constraints: { maxAttempts: 3, timeoutMs: 30_000, concurrencyKey: "k", requiredCapabilities: ["gpu"] },
    });
    // What a caller compiled without exactOptionalPropertyTypes (or plain JavaScript) writes to drop two constraints.
    const input = { ...spec.constraints, timeoutMs: undefined, concurrencyKey: undefined } as unknown as TaskConstraintsInput;
    const cleared = withConstraints(spec, input);
    // Strictly: no key left holding undefined, the same constraints createTaskSpec builds from that input.
    expect(cleared.constraints).toStrictEqual(createTaskConstraints({ maxAttempts: 3, requiredCapabilities: ["gpu"] }));
    expect(Object.keys(cleared.constraints)).not.toContain("timeoutMs");
    expect(Object.keys(cleared.constraints)).not.toContain("concurrencyKey");
    expect(cleared.constraints).toStrictEqual(createTaskSpec({ id: spec.id, runPolicy: oncePolicy(), constraints: input }).constraints);
    expect(taskSpecFromJson(taskSpecToJson(cleared))).toStrictEqual(cleared);
    expect(spec.constraints).toMatchObject({ timeoutMs: 30_000, concurrencyKey: "k" }); // the original is untouched
    // Left out, they are cleared too: the input is not merged into the old constraints.
    expect(withConstraints(spec, { maxAttempts: 3 }).constraints).toStrictEqual({ maxAttempts: 3, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" });
    // Any field given as undefined takes its default, as in createTaskSpec.
    const allUndefined = {
      maxAttempts: undefined,
      timeoutMs: undefined,
      concurrencyKey: undefined,
      concurrencyKeyHoldPolicy: undefined,
      safetyLevel: undefined,
      requiredCapabilities: undefined,
    } as unknown as TaskConstraintsInput;
    expect(withConstraints(spec, allUndefined).constraints).toStrictEqual({ ...DEFAULT_TASK_CONSTRAINTS });
    // Core spec §12 items 14–15 on this path: an empty key or a zero timeout is refused and changes nothing; a value sets.
    const plain = withConstraints(spec, {});
    expectCode(() => withConstraints(plain, { concurrencyKey: "" }), "EMPTY_CONCURRENCY_KEY");
    expectCode(() => withConstraints(plain, { timeoutMs: 0 }), "ZERO_TIMEOUT");
    expect(plain.constraints).toStrictEqual({ ...DEFAULT_TASK_CONSTRAINTS });
    expect(withConstraints(plain, { concurrencyKey: "key", timeoutMs: 60_000 }).constraints).toMatchObject({ concurrencyKey: "key", timeoutMs: 60_000 });
  });

  it("fills defaults and keeps optional fields", () => {
    const id = taskId();
    const parent = taskId();
    const tenant = tenantId();
    const spec = createTaskSpec({
      id,
      name: "email",
      payload: new TextEncoder().encode("hello"),
      contentType: "text/plain",
      runPolicy: oncePolicy(),
      metadata: { tags: ["a"], priority: 7, description: "d" },
      parentTaskId: parent,
      tenantId: tenant,
    });
    expect(spec).toMatchObject({
      id,
      name: "email",
      payload: { contentType: "text/plain" },
      constraints: { maxAttempts: 1, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" },
      metadata: { tags: ["a"], priority: 7, description: "d" },
      parentTaskId: parent,
      tenantId: tenant,
    });
  });

  it("rejects a self-parent, a nil parent, a bad name, priority and payload", () => {
    const id = taskId();
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), parentTaskId: id }), "INVALID_TASK_ID");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), parentTaskId: NIL_ID as TaskId }), "INVALID_TASK_ID");
    expectCode(() => createTaskSpec({ id, name: "", runPolicy: oncePolicy() }), "INVALID_TASK_NAME");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), metadata: { priority: 2 ** 31 } }), "INVALID_PRIORITY");
    expectCode(() => validateTaskSpec({ ...nilSpec(), id, payload: { bytes: "x" as unknown as Uint8Array } }), "INVALID_PAYLOAD");
    expectCode(() => createTaskSpec({ id, runPolicy: { kind: "repeat", count: 0, intervalMs: 1 } }), "INVALID_REPEAT_COUNT");
  });

  it("JSON payload helpers round-trip", () => {
    const payload = jsonPayload({ to: "a@b.c" });
    expect(payload.contentType).toBe("application/json");
    expect(payloadJson(payload)).toEqual({ to: "a@b.c" });
    expectCode(() => payloadJson({ bytes: new Uint8Array([0xff]) }), "INVALID_PAYLOAD");
    // Short ASCII is decoded by hand, everything else by the strict decoder: both give the same values and errors.
    const values = [{ name: "zoë", emoji: "🚀" }, { long: "x".repeat(300) }, { long: "é".repeat(200) }, [1, "two", null, true], "plain", 42];
    for (const value of values) expect(payloadJson(jsonPayload(value))).toEqual(value);
    expectCode(() => payloadJson({ bytes: new TextEncoder().encode("{not json") }), "INVALID_PAYLOAD");
    expectCode(() => payloadJson({ bytes: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3]) }), "INVALID_PAYLOAD");
    expectCode(() => payloadJson({ bytes: new Uint8Array(300).fill(0x20).fill(0xff, 299) }), "INVALID_PAYLOAD");
  });
});

describe("TaskSpec shared defaults", () => {
  it("specs without payload, constraints or metadata share one frozen payload, policy, constraints and metadata", () => {
    const a = createTaskSpec({ id: taskId(), runPolicy: { kind: "once" } });
    const b = createTaskSpec({ id: taskId(), runPolicy: oncePolicy() });
    expect(a.payload).toBe(EMPTY_TASK_PAYLOAD);
    expect(b.payload).toBe(a.payload);
    expect(a.payload.bytes).toBe(EMPTY_PAYLOAD_BYTES);
    expect(a.runPolicy).toBe(ONCE_POLICY);
    expect(b.runPolicy).toBe(ONCE_POLICY);
    expect(a.constraints).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(b.constraints).toBe(a.constraints);
    expect(a.metadata).toBe(DEFAULT_TASK_METADATA);
    expect(b.metadata).toBe(a.metadata);
    // Same values as ever.
    expect(a).toEqual({
      id: a.id,
      payload: { bytes: new Uint8Array(0) },
      runPolicy: { kind: "once" },
      constraints: { maxAttempts: 1, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" },
      metadata: { tags: [], priority: 0 },
    });
  });

  it("every shared object is frozen, down to the tags and the empty bytes", () => {
    for (const shared of [EMPTY_TASK_PAYLOAD, EMPTY_PAYLOAD_BYTES, ONCE_POLICY, DEFAULT_TASK_CONSTRAINTS, DEFAULT_TASK_METADATA, DEFAULT_TASK_METADATA.tags]) {
      expect(Object.isFrozen(shared)).toBe(true);
    }
    expect(EMPTY_PAYLOAD_BYTES.length).toBe(0);
    expect(() => {
      (DEFAULT_TASK_METADATA.tags as string[]).push("x");
    }).toThrow(TypeError);
  });

  it("input that spells out only the defaults shares them too", () => {
    const spec = createTaskSpec({
      id: taskId(),
      runPolicy: oncePolicy(),
      constraints: { maxAttempts: 1, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" },
      metadata: { tags: [], priority: 0 },
    });
    expect(spec.constraints).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(spec.metadata).toBe(DEFAULT_TASK_METADATA);
    expect(createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), constraints: {}, metadata: {} }).metadata).toBe(DEFAULT_TASK_METADATA);
  });

  it("copies a caller's payload bytes: the caller may reuse its buffer (once every task saw the last bytes written into it)", () => {
    const buffer = Buffer.from("job-0");
    const specs: TaskSpec[] = [];
    for (let i = 0; i < 3; i++) {
      buffer.write(`job-${i}`);
      specs.push(createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), payload: buffer }));
    }
    expect(specs.map((s) => new TextDecoder().decode(s.payload.bytes))).toEqual(["job-0", "job-1", "job-2"]);
    // A plain Uint8Array, as the bytes read back from disk are, even for a Buffer.
    expect(Object.getPrototypeOf(specs[0]!.payload.bytes)).toBe(Uint8Array.prototype);
    const large = new Uint8Array(5000).fill(7);
    const copy = createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), payload: large }).payload.bytes;
    large.fill(0);
    expect(copy.length).toBe(5000);
    expect(copy.every((b) => b === 7)).toBe(true);
    expect(copy.byteOffset).toBe(0);
    expect(copy.buffer.byteLength).toBe(5000);
  });

  it("an empty payload becomes the shared empty bytes; with a content type it gets its own payload object", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), payload: new Uint8Array(0), contentType: "text/plain" });
    expect(spec.payload.bytes).toBe(EMPTY_PAYLOAD_BYTES);
    expect(spec.payload).not.toBe(EMPTY_TASK_PAYLOAD);
    expect(spec.payload.contentType).toBe("text/plain");
  });

  it("payload copies never overlap: every spec keeps its own bytes across slab boundaries (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }), (lengths) => {
        const inputs = lengths.map((n, i) => new Uint8Array(n).fill((i % 250) + 1));
        const specs = inputs.map((payload) => createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), payload }));
        for (const input of inputs) input.fill(0);
        specs.forEach((spec, i) => {
          const bytes = spec.payload.bytes;
          expect(bytes.length).toBe(lengths[i]);
          expect(bytes.every((b) => b === (i % 250) + 1)).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("a content type without payload gets its own payload object over the shared empty bytes", () => {
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), contentType: "text/plain" });
    expect(spec.payload).toEqual({ bytes: new Uint8Array(0), contentType: "text/plain" });
    expect(spec.payload).not.toBe(EMPTY_TASK_PAYLOAD);
    expect(spec.payload.bytes).toBe(EMPTY_PAYLOAD_BYTES);
  });

  it("anything but the defaults gets fresh objects, with tags copied", () => {
    const tags = ["a"];
    const spec = createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), constraints: { maxAttempts: 2 }, metadata: { tags } });
    expect(spec.constraints).not.toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(spec.constraints).toEqual({ maxAttempts: 2, concurrencyKeyHoldPolicy: "holdDuringRetry", safetyLevel: "pure" });
    expect(spec.metadata).toEqual({ tags: ["a"], priority: 0 });
    expect(spec.metadata.tags).not.toBe(tags);
    expect(Object.isFrozen(spec.constraints)).toBe(false);
    // -0 is not 0: kept as given rather than folded into the default.
    expect(Object.is(createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), metadata: { priority: -0 } }).metadata.priority, -0)).toBe(true);
  });

  it("copies the run policy: the caller may change or reuse its object; a key the policy's kind does not have is refused, not dropped", () => {
    expect(createTaskSpec({ id: taskId(), runPolicy: { kind: "once" } }).runPolicy).toBe(ONCE_POLICY);
    const stray = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "once", note: "x" } as unknown as RunPolicy }), "UNKNOWN_FIELD");
    expect(stray.details.field).toBe("runPolicy.note");
    const typo = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "repeat", count: 2, interval: 5 } as unknown as RunPolicy }), "UNKNOWN_FIELD");
    expect(typo.message).toContain("did you mean runPolicy.intervalMs?");
    const repeat = { kind: "repeat", count: 2, intervalMs: 1000, misfire: { kind: "catchUp", maxRuns: 3 } } as { kind: "repeat"; count: number; intervalMs: number; misfire: { kind: "catchUp"; maxRuns: number } };
    const cron = { kind: "cron", expression: "*/5 * * * *", maxOccurrences: 4, misfire: { kind: "skip" } } as { kind: "cron"; expression: string };
    const repeatSpec = createTaskSpec({ id: taskId(), runPolicy: repeat });
    const cronSpec = createTaskSpec({ id: taskId(), runPolicy: cron });
    repeat.count = 9;
    repeat.misfire.maxRuns = 9;
    cron.expression = "0 0 * * *";
    expect(repeatSpec.runPolicy).toEqual({ kind: "repeat", count: 2, intervalMs: 1000, misfire: { kind: "catchUp", maxRuns: 3 } });
    expect(cronSpec.runPolicy).toEqual({ kind: "cron", expression: "*/5 * * * *", maxOccurrences: 4, misfire: { kind: "skip" } });
    // A malformed policy still reaches validation as given, and is named there.
    expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "repeat", count: "2", intervalMs: 1000 } as unknown as RunPolicy }), "INVALID_REPEAT_COUNT");
    expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "weekly" } as unknown as RunPolicy }), "INVALID_RUN_POLICY");
  });

  it("reports the same errors as before, in the same order", () => {
    const id = taskId();
    // Tags that are not a list are refused by name, in validation's order (constraints first); spreading them threw a TypeError.
    expectCode(
      () => createTaskSpec({ id, runPolicy: oncePolicy(), constraints: { maxAttempts: 0 }, metadata: { tags: 5 as unknown as string[] } }),
      "INVALID_MAX_ATTEMPTS",
    );
    for (const tags of [5, "abc", {}]) {
      expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), metadata: { tags: tags as unknown as string[] } }), "INVALID_TAGS");
    }
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), constraints: { maxAttempts: 0 }, metadata: { priority: 0.5 } }), "INVALID_MAX_ATTEMPTS");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), metadata: { priority: 0.5 } }), "INVALID_PRIORITY");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), metadata: { tags: [], description: 3 as unknown as string } }), "INVALID_DESCRIPTION");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), contentType: 3 as unknown as string }), "INVALID_CONTENT_TYPE");
    expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), payload: "x" as unknown as Uint8Array }), "INVALID_PAYLOAD");
    expectCode(() => createTaskSpec({ id, runPolicy: null as unknown as RunPolicy }), "INVALID_RUN_POLICY");
  });
});

describe("null in an optional field means not given", () => {
  it("gives the same spec as leaving the field out, for every optional field of the spec, its constraints, metadata and policies", () => {
    const id = taskId();
    const none = null as never;
    const plain = createTaskSpec({ id, runPolicy: oncePolicy() });
    expect(createTaskSpec({ id, runPolicy: oncePolicy(), name: none, contentType: none, constraints: none, metadata: none, parentTaskId: none, tenantId: none })).toEqual(plain);
    const constraints = { maxAttempts: none, timeoutMs: none, concurrencyKey: none, concurrencyKeyHoldPolicy: none, safetyLevel: none, requiredCapabilities: none };
    expect(createTaskSpec({ id, runPolicy: oncePolicy(), constraints, metadata: { tags: none, priority: none, description: none } })).toEqual(plain);
    expect(createTaskSpec({ id, runPolicy: oncePolicy(), constraints }).constraints).toBe(DEFAULT_TASK_CONSTRAINTS);
    const cron = createTaskSpec({ id, runPolicy: { kind: "cron", expression: "* * * * *", maxOccurrences: none, misfire: none } }).runPolicy;
    expect(cron).toEqual({ kind: "cron", expression: "* * * * *" });
    const repeat = createTaskSpec({ id, runPolicy: { kind: "repeat", count: 2, intervalMs: 10, misfire: { kind: "catchUp", maxRuns: none } } }).runPolicy;
    expect(repeat).toEqual({ kind: "repeat", count: 2, intervalMs: 10, misfire: { kind: "catchUp" } });
  });

  it("refuses an empty content type, and names a misfire that is not an object by its value", () => {
    const error = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), contentType: "", payload: new Uint8Array(1) }), "INVALID_CONTENT_TYPE");
    expect(error.details).toMatchObject({ field: "contentType", value: "" });
    const misfire = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "cron", expression: "* * * * *", misfire: "skip" as never } }), "INVALID_RUN_POLICY");
    expect(misfire.message).toContain('runPolicy.misfire "skip"');
    const kind = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: { kind: "cron", expression: "* * * * *", misfire: { kind: "later" } as never } }), "INVALID_RUN_POLICY");
    expect(kind.details).toMatchObject({ field: "runPolicy.misfire.kind" });
  });
});

describe("keys an input does not know", () => {
  it("a misspelt constraint, metadata or misfire field is refused with the field it likely meant, never dropped into a default", () => {
    const cases: Array<[Partial<Parameters<typeof createTaskSpec>[0]>, string, string | undefined]> = [
      [{ constraints: { maxAttempt: 3 } as never }, "constraints.maxAttempt", "constraints.maxAttempts"],
      [{ constraints: { timeoutms: 3 } as never }, "constraints.timeoutms", "constraints.timeoutMs"],
      [{ metadata: { tag: ["a"] } as never }, "metadata.tag", "metadata.tags"],
      [{ metadata: { owner: "me" } as never }, "metadata.owner", undefined],
      [{ runPolicy: { kind: "cron", expression: "* * * * *", misfire: { kind: "catchUp", maxruns: 2 } } as never }, "runPolicy.misfire.maxruns", "runPolicy.misfire.maxRuns"],
    ];
    for (const [input, field, near] of cases) {
      const error = expectCode(() => createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), ...input }), "UNKNOWN_FIELD");
      expect(error.details.field).toBe(field);
      if (near === undefined) expect(error.message).not.toContain("did you mean");
      else expect(error.message).toContain(`did you mean ${near}?`);
    }
  });
});

describe("text UTF-8 cannot store", () => {
  it("a lone surrogate in a name, content type, key, capability, tag or description is refused as INVALID_TEXT naming the field; surrogate pairs are fine", () => {
    const id = taskId();
    const cases: Array<[Partial<Parameters<typeof createTaskSpec>[0]>, string]> = [
      [{ name: "a\uD800" }, "name"],
      [{ contentType: "text/\uDC00", payload: new Uint8Array(1) }, "contentType"],
      [{ constraints: { concurrencyKey: "k\uDBFF" } }, "constraints.concurrencyKey"],
      [{ constraints: { requiredCapabilities: ["gpu", "\uD800gpu"] } }, "constraints.requiredCapabilities[1]"],
      [{ metadata: { tags: ["\uDFFF"] } }, "metadata.tags[0]"],
      [{ metadata: { description: "low \uDC00 high" } }, "metadata.description"],
    ];
    for (const [input, field] of cases) {
      const error = expectCode(() => createTaskSpec({ id, runPolicy: oncePolicy(), ...input }), "INVALID_TEXT");
      expect(error.details.field).toBe(field);
      expect(error.message).toContain(field);
    }
    const emoji = createTaskSpec({ id, runPolicy: oncePolicy(), name: "\u{1F600}", constraints: { concurrencyKey: "\u{1F600}" }, metadata: { tags: ["\u{1F600}"] } });
    expect(emoji.name).toBe("\u{1F600}");
  });

  it("any string is refused exactly when UTF-8 would not give it back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 8 }), (text) => {
        const roundTrips = Buffer.from(text, "utf8").toString("utf8") === text;
        let refused = false;
        try {
          createTaskSpec({ id: taskId(), runPolicy: oncePolicy(), metadata: { description: text } });
        } catch {
          refused = true;
        }
        expect(refused).toBe(!roundTrips);
      }),
    );
  });
});

describe("TaskConstraints", () => {
  it("no input, or only the defaults, returns the shared frozen defaults", () => {
    expect(createTaskConstraints()).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(createTaskConstraints({})).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(createTaskConstraints({ maxAttempts: 1, safetyLevel: "pure", concurrencyKeyHoldPolicy: "holdDuringRetry" })).toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(Object.isFrozen(DEFAULT_TASK_CONSTRAINTS)).toBe(true);
    expect(createTaskConstraints({ safetyLevel: "idempotent" })).not.toBe(DEFAULT_TASK_CONSTRAINTS);
    expect(createTaskConstraints({ timeoutMs: 5 })).toEqual({ ...DEFAULT_TASK_CONSTRAINTS, timeoutMs: 5 });
  });

  it("maxAttempts 0 → INVALID_MAX_ATTEMPTS naming the value; the input is untouched", () => {
    const error = expectCode(() => createTaskConstraints({ maxAttempts: 0, timeoutMs: 10 }), "INVALID_MAX_ATTEMPTS");
    expect(error.details).toMatchObject({ field: "constraints.maxAttempts", value: 0 });
    const c = createTaskConstraints({ maxAttempts: 2 });
    expectCode(() => createTaskConstraints({ ...c, maxAttempts: 0 }), "INVALID_MAX_ATTEMPTS");
    expect(c.maxAttempts).toBe(2);
  });

  it("concurrency key: empty rejected, none and a value accepted", () => {
    expectCode(() => createTaskConstraints({ concurrencyKey: "" }), "EMPTY_CONCURRENCY_KEY");
    expect(createTaskConstraints({}).concurrencyKey).toBeUndefined();
    expect(createTaskConstraints({ concurrencyKey: "valid-key" }).concurrencyKey).toBe("valid-key");
    expect(createTaskConstraints({ concurrencyKey: " " }).concurrencyKey).toBe(" ");
  });

  it("timeout: 0 → ZERO_TIMEOUT; none and 30 s accepted; fractions rejected", () => {
    expectCode(() => createTaskConstraints({ timeoutMs: 0 }), "ZERO_TIMEOUT");
    expect(createTaskConstraints({ timeoutMs: 30_000 }).timeoutMs).toBe(30_000);
    expect(createTaskConstraints({}).timeoutMs).toBeUndefined();
    expectCode(() => createTaskConstraints({ timeoutMs: 1.5 }), "INVALID_TIMEOUT");
  });

  it("required capabilities: [] → EMPTY_CAPABILITIES, an empty entry → EMPTY_CAPABILITY_ENTRY", () => {
    expectCode(() => createTaskConstraints({ requiredCapabilities: [] }), "EMPTY_CAPABILITIES");
    // Not a list at all: refused by name, never spread (a string used to become its characters, a number threw a TypeError).
    for (const bad of ["gpu", 5, true, {}]) {
      const error = expectCode(() => createTaskConstraints({ requiredCapabilities: bad as never }), "INVALID_CAPABILITIES");
      expect(error.message).toContain("constraints.requiredCapabilities");
    }
    expect(createTaskConstraints({ requiredCapabilities: ["gpu"] }).requiredCapabilities).toEqual(["gpu"]);
    // null means "not given", as for every optional field.
    expect(createTaskConstraints({ requiredCapabilities: null as never })).toBe(DEFAULT_TASK_CONSTRAINTS);
    const error = expectCode(() => createTaskConstraints({ requiredCapabilities: ["gpu", ""] }), "EMPTY_CAPABILITY_ENTRY");
    expect(error.message).toContain("[1]");
    expect(() => validateTaskConstraints(DEFAULT_TASK_CONSTRAINTS)).not.toThrow();
    expect(() => validateTaskConstraints(createTaskConstraints({ requiredCapabilities: ["cap1"] }))).not.toThrow();
  });

  it("validates the order maxAttempts → timeout → key → capabilities", () => {
    expectCode(() => createTaskConstraints({ maxAttempts: 0, timeoutMs: 0, concurrencyKey: "", requiredCapabilities: [] }), "INVALID_MAX_ATTEMPTS");
    expectCode(() => createTaskConstraints({ timeoutMs: 0, concurrencyKey: "", requiredCapabilities: [] }), "ZERO_TIMEOUT");
    expectCode(() => createTaskConstraints({ concurrencyKey: "", requiredCapabilities: [] }), "EMPTY_CONCURRENCY_KEY");
  });

  it("rejects unknown enum values", () => {
    expectCode(() => createTaskConstraints({ safetyLevel: "Pure" as never }), "INVALID_SAFETY_LEVEL");
    expectCode(() => createTaskConstraints({ concurrencyKeyHoldPolicy: "hold" as never }), "INVALID_CONCURRENCY_KEY_HOLD_POLICY");
  });
});
