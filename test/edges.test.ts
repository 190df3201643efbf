// Regressions for the edges a new user and an adversarial review broke: memory that gets detached
// or replaced, Node Buffers, foreign input that calls back into the heap, listeners that
// re-enter, option objects that lie, sliced compaction under changing pins, and the scrambler.
// Web-standard APIs only (Buffer cases are skipped where Buffer does not exist): this file also
// runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  HeapBusyError,
  InvalidHandleError,
  MemoryManager,
  MemoryManagerError,
  OutOfMemoryError,
  type BlockMove,
  type Handle,
} from '../src/index.js';
import { bytesOf, expectCoded, rejected, takeSnapshot, thrown } from './heap-snapshot.js';

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';
const DETACHED = 'ERR_BUFFER_DETACHED';

/** Detaches `buffer` the way a postMessage transfer does. */
function detach(buffer: ArrayBuffer): void {
  structuredClone(buffer, { transfer: [buffer] });
}

/** Node's Buffer where it exists (these cases are skipped in the browser). */
const NodeBuffer = (
  globalThis as { Buffer?: { alloc(n: number): Uint8Array; from(b: ArrayBuffer): Uint8Array } }
).Buffer;

describe('memory that is detached or replaced', () => {
  it('an alloc option getter that detaches the memory fails cleanly: nothing allocated', async () => {
    for (const sync of [true, false]) {
      const buffer = new ArrayBuffer(256);
      const mm = new MemoryManager({ buffer });
      const options = {
        get align(): number {
          detach(buffer);
          return 16;
        },
      };
      const error = sync
        ? thrown(() => mm.allocSync(8, options))
        : await rejected(mm.alloc(8, options));
      expectCoded(error, MemoryManagerError, DETACHED);
      expect(mm.stats().liveBlocks).toBe(0);
    }
  });

  it('an alloc option getter that grows the WebAssembly memory is followed', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mm = new MemoryManager({ buffer: memory });
    const h = mm.allocSync(8, {
      get align(): number {
        memory.grow(1);
        return 64;
      },
    });
    mm.write(h, [1, 2, 3]);
    expect(Array.from(mm.read(h, 0, 3))).toEqual([1, 2, 3]);
    mm.validate();
  });

  /** A heap over an ArrayBuffer with two live blocks and a hole, then the buffer detached. */
  function detachedHeap(options: { strategy?: 'first-fit' | 'best-fit' } = {}) {
    const buffer = new ArrayBuffer(256);
    const mm = new MemoryManager({ buffer, ...options });
    const a = mm.allocSync(16);
    const hole = mm.allocSync(40);
    const b = mm.allocSync(100);
    mm.pin(a);
    mm.unpin(a);
    mm.freeSync(hole);
    const stats = mm.stats();
    const blocks = mm.blocks();
    detach(buffer);
    return { mm, a, b, stats, blocks };
  }

  it('every operation that reads, writes or changes the heap throws ERR_BUFFER_DETACHED and changes nothing', async () => {
    const { mm, a, b, stats, blocks } = detachedHeap();
    const calls: [string, () => unknown][] = [
      ['allocSync', () => mm.allocSync(8)],
      ['allocSync (needs compaction)', () => mm.allocSync(120)],
      ['freeSync', () => mm.freeSync(a)],
      ['resizeSync (grow, moves)', () => mm.resizeSync(a, 100)],
      ['resizeSync (shrink)', () => mm.resizeSync(b, 8)],
      ['compactSync', () => mm.compactSync()],
      ['read', () => mm.read(a)],
      ['write', () => mm.write(a, [1])],
      ['view', () => mm.view(a)],
      ['pin', () => mm.pin(a)],
      ['unpin', () => mm.unpin(a)],
      ['bytes', () => mm.bytes],
    ];
    for (const [name, call] of calls) {
      const error = thrown(call);
      expect({ name, code: (error as { code?: string }).code }).toEqual({ name, code: DETACHED });
      expect(error).toBeInstanceOf(MemoryManagerError);
      expect(mm.stats()).toEqual(stats);
      expect(mm.blocks()).toEqual(blocks);
      expect(() => mm.validate()).not.toThrow();
    }
    for (const promise of [
      mm.alloc(8),
      mm.free(a),
      mm.resize(a, 100),
      mm.compact(),
      mm.compact({ sliceBytes: 8 }),
    ]) {
      expectCoded(await rejected(promise), MemoryManagerError, DETACHED);
    }
    expect(mm.stats()).toEqual(stats);
    expect(mm.blocks()).toEqual(blocks);
    // What only reads metadata still answers, so the heap can be inspected.
    expect(mm.sizeOf(b)).toBe(100);
    expect(mm.has(a)).toBe(true);
    expect(() => mm.validate()).not.toThrow();
  });

  it('a best-fit heap keeps its size index whole when compaction meets detached memory', () => {
    const { mm, stats } = detachedHeap({ strategy: 'best-fit' });
    expectCoded(
      thrown(() => mm.compactSync()),
      MemoryManagerError,
      DETACHED,
    );
    expect(mm.stats()).toEqual(stats);
    expect(() => mm.validate()).not.toThrow();
  });

  it('a view into a grown WebAssembly.Memory: a failed resize leaves the metadata valid', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mm = new MemoryManager({ buffer: new Uint8Array(memory.buffer, 0, 4096) });
    const a = mm.allocSync(100);
    mm.allocSync(8);
    memory.grow(1); // detaches the old ArrayBuffer and the heap's view with it
    expectCoded(
      thrown(() => mm.resizeSync(a, 3000)),
      MemoryManagerError,
      DETACHED,
    );
    expect(mm.sizeOf(a)).toBe(100);
    expect(() => mm.validate()).not.toThrow();
  });

  it('a WebAssembly.Memory as buffer keeps working after grow: the heap re-reads memory.buffer', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const mm = new MemoryManager({ buffer: memory });
    expect(mm.capacity).toBe(65536);
    const a = mm.allocSync(64);
    mm.write(a, bytesOf(1, 64));
    memory.grow(1);
    expect(mm.read(a)).toEqual(bytesOf(1, 64));
    const b = await mm.alloc(32);
    mm.write(b, bytesOf(2, 32));
    memory.grow(1);
    mm.freeSync(a);
    mm.compactSync();
    expect(mm.offsetOf(b)).toBe(0);
    expect(new Uint8Array(memory.buffer, 0, 32)).toEqual(bytesOf(2, 32));
    expect(mm.bytes.buffer).toBe(memory.buffer);
    expect(mm.capacity).toBe(65536); // the heap manages what it managed at construction
    mm.validate();
  });

  it('memory detached between the slices of a compaction stops it with ERR_BUFFER_DETACHED, metadata valid', async () => {
    const buffer = new ArrayBuffer(1024);
    const mm = new MemoryManager({ buffer });
    const hs: Handle[] = [];
    for (let i = 0; i < 16; i++) hs.push(mm.allocSync(32));
    for (let i = 0; i < 16; i += 2) mm.freeSync(hs[i]);
    let slices = 0;
    mm.onMove(() => {
      if (++slices === 2) detach(buffer);
    });
    expectCoded(await rejected(mm.compact({ sliceBytes: 32 })), MemoryManagerError, DETACHED);
    expect(slices).toBe(2);
    mm.validate();
  });

  it('a detached buffer or a view of one as the buffer option is ERR_BUFFER_DETACHED', () => {
    const buffer = new ArrayBuffer(64);
    const view = new Uint8Array(buffer);
    detach(buffer);
    expectCoded(
      thrown(() => new MemoryManager({ buffer })),
      MemoryManagerError,
      DETACHED,
    );
    expectCoded(
      thrown(() => new MemoryManager({ buffer: view })),
      MemoryManagerError,
      DETACHED,
    );
  });
});

describe('error messages name what is wrong', () => {
  it('read past the end names the offset that is wrong', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(10);
    const error = thrown(() => mm.read(h, 12, 1));
    expectCoded(error, RangeError, RANGE);
    expect((error as Error).message).toMatch(/"offset".*12/);
    expect((error as Error).message).not.toMatch(/from offset 0/);
    expect((error as Error).message).toMatch(/10-byte block/);
  });

  it('HeapBusyError names resize among the async calls', async () => {
    const mm = new MemoryManager(64);
    const pending = mm.alloc(8);
    const error = thrown(() => mm.allocSync(8));
    expect(error).toBeInstanceOf(HeapBusyError);
    expect((error as Error).message).toMatch(/resize/);
    await pending;
  });

  it('a typed view that the underlying buffer misaligns says so, with both addresses', () => {
    const mm = new MemoryManager({ buffer: new Uint8Array(new ArrayBuffer(68), 4) });
    const h = mm.allocSync(16);
    expect(mm.offsetOf(h)).toBe(0);
    const error = thrown(() => mm.view(h, Float64Array));
    expectCoded(error, RangeError, RANGE);
    expect((error as Error).message).toMatch(/offset 0/);
    expect((error as Error).message).toMatch(/byteOffset 4/);
    expect(mm.view(h, Float32Array)).toHaveLength(4); // 4-byte elements are aligned there
  });
});

describe('the maxBlocks option', () => {
  it('an allocation past maxBlocks is ERR_TOO_MANY_BLOCKS and leaves the heap as it was', async () => {
    const mm = new MemoryManager({ size: 256, maxBlocks: 3 });
    const hs = [mm.allocSync(8), mm.allocSync(8), mm.allocSync(8)];
    mm.freeSync(hs[1]);
    mm.allocSync(8);
    const stats = mm.stats();
    expectCoded(
      thrown(() => mm.allocSync(8)),
      MemoryManagerError,
      'ERR_TOO_MANY_BLOCKS',
    );
    expectCoded(await rejected(mm.alloc(8)), MemoryManagerError, 'ERR_TOO_MANY_BLOCKS');
    expect(mm.stats()).toEqual(stats);
    mm.validate();
    expect(mm.maxBlocks).toBe(3);
  });

  it('maxBlocks must be an integer from 1 to the limit', () => {
    for (const bad of [0, -1, 1.5, 2 ** 40]) {
      expectCoded(
        thrown(() => new MemoryManager({ size: 64, maxBlocks: bad })),
        RangeError,
        RANGE,
      );
    }
    expectCoded(
      thrown(() => new MemoryManager({ size: 64, maxBlocks: '3' as unknown as number })),
      TypeError,
      TYPE,
    );
  });
});

describe('a heap over a Node Buffer', () => {
  it.skipIf(NodeBuffer === undefined)('read returns a copy, not a live view', () => {
    const mm = new MemoryManager({ buffer: NodeBuffer!.alloc(48) });
    const h = mm.allocSync(8);
    mm.write(h, new Uint8Array(8).fill(2));
    const copy = mm.read(h);
    copy[0] = 99;
    expect(mm.read(h)[0]).toBe(2);
    expect(Object.getPrototypeOf(copy)).toBe(Uint8Array.prototype);
  });

  it.skipIf(NodeBuffer === undefined)(
    'a resize that compacts keeps the bytes of the resized block',
    () => {
      const mm = new MemoryManager({ buffer: NodeBuffer!.alloc(48) });
      const [a, , z] = [1, 2, 3, 4, 5].map((v) => {
        const h = mm.allocSync(8);
        mm.write(h, new Uint8Array(8).fill(v));
        return h;
      }) as [Handle, Handle, Handle];
      mm.freeSync(a);
      mm.resizeSync(z, 24);
      expect(mm.read(z, 0, 8)).toEqual(new Uint8Array(8).fill(3));
      mm.validate();
    },
  );

  it.skipIf(NodeBuffer === undefined)('scramble keeps every block`s bytes', () => {
    const mm = new MemoryManager({ buffer: NodeBuffer!.alloc(256), scramble: true });
    const hs: Handle[] = [];
    for (let i = 1; i <= 6; i++) {
      const h = mm.allocSync(8 * i);
      mm.write(h, bytesOf(i, 8 * i));
      hs.push(h);
    }
    mm.freeSync(hs[2]);
    for (const i of [0, 1, 3, 4, 5]) expect(mm.read(hs[i])).toEqual(bytesOf(i + 1, 8 * (i + 1)));
  });

  it.skipIf(NodeBuffer === undefined)('bytes is a plain Uint8Array over the same memory', () => {
    const buffer = NodeBuffer!.alloc(64);
    const mm = new MemoryManager({ buffer });
    expect(Object.getPrototypeOf(mm.bytes)).toBe(Uint8Array.prototype);
    expect(mm.bytes.buffer).toBe(buffer.buffer);
    expect(mm.bytes.byteOffset).toBe(buffer.byteOffset);
  });
});

describe('write and view read foreign input once, before touching the heap', () => {
  it('a getter that compacts and allocates cannot redirect the write into another block', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(8);
    mm.freeSync(a);
    let n = 0;
    let d: Handle | undefined;
    const data = { length: 8 } as Record<number, number> & { length: number };
    for (let i = 0; i < 8; i++) {
      Object.defineProperty(data, i, {
        get() {
          if (n++ === 8) {
            mm.compactSync();
            d = mm.allocSync(8);
          }
          return 7;
        },
      });
    }
    mm.write(b, data);
    expect(mm.read(b)).toEqual(new Uint8Array(8).fill(7));
    if (d !== undefined) expect(mm.read(d)).toEqual(new Uint8Array(8));
    expect(n).toBe(8); // each element read exactly once
    mm.validate();
  });

  it('a getter that compacts mid-copy still writes the block at its new offset', () => {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(8);
    mm.freeSync(a);
    const data = {
      length: 2,
      get 0() {
        mm.compactSync(); // b moves from 8 to 0
        return 5;
      },
      1: 6,
    };
    mm.write(b, data);
    expect(mm.offsetOf(b)).toBe(0);
    expect(mm.read(b, 0, 2)).toEqual(Uint8Array.of(5, 6));
  });

  it('a value valid when checked and invalid when copied cannot be stored: each element is read once', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    let reads = 0;
    const data = {
      length: 1,
      get 0() {
        return reads++ === 0 ? 5 : 300;
      },
    };
    mm.write(h, data);
    expect(mm.read(h, 0, 1)).toEqual(Uint8Array.of(5));
    expect(reads).toBe(1);
  });

  it('a getter that frees the block makes the write fail with InvalidHandleError, writing nothing', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const other = mm.allocSync(8);
    mm.write(other, bytesOf(3, 8));
    const data = {
      length: 1,
      get 0() {
        mm.freeSync(h);
        return 1;
      },
    };
    expect(thrown(() => mm.write(h, data))).toBeInstanceOf(InvalidHandleError);
    expect(mm.read(other)).toEqual(bytesOf(3, 8));
    mm.validate();
  });

  it('a getter that shrinks the block makes a write that no longer fits fail, writing nothing', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(16);
    const data = Array.from({ length: 12 }, () => 1);
    Object.defineProperty(data, 0, {
      get() {
        mm.resizeSync(h, 4);
        return 1;
      },
    });
    expectCoded(
      thrown(() => mm.write(h, data)),
      RangeError,
      RANGE,
    );
    expect(mm.read(h)).toEqual(new Uint8Array(4));
  });

  it('a Proxy around a Uint8Array cannot change its length between check and copy', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const neighbour = mm.allocSync(8);
    mm.write(neighbour, bytesOf(4, 8));
    const target = new Uint8Array(16).fill(9);
    let lengthReads = 0;
    const proxy = new Proxy(target, {
      get(t, key) {
        if (key === 'length') return lengthReads++ === 0 ? 8 : 16;
        return Reflect.get(t, key) as unknown;
      },
    });
    mm.write(h, proxy);
    expect(mm.read(h)).toEqual(new Uint8Array(8).fill(9));
    expect(mm.read(neighbour)).toEqual(bytesOf(4, 8));
  });

  it('a Proxy whose traps throw is ERR_INVALID_ARG_VALUE with the trap`s error as cause, nothing written', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const boom = new Error('boom');
    const proxy = new Proxy(
      { length: 2 },
      {
        get(t, key) {
          if (key === '1') throw boom;
          return key === 'length' ? 2 : 1;
        },
      },
    );
    const error = thrown(() => mm.write(h, proxy));
    expectCoded(error, TypeError, VALUE);
    expect((error as Error).cause).toBe(boom);
    expect(mm.read(h)).toEqual(new Uint8Array(8));
  });

  it('a detached Uint8Array as data is ERR_INVALID_ARG_VALUE', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const buffer = new ArrayBuffer(4);
    const data = new Uint8Array(buffer);
    detach(buffer);
    expectCoded(
      thrown(() => mm.write(h, data)),
      TypeError,
      VALUE,
    );
  });

  it('the length is checked before any element: a huge array against a small block fails at once', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(1);
    let reads = 0;
    const data = new Proxy(
      { length: 2e7 },
      {
        get(t, key) {
          if (key !== 'length') reads++;
          return key === 'length' ? t.length : 1;
        },
      },
    );
    expectCoded(
      thrown(() => mm.write(h, data)),
      RangeError,
      RANGE,
    );
    expect(reads).toBe(0);
  });

  it('view(h, T) reads nothing from T: a BYTES_PER_ELEMENT getter cannot run', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(16);
    let calls = 0;
    class Sneaky extends Float64Array {
      static override get BYTES_PER_ELEMENT(): number {
        calls++;
        mm.compactSync();
        return 8;
      }
    }
    expectCoded(
      thrown(() => mm.view(h, Sneaky)),
      TypeError,
      TYPE,
    );
    expect(calls).toBe(0);
    expect(mm.view(h, Float64Array)).toHaveLength(2);
    expect(mm.view(h, BigInt64Array)).toHaveLength(2);
  });
});

describe('options are read once, own properties only', () => {
  it('a getter is read once: the heap keeps the value it checked', () => {
    let reads = 0;
    const options = {
      size: 64,
      get autoCompact() {
        return reads++ === 0 ? false : ('sometimes' as unknown as boolean);
      },
    };
    const mm = new MemoryManager(options);
    expect(mm.autoCompact).toBe(false);
    expect(reads).toBe(1);
  });

  it('options inherited from a prototype are ignored', () => {
    const options = Object.create({ size: 64, bogus: 1 }) as { buffer?: ArrayBuffer };
    options.buffer = new ArrayBuffer(32);
    const mm = new MemoryManager(options);
    expect(mm.capacity).toBe(32);
  });

  it('a throwing options getter is ERR_INVALID_ARG_VALUE with the error as cause', () => {
    const boom = new Error('boom');
    const options = {
      get size(): number {
        throw boom;
      },
    };
    const error = thrown(() => new MemoryManager(options));
    expectCoded(error, TypeError, VALUE);
    expect((error as Error).cause).toBe(boom);
  });

  it('compact(options) with a throwing getter rejects instead of throwing', async () => {
    const mm = new MemoryManager(64);
    const boom = new Error('boom');
    const options = {
      get sliceBytes(): number {
        throw boom;
      },
    };
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = mm.compact(options);
    }).not.toThrow();
    const error = await rejected(promise!);
    expectCoded(error, TypeError, VALUE);
    expect((error as Error).cause).toBe(boom);
  });
});

describe('move listeners', () => {
  /** A heap with a hole in front of two blocks, so a compaction moves both. */
  function heapWithHole(): { mm: MemoryManager; b: Handle; c: Handle } {
    const mm = new MemoryManager(64);
    const a = mm.allocSync(8);
    const b = mm.allocSync(8);
    const c = mm.allocSync(8);
    mm.freeSync(a);
    return { mm, b, c };
  }

  it('a listener removed by an earlier listener does not receive the batch being delivered', () => {
    const { mm } = heapWithHole();
    const calls: string[] = [];
    let offSecond = (): void => undefined;
    mm.onMove(() => {
      calls.push('first');
      offSecond();
    });
    offSecond = mm.onMove(() => calls.push('second'));
    mm.compactSync();
    expect(calls).toEqual(['first']);
  });

  it('the same function subscribed twice is two subscriptions, each removed on its own', () => {
    const { mm } = heapWithHole();
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    const off1 = mm.onMove(listener);
    mm.onMove(listener);
    off1();
    mm.compactSync();
    expect(calls).toBe(1);
  });

  it('moves and batches are frozen', () => {
    const { mm } = heapWithHole();
    let batch: readonly BlockMove[] = [];
    mm.onMove((moves) => {
      batch = moves;
    });
    mm.compactSync();
    expect(batch.length).toBe(2);
    expect(Object.isFrozen(batch)).toBe(true);
    for (const move of batch) expect(Object.isFrozen(move)).toBe(true);
  });

  it('during a sliced compaction a listener gets HeapBusyError from Sync calls, and async calls run after it', async () => {
    const { mm, b, c } = heapWithHole();
    const seen: unknown[] = [];
    const later: Promise<void>[] = [];
    mm.onMove(() => {
      seen.push(thrown(() => mm.freeSync(c)));
      later.push(mm.free(c));
    });
    await mm.compact({ sliceBytes: 8 });
    expect(seen.length).toBeGreaterThan(0);
    for (const error of seen) expect(error).toBeInstanceOf(HeapBusyError);
    await Promise.all(later.slice(0, 1));
    expect(mm.has(c)).toBe(false);
    expect(mm.has(b)).toBe(true);
    await Promise.allSettled(later);
    mm.validate();
  });

  it('after a Sync call a listener may call the Sync methods: their batches follow in order', () => {
    const { mm, c } = heapWithHole();
    const batches: number[][] = [];
    let first = true;
    mm.onMove((moves) => {
      batches.push(moves.map((m) => m.to));
      if (first) {
        first = false;
        mm.freeSync(c);
        mm.allocSync(16);
        mm.compactSync();
      }
    });
    mm.compactSync();
    expect(batches[0]).toEqual([0, 8]);
    mm.validate();
  });
});

describe('a sliced allocation under pins that change between slices', () => {
  /** The review's heap: 16 units of 8 bytes, two holes, five pinned blocks, two movable ones. */
  function pinnedHeap(): { mm: MemoryManager; h: Record<string, Handle> } {
    const mm = new MemoryManager({ size: 128, compactSliceBytes: 1 });
    const h: Record<string, Handle> = {};
    for (const [k, u] of [
      ['Pa', 1],
      ['g0', 1],
      ['M0', 1],
      ['Pb', 1],
      ['gapA', 3],
      ['Y', 1],
      ['X', 2],
      ['Z', 1],
      ['M2', 3],
    ] as const) {
      h[k] = mm.allocSync(8 * u);
      mm.write(h[k], bytesOf(u, 8 * u));
    }
    mm.freeSync(h.g0);
    mm.freeSync(h.gapA);
    for (const k of ['Pa', 'Pb', 'Y', 'X', 'Z']) mm.pin(h[k]);
    return { mm, h };
  }

  it('succeeds when a pin released between slices sent the packing another way', async () => {
    const { mm, h } = pinnedHeap();
    let once = true;
    mm.onMove(() => {
      if (once) {
        once = false;
        mm.unpin(h.X);
      }
    });
    const big = await mm.alloc(40);
    expect(mm.sizeOf(big)).toBe(40);
    expect(mm.read(h.M2)).toEqual(bytesOf(3, 24));
    expect(mm.read(h.X)).toEqual(bytesOf(2, 16));
    mm.validate();
  });

  it('rejects with OutOfMemoryError, the heap valid and every byte kept, when a block the plan moves was pinned', async () => {
    const { mm, h } = pinnedHeap();
    let once = true;
    mm.onMove(() => {
      if (once) {
        once = false;
        mm.pin(h.M2); // the plan needs M2 in the hole between Pb and Y
      }
    });
    const error = await rejected(mm.alloc(40));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(/pinned/);
    for (const [k, u] of [
      ['M0', 1],
      ['M2', 3],
      ['X', 2],
    ] as const) {
      expect(mm.read(h[k])).toEqual(bytesOf(u, 8 * u));
    }
    mm.validate();
  });
});

describe('scramble', () => {
  it('moves every block of a segment with two or more blocks, even when the order is a palindrome', () => {
    const mm = new MemoryManager({ size: 32, scramble: true });
    const a = mm.allocSync(8);
    const b = mm.allocSync(16);
    const c = mm.allocSync(8);
    for (let i = 0; i < 4; i++) {
      const before = [a, b, c].map((h) => mm.offsetOf(h));
      mm.compactSync(); // the heap is full: compaction moves nothing, the scrambler everything
      const after = [a, b, c].map((h) => mm.offsetOf(h));
      for (let j = 0; j < 3; j++) expect(after[j]).not.toBe(before[j]);
    }
    mm.validate();
  });

  it('moves every movable block in random heaps with pins, whenever its segment has two or more', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const mm = new MemoryManager({ size: 1024, scramble: true, autoCompact: false });
      const hs: Handle[] = [];
      for (let i = 0; i < 40; i++) {
        try {
          hs.push(mm.allocSync(8 * (1 + rand(4))));
        } catch {
          break;
        }
      }
      for (const h of hs) if (rand(3) === 0 && mm.has(h)) mm.freeSync(h);
      for (const h of hs) if (rand(6) === 0 && mm.has(h)) mm.pin(h);
      const live = hs.filter((h) => mm.has(h));
      if (live.length === 0) continue;
      const before = new Map(live.map((h) => [h, mm.offsetOf(h)]));
      mm.resizeSync(live[0], mm.sizeOf(live[0])); // moves nothing itself; then the scrambler runs
      // Segments: runs of unpinned blocks between pinned ones.
      const segments: Handle[][] = [[]];
      for (const { handle } of mm
        .blocks()
        .sort((x, y) => before.get(x.handle)! - before.get(y.handle)!)) {
        if (mm.isPinned(handle)) segments.push([]);
        else segments[segments.length - 1].push(handle);
      }
      for (const segment of segments) {
        if (segment.length < 2) continue;
        for (const h of segment) expect(mm.offsetOf(h)).not.toBe(before.get(h));
      }
      mm.validate();
    }
  });
});

describe('the managed bytes', () => {
  it('bytes is the Uint8Array the heap manages, read-only as a property', () => {
    const mm = new MemoryManager(100);
    expect(mm.bytes).toBeInstanceOf(Uint8Array);
    expect(mm.bytes.length).toBe(96);
    const h = mm.allocSync(4);
    mm.write(h, [1, 2, 3, 4]);
    expect(mm.bytes.subarray(mm.offsetOf(h), mm.offsetOf(h) + 4)).toEqual(
      Uint8Array.of(1, 2, 3, 4),
    );
    expect(() => {
      (mm as { bytes: Uint8Array }).bytes = new Uint8Array(8);
    }).toThrow(TypeError);
    expect(mm.bytes.length).toBe(96);
  });

  it('a heap over a Uint8Array manages exactly its bytes: bytes shares its memory', () => {
    const memory = new Uint8Array(80);
    const region = memory.subarray(16, 80);
    const mm = new MemoryManager({ buffer: region });
    expect(mm.bytes.buffer).toBe(memory.buffer);
    expect(mm.bytes.byteOffset).toBe(16);
    expect(mm.capacity).toBe(64);
    mm.write(mm.allocSync(64), new Uint8Array(64).fill(5));
    expect(takeSnapshot({ mm, memory }).bytes.subarray(16)).toEqual(new Uint8Array(64).fill(5));
  });
});
