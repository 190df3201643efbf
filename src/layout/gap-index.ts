// The gap index: every gap (free block) in address order, in a B+tree of wide nodes kept in the
// state's node region (taken from the pool of node-pool.ts, which best-fit heaps share with the
// size index), each inner node holding its children's largest gaps and first keys. Its shape
// (node layout, splits, shares, merges, root changes, bulk build, the structural checks) is
// node-tree.ts's; this file holds what is the gap index's own: the maxima and how they move,
// and the searches.
//
// A gap is named by its host, the record of the block in front of it (the sentinel for the gap
// at offset 0); its key is where it starts, `OFF + occupied` of the host, read from the records
// (the index stores no keys of its own but the first key of each child). A leaf holds up to
// LEAF_SLOTS (host, size) pairs in two contiguous arrays; an inner node up to FANOUT children
// with, per child, the largest size under it and the key of its first gap.
//
// Invariants (checked by `check`, the structural ones by node-tree.ts's `checkTree`):
// - entries ascend by key across the leaves;
// - an inner node's MAXES[i] is the largest size under child i (its summary: `leafSummary`,
//   `innerSummary`) and KEYS[i] the key of the first gap under it; H_LARGEST is the largest
//   size of all (0 when there are no gaps: `rootSummary`).
//
// First fit descends to the first child whose maximum is large enough, reading a few
// contiguous words per level: the lowest-address gap that fits in O(log F) with about
// log_32(F) + 1 nodes read. Finding a given gap descends by its key. The node and slot of every
// level of the last descent are kept (the cursor) so the caller can change that gap at once.
// A change that keeps the shape restores the maxima and first keys here, along the cursor's
// path and stopping early (`grown`, `shrunk`, `firstKey`); a full leaf, an emptied or
// under-full one goes to node-tree.ts, which recomputes the summaries above what it changed.
// The cursor is per-thread and valid only within one operation.
//
// Only BlockLayout calls this, and it calls it for every change of a gap's host, start or size,
// with the key the index knows (before the records change).
import { H_GAP_HEIGHT, H_GAP_ROOT, H_LARGEST, LEAF_SLOTS, NODE_WORDS } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import { COUNT, move } from './node-pool.js';
import { NODE_LAYOUT, NodeTree } from './node-tree.js';
import { NIL } from './records.js';

// The node layout (node-tree.ts); per child of an inner node, the largest size under it and
// the key of its first gap.
const { HOSTS, SIZES, KIDS, SUMS: MAXES, FIRSTS: KEYS } = NODE_LAYOUT;

/** The largest of t[from, from + count), 0 when count is 0. */
function maxOf(t: Uint32Array, from: number, count: number): number {
  let m = 0;
  for (let j = from, end = from + count; j < end; j++) {
    const v = t[j];
    m = v > m ? v : m;
  }
  return m;
}

export class GapIndex extends NodeTree {
  constructor(state: HeapState) {
    super(state, H_GAP_ROOT, H_GAP_HEIGHT, 'gap index', 'largest gap');
  }

  /** The largest gap, 0 when none. O(1). */
  get largest(): number {
    return this.state.h[H_LARGEST];
  }

  /**
   * The host of the lowest-address gap of at least `n` bytes, or NIL. Leaves the cursor on it.
   * O(log F).
   */
  firstFit(n: number): number {
    const h = this.state.h;
    if (h[H_LARGEST] < n) return NIL;
    const t = this.state.n;
    const last = h[H_GAP_HEIGHT] - 1;
    let b = h[H_GAP_ROOT] * NODE_WORDS;
    for (let lv = 0; lv < last; lv++) {
      // The first child whose maximum holds n (the maxima say one does).
      const first = b + MAXES;
      const end = first + t[b + COUNT] - 1;
      let k = first;
      while (k < end && t[k] < n) k++;
      this.at[lv] = b;
      this.slot[lv] = k - first;
      b = t[k - MAXES + KIDS] * NODE_WORDS;
    }
    const first = b + SIZES;
    const end = first + t[b + COUNT] - 1;
    let k = first;
    while (k < end && t[k] < n) k++;
    this.at[last] = b;
    this.slot[last] = k - first;
    return t[k - SIZES + HOSTS];
  }

  /**
   * The host of the lowest-address gap that holds `n` bytes starting at a multiple of `align`
   * (a power of two above the heap's alignment), or NIL. Leaves the cursor on it. Subtrees
   * whose maximum is below `n` are skipped, and one whose maximum is at least
   * `n + align - heap alignment` always holds a fit; a subtree between the two may have to be
   * searched in full, so O(log F) when gaps are either small or large, O(F) at worst.
   */
  firstFitAligned(n: number, align: number): number {
    if (this.state.h[H_LARGEST] < n) return NIL;
    return this.searchAligned(this.state.h[H_GAP_ROOT] * NODE_WORDS, 0, n, align);
  }

  /** Leaves the cursor on the gap of host `p`, which starts at `key`. O(log F). */
  locate(p: number, key: number): void {
    const t = this.state.n;
    const last = this.state.h[H_GAP_HEIGHT] - 1;
    const b = this.descend(key, last);
    const first = b + HOSTS;
    const end = first + t[b + COUNT];
    let k = first;
    while (k < end && t[k] !== p) k++;
    if (k === end) throw new Error(`internal: no gap at ${key} in the gap index`);
    this.at[last] = b;
    this.slot[last] = k - first;
  }

  /** Size of the gap under the cursor. */
  get size(): number {
    const lv = this.state.h[H_GAP_HEIGHT] - 1;
    return this.state.n[this.at[lv] + SIZES + this.slot[lv]];
  }

  /**
   * The gap under the cursor now has host `p`, starts at `key` and holds `size` bytes (more
   * than 0); it keeps its place in address order. O(log F).
   */
  set(p: number, key: number, size: number): void {
    const t = this.state.n;
    const leaf = this.state.h[H_GAP_HEIGHT] - 1;
    const b = this.at[leaf];
    const j = this.slot[leaf];
    const old = t[b + SIZES + j];
    t[b + HOSTS + j] = p;
    t[b + SIZES + j] = size;
    if (size > old) this.grown(leaf, size);
    else if (size < old) this.shrunk(leaf, old);
    if (j === 0) this.firstKey(leaf, key);
  }

  /**
   * When the gap before the one under the cursor is in the same leaf and hosted by `p`: gives
   * it `size` bytes, removes the one under the cursor (two gaps joined, when the block between
   * them goes) and returns true. Else changes nothing and returns false. O(log F).
   */
  joinPrevious(p: number, size: number): boolean {
    const t = this.state.n;
    const leaf = this.state.h[H_GAP_HEIGHT] - 1;
    const b = this.at[leaf];
    const j = this.slot[leaf];
    if (j === 0 || t[b + HOSTS + j - 1] !== p) return false;
    if (size > t[b + SIZES + j - 1]) {
      t[b + SIZES + j - 1] = size;
      this.grown(leaf, size);
    }
    this.remove();
    return true;
  }

  /** Removes the gap under the cursor. O(log F). */
  remove(): void {
    const t = this.state.n;
    const r = this.state.r;
    const leaf = this.state.h[H_GAP_HEIGHT] - 1;
    const b = this.at[leaf];
    const j = this.slot[leaf];
    const c = t[b + COUNT] - 1;
    const old = t[b + SIZES + j];
    move(t, b + HOSTS + j, b + HOSTS + j + 1, b + HOSTS + c + 1);
    move(t, b + SIZES + j, b + SIZES + j + 1, b + SIZES + c + 1);
    t[b + COUNT] = c;
    if (c === 0) {
      if (leaf === 0) this.state.h[H_LARGEST] = 0;
      else this.removeChild(leaf - 1);
      return;
    }
    this.shrunk(leaf, old);
    if (j === 0) this.firstKey(leaf, this.key(r, t[b + HOSTS]));
    if (c < LEAF_SLOTS / 4 && leaf > 0) this.rebalance(leaf);
  }

  /** Adds a gap of `size` bytes (more than 0) hosted by `p`, starting at `key`. O(log F). */
  insert(p: number, key: number, size: number): void {
    const h = this.state.h;
    const r = this.state.r;
    const t = this.state.n;
    const leaf = h[H_GAP_HEIGHT] - 1;
    const b = this.descend(key, leaf);
    const c = t[b + COUNT];
    // The first entry that starts after key: a binary search reading the hosts' records.
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.key(r, t[b + HOSTS + mid]) < key) lo = mid + 1;
      else hi = mid;
    }
    this.at[leaf] = b;
    this.slot[leaf] = lo;
    if (c < LEAF_SLOTS) {
      move(t, b + HOSTS + lo + 1, b + HOSTS + lo, b + HOSTS + c);
      move(t, b + SIZES + lo + 1, b + SIZES + lo, b + SIZES + c);
      t[b + HOSTS + lo] = p;
      t[b + SIZES + lo] = size;
      t[b + COUNT] = c + 1;
      this.grown(leaf, size);
      if (lo === 0) this.firstKey(leaf, key);
      return;
    }
    // Full: shared with a sibling or split (node-tree.ts).
    this.insertFull(leaf, lo, p, size);
  }

  /**
   * Builds the index over the gaps `hosts[i]` of `sizes[i]` bytes (address order, sizes more
   * than 0) from nodes of a freshly reset pool, as `reset` does. O(F).
   */
  build(hosts: Uint32Array, sizes: Uint32Array, count: number): void {
    this.buildTree(hosts, sizes, null, count);
  }

  /**
   * Checks the invariants, reading nothing outside the state and never looping (nodes below
   * H_NODES_USED, each visited once: `seen`, by node id, is shared with the size index's check
   * and the node pool's accounting, which the caller runs after), and visits every gap in order
   * (host and size) so the caller can compare them with the blocks. `validHost` vets a host
   * before its record is read. A description of the first problem, or undefined. O(nodes).
   */
  check(
    seen: Uint8Array,
    validHost: (p: number) => boolean,
    visit: (p: number, size: number) => string | undefined,
  ): string | undefined {
    // The structure and every child's maximum and first key (node-tree.ts), then the largest.
    const problem = this.checkTree(seen, validHost, null, visit);
    if (problem !== undefined) return problem;
    const h = this.state.h;
    const top = this.rootValue();
    if (h[H_LARGEST] !== top) return `largest gap is ${h[H_LARGEST]}, expected ${top}`;
    return undefined;
  }

  /**
   * Descends to the leaf where a gap starting at `key` is or belongs, keeping the path in the
   * cursor; returns the leaf's base. Binary search on each inner node's first keys.
   */
  private descend(key: number, leaf: number): number {
    const t = this.state.n;
    let b = this.state.h[H_GAP_ROOT] * NODE_WORDS;
    for (let lv = 0; lv < leaf; lv++) {
      // The last child whose first key is at most `key` (the first child when none is).
      let i = 0;
      let n = t[b + COUNT];
      while (n > 1) {
        const half = n >>> 1;
        if (t[b + KEYS + i + half] <= key) i += half;
        n -= half;
      }
      this.at[lv] = b;
      this.slot[lv] = i;
      b = t[b + KIDS + i] * NODE_WORDS;
    }
    return b;
  }

  /** `firstFitAligned` under node `b` at level `lv`: depth first, in address order. */
  private searchAligned(b: number, lv: number, n: number, align: number): number {
    const t = this.state.n;
    const count = t[b + COUNT];
    this.at[lv] = b;
    if (lv === this.state.h[H_GAP_HEIGHT] - 1) {
      const r = this.state.r;
      for (let j = 0; j < count; j++) {
        const size = t[b + SIZES + j];
        if (size < n) continue;
        const host = t[b + HOSTS + j];
        const key = this.key(r, host);
        if ((-key & (align - 1)) + n <= size) {
          this.slot[lv] = j;
          return host;
        }
      }
      return NIL;
    }
    for (let i = 0; i < count; i++) {
      if (t[b + MAXES + i] < n) continue;
      const found = this.searchAligned(t[b + KIDS + i] * NODE_WORDS, lv + 1, n, align);
      if (found !== NIL) {
        this.at[lv] = b;
        this.slot[lv] = i;
        return found;
      }
    }
    return NIL;
  }

  /** A value `v` now lies under the node at level `lv`: raises the maxima above it. */
  private grown(lv: number, v: number): void {
    const t = this.state.n;
    for (let i = lv - 1; i >= 0; i--) {
      const w = this.at[i] + MAXES + this.slot[i];
      if (t[w] >= v) return;
      t[w] = v;
    }
    const h = this.state.h;
    if (h[H_LARGEST] < v) h[H_LARGEST] = v;
  }

  /** A value `v` under the node at level `lv` was lowered or removed: fixes the maxima above it. */
  private shrunk(lv: number, v: number): void {
    const t = this.state.n;
    const h = this.state.h;
    const leaf = h[H_GAP_HEIGHT] - 1;
    for (let i = lv; ; i--) {
      const w = i === 0 ? -1 : this.at[i - 1] + MAXES + this.slot[i - 1];
      const stored = w < 0 ? h[H_LARGEST] : t[w];
      if (stored !== v) return; // it was not the maximum: nothing above changes
      const b = this.at[i];
      const m = i === leaf ? this.leafMax(b) : this.innerMax(b);
      if (m === v) return;
      if (w < 0) {
        h[H_LARGEST] = m;
        return;
      }
      t[w] = m;
    }
  }

  /** The node at level `lv` now starts at `key`: updates the first keys above it. */
  private firstKey(lv: number, key: number): void {
    const t = this.state.n;
    for (let i = lv - 1; i >= 0; i--) {
      t[this.at[i] + KEYS + this.slot[i]] = key;
      if (this.slot[i] !== 0) return;
    }
  }

  private leafMax(b: number): number {
    const t = this.state.n;
    return maxOf(t, b + SIZES, t[b + COUNT]);
  }

  private innerMax(b: number): number {
    const t = this.state.n;
    return maxOf(t, b + MAXES, t[b + COUNT]);
  }

  protected leafSummary(b: number): number {
    return this.leafMax(b);
  }

  protected innerSummary(b: number): number {
    return this.innerMax(b);
  }

  protected rootSummary(v: number): void {
    this.state.h[H_LARGEST] = v;
  }
}
