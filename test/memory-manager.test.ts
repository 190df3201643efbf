// Unit tests of MemoryManager, method by method: the specification of placement (first fit,
// split, coalescing, alignment), compaction, the counters of stats(), zero-filling, and the
// buffer the heap runs over. Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  HeapBusyError,
  InvalidHandleError,
  MemoryManager,
  MemoryManagerError,
  OutOfMemoryError,
  type Handle,
} from '../src/index.js';
import { H_USED } from '../src/memory/format.js';
import {
  bytesOf,
  expectCoded,
  heapOver,
  nth,
  rejected,
  takeSnapshot,
  thrown,
} from './heap-snapshot.js';
import { ReferenceHeap } from './reference-heap.js';

const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** Allocates blocks of `sizes` in order; a tuple of their handles. */
function allocAll<const S extends readonly number[]>(
  mm: MemoryManager,
  sizes: S,
): { -readonly [K in keyof S]: Handle } {
  return sizes.map((size) => mm.allocSync(size)) as { -readonly [K in keyof S]: Handle };
}

/** Allocates blocks of `sizes` in order and fills each with `bytesOf(index + 1, size)`. */
function allocFilled(mm: MemoryManager, sizes: number[]): Handle[] {
  return sizes.map((size, i) => {
    const h = mm.allocSync(size);
    mm.write(h, bytesOf(i + 1, size));
    return h;
  });
}

describe('constructor', () => {
  it('a number argument is the size; align defaults to 8, autoCompact and zeroFill to true', () => {
    const mm = new MemoryManager(1024);
    expect(mm.capacity).toBe(1024);
    expect(mm.align).toBe(8);
    expect(mm.autoCompact).toBe(true);
    expect(mm.zeroFill).toBe(true);
  });

  it('an options object sets size, align, autoCompact and zeroFill', () => {
    const mm = new MemoryManager({ size: 256, align: 16, autoCompact: false, zeroFill: false });
    expect(mm.capacity).toBe(256);
    expect(mm.align).toBe(16);
    expect(mm.autoCompact).toBe(false);
    expect(mm.zeroFill).toBe(false);
  });

  it.each([
    [100, 8, 96],
    [64, 8, 64],
    [8, 8, 8],
    [127, 1, 127],
    [200, 64, 192],
    [65, 64, 64],
    [31, 2, 30],
  ])(
    'capacity of size %i with align %i is %i (rounded down to a multiple of align)',
    (size, align, capacity) => {
      expect(new MemoryManager({ size, align }).capacity).toBe(capacity);
    },
  );

  it('a new heap is one free block of the whole capacity', () => {
    const mm = new MemoryManager(1024);
    expect(mm.stats()).toEqual({
      capacity: 1024,
      used: 0,
      free: 1024,
      largestFree: 1024,
      liveBlocks: 0,
      freeBlocks: 1,
      pinnedBlocks: 0,
      fragmentation: 0,
      peakUsed: 0,
      compactions: 0,
      bytesMoved: 0,
    });
    expect(mm.blocks()).toEqual([]);
    expect(() => mm.validate()).not.toThrow();
  });
});

describe('constructor with a buffer', () => {
  it('an ArrayBuffer is used in place: writes land in it at offsetOf, outside writes are read back', () => {
    const buffer = new ArrayBuffer(64);
    const memory = new Uint8Array(buffer);
    const mm = new MemoryManager({ buffer });
    expect(mm.capacity).toBe(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(5);
    expect(mm.offsetOf(b)).toBe(8);
    mm.write(b, [1, 2, 3, 4, 5]);
    expect(Array.from(memory.subarray(8, 13))).toEqual([1, 2, 3, 4, 5]);
    memory[0] = 77;
    memory[7] = 88;
    expect(Array.from(mm.read(a))).toEqual([77, 0, 0, 0, 0, 0, 0, 88]);
  });

  it('a SharedArrayBuffer is used in place: writes land in it at offsetOf', () => {
    const buffer = new SharedArrayBuffer(64);
    const memory = new Uint8Array(buffer);
    const mm = new MemoryManager({ buffer, align: 16 });
    expect(mm.capacity).toBe(64);
    mm.allocSync(3);
    const b = mm.allocSync(4);
    expect(mm.offsetOf(b)).toBe(16);
    mm.write(b, [9, 8, 7, 6]);
    expect(Array.from(memory.subarray(14, 22))).toEqual([0, 0, 9, 8, 7, 6, 0, 0]);
    memory[17] = 42;
    expect(Array.from(mm.read(b))).toEqual([9, 42, 7, 6]);
  });

  it('a Uint8Array subarray is used in place: offset 0 of the heap is its first byte', () => {
    const backing = new Uint8Array(128).fill(0xee);
    const view = backing.subarray(16, 86); // 70 bytes: capacity 64
    const mm = new MemoryManager({ buffer: view });
    expect(mm.capacity).toBe(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(8);
    mm.write(b, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(backing.subarray(24, 32))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(backing.subarray(16, 24))).toEqual(Array.from(zeros(8))); // a, zero-filled
    expect(Array.from(backing.subarray(0, 16))).toEqual(new Array<number>(16).fill(0xee));
    expect(Array.from(backing.subarray(32, 128))).toEqual(new Array<number>(96).fill(0xee));
    expect(mm.read(a)).toEqual(zeros(8));
  });

  it("a buffer's length is rounded down to a multiple of align; the bytes past capacity are never touched", () => {
    const memory = new Uint8Array(70).fill(0xee);
    const mm = new MemoryManager({ buffer: memory.buffer });
    expect(mm.capacity).toBe(64);
    const h = mm.allocSync(64);
    mm.write(h, new Uint8Array(64).fill(0xab));
    expect(Array.from(memory.subarray(0, 64))).toEqual(new Array<number>(64).fill(0xab));
    expect(Array.from(memory.subarray(64))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
  });

  it('new blocks over a buffer that already holds data read as zeros; only the block is cleared', () => {
    const memory = new Uint8Array(64).fill(0xee);
    const mm = new MemoryManager({ buffer: memory.buffer });
    const h = mm.allocSync(13);
    expect(mm.read(h)).toEqual(zeros(13));
    expect(Array.from(memory.subarray(0, 13))).toEqual(Array.from(zeros(13)));
    expect(Array.from(memory.subarray(16))).toEqual(new Array<number>(48).fill(0xee));
  });
});

describe('alignment', () => {
  it('with align 1 blocks are packed byte by byte and occupy exactly their size', () => {
    const mm = new MemoryManager({ size: 16, align: 1 });
    const a = mm.allocSync(3);
    const b = mm.allocSync(5);
    const c = mm.allocSync(1);
    expect([mm.offsetOf(a), mm.offsetOf(b), mm.offsetOf(c)]).toEqual([0, 3, 8]);
    expect(mm.stats()).toMatchObject({ used: 9, free: 7, largestFree: 7 });
    const d = mm.allocSync(7);
    expect(mm.offsetOf(d)).toBe(9);
    expect(mm.stats()).toMatchObject({ used: 16, free: 0, freeBlocks: 0 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('with align 64 every block starts at a multiple of 64 and occupies a multiple of 64', () => {
    const mm = new MemoryManager({ size: 300, align: 64 });
    expect(mm.capacity).toBe(256);
    const a = mm.allocSync(1);
    const b = mm.allocSync(65);
    const c = mm.allocSync(64);
    expect([mm.offsetOf(a), mm.offsetOf(b), mm.offsetOf(c)]).toEqual([0, 64, 192]);
    expect(mm.stats()).toMatchObject({ used: 256, free: 0 });
    expect([mm.sizeOf(a), mm.sizeOf(b), mm.sizeOf(c)]).toEqual([1, 65, 64]);
    expect(() => mm.validate()).not.toThrow();
  });

  it('with the default align 8, sizes 1..8 occupy 8 bytes and 9 occupies 16', () => {
    const mm = new MemoryManager(64);
    const offsets = [1, 8, 9, 2].map((size) => mm.offsetOf(mm.allocSync(size)));
    expect(offsets).toEqual([0, 8, 16, 32]);
    expect(mm.stats().used).toBe(40);
  });
});

describe('alloc and free', () => {
  it('alloc gives a positive integer handle to a zero-filled block at the lowest free offset', () => {
    const mm = new MemoryManager(1024);
    const h = mm.allocSync(100);
    expect(Number.isInteger(h)).toBe(true);
    expect(h).toBeGreaterThan(0);
    expect(mm.has(h)).toBe(true);
    expect(mm.sizeOf(h)).toBe(100);
    expect(mm.offsetOf(h)).toBe(0);
    expect(mm.read(h)).toEqual(zeros(100));
    expect(mm.blocks()).toEqual([{ handle: h, offset: 0, size: 100 }]);
    expect(mm.stats()).toMatchObject({
      used: 104,
      free: 920,
      largestFree: 920,
      liveBlocks: 1,
      freeBlocks: 1,
      pinnedBlocks: 0,
      peakUsed: 104,
    });
  });

  it('free invalidates the handle and returns its bytes to the heap', () => {
    const mm = new MemoryManager(1024);
    const h = mm.allocSync(100);
    mm.freeSync(h);
    expect(mm.has(h)).toBe(false);
    expectCoded(
      thrown(() => mm.sizeOf(h)),
      InvalidHandleError,
      'ERR_INVALID_HANDLE',
    );
    expect(mm.blocks()).toEqual([]);
    expect(mm.stats()).toEqual({
      capacity: 1024,
      used: 0,
      free: 1024,
      largestFree: 1024,
      liveBlocks: 0,
      freeBlocks: 1,
      pinnedBlocks: 0,
      fragmentation: 0,
      peakUsed: 104,
      compactions: 0,
      bytesMoved: 0,
    });
    expect(() => mm.validate()).not.toThrow();
  });

  it('alloc resolves to a handle and free resolves to undefined', async () => {
    const mm = new MemoryManager(64);
    const h = await mm.alloc(10);
    expect(mm.has(h)).toBe(true);
    expect(mm.sizeOf(h)).toBe(10);
    expect(mm.offsetOf(h)).toBe(0);
    await expect(mm.free(h)).resolves.toBeUndefined();
    expect(mm.has(h)).toBe(false);
    expect(mm.stats()).toMatchObject({ used: 0, liveBlocks: 0 });
  });

  it('consecutive allocations are placed one after another and get distinct handles', () => {
    const mm = new MemoryManager(256);
    const handles = [16, 8, 24, 1, 40].map((size) => mm.allocSync(size));
    expect(new Set(handles).size).toBe(5);
    expect(handles.map((h) => mm.offsetOf(h))).toEqual([0, 16, 24, 48, 56]);
  });

  it('a double free throws InvalidHandleError and leaves the heap as it was', () => {
    const heap = heapOver(64);
    const a = nth(allocFilled(heap.mm, [8, 8]), 0);
    heap.mm.freeSync(a);
    const before = takeSnapshot(heap);
    expectCoded(
      thrown(() => heap.mm.freeSync(a)),
      InvalidHandleError,
      'ERR_INVALID_HANDLE',
    );
    expect(takeSnapshot(heap)).toEqual(before);
  });

  it('the handle of a freed block stays invalid after a new block takes its place', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    mm.allocSync(8);
    mm.freeSync(a);
    const b = mm.allocSync(8);
    expect(mm.offsetOf(b)).toBe(0);
    expect(b).not.toBe(a);
    expect(mm.has(a)).toBe(false);
    expect(mm.has(b)).toBe(true);
    expectCoded(
      thrown(() => mm.read(a)),
      InvalidHandleError,
      'ERR_INVALID_HANDLE',
    );
  });
});

describe('placement: first fit, split, coalescing', () => {
  it('first fit: the lowest-address free block that fits is taken, not the best-fitting one', () => {
    const mm = new MemoryManager(128);
    const [a, , c] = allocAll(mm, [32, 8, 8, 16, 8]); // 0, 32, 40, 48, 64; top free at 72
    mm.freeSync(a); // hole [0, 32)
    mm.freeSync(c); // hole [40, 48): an exact fit for 8, but higher
    const d = mm.allocSync(8);
    expect(mm.offsetOf(d)).toBe(0);
  });

  it('first fit skips lower free blocks that are too small', () => {
    const mm = new MemoryManager(64);
    const [a, , c] = allocAll(mm, [8, 8, 24, 8]); // 0, 8, 16, 40; top free [48, 64)
    mm.freeSync(a); // hole [0, 8)
    mm.freeSync(c); // hole [16, 40)
    const d = mm.allocSync(16);
    expect(mm.offsetOf(d)).toBe(16);
    const e = mm.allocSync(16); // [32, 40) is too small now: the top block
    expect(mm.offsetOf(e)).toBe(48);
    const f = mm.allocSync(8);
    expect(mm.offsetOf(f)).toBe(0);
  });

  it('split: a block is taken from the front of a free block and the rest stays free', () => {
    const mm = new MemoryManager(128);
    const [a] = allocAll(mm, [32, 8]); // 0, 32; top free [40, 128)
    mm.freeSync(a); // hole [0, 32)
    const b = mm.allocSync(8);
    expect(mm.offsetOf(b)).toBe(0);
    expect(mm.stats()).toMatchObject({ free: 112, largestFree: 88, freeBlocks: 2 });
    const c = mm.allocSync(24); // exactly the rest of the hole
    expect(mm.offsetOf(c)).toBe(8);
    expect(mm.stats()).toMatchObject({ free: 88, largestFree: 88, freeBlocks: 1 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('free coalesces with a free left neighbour', () => {
    const mm = new MemoryManager(64);
    const [a, b] = allocAll(mm, [8, 8, 8, 8]); // 0, 8, 16, 24; top free [32, 64)
    mm.freeSync(a);
    mm.freeSync(b);
    expect(mm.stats()).toMatchObject({ free: 48, largestFree: 32, freeBlocks: 2 });
    expect(() => mm.validate()).not.toThrow();
    expect(mm.offsetOf(mm.allocSync(16))).toBe(0); // one 16-byte hole, not two of 8
  });

  it('free coalesces with a free right neighbour', () => {
    const mm = new MemoryManager(64);
    const [a, b] = allocAll(mm, [8, 8, 8, 8]);
    mm.freeSync(b);
    mm.freeSync(a);
    expect(mm.stats()).toMatchObject({ free: 48, largestFree: 32, freeBlocks: 2 });
    expect(() => mm.validate()).not.toThrow();
    expect(mm.offsetOf(mm.allocSync(16))).toBe(0);
  });

  it('free coalesces with both neighbours', () => {
    const mm = new MemoryManager(64);
    const [a, b, c] = allocAll(mm, [8, 8, 8, 8]);
    mm.freeSync(a);
    mm.freeSync(c);
    expect(mm.stats()).toMatchObject({ free: 48, largestFree: 32, freeBlocks: 3 });
    mm.freeSync(b);
    expect(mm.stats()).toMatchObject({ free: 56, largestFree: 32, freeBlocks: 2 });
    expect(() => mm.validate()).not.toThrow();
    expect(mm.offsetOf(mm.allocSync(24))).toBe(0);
  });

  it('free coalesces with the free space at the top of the heap', () => {
    const mm = new MemoryManager(64);
    const [, b, c, d] = allocAll(mm, [8, 8, 8, 8]);
    mm.freeSync(d);
    expect(mm.stats()).toMatchObject({ free: 40, largestFree: 40, freeBlocks: 1 });
    mm.freeSync(b);
    expect(mm.stats()).toMatchObject({ free: 48, largestFree: 40, freeBlocks: 2 });
    mm.freeSync(c); // joins [8, 16) and [24, 64)
    expect(mm.stats()).toMatchObject({ free: 56, largestFree: 56, freeBlocks: 1 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('freeing every block leaves one free block of the whole capacity', () => {
    const mm = new MemoryManager(64);
    const handles = allocAll(mm, [8, 16, 8, 24, 8]);
    for (const i of [3, 0, 4, 1, 2]) mm.freeSync(nth(handles, i));
    expect(mm.stats()).toMatchObject({ used: 0, free: 64, largestFree: 64, freeBlocks: 1 });
    expect(mm.offsetOf(mm.allocSync(64))).toBe(0);
  });
});

describe('compaction', () => {
  it('an allocation that only compaction makes possible compacts, succeeds, and keeps every handle and byte', async () => {
    const heap = heapOver(64);
    const { mm, memory } = heap;
    const sizes = [8, 8, 5, 8, 3, 8, 7, 8];
    const h = allocFilled(mm, sizes); // offsets 0, 8, ..., 56
    for (const i of [1, 3, 5, 7]) mm.freeSync(nth(h, i));
    const [a, c, e, g] = [nth(h, 0), nth(h, 2), nth(h, 4), nth(h, 6)] as const;

    // Holes of 8 bytes at 8, 24, 40 and 56: 32 bytes free, none of them in a block of 32.
    expect(mm.blocks()).toEqual([
      { handle: a, offset: 0, size: 8 },
      { handle: c, offset: 16, size: 5 },
      { handle: e, offset: 32, size: 3 },
      { handle: g, offset: 48, size: 7 },
    ]);
    expect(mm.stats()).toMatchObject({
      used: 32,
      free: 32,
      largestFree: 8,
      freeBlocks: 4,
      fragmentation: 0.75,
      compactions: 0,
      bytesMoved: 0,
    });

    const n = await mm.alloc(32);

    expect(mm.blocks()).toEqual([
      { handle: a, offset: 0, size: 8 },
      { handle: c, offset: 8, size: 5 },
      { handle: e, offset: 16, size: 3 },
      { handle: g, offset: 24, size: 7 },
      { handle: n, offset: 32, size: 32 },
    ]);
    for (const i of [0, 2, 4, 6]) {
      expect(mm.read(nth(h, i))).toEqual(bytesOf(i + 1, nth(sizes, i)));
    }
    expect(mm.read(n)).toEqual(zeros(32)); // over bytes that held c, e and g before
    expect(Array.from(memory.subarray(8, 13))).toEqual(Array.from(bytesOf(3, 5)));
    expect(mm.stats()).toEqual({
      capacity: 64,
      used: 64,
      free: 0,
      largestFree: 0,
      liveBlocks: 5,
      freeBlocks: 0,
      pinnedBlocks: 0,
      fragmentation: 0,
      peakUsed: 64,
      compactions: 1,
      bytesMoved: 24, // c, e and g moved: their occupied sizes, 8 each
    });
    expect(() => mm.validate()).not.toThrow();
  });

  it('a size that rounds up to the total free space also compacts and succeeds', () => {
    const mm = new MemoryManager(64);
    const h = allocAll(mm, [8, 8, 8, 8, 8, 8, 8, 8]);
    for (const i of [0, 2, 4, 6]) mm.freeSync(nth(h, i));
    const n = mm.allocSync(25); // occupies 32
    expect(mm.offsetOf(n)).toBe(32);
    expect(mm.stats()).toMatchObject({ used: 64, compactions: 1, bytesMoved: 32 });
  });

  it('compact slides live blocks down in address order and leaves one free block at the top', async () => {
    const heap = heapOver(128);
    const { mm } = heap;
    const sizes = [16, 8, 13, 8, 24, 8];
    const h = allocFilled(mm, sizes); // 0, 16, 24, 40, 48, 72; top free [80, 128)
    mm.freeSync(nth(h, 0));
    mm.freeSync(nth(h, 3));
    const result = await mm.compact();
    expect(result).toEqual({ blocksMoved: 4, bytesMoved: 8 + 16 + 24 + 8 });
    expect(mm.blocks()).toEqual([
      { handle: nth(h, 1), offset: 0, size: 8 },
      { handle: nth(h, 2), offset: 8, size: 13 },
      { handle: nth(h, 4), offset: 24, size: 24 },
      { handle: nth(h, 5), offset: 48, size: 8 },
    ]);
    for (const i of [1, 2, 4, 5]) {
      expect(mm.read(nth(h, i))).toEqual(bytesOf(i + 1, nth(sizes, i)));
    }
    expect(mm.stats()).toMatchObject({
      used: 56,
      free: 72,
      largestFree: 72,
      freeBlocks: 1,
      fragmentation: 0,
      compactions: 1,
      bytesMoved: 56,
    });
    expect(() => mm.validate()).not.toThrow();
  });

  it('compaction keeps the bytes of a block that moves onto part of its own old range', () => {
    const { mm } = heapOver(64);
    const [a, b] = allocAll(mm, [8, 40]);
    mm.write(b, bytesOf(9, 40));
    mm.freeSync(a);
    expect(mm.compactSync()).toEqual({ blocksMoved: 1, bytesMoved: 40 });
    expect(mm.offsetOf(b)).toBe(0);
    expect(mm.read(b)).toEqual(bytesOf(9, 40));
  });

  it('compactSync returns how many blocks and bytes moved; blocks that do not move are not counted', () => {
    const mm = new MemoryManager(64);
    const h = allocAll(mm, [8, 8, 8, 16]); // 0, 8, 16, 24
    mm.freeSync(nth(h, 2));
    expect(mm.compactSync()).toEqual({ blocksMoved: 1, bytesMoved: 16 });
    expect(h.filter((x) => mm.has(x)).map((x) => mm.offsetOf(x))).toEqual([0, 8, 16]);
  });

  it('compacting a heap without holes moves nothing but counts as a compaction', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.stats()).toMatchObject({ compactions: 1, bytesMoved: 0 });
  });

  it('compactions and bytesMoved add up over explicit and automatic compactions', async () => {
    const mm = new MemoryManager(64);
    const h = allocAll(mm, [8, 8, 8, 8, 8, 8, 8, 8]);
    mm.freeSync(nth(h, 0));
    expect(await mm.compact()).toEqual({ blocksMoved: 7, bytesMoved: 56 });
    mm.freeSync(nth(h, 1)); // now at 0
    mm.freeSync(nth(h, 3)); // now at 16
    mm.allocSync(16); // 24 free at [0, 8), [16, 24), [56, 64): compacts (5 blocks, 40 bytes)
    expect(mm.stats()).toMatchObject({ compactions: 2, bytesMoved: 96, used: 56 });
  });

  it('with autoCompact off, an allocation that fits in no free block throws OutOfMemoryError and changes nothing', async () => {
    const heap = heapOver(64, { autoCompact: false });
    const { mm } = heap;
    const h = allocFilled(mm, [8, 8, 8, 8, 8, 8, 8, 8]);
    for (const i of [1, 3, 5, 7]) mm.freeSync(nth(h, i));
    const before = takeSnapshot(heap);
    const error = await rejected(mm.alloc(32));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 32, free: 32, largestFree: 8 });
    expectCoded(
      thrown(() => mm.allocSync(9)),
      OutOfMemoryError,
      'ERR_OUT_OF_MEMORY',
    );
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.stats().compactions).toBe(0);
    expect(mm.offsetOf(mm.allocSync(8))).toBe(8); // a block that fits a hole still works
  });

  it('when even compaction cannot make room, alloc throws OutOfMemoryError without compacting', () => {
    const heap = heapOver(64);
    const { mm } = heap;
    const h = allocFilled(mm, [8, 8, 8, 8, 8, 8, 8, 8]);
    for (const i of [1, 3, 5, 7]) mm.freeSync(nth(h, i));
    const before = takeSnapshot(heap);
    const error = thrown(() => mm.allocSync(33)); // occupies 40 > 32 free
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 33, free: 32, largestFree: 8 });
    expect(takeSnapshot(heap)).toEqual(before);
  });
});

describe('over-allocation edges', () => {
  it('an allocation of exactly the capacity succeeds and fills the heap', () => {
    const { mm, memory } = heapOver(64);
    const h = mm.allocSync(64);
    expect(mm.offsetOf(h)).toBe(0);
    expect(mm.stats()).toMatchObject({
      used: 64,
      free: 0,
      largestFree: 0,
      freeBlocks: 0,
      liveBlocks: 1,
      fragmentation: 0,
    });
    mm.write(h, bytesOf(5, 64));
    expect(memory).toEqual(bytesOf(5, 64));
    expect(mm.read(h)).toEqual(bytesOf(5, 64));
  });

  it('capacity + 1 bytes throws OutOfMemoryError on an empty heap', () => {
    const heap = heapOver(64);
    const before = takeSnapshot(heap);
    const error = thrown(() => heap.mm.allocSync(65));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 65, free: 64, largestFree: 64 });
    expect(takeSnapshot(heap)).toEqual(before);
  });

  it('a size above the rounded-down capacity is out of memory even if below the size given', () => {
    const mm = new MemoryManager(70); // capacity 64
    expectCoded(
      thrown(() => mm.allocSync(65)),
      OutOfMemoryError,
      'ERR_OUT_OF_MEMORY',
    );
    expect(mm.offsetOf(mm.allocSync(64))).toBe(0);
  });

  it('a full heap refuses even one byte', async () => {
    const heap = heapOver(64);
    const { mm } = heap;
    for (let i = 0; i < 8; i++) mm.allocSync(1); // each occupies 8
    expect(mm.stats()).toMatchObject({ used: 64, free: 0, liveBlocks: 8 });
    const before = takeSnapshot(heap);
    const error = await rejected(mm.alloc(1));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 1, free: 0, largestFree: 0 });
    expect(takeSnapshot(heap)).toEqual(before);
  });

  it('a size that rounds up past the free space fails; the exact remainder succeeds', () => {
    const mm = new MemoryManager(64);
    mm.allocSync(56);
    const error = thrown(() => mm.allocSync(9)); // occupies 16, 8 free
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 9, free: 8, largestFree: 8 });
    expect(mm.offsetOf(mm.allocSync(8))).toBe(56);
  });

  it('a size just above a multiple of align occupies the next multiple: 57 bytes fill a 64-byte heap', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(57);
    expect(mm.sizeOf(h)).toBe(57);
    expect(mm.stats()).toMatchObject({ used: 64, free: 0 });
    expectCoded(
      thrown(() => mm.allocSync(1)),
      OutOfMemoryError,
      'ERR_OUT_OF_MEMORY',
    );
  });

  it('the last aligned bytes of the heap can be allocated, written and read', () => {
    const { mm, memory } = heapOver(64);
    mm.allocSync(56);
    const h = mm.allocSync(8);
    expect(mm.offsetOf(h)).toBe(56);
    mm.write(h, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(memory.subarray(56, 64))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    mm.write(h, [255], 7);
    expect(memory[63]).toBe(255);
    expect(Array.from(mm.read(h, 6))).toEqual([7, 255]);
  });
});

describe('zeroFill', () => {
  it('a block placed where a freed block held non-zero bytes reads as zeros', () => {
    const { mm, memory } = heapOver(64);
    const a = mm.allocSync(16);
    mm.allocSync(8);
    mm.write(a, new Uint8Array(16).fill(0xff));
    mm.freeSync(a);
    const b = mm.allocSync(16);
    expect(mm.offsetOf(b)).toBe(0);
    expect(mm.read(b)).toEqual(zeros(16));
    expect(Array.from(memory.subarray(0, 16))).toEqual(Array.from(zeros(16)));
  });

  it('a block placed over space that compaction vacated reads as zeros', () => {
    const mm = new MemoryManager(64);
    const h = allocFilled(mm, [8, 8, 8, 8, 8, 8, 8, 8]);
    mm.freeSync(nth(h, 0));
    mm.compactSync(); // the bytes of the top block were copied down; the old copy stays at [56, 64)
    const n = mm.allocSync(8);
    expect(mm.offsetOf(n)).toBe(56);
    expect(mm.read(n)).toEqual(zeros(8));
  });

  it.each([
    [false, '0xee (untouched)', 0xee],
    [true, 'zeros', 0],
  ])(
    'zeroFill %s: over a buffer of 0xee, new blocks and the grown bytes of resized blocks read %s',
    (zeroFill, _label, fill) => {
      const memory = new Uint8Array(128).fill(0xee);
      const mm = new MemoryManager({ buffer: memory.buffer, zeroFill });
      const filled = (n: number): number[] => new Array<number>(n).fill(fill);
      const a = mm.allocSync(12); // [0, 16)
      expect(Array.from(mm.read(a))).toEqual(filled(12));
      mm.write(a, bytesOf(1, 12));
      mm.resizeSync(a, 20); // grows in place: [0, 24)
      expect(mm.offsetOf(a)).toBe(0);
      expect(Array.from(mm.read(a))).toEqual([...bytesOf(1, 12), ...filled(8)]);
      const b = mm.allocSync(8); // [24, 32): a can no longer grow in place
      expect(Array.from(mm.read(b))).toEqual(filled(8));
      mm.resizeSync(a, 36); // moves to [32, 72), the first free block that holds 40 bytes
      expect(mm.offsetOf(a)).toBe(32);
      expect(Array.from(mm.read(a))).toEqual([...bytesOf(1, 12), ...filled(24)]);
      // The heap wrote only what it had to: the bytes no block holds are still 0xee.
      expect(Array.from(memory.subarray(72))).toEqual(new Array<number>(56).fill(0xee));
    },
  );

  it('with zeroFill off blocks are still allocated, written and read', () => {
    const mm = new MemoryManager({ size: 64, zeroFill: false });
    expect(mm.zeroFill).toBe(false);
    const h = mm.allocSync(4);
    mm.write(h, [4, 3, 2, 1]);
    expect(Array.from(mm.read(h))).toEqual([4, 3, 2, 1]);
  });
});

describe('read and write', () => {
  it('write then read round-trips bytes at an offset inside the block', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(10);
    mm.write(h, Uint8Array.of(1, 2, 3), 4);
    expect(Array.from(mm.read(h))).toEqual([0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
    expect(Array.from(mm.read(h, 3, 4))).toEqual([0, 1, 2, 3]);
  });

  it('read defaults to offset 0 and to the end of the block (its requested size, not the padding)', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(5);
    mm.write(h, [1, 2, 3, 4, 5]);
    expect(Array.from(mm.read(h))).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(mm.read(h, 2))).toEqual([3, 4, 5]);
  });

  it('read of length 0, or at offset === size, returns an empty array', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(5);
    expect(mm.read(h, 2, 0)).toEqual(new Uint8Array(0));
    expect(mm.read(h, 5)).toEqual(new Uint8Array(0));
    expect(mm.read(h, 5, 0)).toEqual(new Uint8Array(0));
  });

  it('read returns a copy: changing it does not change the block, and it survives the block moving', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(4);
    mm.write(b, [1, 2, 3, 4]);
    const copy = mm.read(b);
    copy[0] = 99;
    expect(Array.from(mm.read(b))).toEqual([1, 2, 3, 4]);
    mm.freeSync(a);
    mm.compactSync();
    expect(mm.offsetOf(b)).toBe(0);
    expect(Array.from(copy)).toEqual([99, 2, 3, 4]);
  });

  it('write accepts a plain array and an array-like of byte values', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(6);
    mm.write(h, [0, 128, 255]);
    mm.write(h, { length: 3, 0: 7, 1: 8, 2: 9 }, 3);
    expect(Array.from(mm.read(h))).toEqual([0, 128, 255, 7, 8, 9]);
  });

  it('write of empty data at the end of the block writes nothing and does not throw', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(4);
    mm.write(h, [1, 2, 3, 4]);
    mm.write(h, [], 4);
    mm.write(h, new Uint8Array(0));
    expect(Array.from(mm.read(h))).toEqual([1, 2, 3, 4]);
  });

  it("write touches only the block's own bytes, not its neighbours", () => {
    const { mm, memory } = heapOver(32);
    const [a, b, c] = allocAll(mm, [8, 8, 8]);
    mm.write(a, new Uint8Array(8).fill(1));
    mm.write(c, new Uint8Array(8).fill(3));
    mm.write(b, new Uint8Array(8).fill(2));
    expect(Array.from(memory.subarray(0, 24))).toEqual([
      ...new Array<number>(8).fill(1),
      ...new Array<number>(8).fill(2),
      ...new Array<number>(8).fill(3),
    ]);
  });
});

// has: see 'alloc and free' (true once allocated, false once freed, false for a freed slot reused).
describe('sizeOf, offsetOf, blocks', () => {
  it('sizeOf is the size asked for, not the occupied size', () => {
    const mm = new MemoryManager(64);
    expect([1, 7, 8, 9].map((s) => mm.sizeOf(mm.allocSync(s)))).toEqual([1, 7, 8, 9]);
  });

  it('offsetOf follows a block when compaction moves it; the handle stays the same', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(16);
    const b = mm.allocSync(8);
    expect(mm.offsetOf(b)).toBe(16);
    mm.freeSync(a);
    mm.compactSync();
    expect(mm.has(b)).toBe(true);
    expect(mm.offsetOf(b)).toBe(0);
  });

  it('blocks lists live blocks in address order, not allocation order', () => {
    const mm = new MemoryManager(64);
    const [a, b, c] = allocAll(mm, [8, 8, 8]);
    mm.freeSync(a);
    const d = mm.allocSync(3); // takes a's place at 0
    expect(mm.blocks()).toEqual([
      { handle: d, offset: 0, size: 3 },
      { handle: b, offset: 8, size: 8 },
      { handle: c, offset: 16, size: 8 },
    ]);
  });

  it('blocks returns a snapshot: changing the array or its entries does not change the heap', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const list = mm.blocks();
    const first = nth(list, 0);
    first.offset = 40;
    list.push({ handle: 1, offset: 8, size: 8 });
    expect(mm.blocks()).toEqual([{ handle: h, offset: 0, size: 8 }]);
    expect(mm.offsetOf(h)).toBe(0);
  });
});

describe('stats', () => {
  it('used counts occupied bytes and used + free === capacity after every operation', () => {
    const mm = new MemoryManager(128);
    const observedUsed: number[] = [];
    const check = (): void => {
      const s = mm.stats();
      observedUsed.push(s.used);
      expect(s.used + s.free).toBe(128);
    };
    const a = mm.allocSync(1);
    check();
    const b = mm.allocSync(17);
    check();
    mm.allocSync(40);
    check();
    mm.freeSync(a);
    check();
    mm.compactSync();
    check();
    mm.freeSync(b);
    check();
    expect(observedUsed).toEqual([8, 32, 72, 64, 64, 40]);
  });

  it('liveBlocks and freeBlocks count the blocks of each kind', () => {
    const mm = new MemoryManager(128);
    const h = allocAll(mm, [8, 8, 8, 8, 8]); // 0..40; top free [40, 128)
    mm.freeSync(nth(h, 1));
    mm.freeSync(nth(h, 3));
    expect(mm.stats()).toMatchObject({ liveBlocks: 3, freeBlocks: 3 });
  });

  it('fragmentation is 1 - largestFree / free', () => {
    const mm = new MemoryManager(64);
    const h = allocAll(mm, [8, 16, 8, 8, 24]); // fills the heap
    mm.freeSync(nth(h, 1)); // 16 free at 8
    mm.freeSync(nth(h, 3)); // 8 free at 32
    expect(mm.stats()).toMatchObject({ free: 24, largestFree: 16, fragmentation: 1 - 16 / 24 });
  });

  it('fragmentation is 0 when nothing is free and when all free space is one block', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(64);
    expect(mm.stats().fragmentation).toBe(0);
    mm.freeSync(h);
    expect(mm.stats().fragmentation).toBe(0);
  });

  it('peakUsed is the largest used seen and does not drop when blocks are freed', () => {
    const mm = new MemoryManager(256);
    const a = mm.allocSync(100); // 104
    const b = mm.allocSync(50); // 56
    expect(mm.stats()).toMatchObject({ used: 160, peakUsed: 160 });
    mm.freeSync(a);
    mm.freeSync(b);
    expect(mm.stats()).toMatchObject({ used: 0, peakUsed: 160 });
    mm.allocSync(120);
    expect(mm.stats()).toMatchObject({ used: 120, peakUsed: 160 });
    mm.allocSync(100);
    expect(mm.stats()).toMatchObject({ used: 224, peakUsed: 224 });
  });
});

describe('validate', () => {
  it('passes after every step of a long mixed sequence, and contents and stats follow the reference model', () => {
    const mm = new MemoryManager(4096);
    const model = new ReferenceHeap(4096, 8);
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    /** The live blocks: model id and contents, by handle. */
    const live = new Map<Handle, { id: number; data: Uint8Array }>();
    for (let step = 0; step < 2000; step++) {
      const r = random(100);
      if (r < 3) {
        expect(mm.compactSync()).toEqual(model.compact());
      } else if (r < 45 && live.size > 0) {
        const handles = [...live.keys()];
        const h = nth(handles, random(handles.length));
        expect(model.release(live.get(h)!.id)).toBe('ok');
        mm.freeSync(h);
        live.delete(h);
      } else {
        const size = 1 + random(120);
        const id = model.alloc(size);
        if (id === undefined) continue; // the model (and so the heap) is out of memory
        const h = mm.allocSync(size);
        expect(mm.offsetOf(h)).toBe(model.block(id).offset);
        const data = bytesOf(step, size);
        mm.write(h, data);
        live.set(h, { id, data });
      }
      mm.validate();
      expect(mm.stats()).toEqual(model.stats());
    }
    expect(mm.stats().liveBlocks).toBe(live.size);
    for (const [h, { id, data }] of live) {
      expect(mm.offsetOf(h)).toBe(model.block(id).offset);
      expect(mm.read(h)).toEqual(data);
    }
  });

  it('throws MemoryManagerError ERR_HEAP_CORRUPTED when the metadata is broken', () => {
    const mm = new MemoryManager(64);
    mm.allocSync(8);
    // White-box: break the used-bytes counter in the heap's header.
    const core = Reflect.get(mm, 'core') as { layout: { state: { h: Uint32Array } } };
    core.layout.state.h[H_USED] = 16;
    expectCoded(
      thrown(() => mm.validate()),
      MemoryManagerError,
      'ERR_HEAP_CORRUPTED',
    );
  });
});

describe('error classes', () => {
  it('OutOfMemoryError, InvalidHandleError and HeapBusyError extend MemoryManagerError, which extends Error', () => {
    for (const cls of [OutOfMemoryError, InvalidHandleError, HeapBusyError]) {
      expect(Object.getPrototypeOf(cls.prototype)).toBe(MemoryManagerError.prototype);
    }
    expect(Object.getPrototypeOf(MemoryManagerError.prototype)).toBe(Error.prototype);
  });

  it('an OutOfMemoryError carries its code, the size requested, the free bytes and the largest free block', () => {
    const mm = new MemoryManager(64);
    mm.allocSync(24);
    const error = thrown(() => mm.allocSync(41));
    expect(error).toBeInstanceOf(MemoryManagerError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'OutOfMemoryError',
      code: 'ERR_OUT_OF_MEMORY',
      requested: 41,
      free: 40,
      largestFree: 40,
    });
  });

  it('an InvalidHandleError carries the code ERR_INVALID_HANDLE', () => {
    const error = thrown(() => new MemoryManager(64).sizeOf(12345));
    expect(error).toBeInstanceOf(MemoryManagerError);
    expect(error).toMatchObject({ name: 'InvalidHandleError', code: 'ERR_INVALID_HANDLE' });
  });
});
