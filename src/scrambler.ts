/**
 * The debug scrambler: moves every unpinned block it can to a new offset, as the heap
 * scramblers of the classic relocatable-memory systems did, so code that keeps an offset or a
 * view across an operation fails at once in tests instead of once in a while in production.
 *
 * Pinned blocks cut the heap into segments; in each, the movable blocks are packed in one of a
 * few arrangements (reversed or in order, at the bottom or the top of the segment), the first
 * that moves every block, else the one that moves the most. A block can only stay put when its
 * segment leaves it nowhere else to go. O(B log B + capacity): a debugging aid, not a hot path.
 */
import { NEXT, NIL, OFF, PREV, SIZE, isLive, pinsOf } from './block-records.js';
import type { BlockLayout } from './block-layout.js';
import type { MoveSink } from './compactor.js';

/** Rearranges `layout` and `heap`; returns the number of blocks moved. */
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
  if (moved === 0) return 0;

  const before = heap.slice();
  const froms = new Map<number, number>();
  for (let i = 0; i < placements.length; i += 2) froms.set(placements[i], r[placements[i] + OFF]);
  rebuild(layout, placements);
  const r2 = layout.records.r; // rebuilding may have grown the table
  for (let i = 0; i < placements.length; i += 2) {
    const p = placements[i];
    const from = froms.get(p)!;
    const to = placements[i + 1];
    if (from === to) continue;
    heap.set(before.subarray(from, from + r2[p + SIZE]), to);
    sink?.(p, from, to);
  }
  return moved;
}

/**
 * Chooses new offsets for the movable blocks `blocks` (address order) in [start, end) and
 * appends (record, offset) pairs in address order. Returns how many blocks change offset.
 */
function arrange(
  r: Uint32Array,
  blocks: number[],
  start: number,
  end: number,
  out: number[],
): number {
  if (blocks.length === 0) return 0;
  let total = 0;
  for (const p of blocks) total += r[p + SIZE];
  const slack = end - start - total;
  const reversed = [...blocks].reverse();
  const candidates: [number[], number][] = [
    [reversed, start],
    [reversed, start + slack],
    [blocks, start + slack],
    [blocks, start],
  ];
  let best = candidates[0];
  let bestMoved = -1;
  for (const candidate of candidates) {
    let at = candidate[1];
    let movedHere = 0;
    for (const p of candidate[0]) {
      if (r[p + OFF] !== at) movedHere++;
      at += r[p + SIZE];
    }
    if (movedHere > bestMoved) {
      best = candidate;
      bestMoved = movedHere;
    }
    if (movedHere === blocks.length) break;
  }
  let at = best[1];
  for (const p of best[0]) {
    out.push(p, at);
    at += r[p + SIZE];
  }
  return bestMoved;
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
