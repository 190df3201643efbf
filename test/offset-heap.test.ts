// OffsetHeap: the engine without bytes. The same placements, handles, pins, resize, compaction,
// stats, validate and save/restore as MemoryManager (the move-plan test drives both side by
// side); here its own surface: options, what it lacks, snapshots of its own kind, bad input.
import { describe, expect, it } from 'vitest';
import {
  InvalidHandleError,
  MemoryManager,
  MemoryManagerError,
  OffsetHeap,
  OutOfMemoryError,
  type BlockMove,
} from '../src/index.js';
import { expectCoded, rejected, thrown } from './heap-snapshot.js';

describe('OffsetHeap', () => {
  it('hands out offsets by handle, compacts, and tells the plan to its listeners', async () => {
    const heap = new OffsetHeap({ size: 1000, align: 4 });
    expect(heap.capacity).toBe(1000);
    expect(heap.align).toBe(4);
    expect(heap.metadataBytes).toBeGreaterThan(0);
    const plans: (readonly BlockMove[])[] = [];
    heap.onMove((moves) => plans.push(moves));
    const a = await heap.alloc(100);
    const b = heap.allocSync(200);
    const u = heap.allocSync(50, { align: 256 });
    expect([heap.offsetOf(a), heap.offsetOf(b), heap.offsetOf(u)]).toEqual([0, 100, 512]);
    heap.freeSync(a);
    const result = heap.compactSync();
    expect(result).toEqual({ blocksMoved: 2, bytesMoved: 252 });
    expect(plans).toEqual([
      [
        { kind: 'move', handle: b, from: 100, to: 0, size: 200 },
        { kind: 'move', handle: u, from: 512, to: 256, size: 50 },
      ],
    ]);
    expect(heap.epoch).toBe(1);
    expect(heap.stats()).toMatchObject({ used: 252, liveBlocks: 2, compactions: 1 });
    expect(heap.blocks()).toEqual([
      { handle: b, offset: 0, size: 200 },
      { handle: u, offset: 256, size: 50 },
    ]);
    heap.validate();
  });

  it('is the engine MemoryManager extends; it has no bytes, reads or writes', () => {
    const heap = new OffsetHeap(64);
    const mm = new MemoryManager(64);
    expect(mm).toBeInstanceOf(OffsetHeap);
    expect(heap).not.toBeInstanceOf(MemoryManager);
    for (const name of ['bytes', 'read', 'write', 'view', 'zeroFill', 'shared']) {
      expect(name in heap, name).toBe(false);
      expect(name in mm, name).toBe(true);
    }
  });

  it('takes the heap options but not those about bytes', () => {
    for (const name of ['buffer', 'zeroFill', 'shared', 'lockTimeout']) {
      const options = { size: 64, [name]: name === 'buffer' ? new ArrayBuffer(64) : false };
      expectCoded(
        thrown(() => new OffsetHeap(options)),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
      );
    }
    expectCoded(
      thrown(() => new OffsetHeap({} as never)),
      TypeError,
      'ERR_INVALID_ARG_VALUE',
    );
    expectCoded(
      thrown(() => new OffsetHeap(0)),
      RangeError,
      'ERR_OUT_OF_RANGE',
    );
    expectCoded(
      thrown(() => new OffsetHeap(2 ** 32)),
      RangeError,
      'ERR_OUT_OF_RANGE',
    );
    expectCoded(
      thrown(() => new OffsetHeap('64' as never)),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
    );
    const heap = new OffsetHeap({ size: 2 ** 32 - 1, align: 256, strategy: 'best-fit' });
    expect(heap.capacity).toBe(2 ** 32 - 256); // no bytes are allocated for it
    expect(heap.strategy).toBe('best-fit');
  });

  it('bad arguments throw typed errors and change nothing', async () => {
    const heap = new OffsetHeap(256);
    const h = heap.allocSync(16);
    heap.freeSync(heap.allocSync(8));
    const before = { blocks: heap.blocks(), stats: heap.stats(), snapshot: heap.save() };
    const unchanged = (): void => {
      expect(heap.blocks()).toEqual(before.blocks);
      expect(heap.stats()).toEqual(before.stats);
      expect(heap.save()).toEqual(before.snapshot);
      heap.validate();
    };
    const cases: [() => unknown, unknown, string][] = [
      [() => heap.allocSync(0), RangeError, 'ERR_OUT_OF_RANGE'],
      [() => heap.allocSync(300), OutOfMemoryError, 'ERR_OUT_OF_MEMORY'],
      [() => heap.allocSync(8, { align: 3 }), RangeError, 'ERR_OUT_OF_RANGE'],
      [() => heap.freeSync(h + 1), InvalidHandleError, 'ERR_INVALID_HANDLE'],
      [() => heap.resizeSync(h, -1), RangeError, 'ERR_OUT_OF_RANGE'],
      [() => heap.resizeSync(h, 1000), OutOfMemoryError, 'ERR_OUT_OF_MEMORY'],
      [() => heap.unpin(h), MemoryManagerError, 'ERR_NOT_PINNED'],
      [() => heap.sizeOf(0), InvalidHandleError, 'ERR_INVALID_HANDLE'],
      [() => heap.offsetOf(-1), InvalidHandleError, 'ERR_INVALID_HANDLE'],
      [() => heap.alignOf(1.5), InvalidHandleError, 'ERR_INVALID_HANDLE'],
      [() => heap.isPinned(NaN), InvalidHandleError, 'ERR_INVALID_HANDLE'],
      [() => heap.onMove('f' as never), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [call, errorClass, code] of cases) {
      expectCoded(thrown(call), errorClass as never, code);
      unchanged();
    }
    expectCoded(await rejected(heap.alloc(0)), RangeError, 'ERR_OUT_OF_RANGE');
    expectCoded(await rejected(heap.free(0)), InvalidHandleError, 'ERR_INVALID_HANDLE');
    expectCoded(await rejected(heap.compact({ sliceBytes: 0 })), RangeError, 'ERR_OUT_OF_RANGE');
    unchanged();
  });

  it('saves and restores its own kind: metadata only, no bytes', () => {
    const heap = new OffsetHeap({ size: 1 << 20, align: 16 });
    const hs = [100, 200, 300].map((n) => heap.allocSync(n));
    heap.pin(hs[1]);
    heap.freeSync(hs[0]);
    const snapshot = heap.save();
    expect(snapshot.length).toBeLessThan(4096); // no megabyte of bytes
    const copy = OffsetHeap.restore(snapshot);
    expect(copy).toBeInstanceOf(OffsetHeap);
    expect(copy.blocks()).toEqual(heap.blocks());
    expect(copy.stats()).toEqual(heap.stats());
    expect(copy.isPinned(hs[1])).toBe(true);
    copy.validate();
  });

  it("refuses the other class's snapshots, naming the class to use", () => {
    const offsets = new OffsetHeap(256).save();
    const bytes = new MemoryManager(256).save();
    const fromOffsets = thrown(() => MemoryManager.restore(offsets));
    expectCoded(fromOffsets, MemoryManagerError, 'ERR_INVALID_SNAPSHOT');
    expect(String(fromOffsets)).toMatch(/OffsetHeap\.restore/);
    const fromBytes = thrown(() => OffsetHeap.restore(bytes));
    expectCoded(fromBytes, MemoryManagerError, 'ERR_INVALID_SNAPSHOT');
    expect(String(fromBytes)).toMatch(/MemoryManager\.restore/);
  });
});

/** An applier that logs what it hears, as a subclass whose bytes live elsewhere does. */
class LoggingHeap extends OffsetHeap {
  readonly log: string[] = [];

  constructor(options: ConstructorParameters<typeof OffsetHeap>[0]) {
    super(options);
    this.applyWith(
      (moves) =>
        this.log.push(`apply ${moves.map((m) => `${m.kind} ${m.from}>${m.to}`).join(', ')}`),
      (start, end) => this.log.push(`new ${start}-${end}`),
    );
  }
}

describe('an applier of a heap whose bytes live elsewhere', () => {
  it('hears each batch, then the new bytes of the same operation, then the listeners', () => {
    const heap = new LoggingHeap({ size: 256, align: 8 });
    heap.onMove((moves) => heap.log.push(`listener ${moves.length}`));
    const a = heap.allocSync(96); // [0, 96)
    heap.allocSync(64); // [96, 160)
    heap.allocSync(64); // [160, 224); [224, 256) free
    heap.freeSync(a);
    heap.log.length = 0;
    heap.allocSync(112); // no gap holds it: the others slide down, then it lands at 128
    expect(heap.log).toEqual(['apply move 96>0, move 160>64', 'new 128-240', 'listener 2']);
    heap.log.length = 0;
    heap.allocSync(8); // no moves: only its new bytes
    expect(heap.log).toEqual(['new 240-248']);
  });

  it('a listener that allocates: its new bytes come right after its own moves, not later', () => {
    const heap = new LoggingHeap({ size: 256, align: 8 });
    const hs = [64, 64, 64].map((n) => heap.allocSync(n));
    let nested = false;
    heap.onMove(() => {
      if (nested) return;
      nested = true;
      heap.log.push('listener');
      heap.allocSync(16);
      heap.log.push('listener done');
    });
    heap.freeSync(hs[0]);
    heap.log.length = 0;
    heap.compactSync();
    expect(heap.log).toEqual([
      'apply move 64>0, move 128>64',
      'listener',
      'new 128-144',
      'listener done',
    ]);
  });

  it("with scramble, the operation's new bytes come before the scramble's batch", () => {
    const heap = new LoggingHeap({ size: 1024, align: 8, scramble: true });
    heap.allocSync(64);
    heap.log.length = 0;
    heap.allocSync(32);
    expect(heap.log[0]).toMatch(/^new \d+-\d+$/);
    expect(heap.log[1]).toMatch(/^apply (stage|move)/);
    expect(heap.log).toHaveLength(2);
  });
});
