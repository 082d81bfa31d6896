/**
 * A priority queue whose elements remember their own position, so removal
 * of any element is cheap without a search. Each element may sit in at most
 * one queue at a time (`heapIndex` is shared).
 *
 * Elements usually arrive in order: runs are created, become due and become
 * ready in time order, and ties go to the smaller (later minted, so larger)
 * id. An element that sorts at or after the newest one of the sorted run is
 * appended to that run (O(1) in and out); anything else goes to a binary
 * min-heap. The smallest element is the smaller of the run's head and the
 * heap's top. With a backlog of 20 000 ready runs this took the ordering
 * comparisons of a heap (about 30 per run) off the dispatch path.
 */

/** An element of an {@link IndexedHeap}: `heapIndex` is owned by the queue; -1 exactly when it is in none. */
export interface HeapNode {
  heapIndex: number;
}

// heapIndex >= 0: position in the heap; <= -2: position -2 - i in the sorted run.
const NONE = -1;
const runSlot = (i: number): number => -2 - i;

/** Min-queue ordered by `less`. */
export class IndexedHeap<T extends HeapNode> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;
  /** The sorted run; removed elements leave holes until the head passes them. */
  #run: (T | undefined)[] = [];
  #head = 0;
  #runSize = 0;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** Number of elements. */
  get size(): number {
    return this.#items.length + this.#runSize;
  }

  /** The smallest element, or undefined. */
  peek(): T | undefined {
    const a = this.#runHead();
    const b = this.#items[0];
    if (a === undefined) return b;
    if (b === undefined) return a;
    return this.#less(b, a) ? b : a;
  }

  /** True when `node` is in this queue. */
  has(node: T): boolean {
    const i = node.heapIndex;
    if (i >= 0) return this.#items[i] === node;
    return i <= -2 && this.#run[-2 - i] === node;
  }

  /** Adds `node` (which must be in no queue). */
  push(node: T): void {
    const run = this.#run;
    if (this.#runSize === 0 || !this.#less(node, run[run.length - 1]!)) {
      if (this.#runSize === 0) {
        run.length = 0;
        this.#head = 0;
      }
      node.heapIndex = runSlot(run.length);
      run.push(node);
      this.#runSize += 1;
      return;
    }
    const items = this.#items;
    node.heapIndex = items.length;
    items.push(node);
    this.#up(node.heapIndex);
  }

  /** Removes and returns the smallest element. */
  pop(): T | undefined {
    const a = this.#runHead();
    const b = this.#items[0];
    if (a === undefined || (b !== undefined && this.#less(b, a))) {
      if (b === undefined) return undefined;
      this.#removeAt(0);
      return b;
    }
    this.#run[this.#head] = undefined;
    this.#head += 1;
    this.#runSize -= 1;
    a.heapIndex = NONE;
    this.#compactRun();
    return a;
  }

  /** Removes `node` if it is in this queue; returns whether it was. */
  remove(node: T): boolean {
    if (!this.has(node)) return false;
    const i = node.heapIndex;
    if (i >= 0) {
      this.#removeAt(i);
      return true;
    }
    // A hole in the run: still sorted, skipped by the head. Trailing holes go
    // at once, so the run's last slot is always its newest element.
    const run = this.#run;
    run[-2 - i] = undefined;
    this.#runSize -= 1;
    node.heapIndex = NONE;
    while (run.length > this.#head && run[run.length - 1] === undefined) run.pop();
    this.#compactRun();
    return true;
  }

  /** Empties the queue. */
  clear(): void {
    for (const n of this.#items) n.heapIndex = NONE;
    this.#items.length = 0;
    for (const n of this.#run) if (n !== undefined) n.heapIndex = NONE;
    this.#run = [];
    this.#head = 0;
    this.#runSize = 0;
  }

  /** Iterates in no particular order. */
  *values(): IterableIterator<T> {
    for (let i = this.#head; i < this.#run.length; i++) {
      const n = this.#run[i];
      if (n !== undefined) yield n;
    }
    yield* this.#items;
  }

  /** The run's first element, moving the head past holes. */
  #runHead(): T | undefined {
    if (this.#runSize === 0) return undefined;
    const run = this.#run;
    let h = this.#head;
    while (run[h] === undefined) h++;
    this.#head = h;
    return run[h];
  }

  /** Drops the consumed prefix of the run once it is most of the array (amortised O(1)). */
  #compactRun(): void {
    const run = this.#run;
    if (this.#runSize === 0) {
      run.length = 0;
      this.#head = 0;
      return;
    }
    if (this.#head < 1024 || this.#head * 2 < run.length) return;
    const kept = run.slice(this.#head);
    for (let i = 0; i < kept.length; i++) {
      const n = kept[i];
      if (n !== undefined) n.heapIndex = runSlot(i);
    }
    this.#run = kept;
    this.#head = 0;
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const node = items[i]!;
    const last = items.pop()!;
    node.heapIndex = NONE;
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
