import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { openWalWriter } from "./open.js";
import { scanWal } from "./reader.js";
import type { WalDurability, WalSyncMode } from "./writer.js";
import { makeTempDir, removeDir } from "../internal/test-dirs.js";

// Group commit under random load: appends, batches and syncs in random turns,
// with sealing (the next cycle sealed while one runs), preallocation (cycles
// waiting for zero fills) and rotation (small segments) all in play. Whatever
// the interleaving, an immediate append resolves only once it is durable,
// appends of one durability resolve in the order they were made, nothing is
// lost or reordered
// on disk, and a closed log has no free space left in it.

type Operation =
  | { readonly kind: "append"; readonly bytes: number; readonly durability: WalDurability }
  | { readonly kind: "batch"; readonly sizes: readonly number[]; readonly durability: WalDurability }
  | { readonly kind: "sync" };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("append" as const), bytes: fc.integer({ min: 0, max: 2000 }), durability: fc.constantFrom<WalDurability>("immediate", "deferred") }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      sizes: fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 6 }),
      durability: fc.constantFrom<WalDurability>("immediate", "deferred"),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "sync" as const }) },
);

/** A turn's operations, then how the test yields before the next turn. */
const turn = fc.record({ operations: fc.array(operation, { minLength: 1, maxLength: 40 }), pause: fc.constantFrom("none", "immediate", "timer") });

const payloadOf = (sequence: number, bytes: number): Buffer => Buffer.alloc(bytes, sequence % 251);

const root = makeTempDir();
afterAll(() => removeDir(root));
let runs = 0;

/**
 * Runs `turns` against a fresh log and checks the outcome: every waiter settled
 * once durable (or written), in order per kind, and the log holds exactly the
 * records appended, in order, with no free space left after close.
 */
async function checkTurns(turns: readonly { operations: readonly Operation[]; pause: string }[], syncMode: WalSyncMode, segmentBytes: number): Promise<void> {
    const wal = join(root, `run-${runs++}`);
    const { writer } = await openWalWriter(wal, { syncMode, segmentBytes });
    const expected: { sequence: number; bytes: number }[] = [];
    // Per kind of waiter: within a cycle, deferred waiters are released before immediate ones, and sync() after.
    const settled: Record<WalDurability | "sync", number[]> = { immediate: [], deferred: [], sync: [] };
    const waits: Promise<void>[] = [];
    const failures: string[] = [];
    const track = (promise: Promise<void>, last: number, durability: WalDurability | "sync"): void => {
      waits.push(
        promise.then(() => {
          // Write-through appends are durable when they resolve, deferred ones too; fdatasync's deferred ones only written.
          const mustBeDurable = durability !== "deferred" || syncMode === "writeThrough";
          if (mustBeDurable && writer.durableSequence < last) failures.push(`${durability} up to ${last} resolved at durable ${writer.durableSequence}`);
          settled[durability].push(last);
        }),
      );
    };
    let sequence = 0;
    for (const { operations, pause } of turns) {
      for (const op of operations) {
        if (op.kind === "append") {
          sequence += 1;
          expected.push({ sequence, bytes: op.bytes });
          track(writer.append(sequence, payloadOf(sequence, op.bytes), op.durability), sequence, op.durability);
        } else if (op.kind === "batch") {
          const records = op.sizes.map((bytes) => {
            sequence += 1;
            expected.push({ sequence, bytes });
            return { sequence, payload: payloadOf(sequence, bytes) };
          });
          track(writer.appendBatch(records, op.durability), sequence, op.durability);
        } else {
          track(writer.sync(), sequence, "sync");
        }
      }
      if (pause === "immediate") await new Promise((resolve) => setImmediate(resolve));
      else if (pause === "timer") await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(waits);
    await writer.close();
    expect(failures).toEqual([]);
    // Waiters of one kind settle in the order they were made.
    for (const order of Object.values(settled)) for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThanOrEqual(order[i - 1]!);
    const seen: { sequence: number; bytes: number; ok: boolean }[] = [];
    const scan = scanWal(wal, {
      onRecord: (r) => seen.push({ sequence: r.sequence, bytes: r.payload.length, ok: r.payload.every((b) => b === r.sequence % 251) }),
    });
    expect(scan.findings).toEqual([]);
    expect(seen.map(({ sequence, bytes }) => ({ sequence, bytes }))).toEqual(expected);
    expect(seen.every((r) => r.ok)).toBe(true);
    // No segment keeps free space after a clean close.
    for (const segment of scan.segments) expect(readFileSync(segment.file).length).toBe(segment.validEnd);
    removeDir(wal);
}

describe("WAL writer under random load (property)", () => {
  it("resolves each append once it is durable, in order, and loses or reorders nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turn, { minLength: 1, maxLength: 12 }),
        fc.constantFrom<WalSyncMode>("writeThrough", "fdatasync"),
        fc.constantFrom(3_000, 20_000, 64 * 1024 * 1024),
        checkTurns,
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  // Bulk submissions: a backlog spread over several 1 MiB buffers (records up
  // to 1.5 MB, larger than one buffer) is written by one writev per cycle.
  it("writes backlogs larger than one buffer whole and in order", async () => {
    const big = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("append" as const), bytes: fc.integer({ min: 0, max: 2000 }), durability: fc.constantFrom<WalDurability>("immediate", "deferred") }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("append" as const), bytes: fc.integer({ min: 100_000, max: 1_500_000 }), durability: fc.constantFrom<WalDurability>("immediate", "deferred") }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("batch" as const), sizes: fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 4 }), durability: fc.constant<WalDurability>("immediate") }) },
      { weight: 1, arbitrary: fc.constant({ kind: "sync" as const }) },
    );
    const bigTurn = fc.record({ operations: fc.array(big, { minLength: 1, maxLength: 10 }), pause: fc.constantFrom("none", "immediate") });
    await fc.assert(
      fc.asyncProperty(fc.array(bigTurn, { minLength: 1, maxLength: 4 }), fc.constantFrom<WalSyncMode>("writeThrough", "fdatasync"), fc.constantFrom(2_000_000, 64 * 1024 * 1024), checkTurns),
      { numRuns: 15 },
    );
  }, 120_000);
});
