// The gaps ordered by (size, address), for best fit: a treap over the records that host a
// gap, its links and each host's gap size in the state's links region (LINK_WORDS words per
// record: left, right, size). Used only by heaps made with `strategy: 'best-fit'`; first-fit
// heaps pay nothing for it.
//
// The address part of a key is the host's OFF, read from the records, so a host's OFF must not
// change while it is in this index: remove it, change it, insert it again. Only BlockLayout
// calls this.
import { H_SIZE_ROOT, LINK_WORDS } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import { priority } from './priority.js';
import { NIL, OFF, STRIDE } from './records.js';

const W = LINK_WORDS;
/** Word of a link entry holding the gap's size. */
const SIZE = 2;

/** True when host a sorts before b: smaller gap, then lower address. */
function before(r: Uint32Array, links: Uint32Array, a: number, b: number): boolean {
  const sa = links[(a / STRIDE) * W + SIZE];
  const sb = links[(b / STRIDE) * W + SIZE];
  return sa < sb || (sa === sb && r[a + OFF] < r[b + OFF]);
}

export class SizeIndex {
  private readonly state: HeapState;
  private splitLeft = NIL;
  /** The search path of `bestFitWhere`, reused. */
  private readonly stack: number[] = [];
  private splitRight = NIL;

  constructor(state: HeapState) {
    this.state = state;
  }

  get root(): number {
    return this.state.h[H_SIZE_ROOT];
  }

  /** The host of the smallest gap of at least `n` bytes, the lowest address among equals, or NIL. O(log F). */
  bestFit(n: number): number {
    const links = this.state.links!;
    let best = NIL;
    for (let t = this.state.h[H_SIZE_ROOT]; t !== NIL;) {
      const l = (t / STRIDE) * W;
      if (links[l + SIZE] >= n) {
        best = t;
        t = links[l];
      } else {
        t = links[l + 1];
      }
    }
    return best;
  }

  /**
   * The host of the smallest gap (the lowest address among equals) of at least `n` bytes for
   * which `fits(host)` holds, or NIL: the gaps of at least `n` bytes in (size, address) order
   * until one fits. O(log F + gaps tried).
   */
  bestFitWhere(n: number, fits: (host: number) => boolean): number {
    const links = this.state.links!;
    const stack = this.stack;
    stack.length = 0;
    let t = this.state.h[H_SIZE_ROOT];
    while (t !== NIL || stack.length > 0) {
      if (t !== NIL) {
        const l = (t / STRIDE) * W;
        if (links[l + SIZE] >= n) {
          stack.push(t); // it and its right side come after its left side
          t = links[l];
        } else {
          t = links[l + 1]; // it and its left side are too small
        }
        continue;
      }
      t = stack.pop()!;
      if (fits(t)) return t;
      t = links[(t / STRIDE) * W + 1];
    }
    return NIL;
  }

  /** The largest gap size, 0 when there are no gaps: the last in (size, address) order. O(log F). */
  largest(): number {
    const links = this.state.links!;
    let t = this.state.h[H_SIZE_ROOT];
    if (t === NIL) return 0;
    for (let g = links[(t / STRIDE) * W + 1]; g !== NIL; g = links[(g / STRIDE) * W + 1]) t = g;
    return links[(t / STRIDE) * W + SIZE];
  }

  /** Adds host `p`, whose gap holds `size` bytes (more than 0). O(log F). */
  insert(p: number, size: number): void {
    const links = this.state.links!;
    const l = (p / STRIDE) * W;
    links[l] = links[l + 1] = NIL;
    links[l + SIZE] = size;
    const h = this.state.h;
    h[H_SIZE_ROOT] = this.insertAt(this.state.r, links, h[H_SIZE_ROOT], p, priority(p));
  }

  /** Removes host `p`, whose OFF must be the one it was inserted with. O(log F). */
  remove(p: number): void {
    const h = this.state.h;
    const links = this.state.links!;
    h[H_SIZE_ROOT] = this.removeAt(this.state.r, links, h[H_SIZE_ROOT], p);
    const l = (p / STRIDE) * W;
    links[l] = links[l + 1] = links[l + SIZE] = NIL;
  }

  /** The gap size stored for host `p` (0 when it is not in the index). */
  sizeOf(p: number): number {
    return this.state.links![(p / STRIDE) * W + SIZE];
  }

  /** Empties the index. O(1). */
  clear(): void {
    this.state.h[H_SIZE_ROOT] = NIL;
  }

  /**
   * Checks order and heap order in O(F), visiting at most `limit` hosts; `visit` sees each in
   * order. A description of the first problem, or undefined.
   */
  check(limit: number, visit: (p: number) => void): string | undefined {
    const r = this.state.r;
    const links = this.state.links!;
    let seen = 0;
    let last = NIL;
    const stack: number[] = [];
    for (let t = this.state.h[H_SIZE_ROOT]; t !== NIL || stack.length > 0;) {
      if (t !== NIL) {
        if (stack.length >= limit) return 'size index has a cycle';
        stack.push(t);
        t = links[(t / STRIDE) * W];
        continue;
      }
      t = stack.pop()!;
      if (++seen > limit) return 'size index has a cycle';
      if (last !== NIL && !before(r, links, last, t))
        return `size index out of order at offset ${r[t + OFF]}`;
      const l = links[(t / STRIDE) * W];
      const g = links[(t / STRIDE) * W + 1];
      const pt = priority(t);
      if ((l !== NIL && priority(l) > pt) || (g !== NIL && priority(g) > pt))
        return `size index heap order broken at offset ${r[t + OFF]}`;
      visit(t);
      last = t;
      t = g;
    }
    return undefined;
  }

  private insertAt(r: Uint32Array, links: Uint32Array, t: number, x: number, px: number): number {
    if (t === NIL) return x;
    const lt = (t / STRIDE) * W;
    if (px > priority(t)) {
      this.split(r, links, t, x);
      const lx = (x / STRIDE) * W;
      links[lx] = this.splitLeft;
      links[lx + 1] = this.splitRight;
      return x;
    }
    if (before(r, links, x, t)) links[lt] = this.insertAt(r, links, links[lt], x, px);
    else links[lt + 1] = this.insertAt(r, links, links[lt + 1], x, px);
    return t;
  }

  /** Splits subtree `t` into the hosts before `x` (splitLeft) and after it (splitRight). */
  private split(r: Uint32Array, links: Uint32Array, t: number, x: number): void {
    if (t === NIL) {
      this.splitLeft = this.splitRight = NIL;
      return;
    }
    const lt = (t / STRIDE) * W;
    if (before(r, links, t, x)) {
      this.split(r, links, links[lt + 1], x);
      links[lt + 1] = this.splitLeft;
      this.splitLeft = t;
    } else {
      this.split(r, links, links[lt], x);
      links[lt] = this.splitRight;
      this.splitRight = t;
    }
  }

  private removeAt(r: Uint32Array, links: Uint32Array, t: number, x: number): number {
    if (t === NIL) throw new Error(`internal: no gap at offset ${r[x + OFF]} in the size index`);
    const lt = (t / STRIDE) * W;
    if (t === x) return this.merge(links, links[lt], links[lt + 1]);
    if (before(r, links, x, t)) links[lt] = this.removeAt(r, links, links[lt], x);
    else links[lt + 1] = this.removeAt(r, links, links[lt + 1], x);
    return t;
  }

  private merge(links: Uint32Array, a: number, b: number): number {
    if (a === NIL) return b;
    if (b === NIL) return a;
    if (priority(a) > priority(b)) {
      const la = (a / STRIDE) * W;
      links[la + 1] = this.merge(links, links[la + 1], b);
      return a;
    }
    const lb = (b / STRIDE) * W;
    links[lb] = this.merge(links, a, links[lb]);
    return b;
  }
}
