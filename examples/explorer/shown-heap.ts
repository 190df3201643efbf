/**
 * A heap as the page shows it: each live block with the bytes it occupies, its alignment and
 * whether it is pinned, read through the public API.
 */
import type { Handle, MemoryManager } from '../../src/index.js';

export interface ShownBlock {
  readonly handle: Handle;
  /** Heap offset; fractional while an animation slides the block. */
  readonly offset: number;
  /** Bytes asked for. */
  readonly size: number;
  /** Bytes occupied: the size rounded up to the heap's alignment. */
  readonly bytes: number;
  /** The block's own alignment, or the heap's when larger. */
  readonly align: number;
  readonly pinned: boolean;
}

/** The live blocks of `mm` in address order. O(B). */
export function shownBlocks(mm: MemoryManager): ShownBlock[] {
  const unit = mm.align;
  return mm.blocks().map(({ handle, offset, size }) => ({
    handle,
    offset,
    size,
    bytes: Math.ceil(size / unit) * unit,
    align: mm.alignOf(handle),
    pinned: mm.isPinned(handle),
  }));
}

/**
 * A block's colour, the same for its handle in every heap and snapshot: a hash of the handle
 * picks the hue and one of three lightnesses, so neighbours rarely look alike. `shade` darkens
 * it (the edge that tells neighbours apart).
 */
export function colourOf(handle: Handle, shade = 0): string {
  let h = Math.imul(handle ^ (handle >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = (h ^ (h >>> 16)) >>> 0;
  const hue = h % 360;
  const lightness = 50 + ((h >>> 12) % 3) * 7 - shade;
  return `hsl(${hue} 62% ${lightness}%)`;
}

/** `1536` as `1.5 KiB`, `100` as `100 B`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}
