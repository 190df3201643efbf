/**
 * The size index (best fit's B+tree of gaps by size, then address) against a simple model: a
 * map of host to size, scanned linearly for every query. Driven directly over hand-made records
 * (so thousands of gaps cost no heap), with few distinct sizes so that ties are the rule and the
 * address decides; check() and the node pool's accounting after many steps. Then the same
 * through BlockLayout, against a linear scan of the blocks.
 */
import { describe, expect, it } from 'vitest';
import { BlockLayout } from '../src/layout/block-layout.js';
import { checkAccounting, resetNodes } from '../src/layout/node-pool.js';
import { NIL, OFF, REQ, STRIDE } from '../src/layout/records.js';
import { SizeIndex } from '../src/layout/size-index.js';
import {
  FANOUT,
  FLAG_BEST_FIT,
  H_ALIGN,
  H_NODES_USED,
  H_RECORDS_USED,
  H_SIZE_HEIGHT,
  LEAF_SLOTS,
} from '../src/memory/format.js';
import { HeapState } from '../src/memory/heap-state.js';

const ALIGN = 8;

/** A deterministic generator: an integer in [0, k). */
function lcg(seed: number): (k: number) => number {
  return (k) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
}

/**
 * A size index over `hosts` hand-made records whose gaps start at distinct, shuffled addresses
 * (record ids do not follow address order), and a model of what it holds.
 */
class Harness {
  readonly state: HeapState;
  readonly tree: SizeIndex;
  /** Host pointer to the size of its gap in the index, for the hosts in it. */
  readonly model = new Map<number, number>();
  readonly hosts: number[] = [];
  readonly hostSet = new Set<number>();

  constructor(count: number, rand: (k: number) => number) {
    this.state = HeapState.create(count + 2);
    const h = this.state.h;
    h[H_ALIGN] = ALIGN;
    h[H_RECORDS_USED] = count + 2;
    const slots = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = rand(i + 1);
      [slots[i], slots[j]] = [slots[j], slots[i]];
    }
    const r = this.state.r;
    for (let i = 0; i < count; i++) {
      const p = (i + 2) * STRIDE;
      r[p + OFF] = slots[i] * 64;
      r[p + REQ] = 1 + rand(16); // occupied 8 or 16: the gap starts at OFF + 8 or OFF + 16
      this.hosts.push(p);
      this.hostSet.add(p);
    }
    resetNodes(this.state);
    this.tree = new SizeIndex(this.state);
    this.tree.reset();
  }

  key(p: number): number {
    return this.tree.key(this.state.r, p);
  }

  insert(p: number, size: number): void {
    this.tree.insert(p, size);
    this.model.set(p, size);
  }

  remove(p: number): void {
    this.tree.remove(p, this.model.get(p)!, this.key(p));
    this.model.delete(p);
  }

  /** Removes `p` after its record changed (as resizeInPlace does): the old start is given. */
  removeChanged(p: number): void {
    const r = this.state.r;
    const key = this.key(p);
    const req = r[p + REQ];
    r[p + REQ] = req + ALIGN; // another start
    this.tree.remove(p, this.model.get(p)!, key);
    this.model.delete(p);
    r[p + REQ] = req;
  }

  /** The model's entries in (size, address) order. */
  sorted(): number[] {
    return [...this.model.keys()].sort(
      (a, b) => this.model.get(a)! - this.model.get(b)! || this.key(a) - this.key(b),
    );
  }

  /** The model's answer: the first entry of at least n bytes for which `fits` holds. */
  linear(n: number, fits: (p: number, size: number) => boolean = () => true): number {
    let best = NIL;
    for (const [p, size] of this.model) {
      if (size < n || !fits(p, size)) continue;
      const b = best === NIL ? 0 : this.model.get(best)!;
      if (best === NIL || size < b || (size === b && this.key(p) < this.key(best))) best = p;
    }
    return best;
  }

  /** check() and the node accounting; the entries visited must be the model's, in order. Returns the tree's node count. */
  verify(): number {
    const seen = new Uint8Array(this.state.h[H_NODES_USED]);
    const visited: number[] = [];
    const valid = (p: number): boolean => this.hostSet.has(p);
    const problem = this.tree.check(seen, valid, (p, size) => {
      visited.push(p);
      return this.model.get(p) === size ? undefined : `wrong size for ${p}`;
    });
    expect(problem).toBeUndefined();
    const nodes = seen.reduce((a, b) => a + b, 0);
    expect(checkAccounting(this.state, seen)).toBeUndefined();
    expect(visited).toEqual(this.sorted());
    return nodes;
  }

  /** Rebuilds the tree in bulk from the model (as reindex does). */
  rebuild(): void {
    const hosts = Uint32Array.from(this.model.keys());
    const sizes = Uint32Array.from(hosts, (p) => this.model.get(p)!);
    resetNodes(this.state);
    this.tree.build(hosts, sizes, hosts.length);
  }
}

/** Random inserts and removes around a target size, best fit compared after every step. */
function churn(
  target: number,
  steps: number,
  distinctSizes: number,
  seed: number,
): { height: number; nodesAtSmall: number } {
  const rand = lcg(seed);
  const t = new Harness(target * 2, rand);
  const absent = [...t.hosts];
  const present: number[] = [];
  const sizeOf = (): number => 1 + rand(distinctSizes);
  let height = 1;
  let nodesAtSmall = 0;
  const odd = (p: number): boolean => (t.key(p) & 15) !== 0; // an aligned-style filter
  for (let i = 0; i < steps; i++) {
    // Fill to the target, churn around it, then drain to a few and refill.
    const phase = Math.floor((4 * i) / steps);
    const want = phase === 2 ? 16 : target;
    const grow = present.length < want ? rand(10) < 8 : rand(10) < 1;
    if (grow && absent.length > 0) {
      const p = absent.splice(rand(absent.length), 1)[0];
      t.insert(p, sizeOf());
      present.push(p);
    } else if (present.length > 0) {
      const p = present.splice(rand(present.length), 1)[0];
      if (rand(4) === 0) t.removeChanged(p);
      else t.remove(p);
      absent.push(p);
    }
    const n = 1 + rand(distinctSizes + 2);
    expect(t.tree.bestFit(n)).toBe(t.linear(n));
    if (i % 7 === 0) expect(t.tree.bestFitWhere(n, odd)).toBe(t.linear(n, odd));
    height = Math.max(height, t.state.h[H_SIZE_HEIGHT]);
    if (i % Math.max(1, Math.floor(steps / 40)) === 0) t.verify();
    if (i % Math.floor(steps / 5) === steps / 10) {
      t.rebuild();
      t.verify();
    }
    if (phase === 2 && present.length === 16) nodesAtSmall = Math.max(nodesAtSmall, t.verify());
  }
  t.verify();
  return { height, nodesAtSmall };
}

describe('SizeIndex', () => {
  it('best fit is the smallest gap that fits, lowest address among equal sizes: a few gaps in one leaf', () => {
    for (let seed = 1; seed <= 20; seed++) churn(30, 400, 4, seed);
  });

  it('a two-level tree under random inserts and removes, many equal sizes', () => {
    const { height } = churn(600, 6000, 10, 3);
    expect(height).toBe(2);
  });

  it('a tree of three and more levels fills, drains and refills, every answer checked', () => {
    const { height, nodesAtSmall } = churn(6000, 40_000, 40, 9);
    expect(height).toBeGreaterThanOrEqual(3);
    // Drained to 16 gaps, removals rebalanced the tree back to a root leaf (and the nodes freed).
    expect(nodesAtSmall).toBe(1);
  });

  it('wide sizes: ties rare, every gap a different size', () => {
    churn(3000, 15_000, 1 << 20, 17);
  });

  it('stays shallow and freed of nodes as gaps go in any order', () => {
    const rand = lcg(5);
    const t = new Harness(20_000, rand);
    for (const p of t.hosts) t.insert(p, 1 + rand(8));
    expect(t.state.h[H_SIZE_HEIGHT]).toBe(3);
    const order = [...t.hosts];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    // Merges and shares keep every node but the root at least a quarter full: leaves of 12
    // gaps or more, inner nodes of 8 children or more.
    let removed = 0;
    for (const left of [6000, 2000, 300, 60]) {
      for (; removed < order.length - left; removed++) t.remove(order[removed]);
      const leaves = Math.ceil(left / (LEAF_SLOTS / 4));
      const inner = Math.ceil(leaves / (FANOUT / 4)) + Math.ceil(leaves / (FANOUT / 4) ** 2) + 1;
      expect(t.verify()).toBeLessThanOrEqual(leaves + inner);
    }
    for (; removed < order.length; removed++) t.remove(order[removed]);
    expect(t.verify()).toBe(1);
    expect(t.state.h[H_SIZE_HEIGHT]).toBe(1);
  });

  it('a removal trusts the cursor of the last search only while its whole path still holds', () => {
    // Two views of one state, as two threads of a shared heap have: the other one inserts gaps
    // before the one this one's cursor was left on, so leaves split to its left and its leaf's
    // place in its parent moves, while the leaf may still hold it at the same slot.
    const rand = lcg(33);
    const t = new Harness(12_000, rand);
    const other = new SizeIndex(t.state);
    const free = [...t.hosts];
    const take = (): number => free.splice(rand(free.length), 1)[0];
    for (let i = 0; i < 3000; i++) t.insert(take(), 1000 + 2 * rand(1000)); // even sizes
    for (let round = 0; round < 60; round++) {
      const n = 1001 + 2 * rand(1000);
      const found = t.tree.bestFit(n);
      expect(found).toBe(t.linear(n));
      for (let i = 0; i < 100; i++) {
        const p = take();
        const size = 1 + rand(n - 1); // all before the gap found
        other.insert(p, size);
        t.model.set(p, size);
      }
      t.remove(found);
      free.push(found);
      if (round % 10 === 0) t.verify();
    }
    t.verify();
  });

  it('a bulk build sorts by size, then address, and answers like insertions would', () => {
    const rand = lcg(12);
    const t = new Harness(5000, rand);
    for (const p of t.hosts) t.model.set(p, 1 + rand(30));
    t.rebuild();
    t.verify();
    for (let n = 0; n <= 32; n++) expect(t.tree.bestFit(n)).toBe(t.linear(n));
  });
});

describe('BlockLayout with best fit over thousands of gaps', () => {
  it('places every allocation where a linear scan for the smallest gap says, lowest address first', () => {
    const layout = BlockLayout.create(1 << 20, 8, FLAG_BEST_FIT, 0, 1 << 18);
    const rand = lcg(21);
    const live: number[] = [];
    /** The host of the smallest gap of at least n bytes, lowest address among equals. */
    const linear = (n: number): number => {
      let best = NIL;
      let bestGap = Infinity;
      layout.forEach((p) => {
        const gap = layout.gapAfter(p);
        if (gap >= n && gap < bestGap) {
          best = p;
          bestGap = gap;
        }
      });
      return best;
    };
    // Blocks of few sizes, every other freed: thousands of gaps of a handful of sizes.
    for (let i = 0; i < 8000; i++) {
      const occupied = 8 * (1 + rand(4));
      live.push(layout.allocate(occupied, occupied));
    }
    for (let i = live.length - 1; i >= 0; i -= 2) layout.release(live.splice(i, 1)[0]);
    expect(layout.check()).toBeUndefined();
    expect(layout.state.h[H_SIZE_HEIGHT]).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 6000; i++) {
      const roll = rand(10);
      if (roll < 5) {
        const occupied = 8 * (1 + rand(6));
        const expected = linear(occupied);
        const p = layout.allocate(occupied, occupied);
        expect(p === NIL ? NIL : layout.prev(p)).toBe(expected);
        if (p !== NIL) live.push(p);
      } else if (roll < 9 && live.length > 0) {
        layout.release(live.splice(rand(live.length), 1)[0]);
      } else if (live.length > 0) {
        layout.resizeInPlace(live[rand(live.length)], 1 + rand(48));
      }
      if (i % 500 === 0) expect(layout.check()).toBeUndefined();
    }
    expect(layout.check()).toBeUndefined();
  });
});
