// A catalogue of bad arguments: every public method against every kind of bad value. Each case
// asserts the error class and its `code`, and that the heap did not change: every byte of its
// buffer, stats() and blocks() are equal before and after, and validate() passes.
// Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  InvalidHandleError,
  MemoryManager,
  OffsetHeap,
  OutOfMemoryError,
  type Handle,
} from '../src/index.js';
import {
  bytesOf,
  callAsync,
  expectCoded,
  heapOver,
  rejected,
  takeSnapshot,
  thrown,
  type ErrorClass,
  type TestHeap,
} from './heap-snapshot.js';

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';
const OOM = 'ERR_OUT_OF_MEMORY';

/** Which class a fixture is: the heap with bytes, or the engine alone (offsets only). */
type Kind = 'MemoryManager' | 'OffsetHeap';

/** A heap with live blocks holding non-zero bytes, a hole, and handles that are no longer live. */
interface Fixture {
  /** The heap and the buffer under it (a MemoryManager's), or null for an OffsetHeap. */
  heap: TestHeap | null;
  mm: MemoryManager;
  /** Everything observable about the heap: its bytes (or its saved state), stats and blocks. */
  snapshot(): unknown;
  /** A live block of 13 bytes (occupying 16) at offset 56. */
  live: Handle;
  /** Freed; its place [48, 56) is still free. */
  freed: Handle;
  /** Freed; a new block of the same size now sits at its place [16, 24). */
  stale: Handle;
  /** The last handle of another heap with many more blocks than this one. */
  foreign: Handle;
  /** Every handle this heap has issued. */
  issued: Handle[];
}

const CAPACITY = 256;
const LIVE_SIZE = 13;

function setup(kind: Kind = 'MemoryManager'): Fixture {
  const heap = kind === 'MemoryManager' ? heapOver(CAPACITY) : null;
  // An OffsetHeap has no read, write or view: only the engine's methods are called on it.
  const mm = heap?.mm ?? (new OffsetHeap(CAPACITY) as MemoryManager);
  const a = mm.allocSync(16); // [0, 16)
  const stale = mm.allocSync(8); // [16, 24)
  const c = mm.allocSync(24); // [24, 48)
  const freed = mm.allocSync(8); // [48, 56)
  const live = mm.allocSync(LIVE_SIZE); // [56, 72)
  mm.freeSync(stale);
  const b = mm.allocSync(8);
  expect(mm.offsetOf(b)).toBe(16); // the new block took the stale handle's place
  mm.freeSync(freed);
  if (heap !== null) [a, b, c, live].forEach((h, i) => mm.write(h, bytesOf(i + 1, mm.sizeOf(h))));

  const other = new MemoryManager(4096);
  let foreign = 0;
  for (let i = 0; i < 40; i++) foreign = other.allocSync(8);

  const snapshot = (): unknown =>
    heap !== null
      ? takeSnapshot(heap)
      : { state: mm.save(), stats: mm.stats(), blocks: mm.blocks() };
  const issued = [a, stale, c, freed, live, b];
  const fixture = { heap, mm, snapshot, live, freed, stale, foreign, issued };
  expect(fixture.issued).not.toContain(foreign);
  expect(mm.stats()).toMatchObject({ used: 64, free: 192, largestFree: 184, freeBlocks: 2 });
  return fixture;
}

/** Runs `body` against a fresh fixture and asserts that the heap is exactly as before. */
function unchangedAfter(body: (f: Fixture) => void, kind: Kind = 'MemoryManager'): Fixture {
  const f = setup(kind);
  const before = f.snapshot();
  body(f);
  expect(f.snapshot()).toEqual(before);
  expect(() => f.mm.validate()).not.toThrow();
  return f;
}

/** As unchangedAfter, for an async body. */
async function unchangedAfterAsync(
  body: (f: Fixture) => Promise<void>,
  kind: Kind = 'MemoryManager',
): Promise<void> {
  const f = setup(kind);
  const before = f.snapshot();
  await body(f);
  expect(f.snapshot()).toEqual(before);
  expect(() => f.mm.validate()).not.toThrow();
}

// ---------------------------------------------------------------------------------------------
// constructor

const badConstructorArgs: [string, unknown, ErrorClass, string][] = [
  ['no argument (undefined)', undefined, TypeError, TYPE],
  ['null', null, TypeError, TYPE],
  ['a numeric string', '64', TypeError, TYPE],
  ['a boolean', true, TypeError, TYPE],
  ['a bigint', 64n, TypeError, TYPE],
  ['an array', [64], TypeError, TYPE],
  ['a symbol', Symbol('64'), TypeError, TYPE],
  ['an unknown option', { size: 64, capacity: 64 }, TypeError, VALUE],
  ['a misspelt option', { size: 64, zerofill: false }, TypeError, VALUE],
  ['an unknown option alone', { bytes: 64 }, TypeError, VALUE],
  ['neither size nor buffer (empty object)', {}, TypeError, VALUE],
  ['neither size nor buffer (only align)', { align: 8 }, TypeError, VALUE],
  ['size given as undefined', { size: undefined }, TypeError, VALUE],
  ['both size and buffer', { size: 64, buffer: new ArrayBuffer(64) }, TypeError, VALUE],
  ['size as a string', { size: '64' }, TypeError, TYPE],
  ['size null', { size: null }, TypeError, TYPE],
  ['size as a bigint', { size: 64n }, TypeError, TYPE],
  ['size as a Number object', { size: new Number(64) }, TypeError, TYPE],
  ['buffer null', { buffer: null }, TypeError, TYPE],
  ['buffer a plain array', { buffer: new Array<number>(64).fill(0) }, TypeError, TYPE],
  ['buffer a Uint16Array', { buffer: new Uint16Array(32) }, TypeError, TYPE],
  ['buffer a DataView', { buffer: new DataView(new ArrayBuffer(64)) }, TypeError, TYPE],
  ['buffer a string', { buffer: 'x'.repeat(64) }, TypeError, TYPE],
  ['buffer a number', { buffer: 64 }, TypeError, TYPE],
  ['align as a string', { size: 64, align: '8' }, TypeError, TYPE],
  ['align null', { size: 64, align: null }, TypeError, TYPE],
  ['autoCompact as a string', { size: 64, autoCompact: 'no' }, TypeError, TYPE],
  ['autoCompact null', { size: 64, autoCompact: null }, TypeError, TYPE],
  ['zeroFill as a number', { size: 64, zeroFill: 0 }, TypeError, TYPE],
  ['size 0', 0, RangeError, RANGE],
  ['size 0 as an option', { size: 0 }, RangeError, RANGE],
  ['size -0', -0, RangeError, RANGE],
  ['a negative size', -64, RangeError, RANGE],
  ['a fractional size', 64.5, RangeError, RANGE],
  ['size NaN', NaN, RangeError, RANGE],
  ['size Infinity', Infinity, RangeError, RANGE],
  ['size -Infinity', -Infinity, RangeError, RANGE],
  ['size 2 ** 32 (too large)', 2 ** 32, RangeError, RANGE],
  ['size Number.MAX_SAFE_INTEGER (too large)', Number.MAX_SAFE_INTEGER, RangeError, RANGE],
  ['size Number.MAX_VALUE (too large)', Number.MAX_VALUE, RangeError, RANGE],
  ['a size that rounds down to 0 (7, align 8)', { size: 7 }, RangeError, RANGE],
  ['a size below align 64', { size: 63, align: 64 }, RangeError, RANGE],
  ['an empty ArrayBuffer', { buffer: new ArrayBuffer(0) }, RangeError, RANGE],
  ['an empty SharedArrayBuffer', { buffer: new SharedArrayBuffer(0) }, RangeError, RANGE],
  ['an empty Uint8Array', { buffer: new Uint8Array(0) }, RangeError, RANGE],
  ['a buffer shorter than align', { buffer: new ArrayBuffer(7) }, RangeError, RANGE],
  ['align 0', { size: 64, align: 0 }, RangeError, RANGE],
  ['align 3', { size: 64, align: 3 }, RangeError, RANGE],
  ['align 12', { size: 64, align: 12 }, RangeError, RANGE],
  ['align -8', { size: 64, align: -8 }, RangeError, RANGE],
  ['align 0.5', { size: 64, align: 0.5 }, RangeError, RANGE],
  ['align NaN', { size: 64, align: NaN }, RangeError, RANGE],
  ['align Infinity', { size: 64, align: Infinity }, RangeError, RANGE],
  ['align 2 ** 31 (larger than the size)', { size: 64, align: 2 ** 31 }, RangeError, RANGE],
];

describe('new MemoryManager with bad arguments', () => {
  it.each(badConstructorArgs)('%s: throws', (_label, options, errorClass, code) => {
    expectCoded(
      thrown(() => new MemoryManager(options as number)),
      errorClass,
      code,
    );
  });

  it('a failed construction leaves the given buffer untouched', () => {
    const memory = new Uint8Array(64).fill(0xee);
    expectCoded(
      thrown(() => new MemoryManager({ buffer: memory, align: 3 })),
      RangeError,
      RANGE,
    );
    expect(Array.from(memory)).toEqual(new Array<number>(64).fill(0xee));
  });
});

// ---------------------------------------------------------------------------------------------
// alloc, allocSync: bad sizes

const badSizes: [string, unknown, ErrorClass, string][] = [
  ['a numeric string', '8', TypeError, TYPE],
  ['null', null, TypeError, TYPE],
  ['undefined', undefined, TypeError, TYPE],
  ['a boolean', true, TypeError, TYPE],
  ['a bigint', 8n, TypeError, TYPE],
  ['an object', {}, TypeError, TYPE],
  ['an array', [8], TypeError, TYPE],
  ['a Number object', new Number(8), TypeError, TYPE],
  ['a symbol', Symbol('8'), TypeError, TYPE],
  ['0', 0, RangeError, RANGE],
  ['-0', -0, RangeError, RANGE],
  ['-1', -1, RangeError, RANGE],
  ['a fraction below 1', 0.5, RangeError, RANGE],
  ['a fraction above 1', 8.5, RangeError, RANGE],
  ['NaN', NaN, RangeError, RANGE],
  ['Infinity', Infinity, RangeError, RANGE],
  ['-Infinity', -Infinity, RangeError, RANGE],
  ['more than the free bytes (193)', 193, OutOfMemoryError, OOM],
  ['capacity + 1', CAPACITY + 1, OutOfMemoryError, OOM],
  ['2 ** 32', 2 ** 32, OutOfMemoryError, OOM],
  ['Number.MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER, OutOfMemoryError, OOM],
  ['Number.MAX_VALUE', Number.MAX_VALUE, OutOfMemoryError, OOM],
];

function expectAllocError(error: unknown, size: unknown, errorClass: ErrorClass, code: string) {
  expectCoded(error, errorClass, code);
  if (errorClass === OutOfMemoryError) {
    expect(error).toMatchObject({ requested: size, free: 192, largestFree: 184 });
  }
}

describe('allocSync with a bad size', () => {
  it.each(badSizes)('%s: throws and changes nothing', (_label, size, errorClass, code) => {
    unchangedAfter(({ mm }) => {
      expectAllocError(
        thrown(() => mm.allocSync(size as number)),
        size,
        errorClass,
        code,
      );
    });
  });
});

describe('alloc with a bad size', () => {
  it.each(badSizes)(
    '%s: returns a promise that rejects, and changes nothing',
    async (_label, size, errorClass, code) => {
      await unchangedAfterAsync(async ({ mm }) => {
        const promise = callAsync(() => mm.alloc(size as number));
        expectAllocError(await rejected(promise), size, errorClass, code);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// alloc, allocSync: bad options (the size is good)

const badAllocOptions: [string, unknown, ErrorClass, string][] = [
  ['null', null, TypeError, TYPE],
  ['a number', 8, TypeError, TYPE],
  ['a string', 'align', TypeError, TYPE],
  ['an array', [8], TypeError, TYPE],
  ['an unknown option', { alignment: 8 }, TypeError, VALUE],
  ['a string align', { align: '8' }, TypeError, TYPE],
  ['a bigint align', { align: 8n }, TypeError, TYPE],
  ['align 0', { align: 0 }, RangeError, RANGE],
  ['align -8', { align: -8 }, RangeError, RANGE],
  ['align 3 (not a power of two)', { align: 3 }, RangeError, RANGE],
  ['align 24 (not a power of two)', { align: 24 }, RangeError, RANGE],
  ['align 0.5', { align: 0.5 }, RangeError, RANGE],
  ['align NaN', { align: NaN }, RangeError, RANGE],
  ['align 2 ** 31 (too large)', { align: 2 ** 31 }, RangeError, RANGE],
  [
    'a getter that throws',
    Object.defineProperty({}, 'align', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    }),
    TypeError,
    VALUE,
  ],
  // The only multiple of 512 in this 256-byte heap is 0, and a block is there.
  [
    'align 512 (no multiple of it but 0 in the heap, which is taken)',
    { align: 512 },
    OutOfMemoryError,
    OOM,
  ],
];

describe('allocSync with bad options', () => {
  it.each(badAllocOptions)(
    '%s: throws and changes nothing',
    (_label, options, errorClass, code) => {
      unchangedAfter(({ mm }) => {
        expectCoded(
          thrown(() => mm.allocSync(8, options as { align: number })),
          errorClass,
          code,
        );
      });
    },
  );
});

describe('alloc with bad options', () => {
  it.each(badAllocOptions)(
    '%s: returns a promise that rejects, and changes nothing',
    async (_label, options, errorClass, code) => {
      await unchangedAfterAsync(async ({ mm }) => {
        const promise = callAsync(() => mm.alloc(8, options as { align: number }));
        expectCoded(await rejected(promise), errorClass, code);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// bad handles: free, freeSync, read, write, sizeOf, offsetOf, alignOf, has

const badHandles: [string, (f: Fixture) => unknown][] = [
  ['0', () => 0],
  ['-0', () => -0],
  ['-1', () => -1],
  ['the negation of a live handle', (f) => -f.live],
  ['a fraction', () => 1.5],
  ['a live handle plus 0.5', (f) => f.live + 0.5],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['a live handle as a string', (f) => String(f.live)],
  ['a non-numeric string', () => 'handle'],
  ['null', () => null],
  ['undefined', () => undefined],
  ['a boolean', () => true],
  ['an object', () => ({})],
  ['a Number object of a live handle', (f) => new Number(f.live)],
  ['an array holding a live handle', (f) => [f.live]],
  ['a bigint of a live handle', (f) => BigInt(f.live)],
  ['a symbol', () => Symbol('handle')],
  ['a never-issued 1', () => 1],
  ['a never-issued live handle + 1', (f) => f.live + 1],
  ['a never-issued 2 ** 31', () => 2 ** 31],
  ['a never-issued Number.MAX_SAFE_INTEGER', () => Number.MAX_SAFE_INTEGER],
  ['a freed handle (double free)', (f) => f.freed],
  ['a freed handle whose place a new block took', (f) => f.stale],
  ['a handle of a different heap', (f) => f.foreign],
];

/** The bad value, checked not to be a handle this heap issued. */
function badHandle(f: Fixture, make: (f: Fixture) => unknown): unknown {
  const value = make(f);
  expect(f.issued.filter((h) => Object.is(h, value) && f.mm.has(h))).toEqual([]);
  return value;
}

const syncHandleMethods: [string, (mm: MemoryManager, h: Handle) => unknown][] = [
  ['freeSync', (mm, h) => mm.freeSync(h)],
  ['read', (mm, h) => mm.read(h)],
  ['read with an offset and a length', (mm, h) => mm.read(h, 0, 1)],
  ['write', (mm, h) => mm.write(h, [0xaa, 0xbb, 0xcc])],
  ['sizeOf', (mm, h) => mm.sizeOf(h)],
  ['offsetOf', (mm, h) => mm.offsetOf(h)],
  ['alignOf', (mm, h) => mm.alignOf(h)],
];

describe.each(syncHandleMethods)('%s with a bad handle', (_method, call) => {
  it.each(badHandles)('%s: throws InvalidHandleError and changes nothing', (_label, make) => {
    unchangedAfter((f) => {
      const h = badHandle(f, make);
      expectCoded(
        thrown(() => call(f.mm, h as Handle)),
        InvalidHandleError,
        'ERR_INVALID_HANDLE',
      );
      expect(f.mm.has(h as Handle)).toBe(false);
    });
  });
});

describe('free with a bad handle', () => {
  it.each(badHandles)(
    '%s: returns a promise that rejects with InvalidHandleError, and changes nothing',
    async (_label, make) => {
      await unchangedAfterAsync(async (f) => {
        const h = badHandle(f, make);
        const promise = callAsync(() => f.mm.free(h as Handle));
        expectCoded(await rejected(promise), InvalidHandleError, 'ERR_INVALID_HANDLE');
      });
    },
  );
});

describe('has with a bad handle', () => {
  it.each(badHandles)('%s: returns false, never throws, changes nothing', (_label, make) => {
    unchangedAfter((f) => {
      const h = badHandle(f, make);
      let result: unknown;
      expect(() => {
        result = f.mm.has(h as Handle);
      }).not.toThrow();
      expect(result).toBe(false);
    });
  });

  it('has is true for the fixture\'s live handles (the "false" above is not vacuous)', () => {
    const f = setup();
    expect(f.issued.map((h) => f.mm.has(h))).toEqual([true, false, true, false, true, true]);
  });
});

// ---------------------------------------------------------------------------------------------
// read: bad offsets and lengths (block of 13 bytes)

const badReadArgs: [string, unknown, unknown, ErrorClass, string][] = [
  ['offset as a string', '0', undefined, TypeError, TYPE],
  ['offset null', null, undefined, TypeError, TYPE],
  ['offset as a bigint', 0n, undefined, TypeError, TYPE],
  ['offset as an object', {}, undefined, TypeError, TYPE],
  ['offset as a boolean', false, undefined, TypeError, TYPE],
  ['length as a string', 0, '4', TypeError, TYPE],
  ['length null', 0, null, TypeError, TYPE],
  ['length as a bigint', 0, 4n, TypeError, TYPE],
  ['length as an object', 0, {}, TypeError, TYPE],
  ['offset -1', -1, undefined, RangeError, RANGE],
  ['offset 0.5', 0.5, undefined, RangeError, RANGE],
  ['offset NaN', NaN, undefined, RangeError, RANGE],
  ['offset Infinity', Infinity, undefined, RangeError, RANGE],
  ['length -1', 0, -1, RangeError, RANGE],
  ['length 1.5', 0, 1.5, RangeError, RANGE],
  ['length NaN', 0, NaN, RangeError, RANGE],
  ['length Infinity', 0, Infinity, RangeError, RANGE],
  ['offset one past the end', LIVE_SIZE + 1, undefined, RangeError, RANGE],
  ['offset far past the end', 2 ** 32, undefined, RangeError, RANGE],
  ['length one more than the block', 0, LIVE_SIZE + 1, RangeError, RANGE],
  ['a range crossing the end', 10, 4, RangeError, RANGE],
  ['one byte at the end offset', LIVE_SIZE, 1, RangeError, RANGE],
  ['a range into the padding', 0, 16, RangeError, RANGE],
];

describe('read with bad arguments', () => {
  it.each(badReadArgs)('%s: throws and changes nothing', (_label, offset, length, cls, code) => {
    unchangedAfter(({ mm, live }) => {
      expectCoded(
        thrown(() => mm.read(live, offset as number, length as number)),
        cls,
        code,
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------
// write: bad data, offsets, and data crossing the end (block of 13 bytes)

const sparse: number[] = [];
sparse[0] = 1;
sparse[2] = 3; // sparse[1] is a hole

const badWriteArgs: [string, unknown, unknown, ErrorClass, string][] = [
  ['data null', null, 0, TypeError, TYPE],
  ['data undefined', undefined, 0, TypeError, TYPE],
  ['data a string', 'abc', 0, TypeError, TYPE],
  ['data a number', 7, 0, TypeError, TYPE],
  ['data a boolean', true, 0, TypeError, TYPE],
  ['data an object without length', {}, 0, TypeError, TYPE],
  ['data with a string length', { length: '2', 0: 1, 1: 2 }, 0, TypeError, TYPE],
  ['data with a negative length', { length: -1 }, 0, TypeError, TYPE],
  ['data with a fractional length', { length: 1.5, 0: 1 }, 0, TypeError, TYPE],
  ['a BigUint64Array', BigUint64Array.of(1n), 0, TypeError, TYPE],
  ['valid bytes then a numeric string', [1, 2, 3, '4'], 0, TypeError, TYPE],
  ['valid bytes then null', [1, 2, null], 0, TypeError, TYPE],
  ['valid bytes then undefined', [1, 2, undefined], 0, TypeError, TYPE],
  ['valid bytes then a bigint', [1, 2, 3n], 0, TypeError, TYPE],
  ['valid bytes then a boolean', [1, 2, true], 0, TypeError, TYPE],
  ['valid bytes then an object', [1, 2, {}], 0, TypeError, TYPE],
  ['an array with a hole', sparse, 0, TypeError, TYPE],
  ['an array-like missing its last element', { length: 3, 0: 1, 1: 2 }, 0, TypeError, TYPE],
  ['valid bytes then 256', [1, 2, 3, 256], 0, RangeError, RANGE],
  ['valid bytes then -1', [1, 2, 3, -1], 0, RangeError, RANGE],
  ['valid bytes then 2.5', [1, 2, 2.5], 0, RangeError, RANGE],
  ['valid bytes then NaN', [1, 2, NaN], 0, RangeError, RANGE],
  ['valid bytes then Infinity', [1, 2, Infinity], 0, RangeError, RANGE],
  ['valid bytes then 256 at an offset', [1, 2, 256], 5, RangeError, RANGE],
  ['an Int8Array holding -1', Int8Array.of(1, 2, -1), 0, RangeError, RANGE],
  ['a Uint16Array holding 256', Uint16Array.of(1, 2, 256), 0, RangeError, RANGE],
  ['a Float64Array holding 0.5', Float64Array.of(1, 2, 0.5), 0, RangeError, RANGE],
  ['offset as a string', [1], '0', TypeError, TYPE],
  ['offset null', [1], null, TypeError, TYPE],
  ['offset as a bigint', [1], 0n, TypeError, TYPE],
  ['offset as an object', [1], {}, TypeError, TYPE],
  ['offset -1', [1], -1, RangeError, RANGE],
  ['offset 0.5', [1], 0.5, RangeError, RANGE],
  ['offset NaN', [1], NaN, RangeError, RANGE],
  ['offset Infinity', [1], Infinity, RangeError, RANGE],
  [
    'a Uint8Array one byte longer than the block',
    new Uint8Array(14).fill(0xaa),
    0,
    RangeError,
    RANGE,
  ],
  [
    'an array one element longer than the block',
    new Array<number>(14).fill(0xaa),
    0,
    RangeError,
    RANGE,
  ],
  ['a Uint8Array crossing the end', Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), 10, RangeError, RANGE],
  ['an array crossing the end', [0xaa, 0xbb, 0xcc, 0xdd], 10, RangeError, RANGE],
  ['data filling the padding', new Uint8Array(16).fill(0xaa), 0, RangeError, RANGE],
  ['one byte at the end offset', [0xaa], LIVE_SIZE, RangeError, RANGE],
  ['empty data past the end', [], LIVE_SIZE + 1, RangeError, RANGE],
  ['empty data at offset 2 ** 32', [], 2 ** 32, RangeError, RANGE],
];

describe('write with bad arguments', () => {
  it.each(badWriteArgs)(
    '%s: throws and writes nothing',
    (_label, data, offset, errorClass, code) => {
      unchangedAfter(({ mm, live }) => {
        expectCoded(
          thrown(() => mm.write(live, data as ArrayLike<number>, offset as number)),
          errorClass,
          code,
        );
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// the same calls with good arguments do change the heap: the checks above are not vacuous

describe('good arguments change the heap (the unchanged checks above can fail)', () => {
  it('write of valid bytes changes the snapshot', () => {
    const f = setup();
    const before = f.snapshot();
    f.mm.write(f.live, [1, 2, 3]);
    expect(f.snapshot()).not.toEqual(before);
  });

  it('freeSync of a live handle changes the snapshot', () => {
    const f = setup();
    const before = f.snapshot();
    f.mm.freeSync(f.live);
    expect(f.snapshot()).not.toEqual(before);
  });

  it('allocSync of 8 bytes fills the hole at 48', () => {
    const f = setup();
    expect(f.mm.offsetOf(f.mm.allocSync(8))).toBe(48);
  });
});

// ---------------------------------------------------------------------------------------------
// OffsetHeap: the engine's methods, the same catalogues (its state must not change either)

const offsetHandleMethods: [string, (heap: OffsetHeap, h: Handle) => unknown][] = [
  ['freeSync', (heap, h) => heap.freeSync(h)],
  ['resizeSync', (heap, h) => heap.resizeSync(h, 8)],
  ['sizeOf', (heap, h) => heap.sizeOf(h)],
  ['offsetOf', (heap, h) => heap.offsetOf(h)],
  ['alignOf', (heap, h) => heap.alignOf(h)],
  ['pin', (heap, h) => heap.pin(h)],
  ['unpin', (heap, h) => heap.unpin(h)],
  ['isPinned', (heap, h) => heap.isPinned(h)],
];

describe('OffsetHeap with bad arguments', () => {
  it.each(badSizes)(
    'allocSync, %s: throws and changes nothing',
    (_label, size, errorClass, code) => {
      unchangedAfter(({ mm }) => {
        expectAllocError(
          thrown(() => mm.allocSync(size as number)),
          size,
          errorClass,
          code,
        );
      }, 'OffsetHeap');
    },
  );

  it.each(badSizes)(
    'alloc, %s: rejects and changes nothing',
    async (_label, size, errorClass, code) => {
      await unchangedAfterAsync(async ({ mm }) => {
        expectAllocError(
          await rejected(callAsync(() => mm.alloc(size as number))),
          size,
          errorClass,
          code,
        );
      }, 'OffsetHeap');
    },
  );

  it.each(badSizes.filter(([, , errorClass]) => errorClass !== OutOfMemoryError))(
    'resizeSync, %s: throws and changes nothing',
    (_label, size, errorClass, code) => {
      unchangedAfter((f) => {
        expectCoded(
          thrown(() => f.mm.resizeSync(f.live, size as number)),
          errorClass,
          code,
        );
      }, 'OffsetHeap');
    },
  );

  it.each(badAllocOptions)(
    'allocSync with options %s: throws and changes nothing',
    (_label, options, errorClass, code) => {
      unchangedAfter(({ mm }) => {
        expectCoded(
          thrown(() => mm.allocSync(8, options as { align: number })),
          errorClass,
          code,
        );
      }, 'OffsetHeap');
    },
  );

  describe.each(offsetHandleMethods)('%s with a bad handle', (_method, call) => {
    it.each(badHandles)('%s: throws InvalidHandleError and changes nothing', (_label, make) => {
      unchangedAfter((f) => {
        const h = badHandle(f, make);
        expectCoded(
          thrown(() => call(f.mm, h as Handle)),
          InvalidHandleError,
          'ERR_INVALID_HANDLE',
        );
        expect(f.mm.has(h as Handle)).toBe(false);
      }, 'OffsetHeap');
    });
  });

  it.each(badHandles)(
    'free, %s: rejects with InvalidHandleError and changes nothing',
    async (_label, make) => {
      await unchangedAfterAsync(async (f) => {
        const h = badHandle(f, make);
        expectCoded(
          await rejected(callAsync(() => f.mm.free(h as Handle))),
          InvalidHandleError,
          'ERR_INVALID_HANDLE',
        );
      }, 'OffsetHeap');
    },
  );

  it("the fixture is the same heap as a MemoryManager's, and a good call does change it", () => {
    const f = setup('OffsetHeap');
    expect(f.mm).toBeInstanceOf(OffsetHeap);
    expect(f.mm).not.toBeInstanceOf(MemoryManager);
    expect(f.mm.blocks()).toEqual(setup().mm.blocks());
    const before = f.snapshot();
    f.mm.freeSync(f.live);
    expect(f.snapshot()).not.toEqual(before);
  });
});
