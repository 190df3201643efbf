/**
 * The free indexes against arrays scanned linearly (the references of their queries,
 * first fit and best fit), over random inserts, removals and changes; check() after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockRecords, NIL, OFF, SIZE } from '../src/block-records.js';
import { FreeIndex } from '../src/free-index.js';
import { SizeIndex } from '../src/size-index.js';

type Op =
  | { kind: 'insert'; slot: number; size: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'shrinkFront'; pick: number; by: number }
  | { kind: 'grow'; pick: number; by: number }
  | { kind: 'fit'; n: number };

const SLOT = 64; // the address space is cut into slots of 64 bytes; a block lives inside one slot

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      slot: fc.nat({ max: 499 }),
      size: fc.integer({ min: 1, max: 32 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('shrinkFront' as const),
      pick: fc.nat(),
      by: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('grow' as const),
      pick: fc.nat(),
      by: fc.integer({ min: 1, max: 31 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('fit' as const), n: fc.integer({ min: 1, max: 64 }) }),
  },
);

describe('FreeIndex', () => {
  it('answers first fit exactly as a linear scan of the sorted free list', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: 'max' }), (ops) => {
        const records = new BlockRecords(4);
        const index = new FreeIndex(records);
        const model: number[] = []; // record pointers, sorted by offset
        const bySlot = new Map<number, number>();
        for (const o of ops) {
          switch (o.kind) {
            case 'insert': {
              if (bySlot.has(o.slot)) break;
              const p = records.take();
              records.r[p + OFF] = o.slot * SLOT;
              records.r[p + SIZE] = o.size;
              index.insert(p);
              bySlot.set(o.slot, p);
              model.push(p);
              model.sort((a, b) => records.r[a + OFF] - records.r[b + OFF]);
              break;
            }
            case 'remove': {
              if (model.length === 0) break;
              const p = model.splice(o.pick % model.length, 1)[0];
              index.remove(p);
              bySlot.delete(Math.floor(records.r[p + OFF] / SLOT));
              records.give(p);
              break;
            }
            case 'shrinkFront': {
              if (model.length === 0) break;
              const p = model[o.pick % model.length];
              const r = records.r;
              if (r[p + SIZE] <= o.by) break;
              r[p + OFF] += o.by;
              r[p + SIZE] -= o.by;
              index.changed(p);
              break;
            }
            case 'grow': {
              if (model.length === 0) break;
              const p = model[o.pick % model.length];
              const r = records.r;
              const room = SLOT - (r[p + OFF] % SLOT) - r[p + SIZE];
              r[p + SIZE] += Math.min(o.by, room);
              index.changed(p);
              break;
            }
            case 'fit': {
              const r = records.r;
              const expected = model.find((p) => r[p + SIZE] >= o.n) ?? NIL;
              expect(index.firstFit(o.n)).toBe(expected);
              break;
            }
          }
          expect(index.check()).toBeUndefined();
          expect(index.count).toBe(model.length);
          expect(index.largest).toBe(Math.max(0, ...model.map((p) => records.r[p + SIZE])));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('stays shallow when blocks are inserted in address order', () => {
    const records = new BlockRecords();
    const index = new FreeIndex(records);
    const n = 1 << 14;
    for (let i = 0; i < n; i++) {
      const p = records.take();
      records.r[p + OFF] = i * 16;
      records.r[p + SIZE] = 8;
      index.insert(p);
    }
    // Walk to the deepest leaf: a treap with hashed priorities stays O(log n) deep.
    const r = records.r;
    const depth = (t: number): number =>
      t === NIL ? 0 : 1 + Math.max(depth(r[t + 5]), depth(r[t + 6]));
    expect(depth(index.root)).toBeLessThan(4 * Math.log2(n));
    expect(index.check()).toBeUndefined();
  });
});

describe('SizeIndex', () => {
  it('answers best fit exactly as a linear scan for the smallest fitting block, lowest address first', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('insert' as const),
              slot: fc.nat({ max: 299 }),
              size: fc.integer({ min: 1, max: 40 }),
            }),
            fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
            fc.record({ kind: fc.constant('fit' as const), n: fc.integer({ min: 1, max: 48 }) }),
          ),
          { maxLength: 400, size: 'max' },
        ),
        (ops) => {
          const records = new BlockRecords(4);
          const index = new SizeIndex(records);
          const live: number[] = [];
          const used = new Set<number>();
          for (const o of ops) {
            const r = records.r;
            if (o.kind === 'insert') {
              if (used.has(o.slot)) continue;
              const p = records.take();
              records.r[p + OFF] = o.slot * SLOT;
              records.r[p + SIZE] = o.size;
              index.insert(p);
              used.add(o.slot);
              live.push(p);
            } else if (o.kind === 'remove') {
              if (live.length === 0) continue;
              const p = live.splice(o.pick % live.length, 1)[0];
              index.remove(p);
              used.delete(r[p + OFF] / SLOT);
              records.give(p);
            } else {
              let expected = NIL;
              for (const p of live) {
                if (r[p + SIZE] < o.n) continue;
                if (
                  expected === NIL ||
                  r[p + SIZE] < r[expected + SIZE] ||
                  (r[p + SIZE] === r[expected + SIZE] && r[p + OFF] < r[expected + OFF])
                )
                  expected = p;
              }
              expect(index.bestFit(o.n)).toBe(expected);
            }
            expect(index.check()).toBeUndefined();
            expect(index.count).toBe(live.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
