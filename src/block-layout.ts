/**
 * The blocks of the heap in address order: a doubly linked list through the records that
 * covers [0, capacity) without gaps. Allocation splits a free block, freeing coalesces with
 * free neighbours on both sides, so no two free blocks ever touch. Every change to a free
 * block goes through addFree / dropFree / moveFree, which keep the free indexes in step.
 */
import {
  BlockRecords,
  GEN_MASK,
  LIVE_BIT,
  MAX_PINS,
  MAX_RECORDS,
  META,
  NEXT,
  NIL,
  OFF,
  PIN_ONE,
  PIN_SHIFT,
  PREV,
  REQ,
  SIZE,
  isLive,
  pinsOf,
} from './block-records.js';
import { FreeIndex } from './free-index.js';
import { SizeIndex } from './size-index.js';
import type { PlacementStrategy } from './types.js';

/**
 * The most live blocks a layout holds. No two free blocks touch, so there are at most
 * live + 1 free blocks and 2 * live + 1 records in use (one more while a block is detached):
 * with this many live blocks the records stay below MAX_RECORDS, whatever the operations.
 */
export const MAX_LIVE_BLOCKS = MAX_RECORDS / 2 - 2;

export class BlockLayout {
  readonly records: BlockRecords;
  /** Free blocks by address (first fit, compaction). */
  readonly index: FreeIndex;
  /** Free blocks by size (best fit), or null for first-fit heaps. */
  readonly sizes: SizeIndex | null;
  /** Bytes managed. */
  readonly capacity: number;
  readonly strategy: PlacementStrategy;
  /** First block in address order (the one at offset 0). */
  head = NIL;
  /** Bytes occupied by live blocks. */
  used = 0;
  /** Number of live blocks. */
  live = 0;
  /** Number of live blocks holding at least one pin. */
  pinned = 0;

  constructor(capacity: number, strategy: PlacementStrategy = 'first-fit', records?: BlockRecords) {
    this.capacity = capacity;
    this.strategy = strategy;
    this.records = records ?? new BlockRecords();
    this.index = new FreeIndex(this.records);
    this.sizes = strategy === 'best-fit' ? new SizeIndex(this.records) : null;
    if (records === undefined) {
      const p = this.records.take();
      this.records.r[p + SIZE] = capacity;
      this.head = p;
      this.addFree(p);
    }
  }

  /** A deep copy, for trying a compaction without touching this layout. O(records). */
  clone(): BlockLayout {
    const copy = new BlockLayout(this.capacity, this.strategy, this.records.clone());
    copy.index.root = this.index.root;
    copy.index.count = this.index.count;
    if (copy.sizes !== null && this.sizes !== null) {
      copy.sizes.root = this.sizes.root;
      copy.sizes.count = this.sizes.count;
    }
    copy.head = this.head;
    copy.used = this.used;
    copy.live = this.live;
    copy.pinned = this.pinned;
    return copy;
  }

  /** The free block an allocation of `occupied` bytes takes under the strategy, or NIL. O(log F). */
  fit(occupied: number): number {
    return this.sizes === null ? this.index.firstFit(occupied) : this.sizes.bestFit(occupied);
  }

  /**
   * Makes a live block of `occupied` bytes (a multiple of the alignment) and returns its record,
   * or NIL when no free block fits. The record's generation advances: a new handle. O(log F).
   */
  allocate(occupied: number, requested: number): number {
    const t = this.fit(occupied);
    if (t === NIL) return NIL;
    let p = t;
    if (this.records.r[t + SIZE] === occupied) {
      this.dropFree(t); // exact fit: the free record itself becomes the live block
    } else {
      p = this.records.take();
      this.place(p, t, occupied);
    }
    const r = this.records.r;
    const gen = (r[p + META] & GEN_MASK) + 1;
    r[p + META] = (gen > GEN_MASK ? 1 : gen) | LIVE_BIT;
    r[p + REQ] = requested;
    this.used += occupied;
    this.live++;
    return p;
  }

  /** Frees live, unpinned block `p`, merging it with free neighbours. O(log F). */
  release(p: number): void {
    const r = this.records.r;
    this.used -= r[p + SIZE];
    this.live--;
    const f = this.vacate(p, true);
    if (f !== p) this.records.give(p);
  }

  /**
   * Takes live block `p` out of the address list; its space becomes free (merged with free
   * neighbours). `p` keeps its handle, size and counters; `attach` puts it back. Returns the
   * free record now covering its old space. O(log F).
   */
  detach(p: number): number {
    return this.vacate(p, false);
  }

  /** Puts detached live block `p` at the start of free block `t`, occupying `occupied` bytes. O(log F). */
  attach(p: number, t: number, occupied: number): void {
    this.place(p, t, occupied);
  }

  /** Gives the tail of live block `p` back, so that it occupies `occupied` bytes. O(log F). */
  shrink(p: number, occupied: number): void {
    const records = this.records;
    let r = records.r;
    const tail = r[p + SIZE] - occupied;
    if (tail === 0) return;
    const next = r[p + NEXT];
    if (next !== NIL && !isLive(r, next)) {
      this.moveFree(next, r[next + OFF] - tail, r[next + SIZE] + tail);
    } else {
      const f = records.take();
      r = records.r;
      r[f + OFF] = r[p + OFF] + occupied;
      r[f + SIZE] = tail;
      r[f + PREV] = p;
      r[f + NEXT] = next;
      r[p + NEXT] = f;
      if (next !== NIL) r[next + PREV] = f;
      this.addFree(f);
    }
    r[p + SIZE] = occupied;
    this.used -= tail;
  }

  /** Grows live block `p` in place to `occupied` bytes when the free block after it has room. O(log F). */
  growInPlace(p: number, occupied: number): boolean {
    const r = this.records.r;
    const need = occupied - r[p + SIZE];
    const next = r[p + NEXT];
    if (next === NIL || isLive(r, next) || r[next + SIZE] < need) return false;
    if (r[next + SIZE] === need) {
      this.dropFree(next);
      this.unlink(next);
      this.records.give(next);
    } else {
      this.moveFree(next, r[next + OFF] + need, r[next + SIZE] - need);
    }
    r[p + SIZE] = occupied;
    this.used += need;
    return true;
  }

  /** Bytes live block `p` could occupy where it is, with the free blocks on both sides. O(1). */
  neighbourhood(p: number): number {
    const r = this.records.r;
    const prev = r[p + PREV];
    const next = r[p + NEXT];
    let bytes = r[p + SIZE];
    if (prev !== NIL && !isLive(r, prev)) bytes += r[prev + SIZE];
    if (next !== NIL && !isLive(r, next)) bytes += r[next + SIZE];
    return bytes;
  }

  /** Adds a pin to live block `p`. Returns false when it already holds the most pins. O(1). */
  pin(p: number): boolean {
    const r = this.records.r;
    const pins = pinsOf(r, p);
    if (pins === MAX_PINS) return false;
    if (pins === 0) this.pinned++;
    r[p + META] += PIN_ONE;
    return true;
  }

  /** Removes a pin from live block `p`. Returns false when it holds none. O(1). */
  unpin(p: number): boolean {
    const r = this.records.r;
    const pins = pinsOf(r, p);
    if (pins === 0) return false;
    if (pins === 1) this.pinned--;
    r[p + META] -= PIN_ONE;
    return true;
  }

  /** Makes free record `p` (OFF, SIZE set; in the address list) known to the indexes. */
  addFree(p: number): void {
    this.index.insert(p);
    this.sizes?.insert(p);
  }

  /** Removes free record `p` from the indexes (not from the list). */
  dropFree(p: number): void {
    this.index.remove(p);
    this.sizes?.remove(p);
  }

  /** Moves and/or resizes free block `p` within its place in address order. */
  moveFree(p: number, off: number, size: number): void {
    const r = this.records.r;
    this.sizes?.remove(p);
    r[p + OFF] = off;
    r[p + SIZE] = size;
    this.index.changed(p);
    this.sizes?.insert(p);
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

  /**
   * Checks the list (offsets contiguous from 0 to capacity, links both ways, alignment, no two
   * free blocks touching), the counters, and that each free index holds exactly the free blocks.
   * O(blocks). Returns a description of the first broken invariant, or undefined.
   */
  check(align: number): string | undefined {
    const records = this.records;
    const r = records.r;
    let expectedOff = 0;
    let prev = NIL;
    let used = 0;
    let live = 0;
    let pinned = 0;
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
        if (pinsOf(r, p) > 0) pinned++;
        prevFree = false;
      } else {
        if (prevFree) return `${where}: two free blocks touch`;
        if (r[p + META] >>> PIN_SHIFT !== 0) return `${where}: a free block holds pins`;
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
    if (pinned !== this.pinned) return `${pinned} pinned blocks, counter says ${this.pinned}`;
    if (free !== this.index.count)
      return `${free} free blocks in the list, ${this.index.count} in the free index`;
    if (this.sizes !== null && free !== this.sizes.count)
      return `${free} free blocks in the list, ${this.sizes.count} in the size index`;
    if (blocks !== records.inUse) return `${blocks} blocks, ${records.inUse} records in use`;
    if (records.inUse + records.countUnused() + 1 !== records.used)
      return 'record accounting is broken';
    const indexError = this.index.check() ?? this.sizes?.check();
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

  /**
   * Puts record `p` (not in the list) at the start of free block `t`, occupying `occupied`
   * bytes; what remains of `t` stays free after it.
   */
  private place(p: number, t: number, occupied: number): void {
    const r = this.records.r;
    const off = r[t + OFF];
    const prev = r[t + PREV];
    r[p + OFF] = off;
    r[p + SIZE] = occupied;
    r[p + PREV] = prev;
    if (prev === NIL) this.head = p;
    else r[prev + NEXT] = p;
    if (r[t + SIZE] === occupied) {
      const next = r[t + NEXT];
      r[p + NEXT] = next;
      if (next !== NIL) r[next + PREV] = p;
      this.dropFree(t);
      this.records.give(t);
    } else {
      r[p + NEXT] = t;
      r[t + PREV] = p;
      this.moveFree(t, off + occupied, r[t + SIZE] - occupied);
    }
  }

  /**
   * Turns the space of record `p` into free space merged with its free neighbours, and takes
   * `p` out of the list. Returns the free record covering the space: `p` itself when
   * `reuse` and no neighbour is free, else a neighbour or a new record.
   */
  private vacate(p: number, reuse: boolean): number {
    const records = this.records;
    let r = records.r;
    const off = r[p + OFF];
    const size = r[p + SIZE];
    const prev = r[p + PREV];
    const next = r[p + NEXT];
    const prevFree = prev !== NIL && !isLive(r, prev);
    const nextFree = next !== NIL && !isLive(r, next);
    if (prevFree && nextFree) {
      this.dropFree(next);
      this.unlink(p);
      this.unlink(next);
      this.moveFree(prev, r[prev + OFF], r[prev + SIZE] + size + r[next + SIZE]);
      records.give(next);
      return prev;
    }
    if (prevFree) {
      this.unlink(p);
      this.moveFree(prev, r[prev + OFF], r[prev + SIZE] + size);
      return prev;
    }
    if (nextFree) {
      this.unlink(p);
      this.moveFree(next, off, r[next + SIZE] + size);
      return next;
    }
    if (reuse) {
      r[p + META] &= GEN_MASK; // no longer live, no pins: its handle is stale from now on
      r[p + REQ] = 0;
      this.addFree(p);
      return p;
    }
    const f = records.take();
    r = records.r;
    r[f + OFF] = off;
    r[f + SIZE] = size;
    r[f + PREV] = prev;
    r[f + NEXT] = next;
    if (prev === NIL) this.head = f;
    else r[prev + NEXT] = f;
    if (next !== NIL) r[next + PREV] = f;
    this.addFree(f);
    return f;
  }
}
