// Every block (the sentinel included) in a treap ordered by address, each node also holding the
// largest gap in its subtree.
//
// Invariant (kept by `pull` wherever a subtree or a gap changes): for every record t in the tree,
//   r[t + MAX] = max(r[t + GAP], r[left + MAX], r[right + MAX])
// so first fit descends left whenever the left subtree hosts a gap large enough (the technique
// of Linux's vmalloc, `subtree_max_size`): the lowest-address gap that fits, in O(log B).
//
// Only BlockLayout calls this. Every algorithm is iterative: a deep tree costs time, never the
// call stack. The search path is cached between calls of one operation; `forget()` drops it at
// the start of every operation, as another thread may have changed the tree since.
import { H_ROOT } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import { priority } from './priority.js';
import { GAP, LEFT, MAX, NIL, OFF, RIGHT, SENTINEL } from './records.js';

/** Restores the MAX invariant of `t` from its own gap and its children. */
function pull(r: Uint32Array, t: number): void {
  let m = r[t + GAP];
  const l = r[r[t + LEFT] + MAX];
  const g = r[r[t + RIGHT] + MAX];
  if (l > m) m = l;
  if (g > m) m = g;
  r[t + MAX] = m;
}

/** True when record a comes before record b in address order (the sentinel first at offset 0). */
function before(r: Uint32Array, a: number, b: number): boolean {
  const oa = r[a + OFF];
  const ob = r[b + OFF];
  return oa < ob || (oa === ob && a === SENTINEL && b !== SENTINEL);
}

export class AddressTree {
  private readonly state: HeapState;
  /** Nodes from the root down to `pathEnd`, as found by the last search of this operation. */
  private path: Uint32Array = new Uint32Array(64);
  private pathLength = 0;
  private pathEnd = NIL;
  /** Length of the path to the record the last `predecessor` call returned. */
  private predLength = 0;
  /** Scratch stack for merges and traversals. */
  private stack: Uint32Array = new Uint32Array(64);
  /** The in-order walk of `walkFrom` / `next`. */
  private walk: Uint32Array = new Uint32Array(64);
  private walkLength = 0;

  constructor(state: HeapState) {
    this.state = state;
  }

  get root(): number {
    return this.state.h[H_ROOT];
  }

  /** The largest gap, 0 when none. O(1). */
  get largest(): number {
    return this.state.r[this.state.h[H_ROOT] + MAX];
  }

  /** Drops the cached search path (call at the start of every operation). */
  forget(): void {
    this.pathEnd = NIL;
  }

  /** The lowest-address record whose gap holds `n` bytes, or NIL. O(log B). */
  firstFit(n: number): number {
    const r = this.state.r;
    let t = this.state.h[H_ROOT];
    if (r[t + MAX] < n) return NIL;
    let path = this.path;
    let i = 0;
    for (;;) {
      if (i === path.length) path = this.growPath();
      path[i++] = t;
      const l = r[t + LEFT];
      if (r[l + MAX] >= n) t = l;
      else if (r[t + GAP] >= n) break;
      else t = r[t + RIGHT];
    }
    this.pathLength = i;
    this.pathEnd = t;
    return t;
  }

  /** Call after the GAP of `p` changed. O(log B). */
  gapChanged(p: number): void {
    this.pullPath(this.state.r, this.pathTo(p) - 1);
  }

  /**
   * Inserts record `b` (OFF and GAP set) as the successor of record `h` in address order,
   * rotating it up to its place by priority, and fixes the maxima (which must be exact for
   * every other record). O(log B).
   */
  insertAfter(h: number, b: number): void {
    const r = this.state.r;
    const h0 = this.state.h;
    r[b + LEFT] = r[b + RIGHT] = NIL;
    r[b + MAX] = r[b + GAP];
    let i = this.pathTo(h);
    let path = this.path;
    let t = r[h + RIGHT];
    if (t === NIL) {
      r[h + RIGHT] = b;
    } else {
      for (;;) {
        if (i === path.length) path = this.growPath();
        path[i++] = t;
        const l = r[t + LEFT];
        if (l === NIL) break;
        t = l;
      }
      r[t + LEFT] = b;
    }
    if (i === path.length) path = this.growPath();
    path[i++] = b;
    // Rotate b up while its parent has a lower priority.
    const pb = priority(b);
    let k = i - 1;
    while (k > 0) {
      const parent = path[k - 1];
      if (priority(parent) >= pb) break;
      if (r[parent + LEFT] === b) {
        r[parent + LEFT] = r[b + RIGHT];
        r[b + RIGHT] = parent;
      } else {
        r[parent + RIGHT] = r[b + LEFT];
        r[b + LEFT] = parent;
      }
      pull(r, parent);
      if (k >= 2) {
        const g = path[k - 2];
        if (r[g + LEFT] === parent) r[g + LEFT] = b;
        else r[g + RIGHT] = b;
      } else {
        h0[H_ROOT] = b;
      }
      path[k - 1] = b;
      k--;
    }
    pull(r, b);
    this.pathLength = k + 1;
    this.pathEnd = b;
    this.pullPath(r, k - 1);
  }

  /** Removes record `b` from the tree. O(log B). */
  remove(b: number): void {
    const r = this.state.r;
    const depth = this.pathTo(b);
    const m = this.merge(r, r[b + LEFT], r[b + RIGHT]);
    if (depth === 1) {
      this.state.h[H_ROOT] = m;
    } else {
      const parent = this.path[depth - 2];
      if (r[parent + LEFT] === b) r[parent + LEFT] = m;
      else r[parent + RIGHT] = m;
      this.pullPath(r, depth - 2);
    }
    r[b + LEFT] = r[b + RIGHT] = r[b + MAX] = 0;
    this.pathEnd = NIL;
  }

  /**
   * The record before `b` in address order, or NIL. Leaves the path to it searched, for
   * `predecessorGapChanged`, and the path to `b` cached, for `remove(b)`. O(log B).
   */
  predecessor(b: number): number {
    const r = this.state.r;
    const depth = this.pathTo(b);
    let path = this.path;
    let t = r[b + LEFT];
    if (t !== NIL) {
      // The rightmost of the left subtree: its path is b's path and the spine, stored after it.
      let i = depth;
      for (;;) {
        if (i === path.length) path = this.growPath();
        path[i++] = t;
        const g = r[t + RIGHT];
        if (g === NIL) break;
        t = g;
      }
      this.predLength = i;
      return t;
    }
    for (let i = depth - 2; i >= 0; i--) {
      if (r[path[i] + RIGHT] === path[i + 1]) {
        this.predLength = i + 1;
        return path[i];
      }
    }
    this.predLength = 0;
    return NIL;
  }

  /** Call after the GAP of the record `predecessor` returned changed (before the tree changes). O(log B). */
  predecessorGapChanged(): void {
    this.pullPath(this.state.r, this.predLength - 1);
  }

  /** The record after `b` in address order, or NIL. O(log B). */
  successor(b: number): number {
    const r = this.state.r;
    const depth = this.pathTo(b);
    let t = r[b + RIGHT];
    if (t !== NIL) {
      while (r[t + LEFT] !== NIL) t = r[t + LEFT];
      return t;
    }
    const path = this.path;
    for (let i = depth - 2; i >= 0; i--) if (r[path[i] + LEFT] === path[i + 1]) return path[i];
    return NIL;
  }

  /**
   * Starts an in-order walk at record `p`: `next()` then returns `p` and the records after it.
   * The walk stays valid while the tree keeps its shape (offsets and gaps may change). O(log B).
   */
  walkFrom(p: number): void {
    const r = this.state.r;
    let stack = this.walk;
    let n = 0;
    for (let t = this.state.h[H_ROOT]; t !== NIL;) {
      if (n === stack.length) stack = this.growWalk();
      if (t === p) {
        stack[n++] = t;
        break;
      }
      if (before(r, p, t)) {
        stack[n++] = t;
        t = r[t + LEFT];
      } else {
        t = r[t + RIGHT];
      }
    }
    this.walkLength = n;
  }

  /** The next record of the walk started by `walkFrom`, or NIL at the end. O(1) amortized. */
  next(): number {
    if (this.walkLength === 0) return NIL;
    const r = this.state.r;
    let stack = this.walk;
    const x = stack[--this.walkLength];
    for (let t = r[x + RIGHT]; t !== NIL; t = r[t + LEFT]) {
      if (this.walkLength === stack.length) stack = this.growWalk();
      stack[this.walkLength++] = t;
    }
    return x;
  }

  /** Recomputes every MAX, children first. O(B). */
  recomputeAll(): void {
    const r = this.state.r;
    // Iterative post-order: push nodes, pull them in reverse order of a pre-order walk.
    let order = this.stack;
    let n = 0;
    let top = 0;
    const root = this.state.h[H_ROOT];
    if (root === NIL) return;
    order[n++] = root;
    while (top < n) {
      const t = order[top++];
      const l = r[t + LEFT];
      const g = r[t + RIGHT];
      if (n + 2 > order.length) order = this.growStack();
      if (l !== NIL) order[n++] = l;
      if (g !== NIL) order[n++] = g;
    }
    for (let i = n - 1; i >= 0; i--) pull(r, order[i]);
  }

  /**
   * Builds the tree over `ids` (records in address order, their OFF and GAP set), each node's
   * place given by its priority: the one treap these keys and priorities make. O(B).
   */
  build(ids: Uint32Array | number[], count: number): void {
    const r = this.state.r;
    let spine = this.stack; // the right spine of the tree built so far
    let n = 0;
    for (let i = 0; i < count; i++) {
      const x = ids[i];
      const px = priority(x);
      r[x + LEFT] = r[x + RIGHT] = NIL;
      let last = NIL;
      while (n > 0 && priority(spine[n - 1]) < px) last = spine[--n];
      r[x + LEFT] = last;
      if (n > 0) r[spine[n - 1] + RIGHT] = x;
      if (n === spine.length) spine = this.growStack();
      spine[n++] = x;
    }
    this.state.h[H_ROOT] = n > 0 ? spine[0] : NIL;
    this.pathEnd = NIL;
    this.recomputeAll();
  }

  /**
   * Visits the records in address order (for validation, listings and rebuilding), at most
   * `limit` of them: a malformed tree cannot make it loop. Returns how many it visited.
   */
  forEach(visit: (p: number) => void, limit: number): number {
    const r = this.state.r;
    let stack = this.stack;
    let n = 0;
    let seen = 0;
    for (let t = this.state.h[H_ROOT]; t !== NIL || n > 0;) {
      if (t !== NIL) {
        if (n >= limit) return limit + 1; // deeper than there are records: a cycle
        if (n === stack.length) stack = this.growStack();
        stack[n++] = t;
        t = r[t + LEFT];
      } else {
        t = stack[--n];
        if (++seen > limit) return seen;
        visit(t);
        t = r[t + RIGHT];
      }
    }
    return seen;
  }

  /** Joins two treaps whose keys are all ordered a < b; returns the root. Iterative. */
  private merge(r: Uint32Array, a: number, b: number): number {
    if (a === NIL) return b;
    if (b === NIL) return a;
    let stack = this.stack;
    let n = 0;
    let parent = NIL;
    let parentRight = false;
    let root = NIL;
    while (a !== NIL && b !== NIL) {
      // The higher priority of the two roots goes on top; the rest merges into its inner side.
      const fromA = priority(a) > priority(b);
      const x = fromA ? a : b;
      if (fromA) a = r[a + RIGHT];
      else b = r[b + LEFT];
      if (parent === NIL) root = x;
      else if (parentRight) r[parent + RIGHT] = x;
      else r[parent + LEFT] = x;
      if (n === stack.length) stack = this.growStack();
      stack[n++] = x;
      parent = x;
      parentRight = fromA;
    }
    const rest = a !== NIL ? a : b;
    if (parentRight) r[parent + RIGHT] = rest;
    else r[parent + LEFT] = rest;
    for (let i = n - 1; i >= 0; i--) pull(r, stack[i]);
    return root;
  }

  /**
   * Makes `path` hold the nodes from the root down to `p` (reusing the last search when it
   * ended at `p`) and returns how many there are. O(log B).
   */
  private pathTo(p: number): number {
    if (this.pathEnd === p) return this.pathLength;
    const r = this.state.r;
    let path = this.path;
    let i = 0;
    const key = r[p + OFF];
    // Offsets are unique but for the sentinel and a block at offset 0: the sentinel comes first.
    const sentinel = p === SENTINEL;
    for (let t = this.state.h[H_ROOT]; ;) {
      if (t === NIL) throw new Error(`internal: no block at offset ${key} in the tree`);
      if (i === path.length) path = this.growPath();
      path[i++] = t;
      if (t === p) break;
      const o = r[t + OFF];
      t = key < o || (key === o && sentinel) ? r[t + LEFT] : r[t + RIGHT];
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

  private growWalk(): Uint32Array {
    const walk = new Uint32Array(this.walk.length * 2);
    walk.set(this.walk);
    this.walk = walk;
    return walk;
  }

  private growStack(): Uint32Array {
    const stack = new Uint32Array(this.stack.length * 2);
    stack.set(this.stack);
    this.stack = stack;
    return stack;
  }
}
