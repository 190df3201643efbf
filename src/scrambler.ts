/**
 * The debug scrambler: moves every unpinned block it can to a new offset, as the heap
 * scramblers of the classic relocatable-memory systems did, so code that keeps an offset or a
 * view across an operation fails at once in tests instead of once in a while in production.
 *
 * Pinned blocks cut the heap into segments; in each, the movable blocks are rearranged so that
 * every one of them moves: reversed when that moves them all, else rotated (the first block to
 * the top, the others packed below). A block stays put only when it is alone in a segment that
 * it fills. O(B log B + capacity): a debugging aid, not a hot path.
 */
import { NEXT, NIL, OFF, PREV, SIZE, isLive, pinsOf } from './block-records.js';
import type { BlockLayout } from './block-layout.js';
import type { MoveSink } from './compactor.js';

/** Scrambles `layout` and `heap`; returns the number of blocks moved. */
export function scramble(layout: BlockLayout, heap: Uint8Array, sink: MoveSink | null): number {
  const r = layout.records.r;
  const placements: number[] = []; // record, new offset, record, new offset, ...
  let segment: number[] = [];
  let segmentStart = 0;
  let moved = 0;
  const closeSegment = (end: number): void => {
    moved += arrange(r, segment, segmentStart, end, placements);
    segment = [];
  };
  for (let p = layout.head; p !== NIL; p = r[p + NEXT]) {
    if (!isLive(r, p)) continue;
    if (pinsOf(r, p) > 0) {
      closeSegment(r[p + OFF]);
      placements.push(p, r[p + OFF]);
      segmentStart = r[p + OFF] + r[p + SIZE];
    } else {
      segment.push(p);
    }
  }
  closeSegment(layout.capacity);
  return moved === 0 ? 0 : rearrange(layout, heap, placements, sink);
}

/**
 * Moves every live block to the offset `placements` gives it (record, offset, record, offset,
 * ...: every live block once, none overlapping) and relinks the layout with free blocks between
 * them. The bytes of the blocks that move are copied out first, so any arrangement works.
 * Returns the number of blocks moved. O(B log B + moved bytes).
 */
export function rearrange(
  layout: BlockLayout,
  heap: Uint8Array | null,
  placements: number[],
  sink: MoveSink | null,
): number {
  const r = layout.records.r;
  const froms: number[] = [];
  const saved: (Uint8Array | null)[] = [];
  for (let i = 0; i < placements.length; i += 2) {
    const p = placements[i];
    const from = r[p + OFF];
    froms.push(from);
    const moves = from !== placements[i + 1];
    saved.push(moves && heap !== null ? heap.slice(from, from + r[p + SIZE]) : null);
  }
  rebuild(layout, placements);
  let moved = 0;
  for (let i = 0; i < placements.length; i += 2) {
    const from = froms[i / 2];
    const to = placements[i + 1];
    if (from === to) continue;
    const bytes = saved[i / 2];
    if (bytes) heap!.set(bytes, to);
    sink?.(placements[i], from, to);
    moved++;
  }
  return moved;
}

/**
 * Chooses new offsets for the movable blocks `blocks` (address order) in [start, end) and
 * appends (record, offset) pairs. Returns how many blocks change offset: all of them when there
 * are two or more, and the one block when its segment has room for it elsewhere.
 */
function arrange(
  r: Uint32Array,
  blocks: number[],
  start: number,
  end: number,
  out: number[],
): number {
  const n = blocks.length;
  if (n === 0) return 0;
  let total = 0;
  for (const p of blocks) total += r[p + SIZE];
  const slack = end - start - total;
  // Reversed, packed at the bottom, then at the top: the look of a scrambled heap.
  for (const base of slack === 0 ? [start] : [start, start + slack]) {
    let at = base;
    let moves = 0;
    for (let i = n - 1; i >= 0; i--) {
      if (r[blocks[i] + OFF] !== at) moves++;
      at += r[blocks[i] + SIZE];
    }
    if (moves === n) {
      for (let i = n - 1, to = base; i >= 0; to += r[blocks[i] + SIZE], i--)
        out.push(blocks[i], to);
      return n;
    }
  }
  const first = blocks[0];
  const firstSize = r[first + SIZE];
  if (n === 1) {
    // Alone: to the other end of its segment, if there is room to move at all.
    const to = r[first + OFF] === start ? end - firstSize : start;
    out.push(first, to);
    return to === r[first + OFF] ? 0 : 1;
  }
  // Always moves every block: the others go down, packed from the bottom, each at least the
  // first block's size below where it was; the first goes to the top, above where it was,
  // since the others all lay above it.
  let at = start;
  for (let i = 1; i < n; i++) {
    out.push(blocks[i], at);
    at += r[blocks[i] + SIZE];
  }
  out.push(first, end - firstSize);
  return n;
}

/** Relinks the layout so that the live blocks sit at the given offsets, with free blocks between. */
function rebuild(layout: BlockLayout, placements: number[]): void {
  const records = layout.records;
  let r = records.r;
  // Recycle every free record, then lay the list out again.
  for (let p = layout.head; p !== NIL;) {
    const next = r[p + NEXT];
    if (!isLive(r, p)) records.give(p);
    p = next;
  }
  layout.index.clear();
  layout.sizes?.clear();
  const order: number[] = [];
  for (let i = 0; i < placements.length; i += 2) order.push(i);
  order.sort((a, b) => placements[a + 1] - placements[b + 1]);
  let last = NIL;
  let cursor = 0;
  const link = (p: number): void => {
    r[p + PREV] = last;
    if (last === NIL) layout.head = p;
    else r[last + NEXT] = p;
    r[p + NEXT] = NIL;
    last = p;
  };
  const gap = (to: number): void => {
    if (to === cursor) return;
    const f = records.take();
    r = records.r;
    r[f + OFF] = cursor;
    r[f + SIZE] = to - cursor;
    link(f);
    layout.addFree(f);
  };
  for (const i of order) {
    const p = placements[i];
    const to = placements[i + 1];
    gap(to);
    r[p + OFF] = to;
    link(p);
    cursor = to + r[p + SIZE];
  }
  gap(layout.capacity);
}
