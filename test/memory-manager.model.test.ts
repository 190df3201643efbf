/**
 * Model-based property test: random sequences of alloc, free, resize, write, read, view, pin,
 * unpin and compact (sync, async and sliced) run against MemoryManager and the ReferenceHeap of
 * test/, for both placement strategies. After every step the heap validates, every live block
 * sits where the model put it and holds exactly what was written, the stats match, the epoch
 * moved exactly when blocks moved, and a mirror kept only from move events equals the heap.
 *
 * The checks compare with plain code and call expect() only on a difference (so a failure
 * still shows vitest's diff): vitest's deep equality on every block's bytes and an expect() per
 * block at every step were over 90% of the run time and made the soak take over 40 minutes; it
 * now takes a minute or two, and the default run well under a second.
 *
 * HEAP_SOAK=1 (`npm run soak`) scales the run to about 1,000,000 operations (1000 runs of up to
 * 2000 operations) and prints progress every 50 runs; HEAP_SOAK_RUNS=n sets the number of runs
 * (e.g. a sample). Soaking makes the same checks as the default run, after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidHandleError,
  MemoryManager,
  MemoryManagerError,
  OutOfMemoryError,
  type BlockMove,
  type Handle,
  type HeapStats,
} from '../src/index.js';
import { ReferenceHeap, type RefOutcome, type RefStrategy } from './reference-heap.js';

type Op =
  | { kind: 'alloc'; size: number; align: number | undefined; async: boolean }
  | { kind: 'free'; pick: number; async: boolean }
  | { kind: 'freeStale'; pick: number }
  | { kind: 'resize'; pick: number; size: number; async: boolean }
  | { kind: 'write'; pick: number; at: number; bytes: Uint8Array; viaView: boolean }
  | { kind: 'read'; pick: number; at: number; viaView: boolean }
  | { kind: 'pin'; pick: number }
  | { kind: 'unpin'; pick: number }
  | { kind: 'compact'; mode: 'sync' | 'async' | 'sliced'; sliceBytes: number };

interface Config {
  capacity: number;
  align: number;
  autoCompact: boolean;
  strategy: RefStrategy;
}

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
const soak = env?.HEAP_SOAK !== undefined && env.HEAP_SOAK !== '';
const RUNS = soak ? Number(env?.HEAP_SOAK_RUNS || 1000) : 40;
const MAX_OPS = soak ? 2000 : 120; // lengths spread evenly up to the maximum: about 1,000,000 operations when soaking
/** While soaking, progress is printed every this many runs. */
const PROGRESS_EVERY = 50;

function opArbitrary(maxSize: number): fc.Arbitrary<Op> {
  const pick = fc.nat();
  // Mostly small blocks, so heaps hold many blocks and many holes.
  const size = fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: maxSize }));
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('alloc' as const),
        size,
        // Now and then a block asks for its own alignment (below, at or above the heap's).
        align: fc.oneof(
          { weight: 4, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom(2, 16, 32, 64, 128, 256) },
        ),
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
        kind: fc.constant('resize' as const),
        pick,
        size,
        async: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        pick,
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 48 }),
        viaView: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('read' as const),
        pick,
        at: fc.nat(),
        viaView: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pin' as const), pick }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unpin' as const), pick }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('compact' as const),
        mode: fc.constantFrom('sync' as const, 'async' as const, 'sliced' as const),
        sliceBytes: fc.integer({ min: 1, max: 256 }),
      }),
    },
  );
}

const scenario = fc
  .record({
    capacity: fc.integer({ min: 64, max: 4096 }),
    align: fc.constantFrom(1, 2, 4, 8, 16, 64),
    autoCompact: fc.boolean(),
    strategy: fc.constantFrom<RefStrategy>('first-fit', 'best-fit'),
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

/** Applies a batch of moves to a mirror as the onMove documentation says: in order, in place. */
function applyMoves(mirror: Uint8Array, moves: readonly BlockMove[]): void {
  const staged = new Map<number, Uint8Array>();
  for (const m of moves) {
    if (m.kind === 'move') mirror.copyWithin(m.to, m.from, m.from + m.size);
    else if (m.kind === 'stage') staged.set(m.to, mirror.slice(m.from, m.from + m.size));
    else mirror.set(staged.get(m.from)!, m.to);
  }
}

/** True when `a` and `b` are byte arrays of the same kind holding the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `a` and `b` have the same keys with the same values (Object.is). */
function sameStats(a: HeapStats, b: HeapStats): boolean {
  const keys = Object.keys(b) as (keyof HeapStats)[];
  return Object.keys(a).length === keys.length && keys.every((k) => Object.is(a[k], b[k]));
}

/** Expects `actual` to equal `expected` bytes; expect() runs only when they differ. */
function expectBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (!sameBytes(actual, expected)) expect(actual, what).toEqual(expected);
}

/** Expects `actual` to be `expected`; expect() runs only when they differ. */
function expectValue(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected)) expect(actual, what).toBe(expected);
}

/** Asserts that the heap and the model agree on everything observable. */
function expectSame(
  mm: MemoryManager,
  model: ReferenceHeap,
  handles: Map<number, Handle>,
  mirror: Uint8Array,
): void {
  mm.validate();
  const stats = mm.stats();
  const expected = model.stats();
  if (!sameStats(stats, expected)) expect(stats).toEqual(expected);
  for (const [id, block] of model.live) {
    const h = handles.get(id)!;
    expectValue(mm.offsetOf(h), block.offset, `offsetOf block ${id}`);
    expectValue(mm.sizeOf(h), block.requested, `sizeOf block ${id}`);
    expectValue(mm.alignOf(h), block.align, `alignOf block ${id}`);
    expectValue(mm.isPinned(h), block.pins > 0, `isPinned block ${id}`);
    expectBytes(mm.read(h), block.bytes, `read of block ${id}`);
    expectBytes(
      mirror.subarray(block.offset, block.offset + block.requested),
      block.bytes,
      `mirror of block ${id}`,
    );
  }
}

async function expectRefusal(outcome: RefOutcome, call: () => Promise<unknown>): Promise<void> {
  if (outcome === 'out-of-memory') await expect(call()).rejects.toBeInstanceOf(OutOfMemoryError);
  else await expect(call()).rejects.toMatchObject({ code: 'ERR_BLOCK_PINNED' });
}

async function run(config: Config, ops: Op[]): Promise<void> {
  const mm = new MemoryManager({
    size: config.capacity,
    align: config.align,
    autoCompact: config.autoCompact,
    strategy: config.strategy,
  });
  const model = new ReferenceHeap(
    config.capacity,
    config.align,
    config.strategy,
    config.autoCompact,
  );
  const handles = new Map<number, Handle>(); // model id -> handle
  const stale: Handle[] = [];
  // The mirror follows the heap through move events and the writes this test makes.
  const mirror = new Uint8Array(mm.capacity);
  mm.onMove((moves) => applyMoves(mirror, moves));
  const mirrorWrite = (id: number, data: Uint8Array, at: number): void => {
    mirror.set(data, model.block(id).offset + at);
  };
  // New and grown blocks read as zeros: mirror that too.
  const mirrorZero = (id: number, from: number): void => {
    const b = model.block(id);
    mirror.fill(0, b.offset + from, b.offset + b.requested);
  };

  for (const op of ops) {
    const ids = [...model.live.keys()];
    const chosen = ids.length === 0 ? undefined : ids[('pick' in op ? op.pick : 0) % ids.length];
    const offsetsBefore = new Map([...model.live].map(([id, b]) => [id, b.offset]));
    const epochBefore = mm.epoch;
    switch (op.kind) {
      case 'alloc': {
        const id = model.alloc(op.size, op.align);
        const options = op.align === undefined ? undefined : { align: op.align };
        const call = (): Promise<Handle> =>
          op.async
            ? mm.alloc(op.size, options)
            : Promise.resolve().then(() => mm.allocSync(op.size, options));
        if (id === undefined) {
          await expect(call()).rejects.toBeInstanceOf(OutOfMemoryError);
        } else {
          const h = await call();
          if (!(h > 0)) expect(h, 'handle').toBeGreaterThan(0);
          handles.set(id, h);
          mirrorZero(id, 0);
        }
        break;
      }
      case 'free': {
        if (chosen === undefined) break;
        const h = handles.get(chosen)!;
        const outcome = model.release(chosen);
        const call = (): Promise<void> =>
          op.async ? mm.free(h) : Promise.resolve().then(() => mm.freeSync(h));
        if (outcome !== 'ok') {
          await expectRefusal(outcome, call);
          break;
        }
        await call();
        handles.delete(chosen);
        expectValue(mm.has(h), false, 'has after free');
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
      case 'resize': {
        if (chosen === undefined) break;
        const h = handles.get(chosen)!;
        const oldSize = model.block(chosen).requested;
        const outcome = model.resize(chosen, op.size);
        const call = (): Promise<void> =>
          op.async
            ? mm.resize(h, op.size)
            : Promise.resolve().then(() => mm.resizeSync(h, op.size));
        if (outcome !== 'ok') {
          await expectRefusal(outcome, call);
          break;
        }
        await call();
        if (op.size > oldSize) mirrorZero(chosen, oldSize);
        break;
      }
      case 'write': {
        if (chosen === undefined) break;
        const block = model.block(chosen);
        const at = op.at % block.requested;
        const data = op.bytes.subarray(0, block.requested - at);
        if (op.viaView) mm.view(handles.get(chosen)!).set(data, at);
        else mm.write(handles.get(chosen)!, data, at);
        block.bytes.set(data, at);
        mirrorWrite(chosen, data, at);
        break;
      }
      case 'read': {
        if (chosen === undefined) break;
        const block = model.block(chosen);
        const at = op.at % (block.requested + 1);
        const got = op.viaView
          ? mm.view(handles.get(chosen)!).subarray(at)
          : mm.read(handles.get(chosen)!, at);
        expectBytes(got, block.bytes.subarray(at), `read of block ${chosen} at ${at}`);
        break;
      }
      case 'pin': {
        if (chosen === undefined) break;
        mm.pin(handles.get(chosen)!);
        model.block(chosen).pins++;
        break;
      }
      case 'unpin': {
        if (chosen === undefined) break;
        const block = model.block(chosen);
        if (block.pins === 0) {
          expect(() => mm.unpin(handles.get(chosen)!)).toThrow(MemoryManagerError);
          break;
        }
        mm.unpin(handles.get(chosen)!);
        block.pins--;
        break;
      }
      case 'compact': {
        const expected = model.compact();
        const result =
          op.mode === 'sync'
            ? mm.compactSync()
            : await mm.compact(op.mode === 'sliced' ? { sliceBytes: op.sliceBytes } : {});
        expect(result).toEqual(expected);
        break;
      }
    }
    const moved = [...model.live].some(
      ([id, b]) => offsetsBefore.has(id) && offsetsBefore.get(id) !== b.offset,
    );
    // The epoch moved exactly when blocks moved.
    if (moved ? !(mm.epoch > epochBefore) : mm.epoch !== epochBefore) {
      if (moved) expect(mm.epoch, 'epoch after moves').toBeGreaterThan(epochBefore);
      else expect(mm.epoch, 'epoch without moves').toBe(epochBefore);
    }
    expectSame(mm, model, handles, mirror);
  }
}

describe('MemoryManager against the reference model', () => {
  it(
    'makes the same placements, keeps every byte and the same stats over random operation sequences',
    async () => {
      const started = Date.now();
      let runs = 0;
      let operations = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async ({ config, ops }) => {
          await run(config, ops);
          runs++;
          operations += ops.length;
          if (soak && runs % PROGRESS_EVERY === 0) {
            const seconds = ((Date.now() - started) / 1000).toFixed(0);
            console.log(`soak: ${runs}/${RUNS} runs, ${operations} operations, ${seconds} s`);
          }
        }),
        { numRuns: RUNS },
      );
    },
    soak ? 3_600_000 : 120_000,
  );
});
