/**
 * The block layout's indexes against linear scans of its blocks (the references of their
 * queries: first fit, best fit, predecessor), over random allocations, frees, in-place resizes
 * and moves; check() after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Compaction } from '../src/core/compactor.js';
import { BlockLayout } from '../src/layout/block-layout.js';
import { COUNT, MAX_HEIGHT } from '../src/layout/node-pool.js';
import { NODE_LAYOUT } from '../src/layout/node-tree.js';
import { NIL, OFF, SENTINEL, pinsOf } from '../src/layout/records.js';
import {
  FANOUT,
  FLAG_BEST_FIT,
  H_GAP_HEIGHT,
  H_GAP_ROOT,
  H_LARGEST,
  H_NODES_USED,
  H_SIZE_ROOT,
  LEAF_SLOTS,
  NODE_WORDS,
} from '../src/memory/format.js';

type Op =
  | { kind: 'alloc'; size: number }
  | { kind: 'free'; pick: number }
  | { kind: 'resize'; pick: number; size: number }
  | { kind: 'move'; pick: number }
  | { kind: 'fit'; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('alloc' as const),
      size: fc.integer({ min: 1, max: 96 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      pick: fc.nat(),
      size: fc.integer({ min: 1, max: 96 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('fit' as const),
      n: fc.integer({ min: 1, max: 128 }),
    }),
  },
);

/** Every block in address order, the sentinel first. */
function blocksOf(layout: BlockLayout): number[] {
  const out: number[] = [];
  layout.forEach((p) => out.push(p));
  return out;
}

/** The host of the lowest-address gap of at least n bytes, by a linear scan. */
/** The gap index's nodes, counted level by level from its root. */
function gapIndexNodes(layout: BlockLayout): number {
  const h = layout.state.h;
  const t = layout.state.n;
  let level = [h[H_GAP_ROOT]];
  let nodes = level.length;
  for (let lv = 1; lv < h[H_GAP_HEIGHT]; lv++) {
    level = level.flatMap((id) => {
      const b = id * NODE_WORDS;
      return Array.from({ length: t[b + COUNT] }, (_, i) => t[b + NODE_LAYOUT.KIDS + i]);
    });
    nodes += level.length;
  }
  return nodes;
}

/**
 * The unpinned blocks a packing compaction should have moved: with a gap right in front of
 * them (all at the heap's alignment here), or with room for them at a lower address.
 */
function unpacked(layout: BlockLayout): number[] {
  const out: number[] = [];
  const r = layout.state.r;
  layout.forEach((p) => {
    if (p === SENTINEL || pinsOf(r, p) > 0) return;
    const lower = layout.firstFit(layout.occupied(p));
    const front = layout.gapAfter(layout.prev(p));
    if (front > 0 || (lower !== NIL && r[lower + OFF] < r[p + OFF])) out.push(p);
  });
  return out;
}

function linearFirstFit(layout: BlockLayout, n: number): number {
  return blocksOf(layout).find((p) => layout.gapAfter(p) >= n) ?? NIL;
}

/** The host of the smallest gap of at least n bytes, the lowest address among equals, by a linear scan. */
function linearBestFit(layout: BlockLayout, n: number): number {
  let best = NIL;
  for (const p of blocksOf(layout)) {
    const gap = layout.gapAfter(p);
    if (gap >= n && (best === NIL || gap < layout.gapAfter(best))) best = p;
  }
  return best;
}

function run(ops: Op[], bestFit: boolean): void {
  const layout = BlockLayout.create(4096, 8, bestFit ? FLAG_BEST_FIT : 0, 0, 10_000);
  const live: number[] = [];
  const pick = (i: number): number => live[i % live.length];
  for (const o of ops) {
    layout.begin();
    const r = layout.state.r;
    switch (o.kind) {
      case 'alloc': {
        const occupied = layout.roundUp(o.size);
        const expected = bestFit
          ? linearBestFit(layout, occupied)
          : linearFirstFit(layout, occupied);
        const expectedOff = expected === NIL ? -1 : r[expected + OFF] + layout.occupied(expected);
        const p = layout.allocate(occupied, o.size);
        if (expected === NIL) {
          expect(p).toBe(NIL);
        } else {
          expect(layout.state.r[p + OFF]).toBe(expectedOff);
          live.push(p);
        }
        break;
      }
      case 'free':
        if (live.length === 0) break;
        layout.release(live.splice(o.pick % live.length, 1)[0]);
        break;
      case 'resize': {
        if (live.length === 0) break;
        const p = pick(o.pick);
        const room = layout.occupied(p) + layout.gapAfter(p);
        const fits = layout.roundUp(o.size) <= room;
        expect(layout.resizeInPlace(p, o.size)).toBe(fits);
        break;
      }
      case 'move': {
        if (live.length === 0) break;
        const p = pick(o.pick);
        const blocks = blocksOf(layout);
        const before = blocks[blocks.indexOf(p) - 1];
        expect(layout.prev(p)).toBe(before);
        layout.detach(p);
        const host = layout.fit(layout.occupied(p));
        expect(host).not.toBe(NIL); // its own old place fits at least
        layout.attach(p, host);
        break;
      }
      case 'fit': {
        const expected = bestFit ? linearBestFit(layout, o.n) : linearFirstFit(layout, o.n);
        expect(layout.fit(o.n)).toBe(expected);
        break;
      }
    }
    expect(layout.check()).toBeUndefined();
  }
}

describe('BlockLayout', () => {
  it('places first fit exactly where a linear scan of the gaps says', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) => run(ops, false)),
      { numRuns: 60 },
    );
  });

  it('places best fit exactly where a linear scan for the smallest gap says, lowest address first', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) => run(ops, true)),
      { numRuns: 60 },
    );
  });

  it('the gap index stays shallow and its leaves full when gaps appear in address order', () => {
    const n = 20_000;
    const layout = BlockLayout.create(n * 16, 8, 0, 0, n);
    const ps: number[] = [];
    for (let i = 0; i < n; i++) ps.push(layout.allocate(16, 16));
    // Shrinking every block in address order opens a gap after each: appends to the index.
    for (const p of ps) layout.resizeInPlace(p, 8);
    expect(layout.gaps).toBe(n);
    expect(layout.check()).toBeUndefined();
    // 20,000 gaps: leaves of 48, inner nodes of 32: three levels when the leaves stay nearly full.
    expect(layout.state.h[H_GAP_HEIGHT]).toBe(3);
    const nodes = layout.state.h[H_NODES_USED];
    expect(nodes).toBeLessThan((n / LEAF_SLOTS) * 1.15);
  });

  it('the gap index stays shallow and freed of nodes as gaps go in any order', () => {
    // 40,000 blocks of 16 bytes, every other one freed: 20,000 gaps, three levels. Then the
    // blocks between them freed in random order, each joining two gaps into one.
    const n = 20_000;
    const layout = BlockLayout.create(2 * n * 16, 8, 0, 0, 2 * n);
    const ps: number[] = [];
    for (let i = 0; i < 2 * n; i++) ps.push(layout.allocate(16, 16));
    for (let i = 0; i < 2 * n; i += 2) layout.release(ps[i]);
    expect(layout.gaps).toBe(n);
    expect(layout.state.h[H_GAP_HEIGHT]).toBe(3);
    let seed = 11;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const order = ps.filter((_, i) => i % 2 === 1);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    // Merges and shares keep every node but the root at least a quarter full: leaves of 12
    // gaps or more, inner nodes of 8 children or more.
    let freed = 0;
    for (const left of [6000, 2000, 300, 60]) {
      for (; layout.gaps > left; freed++) layout.release(order[freed]);
      expect(layout.check()).toBeUndefined();
      const leaves = Math.ceil(left / (LEAF_SLOTS / 4));
      const inner = Math.ceil(leaves / (FANOUT / 4)) + Math.ceil(leaves / (FANOUT / 4) ** 2) + 1;
      expect(gapIndexNodes(layout)).toBeLessThanOrEqual(leaves + inner);
    }
    for (; freed < order.length; freed++) layout.release(order[freed]);
    expect(layout.check()).toBeUndefined();
    expect(layout.gaps).toBe(1);
    expect(gapIndexNodes(layout)).toBe(1);
    expect(layout.state.h[H_GAP_HEIGHT]).toBe(1);
  });

  it('the gap index empties and refills: random frees and allocations in a large heap', () => {
    const layout = BlockLayout.create(1 << 22, 8, 0, 0, 1 << 20);
    const live: number[] = [];
    let seed = 7;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20_000; i++) {
        const size = 1 + rand(120);
        const p = layout.allocate(layout.roundUp(size), size);
        if (p !== NIL) live.push(p);
      }
      expect(layout.check()).toBeUndefined();
      while (live.length > (round === 2 ? 0 : 100)) {
        layout.release(live.splice(rand(live.length), 1)[0]);
      }
      expect(layout.check()).toBeUndefined();
    }
    expect(layout.gaps).toBe(1);
    expect(layout.state.h[H_GAP_HEIGHT]).toBe(1);
  });

  it('a shrink in place that inserts a gap into a full leaf keeps the index right (a split reads the new size)', () => {
    // 1024 blocks of 64 bytes, every third of the first 282 freed: 94 gaps in two full leaves.
    const layout = BlockLayout.create(1 << 16, 8, 0, 0, 2048);
    const ps: number[] = [];
    for (let i = 0; i < 1024; i++) ps.push(layout.allocate(64, 64));
    for (let i = 0; i < 3 * 94; i += 3) layout.release(ps[i]);
    expect(layout.check()).toBeUndefined();
    expect(layout.resizeInPlace(ps[142], 8)).toBe(true); // its new gap splits a full leaf
    expect(layout.check()).toBeUndefined();
  });

  it('random shrinks and growths in place, many of them into full leaves, keep every invariant', () => {
    for (const flags of [0, FLAG_BEST_FIT]) {
      const layout = BlockLayout.create(1 << 18, 8, flags, 0, 1 << 16);
      const ps: number[] = [];
      for (let i = 0; i < 4000; i++) ps.push(layout.allocate(64, 64));
      let seed = 11;
      const rand = (k: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % k;
      };
      for (let i = 0; i < 1500; i++) layout.release(ps.splice(rand(ps.length), 1)[0]);
      for (let i = 0; i < 3000; i++) {
        const p = ps[rand(ps.length)];
        layout.resizeInPlace(p, 1 + rand(64));
        if (i % 50 === 0) expect(layout.check()).toBeUndefined();
      }
      expect(layout.check()).toBeUndefined();
    }
  });

  it('a long churn of every change over a multi-level index keeps every invariant', () => {
    // Thousands of gaps: leaves split, share, merge and borrow under every kind of change. A
    // best-fit heap runs it without its gap index and with it (as during a compaction).
    for (const [flags, addressed] of [
      [0, true],
      [FLAG_BEST_FIT, false],
      [FLAG_BEST_FIT, true],
    ] as const) {
      const layout = BlockLayout.create(1 << 20, 8, flags, 0, 1 << 18);
      if (addressed) layout.address();
      const live: number[] = [];
      let seed = 5;
      const rand = (k: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % k;
      };
      for (let i = 0; i < 40_000; i++) {
        const roll = rand(10);
        if (roll < 4 || live.length < 100) {
          const size = 1 + rand(rand(4) === 0 ? 2000 : 120);
          const p = layout.allocate(layout.roundUp(size), size, rand(8) === 0 ? 64 : 1);
          if (p !== NIL) live.push(p);
        } else if (roll < 7) {
          layout.release(live.splice(rand(live.length), 1)[0]);
        } else if (roll < 9) {
          layout.resizeInPlace(live[rand(live.length)], 1 + rand(200));
        } else {
          const p = live[rand(live.length)];
          const host = layout.fit(layout.occupied(p), layout.alignOf(p));
          if (host !== NIL && host !== p) {
            layout.detach(p);
            layout.attach(p, layout.fit(layout.occupied(p), layout.alignOf(p)));
          }
        }
        if (i % 2000 === 0) expect(layout.check()).toBeUndefined();
      }
      expect(layout.check()).toBeUndefined();
      expect(layout.addressed).toBe(addressed);
      if (addressed) expect(layout.state.h[H_GAP_HEIGHT]).toBeGreaterThan(1);
    }
  });

  it('a best-fit layout keeps no gap index, but builds one for a compaction and drops it after', () => {
    const layout = BlockLayout.create(1 << 20, 8, FLAG_BEST_FIT, 0, 1 << 18);
    let seed = 3;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const live: number[] = [];
    const churn = (steps: number): void => {
      for (let i = 0; i < steps; i++) {
        if (live.length < 50 || rand(2) === 0) {
          const size = 1 + rand(300);
          const p = layout.allocate(layout.roundUp(size), size);
          if (p !== NIL) live.push(p);
        } else {
          layout.release(live.splice(rand(live.length), 1)[0]);
        }
      }
    };
    churn(6000);
    expect(layout.addressed).toBe(false);
    expect(layout.state.h[H_GAP_ROOT]).toBe(NIL);
    expect(layout.check()).toBeUndefined(); // every node in use is the size index's

    // A sliced compaction: the index exists from its first step to its last, kept exact by
    // the allocations and frees between steps, then goes.
    const c = new Compaction(layout, null);
    c.step(4096);
    expect(c.done).toBe(false);
    expect(layout.addressed).toBe(true);
    for (let i = 0; i < 20 && !c.done; i++) {
      churn(200);
      expect(layout.check()).toBeUndefined();
      c.step(4096);
    }
    while (!c.done) c.step(1 << 16);
    expect(layout.addressed).toBe(false);
    expect(layout.check()).toBeUndefined(); // the gap index's nodes went back to the pool

    // A whole compaction, and a gap-by-address query, which builds the index on demand.
    churn(2000);
    new Compaction(layout, null).run();
    expect(layout.addressed).toBe(false);
    expect(layout.gaps).toBe(1);
    churn(2000);
    const first = linearFirstFit(layout, 64);
    expect(layout.firstFit(64)).toBe(first);
    expect(layout.addressed).toBe(true);
    expect(layout.check()).toBeUndefined();
    layout.unaddress();
    expect(layout.check()).toBeUndefined();
  });

  it('a best-fit whole compaction builds no gap index; packing around pins and bounded slices do', () => {
    const make = (): { layout: BlockLayout; builds: () => number } => {
      const layout = BlockLayout.create(1 << 20, 8, FLAG_BEST_FIT, 0, 1 << 18);
      const ps: number[] = [];
      for (let i = 0; i < 3000; i++) ps.push(layout.allocate(64, 64));
      for (let i = 0; i < ps.length; i += 2) layout.release(ps[i]);
      let count = 0;
      const address = layout.address.bind(layout);
      layout.address = () => {
        if (!layout.addressed) count++;
        address();
      };
      return { layout, builds: () => count };
    };
    const whole = make();
    new Compaction(whole.layout, null).run();
    expect(whole.builds()).toBe(0);
    expect(whole.layout.gaps).toBe(1);
    expect(whole.layout.check()).toBeUndefined();

    const pinned = make();
    pinned.layout.pin(pinned.layout.next(pinned.layout.next(SENTINEL)));
    new Compaction(pinned.layout, null).run();
    expect(pinned.builds()).toBe(1);
    expect(pinned.layout.addressed).toBe(false);
    expect(pinned.layout.check()).toBeUndefined();

    const sliced = make();
    const c = new Compaction(sliced.layout, null);
    while (!c.done) c.step(4096);
    expect(sliced.builds()).toBe(1);
    expect(sliced.layout.addressed).toBe(false);
    expect(sliced.layout.check()).toBeUndefined();
  });

  it('check() insists on a gap index for first fit, and on no gap-index node left without one', () => {
    const first = BlockLayout.create(1 << 16, 8, 0, 0, 1000);
    first.allocate(64, 64);
    const root = first.state.h[H_GAP_ROOT];
    first.state.h[H_GAP_ROOT] = NIL;
    expect(first.check()).toBe('a first-fit heap has no gap index');
    const best = BlockLayout.create(1 << 16, 8, FLAG_BEST_FIT, 0, 1000);
    best.allocate(64, 64);
    expect(best.check()).toBeUndefined();
    best.state.h[H_GAP_HEIGHT] = 1;
    expect(best.check()).toBe('gap index height or largest gap set without a gap index');
    first.state.h[H_GAP_ROOT] = root;
    first.state.h[H_GAP_HEIGHT] = MAX_HEIGHT + 1; // deeper than any tree of 2^32 gaps
    expect(first.check()).toBe(`gap index height ${MAX_HEIGHT + 1} out of range`);
    best.state.h[H_GAP_HEIGHT] = 0;
    // A gap index dropped without freeing its nodes: they are in no tree and not unused.
    best.address();
    expect(best.check()).toBeUndefined();
    best.state.h[H_GAP_ROOT] = NIL;
    best.state.h[H_GAP_HEIGHT] = 0;
    best.state.h[H_LARGEST] = 0;
    expect(best.check()).toBe('index node accounting is broken');

    // Dropping a gap index that is not there frees nothing (least of all the nil node).
    const again = BlockLayout.create(1 << 16, 8, FLAG_BEST_FIT, 0, 1000);
    again.allocate(64, 64);
    again.address();
    again.unaddress(); // its nodes on the unused stack
    again.gapIndex.drop();
    again.gapIndex.drop();
    expect(again.check()).toBeUndefined();
  });

  it('a packing compaction whose next block was freed between steps starts over and packs every block', () => {
    for (const reuse of [false, true]) {
      const layout = BlockLayout.create(1 << 16, 8, 0, 0, 1000);
      const ps: number[] = [];
      for (let i = 0; i < 200; i++) ps.push(layout.allocate(32, 32));
      for (let i = 0; i < 200; i += 3) layout.release(ps[i]);
      layout.pin(ps[100]); // pins: the compaction packs block by block
      const c = new Compaction(layout, null);
      c.step(64);
      expect(c.done).toBe(false);
      const next = (c as unknown as { scan: number }).scan;
      expect(ps).toContain(next);
      layout.release(next);
      // Freed, or freed and its record reused by a block elsewhere.
      if (reuse) {
        let q: number;
        do q = layout.allocate(32, 32);
        while (q !== next && q !== NIL);
        expect(q).toBe(next);
      }
      while (!c.done) c.step(64);
      expect(layout.check()).toBeUndefined();
      expect(unpacked(layout)).toEqual([]);
    }
  });

  it('a packing compaction makes one more pass for blocks unpinned behind it between steps', () => {
    for (const budget of [1, 96, 256]) {
      const layout = BlockLayout.create(1 << 16, 8, 0, 0, 1000);
      const r = (): Uint32Array => layout.state.r;
      // Runs of a 40-byte block, a pinned 64-byte one and two of 48: once the 40-byte blocks
      // go, no block fits the gap in front of a pinned one, but that one, unpinned, slides down.
      const ps: number[] = [];
      for (let i = 0; i < 300; i++) {
        const size = [40, 64, 48, 48][i % 4];
        ps.push(layout.allocate(size, size));
      }
      for (let i = 0; i < 300; i += 4) layout.release(ps[i]);
      const pinned = ps.filter((_, i) => i % 4 === 1 && i < 200);
      for (const p of pinned) layout.pin(p);
      layout.pin(ps[299]); // stays pinned: the compaction keeps packing
      const c = new Compaction(layout, null);
      let unpinned = 0;
      let steps = 0;
      for (c.step(budget); !c.done; c.step(budget)) {
        expect(++steps).toBeLessThan(10_000);
        expect(layout.check()).toBeUndefined();
        // Unpin the pinned blocks the compaction has passed (below its next block).
        const next = (c as unknown as { scan: number }).scan;
        const at = next === SENTINEL ? 0 : r()[next + OFF];
        for (const p of pinned) {
          if (pinsOf(r(), p) > 0 && r()[p + OFF] < at) {
            layout.unpin(p);
            unpinned++;
          }
        }
      }
      expect(unpinned).toBeGreaterThan(20);
      expect(layout.check()).toBeUndefined();
      expect(unpacked(layout)).toEqual([]);
    }
  });

  it('a step after a compaction is done does nothing, even after an unpin', () => {
    const layout = BlockLayout.create(1 << 12, 8, FLAG_BEST_FIT, 0, 100);
    const ps: number[] = [];
    for (let i = 0; i < 20; i++) ps.push(layout.allocate(32, 32));
    for (let i = 0; i < 20; i += 3) layout.release(ps[i]);
    layout.pin(ps[10]);
    layout.pin(ps[19]);
    const c = new Compaction(layout, null).run();
    expect(c.done).toBe(true);
    expect(layout.addressed).toBe(false);
    layout.unpin(ps[10]);
    c.step(8);
    expect(c.done).toBe(true);
    expect(layout.addressed).toBe(false);
    expect(layout.check()).toBeUndefined();
  });

  it('check() names the wrong summary word of an inner node and its value, for both trees', () => {
    for (const flags of [0, FLAG_BEST_FIT]) {
      const layout = BlockLayout.create(1 << 20, 8, flags, 0, 10_000);
      const ps: number[] = [];
      for (let i = 0; i < 4000; i++) ps.push(layout.allocate(8 + 8 * (i % 7), 8 + 8 * (i % 7)));
      for (let i = 0; i < 4000; i += 2) layout.release(ps[i]); // 2,000 gaps: a two-level tree
      layout.address();
      const h = layout.state.h;
      const t = layout.state.n;
      const roots =
        flags === 0
          ? [[H_GAP_ROOT, 'gap index', 'largest gap']]
          : [
              [H_GAP_ROOT, 'gap index', 'largest gap'],
              [H_SIZE_ROOT, 'size index', 'first size'],
            ];
      for (const [word, name, summary] of roots as [number, string, string][]) {
        const root = h[word];
        const b = root * NODE_WORDS;
        expect(t[b + COUNT]).toBeGreaterThan(1);
        for (const [field, what] of [
          [NODE_LAYOUT.SUMS, summary],
          [NODE_LAYOUT.FIRSTS, 'first address'],
        ] as [number, string][]) {
          const right = t[b + field + 1];
          t[b + field + 1] = right + 8;
          expect(layout.check()).toBe(
            `${name} node ${root}: child 1 ${what} is ${right + 8}, expected ${right}`,
          );
          t[b + field + 1] = right;
          expect(layout.check()).toBeUndefined();
        }
      }
    }
  });

  it('keeps no metadata for free space: records are the live blocks and the sentinel', () => {
    const layout = BlockLayout.create(1 << 16, 8, 0, 0, 10_000);
    const ps: number[] = [];
    for (let i = 0; i < 1000; i++) ps.push(layout.allocate(8, 8));
    for (let i = 0; i < 1000; i += 2) layout.release(ps[i]); // 500 gaps between 500 blocks
    expect(layout.gaps).toBe(501);
    expect(blocksOf(layout)).toHaveLength(501);
    expect(blocksOf(layout)[0]).toBe(SENTINEL);
    expect(layout.check()).toBeUndefined();
  });
});
