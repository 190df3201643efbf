// The gap index: every gap (free block) in address order, in a B+tree of wide nodes kept in the
// state's node region (taken from the pool of node-pool.ts, which best-fit heaps share with the
// size index), each inner node holding its children's largest gaps and first keys.
//
// A gap is named by its host, the record of the block in front of it (the sentinel for the gap
// at offset 0); its key is where it starts, `OFF + occupied` of the host, read from the records
// (the index stores no keys of its own but the first key of each child). A leaf holds up to
// LEAF_SLOTS (host, size) pairs in two contiguous arrays; an inner node up to FANOUT children
// with, per child, the largest size under it and the key of its first gap.
//
// Invariants (checked by `check`):
// - every leaf is at depth height - 1; entries ascend by key across the leaves;
// - an inner node's MAXES[i] is the largest size under child i and KEYS[i] the key of the
//   first gap under it; H_LARGEST is the largest size of all (0 when there are no gaps);
// - only the root may be empty (a leaf with no gaps) or hold a single child.
//
// First fit descends to the first child whose maximum is large enough, reading a few
// contiguous words per level: the lowest-address gap that fits in O(log F) with about
// log_32(F) + 1 nodes read. Finding a given gap descends by its key. The node and slot of every
// level of the last descent are kept (the cursor) so the caller can change that gap at once;
// any change restores the invariants along the cursor's path. The cursor is per-thread and
// valid only within one operation.
//
// Only BlockLayout calls this, and it calls it for every change of a gap's host, start or size,
// with the key the index knows (before the records change).
import {
  FANOUT,
  H_ALIGN,
  H_GAP_HEIGHT,
  H_GAP_ROOT,
  H_LARGEST,
  H_NODES_USED,
  LEAF_SLOTS,
  NODE_WORDS,
} from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import {
  BUILD_INNER,
  BUILD_LEAF,
  COUNT,
  MAX_HEIGHT,
  copy,
  freeNode,
  move,
  takeNode,
} from './node-pool.js';
import { NIL, OFF, REQ } from './records.js';

// Leaves.
const HOSTS = 2;
const SIZES = 2 + LEAF_SLOTS;
// Inner nodes.
const KIDS = 2;
const MAXES = 2 + FANOUT;
const KEYS = 2 + 2 * FANOUT;

/** The largest of t[from, from + count), 0 when count is 0. */
function maxOf(t: Uint32Array, from: number, count: number): number {
  let m = 0;
  for (let j = from, end = from + count; j < end; j++) {
    const v = t[j];
    m = v > m ? v : m;
  }
  return m;
}

export class GapIndex {
  private readonly state: HeapState;
  private readonly mask: number;
  /** The cursor: node base (word index) and slot at each level of the last descent. */
  private readonly at = new Int32Array(MAX_HEIGHT);
  private readonly slot = new Int32Array(MAX_HEIGHT);
  /** Scratch for a node that overflows. */
  private readonly scratch = new Uint32Array(3 * (Math.max(LEAF_SLOTS, FANOUT) + 1));
  /** Scratch for a full leaf and a sibling's entries together. */
  private readonly pair = new Uint32Array(Math.max(2 * (2 * LEAF_SLOTS + 1), 6 * FANOUT));

  constructor(state: HeapState) {
    this.state = state;
    this.mask = state.h[H_ALIGN] - 1;
  }

  /** The largest gap, 0 when none. O(1). */
  get largest(): number {
    return this.state.h[H_LARGEST];
  }

  /** Where the gap of host `p` starts. */
  key(r: Uint32Array, p: number): number {
    const q = r[p + REQ];
    return r[p + OFF] + q + (-q & this.mask);
  }

  /**
   * Makes the index empty: one new empty leaf. Its old nodes are dropped, not freed: the
   * caller has just reset the node pool (see node-pool.ts), or the index had none (a best-fit
   * heap about to compact). O(1).
   */
  reset(): void {
    const leaf = this.newNode(); // may replace the buffer, h included
    const h = this.state.h;
    h[H_GAP_ROOT] = leaf;
    h[H_GAP_HEIGHT] = 1;
    h[H_LARGEST] = 0;
  }

  /**
   * Frees every node of the index to the pool and leaves none (H_GAP_ROOT NIL): a best-fit
   * heap after a compaction. Depth first with the cursor as the stack. O(nodes).
   */
  drop(): void {
    const h = this.state.h;
    const t = this.state.n;
    const last = h[H_GAP_HEIGHT] - 1;
    const at = this.at;
    const slot = this.slot;
    at[0] = h[H_GAP_ROOT] * NODE_WORDS;
    slot[0] = 0;
    let lv = 0;
    while (lv >= 0) {
      const b = at[lv];
      if (lv < last && slot[lv] < t[b + COUNT]) {
        at[lv + 1] = t[b + KIDS + slot[lv]++] * NODE_WORDS;
        slot[++lv] = 0;
        continue;
      }
      freeNode(this.state, b / NODE_WORDS);
      lv--;
    }
    h[H_GAP_ROOT] = NIL;
    h[H_GAP_HEIGHT] = 0;
    h[H_LARGEST] = 0;
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
    let t = this.state.n;
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
    // Full: the entries and the new one in scratch, then shared with a sibling or split.
    const s = this.scratch;
    const n = LEAF_SLOTS + 1;
    for (let i = 0, k = 0; i < n; i++) {
      if (i === lo) {
        s[i] = p;
        s[n + i] = size;
      } else {
        s[i] = t[b + HOSTS + k];
        s[n + i] = t[b + SIZES + k];
        k++;
      }
    }
    if (leaf > 0 && this.share(leaf, n)) return;
    const fresh = this.newNode(); // may replace the node region
    t = this.state.n;
    const fb = fresh * NODE_WORDS;
    const keep = (n + 1) >>> 1;
    this.writeLeaf(b, 0, keep, n);
    this.writeLeaf(fb, keep, n - keep, n);
    const freshKey = this.key(r, t[fb + HOSTS]);
    if (lo === 0) this.firstKey(leaf, key);
    if (leaf === 0) {
      this.newRoot(b, fresh, freshKey);
      return;
    }
    const parent = leaf - 1;
    t[this.at[parent] + MAXES + this.slot[parent]] = this.leafMax(b);
    this.insertChild(parent, this.slot[parent] + 1, fresh, this.leafMax(fb), freshKey);
  }

  /**
   * Builds the index over the gaps `hosts[i]` of `sizes[i]` bytes (address order, sizes more
   * than 0) from nodes of a freshly reset pool, as `reset` does. O(F).
   */
  build(hosts: Uint32Array, sizes: Uint32Array, count: number): void {
    this.reset();
    if (count === 0) return;
    const r = this.state.r;
    // Level by level: each level's nodes as (node, max, key) triples.
    let level: number[] = [];
    let t: Uint32Array;
    for (let i = 0, first = this.state.h[H_GAP_ROOT]; i < count; i += BUILD_LEAF) {
      const node = i === 0 ? first : this.newNode();
      t = this.state.n;
      const b = node * NODE_WORDS;
      const m = Math.min(BUILD_LEAF, count - i);
      copy(t, b + HOSTS, hosts, i, i + m);
      copy(t, b + SIZES, sizes, i, i + m);
      t[b + COUNT] = m;
      level.push(node, this.leafMax(b), this.key(r, hosts[i]));
    }
    let height = 1;
    while (level.length > 3) {
      const up: number[] = [];
      for (let i = 0; i < level.length; i += 3 * BUILD_INNER) {
        const node = this.newNode();
        t = this.state.n;
        const b = node * NODE_WORDS;
        const m = Math.min(BUILD_INNER, (level.length - i) / 3);
        let max = 0;
        for (let k = 0; k < m; k++) {
          t[b + KIDS + k] = level[i + 3 * k];
          t[b + MAXES + k] = level[i + 3 * k + 1];
          t[b + KEYS + k] = level[i + 3 * k + 2];
          if (level[i + 3 * k + 1] > max) max = level[i + 3 * k + 1];
        }
        t[b + COUNT] = m;
        up.push(node, max, level[i + 2]);
      }
      level = up;
      height++;
    }
    const h = this.state.h; // nodes taken above may have replaced the buffer
    h[H_GAP_ROOT] = level[0];
    h[H_GAP_HEIGHT] = height;
    h[H_LARGEST] = level[1];
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
    const h = this.state.h;
    const t = this.state.n;
    const r = this.state.r;
    const used = h[H_NODES_USED];
    const height = h[H_GAP_HEIGHT];
    if (height < 1 || height > MAX_HEIGHT) return `gap index height ${height} out of range`;
    const valid = (id: number): boolean => id !== NIL && id < used && seen[id] === 0;
    const root = h[H_GAP_ROOT];
    if (!valid(root)) return 'gap index root is not a node';
    let problem: string | undefined;
    // Returns [max, first key] of the subtree, or undefined after setting `problem`.
    const walk = (id: number, lv: number): [number, number] | undefined => {
      seen[id] = 1;
      const b = id * NODE_WORDS;
      const c = t[b + COUNT];
      const leaf = lv === height - 1;
      const cap = leaf ? LEAF_SLOTS : FANOUT;
      if (c > cap || (c === 0 && !(leaf && lv === 0)) || (c === 1 && lv === 0 && !leaf)) {
        problem = `gap index node ${id} holds ${c} entries`;
        return undefined;
      }
      let max = 0;
      let first = 0;
      if (leaf) {
        for (let j = 0; j < c; j++) {
          const p = t[b + HOSTS + j];
          const size = t[b + SIZES + j];
          if (!validHost(p)) {
            problem = `gap index host ${p} is not a record`;
            return undefined;
          }
          if (j === 0) first = this.key(r, p);
          if (size > max) max = size;
          problem = visit(p, size);
          if (problem !== undefined) return undefined;
        }
        return [max, first];
      }
      for (let i = 0; i < c; i++) {
        const kid = t[b + KIDS + i];
        if (!valid(kid)) {
          problem = `gap index link ${kid} is not an unvisited node`;
          return undefined;
        }
        const sub = walk(kid, lv + 1);
        if (sub === undefined) return undefined;
        if (t[b + MAXES + i] !== sub[0] || t[b + KEYS + i] !== sub[1]) {
          problem = `gap index node ${id}: child ${i} summary is wrong`;
          return undefined;
        }
        if (i === 0) first = sub[1];
        if (sub[0] > max) max = sub[0];
      }
      return [max, first];
    };
    const top = walk(root, 0);
    if (top === undefined) return problem;
    if (h[H_LARGEST] !== top[0]) return `largest gap is ${h[H_LARGEST]}, expected ${top[0]}`;
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

  /** Writes scratch leaf entries [from, from + count) (of `n` in scratch) into leaf `b`. */
  private writeLeaf(b: number, from: number, count: number, n: number): void {
    const t = this.state.n;
    const s = this.scratch;
    copy(t, b + HOSTS, s, from, from + count);
    copy(t, b + SIZES, s, n + from, n + from + count);
    t[b + COUNT] = count;
  }

  /** Writes scratch inner entries [from, from + count) (of `n` in scratch) into node `b`. */
  private writeInner(b: number, from: number, count: number, n: number): void {
    const t = this.state.n;
    const s = this.scratch;
    copy(t, b + KIDS, s, from, from + count);
    copy(t, b + MAXES, s, n + from, n + from + count);
    copy(t, b + KEYS, s, 2 * n + from, 2 * n + from + count);
    t[b + COUNT] = count;
  }

  /**
   * Spreads the `n` scratch entries of the full leaf at level `lv` (cursor on it) over it and a
   * sibling with room, when one has; returns false when neither has.
   */
  private share(lv: number, n: number): boolean {
    const t = this.state.n;
    const r = this.state.r;
    const pb = this.at[lv - 1];
    const ps = this.slot[lv - 1];
    const pc = t[pb + COUNT];
    const b = this.at[lv];
    const s = this.scratch;
    for (let side = -1; side <= 1; side += 2) {
      const k = ps + side;
      if (k < 0 || k >= pc) continue;
      const sb = t[pb + KIDS + k] * NODE_WORDS;
      const sc = t[sb + COUNT];
      if (sc >= LEAF_SLOTS) continue;
      // All entries of both leaves in order in scratch (after the n of this leaf), then halved.
      const total = sc + n;
      const all = this.pair;
      if (side < 0) {
        copy(all, 0, t, sb + HOSTS, sb + HOSTS + sc);
        copy(all, sc, s, 0, n);
        copy(all, total, t, sb + SIZES, sb + SIZES + sc);
        copy(all, total + sc, s, n, 2 * n);
      } else {
        copy(all, 0, s, 0, n);
        copy(all, n, t, sb + HOSTS, sb + HOSTS + sc);
        copy(all, total, s, n, 2 * n);
        copy(all, total + n, t, sb + SIZES, sb + SIZES + sc);
      }
      const lower = (total + 1) >>> 1;
      const lb = side < 0 ? sb : b;
      const ub = side < 0 ? b : sb;
      copy(t, lb + HOSTS, all, 0, lower);
      copy(t, lb + SIZES, all, total, total + lower);
      t[lb + COUNT] = lower;
      copy(t, ub + HOSTS, all, lower, total);
      copy(t, ub + SIZES, all, total + lower, 2 * total);
      t[ub + COUNT] = total - lower;
      const li = side < 0 ? k : ps;
      t[pb + MAXES + li] = this.leafMax(lb);
      t[pb + MAXES + li + 1] = this.leafMax(ub);
      t[pb + KEYS + li + 1] = this.key(r, t[ub + HOSTS]);
      const firstKey = this.key(r, t[lb + HOSTS]);
      if (t[pb + KEYS + li] !== firstKey) {
        t[pb + KEYS + li] = firstKey;
        if (li === 0) this.firstKey(lv - 1, firstKey);
      }
      this.grown(lv - 1, Math.max(t[pb + MAXES + li], t[pb + MAXES + li + 1]));
      return true;
    }
    return false;
  }

  /** Inserts child `kid` (largest gap `max`, first key `key`) at `pos` of the inner node at level `lv`. */
  private insertChild(lv: number, pos: number, kid: number, max: number, key: number): void {
    let t = this.state.n;
    const b = this.at[lv];
    const c = t[b + COUNT];
    if (c < FANOUT) {
      move(t, b + KIDS + pos + 1, b + KIDS + pos, b + KIDS + c);
      move(t, b + MAXES + pos + 1, b + MAXES + pos, b + MAXES + c);
      move(t, b + KEYS + pos + 1, b + KEYS + pos, b + KEYS + c);
      t[b + KIDS + pos] = kid;
      t[b + MAXES + pos] = max;
      t[b + KEYS + pos] = key;
      t[b + COUNT] = c + 1;
      // Entries only moved between children of this node: its maximum grows at most to theirs.
      this.grown(lv, this.innerMax(b));
      return;
    }
    const s = this.scratch;
    const n = FANOUT + 1;
    for (let i = 0, k = 0; i < n; i++) {
      if (i === pos) {
        s[i] = kid;
        s[n + i] = max;
        s[2 * n + i] = key;
      } else {
        s[i] = t[b + KIDS + k];
        s[n + i] = t[b + MAXES + k];
        s[2 * n + i] = t[b + KEYS + k];
        k++;
      }
    }
    const fresh = this.newNode();
    t = this.state.n;
    const fb = fresh * NODE_WORDS;
    const keep = (n + 1) >>> 1;
    this.writeInner(b, 0, keep, n);
    this.writeInner(fb, keep, n - keep, n);
    if (lv === 0) {
      this.newRoot(b, fresh, t[fb + KEYS]);
      return;
    }
    const parent = lv - 1;
    t[this.at[parent] + MAXES + this.slot[parent]] = this.innerMax(b);
    this.insertChild(parent, this.slot[parent] + 1, fresh, this.innerMax(fb), t[fb + KEYS]);
  }

  /** The root (base `b`) split, `fresh` holding its upper part: a new root above both. */
  private newRoot(b: number, fresh: number, freshKey: number): void {
    const height = this.state.h[H_GAP_HEIGHT];
    if (height === MAX_HEIGHT) throw new Error('internal: gap index too deep');
    const leaf = height === 1;
    const oldRoot = this.state.h[H_GAP_ROOT];
    const root = this.newNode(); // may replace the buffer, h included
    const h = this.state.h;
    const t = this.state.n;
    const rb = root * NODE_WORDS;
    const fb = fresh * NODE_WORDS;
    t[rb + COUNT] = 2;
    t[rb + KIDS] = oldRoot;
    t[rb + KIDS + 1] = fresh;
    t[rb + MAXES] = leaf ? this.leafMax(b) : this.innerMax(b);
    t[rb + MAXES + 1] = leaf ? this.leafMax(fb) : this.innerMax(fb);
    t[rb + KEYS] = leaf ? this.key(this.state.r, t[b + HOSTS]) : t[b + KEYS];
    t[rb + KEYS + 1] = freshKey;
    h[H_GAP_ROOT] = root;
    h[H_GAP_HEIGHT] = height + 1;
    h[H_LARGEST] = Math.max(t[rb + MAXES], t[rb + MAXES + 1]);
  }

  /** Removes the child under the cursor from the inner node at level `lv` (the child is empty). */
  private removeChild(lv: number): void {
    const t = this.state.n;
    const h = this.state.h;
    const b = this.at[lv];
    const i = this.slot[lv];
    const c = t[b + COUNT] - 1;
    const old = t[b + MAXES + i];
    this.freeNode(t[b + KIDS + i]);
    move(t, b + KIDS + i, b + KIDS + i + 1, b + KIDS + c + 1);
    move(t, b + MAXES + i, b + MAXES + i + 1, b + MAXES + c + 1);
    move(t, b + KEYS + i, b + KEYS + i + 1, b + KEYS + c + 1);
    t[b + COUNT] = c;
    if (c === 0) {
      // Only an inner node below the root can empty (the root keeps two children or collapses).
      this.removeChild(lv - 1);
      return;
    }
    this.shrunk(lv, old);
    if (i === 0) this.firstKey(lv, t[b + KEYS]);
    if (lv > 0 && c < FANOUT / 4) this.rebalance(lv);
    if (lv === 0) {
      // A root with one child: the child becomes the root (and so on down).
      while (h[H_GAP_HEIGHT] > 1 && t[h[H_GAP_ROOT] * NODE_WORDS + COUNT] === 1) {
        const old = h[H_GAP_ROOT];
        h[H_GAP_ROOT] = t[old * NODE_WORDS + KIDS];
        h[H_GAP_HEIGHT]--;
        this.freeNode(old);
      }
    }
  }

  /**
   * The node at level `lv` (cursor on it, not the root) holds under a quarter of its room: it
   * merges with a sibling when both fit in one node, else takes entries from it so both hold
   * at least a quarter. Keeps the tree O(log F) deep whatever the order of removals.
   */
  private rebalance(lv: number): void {
    const t = this.state.n;
    const pb = this.at[lv - 1];
    const ps = this.slot[lv - 1];
    const pc = t[pb + COUNT];
    if (pc < 2) return; // no sibling: the parent is rebalanced or collapsed on its own
    const leaf = lv === this.state.h[H_GAP_HEIGHT] - 1;
    const li = ps > 0 ? ps - 1 : ps; // the left node of the pair
    const lb = t[pb + KIDS + li] * NODE_WORDS;
    const rb = t[pb + KIDS + li + 1] * NODE_WORDS;
    const lc = t[lb + COUNT];
    const rc = t[rb + COUNT];
    const cap = leaf ? LEAF_SLOTS : FANOUT;
    const arrays = leaf ? 2 : 3;
    const total = lc + rc;
    if (total <= cap) {
      // Merge: the right node's entries follow the left one's; the right node goes.
      for (let a = 0; a < arrays; a++) {
        const off = 2 + a * cap;
        copy(t, lb + off + lc, t, rb + off, rb + off + rc);
      }
      t[lb + COUNT] = total;
      t[pb + MAXES + li] = Math.max(t[pb + MAXES + li], t[pb + MAXES + li + 1]);
      this.freeNode(rb / NODE_WORDS);
      move(t, pb + KIDS + li + 1, pb + KIDS + li + 2, pb + KIDS + pc);
      move(t, pb + MAXES + li + 1, pb + MAXES + li + 2, pb + MAXES + pc);
      move(t, pb + KEYS + li + 1, pb + KEYS + li + 2, pb + KEYS + pc);
      t[pb + COUNT] = pc - 1;
      const h = this.state.h;
      if (lv - 1 === 0) {
        while (h[H_GAP_HEIGHT] > 1 && t[h[H_GAP_ROOT] * NODE_WORDS + COUNT] === 1) {
          const old = h[H_GAP_ROOT];
          h[H_GAP_ROOT] = t[old * NODE_WORDS + KIDS];
          h[H_GAP_HEIGHT]--;
          this.freeNode(old);
        }
      } else if (pc - 1 < FANOUT / 4) {
        this.rebalance(lv - 1);
      }
      return;
    }
    // Share: both halves through scratch, left then right.
    const s = this.pair;
    for (let a = 0; a < arrays; a++) {
      const off = 2 + a * cap;
      copy(s, a * total, t, lb + off, lb + off + lc);
      copy(s, a * total + lc, t, rb + off, rb + off + rc);
    }
    const lower = total >>> 1;
    for (let a = 0; a < arrays; a++) {
      const off = 2 + a * cap;
      copy(t, lb + off, s, a * total, a * total + lower);
      copy(t, rb + off, s, a * total + lower, (a + 1) * total);
    }
    t[lb + COUNT] = lower;
    t[rb + COUNT] = total - lower;
    t[pb + MAXES + li] = leaf ? this.leafMax(lb) : this.innerMax(lb);
    t[pb + MAXES + li + 1] = leaf ? this.leafMax(rb) : this.innerMax(rb);
    t[pb + KEYS + li + 1] = leaf ? this.key(this.state.r, t[rb + HOSTS]) : t[rb + KEYS];
  }

  private newNode(): number {
    return takeNode(this.state);
  }

  private freeNode(id: number): void {
    freeNode(this.state, id);
  }
}
