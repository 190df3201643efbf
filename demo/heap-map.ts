/**
 * Text rendering of a heap for the demo: a map with one character per `align` bytes (live
 * blocks by their label, free space '.'), a legend and the counters. Public API only.
 */
import type { BlockInfo, Handle, HeapStats, MemoryManager } from '../src/index.js';

/** Map characters per row; a 512-byte heap with align 8 fits in one row. */
const ROW_UNITS = 64;
/** A ruler label every this many map characters. */
const TICK_UNITS = 16;
const INDENT = '  ';

/** The map: a ruler of byte offsets, then rows of one character per `align` bytes. */
export function renderHeapMap(mm: MemoryManager, labels: ReadonlyMap<Handle, string>): string[] {
  const units = mm.capacity / mm.align;
  const cells: string[] = new Array<string>(units).fill('.');
  for (const block of mm.blocks()) {
    const label = labels.get(block.handle) ?? '?';
    const first = block.offset / mm.align;
    // A block occupies its size rounded up to the alignment.
    const count = Math.ceil(block.size / mm.align);
    cells.fill(label, first, first + count);
  }
  const rowUnits = Math.min(ROW_UNITS, units);
  const rows = Math.ceil(units / rowUnits);
  // Offsets of later rows go in a left column; a one-row map needs none.
  const prefixWidth = rows > 1 ? String(mm.capacity).length + 1 : 0;

  let ruler = '';
  for (let u = 0; u <= rowUnits; u += TICK_UNITS) {
    ruler = ruler.padEnd(u) + String(u * mm.align);
  }
  const lines = [INDENT + ' '.repeat(prefixWidth) + ruler];
  for (let row = 0; row < rows; row++) {
    const start = row * rowUnits;
    const prefix = rows > 1 ? String(start * mm.align).padStart(prefixWidth - 1) + ' ' : '';
    lines.push(INDENT + prefix + cells.slice(start, start + rowUnits).join(''));
  }
  return lines;
}

/** One line per live block: label, handle, offset (or `old → new`), size and a content preview. */
export function renderLegend(
  mm: MemoryManager,
  labels: ReadonlyMap<Handle, string>,
  previousOffsets?: ReadonlyMap<Handle, number>,
): string[] {
  const decoder = new TextDecoder();
  const width = String(mm.capacity).length;
  const blocks = mm.blocks();
  const handleWidth = Math.max(0, ...blocks.map((b) => String(b.handle).length));
  return blocks.map((block: BlockInfo) => {
    const before = previousOffsets?.get(block.handle);
    const offset =
      before === undefined
        ? `offset ${String(block.offset).padStart(width)}`
        : `offset ${String(before).padStart(width)} → ${String(block.offset).padStart(width)}`;
    const text = decoder.decode(mm.read(block.handle, 0, Math.min(block.size, 12)));
    const preview = block.size > 12 ? `${text}…` : text;
    return (
      `${INDENT}${labels.get(block.handle) ?? '?'}  handle ${String(block.handle).padEnd(handleWidth)}  ` +
      `${offset}  size ${String(block.size).padStart(width)}  "${preview}"`
    );
  });
}

/** The counters of `stats()` on two lines. */
export function renderStats(stats: HeapStats): string[] {
  const percent = (stats.fragmentation * 100).toFixed(1);
  return [
    `${INDENT}used ${stats.used} B   free ${stats.free} B   largestFree ${stats.largestFree} B   fragmentation ${percent}%`,
    `${INDENT}liveBlocks ${stats.liveBlocks}   freeBlocks ${stats.freeBlocks}   compactions ${stats.compactions}   bytesMoved ${stats.bytesMoved} B`,
  ];
}
