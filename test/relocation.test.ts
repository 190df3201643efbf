// The relocation toolkit of MemoryManager, as a specification: resize, pins, views, the move
// epoch, onMove events (checked against a mirror kept only from the events), the best-fit
// strategy and the debug scrambler. Web-standard APIs only: this file also runs in the browser.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidHandleError,
  MemoryManager,
  MemoryManagerError,
  OutOfMemoryError,
  type BlockMove,
  type Handle,
  type TypedArrayConstructor,
} from '../src/index.js';
import {
  bytesOf,
  expectCoded,
  heapOver,
  nth,
  rejected,
  roundUp,
  takeSnapshot,
  thrown,
  type TestHeap,
  recordMoves,
} from './heap-snapshot.js';
import { mulberry32 as prng } from './prng.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** `a` followed by `b`, as one Uint8Array. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Allocates blocks of `sizes` in order and fills each with `bytesOf(index + 1, size)`. */
function allocFilled(mm: MemoryManager, sizes: readonly number[]): Handle[] {
  return sizes.map((size, i) => {
    const h = mm.allocSync(size);
    mm.write(h, bytesOf(i + 1, size));
    return h;
  });
}

/** Offsets of `handles`, in the order given. */
function offsetsOf(mm: MemoryManager, handles: readonly Handle[]): number[] {
  return handles.map((h) => mm.offsetOf(h));
}

describe('resize', () => {
  it('keeps the handle and the first min(old, new) bytes; grown bytes read as zeros', async () => {
    const { mm } = heapOver(256);
    const [a] = allocFilled(mm, [10]);
    mm.resizeSync(a, 30);
    expect(mm.has(a)).toBe(true);
    expect(mm.sizeOf(a)).toBe(30);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 10), zeros(20)));

    mm.resizeSync(a, 4);
    expect(mm.sizeOf(a)).toBe(4);
    expect(mm.read(a)).toEqual(bytesOf(1, 10).subarray(0, 4));

    await expect(mm.resize(a, 12)).resolves.toBeUndefined();
    expect(mm.sizeOf(a)).toBe(12);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 4), zeros(8)));
    expect(() => mm.validate()).not.toThrow();
  });

  it('bytes dropped by a shrink read as zeros after a grow within the same aligned size (5 → 3 → 5, align 8)', () => {
    const { mm } = heapOver(64);
    const a = mm.allocSync(5);
    mm.write(a, [1, 2, 3, 4, 5]);
    mm.resizeSync(a, 3);
    expect(mm.read(a)).toEqual(Uint8Array.of(1, 2, 3));
    mm.resizeSync(a, 5);
    expect(mm.read(a)).toEqual(Uint8Array.of(1, 2, 3, 0, 0));
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.stats()).toMatchObject({ used: 8, freeBlocks: 1 });
  });

  it('bytes dropped by a shrink read as zeros when the block grows back into its old tail', () => {
    const { mm } = heapOver(64);
    const [a] = allocFilled(mm, [20]); // occupies 24
    mm.resizeSync(a, 10); // occupies 16: [16, 24) joins the free space
    mm.resizeSync(a, 20);
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 20).subarray(0, 10), zeros(10)));
  });

  it('growing in place into a freed neighbour that held data: the new bytes read as zeros', () => {
    const heap = heapOver(64);
    const { mm, memory } = heap;
    const [a, b, c] = allocFilled(mm, [16, 16, 16]); // 0, 16, 32
    mm.freeSync(b);
    expect(Array.from(memory.subarray(16, 32))).toEqual(Array.from(bytesOf(2, 16)));
    mm.resizeSync(a, 32);
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(16)));
    expect(Array.from(memory.subarray(16, 32))).toEqual(Array.from(zeros(16)));
    expect(mm.offsetOf(c)).toBe(32);
    expect(mm.read(c)).toEqual(bytesOf(3, 16));
  });

  it('shrinking never moves; the tail becomes free and coalesces with a free neighbour', () => {
    const { mm } = heapOver(128);
    const [a, b, c] = allocFilled(mm, [32, 16, 16]); // 0, 32, 48; free [64, 128)
    mm.freeSync(b); // free [32, 48)
    const batches = recordMoves(mm);
    mm.resizeSync(a, 8); // tail [8, 32) joins [32, 48)
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.read(a)).toEqual(bytesOf(1, 8));
    expect(mm.stats()).toMatchObject({ used: 24, freeBlocks: 2, largestFree: 64 });
    expect(mm.epoch).toBe(0);
    expect(batches).toEqual([]);
    expect(mm.offsetOf(mm.allocSync(40))).toBe(8); // the coalesced [8, 48) holds it exactly
    expect(mm.offsetOf(c)).toBe(48);
    expect(() => mm.validate()).not.toThrow();
  });

  it('shrinking a block followed by a live block leaves its tail as a new free block', () => {
    const { mm } = heapOver(64);
    const [a, b] = allocFilled(mm, [32, 16]); // 0, 32; free [48, 64)
    mm.resizeSync(a, 8);
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.offsetOf(b)).toBe(32);
    expect(mm.stats()).toMatchObject({ used: 24, freeBlocks: 2, largestFree: 24 });
    expect(mm.offsetOf(mm.allocSync(24))).toBe(8);
  });

  it('growing stays in place when the free block after it is large enough, moving nothing', () => {
    const { mm } = heapOver(64);
    const [a, b, c] = allocFilled(mm, [16, 16, 16]);
    mm.freeSync(b); // free [16, 32)
    const batches = recordMoves(mm);
    mm.resizeSync(a, 24);
    expect(offsetsOf(mm, [a, c])).toEqual([0, 32]);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(8)));
    expect(mm.stats()).toMatchObject({ used: 40, freeBlocks: 2, largestFree: 16, compactions: 0 });
    expect(mm.epoch).toBe(0);
    expect(batches).toEqual([]);
  });

  it('growing moves the block to the first free block that fits when the space after it is too small', () => {
    const { mm } = heapOver(128);
    const [a, b, h, d] = allocFilled(mm, [16, 16, 32, 16]); // 0, 16, 32, 64; free [80, 128)
    mm.freeSync(h); // free [32, 64): the first that holds 32 bytes
    const batches = recordMoves(mm);
    mm.resizeSync(a, 32);
    expect(offsetsOf(mm, [a, b, d])).toEqual([32, 16, 64]);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(16)));
    expect(mm.read(b)).toEqual(bytesOf(2, 16));
    expect(mm.read(d)).toEqual(bytesOf(4, 16));
    expect(batches).toEqual([[{ kind: 'move', handle: a, from: 0, to: 32, size: 16 }]]);
    expect(mm.epoch).toBe(1);
    expect(mm.stats()).toMatchObject({ used: 64, freeBlocks: 2, largestFree: 48, compactions: 0 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('growing the first block when only compaction makes room compacts and succeeds, keeping every byte', async () => {
    const { mm } = heapOver(64);
    const [a, b, c] = allocFilled(mm, [16, 16, 16]); // 0, 16, 32; free [48, 64)
    mm.freeSync(b); // 32 bytes free in two 16-byte blocks; a grows by 24
    const batches = recordMoves(mm);
    await mm.resize(a, 40);
    expect(mm.stats()).toMatchObject({ used: 56, free: 8, freeBlocks: 1, compactions: 1 });
    expect(offsetsOf(mm, [c, a])).toEqual([0, 16]);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(24)));
    expect(mm.read(c)).toEqual(bytesOf(3, 16));
    // The block is staged first: c slides over its old place before a lands above it.
    expect(batches).toEqual([
      [
        { kind: 'stage', handle: a, from: 0, to: 0, size: 16 },
        { kind: 'move', handle: c, from: 32, to: 0, size: 16 },
        { kind: 'unstage', handle: a, from: 0, to: 16, size: 16 },
      ],
    ]);
    expect(mm.epoch).toBe(1);
    expect(() => mm.validate()).not.toThrow();
  });

  it('growing moves the block down into the free space on both sides of it when that suffices, without compacting', () => {
    const { mm } = heapOver(64);
    const [x, a, y, z] = allocFilled(mm, [16, 16, 16, 16]); // 0, 16, 32, 48: the heap is full
    mm.freeSync(x);
    mm.freeSync(y); // 16 free on each side of A, no free block of 40
    const batches = recordMoves(mm);
    mm.resizeSync(a, 40);
    expect(offsetsOf(mm, [a, z])).toEqual([0, 48]);
    expect(mm.read(a)).toEqual(concat(bytesOf(2, 16), zeros(24)));
    expect(mm.read(z)).toEqual(bytesOf(4, 16));
    expect(batches).toEqual([[{ kind: 'move', handle: a, from: 16, to: 0, size: 16 }]]);
    expect(mm.stats()).toMatchObject({ used: 56, freeBlocks: 1, compactions: 0 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('a resize that needs compaction compacts around pinned blocks and succeeds', () => {
    const { mm } = heapOver(128);
    // A 0, X 16, P 32 (pinned), C 48, Y 64, D 80; free [96, 128)
    const [a, x, p, c, y, d] = allocFilled(mm, [16, 16, 16, 16, 16, 16]);
    mm.pin(p);
    mm.freeSync(x);
    mm.freeSync(y); // 64 free: [16, 32), [64, 80), [96, 128)
    const batches = recordMoves(mm);
    mm.resizeSync(a, 48);
    // C fills [0, 16), D fills [16, 32) before P; A lands above P.
    expect(mm.blocks()).toEqual([
      { handle: c, offset: 0, size: 16 },
      { handle: d, offset: 16, size: 16 },
      { handle: p, offset: 32, size: 16 },
      { handle: a, offset: 48, size: 48 },
    ]);
    expect(batches).toEqual([
      [
        { kind: 'stage', handle: a, from: 0, to: 0, size: 16 },
        { kind: 'move', handle: c, from: 48, to: 0, size: 16 },
        { kind: 'move', handle: d, from: 80, to: 16, size: 16 },
        { kind: 'unstage', handle: a, from: 0, to: 48, size: 16 },
      ],
    ]);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(32)));
    for (const [h, seed] of [
      [p, 3],
      [c, 4],
      [d, 6],
    ] as const) {
      expect(mm.read(h)).toEqual(bytesOf(seed, 16));
    }
    expect(mm.stats()).toMatchObject({ used: 96, compactions: 1, freeBlocks: 1 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('a resize that fails only because pins split the free space throws OutOfMemoryError naming pinned blocks, without compacting', () => {
    const heap = heapOver(64);
    const { mm } = heap;
    const [a, p] = allocFilled(mm, [16, 8, 24]); // 0, 16, 24; free [48, 64)
    mm.pin(p);
    const before = takeSnapshot(heap);
    const error = thrown(() => mm.resizeSync(a, 32)); // grows by the 16 free bytes
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(/pinned/);
    expect(takeSnapshot(heap)).toEqual(before);

    mm.unpin(p); // without the pin the same resize compacts and succeeds
    mm.resizeSync(a, 32);
    expect(mm.offsetOf(a)).toBe(32);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(16)));
    expect(mm.stats().compactions).toBe(1);
  });

  it('a growing resize throws OutOfMemoryError when the total free space is less than the growth, and changes nothing', async () => {
    const heap = heapOver(64);
    const { mm } = heap;
    const [a, b] = allocFilled(mm, [16, 16, 16]);
    mm.freeSync(b); // 32 bytes free
    const before = takeSnapshot(heap);
    const error = thrown(() => mm.resizeSync(a, 49)); // grows by 40
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 49, free: 32, largestFree: 16 });
    expectCoded(await rejected(mm.resize(a, 49)), OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.epoch).toBe(0);

    mm.resizeSync(a, 48); // grows by exactly the free space: compacts and succeeds
    expect(mm.stats()).toMatchObject({ used: 64, free: 0, compactions: 1 });
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(32)));
  });

  it('with autoCompact off, a resize that needs compaction throws OutOfMemoryError and changes nothing', () => {
    const heap = heapOver(64, { autoCompact: false });
    const { mm } = heap;
    const [a, b] = allocFilled(mm, [16, 16, 16]);
    mm.freeSync(b);
    const before = takeSnapshot(heap);
    expectCoded(
      thrown(() => mm.resizeSync(a, 40)),
      OutOfMemoryError,
      'ERR_OUT_OF_MEMORY',
    );
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.stats().compactions).toBe(0);
  });

  it.each([
    ['0', 'RangeError ERR_OUT_OF_RANGE', 0, RangeError, 'ERR_OUT_OF_RANGE'],
    ['-8', 'RangeError ERR_OUT_OF_RANGE', -8, RangeError, 'ERR_OUT_OF_RANGE'],
    ['1.5', 'RangeError ERR_OUT_OF_RANGE', 1.5, RangeError, 'ERR_OUT_OF_RANGE'],
    ['NaN', 'RangeError ERR_OUT_OF_RANGE', NaN, RangeError, 'ERR_OUT_OF_RANGE'],
    ['"16"', 'TypeError ERR_INVALID_ARG_TYPE', '16', TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['undefined', 'TypeError ERR_INVALID_ARG_TYPE', undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['capacity + 1', 'OutOfMemoryError', 129, OutOfMemoryError, 'ERR_OUT_OF_MEMORY'],
  ] as const)(
    'a size of %s is refused with %s and the heap is unchanged',
    async (_name, _title, size, errorClass, code) => {
      const heap = heapOver(128);
      const { mm } = heap;
      const [a] = allocFilled(mm, [16, 16]);
      const before = takeSnapshot(heap);
      const bad = size as unknown as number;
      expectCoded(
        thrown(() => mm.resizeSync(a, bad)),
        errorClass,
        code,
      );
      expectCoded(await rejected(mm.resize(a, bad)), errorClass, code);
      expect(takeSnapshot(heap)).toEqual(before);
    },
  );

  it('a resize of an invalid handle throws InvalidHandleError and the heap is unchanged', async () => {
    const heap = heapOver(128);
    const { mm } = heap;
    const [a, b] = allocFilled(mm, [16, 16]);
    mm.freeSync(b);
    const before = takeSnapshot(heap);
    for (const bad of [b, 0, -1, a + 0.5, 'x' as unknown as number]) {
      expectCoded(
        thrown(() => mm.resizeSync(bad, 8)),
        InvalidHandleError,
        'ERR_INVALID_HANDLE',
      );
      expectCoded(await rejected(mm.resize(bad, 8)), InvalidHandleError, 'ERR_INVALID_HANDLE');
    }
    expect(takeSnapshot(heap)).toEqual(before);
  });
});

describe('pins', () => {
  it('pins are counted: n pins need n unpins; isPinned and stats().pinnedBlocks follow', () => {
    const { mm } = heapOver(64);
    const [a, b] = allocFilled(mm, [8, 8]);
    expect(mm.isPinned(a)).toBe(false);
    mm.pin(a);
    mm.pin(a);
    mm.pin(b);
    expect([mm.isPinned(a), mm.isPinned(b)]).toEqual([true, true]);
    expect(mm.stats().pinnedBlocks).toBe(2); // blocks, not pins
    mm.unpin(a);
    expect(mm.isPinned(a)).toBe(true);
    expect(mm.stats().pinnedBlocks).toBe(2);
    mm.unpin(a);
    expect(mm.isPinned(a)).toBe(false);
    expect(mm.stats().pinnedBlocks).toBe(1);
    mm.unpin(b);
    expect(mm.stats().pinnedBlocks).toBe(0);
    expect(mm.epoch).toBe(0);
  });

  it('unpin of a block without pins throws MemoryManagerError ERR_NOT_PINNED', () => {
    const { mm } = heapOver(64);
    const a = mm.allocSync(8);
    expectCoded(
      thrown(() => mm.unpin(a)),
      MemoryManagerError,
      'ERR_NOT_PINNED',
    );
    mm.pin(a);
    mm.unpin(a);
    expectCoded(
      thrown(() => mm.unpin(a)),
      MemoryManagerError,
      'ERR_NOT_PINNED',
    );
    expect(mm.stats().pinnedBlocks).toBe(0);
  });

  it('pin, unpin and isPinned of an invalid handle throw InvalidHandleError', () => {
    const { mm } = heapOver(64);
    const a = mm.allocSync(8);
    mm.freeSync(a);
    for (const call of [() => mm.pin(a), () => mm.unpin(a), () => mm.isPinned(a)]) {
      expectCoded(thrown(call), InvalidHandleError, 'ERR_INVALID_HANDLE');
    }
    expect(mm.stats().pinnedBlocks).toBe(0);
  });

  it('compact leaves a pinned block in place, fills the gap before it with later blocks that fit, in address order, and slides the rest', () => {
    const { mm } = heapOver(128);
    // A 0, B 16, P 32, C 48, D 56, E 80, F 88; free [104, 128)
    const [a, b, p, c, d, e, f] = allocFilled(mm, [16, 16, 16, 8, 24, 8, 16]);
    mm.pin(p);
    mm.freeSync(a);
    mm.freeSync(b); // a 32-byte gap before P
    const batches = recordMoves(mm);
    // C (8) takes [0, 8), D (24) fills [8, 32); E no longer fits before P and slides down to
    // 48, right after P; F slides down to 56.
    expect(mm.compactSync()).toEqual({ blocksMoved: 4, bytesMoved: 8 + 24 + 8 + 16 });
    expect(mm.blocks()).toEqual([
      { handle: c, offset: 0, size: 8 },
      { handle: d, offset: 8, size: 24 },
      { handle: p, offset: 32, size: 16 },
      { handle: e, offset: 48, size: 8 },
      { handle: f, offset: 56, size: 16 },
    ]);
    expect(batches).toEqual([
      [
        { kind: 'move', handle: c, from: 48, to: 0, size: 8 },
        { kind: 'move', handle: d, from: 56, to: 8, size: 24 },
        { kind: 'move', handle: e, from: 80, to: 48, size: 8 },
        { kind: 'move', handle: f, from: 88, to: 56, size: 16 },
      ],
    ]);
    for (const [i, h] of [p, c, d, e, f].entries()) {
      expect(mm.read(h)).toEqual(bytesOf(i + 3, mm.sizeOf(h)));
    }
    expect(mm.stats()).toMatchObject({ freeBlocks: 1, largestFree: 56, pinnedBlocks: 1 });
    expect(() => mm.validate()).not.toThrow();
  });

  it('a block too big for the gap before a pinned block stays where it is; a later one that fits fills the gap', () => {
    const { mm } = heapOver(64);
    const [a, p, c, d] = allocFilled(mm, [8, 16, 16, 8]); // 0, 8, 24, 40; free [48, 64)
    mm.pin(p);
    mm.freeSync(a); // an 8-byte gap before P
    expect(mm.compactSync()).toEqual({ blocksMoved: 1, bytesMoved: 8 });
    expect(mm.blocks()).toEqual([
      { handle: d, offset: 0, size: 8 },
      { handle: p, offset: 8, size: 16 },
      { handle: c, offset: 24, size: 16 },
    ]);
    expect(mm.read(d)).toEqual(bytesOf(4, 8));
    expect(mm.stats()).toMatchObject({ freeBlocks: 1, largestFree: 24 });
  });

  it('once unpinned, a block moves with the others again', () => {
    const { mm } = heapOver(64);
    const [a, p] = allocFilled(mm, [8, 16]);
    mm.pin(p);
    mm.freeSync(a);
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
    expect(mm.offsetOf(p)).toBe(8);
    mm.unpin(p);
    expect(mm.compactSync()).toEqual({ blocksMoved: 1, bytesMoved: 16 });
    expect(mm.offsetOf(p)).toBe(0);
    expect(mm.read(p)).toEqual(bytesOf(2, 16));
  });

  it('free of a pinned block throws MemoryManagerError ERR_BLOCK_PINNED and changes nothing', async () => {
    const heap = heapOver(64);
    const { mm } = heap;
    const [a] = allocFilled(mm, [16, 16]);
    mm.pin(a);
    const before = takeSnapshot(heap);
    expectCoded(
      thrown(() => mm.freeSync(a)),
      MemoryManagerError,
      'ERR_BLOCK_PINNED',
    );
    expectCoded(await rejected(mm.free(a)), MemoryManagerError, 'ERR_BLOCK_PINNED');
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.has(a)).toBe(true);
    mm.unpin(a);
    mm.freeSync(a);
    expect(mm.has(a)).toBe(false);
  });

  it('a resize of a pinned block that would have to move throws ERR_BLOCK_PINNED and changes nothing', async () => {
    const heap = heapOver(128);
    const { mm } = heap;
    const [a, , c] = allocFilled(mm, [16, 16, 16, 16]); // 0, 16, 32, 48; free [64, 128)
    mm.freeSync(c); // 80 bytes free: [32, 48) and [64, 128); B follows A
    mm.pin(a);
    const before = takeSnapshot(heap);
    // 40 bytes: moving to [64, 104) would do; 88 bytes: compaction would be needed.
    for (const size of [40, 88]) {
      expectCoded(
        thrown(() => mm.resizeSync(a, size)),
        MemoryManagerError,
        'ERR_BLOCK_PINNED',
      );
      expectCoded(await rejected(mm.resize(a, size)), MemoryManagerError, 'ERR_BLOCK_PINNED');
    }
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.epoch).toBe(0);
  });

  it('a pinned block can shrink and grow in place', () => {
    const { mm } = heapOver(64);
    const [a, b] = allocFilled(mm, [16, 16, 16]);
    mm.freeSync(b);
    mm.pin(a);
    mm.resizeSync(a, 32); // into the free [16, 32)
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.read(a)).toEqual(concat(bytesOf(1, 16), zeros(16)));
    mm.resizeSync(a, 4);
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.read(a)).toEqual(bytesOf(1, 4));
    expect(mm.isPinned(a)).toBe(true);
    expect(mm.epoch).toBe(0);
    expect(() => mm.validate()).not.toThrow();
  });

  it('an allocation that fails only because pins split the free space throws OutOfMemoryError naming pinned blocks, without compacting', async () => {
    const heap = heapOver(64);
    const { mm } = heap;
    const [a, p] = allocFilled(mm, [16, 8, 24]); // 0, 16, 24; free [48, 64)
    mm.pin(p);
    mm.freeSync(a); // 32 bytes free: [0, 16) and [48, 64); B (24) cannot fill [0, 16)
    const before = takeSnapshot(heap);
    const error = thrown(() => mm.allocSync(32));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(error).toMatchObject({ requested: 32, free: 32, largestFree: 16 });
    expect((error as Error).message).toMatch(/pinned/);
    const asyncError = await rejected(mm.alloc(32));
    expectCoded(asyncError, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect((asyncError as Error).message).toMatch(/pinned/);
    expect(takeSnapshot(heap)).toEqual(before);
    expect(mm.stats().compactions).toBe(0);

    mm.unpin(p); // without the pin the same allocation compacts and succeeds
    expect(mm.offsetOf(mm.allocSync(32))).toBe(32);
    expect(mm.stats().compactions).toBe(1);
  });
});

describe('view', () => {
  it("is the block's bytes in the heap's own buffer, no copy: writes go both ways", () => {
    const heap = heapOver(64);
    const { mm, memory } = heap;
    const [, b] = allocFilled(mm, [8, 10]);
    const v = mm.view(b);
    expect(v).toBeInstanceOf(Uint8Array);
    expect(v.buffer).toBe(memory.buffer);
    expect(v.byteOffset).toBe(8);
    expect(v.length).toBe(10); // sizeOf, not the 16 bytes it occupies
    expect(v).toEqual(bytesOf(2, 10));
    v[3] = 200;
    expect(mm.read(b, 3, 1)).toEqual(Uint8Array.of(200));
    mm.write(b, [7, 7], 8);
    expect(Array.from(v.subarray(8))).toEqual([7, 7]);
  });

  it('with a typed-array type gives a typed view of length size / BYTES_PER_ELEMENT over the same bytes', () => {
    const { mm } = heapOver(64);
    const a = mm.allocSync(24);
    const f64 = mm.view(a, Float64Array);
    const i32 = mm.view(a, Int32Array);
    const u16 = mm.view(a, Uint16Array);
    expect([f64.length, i32.length, u16.length]).toEqual([3, 6, 12]);
    expect([f64 instanceof Float64Array, i32 instanceof Int32Array]).toEqual([true, true]);
    f64[1] = 1.5;
    expect(mm.read(a, 8, 8)).toEqual(new Uint8Array(Float64Array.of(1.5).buffer));
    mm.write(a, new Uint8Array(Int32Array.of(-7, 123456).buffer), 16);
    expect([i32[4], i32[5]]).toEqual([-7, 123456]);
    expect(u16.byteOffset).toBe(mm.offsetOf(a));
  });

  it.each([
    ['Float64Array', 12, Float64Array],
    ['Int32Array', 6, Int32Array],
    ['Uint16Array', 5, Uint16Array],
  ] as const)(
    'a %s view of a block whose size (%i) it does not divide throws RangeError ERR_OUT_OF_RANGE',
    (_name, size, type) => {
      const { mm } = heapOver(64);
      const a = mm.allocSync(size);
      expectCoded(
        thrown(() => mm.view(a, type as TypedArrayConstructor<ArrayBufferView>)),
        RangeError,
        'ERR_OUT_OF_RANGE',
      );
    },
  );

  it('a typed view of a block at an address its element size does not divide throws RangeError (align 1)', () => {
    const { mm } = heapOver(64, { align: 1 });
    mm.allocSync(1);
    const b = mm.allocSync(8); // at address 1
    expect(mm.offsetOf(b)).toBe(1);
    for (const type of [Float64Array, Int32Array, Uint16Array] as const) {
      expectCoded(
        thrown(() => mm.view(b, type as TypedArrayConstructor<ArrayBufferView>)),
        RangeError,
        'ERR_OUT_OF_RANGE',
      );
    }
    expect(mm.view(b, Int8Array).length).toBe(8);
    expect(mm.view(b).byteOffset).toBe(1);
  });

  it('addresses are checked in the underlying buffer: a Uint8Array buffer at an odd byteOffset refuses typed views', () => {
    const memory = new ArrayBuffer(80);
    const odd = new MemoryManager({ buffer: new Uint8Array(memory, 1, 64) });
    const a = odd.allocSync(16); // heap offset 0, buffer address 1
    const v = odd.view(a);
    expect(v.buffer).toBe(memory);
    expect(v.byteOffset).toBe(1);
    expectCoded(
      thrown(() => odd.view(a, Uint16Array)),
      RangeError,
      'ERR_OUT_OF_RANGE',
    );

    const even = new MemoryManager({ buffer: new Uint8Array(memory, 8, 64) });
    const b = even.allocSync(16);
    const f64 = even.view(b, Float64Array);
    expect([f64.byteOffset, f64.length]).toEqual([8, 2]);
    expect(f64.buffer).toBe(memory);
  });

  it.each([
    ['Object', Object],
    ['a string', 'Float64Array'],
    ['DataView', DataView],
    ['an object with BYTES_PER_ELEMENT', { BYTES_PER_ELEMENT: 8 }],
    ['null', null],
  ] as const)(
    'a type that is not a typed-array constructor (%s) throws TypeError ERR_INVALID_ARG_TYPE',
    (_name, type) => {
      const { mm } = heapOver(64);
      const a = mm.allocSync(16);
      expectCoded(
        thrown(() => mm.view(a, type as unknown as TypedArrayConstructor<Uint8Array>)),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
      );
    },
  );

  it('of an invalid handle throws InvalidHandleError', () => {
    const { mm } = heapOver(64);
    const a = mm.allocSync(16);
    mm.freeSync(a);
    expectCoded(
      thrown(() => mm.view(a)),
      InvalidHandleError,
      'ERR_INVALID_HANDLE',
    );
    expectCoded(
      thrown(() => mm.view(a, Float64Array)),
      InvalidHandleError,
      'ERR_INVALID_HANDLE',
    );
  });

  it('of a pinned block stays valid across compact(): same bytes at the same place', () => {
    const { mm } = heapOver(128);
    const [a, p, c] = allocFilled(mm, [16, 16, 16]);
    mm.pin(p);
    const v = mm.view(p);
    mm.freeSync(a);
    expect(mm.compactSync()).toEqual({ blocksMoved: 1, bytesMoved: 16 }); // C into the gap
    expect(mm.offsetOf(c)).toBe(0);
    expect(v.byteOffset).toBe(mm.offsetOf(p));
    expect(v).toEqual(bytesOf(2, 16));
    v[0] = 99;
    expect(mm.read(p, 0, 1)).toEqual(Uint8Array.of(99));
  });
});

describe('epoch', () => {
  it('starts at 0 and stays there through operations that move nothing', async () => {
    const { mm } = heapOver(128);
    expect(mm.epoch).toBe(0);
    const [a, b] = allocFilled(mm, [16, 16, 16]);
    await mm.alloc(8);
    mm.write(a, [1]);
    mm.read(a);
    mm.view(a);
    mm.pin(a);
    mm.unpin(a);
    mm.resizeSync(a, 8); // shrink
    mm.resizeSync(a, 16); // grow in place
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 }); // already compact
    await mm.compact();
    mm.freeSync(b);
    await mm.free(a);
    expect(mm.epoch).toBe(0);
  });

  it('increases by one for each compaction, moving resize and auto-compaction that moves blocks', async () => {
    const { mm } = heapOver(64);
    const [a, b, c] = allocFilled(mm, [8, 8, 8, 8]);
    const d = mm.blocks()[3].handle; // a 0, b 8, c 16, d 24; free [32, 64)
    mm.freeSync(a);
    expect(mm.compactSync().blocksMoved).toBe(3); // b 0, c 8, d 16
    expect(mm.epoch).toBe(1);
    mm.freeSync(b);
    expect((await mm.compact()).blocksMoved).toBe(2); // c 0, d 8
    expect(mm.epoch).toBe(2);
    mm.resizeSync(c, 16); // d follows it: c moves to the first fit, [16, 32)
    expect(offsetsOf(mm, [c, d])).toEqual([16, 8]);
    expect(mm.epoch).toBe(3);
    const n = mm.allocSync(40); // 40 free, in [0, 8) and [32, 64): only compaction makes room
    expect(offsetsOf(mm, [d, c, n])).toEqual([0, 8, 24]);
    expect(mm.stats().compactions).toBe(3);
    expect(mm.epoch).toBe(4);
  });

  it('while the epoch is unchanged, offsets read earlier are still valid', () => {
    const { mm } = heapOver(128);
    const h = allocFilled(mm, [16, 8, 24, 8]);
    const epoch = mm.epoch;
    const cached = offsetsOf(mm, h);
    mm.freeSync(nth(h, 1));
    mm.allocSync(8);
    mm.resizeSync(nth(h, 3), 40);
    expect(mm.epoch).toBe(epoch);
    const live = [nth(h, 0), nth(h, 2), nth(h, 3)];
    expect(offsetsOf(mm, live)).toEqual([nth(cached, 0), nth(cached, 2), nth(cached, 3)]);
  });
});

describe('onMove', () => {
  it('lists exactly the blocks that moved, once each, in the order they moved, as a frozen array', () => {
    const { mm } = heapOver(128);
    const [x, a, y, b, c] = allocFilled(mm, [8, 10, 8, 20, 5]); // 0, 8, 24, 32, 56
    mm.freeSync(x);
    mm.freeSync(y);
    const received: (readonly BlockMove[])[] = [];
    mm.onMove((moves) => received.push(moves));
    mm.compactSync();
    expect(received).toHaveLength(1);
    const moves = nth(received, 0);
    expect(Object.isFrozen(moves)).toBe(true);
    expect(moves).toEqual([
      { kind: 'move', handle: a, from: 8, to: 0, size: 10 },
      { kind: 'move', handle: b, from: 32, to: 16, size: 20 },
      { kind: 'move', handle: c, from: 56, to: 40, size: 5 },
    ]);
    expect(offsetsOf(mm, [a, b, c])).toEqual([0, 16, 40]);
  });

  it('is called once per operation that moved blocks and never for operations that moved nothing', async () => {
    const { mm } = heapOver(128);
    const batches = recordMoves(mm);
    const [a, b, c] = allocFilled(mm, [16, 16, 16]);
    mm.resizeSync(c, 8); // shrinking the last block leaves no hole
    mm.pin(a);
    mm.unpin(a);
    mm.compactSync();
    await mm.compact();
    expect(batches).toEqual([]);
    mm.freeSync(a);
    await mm.compact();
    expect(batches).toEqual([
      [
        { kind: 'move', handle: b, from: 16, to: 0, size: 16 },
        { kind: 'move', handle: c, from: 32, to: 16, size: 8 },
      ],
    ]);
  });

  it('returns an unsubscribe function: a removed listener is not called, the others still are', () => {
    const { mm } = heapOver(64);
    const [a, b, c] = allocFilled(mm, [8, 8, 8]);
    const first = vi.fn<(moves: readonly BlockMove[]) => void>();
    const second = vi.fn<(moves: readonly BlockMove[]) => void>();
    const unsubscribe = mm.onMove(first);
    mm.onMove(second);
    mm.freeSync(a);
    mm.compactSync();
    expect(first).toHaveBeenCalledTimes(1);
    unsubscribe();
    mm.freeSync(b);
    mm.compactSync();
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(2);
    expect(second.mock.calls[1]).toEqual([[{ kind: 'move', handle: c, from: 8, to: 0, size: 8 }]]);
  });

  it('a listener that throws does not stop the others nor change the heap; its error goes to reportError', () => {
    const report = vi.fn<(error: unknown) => void>();
    vi.stubGlobal('reportError', report);
    const build = (): { heap: TestHeap; h: Handle[] } => {
      const heap = heapOver(128);
      const h = allocFilled(heap.mm, [16, 16, 16, 16]);
      heap.mm.freeSync(nth(h, 0));
      heap.mm.freeSync(nth(h, 2));
      return { heap, h };
    };
    const { heap, h } = build();
    const twin = build().heap;
    const error = new Error('listener failed');
    const before = recordMoves(heap.mm);
    heap.mm.onMove(() => {
      throw error;
    });
    const after = recordMoves(heap.mm);

    expect(heap.mm.compactSync()).toEqual({ blocksMoved: 2, bytesMoved: 32 });
    twin.mm.compactSync();

    expect(report.mock.calls).toHaveLength(1);
    expect(nth(report.mock.calls, 0)[0]).toBe(error);
    const expected = [
      [
        { kind: 'move', handle: nth(h, 1), from: 16, to: 0, size: 16 },
        { kind: 'move', handle: nth(h, 3), from: 48, to: 16, size: 16 },
      ],
    ];
    expect(before).toEqual(expected);
    expect(after).toEqual(expected);
    expect(takeSnapshot(heap)).toEqual(takeSnapshot(twin));
    expect(heap.mm.epoch).toBe(1);
    expect(() => heap.mm.validate()).not.toThrow();
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'listener'],
    ['an object', { handleEvent() {} }],
  ] as const)('with %s instead of a function throws TypeError ERR_INVALID_ARG_TYPE', (_n, bad) => {
    const heap = heapOver(64);
    const { mm } = heap;
    const [a] = allocFilled(mm, [8, 8]);
    expectCoded(
      thrown(() => mm.onMove(bad as unknown as () => void)),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
    );
    mm.freeSync(a);
    expect(mm.compactSync().blocksMoved).toBe(1); // publishing still works: nothing was added
  });

  it('a mirror kept only from move events and the test own writes equals the heap after a long mixed sequence', async () => {
    const { mm } = heapOver(2048);
    const rand = prng(2024);
    const int = (n: number): number => Math.floor(rand() * n);
    const mirror = new Uint8Array(mm.capacity);
    /** Where the events (and allocations) say each live block is. */
    const where = new Map<Handle, number>();
    const problems: string[] = [];
    let batches = 0;
    mm.onMove((moves) => {
      batches++;
      // The steps apply in order, in place; a staged block waits in `staged` for its unstage.
      const seen = new Set<Handle>();
      const staged = new Map<Handle, { at: number; bytes: Uint8Array }>();
      for (const m of moves) {
        if (m.kind !== 'unstage') {
          if (seen.has(m.handle)) problems.push(`block ${m.handle} listed twice in one batch`);
          seen.add(m.handle);
          if (where.get(m.handle) !== m.from) {
            problems.push(`block ${m.handle}: from ${m.from}, expected ${where.get(m.handle)}`);
          }
        }
        if (m.kind === 'move') {
          if (m.from === m.to) problems.push(`block ${m.handle}: a move from ${m.from} to itself`);
          mirror.copyWithin(m.to, m.from, m.from + m.size);
          where.set(m.handle, m.to);
        } else if (m.kind === 'stage') {
          staged.set(m.handle, { at: m.to, bytes: mirror.slice(m.from, m.from + m.size) });
        } else {
          const s = staged.get(m.handle);
          if (s?.at !== m.from) problems.push(`block ${m.handle}: unstaged without its stage`);
          else mirror.set(s.bytes, m.to);
          staged.delete(m.handle);
          where.set(m.handle, m.to);
        }
      }
      if (staged.size > 0) problems.push(`${staged.size} blocks staged and never unstaged`);
    });
    const writeBoth = (h: Handle, data: Uint8Array, offset: number): void => {
      mm.write(h, data, offset);
      mirror.set(data, where.get(h)! + offset);
    };
    const live: Handle[] = [];
    const pinned = new Set<Handle>();
    const counts = {
      autoCompactions: 0,
      movingResizes: 0,
      compactingResizes: 0,
      pinnedCompactions: 0,
      slicedCompactions: 0,
      refused: 0,
    };
    const refuse = (error: unknown): void => {
      expect(error).toBeInstanceOf(MemoryManagerError);
      expect(['ERR_OUT_OF_MEMORY', 'ERR_BLOCK_PINNED']).toContain(
        (error as MemoryManagerError).code,
      );
      counts.refused++;
    };

    for (let step = 0; step < 1500; step++) {
      const compactionsBefore = mm.stats().compactions;
      const op = int(100);
      if (op < 40 || live.length < 4) {
        const size = 1 + int(160);
        try {
          const h = int(2) === 0 ? mm.allocSync(size) : await mm.alloc(size);
          where.set(h, mm.offsetOf(h));
          live.push(h);
          writeBoth(h, bytesOf(step, size), 0);
          if (mm.stats().compactions > compactionsBefore) counts.autoCompactions++;
        } catch (error) {
          refuse(error);
        }
      } else if (op < 65) {
        const unpinned = live.filter((h) => !pinned.has(h));
        if (unpinned.length === 0) continue;
        const h = nth(unpinned, int(unpinned.length));
        if (int(2) === 0) mm.freeSync(h);
        else await mm.free(h);
        live.splice(live.indexOf(h), 1);
        where.delete(h);
      } else if (op < 80) {
        const h = nth(live, int(live.length));
        const oldSize = mm.sizeOf(h);
        const oldOffset = mm.offsetOf(h);
        const size = 1 + int(240);
        try {
          if (int(2) === 0) mm.resizeSync(h, size);
          else await mm.resize(h, size);
          if (size > oldSize) writeBoth(h, bytesOf(step + 7, size - oldSize), oldSize);
          if (mm.stats().compactions > compactionsBefore) counts.compactingResizes++;
          else if (mm.offsetOf(h) !== oldOffset) counts.movingResizes++;
        } catch (error) {
          refuse(error);
        }
      } else if (op < 88) {
        const h = nth(live, int(live.length));
        const offset = int(mm.sizeOf(h));
        writeBoth(h, bytesOf(step + 3, int(mm.sizeOf(h) - offset) + 1), offset);
      } else if (op < 93) {
        const h = nth(live, int(live.length));
        if (pinned.has(h)) {
          mm.unpin(h);
          pinned.delete(h);
        } else if (pinned.size < 3) {
          mm.pin(h);
          pinned.add(h);
        }
      } else if (op < 97) {
        if (pinned.size > 0) counts.pinnedCompactions++;
        mm.compactSync();
      } else {
        counts.slicedCompactions++;
        await mm.compact({ sliceBytes: 1 + int(200) });
      }

      for (const h of live) {
        const at = where.get(h)!;
        if (at !== mm.offsetOf(h)) problems.push(`block ${h} is at ${mm.offsetOf(h)}, not ${at}`);
        const actual = mm.read(h);
        if (actual.some((x, i) => x !== mirror[at + i])) {
          problems.push(`block ${h}: the mirror differs from the heap`);
        }
      }
      expect({ step, problems }).toEqual({ step, problems: [] });
    }
    mm.validate();
    expect(batches).toBe(mm.epoch);
    // The sequence did exercise every kind of move.
    expect(counts.autoCompactions).toBeGreaterThan(0);
    expect(counts.movingResizes).toBeGreaterThan(0);
    expect(counts.compactingResizes).toBeGreaterThan(0);
    expect(counts.pinnedCompactions).toBeGreaterThan(0);
    expect(counts.slicedCompactions).toBeGreaterThan(0);
  });
});

describe("strategy: 'best-fit'", () => {
  /**
   * Capacity 256, align 8: free holes of 48, 16, 32 and 16 bytes at 0, 56, 80 and 120, kept
   * apart by 8-byte blocks, and a live block up to the end (no free space at the top).
   */
  function holes(strategy: 'first-fit' | 'best-fit'): { mm: MemoryManager; h: Handle[] } {
    const { mm } = heapOver(256, { strategy });
    const h = allocFilled(mm, [48, 8, 16, 8, 32, 8, 16, 8, 112]);
    for (const i of [0, 2, 4, 6]) mm.freeSync(nth(h, i));
    return { mm, h };
  }

  it('the strategy option defaults to first-fit and is readable', () => {
    expect(new MemoryManager(64).strategy).toBe('first-fit');
    expect(new MemoryManager({ size: 64, strategy: 'best-fit' }).strategy).toBe('best-fit');
  });

  it.each([
    [8, 56, 0],
    [16, 56, 0],
    [24, 80, 0],
    [32, 80, 0],
    [40, 0, 0],
    [48, 0, 0],
  ])(
    'an allocation of %i bytes lands at %i under best fit (smallest hole, lowest first) and at %i under first fit',
    (size, bestAt, firstAt) => {
      const best = holes('best-fit').mm;
      expect(best.offsetOf(best.allocSync(size))).toBe(bestAt);
      const first = holes('first-fit').mm;
      expect(first.offsetOf(first.allocSync(size))).toBe(firstAt);
    },
  );

  it('a sequence 16, 24, 40, 16, 8 fills the best-fitting holes without compacting; first fit has to compact', () => {
    const { mm } = holes('best-fit');
    const placed = [16, 24, 40, 16, 8].map((size) => mm.offsetOf(mm.allocSync(size)));
    expect(placed).toEqual([56, 80, 0, 120, 40]);
    expect(mm.stats()).toMatchObject({ compactions: 0, free: 8, freeBlocks: 1 });

    const first = holes('first-fit').mm;
    expect([16, 24].map((size) => first.offsetOf(first.allocSync(size)))).toEqual([0, 16]);
    expect(first.offsetOf(first.allocSync(40))).toBe(184); // after compaction: 16+24+4*8+112
    expect(first.stats().compactions).toBe(1);
  });

  it('a growing resize that must move goes to the best-fitting free block', () => {
    const best = holes('best-fit');
    best.mm.resizeSync(nth(best.h, 7), 16); // the 8-byte block at 136 before the last block
    expect(best.mm.offsetOf(nth(best.h, 7))).toBe(56);
    expect(best.mm.read(nth(best.h, 7))).toEqual(concat(bytesOf(8, 8), zeros(8)));

    const first = holes('first-fit');
    first.mm.resizeSync(nth(first.h, 7), 16);
    expect(first.mm.offsetOf(nth(first.h, 7))).toBe(0);
    expect(first.mm.read(nth(first.h, 7))).toEqual(concat(bytesOf(8, 8), zeros(8)));
  });

  it.each([['worst-fit'], ['BEST-FIT'], [''], [1]] as const)(
    'an unknown strategy %O throws TypeError ERR_INVALID_ARG_VALUE',
    (strategy) => {
      expectCoded(
        thrown(() => new MemoryManager({ size: 64, strategy: strategy as unknown as 'best-fit' })),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
      );
    },
  );
});

describe('scramble', () => {
  /** True when the live blocks are not packed from offset 0 in address order. */
  function hasHoles(mm: MemoryManager): boolean {
    let at = 0;
    for (const b of mm.blocks()) {
      if (b.offset !== at) return true;
      at += roundUp(b.size, mm.align);
    }
    return false;
  }

  it('after every alloc, free, resize and compact every block moves; handles and contents are kept', async () => {
    const { mm } = heapOver(512, { scramble: true });
    expect(mm.scramble).toBe(true);
    const batches = recordMoves(mm);
    const contents = new Map<Handle, Uint8Array>();
    const steps: [string, () => unknown][] = [];
    const alloc = (size: number, sync: boolean) => async (): Promise<void> => {
      const h = sync ? mm.allocSync(size) : await mm.alloc(size);
      contents.set(h, bytesOf(h, size));
      mm.write(h, bytesOf(h, size));
    };
    const someHandle = (i: number): Handle => nth([...contents.keys()], i);
    steps.push(['allocSync(20)', alloc(20, true)]);
    steps.push(['allocSync(24)', alloc(24, true)]);
    steps.push(['alloc(8)', alloc(8, false)]);
    steps.push(['allocSync(40)', alloc(40, true)]);
    steps.push([
      'freeSync',
      () => {
        const h = someHandle(1);
        mm.freeSync(h);
        contents.delete(h);
      },
    ]);
    steps.push([
      'resizeSync (grow within its 24 bytes)',
      () => {
        const h = someHandle(0);
        mm.resizeSync(h, 24);
        contents.set(h, concat(contents.get(h)!, zeros(4)));
      },
    ]);
    steps.push([
      'resize (shrink)',
      async () => {
        const h = someHandle(2);
        await mm.resize(h, 10);
        contents.set(h, contents.get(h)!.slice(0, 10));
      },
    ]);
    steps.push(['compactSync', () => mm.compactSync()]);
    steps.push(['compact', () => mm.compact()]);
    steps.push([
      'free',
      async () => {
        const h = someHandle(0);
        await mm.free(h);
        contents.delete(h);
      },
    ]);

    for (const [name, step] of steps) {
      const epoch = mm.epoch;
      const compacts = name.startsWith('compact') && hasHoles(mm);
      batches.length = 0;
      await step();
      // One batch for the scramble, plus one for a compaction that moved blocks.
      expect({ name, batches: batches.length }).toEqual({ name, batches: compacts ? 2 : 1 });
      expect(mm.epoch - epoch).toBe(batches.length);
      const scrambled = nth(batches, batches.length - 1)
        .filter((m) => m.kind !== 'unstage')
        .map((m) => m.handle)
        .sort((x, y) => x - y);
      const live = [...contents.keys()].sort((x, y) => x - y);
      expect({ name, scrambled }).toEqual({ name, scrambled: live });
      for (const [h, bytes] of contents) expect(mm.read(h)).toEqual(bytes);
      expect(() => mm.validate()).not.toThrow();
    }
  });

  it('pinned blocks stay put while the blocks around them are scrambled', () => {
    const { mm } = heapOver(512, { scramble: true });
    const h = [16, 16, 16, 16, 16].map((size, i) => {
      const x = mm.allocSync(size);
      mm.write(x, bytesOf(i + 1, size));
      return x;
    });
    const p = nth(h, 2);
    mm.pin(p);
    const at = mm.offsetOf(p);
    const batches = recordMoves(mm);
    /**
     * The unpinned blocks that can move: those in a stretch between pins that has free space or
     * holds two blocks or more (they can trade places).
     */
    const movable = (): Handle[] => {
      const below = mm.blocks().filter((b) => b.offset < at);
      const above = mm.blocks().filter((b) => b.offset > at);
      const canMove = (bs: typeof below, room: number): boolean =>
        bs.length >= 2 || bs.reduce((n, b) => n + roundUp(b.size, 8), 0) < room;
      return [
        ...(canMove(below, at) ? below : []),
        ...(canMove(above, mm.capacity - at - 16) ? above : []),
      ]
        .map((b) => b.handle)
        .sort((x, y) => x - y);
    };
    const ops: [string, () => number][] = [
      [
        'allocSync',
        () => {
          mm.allocSync(8);
          return 0;
        },
      ],
      [
        'freeSync',
        () => {
          mm.freeSync(nth(h, 0));
          return 0;
        },
      ],
      ['compactSync', () => mm.compactSync().blocksMoved],
    ];
    for (const [name, op] of ops) {
      batches.length = 0;
      const compacted = op();
      expect({ name, batches: batches.length }).toEqual({ name, batches: compacted > 0 ? 2 : 1 });
      const scrambled = nth(batches, batches.length - 1)
        .filter((m) => m.kind !== 'unstage')
        .map((m) => m.handle)
        .sort((x, y) => x - y);
      expect({ name, scrambled }).toEqual({ name, scrambled: movable() });
      expect(mm.offsetOf(p)).toBe(at);
      expect(batches.flat().filter((m) => m.handle === p)).toEqual([]);
      for (const i of [1, 2, 3, 4]) expect(mm.read(nth(h, i))).toEqual(bytesOf(i + 1, 16));
    }
  });

  it('catches a stale view: after an unrelated allocSync the old view no longer shows the block, read does', () => {
    const { mm } = heapOver(256, { scramble: true });
    const h = mm.allocSync(16);
    mm.write(h, bytesOf(1, 16));
    const stale = mm.view(h);
    const offset = mm.offsetOf(h);
    mm.allocSync(8); // unrelated
    mm.write(h, bytesOf(2, 16));
    expect(mm.read(h)).toEqual(bytesOf(2, 16));
    expect(mm.offsetOf(h)).not.toBe(offset);
    expect(stale.byteOffset).toBe(offset);
    expect(stale).not.toEqual(bytesOf(2, 16));
    stale.fill(0); // writes through the stale view miss the block
    expect(mm.read(h)).toEqual(bytesOf(2, 16));
  });

  it('without scramble the same stale-view code happens to work, hiding the bug', () => {
    const { mm } = heapOver(256);
    const h = mm.allocSync(16);
    mm.write(h, bytesOf(1, 16));
    const stale = mm.view(h);
    mm.allocSync(8);
    mm.write(h, bytesOf(2, 16));
    expect(stale).toEqual(bytesOf(2, 16));
    expect(mm.offsetOf(h)).toBe(stale.byteOffset);
  });

  it('the view of a pinned block survives scrambled operations', () => {
    const { mm } = heapOver(256, { scramble: true });
    const h = mm.allocSync(16);
    mm.write(h, bytesOf(1, 16));
    mm.pin(h);
    const v = mm.view(h);
    const epoch = mm.epoch;
    mm.allocSync(8);
    mm.allocSync(8);
    expect(mm.epoch).toBe(epoch + 2);
    mm.write(h, bytesOf(2, 16));
    expect(v).toEqual(bytesOf(2, 16));
  });
});

describe('listeners that call back into the heap', () => {
  it('every listener receives the batches in the order they happened, so a mirror stays exact', () => {
    const mm = new MemoryManager({ size: 256 });
    const hs: Handle[] = [];
    for (let i = 0; i < 8; i++) hs.push(mm.allocSync(16));
    const mirror = new Uint8Array(mm.capacity);
    for (const [i, h] of hs.entries()) {
      const data = new Uint8Array(16).fill(i + 1);
      mm.write(h, data);
      mirror.set(data, mm.offsetOf(h));
    }
    mm.freeSync(hs[0]);
    mm.freeSync(hs[2]);
    let reacted = false;
    const batchSizes: number[] = [];
    mm.onMove(() => {
      if (reacted) return;
      reacted = true;
      mm.freeSync(hs[5]); // a listener that frees and compacts in reaction
      mm.compactSync();
    });
    mm.onMove((moves) => {
      batchSizes.push(moves.length);
      const before = mirror.slice();
      for (const { from, to, size } of moves) mirror.set(before.subarray(from, from + size), to);
    });
    mm.compactSync();
    expect(batchSizes).toHaveLength(2);
    expect(mm.epoch).toBe(2);
    for (const b of mm.blocks()) {
      expect(mirror.subarray(b.offset, b.offset + b.size)).toEqual(mm.read(b.handle));
    }
    mm.validate();
  });
});
