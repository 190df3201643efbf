// Incremental compaction, as a specification: `compact({ sliceBytes, signal })` moves about
// sliceBytes at a time and yields to the real event loop (a macrotask) between slices; between
// slices the heap is valid and readable, sync mutators are refused and async ones wait; it can
// be aborted; `compactSliceBytes` makes auto-compaction of async `alloc` incremental too.
// No fake timers here: the tests prove that real timers fire while a compaction runs.
// Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  HeapBusyError,
  MemoryManager,
  type BlockMove,
  type Handle,
  type MemoryManagerOptions,
} from '../src/index.js';
import {
  bytesOf,
  expectCoded,
  heapOver,
  nth,
  rejected,
  takeSnapshot,
  type TestHeap,
  recordMoves,
} from './heap-snapshot.js';
import { mulberry32 as prng } from './prng.js';

const MiB = 1024 * 1024;
const SLICE = 4096;
/** A small fragmented heap: 24 blocks in 16 KiB. */
const SMALL = { capacity: 16 * 1024, count: 24 };

interface Fragmented extends TestHeap {
  /** The bytes each live block must hold. */
  expected: Map<Handle, Uint8Array>;
  /** Live handles in address order (as allocated). */
  live: Handle[];
  /** The largest block, in bytes. */
  maxBlock: number;
}

/**
 * A heap of `capacity` bytes filled with `count` blocks of 128..1016 bytes (multiples of 8, so
 * a block occupies exactly its size), each holding its own bytes, with every third block freed
 * from the first on: nearly every live block has to move. Deterministic: two calls with the
 * same arguments build identical heaps. With `pinEvery`, every pinEvery-th live block is pinned.
 */
function fragmented(
  options: Omit<MemoryManagerOptions, 'size' | 'buffer'> = {},
  { capacity = 4 * MiB, count = 6000, pinEvery = 0 } = {},
): Fragmented {
  const heap = heapOver(capacity, options);
  const { mm } = heap;
  const rand = prng(capacity + count);
  const expected = new Map<Handle, Uint8Array>();
  const all: Handle[] = [];
  let maxBlock = 0;
  for (let i = 0; i < count; i++) {
    const size = 8 * (16 + Math.floor(rand() * 112));
    maxBlock = Math.max(maxBlock, size);
    const h = mm.allocSync(size);
    const bytes = bytesOf(i + 1, size);
    mm.write(h, bytes);
    all.push(h);
    expected.set(h, bytes);
  }
  const live: Handle[] = [];
  all.forEach((h, i) => {
    if (i % 3 === 0) {
      mm.freeSync(h);
      expected.delete(h);
    } else {
      live.push(h);
    }
  });
  if (pinEvery > 0) {
    for (let i = 0; i < live.length; i += pinEvery) mm.pin(nth(live, i));
  }
  return { ...heap, expected, live, maxBlock };
}

/** True when `a` and `b` hold the same bytes. */
function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The live blocks whose bytes differ from `expected`. */
function wrongBlocks(mm: MemoryManager, expected: Map<Handle, Uint8Array>): Handle[] {
  const wrong: Handle[] = [];
  for (const [h, bytes] of expected) if (!sameBytes(mm.read(h), bytes)) wrong.push(h);
  return wrong;
}

/** True when the live blocks are packed from offset 0 with one free block above them. */
function isFullyCompact(mm: MemoryManager): boolean {
  let at = 0;
  for (const b of mm.blocks()) {
    if (b.offset !== at) return false;
    at += b.size;
  }
  const stats = mm.stats();
  return stats.freeBlocks === 1 && stats.largestFree === stats.free && at === stats.used;
}

describe('compact({ sliceBytes })', () => {
  it('yields to the event loop between slices: timers started before it fire while it runs', async () => {
    const { mm } = fragmented();
    let ticks = 0;
    const busyInTimer: unknown[] = [];
    const interval = setInterval(() => {
      ticks++;
      if (busyInTimer.length === 0) {
        try {
          mm.allocSync(8);
          busyInTimer.push('allocSync did not throw');
        } catch (error) {
          busyInTimer.push(error);
        }
      }
    }, 0);
    let timeoutFired = false;
    setTimeout(() => {
      timeoutFired = true;
    }, 0);
    let ticksWhenDone = -1;
    let timeoutFiredWhenDone = false;
    try {
      await mm.compact({ sliceBytes: SLICE }).then(() => {
        ticksWhenDone = ticks;
        timeoutFiredWhenDone = timeoutFired;
      });
    } finally {
      clearInterval(interval);
    }
    expect(ticksWhenDone).toBeGreaterThan(0);
    expect(timeoutFiredWhenDone).toBe(true);
    expect(busyInTimer).toHaveLength(1);
    expectCoded(busyInTimer[0], HeapBusyError, 'ERR_HEAP_BUSY');
    expect(isFullyCompact(mm)).toBe(true);
  });

  it('calls onMove once per slice, each slice moving about sliceBytes, together listing every move once', async () => {
    const { mm, maxBlock } = fragmented();
    const twin = fragmented().mm;
    const batches = recordMoves(mm);
    const result = await mm.compact({ sliceBytes: SLICE });
    expect(result).toEqual(twin.compactSync());
    expect(mm.epoch).toBe(batches.length);
    expect(mm.stats().compactions).toBe(1); // a sliced compaction counts once

    const bytes = batches.map((batch) => batch.reduce((n, m) => n + m.size, 0));
    expect(bytes.reduce((n, b) => n + b, 0)).toBe(result.bytesMoved);
    expect(batches.flat().length).toBe(result.blocksMoved);
    expect(new Set(batches.flat().map((m) => m.handle)).size).toBe(result.blocksMoved);
    // At least sliceBytes per slice (but the last), and less than one block more.
    expect(bytes.slice(0, -1).filter((b) => b < SLICE || b >= SLICE + maxBlock)).toEqual([]);
    expect(nth(bytes, bytes.length - 1)).toBeGreaterThan(0);
    expect(nth(bytes, bytes.length - 1)).toBeLessThan(SLICE + maxBlock);
    expect(batches.length).toBeGreaterThanOrEqual(
      Math.ceil(result.bytesMoved / (SLICE + maxBlock)),
    );
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(result.bytesMoved / SLICE));
    expect(batches.length).toBeGreaterThan(100);
  });

  it('ends in the same state, with the same result, as compactSync on an identical heap', async () => {
    const heap = fragmented();
    const twin = fragmented();
    const result = await heap.mm.compact({ sliceBytes: SLICE });
    const twinResult = twin.mm.compactSync();
    expect(result).toEqual(twinResult);
    expect(result.blocksMoved).toBe(heap.live.length); // the first block was freed: all move
    expect(heap.mm.blocks()).toEqual(twin.mm.blocks());
    expect(heap.mm.stats()).toEqual(twin.mm.stats());
    expect(sameBytes(heap.memory, twin.memory)).toBe(true);
    expect(wrongBlocks(heap.mm, heap.expected)).toEqual([]);
    expect(isFullyCompact(heap.mm)).toBe(true);
  });

  it('between slices read, write and view are correct and validate passes; a write survives the rest of the compaction', async () => {
    const { mm, expected, live } = fragmented();
    const problems: string[] = [];
    const rewritten = new Set<Handle>();
    const movedAfterRewrite = new Set<Handle>();
    let slice = 0;
    mm.onMove((moves) => {
      slice++;
      try {
        mm.validate();
      } catch (error) {
        problems.push(`slice ${slice}: ${String(error)}`);
      }
      // The blocks that just moved, every 97th block, and all blocks now and then.
      const check =
        slice % 150 === 1
          ? [...expected.keys()]
          : [...moves.map((m) => m.handle), ...live.filter((_, i) => i % 97 === slice % 97)];
      for (const h of check) {
        const bytes = expected.get(h)!;
        if (!sameBytes(mm.read(h), bytes)) problems.push(`slice ${slice}: read of block ${h}`);
        if (!sameBytes(mm.view(h), bytes)) problems.push(`slice ${slice}: view of block ${h}`);
        const f64 = mm.view(h, Float64Array);
        if (!sameBytes(new Uint8Array(f64.buffer, f64.byteOffset, f64.byteLength), bytes)) {
          problems.push(`slice ${slice}: Float64Array view of block ${h}`);
        }
      }
      for (const m of moves) if (rewritten.has(m.handle)) movedAfterRewrite.add(m.handle);
      if (slice === 3) {
        // Blocks all over the heap, most of them not moved yet.
        live.forEach((h, i) => {
          if (i % 200 !== 7) return;
          const bytes = bytesOf(9000 + i, mm.sizeOf(h));
          mm.write(h, bytes);
          expected.set(h, bytes);
          rewritten.add(h);
        });
      }
    });
    await mm.compact({ sliceBytes: SLICE });
    expect(problems).toEqual([]);
    expect(slice).toBeGreaterThan(300);
    expect(rewritten.size).toBe(Math.ceil((live.length - 7) / 200));
    expect(movedAfterRewrite.size).toBeGreaterThan(rewritten.size / 2);
    expect(wrongBlocks(mm, expected)).toEqual([]);
    mm.validate();
  });

  it('between slices allocSync, freeSync, resizeSync and compactSync throw HeapBusyError and change nothing', async () => {
    const { mm, live } = fragmented();
    const twin = fragmented().mm;
    const target = nth(live, 100);
    const size = mm.sizeOf(target);
    const outcomes: unknown[] = [];
    mm.onMove(() => {
      if (outcomes.length > 0) return;
      for (const call of [
        () => mm.allocSync(8),
        () => mm.freeSync(target),
        () => mm.resizeSync(target, 8),
        () => mm.compactSync(),
      ]) {
        try {
          call();
          outcomes.push('returned');
        } catch (error) {
          outcomes.push(error);
        }
      }
    });
    const result = await mm.compact({ sliceBytes: SLICE });
    expect(outcomes).toHaveLength(4);
    for (const outcome of outcomes) expectCoded(outcome, HeapBusyError, 'ERR_HEAP_BUSY');
    expect(mm.sizeOf(target)).toBe(size);
    expect(result).toEqual(twin.compactSync());
    expect(mm.blocks()).toEqual(twin.blocks());
    expect(mm.stats()).toEqual(twin.stats());
  });

  it('async alloc and free called between slices wait: they resolve after the compaction, in call order', async () => {
    const { mm, live } = fragmented();
    const twin = fragmented().mm;
    const victim = nth(live, 10);
    const liveBefore = mm.stats().liveBlocks;
    const order: string[] = [];
    const ranEarly: number[] = [];
    let queued: [Promise<Handle>, Promise<void>, Promise<Handle>] | undefined;
    let slice = 0;
    mm.onMove(() => {
      slice++;
      if (queued === undefined) {
        queued = [
          mm.alloc(64).then((h) => {
            order.push('alloc(64)');
            return h;
          }),
          mm.free(victim).then(() => {
            order.push('free');
          }),
          mm.alloc(100).then((h) => {
            order.push('alloc(100)');
            return h;
          }),
        ];
      } else if (!mm.has(victim) || mm.stats().liveBlocks !== liveBefore) {
        ranEarly.push(slice);
      }
    });
    const compaction = mm.compact({ sliceBytes: SLICE }).then((result) => {
      order.push('compact');
      return result;
    });
    await compaction;
    expect(queued).toBeDefined();
    const [first, , second] = await Promise.all(queued!);
    expect(ranEarly).toEqual([]);
    expect(slice).toBeGreaterThan(1);
    expect(order).toEqual(['compact', 'alloc(64)', 'free', 'alloc(100)']);

    // The same calls, one after another.
    twin.compactSync();
    const twinFirst = twin.allocSync(64);
    twin.freeSync(victim);
    const twinSecond = twin.allocSync(100);
    expect([first, second]).toEqual([twinFirst, twinSecond]);
    expect(mm.blocks()).toEqual(twin.blocks());
    expect(mm.offsetOf(second)).toBe(twin.offsetOf(twinSecond)); // in the victim's place
  });
});

describe('compact({ signal })', () => {
  it("aborted from a listener after the first slice: rejects with the signal's reason, the heap is valid and keeps every byte", async () => {
    const { mm, expected } = fragmented();
    const twin = fragmented().mm;
    const offsets = new Map(mm.blocks().map((b) => [b.handle, b.offset]));
    const controller = new AbortController();
    const batches: (readonly BlockMove[])[] = [];
    mm.onMove((moves) => {
      batches.push(moves);
      if (batches.length === 1) controller.abort();
    });
    const error = await rejected(mm.compact({ sliceBytes: SLICE, signal: controller.signal }));
    expect(error).toBe(controller.signal.reason);
    expect((error as { name: unknown }).name).toBe('AbortError');
    expect(batches).toHaveLength(1);
    mm.validate();
    expect(wrongBlocks(mm, expected)).toEqual([]);
    const moved = mm.blocks().filter((b) => offsets.get(b.handle) !== b.offset);
    expect(moved.map((b) => b.handle)).toEqual(nth(batches, 0).map((m) => m.handle));
    const full = twin.compactSync();
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(full.blocksMoved);
    expect(isFullyCompact(mm)).toBe(false);

    // A later compaction finishes the job.
    const rest = await mm.compact();
    expect(moved.length + rest.blocksMoved).toBe(full.blocksMoved);
    expect(isFullyCompact(mm)).toBe(true);
    expect(mm.blocks()).toEqual(twin.blocks());
    expect(wrongBlocks(mm, expected)).toEqual([]);
    mm.validate();
  });

  it("a best-fit heap's gap index, built for a sliced compaction, goes when it ends, when it is aborted, and in a copy restored from between slices", async () => {
    // Best-fit heaps keep gaps by address only while a compaction needs them (the engine's
    // flag, read through the internals: no public API shows it).
    const addressed = (mm: MemoryManager): boolean =>
      (mm as unknown as { core: { layout: { addressed: boolean } } }).core.layout.addressed;
    const done = fragmented({ strategy: 'best-fit' }).mm;
    expect(addressed(done)).toBe(false);
    let seen = false;
    done.onMove(() => (seen ||= addressed(done)));
    await done.compact({ sliceBytes: SLICE });
    expect(seen).toBe(true); // it was there between slices
    expect(addressed(done)).toBe(false);
    done.validate();

    const { mm, expected } = fragmented({ strategy: 'best-fit' });
    const controller = new AbortController();
    let copy: Uint8Array | undefined;
    mm.onMove(() => {
      copy ??= mm.save(); // between the first and second slices
      controller.abort();
    });
    await rejected(mm.compact({ sliceBytes: SLICE, signal: controller.signal }));
    expect(addressed(mm)).toBe(false);
    mm.validate();
    expect(wrongBlocks(mm, expected)).toEqual([]);
    const restored = MemoryManager.restore(copy!);
    expect(addressed(restored)).toBe(false);
    restored.validate();
    expect(restored.blocks()).toEqual(mm.blocks());
  });

  it('rejects with a custom abort reason as given', async () => {
    const { mm } = fragmented({}, SMALL);
    const controller = new AbortController();
    const reason = new Error('stop compacting');
    mm.onMove(() => {
      controller.abort(reason);
    });
    expect(await rejected(mm.compact({ sliceBytes: 256, signal: controller.signal }))).toBe(reason);
    mm.validate();
  });

  it('an already-aborted signal rejects without moving anything', async () => {
    const heap = fragmented({}, SMALL);
    const { mm } = heap;
    const before = takeSnapshot(heap);
    const batches = recordMoves(mm);
    const controller = new AbortController();
    controller.abort();
    const error = await rejected(mm.compact({ sliceBytes: 256, signal: controller.signal }));
    expect(error).toBe(controller.signal.reason);
    expect((error as { name: unknown }).name).toBe('AbortError');
    expect(takeSnapshot(heap)).toEqual(before);
    expect(batches).toEqual([]);
    expect(mm.epoch).toBe(0);
    // The same with a signal but no sliceBytes.
    expect(await rejected(mm.compact({ signal: controller.signal }))).toBe(error);
    expect(takeSnapshot(heap)).toEqual(before);
  });

  it('a signal that is never aborted changes nothing: the compaction completes', async () => {
    const { mm, expected } = fragmented({}, SMALL);
    const twin = fragmented({}, SMALL).mm;
    const result = await mm.compact({ sliceBytes: 256, signal: new AbortController().signal });
    expect(result).toEqual(twin.compactSync());
    expect(isFullyCompact(mm)).toBe(true);
    expect(wrongBlocks(mm, expected)).toEqual([]);
  });
});

describe('incremental compaction and other settings', () => {
  it('a best-fit heap compacts in slices to the same state as compactSync, and allocates alike afterwards', async () => {
    const heap = fragmented({ strategy: 'best-fit' });
    const twin = fragmented({ strategy: 'best-fit' });
    const problems: string[] = [];
    heap.mm.onMove(() => {
      try {
        heap.mm.validate();
      } catch (error) {
        problems.push(String(error));
      }
    });
    expect(await heap.mm.compact({ sliceBytes: SLICE })).toEqual(twin.mm.compactSync());
    expect(problems).toEqual([]);
    expect(heap.mm.blocks()).toEqual(twin.mm.blocks());
    for (const size of [100, 5000, 8]) {
      expect(heap.mm.offsetOf(heap.mm.allocSync(size))).toBe(
        twin.mm.offsetOf(twin.mm.allocSync(size)),
      );
    }
    expect(wrongBlocks(heap.mm, heap.expected)).toEqual([]);
    heap.mm.validate();
  });

  it('a block pinned between slices stays put from then on; the compaction completes around it', async () => {
    const { mm, expected, live } = fragmented();
    const late = nth(live, 3000); // far from the start: not moved by the first slices
    let pinnedAt = -1;
    let slice = 0;
    const movedAfterPin: Handle[] = [];
    mm.onMove((moves) => {
      slice++;
      if (pinnedAt >= 0) for (const m of moves) if (m.handle === late) movedAfterPin.push(late);
      if (slice === 2) {
        mm.pin(late);
        pinnedAt = mm.offsetOf(late);
      }
    });
    await mm.compact({ sliceBytes: SLICE });
    expect(slice).toBeGreaterThan(2);
    expect(movedAfterPin).toEqual([]);
    expect(mm.offsetOf(late)).toBe(pinnedAt);
    expect(wrongBlocks(mm, expected)).toEqual([]);
    mm.validate();
    // Nothing below the pinned block is left with room to move down.
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
    mm.unpin(late);
    await mm.compact({ sliceBytes: SLICE });
    expect(isFullyCompact(mm)).toBe(true);
    expect(wrongBlocks(mm, expected)).toEqual([]);
  });
  it("an alloc's sliced compaction makes no extra pass: a block unpinned and pinned again meanwhile cannot take the planned room", async () => {
    // 8-byte units: P g M g X A Y g T(4) U, then the g's freed and P X A Y U pinned. alloc(16)
    // needs the plan: M and T move, opening 16 bytes at offset 16.
    const mm = new MemoryManager({ size: 104, compactSliceBytes: 1 });
    const units: [string, number][] = [
      ['P', 1],
      ['g1', 1],
      ['M', 1],
      ['g2', 1],
      ['X', 1],
      ['A', 1],
      ['Y', 1],
      ['g3', 1],
      ['T', 4],
      ['U', 1],
    ];
    const h = new Map<string, Handle>();
    for (const [name, n] of units) h.set(name, mm.allocSync(8 * n));
    for (const name of ['g1', 'g2', 'g3']) mm.freeSync(h.get(name)!);
    for (const name of ['P', 'X', 'A', 'Y', 'U']) mm.pin(h.get(name)!);
    const a = h.get('A')!;
    const at = mm.offsetOf(a);
    let batch = 0;
    mm.onMove(() => {
      batch++;
      if (batch === 2) mm.unpin(a); // the compaction has passed A
      if (batch === 3) mm.pin(a); // and A is pinned again (to read it, say)
    });
    const big = await mm.alloc(16);
    expect(mm.sizeOf(big)).toBe(16);
    expect(mm.offsetOf(a)).toBe(at); // not moved into the room the allocation was promised
    expect(batch).toBeGreaterThanOrEqual(2); // A was unpinned behind the compaction
    mm.validate();
  });

  it('blocks unpinned between slices, behind the compaction, get one more pass: nothing is left to move', async () => {
    const { mm, expected, live } = fragmented({}, { pinEvery: 40 });
    const pinned = live.filter((_, i) => i % 40 === 0);
    const keep = pinned[pinned.length - 1]; // stays pinned: the compaction keeps packing
    let slice = 0;
    let passed = 0;
    mm.onMove((moves) => {
      if (++slice !== 50) return;
      // Unpin every pinned block the compaction has passed (below where it last moved from).
      const at = Math.max(...moves.map((m) => m.from));
      for (const h of pinned) {
        if (h !== keep && mm.offsetOf(h) < at) {
          mm.unpin(h);
          passed++;
        }
      }
    });
    await mm.compact({ sliceBytes: SLICE });
    expect(slice).toBeGreaterThan(50);
    expect(passed).toBeGreaterThan(5);
    expect(wrongBlocks(mm, expected)).toEqual([]);
    mm.validate();
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
  });
});

describe('compact() with bad options', () => {
  it.each([
    ['sliceBytes 0', { sliceBytes: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['sliceBytes -4096', { sliceBytes: -4096 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['sliceBytes 1.5', { sliceBytes: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['sliceBytes NaN', { sliceBytes: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['sliceBytes "4096"', { sliceBytes: '4096' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['sliceBytes null', { sliceBytes: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['signal {}', { signal: {} }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [
      'signal an AbortController',
      { sliceBytes: 256, signal: new AbortController() },
      TypeError,
      'ERR_INVALID_ARG_TYPE',
    ],
    ['signal "abort"', { signal: 'abort' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['options null', null, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['options "fast"', 'fast', TypeError, 'ERR_INVALID_ARG_TYPE'],
  ] as const)('%s rejects and moves nothing', async (_name, options, errorClass, code) => {
    const heap = fragmented({}, SMALL);
    const before = takeSnapshot(heap);
    let result: unknown;
    expect(() => {
      result = heap.mm.compact(options as unknown as { sliceBytes: number });
    }).not.toThrow();
    expectCoded(await rejected(result as Promise<unknown>), errorClass, code);
    expect(takeSnapshot(heap)).toEqual(before);
    expect(heap.mm.epoch).toBe(0);
  });
});

describe('option compactSliceBytes', () => {
  it('async alloc that needs auto-compaction compacts in slices while timers run, then succeeds', async () => {
    const heap = fragmented({ compactSliceBytes: SLICE });
    const { mm, expected } = heap;
    const twin = fragmented({ compactSliceBytes: SLICE });
    const size = MiB;
    const stats = mm.stats();
    expect(stats.largestFree).toBeLessThan(size);
    expect(stats.free).toBeGreaterThanOrEqual(size);
    const batches = recordMoves(mm);
    const twinBatches = recordMoves(twin.mm);

    let ticks = 0;
    const interval = setInterval(() => {
      ticks++;
    }, 0);
    let ticksWhenDone = -1;
    let h: Handle;
    try {
      h = await mm.alloc(size).then((handle) => {
        ticksWhenDone = ticks;
        return handle;
      });
    } finally {
      clearInterval(interval);
    }
    expect(ticksWhenDone).toBeGreaterThan(0);
    expect(batches.length).toBeGreaterThan(100);
    expect(mm.stats().compactions).toBe(1);
    expect(mm.offsetOf(h)).toBe(stats.used); // right above the packed blocks
    expect(mm.read(h).every((x) => x === 0)).toBe(true);
    expect(wrongBlocks(mm, expected)).toEqual([]);

    // allocSync on an identical heap compacts at once, in one batch, to the same result.
    const th = twin.mm.allocSync(size);
    expect(twinBatches).toHaveLength(1);
    expect(th).toBe(h);
    expect(mm.blocks()).toEqual(twin.mm.blocks());
    expect(mm.stats()).toEqual(twin.mm.stats());
    mm.validate();
  });

  it.each([
    [0, RangeError, 'ERR_OUT_OF_RANGE'],
    [-1, RangeError, 'ERR_OUT_OF_RANGE'],
    [2.5, RangeError, 'ERR_OUT_OF_RANGE'],
    ['4096', TypeError, 'ERR_INVALID_ARG_TYPE'],
  ] as const)('compactSliceBytes %s is refused by the constructor', (value, errorClass, code) => {
    let error: unknown;
    try {
      new MemoryManager({ size: 1024, compactSliceBytes: value as unknown as number });
    } catch (e) {
      error = e;
    }
    expectCoded(error, errorClass, code);
  });
});

describe('incremental compaction with pinned blocks', () => {
  it('moves the same blocks as compactSync on an identical heap; pinned blocks stay put', async () => {
    const heap = fragmented({}, { pinEvery: 50 });
    const { mm, expected, live } = heap;
    const twin = fragmented({}, { pinEvery: 50 });
    const pinned = live.filter((_, i) => i % 50 === 0);
    expect(mm.stats().pinnedBlocks).toBe(pinned.length);
    const pinnedAt = pinned.map((h) => mm.offsetOf(h));
    const batches = recordMoves(mm);
    const problems: string[] = [];
    mm.onMove(() => {
      try {
        mm.validate();
      } catch (error) {
        problems.push(String(error));
      }
    });

    const result = await mm.compact({ sliceBytes: SLICE });
    expect(problems).toEqual([]);
    expect(result).toEqual(twin.mm.compactSync());
    expect(result.blocksMoved).toBeGreaterThan(0);
    expect(batches.length).toBeGreaterThan(100);
    expect(pinned.map((h) => mm.offsetOf(h))).toEqual(pinnedAt);
    expect(batches.flat().filter((m) => mm.isPinned(m.handle))).toEqual([]);
    expect(mm.blocks()).toEqual(twin.mm.blocks());
    expect(sameBytes(heap.memory, twin.memory)).toBe(true);
    expect(wrongBlocks(mm, expected)).toEqual([]);
    mm.validate();
  });
});

describe('pins released between slices', () => {
  it('a compaction that began around a pin still closes every gap once the pin is released', async () => {
    // hole 0..16 | P 16..24 pinned | B 24..40 | hole 40..48 | C 48..56 | free 56..64
    const mm = new MemoryManager({ size: 64 });
    const x = mm.allocSync(16);
    const p = mm.allocSync(8);
    const b = mm.allocSync(16);
    const y = mm.allocSync(8);
    const c = mm.allocSync(8);
    mm.freeSync(x);
    mm.freeSync(y);
    mm.pin(p);
    const off = mm.onMove(() => {
      if (mm.isPinned(p)) mm.unpin(p);
    });
    await mm.compact({ sliceBytes: 1 });
    off();
    mm.validate();
    expect(mm.blocks().map((blk) => [blk.handle, blk.offset])).toEqual([
      [b, 0],
      [p, 16],
      [c, 24],
    ]);
    expect(mm.stats()).toMatchObject({ freeBlocks: 1, largestFree: 32, pinnedBlocks: 0 });
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
  });
});
