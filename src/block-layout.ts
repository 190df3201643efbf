/**
 * The blocks of the heap in address order: a doubly linked list through the records that
 * covers [0, capacity) without gaps. Allocation splits a free block, freeing coalesces with
 * free neighbours on both sides, so no two free blocks ever touch.
 */
import {
  BlockRecords,
  GEN_MASK,
  LIVE_BIT,
  META,
  NEXT,
  NIL,
  OFF,
  PREV,
  REQ,
  SIZE,
  isLive,
} from './block-records.js';
import { FreeIndex } from './free-index.js';

export class BlockLayout {
  readonly records = new BlockRecords();
  readonly index = new FreeIndex(this.records);
  /** Bytes managed. */
  readonly capacity: number;
  /** First block in address order (the one at offset 0), or NIL for an empty heap. */
  head = NIL;
  /** Bytes occupied by live blocks. */
  used = 0;
  /** Number of live blocks. */
  live = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    if (capacity > 0) {
      const p = this.records.take();
      const r = this.records.r;
      r[p + OFF] = 0;
      r[p + SIZE] = capacity;
      this.head = p;
      this.index.insert(p);
    }
  }

  /**
   * Makes a live block of `occupied` bytes (a multiple of the alignment) in the lowest-address
   * free block that fits, and returns its record, or NIL when no free block fits. O(log F).
   * The new record's generation is advanced: it is a new incarnation for the handle table.
   */
  allocate(occupied: number, requested: number): number {
    const index = this.index;
    const t = index.firstFit(occupied);
    if (t === NIL) return NIL;
    return this.allocateIn(t, occupied, requested);
  }

  /** Makes a live block at the start of free block `t`, which must hold `occupied` bytes. */
  allocateIn(t: number, occupied: number, requested: number): number {
    const records = this.records;
    let r = records.r;
    let p: number;
    if (r[t + SIZE] === occupied) {
      // Exact fit: the free record itself becomes the live block.
      this.index.remove(t);
      p = t;
    } else {
      p = records.take(); // may grow the table: read r again
      r = records.r;
      const off = r[t + OFF];
      const prev = r[t + PREV];
      r[p + OFF] = off;
      r[p + SIZE] = occupied;
      r[p + PREV] = prev;
      r[p + NEXT] = t;
      if (prev === NIL) this.head = p;
      else r[prev + NEXT] = p;
      r[t + PREV] = p;
      r[t + OFF] = off + occupied;
      r[t + SIZE] -= occupied;
      this.index.changed(t);
    }
    const gen = (r[p + META] & GEN_MASK) + 1;
    r[p + META] = (gen > GEN_MASK ? 1 : gen) | LIVE_BIT;
    r[p + REQ] = requested;
    this.used += occupied;
    this.live++;
    return p;
  }

  /** Frees live block `p`, merging it with free neighbours. O(log F). */
  release(p: number): void {
    const records = this.records;
    const index = this.index;
    const r = records.r;
    const off = r[p + OFF];
    const size = r[p + SIZE];
    const prev = r[p + PREV];
    const next = r[p + NEXT];
    const prevFree = prev !== NIL && !isLive(r, prev);
    const nextFree = next !== NIL && !isLive(r, next);
    this.used -= size;
    this.live--;
    if (prevFree && nextFree) {
      r[prev + SIZE] += size + r[next + SIZE];
      index.remove(next);
      this.unlink(p);
      this.unlink(next);
      records.give(p);
      records.give(next);
      index.changed(prev);
    } else if (prevFree) {
      r[prev + SIZE] += size;
      this.unlink(p);
      records.give(p);
      index.changed(prev);
    } else if (nextFree) {
      r[next + OFF] = off;
      r[next + SIZE] += size;
      this.unlink(p);
      records.give(p);
      index.changed(next);
    } else {
      r[p + META] &= GEN_MASK; // no longer live: its handle is stale from now on
      r[p + REQ] = 0;
      index.insert(p);
    }
  }

  /**
   * Checks the list (offsets contiguous from 0 to capacity, links both ways, alignment,
   * no two free blocks touching), the counters, and that the free index holds exactly the
   * free blocks. O(blocks). Returns a description of the first broken invariant, or undefined.
   */
  check(align: number): string | undefined {
    const records = this.records;
    const r = records.r;
    let expectedOff = 0;
    let prev = NIL;
    let used = 0;
    let live = 0;
    let free = 0;
    let blocks = 0;
    let prevFree = false;
    for (let p = this.head; p !== NIL; p = r[p + NEXT]) {
      if (++blocks > records.used) return 'block list has a cycle';
      const off = r[p + OFF];
      const size = r[p + SIZE];
      const where = `block at offset ${off}`;
      if (off !== expectedOff) return `${where}: expected offset ${expectedOff} (gap or overlap)`;
      if (r[p + PREV] !== prev) return `${where}: previous link is broken`;
      if (size === 0 || size % align !== 0)
        return `${where}: size ${size} is not a positive multiple of ${align}`;
      if (off % align !== 0) return `${where}: offset is not a multiple of ${align}`;
      if (isLive(r, p)) {
        const req = r[p + REQ];
        if (req === 0 || req > size || size - req >= align)
          return `${where}: requested size ${req} does not round up to ${size}`;
        used += size;
        live++;
        prevFree = false;
      } else {
        if (prevFree) return `${where}: two free blocks touch`;
        free++;
        prevFree = true;
      }
      expectedOff = off + size;
      prev = p;
    }
    if (expectedOff !== this.capacity)
      return `blocks end at ${expectedOff}, capacity is ${this.capacity}`;
    if (used !== this.used) return `live blocks occupy ${used} bytes, counter says ${this.used}`;
    if (live !== this.live) return `${live} live blocks, counter says ${this.live}`;
    if (free !== this.index.count)
      return `${free} free blocks in the list, ${this.index.count} in the free index`;
    if (blocks !== records.inUse) return `${blocks} blocks, ${records.inUse} records in use`;
    if (records.inUse + records.countUnused() + 1 !== records.used)
      return 'record accounting is broken';
    const indexError = this.index.check();
    if (indexError !== undefined) return indexError;
    // The index, walked in address order, must visit exactly the list's free blocks.
    let cursor = this.head;
    let stray: string | undefined;
    this.index.forEach((p) => {
      while (cursor !== NIL && isLive(r, cursor)) cursor = r[cursor + NEXT];
      if (stray === undefined && p !== cursor)
        stray = `free index holds a record that is not the next free block (offset ${r[p + OFF]})`;
      if (cursor !== NIL) cursor = r[cursor + NEXT];
    });
    return stray;
  }

  /** Removes record `p` from the address list (its neighbours are linked to each other). */
  unlink(p: number): void {
    const r = this.records.r;
    const prev = r[p + PREV];
    const next = r[p + NEXT];
    if (prev === NIL) this.head = next;
    else r[prev + NEXT] = next;
    if (next !== NIL) r[next + PREV] = prev;
  }
}
