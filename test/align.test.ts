// Alignment per allocation: `alloc(size, { align })` places a block at a multiple of its own
// alignment, the padding in front stays free space, and compaction, resize, scramble and
// save/restore keep every block's alignment. (The model test checks placements at random.)
import { describe, expect, it } from 'vitest';
import { MemoryManager, OutOfMemoryError } from '../src/index.js';
import { bytesOf, expectCoded, thrown } from './heap-snapshot.js';

describe('alloc with { align }', () => {
  it('takes the lowest multiple of the alignment that fits; the padding stays free', () => {
    const mm = new MemoryManager({ size: 1024, align: 8 });
    const a = mm.allocSync(24); // [0, 24)
    const u = mm.allocSync(64, { align: 256 }); // [256, 320): [24, 256) stays free
    expect(mm.offsetOf(u)).toBe(256);
    expect(mm.alignOf(u)).toBe(256);
    expect(mm.alignOf(a)).toBe(8);
    expect(mm.stats()).toMatchObject({ used: 88, freeBlocks: 2, largestFree: 1024 - 320 });
    // The padding is free space: a small block takes it, first fit.
    const b = mm.allocSync(16);
    expect(mm.offsetOf(b)).toBe(24);
    mm.validate();
  });

  it('an alignment at or below the heap one is the heap one', () => {
    const mm = new MemoryManager({ size: 256, align: 16 });
    mm.allocSync(8);
    const h = mm.allocSync(8, { align: 4 });
    expect(mm.offsetOf(h)).toBe(16);
    expect(mm.alignOf(h)).toBe(16);
  });

  it('skips a gap that is large enough but not at an aligned place (exact first fit)', () => {
    const mm = new MemoryManager({ size: 2048, align: 8 });
    const hs = [40, 100, 60, 200, 8].map((n) => mm.allocSync(n)); // 0, 40, 144, 208, 408
    mm.freeSync(hs[1]); // gap [40, 144): 104 bytes, no multiple of 128 holds 64 bytes in it
    mm.freeSync(hs[3]); // gap [208, 408): 256 is a multiple of 128 and holds 64 bytes
    const h = mm.allocSync(64, { align: 128 });
    expect(mm.offsetOf(h)).toBe(256);
    mm.validate();
  });

  it('best fit takes the smallest gap in which an aligned block fits', () => {
    const mm = new MemoryManager({ size: 4096, align: 8, strategy: 'best-fit' });
    const hs = [64, 200, 8, 72, 8, 300, 8].map((n) => mm.allocSync(n));
    // gaps: [64, 264) 200 bytes; [272, 344) 72 bytes (no multiple of 64 in it holds 64 bytes
    // past 320); [352, 652) 300 bytes
    mm.freeSync(hs[1]);
    mm.freeSync(hs[3]);
    mm.freeSync(hs[5]);
    const h = mm.allocSync(64, { align: 64 });
    expect(mm.offsetOf(h)).toBe(64); // the 72-byte gap is smaller but cannot hold it aligned
    mm.validate();
  });

  it('compaction keeps every block at a multiple of its alignment, later blocks fill padding', async () => {
    const mm = new MemoryManager({ size: 4096, align: 8 });
    const a = mm.allocSync(100);
    const gone = mm.allocSync(500);
    const u = mm.allocSync(40, { align: 512 }); // at 1024
    const b = mm.allocSync(30);
    const c = mm.allocSync(16);
    mm.write(u, bytesOf(7, 40));
    mm.write(b, bytesOf(8, 30));
    mm.freeSync(gone);
    const result = await mm.compact();
    expect(mm.offsetOf(a)).toBe(0);
    expect(mm.offsetOf(u)).toBe(512); // down to the lowest multiple of 512 above a
    expect(mm.offsetOf(b)).toBe(104); // into the padding in front of u
    expect(mm.offsetOf(c)).toBe(136);
    expect(result.blocksMoved).toBe(3);
    expect(mm.read(u)).toEqual(bytesOf(7, 40));
    expect(mm.read(b)).toEqual(bytesOf(8, 30));
    mm.validate();
  });

  it('a moving resize keeps the alignment', () => {
    const mm = new MemoryManager({ size: 4096, align: 8 });
    const u = mm.allocSync(64, { align: 256 });
    mm.allocSync(8); // right after it: growing must move
    mm.write(u, bytesOf(3, 64));
    mm.resizeSync(u, 300);
    expect(mm.offsetOf(u) % 256).toBe(0);
    expect(mm.offsetOf(u)).toBe(256);
    expect(mm.read(u, 0, 64)).toEqual(bytesOf(3, 64));
    mm.validate();
  });

  it('an allocation that needs compaction plans it, and fails cleanly when padding leaves no room', () => {
    const mm = new MemoryManager({ size: 1024, align: 8 });
    const hs = Array.from({ length: 8 }, () => mm.allocSync(128));
    mm.freeSync(hs[1]);
    mm.freeSync(hs[3]);
    // 256 bytes free in two gaps of 128: compaction joins them at [768, 1024)
    const h = mm.allocSync(256, { align: 256 });
    expect(mm.offsetOf(h)).toBe(768);
    mm.freeSync(h);
    mm.freeSync(hs[0]); // [0, 128) free, and [768, 1024): 384 bytes
    // 384 bytes free, but no multiple of 512 has 384 bytes after it once packed.
    const before = mm.blocks();
    const error = thrown(() => mm.allocSync(384, { align: 512 }));
    expectCoded(error, OutOfMemoryError, 'ERR_OUT_OF_MEMORY');
    expect(mm.blocks()).toEqual(before);
    mm.validate();
  });

  it('scramble moves other blocks but never breaks an alignment', () => {
    const mm = new MemoryManager({ size: 4096, align: 8, scramble: true });
    const hs = Array.from({ length: 6 }, (_, i) =>
      i % 2 === 0 ? mm.allocSync(40, { align: 128 }) : mm.allocSync(24),
    );
    for (let i = 0; i < 20; i++) {
      const h = mm.allocSync(8 + i);
      mm.freeSync(h);
      for (const x of hs) expect(mm.offsetOf(x) % mm.alignOf(x)).toBe(0);
    }
    mm.validate();
  });

  it('save and restore keep each block its alignment', () => {
    const mm = new MemoryManager({ size: 4096, align: 8 });
    const u = mm.allocSync(40, { align: 1024 });
    const copy = MemoryManager.restore(mm.save());
    expect(copy.alignOf(u)).toBe(1024);
    copy.allocSync(8);
    copy.compactSync();
    expect(copy.offsetOf(u) % 1024).toBe(0);
    copy.validate();
  });
});
