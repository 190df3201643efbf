// The debug scrambler: moves every unpinned block it can to a new offset, as the heap
// scramblers of the classic relocatable-memory systems did, so code that keeps an offset or a
// view across an operation fails at once in tests instead of once in a while in production.
//
// Pinned and over-aligned blocks stay where they are and cut the heap into segments; in each, the movable blocks are rearranged so that
// every one of them moves: reversed when that moves them all, else rotated (the first block to
// the top, the others packed below). A block stays put only when it is alone in a segment that
// it fills. O(B log B + moved bytes): a debugging aid, not a hot path.
import type { BlockLayout } from '../layout/block-layout.js';
import { OFF, SENTINEL, alignShiftOf, pinsOf } from '../layout/records.js';
import { STAGE, UNSTAGE, type MoveSink } from './moves.js';

/** Scrambles `layout` and `heap` (null: offsets only); returns the number of blocks moved. */
export function scramble(
  layout: BlockLayout,
  heap: Uint8Array | null,
  sink: MoveSink | null,
): number {
  const r = layout.state.r;
  const placements: number[] = []; // record, new offset, record, new offset, ...
  let segment: number[] = [];
  let segmentStart = 0;
  let moved = 0;
  const closeSegment = (end: number): void => {
    moved += arrange(layout, segment, segmentStart, end, placements);
    segment = [];
  };
  const blocks: number[] = [];
  layout.forEach((p) => {
    if (p !== SENTINEL) blocks.push(p);
  });
  for (const p of blocks) {
    // Pinned blocks stay, and so do over-aligned ones (their padding would not survive the
    // packed arrangements below).
    if (pinsOf(r, p) > 0 || alignShiftOf(r, p) !== 0) {
      closeSegment(r[p + OFF]);
      placements.push(p, r[p + OFF]);
      segmentStart = r[p + OFF] + layout.occupied(p);
    } else {
      segment.push(p);
    }
  }
  closeSegment(layout.capacity);
  return moved === 0 ? 0 : rearrange(layout, heap, placements, sink);
}

/**
 * Moves every live block to the offset `placements` gives it (record, offset, record, offset,
 * ...: every live block once, none overlapping) through `layout.rebuild`. The bytes of the blocks
 * that move are copied out first, so any arrangement works; the plan says so: a `stage` step
 * per block that moves (packed in the staging area in the order of `placements`), then an
 * `unstage` step each. Returns the number of blocks moved. O(B log B + moved bytes).
 */
export function rearrange(
  layout: BlockLayout,
  heap: Uint8Array | null,
  placements: number[],
  sink: MoveSink | null,
): number {
  const r = layout.state.r;
  const froms: number[] = [];
  const staged: number[] = [];
  const saved: (Uint8Array | null)[] = [];
  let at = 0;
  for (let i = 0; i < placements.length; i += 2) {
    const p = placements[i];
    const from = r[p + OFF];
    froms.push(from);
    staged.push(at);
    const moves = from !== placements[i + 1];
    saved.push(moves && heap !== null ? heap.slice(from, from + layout.occupied(p)) : null);
    if (moves) {
      sink?.(STAGE, p, from, at);
      at += layout.occupied(p);
    }
  }
  layout.rebuild(placements);
  let moved = 0;
  for (let i = 0; i < placements.length; i += 2) {
    const from = froms[i / 2];
    const to = placements[i + 1];
    if (from === to) continue;
    const bytes = saved[i / 2];
    if (bytes) heap!.set(bytes, to);
    sink?.(UNSTAGE, placements[i], staged[i / 2], to);
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
  layout: BlockLayout,
  blocks: number[],
  start: number,
  end: number,
  out: number[],
): number {
  const r = layout.state.r;
  const n = blocks.length;
  if (n === 0) return 0;
  let total = 0;
  for (const p of blocks) total += layout.occupied(p);
  const slack = end - start - total;
  // Reversed, packed at the bottom, then at the top: the look of a scrambled heap.
  for (const base of slack === 0 ? [start] : [start, start + slack]) {
    let at = base;
    let moves = 0;
    for (let i = n - 1; i >= 0; i--) {
      if (r[blocks[i] + OFF] !== at) moves++;
      at += layout.occupied(blocks[i]);
    }
    if (moves === n) {
      for (let i = n - 1, to = base; i >= 0; to += layout.occupied(blocks[i]), i--) {
        out.push(blocks[i], to);
      }
      return n;
    }
  }
  const first = blocks[0];
  const firstSize = layout.occupied(first);
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
    at += layout.occupied(blocks[i]);
  }
  out.push(first, end - firstSize);
  return n;
}
