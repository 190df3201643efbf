/**
 * The free blocks ordered by (size, address), for best fit: a second treap over the same free
 * records, its links in the records' second table (`records.links`). Used only by heaps made
 * with `strategy: 'best-fit'`; first-fit heaps pay nothing for it.
 *
 * Keys are read from the records, so a free block's SIZE or OFF must not change while it is in
 * this index: remove it, change it, insert it again.
 */
import { NIL, OFF, SIZE, STRIDE, type BlockRecords } from './block-records.js';
import { priority } from './free-index.js';

/** True when free record a sorts before b: smaller size, then lower address. */
function before(r: Uint32Array, a: number, b: number): boolean {
  const sa = r[a + SIZE];
  const sb = r[b + SIZE];
  return sa < sb || (sa === sb && r[a + OFF] < r[b + OFF]);
}

export class SizeIndex {
  root = NIL;
  count = 0;
  private readonly records: BlockRecords;
  private splitLeft = NIL;
  private splitRight = NIL;

  constructor(records: BlockRecords) {
    records.enableLinks();
    this.records = records;
  }

  /** Smallest free block of at least `n` bytes, the lowest address among equals, or NIL. O(log F). */
  bestFit(n: number): number {
    const r = this.records.r;
    const links = this.records.links!;
    let best = NIL;
    for (let t = this.root; t !== NIL;) {
      const l = (t / STRIDE) * 2;
      if (r[t + SIZE] >= n) {
        best = t;
        t = links[l];
      } else {
        t = links[l + 1];
      }
    }
    return best;
  }

  /** Adds free record `p`. O(log F). */
  insert(p: number): void {
    const links = this.records.links!;
    const l = (p / STRIDE) * 2;
    links[l] = links[l + 1] = NIL;
    this.root = this.insertAt(this.records.r, links, this.root, p, priority(p));
    this.count++;
  }

  /** Removes free record `p`, whose SIZE and OFF must be those it was inserted with. O(log F). */
  remove(p: number): void {
    this.root = this.removeAt(this.records.r, this.records.links!, this.root, p);
    this.count--;
  }

  clear(): void {
    this.root = NIL;
    this.count = 0;
  }

  /** Checks order, heap order and the count in O(F); a description of the first problem, or undefined. */
  check(): string | undefined {
    const r = this.records.r;
    const links = this.records.links!;
    let seen = 0;
    let last = NIL;
    const stack: number[] = [];
    for (let t = this.root; t !== NIL || stack.length > 0;) {
      if (t !== NIL) {
        stack.push(t);
        t = links[(t / STRIDE) * 2];
        continue;
      }
      t = stack.pop() as number;
      if (++seen > this.count) break;
      if (last !== NIL && !before(r, last, t))
        return `size index out of order at offset ${r[t + OFF]}`;
      const l = links[(t / STRIDE) * 2];
      const g = links[(t / STRIDE) * 2 + 1];
      const pt = priority(t);
      if ((l !== NIL && priority(l) > pt) || (g !== NIL && priority(g) > pt))
        return `size index heap order broken at offset ${r[t + OFF]}`;
      last = t;
      t = g;
    }
    if (seen !== this.count) return `size index holds ${seen} blocks, count says ${this.count}`;
    return undefined;
  }

  private insertAt(r: Uint32Array, links: Uint32Array, t: number, x: number, px: number): number {
    if (t === NIL) return x;
    const lt = (t / STRIDE) * 2;
    if (px > priority(t)) {
      this.split(r, links, t, x);
      const lx = (x / STRIDE) * 2;
      links[lx] = this.splitLeft;
      links[lx + 1] = this.splitRight;
      return x;
    }
    if (before(r, x, t)) links[lt] = this.insertAt(r, links, links[lt], x, px);
    else links[lt + 1] = this.insertAt(r, links, links[lt + 1], x, px);
    return t;
  }

  /** Splits subtree `t` into the records before `x` (splitLeft) and after it (splitRight). */
  private split(r: Uint32Array, links: Uint32Array, t: number, x: number): void {
    if (t === NIL) {
      this.splitLeft = this.splitRight = NIL;
      return;
    }
    const lt = (t / STRIDE) * 2;
    if (before(r, t, x)) {
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
    if (t === NIL) throw new Error(`size index: no free block at offset ${r[x + OFF]}`);
    const lt = (t / STRIDE) * 2;
    if (t === x) return this.merge(links, links[lt], links[lt + 1]);
    if (before(r, x, t)) links[lt] = this.removeAt(r, links, links[lt], x);
    else links[lt + 1] = this.removeAt(r, links, links[lt + 1], x);
    return t;
  }

  private merge(links: Uint32Array, a: number, b: number): number {
    if (a === NIL) return b;
    if (b === NIL) return a;
    if (priority(a) > priority(b)) {
      const la = (a / STRIDE) * 2;
      links[la + 1] = this.merge(links, links[la + 1], b);
      return a;
    }
    const lb = (b / STRIDE) * 2;
    links[lb] = this.merge(links, a, links[lb]);
    return b;
  }
}
