// save() and MemoryManager.restore(): a restored heap equals the original and is independent of
// it; damaged, truncated or foreign snapshots are rejected with ERR_INVALID_SNAPSHOT; and no
// snapshot, however crafted, restores to a heap that fails validate() or misbehaves.
// Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import {
  MemoryManager,
  MemoryManagerError,
  type Handle,
  type MemoryManagerOptions,
} from '../src/index.js';
import {
  HEADER_WORDS,
  H_CHECKSUM,
  H_NODES_USED,
  H_RECORDS_USED,
  H_SIZE_HEIGHT,
  H_SIZE_ROOT,
  H_VERSION,
  NODE_WORDS,
  RECORD_WORDS,
} from '../src/memory/format.js';
import { checksum } from '../src/memory/snapshot.js';
import { bytesOf, expectCoded, thrown } from './heap-snapshot.js';
import { mulberry32 } from './prng.js';

const INVALID = 'ERR_INVALID_SNAPSHOT';

/** A heap with blocks of several sizes, holes, pins, a compaction and moves behind it. */
function busyHeap(options: Omit<MemoryManagerOptions, 'size' | 'buffer'> = {}): {
  mm: MemoryManager;
  live: Handle[];
} {
  const mm = new MemoryManager({ size: 4096, ...options });
  const rand = mulberry32(7);
  const all: Handle[] = [];
  for (let i = 0; i < 40; i++) {
    const h = mm.allocSync(1 + Math.floor(rand() * 60));
    mm.write(h, bytesOf(i + 1, mm.sizeOf(h)));
    all.push(h);
  }
  const live = all.filter((_, i) => i % 3 !== 0);
  all.forEach((h, i) => {
    if (i % 3 === 0) mm.freeSync(h);
  });
  mm.pin(live[2]);
  mm.pin(live[2]);
  mm.pin(live[7]);
  mm.compactSync();
  mm.resizeSync(live[0], 100);
  return { mm, live };
}

/** Everything observable about a heap. */
function observe(mm: MemoryManager) {
  return {
    settings: [
      mm.capacity,
      mm.align,
      mm.strategy,
      mm.autoCompact,
      mm.zeroFill,
      mm.scramble,
      mm.maxBlocks,
    ],
    stats: mm.stats(),
    blocks: mm.blocks(),
    contents: mm.blocks().map(({ handle }) => mm.read(handle)),
    pins: mm.blocks().map(({ handle }) => mm.isPinned(handle)),
    epoch: mm.epoch,
  };
}

/** The metadata words of a snapshot (a copy), and a function writing them back with a fresh checksum. */
function metadataOf(snapshot: Uint8Array): { words: Uint32Array; seal: () => Uint8Array } {
  const copy = snapshot.slice();
  const header = new Uint32Array(copy.buffer, 0, HEADER_WORDS);
  const n =
    HEADER_WORDS + header[H_RECORDS_USED] * RECORD_WORDS + header[H_NODES_USED] * NODE_WORDS;
  const words = new Uint32Array(copy.buffer, 0, n);
  return {
    words,
    seal: () => {
      words[H_CHECKSUM] = 0;
      words[H_CHECKSUM] = checksum(words);
      return copy;
    },
  };
}

describe('save and restore', () => {
  it.each(['first-fit', 'best-fit'] as const)(
    'a %s heap restores equal: settings, handles, offsets, bytes, pins, stats, epoch',
    (strategy) => {
      const { mm } = busyHeap({ strategy, align: 8 });
      const copy = MemoryManager.restore(mm.save());
      expect(observe(copy)).toEqual(observe(mm));
      copy.validate();
    },
  );

  it('the copy is independent and goes on exactly as the original would', () => {
    const { mm, live } = busyHeap();
    const copy = MemoryManager.restore(mm.save());
    const script = (heap: MemoryManager): unknown[] => {
      const out: unknown[] = [];
      heap.freeSync(live[1]);
      out.push(heap.allocSync(33), heap.allocSync(200));
      heap.write(live[3], [9, 9, 9]);
      heap.unpin(live[7]);
      out.push(heap.compactSync(), heap.offsetOf(live[3]));
      return out;
    };
    const before = observe(mm);
    const fromCopy = script(copy);
    expect(observe(mm)).toEqual(before); // the original did not see any of it
    expect(script(mm)).toEqual(fromCopy);
    expect(observe(copy)).toEqual(observe(mm));
  });

  it('old handles work on the restored heap, freed ones stay invalid', () => {
    const { mm, live } = busyHeap();
    const freed = mm.allocSync(8);
    mm.freeSync(freed);
    const copy = MemoryManager.restore(mm.save());
    for (const h of live) expect(copy.has(h)).toBe(true);
    expect(copy.has(freed)).toBe(false);
    copy.freeSync(live[4]);
    expect(copy.has(live[4])).toBe(false);
    expect(mm.has(live[4])).toBe(true);
  });

  it('a snapshot is a self-contained Uint8Array: header, metadata, then the bytes', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(5);
    mm.write(h, [1, 2, 3, 4, 5]);
    const snapshot = mm.save();
    expect(snapshot).toBeInstanceOf(Uint8Array);
    expect(Array.from(snapshot.subarray(snapshot.length - 64, snapshot.length - 59))).toEqual([
      1, 2, 3, 4, 5,
    ]);
    // A copy at an odd byte offset restores too (no alignment is assumed).
    const shifted = new Uint8Array(snapshot.length + 1);
    shifted.set(snapshot, 1);
    expect(MemoryManager.restore(shifted.subarray(1)).read(h)).toEqual(
      Uint8Array.of(1, 2, 3, 4, 5),
    );
  });

  it('a flipped bit in the bytes restores as it is: they are the user`s data', () => {
    const mm = new MemoryManager(64);
    const h = mm.allocSync(8);
    const snapshot = mm.save();
    snapshot[snapshot.length - 64] ^= 0x10;
    expect(MemoryManager.restore(snapshot).read(h)[0]).toBe(0x10);
  });

  it('rejects what is not a Uint8Array with ERR_INVALID_ARG_TYPE', () => {
    const bad: unknown[] = [
      undefined,
      null,
      0,
      'x',
      [1, 2, 3],
      new ArrayBuffer(8),
      new Uint16Array(64),
      {},
    ];
    for (const value of bad) {
      expectCoded(
        thrown(() => MemoryManager.restore(value as Uint8Array)),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
      );
    }
  });

  it('rejects every truncation, naming what is wrong', () => {
    const snapshot = busyHeap().mm.save();
    for (let n = 0; n < snapshot.length; n += Math.max(1, Math.floor(n / 8))) {
      const error = thrown(() => MemoryManager.restore(snapshot.subarray(0, n)));
      expectCoded(error, MemoryManagerError, INVALID);
      expect((error as Error).message).toMatch(/truncated/);
    }
    const longer = new Uint8Array(snapshot.length + 3);
    longer.set(snapshot);
    expect((thrown(() => MemoryManager.restore(longer)) as Error).message).toMatch(/3 bytes more/);
  });

  it('rejects every single flipped bit in the header and metadata', () => {
    const snapshot = busyHeap({ strategy: 'best-fit' }).mm.save();
    const { words } = metadataOf(snapshot);
    const metadataBytes = words.length * 4;
    for (let byte = 0; byte < metadataBytes; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = snapshot.slice();
        damaged[byte] ^= 1 << bit;
        expectCoded(
          thrown(() => MemoryManager.restore(damaged)),
          MemoryManagerError,
          INVALID,
        );
      }
    }
  });

  /**
   * Writes a lie into words[i]: a small nudge, a copy of another word (from `from` on) or a
   * random value, the kinds of lies that get furthest.
   */
  function lie(words: Uint32Array, i: number, rand: () => number, from: number): void {
    const kind = rand();
    words[i] =
      kind < 0.4
        ? (words[i] + (rand() < 0.5 ? 1 : -1) * (1 + Math.floor(rand() * 16))) >>> 0
        : kind < 0.7
          ? words[from + Math.floor(rand() * (words.length - from))]
          : Math.floor(rand() * 2 ** 32);
  }

  /** The heap a crafted snapshot restores to, or undefined when restore rejects it as invalid. */
  function restoreCrafted(snapshot: Uint8Array): MemoryManager | undefined {
    try {
      return MemoryManager.restore(snapshot);
    } catch (error) {
      expectCoded(error, MemoryManagerError, INVALID);
      return undefined;
    }
  }

  it('rejects a wrong magic and an unknown version, saying which', () => {
    const snapshot = busyHeap().mm.save();
    const magic = metadataOf(snapshot);
    magic.words[0] = 0x12345678;
    expect((thrown(() => MemoryManager.restore(magic.seal())) as Error).message).toMatch(/magic/);
    const version = metadataOf(snapshot);
    version.words[H_VERSION] = 99;
    const error = thrown(() => MemoryManager.restore(version.seal()));
    expectCoded(error, MemoryManagerError, INVALID);
    expect((error as Error).message).toMatch(/version 99/);
  });

  it('never returns a broken heap from crafted metadata with a correct checksum', () => {
    const rand = mulberry32(2026);
    let accepted = 0;
    let rejected = 0;
    for (const strategy of ['first-fit', 'best-fit'] as const) {
      const { mm, live } = busyHeap({ strategy });
      const snapshot = mm.save();
      for (let round = 0; round < 1500; round++) {
        const crafted = metadataOf(snapshot);
        const words = crafted.words;
        const edits = 1 + Math.floor(rand() * 3);
        for (let e = 0; e < edits; e++) lie(words, Math.floor(rand() * words.length), rand, 0);
        const copy = restoreCrafted(crafted.seal());
        if (copy === undefined) {
          rejected++;
          continue;
        }
        accepted++;
        // Accepted: it must be a sound heap that keeps working.
        copy.validate();
        for (const h of live) if (copy.has(h) && !copy.isPinned(h)) copy.freeSync(h);
        for (let k = 0; k < 5; k++) {
          try {
            copy.allocSync(1 + Math.floor(rand() * 100));
          } catch (error) {
            expect((error as { code?: string }).code).toMatch(
              /^ERR_(OUT_OF_MEMORY|TOO_MANY_BLOCKS)$/,
            );
          }
        }
        copy.compactSync();
        copy.validate();
      }
    }
    // Some lies are harmless (counters, epoch, a node's unused slots): those restore.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(1500);
    expect(accepted + rejected).toBe(3000);
  });

  it('never returns a broken heap from crafted index nodes of a best-fit heap with thousands of gaps', () => {
    // Both trees several levels deep, sharing the node region: lies in any node or in the size
    // index's root and height must be rejected or be harmless.
    const mm = new MemoryManager({ size: 1 << 20, strategy: 'best-fit' });
    const rand = mulberry32(77);
    const hs: Handle[] = [];
    for (let i = 0; i < 6000; i++) hs.push(mm.allocSync(1 + Math.floor(rand() * 120)));
    for (let i = 0; i < hs.length; i += 2) mm.freeSync(hs[i]);
    const snapshot = mm.save();
    const { words: original } = metadataOf(snapshot);
    const nodesAt = HEADER_WORDS + original[H_RECORDS_USED] * RECORD_WORDS;
    expect(original[H_SIZE_HEIGHT]).toBeGreaterThanOrEqual(3);
    let accepted = 0;
    let rejected = 0;
    for (let round = 0; round < 300; round++) {
      const crafted = metadataOf(snapshot);
      const words = crafted.words;
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const i =
          rand() < 0.1
            ? rand() < 0.5
              ? H_SIZE_ROOT
              : H_SIZE_HEIGHT
            : nodesAt + Math.floor(rand() * (words.length - nodesAt));
        lie(words, i, rand, nodesAt);
      }
      const copy = restoreCrafted(crafted.seal());
      if (copy === undefined) {
        rejected++;
        continue;
      }
      accepted++;
      copy.validate();
      for (let k = 0; k < 200; k++) {
        const h = hs[1 + 2 * Math.floor(rand() * (hs.length / 2))];
        if (copy.has(h)) copy.freeSync(h);
        copy.allocSync(1 + Math.floor(rand() * 200));
      }
      copy.validate();
    }
    // The unused words of nodes (beyond their counts) restore as they are.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(150);
  });
});
