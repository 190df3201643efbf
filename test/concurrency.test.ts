// Concurrency: alloc, free and compact run one at a time in call order through an async lock.
// Many un-awaited calls are checked against a sequential model of the specification applied in
// call order; the Sync twins must throw HeapBusyError while async calls are pending.
// Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  HeapBusyError,
  InvalidHandleError,
  OutOfMemoryError,
  type CompactResult,
  type Handle,
  type HeapStats,
} from '../src/index.js';
import { ReferenceHeap } from './reference-heap.js';
import {
  bytesOf,
  expectCoded,
  heapOver,
  nth,
  rejected,
  takeSnapshot,
  thrown,
  type ErrorClass,
} from './heap-snapshot.js';
import { mulberry32 as prng } from './prng.js';

/** How a call is expected to settle. */
type Outcome =
  | { status: 'fulfilled'; value?: unknown }
  | { status: 'rejected'; errorClass: ErrorClass; code: string; fields?: object };

/** A live block of the model, in address order. */
interface LiveBlock {
  owner: number;
  offset: number;
  requested: number;
}

/**
 * The specification run sequentially: the shared reference model (test/reference-heap.ts),
 * plus the argument checks, so each call's expected outcome is known before it runs.
 * Blocks are named by owner numbers chosen by the test.
 */
class SequentialModel {
  readonly ref: ReferenceHeap;
  private readonly ids = new Map<number, number>(); // owner -> model id

  constructor(capacity: number, align: number) {
    this.ref = new ReferenceHeap(capacity, align);
  }

  get compactions(): number {
    return this.ref.compactions;
  }

  alloc(owner: number, size: unknown): Outcome {
    if (typeof size !== 'number') {
      return { status: 'rejected', errorClass: TypeError, code: 'ERR_INVALID_ARG_TYPE' };
    }
    if (!Number.isInteger(size) || size < 1) {
      return { status: 'rejected', errorClass: RangeError, code: 'ERR_OUT_OF_RANGE' };
    }
    const free = this.ref.capacity - this.ref.used;
    const largestFree = this.ref.largestFree;
    const id = size > this.ref.capacity ? undefined : this.ref.alloc(size);
    if (id === undefined) {
      return {
        status: 'rejected',
        errorClass: OutOfMemoryError,
        code: 'ERR_OUT_OF_MEMORY',
        fields: { requested: size, free, largestFree },
      };
    }
    this.ids.set(owner, id);
    return { status: 'fulfilled' };
  }

  free(owner: number): Outcome {
    const id = this.ids.get(owner);
    if (id === undefined) {
      return { status: 'rejected', errorClass: InvalidHandleError, code: 'ERR_INVALID_HANDLE' };
    }
    this.ref.release(id);
    this.ids.delete(owner);
    return { status: 'fulfilled', value: undefined };
  }

  compact(): CompactResult {
    return this.ref.compact();
  }

  /** The live blocks in address order. */
  live(): LiveBlock[] {
    return [...this.ids]
      .map(([owner, id]) => ({
        owner,
        offset: this.ref.block(id).offset,
        requested: this.ref.block(id).requested,
      }))
      .sort((a, b) => a.offset - b.offset);
  }

  stats(): HeapStats {
    return this.ref.stats();
  }
}

interface TrackedCall {
  label: string;
  expected: Outcome;
  result?: PromiseSettledResult<unknown>;
}

/** Records each call (in call order) and the order in which the calls settle. */
class CallLog {
  readonly calls: TrackedCall[] = [];
  readonly settleOrder: number[] = [];

  track<T>(label: string, expected: Outcome, start: () => Promise<T>): Promise<T> {
    const id = this.calls.length;
    const call: TrackedCall = { label, expected };
    this.calls.push(call);
    return start().then(
      (value) => {
        this.settleOrder.push(id);
        call.result = { status: 'fulfilled', value };
        return value;
      },
      (reason: unknown) => {
        this.settleOrder.push(id);
        call.result = { status: 'rejected', reason };
        throw reason;
      },
    );
  }
}

function expectOutcome(call: TrackedCall): void {
  const { expected, result } = call;
  expect(result?.status, call.label).toBe(expected.status);
  if (result?.status === 'rejected' && expected.status === 'rejected') {
    expectCoded(result.reason, expected.errorClass, expected.code);
    if (expected.fields) expect(result.reason, call.label).toMatchObject(expected.fields);
  }
  if (result?.status === 'fulfilled' && expected.status === 'fulfilled' && 'value' in expected) {
    expect(result.value, call.label).toEqual(expected.value);
  }
}

const CAPACITY = 26 * 1024;

describe('un-awaited async calls', () => {
  it('1,200 mixed alloc, free and compact calls settle in call order with the results of running them one at a time', async () => {
    const heap = heapOver(CAPACITY);
    const { mm } = heap;
    const model = new SequentialModel(CAPACITY, 8);
    const log = new CallLog();
    const random = prng(20240611);
    const handleOf = new Map<number, Handle>();
    let nextOwner = 1;

    // A previous batch, allocated synchronously: the batch below frees most of its handles.
    const previous: number[] = [];
    for (let i = 0; i < 400; i++) {
      const owner = nextOwner++;
      const size = 1 + Math.floor(random() * 80);
      expect(model.alloc(owner, size).status).toBe('fulfilled');
      const h = mm.allocSync(size);
      mm.write(h, bytesOf(owner, size));
      handleOf.set(owner, h);
      previous.push(owner);
    }
    const freedPrevious: number[] = [];

    const allocCall = (size: unknown): Promise<Handle> => {
      const owner = nextOwner++;
      const expected = model.alloc(owner, size);
      return log
        .track(`alloc(${String(size)}) #${owner}`, expected, () => mm.alloc(size as number))
        .then((h) => {
          handleOf.set(owner, h);
          mm.write(h, bytesOf(owner, size as number));
          return h;
        });
    };
    const freeCall = (owner: number, h: unknown): Promise<void> =>
      log.track(`free #${owner}`, model.free(owner), () => mm.free(h as Handle));
    const compactCall = (): Promise<CompactResult> => {
      const result = model.compact();
      return log.track('compact', { status: 'fulfilled', value: result }, () => mm.compact());
    };

    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 1200; i++) {
      if (i === 600) {
        const owner = nth(freedPrevious, 0); // a double free
        all.push(freeCall(owner, handleOf.get(owner)));
      } else if (i === 601) {
        all.push(allocCall(CAPACITY)); // more than is free: OutOfMemoryError
      } else if (i === 602) {
        all.push(allocCall('16')); // TypeError
      } else if (i === 603) {
        all.push(freeCall(-1, 0)); // not a handle (owner -1 was never allocated)
      } else {
        const r = random();
        if (r < 0.02) {
          all.push(compactCall());
        } else if (r < 0.36 && previous.length > 0) {
          const owner = nth(previous.splice(Math.floor(random() * previous.length), 1), 0);
          freedPrevious.push(owner);
          all.push(freeCall(owner, handleOf.get(owner)));
        } else {
          const size = 1 + Math.floor(random() * 64);
          const allocated = allocCall(size);
          if (random() < 0.3) {
            // Free it once allocated: a call made from a settle callback, queued behind the loop.
            const owner = nextOwner - 1;
            all.push(allocated.then((h) => freeCall(owner, h)));
          } else {
            all.push(allocated);
          }
        }
      }
    }
    await Promise.allSettled(all);

    const { calls, settleOrder } = log;
    expect(calls.length).toBeGreaterThanOrEqual(1200);
    expect(settleOrder).toEqual(calls.map((_, i) => i));
    for (const call of calls) expectOutcome(call);

    // The mix exercised every path: automatic compactions, and rejections in the middle (the four
    // bad calls) and near the end (allocations that do not fit once the heap is nearly full).
    const explicit = calls.filter((c) => c.label === 'compact').length;
    expect(model.compactions).toBeGreaterThan(explicit);
    expect(calls.filter((c) => c.expected.status === 'rejected').length).toBeGreaterThan(4);

    // Every handle issued is distinct; the live ones are exactly the model's live blocks.
    const handles = [...handleOf.values()];
    expect(new Set(handles).size).toBe(handles.length);
    const live = model.live();
    expect(mm.blocks()).toEqual(
      live.map((s) => ({ handle: handleOf.get(s.owner), offset: s.offset, size: s.requested })),
    );
    for (const s of live) {
      expect(mm.read(handleOf.get(s.owner) as Handle)).toEqual(bytesOf(s.owner, s.requested));
    }
    const liveHandles = new Set(live.map((s) => handleOf.get(s.owner)));
    for (const h of handles) expect(mm.has(h)).toBe(liveHandles.has(h));
    expect(mm.stats()).toEqual(model.stats());
    expect(() => mm.validate()).not.toThrow();
  });

  it('a rejected call in the middle of the queue does not stop the calls after it', async () => {
    const { mm } = heapOver(4096);
    const gone = mm.allocSync(8);
    mm.freeSync(gone);
    const before = Array.from({ length: 300 }, (_, i) => mm.alloc(1 + (i % 8)));
    const failures = [mm.free(0), mm.free(gone), mm.alloc(8192), mm.alloc(-1), mm.alloc(NaN)];
    const after = Array.from({ length: 200 }, () => mm.alloc(4));
    const compacted = mm.compact();

    const first = await Promise.all(before);
    expect(first.map((h) => mm.offsetOf(h))).toEqual(first.map((_, i) => i * 8));
    const errors = await Promise.all(failures.map((p) => rejected(p)));
    expectCoded(errors[0], InvalidHandleError, 'ERR_INVALID_HANDLE');
    expectCoded(errors[1], InvalidHandleError, 'ERR_INVALID_HANDLE');
    expectCoded(errors[2], OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expectCoded(errors[3], RangeError, 'ERR_OUT_OF_RANGE');
    expectCoded(errors[4], RangeError, 'ERR_OUT_OF_RANGE');
    const later = await Promise.all(after);
    expect(later.map((h) => mm.offsetOf(h))).toEqual(later.map((_, i) => 2400 + i * 8));
    expect(await compacted).toEqual({ blocksMoved: 0, bytesMoved: 0 });
    expect(mm.stats()).toMatchObject({ used: 4000, liveBlocks: 500, compactions: 1 });
    expect(() => mm.validate()).not.toThrow();
  });
});

describe('Sync twins while async calls are pending', () => {
  /** Starts 1,000 un-awaited calls on a heap holding 100 blocks of 16 bytes. */
  function busyHeap() {
    const heap = heapOver(CAPACITY);
    const { mm } = heap;
    const previous = Array.from({ length: 100 }, (_, i) => {
      const h = mm.allocSync(16);
      mm.write(h, bytesOf(i, 16));
      return h;
    });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 10 === 0) pending.push(mm.compact());
      else if (i % 20 === 5)
        pending.push(mm.free(nth(previous, (i - 5) / 20))); // 0..49
      else pending.push(mm.alloc(1 + (i % 24)));
    }
    return { heap, mm, previous, pending };
  }

  it('allocSync, freeSync and compactSync throw HeapBusyError and change nothing', async () => {
    const { heap, mm, previous, pending } = busyHeap();
    const before = takeSnapshot(heap);
    expectCoded(
      thrown(() => mm.allocSync(8)),
      HeapBusyError,
      'ERR_HEAP_BUSY',
    );
    expectCoded(
      thrown(() => mm.freeSync(nth(previous, 99))),
      HeapBusyError,
      'ERR_HEAP_BUSY',
    );
    expectCoded(
      thrown(() => mm.compactSync()),
      HeapBusyError,
      'ERR_HEAP_BUSY',
    );
    expect(takeSnapshot(heap)).toEqual(before);
    await Promise.all(pending);
    expect(mm.has(nth(previous, 99))).toBe(true);
    expect(mm.read(nth(previous, 99))).toEqual(bytesOf(99, 16));
    expect(() => mm.validate()).not.toThrow();
  });

  it('a Sync call from a settle callback throws HeapBusyError while later calls are still queued', async () => {
    const { mm } = heapOver(CAPACITY);
    const seen = new Map<number, unknown>();
    const attempt = (i: number): void => {
      try {
        seen.set(i, mm.allocSync(8));
      } catch (error) {
        seen.set(i, error);
      }
    };
    const pending = Array.from({ length: 1000 }, (_, i) =>
      mm.alloc(8).then((h) => {
        if (i === 0 || i === 500) attempt(i);
        return h;
      }),
    );
    await Promise.all(pending);
    expectCoded(seen.get(0), HeapBusyError, 'ERR_HEAP_BUSY');
    expectCoded(seen.get(500), HeapBusyError, 'ERR_HEAP_BUSY');
    expect(mm.stats().liveBlocks).toBe(1000);
  });

  it('after every pending call has settled, allocSync, freeSync and compactSync work again', async () => {
    const { mm, previous, pending } = busyHeap();
    await Promise.allSettled(pending);
    const statsBefore = mm.stats();
    const h = mm.allocSync(8);
    expect(mm.has(h)).toBe(true);
    mm.freeSync(nth(previous, 99));
    expect(mm.has(nth(previous, 99))).toBe(false);
    mm.compactSync();
    expect(mm.stats()).toMatchObject({
      liveBlocks: statsBefore.liveBlocks, // one allocated, one freed
      compactions: statsBefore.compactions + 1,
      freeBlocks: 1,
    });
    expect(() => mm.validate()).not.toThrow();
  });

  it('after a rejected async call settles, Sync calls work again', async () => {
    const { mm } = heapOver(64);
    expectCoded(await rejected(mm.free(0)), InvalidHandleError, 'ERR_INVALID_HANDLE');
    expectCoded(await rejected(mm.alloc(65)), OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    const h = mm.allocSync(8);
    mm.freeSync(h);
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
  });

  it('async calls made one after another with await leave the Sync twins usable between them', async () => {
    const { mm } = heapOver(64);
    const a = await mm.alloc(8);
    const b = mm.allocSync(8);
    await mm.free(a);
    mm.freeSync(b);
    await mm.compact();
    expect(mm.compactSync()).toEqual({ blocksMoved: 0, bytesMoved: 0 });
    expect(mm.stats()).toMatchObject({ used: 0, compactions: 2 });
  });
});
