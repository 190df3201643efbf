// The B+tree structure both gap trees share (the gap index by address, the size index by
// (size, address)): their node layout, cursor and scratch, and every change of shape. Each
// index extends NodeTree and keeps its own searches and per-operation updates; this file owns
// the balance, and the indexes reach it only on the rare structural paths (a full leaf, an
// emptied or under-full node, a root change, a bulk build).
//
// Nodes come from the pool of node-pool.ts. A leaf holds up to LEAF_SLOTS (host, size) pairs in
// two arrays; an inner node up to FANOUT children with, per child, two words: SUMS, what the
// index summarizes about the child (its largest size, or its first size: `leafSummary`,
// `innerSummary`), and FIRSTS, the start address of the child's first gap (`key` of its host).
//
// Invariants (checked by `checkTree`, and restored by every method here):
// - every leaf is at depth height - 1 (height in 1..MAX_HEIGHT, root and height in the header
//   words the index names);
// - a node holds at most its room (LEAF_SLOTS or FANOUT); only the root may be empty (a leaf)
//   or hold a single child (transiently: a root left with one child gives way to it);
// - a node emptied goes back to the pool, and one left under a quarter full merges with a
//   sibling or takes entries from it, so every node but the root stays at least a quarter full
//   after removals and the depth is O(log F) whatever their order (a restored heap may be
//   sparser: the check does not ask for a quarter);
// - SUMS[i] and FIRSTS[i] are exact for child i, and the index's whole-tree summary (the gap
//   index's largest gap) is exact: after a change of shape, `refresh` recomputes them upward
//   along the cursor until one comes out unchanged.
//
// What differs between the indexes reaches this file through three hooks: the summary of a
// leaf and of an inner node, and what the index does with the root's (the gap index keeps it as
// H_LARGEST). They are virtual calls, made only here: the indexes' per-operation paths
// (searches, in-place changes, inserts into a leaf with room) stay in their own files, with
// their own targeted updates of the summaries, monomorphic and allocating nothing.
//
// The cursor (`at`, `slot`) is the node base and slot at each level of the last descent,
// per thread and valid only within one operation: the structural methods take the node to
// change and its ancestors from it, so an index calls them with the cursor on the path it has
// just changed. They leave it pointing where they started, which may no longer be where the
// entry is.
import { FANOUT, H_ALIGN, H_NODES_USED, LEAF_SLOTS, NODE_WORDS } from '../memory/format.js';
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
import { NIL, endOf } from './records.js';

// Leaves.
const HOSTS = 2;
const SIZES = 2 + LEAF_SLOTS;
// Inner nodes.
const KIDS = 2;
/** Per child, the index's summary of it (largest size, or first size). */
const SUMS = 2 + FANOUT;
/** Per child, the start address of its first gap. */
const FIRSTS = 2 + 2 * FANOUT;

/**
 * The word offsets of a node's arrays. An index copies them into constants of its own module
 * (`const { HOSTS } = NODE_LAYOUT`): its hot loops read them at every step, and an imported
 * binding is read through its module cell each time (about 4% of an allocate-free pair).
 */
export const NODE_LAYOUT = { HOSTS, SIZES, KIDS, SUMS, FIRSTS } as const;

/**
 * Scratch for the change of shape under way, shared by every tree in this realm: a change runs
 * to its end without calling out (no user code, no other tree), so no two use one at once. Two
 * typed arrays per tree were about an eighth of the time to construct a small heap each.
 * SCRATCH holds a node that overflows, PAIR a full leaf and a sibling's entries together.
 */
const SCRATCH = new Uint32Array(3 * (Math.max(LEAF_SLOTS, FANOUT) + 1));
const PAIR = new Uint32Array(Math.max(2 * (2 * LEAF_SLOTS + 1), 6 * FANOUT));

export abstract class NodeTree {
  protected readonly state: HeapState;
  protected readonly mask: number;
  /** The cursor: node base (word index) and slot at each level of the last descent. */
  protected readonly at = new Int32Array(MAX_HEIGHT);
  protected readonly slot = new Int32Array(MAX_HEIGHT);
  /** Header words of the root's node id and the height. */
  private readonly rootWord: number;
  private readonly heightWord: number;
  /** For messages: 'gap index', and what a SUMS entry is called ('largest gap'). */
  private readonly name: string;
  private readonly summaryName: string;

  protected constructor(
    state: HeapState,
    rootWord: number,
    heightWord: number,
    name: string,
    summaryName: string,
  ) {
    this.state = state;
    this.mask = state.h[H_ALIGN] - 1;
    this.rootWord = rootWord;
    this.heightWord = heightWord;
    this.name = name;
    this.summaryName = summaryName;
  }

  /** The SUMS entry of a leaf at base `b`: what its parent says of it. */
  protected abstract leafSummary(b: number): number;
  /** The SUMS entry of an inner node at base `b`, from its own (exact) SUMS and FIRSTS. */
  protected abstract innerSummary(b: number): number;
  /** The root's summary is now `v` (0 for an empty tree): the index keeps it or not. */
  protected abstract rootSummary(v: number): void;

  /** Where the gap of host `p` starts. */
  key(r: Uint32Array, p: number): number {
    return endOf(r, p, this.mask);
  }

  /**
   * Makes the tree empty: one new empty leaf. Its old nodes are dropped, not freed: the caller
   * has just reset the node pool (see node-pool.ts), or the tree had none. O(1).
   */
  reset(): void {
    const leaf = takeNode(this.state); // may replace the buffer, h included
    const h = this.state.h;
    h[this.rootWord] = leaf;
    h[this.heightWord] = 1;
    this.rootSummary(0);
  }

  /**
   * Frees every node of the tree to the pool and leaves none (root NIL, height 0). Depth first
   * with the cursor as the stack. O(nodes).
   */
  drop(): void {
    const h = this.state.h;
    if (h[this.rootWord] === NIL) return; // no tree: nothing to free (never the nil node)
    const t = this.state.n;
    const last = h[this.heightWord] - 1;
    const at = this.at;
    const slot = this.slot;
    at[0] = h[this.rootWord] * NODE_WORDS;
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
    h[this.rootWord] = NIL;
    h[this.heightWord] = 0;
    this.rootSummary(0);
  }

  /**
   * Builds the tree over the gaps `hosts[e]` of `sizes[e]` bytes, taken in index order `e =
   * order[i]` (or `e = i` when `order` is null), from nodes of a freshly reset pool, as `reset`
   * does. Leaves BUILD_LEAF full, inner nodes BUILD_INNER, so the next insertions do not split
   * at once. O(F).
   */
  protected buildTree(
    hosts: Uint32Array,
    sizes: Uint32Array,
    order: Uint32Array | null,
    count: number,
  ): void {
    this.reset();
    if (count === 0) return;
    // Level by level: each level's nodes as (node, summary, first key) triples.
    let level: number[] = [];
    for (let i = 0, first = this.state.h[this.rootWord]; i < count; i += BUILD_LEAF) {
      const node = i === 0 ? first : takeNode(this.state);
      const t = this.state.n;
      const b = node * NODE_WORDS;
      const m = Math.min(BUILD_LEAF, count - i);
      if (order === null) {
        copy(t, b + HOSTS, hosts, i, i + m);
        copy(t, b + SIZES, sizes, i, i + m);
      } else {
        for (let k = 0; k < m; k++) {
          const e = order[i + k];
          t[b + HOSTS + k] = hosts[e];
          t[b + SIZES + k] = sizes[e];
        }
      }
      t[b + COUNT] = m;
      level.push(node, this.leafSummary(b), this.firstOf(b, true));
    }
    let height = 1;
    while (level.length > 3) {
      const up: number[] = [];
      for (let i = 0; i < level.length; i += 3 * BUILD_INNER) {
        const node = takeNode(this.state);
        const t = this.state.n;
        const b = node * NODE_WORDS;
        const m = Math.min(BUILD_INNER, (level.length - i) / 3);
        for (let k = 0; k < m; k++) {
          t[b + KIDS + k] = level[i + 3 * k];
          t[b + SUMS + k] = level[i + 3 * k + 1];
          t[b + FIRSTS + k] = level[i + 3 * k + 2];
        }
        t[b + COUNT] = m;
        up.push(node, this.innerSummary(b), level[i + 2]);
      }
      level = up;
      height++;
    }
    const h = this.state.h; // nodes taken above may have replaced the buffer
    h[this.rootWord] = level[0];
    h[this.heightWord] = height;
    this.rootSummary(level[1]);
  }

  /**
   * Checks the structure, reading nothing outside the state and never looping: root and
   * height, every node below H_NODES_USED not yet in `seen` (shared with the other tree's
   * check and the pool's accounting) visited once and marked there, leaves at one depth,
   * counts in range, every SUMS and FIRSTS entry exact. `validHost` vets a host before its
   * record is read; `entry`, when given, checks each entry in order (the index's own order);
   * `visit` gets every entry in order for the caller to compare with the blocks. A
   * description of the first problem, or undefined. O(nodes).
   */
  protected checkTree(
    seen: Uint8Array,
    validHost: (p: number) => boolean,
    entry: ((p: number, size: number) => string | undefined) | null,
    visit: (p: number, size: number) => string | undefined,
  ): string | undefined {
    const h = this.state.h;
    const t = this.state.n;
    const name = this.name;
    const used = h[H_NODES_USED];
    const height = h[this.heightWord];
    if (height < 1 || height > MAX_HEIGHT) return `${name} height ${height} out of range`;
    const valid = (id: number): boolean => id !== NIL && id < used && seen[id] === 0;
    const root = h[this.rootWord];
    if (!valid(root)) return `${name} root is not a node`;
    let problem: string | undefined;
    // Returns false after setting `problem`.
    const walk = (id: number, lv: number): boolean => {
      seen[id] = 1;
      const b = id * NODE_WORDS;
      const c = t[b + COUNT];
      const leaf = lv === height - 1;
      const cap = leaf ? LEAF_SLOTS : FANOUT;
      if (c > cap || (c === 0 && !(leaf && lv === 0)) || (c === 1 && lv === 0 && !leaf)) {
        problem = `${name} node ${id} holds ${c} entries`;
        return false;
      }
      if (leaf) {
        for (let j = 0; j < c; j++) {
          const p = t[b + HOSTS + j];
          const size = t[b + SIZES + j];
          if (!validHost(p)) {
            problem = `${name} host ${p} is not a record`;
            return false;
          }
          if (entry !== null) {
            problem = entry(p, size);
            if (problem !== undefined) return false;
          }
          problem = visit(p, size);
          if (problem !== undefined) return false;
        }
        return true;
      }
      for (let i = 0; i < c; i++) {
        const kid = t[b + KIDS + i];
        if (!valid(kid)) {
          problem = `${name} link ${kid} is not an unvisited node`;
          return false;
        }
        if (!walk(kid, lv + 1)) return false;
        // The child is checked, so its own summaries are exact and summarize it.
        const kb = kid * NODE_WORDS;
        const kidLeaf = lv + 1 === height - 1;
        const sum = this.summaryOf(kb, kidLeaf);
        if (t[b + SUMS + i] !== sum) {
          problem = `${name} node ${id}: child ${i} ${this.summaryName} is ${t[b + SUMS + i]}, expected ${sum}`;
          return false;
        }
        const first = this.firstOf(kb, kidLeaf);
        if (t[b + FIRSTS + i] !== first) {
          problem = `${name} node ${id}: child ${i} first address is ${t[b + FIRSTS + i]}, expected ${first}`;
          return false;
        }
      }
      return true;
    };
    if (!walk(root, 0)) return problem;
    return undefined;
  }

  /** The summary of the root, as its parent would hold it (after `checkTree`: exact). */
  protected rootValue(): number {
    const h = this.state.h;
    return this.summaryOf(h[this.rootWord] * NODE_WORDS, h[this.heightWord] === 1);
  }

  /**
   * The leaf under the cursor at level `lv` is full and `p` (a gap of `size` bytes) belongs at
   * slot `lo`: the entries and the new one go through scratch, then are shared with a sibling
   * that has room or split into a new leaf. O(log F).
   */
  protected insertFull(lv: number, lo: number, p: number, size: number): void {
    const t = this.state.n;
    const b = this.at[lv];
    const s = SCRATCH;
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
    if (lv > 0 && this.share(lv, n)) return;
    const fresh = takeNode(this.state); // may replace the node region
    const keep = (n + 1) >>> 1;
    this.writeLeaf(b, 0, keep, n);
    this.writeLeaf(fresh * NODE_WORDS, keep, n - keep, n);
    this.split(lv, fresh);
  }

  /**
   * Removes the child under the cursor from the inner node at level `lv` (the child is empty)
   * and frees it; rebalances or collapses what that leaves. O(log F).
   */
  protected removeChild(lv: number): void {
    const t = this.state.n;
    const b = this.at[lv];
    const i = this.slot[lv];
    const c = t[b + COUNT] - 1;
    freeNode(this.state, t[b + KIDS + i]);
    move(t, b + KIDS + i, b + KIDS + i + 1, b + KIDS + c + 1);
    move(t, b + SUMS + i, b + SUMS + i + 1, b + SUMS + c + 1);
    move(t, b + FIRSTS + i, b + FIRSTS + i + 1, b + FIRSTS + c + 1);
    t[b + COUNT] = c;
    if (c === 0) {
      // Only an inner node below the root can empty (the root keeps two children or collapses).
      this.removeChild(lv - 1);
      return;
    }
    this.refresh(lv);
    if (lv > 0 && c < FANOUT / 4) this.rebalance(lv);
    if (lv === 0) this.collapse();
  }

  /**
   * The node at level `lv` (cursor on it, not the root) holds under a quarter of its room: it
   * merges with a sibling when both fit in one node, else takes entries from it so both hold
   * at least a quarter. Either way the parent's summary and first key stay as they were (the
   * same entries under it), so nothing above the parent changes. Keeps the tree O(log F) deep
   * whatever the order of removals.
   */
  protected rebalance(lv: number): void {
    const t = this.state.n;
    const pb = this.at[lv - 1];
    const ps = this.slot[lv - 1];
    const pc = t[pb + COUNT];
    if (pc < 2) return; // no sibling: the parent is rebalanced or collapsed on its own
    const leaf = lv === this.state.h[this.heightWord] - 1;
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
      t[pb + SUMS + li] = this.summaryOf(lb, leaf);
      freeNode(this.state, rb / NODE_WORDS);
      move(t, pb + KIDS + li + 1, pb + KIDS + li + 2, pb + KIDS + pc);
      move(t, pb + SUMS + li + 1, pb + SUMS + li + 2, pb + SUMS + pc);
      move(t, pb + FIRSTS + li + 1, pb + FIRSTS + li + 2, pb + FIRSTS + pc);
      t[pb + COUNT] = pc - 1;
      if (lv - 1 === 0) this.collapse();
      else if (pc - 1 < FANOUT / 4) this.rebalance(lv - 1);
      return;
    }
    // Share: both halves through scratch, left then right.
    const s = PAIR;
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
    t[pb + SUMS + li] = this.summaryOf(lb, leaf);
    t[pb + SUMS + li + 1] = this.summaryOf(rb, leaf);
    t[pb + FIRSTS + li + 1] = this.firstOf(rb, leaf);
  }

  /** The SUMS entry for the node at base `b`, a leaf or not. */
  private summaryOf(b: number, leaf: boolean): number {
    return leaf ? this.leafSummary(b) : this.innerSummary(b);
  }

  /** The FIRSTS entry for the node at base `b` (not an empty leaf): where its first gap starts. */
  private firstOf(b: number, leaf: boolean): number {
    const t = this.state.n;
    return leaf ? this.key(this.state.r, t[b + HOSTS]) : t[b + FIRSTS];
  }

  /**
   * The node under the cursor at level `lv` changed its entries in any way: rewrites its SUMS
   * and FIRSTS entries in its parent, and so on up while they change, then the root's summary.
   * Each level recomputes its summary from the node (a rescan of a node's words): for changes
   * of shape only; the indexes' own updates are cheaper.
   */
  private refresh(lv: number): void {
    const t = this.state.n;
    const last = this.state.h[this.heightWord] - 1;
    for (let i = lv; i > 0; i--) {
      const b = this.at[i];
      const w = this.at[i - 1] + this.slot[i - 1];
      const sum = this.summaryOf(b, i === last);
      const first = this.firstOf(b, i === last);
      if (t[w + SUMS] === sum && t[w + FIRSTS] === first) return; // nothing above changes
      t[w + SUMS] = sum;
      t[w + FIRSTS] = first;
    }
    this.rootSummary(this.rootValue());
  }

  /** Writes scratch leaf entries [from, from + count) (of `n` in scratch) into leaf `b`. */
  private writeLeaf(b: number, from: number, count: number, n: number): void {
    const t = this.state.n;
    const s = SCRATCH;
    copy(t, b + HOSTS, s, from, from + count);
    copy(t, b + SIZES, s, n + from, n + from + count);
    t[b + COUNT] = count;
  }

  /** Writes scratch inner entries [from, from + count) (of `n` in scratch) into node `b`. */
  private writeInner(b: number, from: number, count: number, n: number): void {
    const t = this.state.n;
    const s = SCRATCH;
    copy(t, b + KIDS, s, from, from + count);
    copy(t, b + SUMS, s, n + from, n + from + count);
    copy(t, b + FIRSTS, s, 2 * n + from, 2 * n + from + count);
    t[b + COUNT] = count;
  }

  /**
   * Spreads the `n` scratch entries of the full leaf at level `lv` (cursor on it) over it and a
   * sibling with room, when one has; returns false when neither has.
   */
  private share(lv: number, n: number): boolean {
    const t = this.state.n;
    const pb = this.at[lv - 1];
    const ps = this.slot[lv - 1];
    const pc = t[pb + COUNT];
    const b = this.at[lv];
    const s = SCRATCH;
    for (let side = -1; side <= 1; side += 2) {
      const k = ps + side;
      if (k < 0 || k >= pc) continue;
      const sb = t[pb + KIDS + k] * NODE_WORDS;
      const sc = t[sb + COUNT];
      if (sc >= LEAF_SLOTS) continue;
      // All entries of both leaves in order, then halved.
      const total = sc + n;
      const all = PAIR;
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
      t[pb + SUMS + li] = this.leafSummary(lb);
      t[pb + FIRSTS + li] = this.firstOf(lb, true);
      t[pb + SUMS + li + 1] = this.leafSummary(ub);
      t[pb + FIRSTS + li + 1] = this.firstOf(ub, true);
      // The parent holds one entry more: its summary may have grown, its first may be new.
      this.refresh(lv - 1);
      return true;
    }
    return false;
  }

  /**
   * The node under the cursor at level `lv` was split, `fresh` now holding its upper part:
   * enters `fresh` in the parent after it (or a new root above both). The node keeps its first
   * entry's place but not necessarily its summary: its entry in the parent is rewritten.
   */
  private split(lv: number, fresh: number): void {
    if (lv === 0) {
      this.newRoot(fresh);
      return;
    }
    const t = this.state.n;
    const leaf = lv === this.state.h[this.heightWord] - 1;
    const b = this.at[lv];
    const fb = fresh * NODE_WORDS;
    const w = this.at[lv - 1] + this.slot[lv - 1];
    t[w + SUMS] = this.summaryOf(b, leaf);
    t[w + FIRSTS] = this.firstOf(b, leaf);
    this.insertChild(
      lv - 1,
      this.slot[lv - 1] + 1,
      fresh,
      this.summaryOf(fb, leaf),
      this.firstOf(fb, leaf),
    );
  }

  /** Inserts child `kid` (summary `sum`, first gap at `first`) at `pos` (above 0) of the inner node at level `lv`. */
  private insertChild(lv: number, pos: number, kid: number, sum: number, first: number): void {
    const t = this.state.n;
    const b = this.at[lv];
    const c = t[b + COUNT];
    if (c < FANOUT) {
      move(t, b + KIDS + pos + 1, b + KIDS + pos, b + KIDS + c);
      move(t, b + SUMS + pos + 1, b + SUMS + pos, b + SUMS + c);
      move(t, b + FIRSTS + pos + 1, b + FIRSTS + pos, b + FIRSTS + c);
      t[b + KIDS + pos] = kid;
      t[b + SUMS + pos] = sum;
      t[b + FIRSTS + pos] = first;
      t[b + COUNT] = c + 1;
      this.refresh(lv);
      return;
    }
    const s = SCRATCH;
    const n = FANOUT + 1;
    for (let i = 0, k = 0; i < n; i++) {
      if (i === pos) {
        s[i] = kid;
        s[n + i] = sum;
        s[2 * n + i] = first;
      } else {
        s[i] = t[b + KIDS + k];
        s[n + i] = t[b + SUMS + k];
        s[2 * n + i] = t[b + FIRSTS + k];
        k++;
      }
    }
    const fresh = takeNode(this.state); // may replace the node region
    const keep = (n + 1) >>> 1;
    this.writeInner(b, 0, keep, n);
    this.writeInner(fresh * NODE_WORDS, keep, n - keep, n);
    this.split(lv, fresh);
  }

  /** The root split, `fresh` holding its upper part: a new root above both. */
  private newRoot(fresh: number): void {
    const height = this.state.h[this.heightWord];
    if (height === MAX_HEIGHT) throw new Error(`internal: ${this.name} too deep`);
    const leaf = height === 1;
    const oldRoot = this.state.h[this.rootWord];
    const root = takeNode(this.state); // may replace the buffer, h included
    const h = this.state.h;
    const t = this.state.n;
    const rb = root * NODE_WORDS;
    const b = oldRoot * NODE_WORDS;
    const fb = fresh * NODE_WORDS;
    t[rb + COUNT] = 2;
    t[rb + KIDS] = oldRoot;
    t[rb + KIDS + 1] = fresh;
    t[rb + SUMS] = this.summaryOf(b, leaf);
    t[rb + SUMS + 1] = this.summaryOf(fb, leaf);
    t[rb + FIRSTS] = this.firstOf(b, leaf);
    t[rb + FIRSTS + 1] = this.firstOf(fb, leaf);
    h[this.rootWord] = root;
    h[this.heightWord] = height + 1;
    this.rootSummary(this.innerSummary(rb));
  }

  /** A root with one child: the child becomes the root (and so on down). */
  private collapse(): void {
    const t = this.state.n;
    const h = this.state.h;
    while (h[this.heightWord] > 1 && t[h[this.rootWord] * NODE_WORDS + COUNT] === 1) {
      const old = h[this.rootWord];
      h[this.rootWord] = t[old * NODE_WORDS + KIDS];
      h[this.heightWord]--;
      freeNode(this.state, old);
    }
  }
}
