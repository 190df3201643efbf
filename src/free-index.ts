/**
 * The free blocks, ordered by address, in a treap stored inside the block records.
 *
 * Invariant (kept by `pull` wherever a subtree changes): for every free record t,
 *   r[t + MAX] = max(r[t + SIZE], r[left + MAX], r[right + MAX])
 * so first fit can descend left whenever the left subtree holds a block large enough
 * (the technique of Linux's vmalloc, `subtree_max_size`): the lowest-address fit in O(log F).
 *
 * Priorities are a hash of the record id, so the tree needs no word of its own for balance
 * and stays O(log F) deep in expectation whatever the order of insertions.
 */
import { LEFT, MAX, NIL, OFF, RIGHT, SIZE, STRIDE, type BlockRecords } from './block-records.js';

/** Treap priority of record `p`: a 32-bit integer mix (lowbias32) of its id, cut to 30 bits. */
export function priority(p: number): number {
  let x = p / STRIDE;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  // 30 bits: a V8 small integer on every platform, so priorities never allocate a heap number.
  return (x ^ (x >>> 16)) >>> 2;
}

/** Restores the MAX invariant of `t` from its own size and its children. */
function pull(r: Uint32Array, t: number): void {
  let m = r[t + SIZE];
  const l = r[r[t + LEFT] + MAX];
  const g = r[r[t + RIGHT] + MAX];
  if (l > m) m = l;
  if (g > m) m = g;
  r[t + MAX] = m;
}

export class FreeIndex {
  /** Root record of the treap, or NIL when no block is free. */
  root = NIL;
  /** Number of free blocks. */
  count = 0;
  private readonly records: BlockRecords;
  // The two halves produced by split(): fields, so splitting allocates nothing.
  private splitLeft = NIL;
  private splitRight = NIL;
  /**
   * The nodes from the root down to `pathEnd`, as found by the last firstFit or descent. It
   * stays valid until the tree's shape changes, so allocating right after a first-fit search
   * fixes the maxima without walking down again.
   */
  private path: Uint32Array = new Uint32Array(64);
  private pathLength = 0;
  private pathEnd = NIL;

  constructor(records: BlockRecords) {
    this.records = records;
  }

  /** Size of the largest free block, 0 when none. O(1). */
  get largest(): number {
    return this.records.r[this.root + MAX];
  }

  /** Lowest-address free block of at least `n` bytes, or NIL. O(log F). */
  firstFit(n: number): number {
    const r = this.records.r;
    let t = this.root;
    if (r[t + MAX] < n) return NIL;
    let path = this.path;
    let i = 0;
    for (;;) {
      if (i === path.length) path = this.growPath();
      path[i++] = t;
      const l = r[t + LEFT];
      if (r[l + MAX] >= n) t = l;
      else if (r[t + SIZE] >= n) break;
      else t = r[t + RIGHT];
    }
    this.pathLength = i;
    this.pathEnd = t;
    return t;
  }

  /** Adds free record `p` (OFF and SIZE set, not in the tree). O(log F). */
  insert(p: number): void {
    const r = this.records.r;
    r[p + LEFT] = r[p + RIGHT] = NIL;
    r[p + MAX] = r[p + SIZE];
    this.root = this.insertAt(r, this.root, p, priority(p));
    this.count++;
    this.pathEnd = NIL;
  }

  /** Removes free record `p` from the tree. O(log F). */
  remove(p: number): void {
    const r = this.records.r;
    const depth = this.pathTo(p);
    const path = this.path;
    const m = this.merge(r, r[p + LEFT], r[p + RIGHT]);
    if (depth === 1) {
      this.root = m;
    } else {
      const parent = path[depth - 2];
      if (r[parent + LEFT] === p) r[parent + LEFT] = m;
      else r[parent + RIGHT] = m;
      this.pullPath(r, depth - 2);
    }
    r[p + LEFT] = r[p + RIGHT] = r[p + MAX] = 0;
    this.count--;
    this.pathEnd = NIL;
  }

  /**
   * Call after the OFF or SIZE of free record `p` changed without changing its place in
   * address order (a block that shrank from the front or grew into a neighbour). O(log F).
   */
  changed(p: number): void {
    this.pullPath(this.records.r, this.pathTo(p) - 1);
  }

  /**
   * Replaces every free block with an offset in [lo, hi] (`removed` of them, whose records the
   * caller has recycled or reuses) by free record `p`, whose offset must lie in [lo, hi].
   * Lets compaction merge many free blocks and fix the index once. O(log F).
   */
  replaceRange(lo: number, hi: number, removed: number, p: number): void {
    const r = this.records.r;
    this.split(r, this.root, lo);
    const below = this.splitLeft;
    this.split(r, this.splitRight, hi + 1);
    const above = this.splitRight;
    r[p + LEFT] = r[p + RIGHT] = NIL;
    r[p + MAX] = r[p + SIZE];
    this.root = this.merge(r, this.merge(r, below, p), above);
    this.count += 1 - removed;
    this.pathEnd = NIL;
  }

  /** Empties the index (the caller recycles the records). O(1). */
  clear(): void {
    this.root = NIL;
    this.count = 0;
    this.pathEnd = NIL;
  }

  /**
   * Checks order, the MAX invariant, heap order of priorities and the count, in O(F).
   * Returns a description of the first broken invariant, or undefined.
   */
  check(): string | undefined {
    const r = this.records.r;
    let seen = 0;
    let lastOff = -1;
    // Iterative in-order walk with an explicit stack: validation must not overflow the call stack.
    const stack: number[] = [];
    for (let t = this.root; t !== NIL || stack.length > 0;) {
      if (t !== NIL) {
        stack.push(t);
        t = r[t + LEFT];
        continue;
      }
      t = stack.pop() as number;
      seen++;
      const l = r[t + LEFT];
      const g = r[t + RIGHT];
      if (r[t + OFF] <= lastOff) return `free index out of address order at offset ${r[t + OFF]}`;
      lastOff = r[t + OFF];
      const m = Math.max(r[t + SIZE], r[l + MAX], r[g + MAX]);
      if (r[t + MAX] !== m)
        return `free index subtree maximum at offset ${r[t + OFF]} is ${r[t + MAX]}, expected ${m}`;
      const pt = priority(t);
      if ((l !== NIL && priority(l) > pt) || (g !== NIL && priority(g) > pt))
        return `free index heap order broken at offset ${r[t + OFF]}`;
      if (seen > this.count) break;
      t = g;
    }
    if (seen !== this.count) return `free index holds ${seen} blocks, count says ${this.count}`;
    return undefined;
  }

  /** Visits the free records in address order (for validation and tests). O(F). */
  forEach(visit: (p: number) => void): void {
    const r = this.records.r;
    const stack: number[] = [];
    for (let t = this.root; t !== NIL || stack.length > 0;) {
      if (t !== NIL) {
        stack.push(t);
        t = r[t + LEFT];
      } else {
        t = stack.pop() as number;
        visit(t);
        t = r[t + RIGHT];
      }
    }
  }

  private insertAt(r: Uint32Array, t: number, x: number, px: number): number {
    if (t === NIL) return x;
    if (px > priority(t)) {
      this.split(r, t, r[x + OFF]);
      r[x + LEFT] = this.splitLeft;
      r[x + RIGHT] = this.splitRight;
      pull(r, x);
      return x;
    }
    if (r[x + OFF] < r[t + OFF]) r[t + LEFT] = this.insertAt(r, r[t + LEFT], x, px);
    else r[t + RIGHT] = this.insertAt(r, r[t + RIGHT], x, px);
    // Inserting only raises maxima.
    if (r[x + SIZE] > r[t + MAX]) r[t + MAX] = r[x + SIZE];
    return t;
  }

  /** Splits subtree `t` into keys below `key` (splitLeft) and above it (splitRight). */
  private split(r: Uint32Array, t: number, key: number): void {
    if (t === NIL) {
      this.splitLeft = this.splitRight = NIL;
      return;
    }
    if (r[t + OFF] < key) {
      this.split(r, r[t + RIGHT], key);
      r[t + RIGHT] = this.splitLeft;
      pull(r, t);
      this.splitLeft = t;
    } else {
      this.split(r, r[t + LEFT], key);
      r[t + LEFT] = this.splitRight;
      pull(r, t);
      this.splitRight = t;
    }
  }

  /** Joins two treaps whose keys are all ordered a < b. */
  private merge(r: Uint32Array, a: number, b: number): number {
    if (a === NIL) return b;
    if (b === NIL) return a;
    if (priority(a) > priority(b)) {
      r[a + RIGHT] = this.merge(r, r[a + RIGHT], b);
      pull(r, a);
      return a;
    }
    r[b + LEFT] = this.merge(r, a, r[b + LEFT]);
    pull(r, b);
    return b;
  }

  /**
   * Makes `path` hold the nodes from the root down to `p` (reusing the last search when it
   * ended at `p`) and returns how many there are. O(log F).
   */
  private pathTo(p: number): number {
    if (this.pathEnd === p) return this.pathLength;
    const r = this.records.r;
    const key = r[p + OFF];
    let path = this.path;
    let i = 0;
    for (let t = this.root; ; t = key < r[t + OFF] ? r[t + LEFT] : r[t + RIGHT]) {
      if (t === NIL) throw new Error(`free index: no free block at offset ${key}`);
      if (i === path.length) path = this.growPath();
      path[i++] = t;
      if (t === p) break;
    }
    this.pathLength = i;
    this.pathEnd = p;
    return i;
  }

  /** Restores the MAX invariant from path[from] up to the root, stopping where nothing changes. */
  private pullPath(r: Uint32Array, from: number): void {
    const path = this.path;
    for (let i = from; i >= 0; i--) {
      const t = path[i];
      const before = r[t + MAX];
      pull(r, t);
      if (r[t + MAX] === before) return; // the maxima above depend on this one only
    }
  }

  private growPath(): Uint32Array {
    const path = new Uint32Array(this.path.length * 2);
    path.set(this.path);
    this.path = path;
    return path;
  }
}
