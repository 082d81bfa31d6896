/**
 * A binary min-heap whose elements remember their own position, so removal
 * and re-keying of any element are O(log n) without lazy tombstones. Each
 * element may sit in at most one heap at a time (`heapIndex` is shared).
 */

/** An element of an {@link IndexedHeap}: `heapIndex` is owned by the heap (-1 when in none). */
export interface HeapNode {
  heapIndex: number;
}

/** Min-heap ordered by `less`. */
export class IndexedHeap<T extends HeapNode> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** Number of elements. */
  get size(): number {
    return this.#items.length;
  }

  /** The smallest element, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** True when `node` is in this heap. */
  has(node: T): boolean {
    return node.heapIndex >= 0 && this.#items[node.heapIndex] === node;
  }

  /** Adds `node` (which must be in no heap). */
  push(node: T): void {
    const items = this.#items;
    node.heapIndex = items.length;
    items.push(node);
    this.#up(node.heapIndex);
  }

  /** Removes and returns the smallest element. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    this.#removeAt(0);
    return top;
  }

  /** Removes `node` if it is in this heap; returns whether it was. */
  remove(node: T): boolean {
    if (!this.has(node)) return false;
    this.#removeAt(node.heapIndex);
    return true;
  }

  /** Empties the heap. */
  clear(): void {
    for (const n of this.#items) n.heapIndex = -1;
    this.#items.length = 0;
  }

  /** Iterates in heap (not sorted) order. */
  values(): IterableIterator<T> {
    return this.#items.values();
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const node = items[i]!;
    const last = items.pop()!;
    node.heapIndex = -1;
    if (last === node) return;
    items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  #up(i: number): void {
    const items = this.#items;
    const node = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.#less(node, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = node;
    node.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const node = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.#less(items[r]!, items[l]!)) c = r;
      const child = items[c]!;
      if (!this.#less(child, node)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = node;
    node.heapIndex = i;
  }
}
