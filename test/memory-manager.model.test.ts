/**
 * Model-based property test: random sequences of alloc, free, write, read and compact (sync and
 * async) run against MemoryManager and the ReferenceHeap of test/. After every step the heap
 * validates, every live block sits where the model put it and holds exactly what was written,
 * and the stats match. HEAP_SOAK=1 scales the run to about 1,000,000 operations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidHandleError, MemoryManager, OutOfMemoryError, type Handle } from '../src/index.js';
import { ReferenceHeap } from './reference-heap.js';

type Op =
  | { kind: 'alloc'; size: number; async: boolean }
  | { kind: 'free'; pick: number; async: boolean }
  | { kind: 'freeStale'; pick: number }
  | { kind: 'write'; pick: number; at: number; bytes: Uint8Array }
  | { kind: 'read'; pick: number; at: number }
  | { kind: 'compact'; async: boolean };

const soak = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  ?.HEAP_SOAK;
const RUNS = soak ? 1000 : 40;
const MAX_OPS = soak ? 2000 : 120;

function opArbitrary(maxSize: number): fc.Arbitrary<Op> {
  const pick = fc.nat();
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('alloc' as const),
        size: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: maxSize })),
        async: fc.boolean(),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('free' as const), pick, async: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeStale' as const), pick }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        pick,
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 48 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), pick, at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('compact' as const), async: fc.boolean() }),
    },
  );
}

const scenario = fc
  .record({
    capacity: fc.integer({ min: 64, max: 4096 }),
    align: fc.constantFrom(1, 2, 4, 8, 16, 64),
    autoCompact: fc.boolean(),
  })
  .chain((config) =>
    fc.record({
      config: fc.constant(config),
      ops: fc.array(opArbitrary(Math.max(1, config.capacity >> 2)), {
        minLength: 1,
        maxLength: MAX_OPS,
        size: 'max', // fast-check would otherwise keep arrays to about 10 elements
      }),
    }),
  );

/** Asserts that the heap and the model agree on everything observable. */
function expectSame(mm: MemoryManager, model: ReferenceHeap, handles: Map<number, Handle>): void {
  mm.validate();
  const s = mm.stats();
  expect(s.used).toBe(model.used);
  expect(s.free).toBe(model.capacity - model.used);
  expect(s.largestFree).toBe(model.largestFree);
  expect(s.liveBlocks).toBe(model.live.size);
  expect(s.freeBlocks).toBe(model.free.length);
  expect(s.peakUsed).toBe(model.peakUsed);
  expect(s.compactions).toBe(model.compactions);
  expect(s.bytesMoved).toBe(model.bytesMoved);
  for (const [id, block] of model.live) {
    const h = handles.get(id)!;
    expect(mm.offsetOf(h)).toBe(block.offset);
    expect(mm.sizeOf(h)).toBe(block.requested);
    expect(mm.read(h)).toEqual(block.bytes);
  }
}

async function run(config: { capacity: number; align: number; autoCompact: boolean }, ops: Op[]) {
  const mm = new MemoryManager({
    size: config.capacity,
    align: config.align,
    autoCompact: config.autoCompact,
  });
  const model = new ReferenceHeap(config.capacity, config.align);
  const handles = new Map<number, Handle>(); // model id -> handle
  const stale: Handle[] = [];
  for (const op of ops) {
    const ids = [...model.live.keys()];
    switch (op.kind) {
      case 'alloc': {
        const id = model.alloc(op.size, config.autoCompact);
        if (id === undefined) {
          const before = mm.stats();
          const call = () =>
            op.async ? mm.alloc(op.size) : Promise.resolve().then(() => mm.allocSync(op.size));
          await expect(call()).rejects.toBeInstanceOf(OutOfMemoryError);
          expect(mm.stats()).toEqual(before);
        } else {
          const h = op.async ? await mm.alloc(op.size) : mm.allocSync(op.size);
          expect(h).toBeGreaterThan(0);
          expect(mm.has(h)).toBe(true);
          handles.set(id, h);
        }
        break;
      }
      case 'free': {
        if (ids.length === 0) break;
        const id = ids[op.pick % ids.length];
        const h = handles.get(id)!;
        model.release(id);
        handles.delete(id);
        if (op.async) await mm.free(h);
        else mm.freeSync(h);
        expect(mm.has(h)).toBe(false);
        stale.push(h);
        break;
      }
      case 'freeStale': {
        if (stale.length === 0) break;
        const h = stale[op.pick % stale.length];
        // A handle once freed stays invalid, even when its slot holds a new block.
        expect(() => mm.freeSync(h)).toThrow(InvalidHandleError);
        expect(() => mm.read(h)).toThrow(InvalidHandleError);
        break;
      }
      case 'write': {
        if (ids.length === 0) break;
        const id = ids[op.pick % ids.length];
        const block = model.live.get(id)!;
        const at = op.at % block.requested;
        const data = op.bytes.subarray(0, block.requested - at);
        mm.write(handles.get(id)!, data, at);
        block.bytes.set(data, at);
        break;
      }
      case 'read': {
        if (ids.length === 0) break;
        const id = ids[op.pick % ids.length];
        const block = model.live.get(id)!;
        const at = op.at % (block.requested + 1);
        expect(mm.read(handles.get(id)!, at)).toEqual(block.bytes.subarray(at));
        break;
      }
      case 'compact': {
        const expected = model.compact();
        const result = op.async ? await mm.compact() : mm.compactSync();
        expect(result).toEqual(expected);
        break;
      }
    }
    expectSame(mm, model, handles);
  }
}

describe('MemoryManager against the reference model', () => {
  it(
    'makes the same placements, keeps every byte and the same stats over random operation sequences',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ config, ops }) => {
          await run(config, ops);
        }),
        { numRuns: RUNS },
      );
    },
    soak ? 3_600_000 : 60_000,
  );
});
