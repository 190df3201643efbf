// The blocks of the heap in address order. Every live block has a record, and the records form
// a doubly linked list in address order, the sentinel (a block of 0 bytes at offset 0) first.
// The free space after a block, its gap, is where the next block starts minus where this one
// ends: no record of its own, so free space is never split between two records (no two free
// blocks touch) and costs no record. A first-fit heap keeps every non-empty gap in the gap
// index (by address); a best-fit heap keeps them in the size index (by size, then address),
// and builds the gap index only while a compaction needs gaps by address (`address()`), so
// neither strategy pays for the other's index on its allocations and frees.
//
// Both indexes are B+trees whose nodes come from one pool in the state (node-pool.ts).
//
// This class is the only writer of records, the indexes and the header's counters: the
// compactor and the scrambler decide moves and copy bytes through its operations. The size
// index keys a gap by its start, so it is told of every change to a gap with the size and start
// it had (its host's record may already say otherwise).
import {
  FLAG_BEST_FIT,
  FLAG_OFFSETS_ONLY,
  FLAG_ZERO_FILL,
  H_ALIGN,
  H_CAPACITY,
  H_FLAGS,
  H_GAPS,
  H_GAP_HEIGHT,
  H_GAP_ROOT,
  H_HEAP_TAG,
  H_LARGEST,
  H_LIVE,
  H_MAGIC,
  H_MAX_BLOCKS,
  H_NODES_USED,
  H_OVER_ALIGNED,
  H_PEAK,
  H_PINNED,
  H_RECORDS_USED,
  H_RECORD_CAPACITY,
  H_RESERVED,
  H_RESERVED_END,
  H_SLICE_BYTES,
  H_SIZE_HEIGHT,
  H_SIZE_ROOT,
  H_UNUSED_HEAD,
  H_UNUSED_TAIL,
  H_USED,
  H_VERSION,
  KNOWN_FLAGS,
  MAGIC,
  VERSION,
} from '../memory/format.js';
import { HeapState, bytesFor } from '../memory/heap-state.js';
import { GapIndex } from './gap-index.js';
import { checkAccounting, checkPool, resetNodes } from './node-pool.js';
import {
  ALIGN_FIELD,
  ALIGN_SHIFT,
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
  SENTINEL,
  STRIDE,
  alignShiftOf,
  endOf,
  pinsOf,
} from './records.js';
import { SizeIndex } from './size-index.js';

/** Which free block an allocation takes: the lowest-address one that fits, or the smallest. */
export type PlacementStrategy = 'first-fit' | 'best-fit';

/**
 * The most live blocks a layout holds: with the sentinel, the nil record and one record taken
 * while a block is detached, the record ids stay below MAX_RECORDS.
 */
export const MAX_LIVE_BLOCKS = MAX_RECORDS - 4;

/** Largest state buffer a shared heap reserves (bytes): its maxByteLength. */
export const MAX_SHARED_STATE = 2 ** 30;

export class BlockLayout {
  readonly state: HeapState;
  readonly records: BlockRecords;
  /** The gaps by address. */
  readonly gapIndex: GapIndex;
  /** The gaps by size (best fit), or null for first-fit heaps. */
  readonly sizes: SizeIndex | null;
  /** Bytes managed. */
  readonly capacity: number;
  /** Alignment minus one. */
  readonly mask: number;
  /** True when the state is in shared memory that other threads may change between operations. */
  readonly shared: boolean;
  /**
   * Unpins that left a block movable, counted by this object (between the slices of a
   * compaction only its own manager may change pins): a packing compaction starts again at
   * the lowest gap after one.
   */
  unpins = 0;

  /** A layout over `state`, fresh from `create` or restored. */
  constructor(state: HeapState) {
    this.state = state;
    this.records = new BlockRecords(state);
    this.gapIndex = new GapIndex(state);
    this.sizes = (state.h[H_FLAGS] & FLAG_BEST_FIT) !== 0 ? new SizeIndex(state) : null;
    this.capacity = state.h[H_CAPACITY];
    this.mask = state.h[H_ALIGN] - 1;
    this.shared = state.shared;
  }

  /** A new, empty heap's state: the header's settings, and the sentinel in front of one gap of everything. */
  static create(
    capacity: number,
    align: number,
    flags: number,
    sliceBytes: number,
    maxBlocks: number,
    shared = false,
  ): BlockLayout {
    const bestFit = (flags & FLAG_BEST_FIT) !== 0;
    let state: HeapState;
    if (shared) {
      // A shared state grows in place up to a size fixed now: room for every block the heap
      // can hold (no more than capacity / align, nor maxBlocks) and their index nodes, within
      // MAX_SHARED_STATE; maxBlocks comes down to what that room holds. A tree's leaves hold at
      // least a quarter of LEAF_SLOTS (12 gaps) but at the root, so a tenth of the gaps (one
      // more than the blocks) in nodes covers one tree, leaves and inner nodes; best fit keeps
      // two trees of every gap while it compacts.
      const most = Math.min(maxBlocks, Math.floor(capacity / align));
      const trees = bestFit ? 2 : 1;
      const fits = (blocks: number): number =>
        bytesFor({ records: blocks + 4, nodes: trees * (Math.ceil((blocks + 4) / 10) + 64) });
      let blocks = most;
      if (fits(blocks) > MAX_SHARED_STATE) {
        blocks = Math.floor((most * MAX_SHARED_STATE) / fits(most)) - 64;
      }
      maxBlocks = Math.max(1, blocks);
      state = HeapState.createShared(64, fits(maxBlocks));
    } else {
      state = HeapState.create(64);
    }
    const h = state.h;
    h[H_MAGIC] = MAGIC;
    h[H_VERSION] = VERSION;
    h[H_CAPACITY] = capacity;
    h[H_ALIGN] = align;
    h[H_FLAGS] = flags;
    h[H_SLICE_BYTES] = sliceBytes;
    h[H_MAX_BLOCKS] = maxBlocks;
    h[H_RECORDS_USED] = 1; // the nil record
    if (shared) h[H_HEAP_TAG] = Math.floor(Math.random() * 0x7fffffff) + 1;
    const layout = new BlockLayout(state);
    const s = layout.records.take();
    if (s !== SENTINEL) throw new Error('internal: the sentinel is not record 1');
    resetNodes(state);
    if (layout.sizes === null) {
      layout.gapIndex.reset();
      layout.gapIndex.insert(SENTINEL, 0, capacity);
    } else {
      // No gap index until a compaction asks for one.
      layout.sizes.reset();
      layout.sizes.insert(SENTINEL, capacity);
    }
    h[H_GAPS] = 1;
    return layout;
  }

  /** A deep copy, for trying a compaction without touching this layout. O(records). */
  clone(): BlockLayout {
    return new BlockLayout(this.state.clone());
  }

  /** Bytes occupied by live blocks. */
  get used(): number {
    return this.state.h[H_USED];
  }

  get live(): number {
    return this.state.h[H_LIVE];
  }

  get pinned(): number {
    return this.state.h[H_PINNED];
  }

  /** Live blocks whose own alignment is above the heap's. */
  get overAligned(): number {
    return this.state.h[H_OVER_ALIGNED];
  }

  /** The alignment of block `p`: its own, or the heap's. */
  alignOf(p: number): number {
    const shift = alignShiftOf(this.state.r, p);
    return shift === 0 ? this.mask + 1 : 2 ** shift;
  }

  /** Gaps, i.e. free blocks. */
  get gaps(): number {
    return this.state.h[H_GAPS];
  }

  /** The largest gap. O(1) for first fit, O(log F) for best fit. */
  get largest(): number {
    return this.sizes === null ? this.gapIndex.largest : this.sizes.largest();
  }

  /** True when the gap index is kept: always in a first-fit heap, in a best-fit one between `address()` and `unaddress()`. */
  get addressed(): boolean {
    return this.state.h[H_GAP_ROOT] !== NIL;
  }

  /**
   * Makes the gap index (builds it from the blocks when absent, O(B)): compaction asks for
   * gaps by address. A best-fit heap keeps it up to date from then on, until `unaddress()`.
   */
  address(): void {
    if (!this.addressed) this.rebuildIndexes(true, false);
  }

  /**
   * The block in front of the lowest gap, or NIL: from the gap index when there is one (O(log
   * F)), else by walking the blocks below it (O(B)), which a whole compaction, O(B) itself, may
   * do rather than build an index it would not use.
   */
  lowestGap(): number {
    if (this.addressed) return this.gapIndex.firstFit(1);
    const r = this.state.r;
    for (let p = SENTINEL; p !== NIL; p = r[p + NEXT]) if (this.gapAfter(p) > 0) return p;
    return NIL;
  }

  /** Best-fit heaps: drops the gap index, its nodes back to the pool. O(nodes). */
  unaddress(): void {
    if (this.sizes === null || !this.addressed) return;
    this.gapIndex.drop();
  }

  /**
   * Starts an operation: follows growth another thread made to a shared state. The per-thread
   * state (the index cursor) is set by each search anyway. O(1).
   */
  begin(): void {
    if (this.shared) this.state.follow();
  }

  /** Bytes record `p` occupies: its requested size rounded up to the alignment. */
  occupied(p: number): number {
    const req = this.state.r[p + REQ];
    return req + (-req & this.mask);
  }

  /** Bytes a block of `size` bytes occupies: rounded up to the alignment. */
  roundUp(size: number): number {
    return size + (-size & this.mask);
  }

  /** The block after `p` in address order, or NIL. O(1). */
  next(p: number): number {
    return this.state.r[p + NEXT];
  }

  /** The block before `p` in address order (NIL for the sentinel). O(1). */
  prev(p: number): number {
    return this.state.r[p + PREV];
  }

  /** Free bytes after block `p`, up to the next block or the end of the heap. O(1). */
  gapAfter(p: number): number {
    const r = this.state.r;
    const n = r[p + NEXT];
    return (n === NIL ? this.capacity : r[n + OFF]) - endOf(r, p, this.mask);
  }

  /**
   * The block in front of the lowest-address gap of at least `n` bytes, or NIL. O(log F) (a
   * best-fit heap builds its gap index first: see `address`).
   */
  firstFit(n: number): number {
    this.address();
    return this.gapIndex.firstFit(n);
  }

  /**
   * The block in front of the lowest-address gap that holds `n` bytes at a multiple of `align`,
   * or NIL. O(log F) at the heap's alignment; see GapIndex.firstFitAligned above it.
   */
  firstFitAligned(n: number, align: number): number {
    this.address();
    return align <= this.mask + 1
      ? this.gapIndex.firstFit(n)
      : this.gapIndex.firstFitAligned(n, align);
  }

  /**
   * The host of the gap an allocation of `occupied` bytes at a multiple of `align` takes under
   * the strategy, or NIL. O(log F) at the heap's alignment.
   */
  fit(occupied: number, align = 1): number {
    if (align <= this.mask + 1) {
      return this.sizes === null ? this.gapIndex.firstFit(occupied) : this.sizes.bestFit(occupied);
    }
    if (this.sizes === null) return this.gapIndex.firstFitAligned(occupied, align);
    const r = this.state.r;
    return this.sizes.bestFitWhere(
      occupied,
      (host, size) => (-this.endOf(r, host) & (align - 1)) + occupied <= size,
    );
  }

  /**
   * True when detached-to-be block `p` would fit, `occupied` bytes at its alignment, in the
   * space around it: the gaps on both sides and its own. O(1).
   */
  fitsAround(p: number, occupied: number): boolean {
    const r = this.state.r;
    const pred = r[p + PREV];
    const start = this.endOf(r, pred);
    const end = r[p + OFF] + this.occupied(p) + this.gapAfter(p);
    return (-start & (this.alignOf(p) - 1)) + occupied <= end - start;
  }

  /**
   * Makes a live block for `requested` bytes (occupying `occupied`) where the strategy says and
   * returns its record, or NIL when no gap fits. The record's generation advances: a new handle.
   * O(log F).
   */
  allocate(occupied: number, requested: number, align = 1): number {
    const host = this.fit(occupied, align);
    if (host === NIL) return NIL;
    if (this.sizes !== null && this.addressed) {
      this.gapIndex.locate(host, this.endOf(this.state.r, host));
    }
    const p = this.records.take();
    const r = this.state.r;
    const gen = (r[p + META] & GEN_MASK) + 1;
    const shift = align > this.mask + 1 ? 31 - Math.clz32(align) : 0;
    r[p + META] = (gen > GEN_MASK ? 1 : gen) | LIVE_BIT | (shift << ALIGN_SHIFT);
    r[p + REQ] = requested;
    if (shift !== 0) this.state.h[H_OVER_ALIGNED]++;
    this.place(p, host, occupied);
    this.state.h[H_LIVE]++;
    return p;
  }

  /** Frees live, unpinned block `p`: its space joins the gaps around it. O(log F). */
  release(p: number): void {
    this.detach(p);
    const h = this.state.h;
    h[H_LIVE]--;
    if ((this.state.r[p + META] & ALIGN_FIELD) !== 0) h[H_OVER_ALIGNED]--;
    this.records.give(p);
  }

  /**
   * Takes live block `p` out of address order; its space joins the gaps around it. `p` keeps
   * its handle, size and pins; `attach` puts it back. O(log F).
   */
  detach(p: number): void {
    const r = this.state.r;
    const sizes = this.sizes;
    const pred = r[p + PREV];
    const next = r[p + NEXT];
    const off = r[p + OFF];
    const occupied = this.occupied(p);
    const predEnd = this.endOf(r, pred);
    const before = off - predEnd;
    const end = off + occupied;
    const after = (next === NIL ? this.capacity : r[next + OFF]) - end;
    if (this.addressed) this.detachGap(p, pred, predEnd, before, occupied, after);
    if (sizes !== null) {
      // Each key's address part is its host's, unchanged until the records change below.
      if (before > 0) sizes.remove(pred, before, predEnd);
      if (after > 0) sizes.remove(p, after, end);
      sizes.insert(pred, before + occupied + after);
    }
    if (before > 0 && after > 0) this.state.h[H_GAPS]--;
    else if (before === 0 && after === 0) this.state.h[H_GAPS]++;
    const r2 = this.state.r; // an insertion into an index may have replaced the buffer
    r2[pred + NEXT] = next;
    if (next !== NIL) r2[next + PREV] = pred;
    r2[p + PREV] = r2[p + NEXT] = NIL;
    this.addUsed(-occupied);
  }

  /** Puts detached live block `p` at the first multiple of its alignment in the gap after `host`. O(log F). */
  attach(p: number, host: number): void {
    if (this.addressed) this.gapIndex.locate(host, this.endOf(this.state.r, host));
    this.place(p, host, this.occupied(p));
  }

  /**
   * Changes the requested size of live block `p` where it is, taking from or giving to the gap
   * after it. Returns false, changing nothing, when that gap is too small. O(log F).
   */
  resizeInPlace(p: number, requested: number): boolean {
    const r = this.state.r;
    const before = this.occupied(p);
    const after = requested + (-requested & this.mask);
    const gap = this.gapAfter(p);
    if (after - before > gap) return false;
    const sizes = this.sizes;
    if (sizes !== null && gap > 0 && after !== before) sizes.remove(p, gap, r[p + OFF] + before);
    // The new size first: an insertion that splits or shares a leaf reads the gap's start
    // (its key) from this record. (Finding the old gap goes by the key given, not the record.)
    r[p + REQ] = requested;
    if (after !== before) {
      const end = r[p + OFF] + before;
      const rest = gap - (after - before);
      if (this.addressed) {
        const index = this.gapIndex;
        if (gap > 0) {
          index.locate(p, end);
          if (rest === 0) index.remove();
          else index.set(p, end + after - before, rest);
        } else {
          index.insert(p, end + after - before, rest);
        }
      }
      if (gap > 0 && rest === 0) this.state.h[H_GAPS]--;
      else if (gap === 0) this.state.h[H_GAPS]++;
      if (rest !== 0) sizes?.insert(p, rest);
      this.addUsed(after - before);
    }
    return true;
  }

  /** Sets the requested size of detached block `p` (for `attach`). */
  setRequested(p: number, requested: number): void {
    this.state.r[p + REQ] = requested;
  }

  /** Adds a pin to live block `p`. Returns false when it already holds the most pins. O(1). */
  pin(p: number): boolean {
    const r = this.state.r;
    const pins = pinsOf(r, p);
    if (pins === MAX_PINS) return false;
    if (pins === 0) this.state.h[H_PINNED]++;
    r[p + META] += PIN_ONE;
    return true;
  }

  /** Removes a pin from live block `p`. Returns false when it holds none. O(1). */
  unpin(p: number): boolean {
    const r = this.state.r;
    const pins = pinsOf(r, p);
    if (pins === 0) return false;
    if (pins === 1) {
      this.state.h[H_PINNED]--;
      this.unpins++;
    }
    r[p + META] -= PIN_ONE;
    return true;
  }

  /**
   * Slides the `count` blocks of `run` (address order, right after `host`, none followed by a
   * gap but the last) down over the gap after `host`, which then follows the last one. The
   * caller moves the bytes. O(count + log F); O(count) with `reindex` false, when the caller
   * runs `reindex()` once after many runs (the indexes are stale until then). Only for blocks
   * at the heap's alignment.
   */
  slideRun(host: number, run: Uint32Array, count: number, reindex: boolean): void {
    const r = this.state.r;
    const index = this.gapIndex;
    const last = run[count - 1];
    const delta = this.gapAfter(host);
    const lastGap = this.gapAfter(last);
    const lastEnd = this.endOf(r, last);
    const addressed = this.addressed;
    if (reindex) {
      if (addressed) {
        index.locate(host, this.endOf(r, host));
        index.remove();
        if (lastGap > 0) {
          index.locate(last, lastEnd);
          index.set(last, lastEnd - delta, lastGap + delta);
        }
      }
      this.sizes?.remove(host, delta, this.endOf(r, host));
      if (lastGap > 0) this.sizes?.remove(last, lastGap, lastEnd); // before the offsets change
    }
    for (let i = 0; i < count; i++) r[run[i] + OFF] -= delta;
    if (reindex) {
      if (addressed && lastGap === 0) index.insert(last, lastEnd - delta, delta);
      this.sizes?.insert(last, lastGap + delta);
      if (lastGap > 0) this.state.h[H_GAPS]--;
    }
  }

  /**
   * Rebuilds the gap counter and the indexes from the blocks, after slides made without them
   * (the gap index only when kept). O(B).
   */
  reindex(): void {
    this.rebuildIndexes(this.addressed, true);
  }

  /**
   * Moves every live block to the offset `placements` gives it (record, offset, record,
   * offset, ...: every live block once, in any order, none overlapping) and rebuilds the
   * address order and the indexes. The caller moves the bytes. O(B log B).
   */
  rebuild(placements: number[]): void {
    const r = this.state.r;
    const order: number[] = [];
    for (let i = 0; i < placements.length; i += 2) {
      r[placements[i] + OFF] = placements[i + 1];
      order.push(placements[i]);
    }
    order.sort((a, b) => r[a + OFF] - r[b + OFF]);
    let prev = SENTINEL;
    for (const p of order) {
      r[prev + NEXT] = p;
      r[p + PREV] = prev;
      prev = p;
    }
    r[prev + NEXT] = NIL;
    this.reindex();
  }

  /**
   * Visits every block in address order, the sentinel first. O(B). The blocks must not change
   * during the visit.
   */
  forEach(visit: (p: number) => void): void {
    const r = this.state.r;
    let left = this.records.used;
    for (let p = SENTINEL; p !== NIL && left-- > 0; p = r[p + NEXT]) visit(p);
  }

  /**
   * Checks every invariant of the state, reading nothing outside it and never looping, so it
   * can vet a restored snapshot: the header, the blocks tiling [0, capacity) in address order
   * with both links, alignment, counters, the unused records, the gap index holding exactly
   * the gaps in order with exact summaries, and the size index holding exactly the gaps by
   * size. O(records + nodes). Returns a description of the first broken invariant, or undefined.
   */
  check(): string | undefined {
    const h = this.state.h;
    const r = this.state.r;
    const align = h[H_ALIGN];
    const capacity = h[H_CAPACITY];
    const used = h[H_RECORDS_USED];
    if (h[H_MAGIC] !== MAGIC) return 'wrong magic number';
    if (h[H_VERSION] !== VERSION) return `unknown format version ${h[H_VERSION]}`;
    if (align === 0 || (align & (align - 1)) !== 0 || align > 2 ** 30)
      return `alignment ${align} is not a power of two up to 2^30`;
    if (capacity === 0 || capacity % align !== 0)
      return `capacity ${capacity} is not a positive multiple of ${align}`;
    if ((h[H_FLAGS] & ~KNOWN_FLAGS) !== 0) return `unknown flags ${h[H_FLAGS]}`;
    for (let i = H_RESERVED; i < H_RESERVED_END; i++) {
      if (h[i] !== 0) return `reserved header word ${i} is not zero`;
    }
    if (
      (h[H_FLAGS] & (FLAG_OFFSETS_ONLY | FLAG_ZERO_FILL)) ===
      (FLAG_OFFSETS_ONLY | FLAG_ZERO_FILL)
    )
      return 'an offsets-only heap has no bytes to zero-fill';
    if (h[H_MAX_BLOCKS] === 0 || h[H_MAX_BLOCKS] > MAX_LIVE_BLOCKS)
      return `maxBlocks ${h[H_MAX_BLOCKS]} out of range`;
    if (used < 2 || used > h[H_RECORD_CAPACITY] || used > MAX_RECORDS)
      return `${used} records used of ${h[H_RECORD_CAPACITY]}`;
    for (let i = 0; i < STRIDE; i++) if (r[i] !== 0) return 'the nil record is not all zeros';
    const valid = (p: number): boolean => p !== NIL && p % STRIDE === 0 && p < used * STRIDE;

    // The blocks in address order, each visited once: no cycle can loop.
    const seen = new Uint8Array(used);
    /** The size of the gap after each block, by record id (for the indexes' checks). */
    const gapOf = new Float64Array(used);
    const gapHosts: number[] = [];
    let blocks = 0;
    let live = 0;
    let occupiedBytes = 0;
    let pinned = 0;
    let overAligned = 0;
    let end = 0;
    let prev = NIL;
    for (let t = SENTINEL; t !== NIL; t = r[t + NEXT]) {
      if (!valid(t)) return `block link ${t} is not a record`;
      if (seen[t / STRIDE] !== 0) return 'the block list has a cycle';
      seen[t / STRIDE] = 1;
      blocks++;
      const off = r[t + OFF];
      const where = `block at offset ${off}`;
      if (r[t + PREV] !== prev) return `${where}: its back link is wrong`;
      if (t === SENTINEL) {
        if (off !== 0 || r[t + REQ] !== 0 || r[t + META] !== 0)
          return 'the sentinel is not an empty block at offset 0';
      } else {
        const meta = r[t + META];
        const req = r[t + REQ];
        if ((meta & LIVE_BIT) === 0 || (meta & GEN_MASK) === 0)
          return `${where}: not a live record with a generation`;
        if (req === 0 || req > capacity) return `${where}: requested size ${req} out of range`;
        const shift = (meta & ALIGN_FIELD) >>> ALIGN_SHIFT;
        if (shift !== 0 && (shift > 30 || 2 ** shift <= align))
          return `${where}: alignment field ${shift} out of range`;
        if (shift !== 0) overAligned++;
        const own = shift === 0 ? align : 2 ** shift;
        if (off % own !== 0) return `${where}: offset is not a multiple of ${own}`;
        if (off < end) return `${where}: overlaps the block before it`;
        const gap = off - end;
        gapOf[prev / STRIDE] = gap;
        if (gap !== 0) gapHosts.push(prev);
        live++;
        occupiedBytes += this.occupied(t);
        if (meta >>> PIN_SHIFT !== 0) pinned++;
      }
      end = off + this.occupied(t);
      if (end > capacity) return `${where}: runs past the capacity ${capacity}`;
      prev = t;
    }
    if (end < capacity) {
      gapOf[prev / STRIDE] = capacity - end;
      gapHosts.push(prev);
    }
    if (occupiedBytes !== h[H_USED])
      return `live blocks occupy ${occupiedBytes} bytes, counter says ${h[H_USED]}`;
    if (live !== h[H_LIVE]) return `${live} live blocks, counter says ${h[H_LIVE]}`;
    if (live > h[H_MAX_BLOCKS]) return `${live} live blocks, more than maxBlocks`;
    if (pinned !== h[H_PINNED]) return `${pinned} pinned blocks, counter says ${h[H_PINNED]}`;
    if (overAligned !== h[H_OVER_ALIGNED])
      return `${overAligned} over-aligned blocks, counter says ${h[H_OVER_ALIGNED]}`;
    if (gapHosts.length !== h[H_GAPS]) return `${gapHosts.length} gaps, counter says ${h[H_GAPS]}`;
    if (h[H_PEAK] < h[H_USED] || h[H_PEAK] > capacity) return 'peak is out of range';

    // Unused records: a FIFO queue of records that are neither live nor in the list.
    let unused = 0;
    let tail = NIL;
    for (let q = h[H_UNUSED_HEAD]; q !== NIL; q = r[q + NEXT]) {
      if (!valid(q) || seen[q / STRIDE] !== 0) return 'unused record queue is broken';
      seen[q / STRIDE] = 2;
      if ((r[q + META] & ~GEN_MASK) !== 0) return 'an unused record is live or pinned';
      if ((r[q + OFF] | r[q + REQ] | r[q + PREV]) !== 0) return 'an unused record holds data';
      unused++;
      tail = q;
    }
    if (tail !== h[H_UNUSED_TAIL]) return 'unused record queue tail is wrong';
    if (blocks + unused + 1 !== used) return 'record accounting is broken';

    // The gap index: exactly the gaps, in address order. A best-fit heap may have none.
    const poolProblem = checkPool(this.state);
    if (poolProblem !== undefined) return poolProblem;
    /** The nodes the trees hold, by id: each may be visited once, by one tree. */
    const seenNodes = new Uint8Array(h[H_NODES_USED]);
    const isBlock = (p: number): boolean => valid(p) && seen[p / STRIDE] === 1;
    if (this.addressed) {
      let k = 0;
      const problem = this.gapIndex.check(seenNodes, isBlock, (p, size) => {
        if (k >= gapHosts.length || gapHosts[k] !== p)
          return `gap index entry ${k} is not the gap after block ${gapHosts[k] ?? 'none'}`;
        if (gapOf[p / STRIDE] !== size)
          return `gap index entry ${k} holds ${size} bytes, the gap ${gapOf[p / STRIDE]}`;
        k++;
        return undefined;
      });
      if (problem !== undefined) return problem;
      if (k !== gapHosts.length) return `${gapHosts.length} gaps, ${k} in the gap index`;
    } else if (this.sizes === null) {
      return 'a first-fit heap has no gap index';
    } else if (h[H_GAP_HEIGHT] !== 0 || h[H_LARGEST] !== 0) {
      return 'gap index height or largest gap set without a gap index';
    }

    // The size index: exactly the gaps, by size then address, with their sizes.
    if (this.sizes !== null) {
      let hosts = 0;
      const sizesProblem = this.sizes.check(seenNodes, isBlock, (p, size) => {
        const gap = gapOf[p / STRIDE];
        if (gap === 0) return `size index entry ${hosts} is not a gap`;
        if (gap !== size) return `size index entry ${hosts} holds ${size} bytes, the gap ${gap}`;
        hosts++;
        return undefined;
      });
      if (sizesProblem !== undefined) return sizesProblem;
      if (hosts !== gapHosts.length) return `${gapHosts.length} gaps, ${hosts} in the size index`;
    } else if (h[H_SIZE_ROOT] !== NIL || h[H_SIZE_HEIGHT] !== 0) {
      return 'a first-fit heap has a size index';
    }
    // Every node is in one tree or unused, once.
    return checkAccounting(this.state, seenNodes);
  }

  /**
   * Puts record `p` (REQ set, not in the list) at the start of the gap after `host`, occupying
   * `occupied` bytes. The gap index's cursor must be on that gap.
   */
  private place(p: number, host: number, occupied: number): void {
    const r = this.state.r;
    const index = this.gapIndex;
    const addressed = this.addressed;
    const key = this.endOf(r, host);
    const gap = addressed ? index.size : this.gapAfter(host);
    // Padding (over-aligned blocks only: every key is a multiple of the heap's alignment) stays
    // the host's gap.
    const pad = (r[p + META] & ALIGN_FIELD) === 0 ? 0 : -key & (this.alignOf(p) - 1);
    const start = key + pad;
    const rest = gap - pad - occupied;
    const sizes = this.sizes;
    sizes?.remove(host, gap, key);
    r[p + OFF] = start;
    const next = r[host + NEXT];
    r[p + PREV] = host;
    r[p + NEXT] = next;
    r[host + NEXT] = p;
    if (next !== NIL) r[next + PREV] = p;
    if (addressed) {
      if (pad !== 0) {
        index.set(host, key, pad);
        if (rest !== 0) index.insert(p, start + occupied, rest); // may replace the buffer
      } else if (rest === 0) {
        index.remove();
      } else {
        index.set(p, start + occupied, rest);
      }
    }
    if (sizes !== null) {
      if (pad !== 0) sizes.insert(host, pad);
      if (rest !== 0) sizes.insert(p, rest);
    }
    if (pad !== 0 && rest !== 0) this.state.h[H_GAPS]++;
    else if (pad === 0 && rest === 0) this.state.h[H_GAPS]--;
    this.addUsed(occupied);
  }

  /**
   * Builds the gap index (when `gaps`) and the size index (when `sizes`, in a best-fit heap)
   * from the blocks. O(B), O(B log B) for the size index (it sorts).
   */
  private rebuildIndexes(gaps: boolean, sizes: boolean): void {
    const r = this.state.r;
    const hosts = new Uint32Array(this.live + 1);
    const lengths = new Uint32Array(this.live + 1);
    let count = 0;
    for (let p = SENTINEL; p !== NIL; p = r[p + NEXT]) {
      const gap = this.gapAfter(p);
      if (gap === 0) continue;
      hosts[count] = p;
      lengths[count++] = gap;
    }
    // Rebuilding the size index rebuilds all from fresh nodes; the gap index alone is added
    // to the size index's nodes.
    if (sizes) resetNodes(this.state);
    if (gaps) this.gapIndex.build(hosts, lengths, count);
    if (sizes) this.sizes?.build(hosts, lengths, count);
    this.state.h[H_GAPS] = count;
  }

  /** Where the gap of host `p` starts: its end. */
  private endOf(r: Uint32Array, p: number): number {
    return endOf(r, p, this.mask);
  }

  /** `detach`'s part in the gap index: the gaps around `p` and its space join. */
  private detachGap(
    p: number,
    pred: number,
    predEnd: number,
    before: number,
    occupied: number,
    after: number,
  ): void {
    const index = this.gapIndex;
    if (after > 0) {
      const end = predEnd + before + occupied;
      index.locate(p, end);
      if (before > 0) {
        // Both gaps join: in one leaf when they share one (the usual case), else remove and grow.
        if (!index.joinPrevious(pred, before + occupied + after)) {
          index.remove();
          index.locate(pred, predEnd);
          index.set(pred, predEnd, before + occupied + after);
        }
      } else {
        index.set(pred, predEnd, occupied + after);
      }
    } else if (before > 0) {
      index.locate(pred, predEnd);
      index.set(pred, predEnd, before + occupied);
    } else {
      index.insert(pred, predEnd, occupied);
    }
  }

  /** Changes the occupied-bytes counter, noting a new peak. */
  private addUsed(bytes: number): void {
    const h = this.state.h;
    const used = (h[H_USED] += bytes);
    if (used > h[H_PEAK]) h[H_PEAK] = used;
  }
}
