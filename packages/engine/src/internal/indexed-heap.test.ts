import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IndexedHeap } from "./indexed-heap.js";

class Node {
  heapIndex = -1;
  constructor(
    readonly key: number,
    readonly id: number,
  ) {}
}

const less = (a: Node, b: Node): boolean => a.key < b.key || (a.key === b.key && a.id < b.id);
const sorted = (nodes: Iterable<Node>): Node[] => [...nodes].sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));

type Op = { kind: "push"; key: number } | { kind: "pushAfterLast"; step: number } | { kind: "pop" } | { kind: "remove"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), key: fc.integer({ min: 0, max: 50 }) }),
  // In-order arrivals (the common case the sorted run serves).
  fc.record({ kind: fc.constant("pushAfterLast" as const), step: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("pop" as const) }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
);

describe("IndexedHeap", () => {
  it("always yields the smallest element, whatever the mix of in-order and out-of-order pushes, pops and removals (property)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const heap = new IndexedHeap<Node>(less);
        const model = new Set<Node>();
        let nextId = 0;
        let lastKey = 0;
        for (const o of ops) {
          if (o.kind === "push" || o.kind === "pushAfterLast") {
            const key = o.kind === "push" ? o.key : lastKey + o.step;
            lastKey = key;
            const n = new Node(key, nextId++);
            heap.push(n);
            model.add(n);
          } else if (o.kind === "pop") {
            const expected = sorted(model)[0];
            expect(heap.peek()).toBe(expected);
            expect(heap.pop()).toBe(expected);
            if (expected !== undefined) {
              model.delete(expected);
              expect(expected.heapIndex).toBe(-1);
            }
          } else {
            const all = [...model];
            if (all.length === 0) continue;
            const victim = all[o.pick % all.length]!;
            expect(heap.has(victim)).toBe(true);
            expect(heap.remove(victim)).toBe(true);
            expect(heap.has(victim)).toBe(false);
            expect(heap.remove(victim)).toBe(false);
            model.delete(victim);
          }
          expect(heap.size).toBe(model.size);
        }
        expect(sorted(heap.values())).toEqual(sorted(model));
        const drained: Node[] = [];
        for (let n = heap.pop(); n !== undefined; n = heap.pop()) drained.push(n);
        expect(drained).toEqual(sorted(model));
        expect(heap.size).toBe(0);
      }),
    );
  });

  it("keeps a long in-order stream correct across compaction of its consumed prefix", () => {
    const heap = new IndexedHeap<Node>(less);
    const nodes = Array.from({ length: 5000 }, (_, i) => new Node(i, i));
    for (const n of nodes) heap.push(n);
    for (let i = 0; i < 3000; i++) expect(heap.pop()).toBe(nodes[i]);
    // Removing from the middle of what is left, then an out-of-order push.
    expect(heap.remove(nodes[4000]!)).toBe(true);
    const early = new Node(-1, 99_999);
    heap.push(early);
    expect(heap.pop()).toBe(early);
    const rest: Node[] = [];
    for (let n = heap.pop(); n !== undefined; n = heap.pop()) rest.push(n);
    expect(rest).toEqual(nodes.slice(3000).filter((n) => n.key !== 4000));
  });

  it("clear empties both parts and detaches every element", () => {
    const heap = new IndexedHeap<Node>(less);
    const a = new Node(1, 1);
    const b = new Node(0, 2);
    heap.push(a);
    heap.push(b);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(a.heapIndex).toBe(-1);
    expect(b.heapIndex).toBe(-1);
    expect(heap.has(a)).toBe(false);
  });
});
