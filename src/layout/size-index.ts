// The size index (best-fit heaps only): every gap ordered by (size, start address), in a B+tree
// of wide nodes taken from the node pool the gap index uses (node-pool.ts). First-fit heaps have
// none (H_SIZE_ROOT NIL, H_SIZE_HEIGHT 0) and pay nothing for it. Its shape (node layout,
// splits, shares, merges, root changes, bulk build, the structural checks) is node-tree.ts's,
// as the gap index's is; this file holds the order, the searches and the first keys' updates.
//
// A gap is named by its host, as in the gap index; a leaf holds up to LEAF_SLOTS (host, size)
// pairs in two contiguous arrays, an inner node up to FANOUT children with, per child, the size
// and start address of its first gap. The address of an entry is its gap's start, `OFF +
// occupied` of the host, read from the records: it only breaks ties between equal sizes, so most
// comparisons read the leaf's size array alone.
//
// Invariants (checked by `check`, the structural ones by node-tree.ts's `checkTree`):
// - entries ascend strictly by (size, address) across the leaves (no two gaps start at one
//   address), and no entry is empty;
// - an inner node's FSIZES[i] (its summary of child i: `leafSummary`, `innerSummary`) and
//   FKEYS[i] are the size and address of the first gap under child i. There is no whole-tree
//   summary: the largest gap is the last entry, read when asked.
//
// Best fit descends to the last child whose first gap is smaller than the request: the fit is
// in it or is the first gap after it, one step to the next leaf. Finding a given gap descends
// by its (size, address), then looks for its host among the leaf's gaps of that size (no record
// read). A change of a leaf's first entry updates the first keys above it here (`firstKey`); a
// full leaf, an emptied or under-full one goes to node-tree.ts (share or split; merge or share
// below a quarter), so the tree stays O(log F) deep. The node and slot of every level of the
// last descent are kept (the cursor, per thread): a removal of the gap the last search found
// (an allocation's) starts from it, once its path from the root is checked to still lead there.
//
// The address part of a key must not change while the gap is in the index: the key the index
// knows is the one it read at insertion, and a removal is given it (callers know the old size
// and start of every gap they change). Only BlockLayout calls this.
import { H_SIZE_HEIGHT, H_SIZE_ROOT, LEAF_SLOTS, NODE_WORDS } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import { COUNT, move } from './node-pool.js';
import { NODE_LAYOUT, NodeTree } from './node-tree.js';
import { NIL } from './records.js';

// The node layout (node-tree.ts); per child of an inner node, the size and the start address
// of its first gap.
const { HOSTS, SIZES, KIDS, SUMS: FSIZES, FIRSTS: FKEYS } = NODE_LAYOUT;

/** The first of leaf `b`'s `c` entries of at least `n` bytes (`c` when none is): a binary search on sizes. */
function firstOfSize(t: Uint32Array, b: number, c: number, n: number): number {
  let lo = 0;
  let hi = c;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[b + SIZES + mid] < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SizeIndex extends NodeTree {
  constructor(state: HeapState) {
    super(state, H_SIZE_ROOT, H_SIZE_HEIGHT, 'size index', 'first size');
  }

  /** The largest gap size, 0 when there are no gaps: the last entry of the last leaf. O(log F). */
  largest(): number {
    const h = this.state.h;
    const t = this.state.n;
    let b = h[H_SIZE_ROOT] * NODE_WORDS;
    for (let lv = h[H_SIZE_HEIGHT] - 1; lv > 0; lv--)
      b = t[b + KIDS + t[b + COUNT] - 1] * NODE_WORDS;
    const c = t[b + COUNT];
    return c === 0 ? 0 : t[b + SIZES + c - 1];
  }

  /**
   * The host of the smallest gap of at least `n` bytes, the lowest address among equals, or
   * NIL. Leaves the cursor on it. O(log F), reading sizes only.
   */
  bestFit(n: number): number {
    const h = this.state.h;
    const t = this.state.n;
    const last = h[H_SIZE_HEIGHT] - 1;
    let b = h[H_SIZE_ROOT] * NODE_WORDS;
    for (let lv = 0; lv < last; lv++) {
      // The last child whose first gap is smaller than n (the first child when none is).
      let i = 0;
      let c = t[b + COUNT];
      while (c > 1) {
        const half = c >>> 1;
        if (t[b + FSIZES + i + half] < n) i += half;
        c -= half;
      }
      this.at[lv] = b;
      this.slot[lv] = i;
      b = t[b + KIDS + i] * NODE_WORDS;
    }
    // The first gap of at least n in the leaf.
    const c = t[b + COUNT];
    const lo = firstOfSize(t, b, c, n);
    this.at[last] = b;
    this.slot[last] = lo;
    if (lo < c) return t[b + HOSTS + lo];
    // Every gap here is smaller: the fit is the first of the next leaf (its first is at least n).
    if (!this.nextLeaf()) return NIL;
    return t[this.at[last] + HOSTS];
  }

  /**
   * The host of the smallest gap (the lowest address among equals) of at least `n` bytes for
   * which `fits(host, size)` holds, or NIL: the gaps of at least `n` bytes in (size, address)
   * order until one fits. Leaves the cursor on it. O(log F + gaps tried).
   */
  bestFitWhere(n: number, fits: (host: number, size: number) => boolean): number {
    let host = this.bestFit(n);
    const last = this.state.h[H_SIZE_HEIGHT] - 1;
    while (host !== NIL) {
      const t = this.state.n;
      const b = this.at[last];
      const j = this.slot[last];
      if (fits(host, t[b + SIZES + j])) return host;
      if (j + 1 < t[b + COUNT]) {
        this.slot[last] = j + 1;
        host = t[b + HOSTS + j + 1];
      } else {
        host = this.nextLeaf() ? t[this.at[last] + HOSTS] : NIL;
      }
    }
    return NIL;
  }

  /** Adds the gap of host `p` (its record as it is now gives its start), `size` bytes (more than 0). O(log F). */
  insert(p: number, size: number): void {
    const h = this.state.h;
    const t = this.state.n;
    const key = this.key(this.state.r, p);
    const leaf = h[H_SIZE_HEIGHT] - 1;
    const b = this.descend(size, key, leaf);
    const c = t[b + COUNT];
    const lo = this.lowerBound(b, c, size, key);
    this.at[leaf] = b;
    this.slot[leaf] = lo;
    if (c < LEAF_SLOTS) {
      move(t, b + HOSTS + lo + 1, b + HOSTS + lo, b + HOSTS + c);
      move(t, b + SIZES + lo + 1, b + SIZES + lo, b + SIZES + c);
      t[b + HOSTS + lo] = p;
      t[b + SIZES + lo] = size;
      t[b + COUNT] = c + 1;
      if (lo === 0) this.firstKey(leaf, size, key);
      return;
    }
    // Full: shared with a sibling or split (node-tree.ts).
    this.insertFull(leaf, lo, p, size);
  }

  /**
   * Removes the gap of host `p`, which holds `size` bytes and starts at `key`: the size and
   * start it was inserted with (the host's record may have changed since). O(log F).
   */
  remove(p: number, size: number, key: number): void {
    // An allocation removes the gap its best fit just found: the cursor is still on it.
    if (this.onEntry(p)) {
      this.removeAt();
      return;
    }
    const t = this.state.n;
    const leaf = this.state.h[H_SIZE_HEIGHT] - 1;
    const b = this.descend(size, key, leaf);
    const c = t[b + COUNT];
    // The leaf's run of gaps of this size by a search on sizes, then the host in it: the hosts'
    // records (random reads) are not needed to break ties, the descent's first keys did that.
    let j = firstOfSize(t, b, c, size);
    while (j < c && t[b + HOSTS + j] !== p && t[b + SIZES + j] === size) j++;
    if (j === c || t[b + HOSTS + j] !== p || t[b + SIZES + j] !== size) {
      throw new Error(`internal: no gap of ${size} bytes at ${key} in the size index`);
    }
    this.at[leaf] = b;
    this.slot[leaf] = j;
    this.removeAt();
  }

  /**
   * Builds the index over the gaps `hosts[i]` of `sizes[i]` bytes (any order, sizes more than
   * 0) from nodes of a freshly reset pool, as `reset` does. O(F log F): the gaps are sorted
   * by (size, address) first.
   */
  build(hosts: Uint32Array, sizes: Uint32Array, count: number): void {
    const r = this.state.r;
    // Sorted through a permutation; the keys read once. Garbage is fine here: O(F) anyway.
    const keys = new Float64Array(count);
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      keys[i] = this.key(r, hosts[i]);
      order[i] = i;
    }
    order.sort((a, b) => sizes[a] - sizes[b] || keys[a] - keys[b]);
    this.buildTree(hosts, sizes, order, count);
  }

  /**
   * Checks the invariants, reading nothing outside the state and never looping (nodes below
   * H_NODES_USED not yet in `seen`, each visited once and marked there: `seen` is shared with
   * the gap index's check and the pool's accounting), and visits every gap in (size, address)
   * order so the caller can compare them with the blocks. `validHost` vets a host before its
   * record is read. A description of the first problem, or undefined. O(nodes).
   */
  check(
    seen: Uint8Array,
    validHost: (p: number) => boolean,
    visit: (p: number, size: number) => string | undefined,
  ): string | undefined {
    const r = this.state.r;
    // The last entry visited, in order: each next one must sort after it.
    let lastSize = 0;
    let lastKey = 0;
    // The structure and every child's first size and address (node-tree.ts); the order here.
    return this.checkTree(
      seen,
      validHost,
      (p, size) => {
        const key = this.key(r, p);
        if (size === 0) return `size index holds an empty gap at ${key}`;
        if (size < lastSize || (size === lastSize && key <= lastKey)) {
          return `size index out of order at the gap of ${size} bytes at ${key}`;
        }
        lastSize = size;
        lastKey = key;
        return undefined;
      },
      visit,
    );
  }

  /**
   * Descends to the leaf where the gap of `size` bytes at `key` is or belongs, keeping the
   * path in the cursor; returns the leaf's base. Binary search on each inner node's first keys.
   */
  private descend(size: number, key: number, leaf: number): number {
    const t = this.state.n;
    let b = this.state.h[H_SIZE_ROOT] * NODE_WORDS;
    for (let lv = 0; lv < leaf; lv++) {
      // The last child whose first gap sorts at or before (size, key) (the first when none does).
      let i = 0;
      let n = t[b + COUNT];
      while (n > 1) {
        const half = n >>> 1;
        const s = t[b + FSIZES + i + half];
        if (s < size || (s === size && t[b + FKEYS + i + half] <= key)) i += half;
        n -= half;
      }
      this.at[lv] = b;
      this.slot[lv] = i;
      b = t[b + KIDS + i] * NODE_WORDS;
    }
    return b;
  }

  /**
   * The first of the `c` entries of leaf `b` that does not sort before (size, key). Binary
   * search reading sizes, and a host's record only among equal sizes.
   */
  private lowerBound(b: number, c: number, size: number, key: number): number {
    const t = this.state.n;
    const r = this.state.r;
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = t[b + SIZES + mid];
      let less = s < size;
      if (s === size) {
        less = this.key(r, t[b + HOSTS + mid]) < key;
      }
      if (less) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * True when the cursor is on host `p`'s entry: a path from the root down to a leaf slot
   * holding `p`. Any cursor is checked in full, whatever changed since it was left (another
   * operation, another thread), so a stale one is never trusted. O(height), no search.
   */
  private onEntry(p: number): boolean {
    const t = this.state.n;
    const h = this.state.h;
    const last = h[H_SIZE_HEIGHT] - 1;
    const b = this.at[last];
    const j = this.slot[last];
    if (t[b + HOSTS + j] !== p || j >= t[b + COUNT]) return false;
    let up = h[H_SIZE_ROOT] * NODE_WORDS;
    for (let lv = 0; lv < last; lv++) {
      const i = this.slot[lv];
      if (this.at[lv] !== up || i >= t[up + COUNT]) return false;
      up = t[up + KIDS + i] * NODE_WORDS;
    }
    return up === b;
  }

  /**
   * Moves the cursor from its leaf to the first entry of the next leaf; false (cursor as it
   * was) when its leaf is the last.
   */
  private nextLeaf(): boolean {
    const t = this.state.n;
    const last = this.state.h[H_SIZE_HEIGHT] - 1;
    let lv = last - 1;
    while (lv >= 0 && this.slot[lv] + 1 >= t[this.at[lv] + COUNT]) lv--;
    if (lv < 0) return false;
    this.slot[lv]++;
    let b = t[this.at[lv] + KIDS + this.slot[lv]] * NODE_WORDS;
    for (lv++; lv < last; lv++) {
      this.at[lv] = b;
      this.slot[lv] = 0;
      b = t[b + KIDS] * NODE_WORDS;
    }
    this.at[last] = b;
    this.slot[last] = 0;
    return true;
  }

  /** Removes the entry under the cursor. O(log F). */
  private removeAt(): void {
    const t = this.state.n;
    const leaf = this.state.h[H_SIZE_HEIGHT] - 1;
    const b = this.at[leaf];
    const j = this.slot[leaf];
    const c = t[b + COUNT] - 1;
    move(t, b + HOSTS + j, b + HOSTS + j + 1, b + HOSTS + c + 1);
    move(t, b + SIZES + j, b + SIZES + j + 1, b + SIZES + c + 1);
    t[b + COUNT] = c;
    if (c === 0) {
      if (leaf > 0) this.removeChild(leaf - 1);
      return;
    }
    if (j === 0) this.firstKey(leaf, t[b + SIZES], this.key(this.state.r, t[b + HOSTS]));
    if (c < LEAF_SLOTS / 4 && leaf > 0) this.rebalance(leaf);
  }

  /** The node at level `lv` now starts with a gap of `size` bytes at `key`: updates the first keys above it. */
  private firstKey(lv: number, size: number, key: number): void {
    const t = this.state.n;
    for (let i = lv - 1; i >= 0; i--) {
      const w = this.at[i] + this.slot[i];
      t[w + FSIZES] = size;
      t[w + FKEYS] = key;
      if (this.slot[i] !== 0) return;
    }
  }

  protected leafSummary(b: number): number {
    return this.state.n[b + SIZES];
  }

  protected innerSummary(b: number): number {
    return this.state.n[b + FSIZES];
  }

  protected rootSummary(): void {
    // The largest gap is the last entry: read on demand (`largest`), kept nowhere.
  }
}
