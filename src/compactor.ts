/**
 * Compaction: slides every live block toward offset 0, in address order, and leaves all free
 * space as one block at the top. Blocks that lie next to each other move by the same distance,
 * so each such run is one `copyWithin` (a memmove): bookkeeping is O(blocks), copying is
 * O(moved bytes).
 */
import { NEXT, NIL, OFF, PREV, SIZE, isLive } from './block-records.js';
import type { BlockLayout } from './block-layout.js';

export interface CompactResult {
  /** Live blocks whose offset changed. */
  blocksMoved: number;
  /** Bytes copied: the occupied sizes of the blocks that moved. */
  bytesMoved: number;
}

/** Compacts `layout`, moving the bytes of `heap` with it. O(blocks + moved bytes). */
export function compact(layout: BlockLayout, heap: Uint8Array): CompactResult {
  const records = layout.records;
  const r = records.r;
  const index = layout.index;
  // Already compact: no free block, or one free block at the top.
  if (index.count === 0 || (index.count === 1 && r[index.root + NEXT] === NIL)) {
    return { blocksMoved: 0, bytesMoved: 0 };
  }
  let blocksMoved = 0;
  let bytesMoved = 0;
  let cursor = 0; // where the next live block goes
  let last = NIL; // last live block placed
  let head = NIL;
  // The pending run: bytes [runFrom, runFrom + runBytes) go to runTo.
  let runFrom = 0;
  let runTo = 0;
  let runBytes = 0;
  let p = layout.head;
  while (p !== NIL) {
    const next = r[p + NEXT];
    if (isLive(r, p)) {
      const off = r[p + OFF];
      const size = r[p + SIZE];
      if (off !== cursor) {
        if (runBytes > 0 && runFrom + runBytes === off) {
          runBytes += size;
        } else {
          if (runBytes > 0) heap.copyWithin(runTo, runFrom, runFrom + runBytes);
          runFrom = off;
          runTo = cursor;
          runBytes = size;
        }
        r[p + OFF] = cursor;
        blocksMoved++;
        bytesMoved += size;
      }
      r[p + PREV] = last;
      if (last === NIL) head = p;
      else r[last + NEXT] = p;
      last = p;
      cursor += size;
    } else {
      records.give(p);
    }
    p = next;
  }
  if (runBytes > 0) heap.copyWithin(runTo, runFrom, runFrom + runBytes);

  index.clear();
  if (cursor < layout.capacity) {
    const f = records.take(); // reuses a record given back above: the table does not grow
    r[f + OFF] = cursor;
    r[f + SIZE] = layout.capacity - cursor;
    r[f + PREV] = last;
    if (last === NIL) head = f;
    else r[last + NEXT] = f;
    index.insert(f);
  } else if (last !== NIL) {
    r[last + NEXT] = NIL;
  }
  layout.head = head;
  return { blocksMoved, bytesMoved };
}
