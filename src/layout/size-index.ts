// The size index (best-fit heaps only): every gap ordered by (size, start address), in a B+tree
// of wide nodes taken from the node pool the gap index uses (node-pool.ts). First-fit heaps have
// none (H_SIZE_ROOT NIL, H_SIZE_HEIGHT 0) and pay nothing for it.
//
// A gap is named by its host, as in the gap index; a leaf holds up to LEAF_SLOTS (host, size)
// pairs in two contiguous arrays, an inner node up to FANOUT children with, per child, the size
// and start address of its first gap. The address of an entry is its gap's start, `OFF +
// occupied` of the host, read from the records: it only breaks ties between equal sizes, so most
// comparisons read the leaf's size array alone.
//
// Invariants (checked by `check`):
// - every leaf is at depth height - 1; entries ascend strictly by (size, address) across the
//   leaves (no two gaps start at one address);
// - an inner node's FSIZES[i] and FKEYS[i] are the size and address of the first gap under
//   child i;
// - only the root may be empty (a leaf with no gaps) or hold a single child.
//
// Best fit descends to the last child whose first gap is smaller than the request: the fit is
// in it or is the first gap after it, one step to the next leaf. Finding a given gap descends
// by its (size, address), then looks for its host among the leaf's gaps of that size (no record
// read). Removals rebalance as the gap index's do (merge or share below a quarter), so the tree
// stays O(log F) deep. The node and slot of every level of the last descent are kept (the
// cursor, per thread): a removal of the gap the last search found (an allocation's) starts from
// it, once its path from the root is checked to still lead there.
//
// The address part of a key must not change while the gap is in the index: the key the index
// knows is the one it read at insertion, and a removal is given it (callers know the old size
// and start of every gap they change). Only BlockLayout calls this.
import {
  FANOUT,
  H_ALIGN,
  H_NODES_USED,
  H_SIZE_HEIGHT,
  H_SIZE_ROOT,
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
const FSIZES = 2 + FANOUT;
const FKEYS = 2 + 2 * FANOUT;

export class SizeIndex {
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

  /** Where the gap of host `p` starts (as in the gap index). */
  key(r: Uint32Array, p: number): number {
    const q = r[p + REQ];
    return r[p + OFF] + q + (-q & this.mask);
  }

  /**
   * Makes the index empty: one new empty leaf. Its old nodes are dropped, not freed: the
   * caller has just reset the node pool. O(1).
   */
  reset(): void {
    const leaf = takeNode(this.state); // may replace the buffer, h included
    const h = this.state.h;
    h[H_SIZE_ROOT] = leaf;
    h[H_SIZE_HEIGHT] = 1;
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
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[b + SIZES + mid] < n) lo = mid + 1;
      else hi = mid;
    }
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
    let t = this.state.n;
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
    const fresh = takeNode(this.state); // may replace the buffer
    t = this.state.n;
    const fb = fresh * NODE_WORDS;
    const keep = (n + 1) >>> 1;
    this.writeLeaf(b, 0, keep, n);
    this.writeLeaf(fb, keep, n - keep, n);
    if (lo === 0) this.firstKey(leaf, size, key);
    const freshSize = t[fb + SIZES];
    const freshKey = this.key(this.state.r, t[fb + HOSTS]);
    if (leaf === 0) {
      this.newRoot(b, fresh, freshSize, freshKey);
      return;
    }
    this.insertChild(leaf - 1, this.slot[leaf - 1] + 1, fresh, freshSize, freshKey);
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
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[b + SIZES + mid] < size) lo = mid + 1;
      else hi = mid;
    }
    let j = lo;
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
    this.reset();
    if (count === 0) return;
    const r = this.state.r;
    // Sorted through a permutation; the keys read once. Garbage is fine here: O(F) anyway.
    const keys = new Float64Array(count);
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      keys[i] = this.key(r, hosts[i]);
      order[i] = i;
    }
    order.sort((a, b) => sizes[a] - sizes[b] || keys[a] - keys[b]);
    // Level by level: each level's nodes as (node, first size, first key) triples.
    let level: number[] = [];
    let t: Uint32Array;
    for (let i = 0, first = this.state.h[H_SIZE_ROOT]; i < count; i += BUILD_LEAF) {
      const node = i === 0 ? first : takeNode(this.state);
      t = this.state.n;
      const b = node * NODE_WORDS;
      const m = Math.min(BUILD_LEAF, count - i);
      for (let k = 0; k < m; k++) {
        const e = order[i + k];
        t[b + HOSTS + k] = hosts[e];
        t[b + SIZES + k] = sizes[e];
      }
      t[b + COUNT] = m;
      level.push(node, sizes[order[i]], keys[order[i]]);
    }
    let height = 1;
    while (level.length > 3) {
      const up: number[] = [];
      for (let i = 0; i < level.length; i += 3 * BUILD_INNER) {
        const node = takeNode(this.state);
        t = this.state.n;
        const b = node * NODE_WORDS;
        const m = Math.min(BUILD_INNER, (level.length - i) / 3);
        for (let k = 0; k < m; k++) {
          t[b + KIDS + k] = level[i + 3 * k];
          t[b + FSIZES + k] = level[i + 3 * k + 1];
          t[b + FKEYS + k] = level[i + 3 * k + 2];
        }
        t[b + COUNT] = m;
        up.push(node, level[i + 1], level[i + 2]);
      }
      level = up;
      height++;
    }
    const h = this.state.h; // nodes taken above may have replaced the buffer
    h[H_SIZE_ROOT] = level[0];
    h[H_SIZE_HEIGHT] = height;
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
    const h = this.state.h;
    const t = this.state.n;
    const r = this.state.r;
    const used = h[H_NODES_USED];
    const height = h[H_SIZE_HEIGHT];
    if (height < 1 || height > MAX_HEIGHT) return `size index height ${height} out of range`;
    const valid = (id: number): boolean => id !== NIL && id < used && seen[id] === 0;
    const root = h[H_SIZE_ROOT];
    if (!valid(root)) return 'size index root is not a node';
    let problem: string | undefined;
    // The last entry visited, in order: each next one must sort after it.
    let lastSize = 0;
    let lastKey = 0;
    // The first entry of the subtree walked last.
    let firstSize = 0;
    let firstKey = 0;
    // Returns false after setting `problem`.
    const walk = (id: number, lv: number): boolean => {
      seen[id] = 1;
      const b = id * NODE_WORDS;
      const c = t[b + COUNT];
      const leaf = lv === height - 1;
      const cap = leaf ? LEAF_SLOTS : FANOUT;
      if (c > cap || (c === 0 && !(leaf && lv === 0)) || (c === 1 && lv === 0 && !leaf)) {
        problem = `size index node ${id} holds ${c} entries`;
        return false;
      }
      if (leaf) {
        for (let j = 0; j < c; j++) {
          const p = t[b + HOSTS + j];
          const size = t[b + SIZES + j];
          if (!validHost(p)) {
            problem = `size index host ${p} is not a record`;
            return false;
          }
          const key = this.key(r, p);
          if (size === 0) {
            problem = `size index holds an empty gap at ${key}`;
            return false;
          }
          if (size < lastSize || (size === lastSize && key <= lastKey)) {
            problem = `size index out of order at the gap of ${size} bytes at ${key}`;
            return false;
          }
          lastSize = size;
          lastKey = key;
          if (j === 0) {
            firstSize = size;
            firstKey = key;
          }
          problem = visit(p, size);
          if (problem !== undefined) return false;
        }
        return true;
      }
      let mySize = 0;
      let myKey = 0;
      for (let i = 0; i < c; i++) {
        const kid = t[b + KIDS + i];
        if (!valid(kid)) {
          problem = `size index link ${kid} is not an unvisited node`;
          return false;
        }
        if (!walk(kid, lv + 1)) return false;
        if (t[b + FSIZES + i] !== firstSize || t[b + FKEYS + i] !== firstKey) {
          problem = `size index node ${id}: child ${i} first key is wrong`;
          return false;
        }
        if (i === 0) {
          mySize = firstSize;
          myKey = firstKey;
        }
      }
      firstSize = mySize;
      firstKey = myKey;
      return true;
    };
    if (!walk(root, 0)) return problem;
    return undefined;
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
    copy(t, b + FSIZES, s, n + from, n + from + count);
    copy(t, b + FKEYS, s, 2 * n + from, 2 * n + from + count);
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
      // All entries of both leaves in order, then halved.
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
      t[pb + FSIZES + li + 1] = t[ub + SIZES];
      t[pb + FKEYS + li + 1] = this.key(r, t[ub + HOSTS]);
      // The lower leaf's first changes only when the new gap went first in this leaf.
      const firstSize = t[lb + SIZES];
      const firstKey = this.key(r, t[lb + HOSTS]);
      if (t[pb + FSIZES + li] !== firstSize || t[pb + FKEYS + li] !== firstKey) {
        t[pb + FSIZES + li] = firstSize;
        t[pb + FKEYS + li] = firstKey;
        if (li === 0) this.firstKey(lv - 1, firstSize, firstKey);
      }
      return true;
    }
    return false;
  }

  /** Inserts child `kid` (its first gap `size` bytes at `key`) at `pos` (above 0) of the inner node at level `lv`. */
  private insertChild(lv: number, pos: number, kid: number, size: number, key: number): void {
    let t = this.state.n;
    const b = this.at[lv];
    const c = t[b + COUNT];
    if (c < FANOUT) {
      move(t, b + KIDS + pos + 1, b + KIDS + pos, b + KIDS + c);
      move(t, b + FSIZES + pos + 1, b + FSIZES + pos, b + FSIZES + c);
      move(t, b + FKEYS + pos + 1, b + FKEYS + pos, b + FKEYS + c);
      t[b + KIDS + pos] = kid;
      t[b + FSIZES + pos] = size;
      t[b + FKEYS + pos] = key;
      t[b + COUNT] = c + 1;
      return;
    }
    const s = this.scratch;
    const n = FANOUT + 1;
    for (let i = 0, k = 0; i < n; i++) {
      if (i === pos) {
        s[i] = kid;
        s[n + i] = size;
        s[2 * n + i] = key;
      } else {
        s[i] = t[b + KIDS + k];
        s[n + i] = t[b + FSIZES + k];
        s[2 * n + i] = t[b + FKEYS + k];
        k++;
      }
    }
    const fresh = takeNode(this.state);
    t = this.state.n;
    const fb = fresh * NODE_WORDS;
    const keep = (n + 1) >>> 1;
    this.writeInner(b, 0, keep, n);
    this.writeInner(fb, keep, n - keep, n);
    if (lv === 0) {
      this.newRoot(b, fresh, t[fb + FSIZES], t[fb + FKEYS]);
      return;
    }
    this.insertChild(lv - 1, this.slot[lv - 1] + 1, fresh, t[fb + FSIZES], t[fb + FKEYS]);
  }

  /** The root (base `b`) split, `fresh` holding its upper part from a gap of `size` bytes at `key`: a new root above both. */
  private newRoot(b: number, fresh: number, size: number, key: number): void {
    const height = this.state.h[H_SIZE_HEIGHT];
    if (height === MAX_HEIGHT) throw new Error('internal: size index too deep');
    const leaf = height === 1;
    const oldRoot = this.state.h[H_SIZE_ROOT];
    const root = takeNode(this.state); // may replace the buffer, h included
    const h = this.state.h;
    const t = this.state.n;
    const rb = root * NODE_WORDS;
    t[rb + COUNT] = 2;
    t[rb + KIDS] = oldRoot;
    t[rb + KIDS + 1] = fresh;
    t[rb + FSIZES] = leaf ? t[b + SIZES] : t[b + FSIZES];
    t[rb + FKEYS] = leaf ? this.key(this.state.r, t[b + HOSTS]) : t[b + FKEYS];
    t[rb + FSIZES + 1] = size;
    t[rb + FKEYS + 1] = key;
    h[H_SIZE_ROOT] = root;
    h[H_SIZE_HEIGHT] = height + 1;
  }

  /** Removes the child under the cursor from the inner node at level `lv` (the child is empty). */
  private removeChild(lv: number): void {
    const t = this.state.n;
    const b = this.at[lv];
    const i = this.slot[lv];
    const c = t[b + COUNT] - 1;
    freeNode(this.state, t[b + KIDS + i]);
    move(t, b + KIDS + i, b + KIDS + i + 1, b + KIDS + c + 1);
    move(t, b + FSIZES + i, b + FSIZES + i + 1, b + FSIZES + c + 1);
    move(t, b + FKEYS + i, b + FKEYS + i + 1, b + FKEYS + c + 1);
    t[b + COUNT] = c;
    if (c === 0) {
      // Only an inner node below the root can empty (the root keeps two children or collapses).
      this.removeChild(lv - 1);
      return;
    }
    if (i === 0) this.firstKey(lv, t[b + FSIZES], t[b + FKEYS]);
    if (lv > 0 && c < FANOUT / 4) this.rebalance(lv);
    if (lv === 0) this.collapse();
  }

  /** A root with one child: the child becomes the root (and so on down). */
  private collapse(): void {
    const t = this.state.n;
    const h = this.state.h;
    while (h[H_SIZE_HEIGHT] > 1 && t[h[H_SIZE_ROOT] * NODE_WORDS + COUNT] === 1) {
      const old = h[H_SIZE_ROOT];
      h[H_SIZE_ROOT] = t[old * NODE_WORDS + KIDS];
      h[H_SIZE_HEIGHT]--;
      freeNode(this.state, old);
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
    const leaf = lv === this.state.h[H_SIZE_HEIGHT] - 1;
    const li = ps > 0 ? ps - 1 : ps; // the left node of the pair
    const lb = t[pb + KIDS + li] * NODE_WORDS;
    const rb = t[pb + KIDS + li + 1] * NODE_WORDS;
    const lc = t[lb + COUNT];
    const rc = t[rb + COUNT];
    const cap = leaf ? LEAF_SLOTS : FANOUT;
    const arrays = leaf ? 2 : 3;
    const total = lc + rc;
    if (total <= cap) {
      // Merge: the right node's entries follow the left one's; the right node goes. The left
      // one's first entry stays first, so only the parent's entry for the right one goes.
      for (let a = 0; a < arrays; a++) {
        const off = 2 + a * cap;
        copy(t, lb + off + lc, t, rb + off, rb + off + rc);
      }
      t[lb + COUNT] = total;
      freeNode(this.state, rb / NODE_WORDS);
      move(t, pb + KIDS + li + 1, pb + KIDS + li + 2, pb + KIDS + pc);
      move(t, pb + FSIZES + li + 1, pb + FSIZES + li + 2, pb + FSIZES + pc);
      move(t, pb + FKEYS + li + 1, pb + FKEYS + li + 2, pb + FKEYS + pc);
      t[pb + COUNT] = pc - 1;
      if (lv - 1 === 0) this.collapse();
      else if (pc - 1 < FANOUT / 4) this.rebalance(lv - 1);
      return;
    }
    // Share: both halves through scratch, left then right; the right one gets a new first.
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
    t[pb + FSIZES + li + 1] = leaf ? t[rb + SIZES] : t[rb + FSIZES];
    t[pb + FKEYS + li + 1] = leaf ? this.key(this.state.r, t[rb + HOSTS]) : t[rb + FKEYS];
  }
}
