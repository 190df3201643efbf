// The blocks of the heap in address order. Every live block has a record in the address tree,
// and each record hosts the gap that follows its block; the sentinel (a block of 0 bytes at
// offset 0) hosts the gap in front of the first block. So the blocks tile [0, capacity), free
// space is never split between two records (no two free blocks touch), and free space costs no
// metadata. This class is the only writer of records, gaps, the trees and the header's counters:
// the compactor and the scrambler decide moves and copy bytes through its operations.
import {
  FLAG_BEST_FIT,
  H_ALIGN,
  H_CAPACITY,
  H_FLAGS,
  H_GAPS,
  H_LIVE,
  H_MAGIC,
  H_MAX_BLOCKS,
  H_PEAK,
  H_PINNED,
  H_RECORDS_USED,
  H_RECORD_CAPACITY,
  H_ROOT,
  H_SLICE_BYTES,
  H_SIZE_ROOT,
  H_UNUSED_HEAD,
  H_UNUSED_TAIL,
  H_USED,
  H_VERSION,
  KNOWN_FLAGS,
  MAGIC,
  VERSION,
} from '../memory/format.js';
import { HeapState } from '../memory/heap-state.js';
import { AddressTree } from './address-tree.js';
import { priority } from './priority.js';
import {
  BlockRecords,
  GAP,
  GEN_MASK,
  LEFT,
  LIVE_BIT,
  MAX,
  MAX_PINS,
  MAX_RECORDS,
  META,
  NIL,
  OFF,
  PIN_ONE,
  PIN_SHIFT,
  REQ,
  RIGHT,
  SENTINEL,
  STRIDE,
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

export class BlockLayout {
  readonly state: HeapState;
  readonly records: BlockRecords;
  readonly tree: AddressTree;
  /** The gaps by size (best fit), or null for first-fit heaps. */
  readonly sizes: SizeIndex | null;
  /** Bytes managed. */
  readonly capacity: number;
  /** Alignment minus one. */
  readonly mask: number;

  /** A layout over `state`, fresh from `create` or restored. */
  constructor(state: HeapState) {
    this.state = state;
    this.records = new BlockRecords(state);
    this.tree = new AddressTree(state);
    this.sizes = state.links !== null ? new SizeIndex(state) : null;
    this.capacity = state.h[H_CAPACITY];
    this.mask = state.h[H_ALIGN] - 1;
  }

  /** A new, empty heap's state: the header's settings, and the sentinel hosting one gap of everything. */
  static create(
    capacity: number,
    align: number,
    flags: number,
    sliceBytes: number,
    maxBlocks: number,
  ): BlockLayout {
    const bestFit = (flags & FLAG_BEST_FIT) !== 0;
    const state = HeapState.create(64, bestFit);
    const h = state.h;
    h[H_MAGIC] = MAGIC;
    h[H_VERSION] = VERSION;
    h[H_CAPACITY] = capacity;
    h[H_ALIGN] = align;
    h[H_FLAGS] = flags;
    h[H_SLICE_BYTES] = sliceBytes;
    h[H_MAX_BLOCKS] = maxBlocks;
    h[H_RECORDS_USED] = 1; // the nil record
    const layout = new BlockLayout(state);
    const s = layout.records.take();
    if (s !== SENTINEL) throw new Error('internal: the sentinel is not record 1');
    h[H_ROOT] = SENTINEL;
    layout.setGap(SENTINEL, capacity);
    state.r[SENTINEL + MAX] = capacity;
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

  /** Gaps, i.e. free blocks. */
  get gaps(): number {
    return this.state.h[H_GAPS];
  }

  /** The largest gap. O(1). */
  get largest(): number {
    return this.tree.largest;
  }

  /** Starts an operation: drops per-thread caches, which another thread may have made stale. */
  begin(): void {
    this.tree.forget();
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

  /** The host of the gap an allocation of `occupied` bytes takes under the strategy, or NIL. O(log B). */
  fit(occupied: number): number {
    return this.sizes === null ? this.tree.firstFit(occupied) : this.sizes.bestFit(occupied);
  }

  /**
   * Makes a live block for `requested` bytes (occupying `occupied`) where the strategy says and
   * returns its record, or NIL when no gap fits. The record's generation advances: a new handle.
   * O(log B).
   */
  allocate(occupied: number, requested: number): number {
    const host = this.fit(occupied);
    if (host === NIL) return NIL;
    const p = this.records.take();
    const r = this.state.r;
    const gen = (r[p + META] & GEN_MASK) + 1;
    r[p + META] = (gen > GEN_MASK ? 1 : gen) | LIVE_BIT;
    r[p + REQ] = requested;
    this.place(p, host, occupied);
    this.state.h[H_LIVE]++;
    return p;
  }

  /** Frees live, unpinned block `p`: its space joins the gap in front of it. O(log B). */
  release(p: number): void {
    this.detach(p);
    this.state.h[H_LIVE]--;
    this.records.give(p);
  }

  /**
   * Takes live block `p` out of address order; its space joins the gap in front of it. `p` keeps
   * its handle, size and pins; `attach` puts it back. O(log B).
   */
  detach(p: number): void {
    const r = this.state.r;
    const tree = this.tree;
    const occupied = this.occupied(p);
    // Grow the gap in front first, while p is still in the tree: one search serves both.
    const before = tree.predecessor(p);
    this.setGap(before, r[before + GAP] + occupied + r[p + GAP]);
    tree.predecessorGapChanged();
    this.setGap(p, 0);
    tree.remove(p);
    this.addUsed(-occupied);
  }

  /** Puts detached live block `p` at the start of the gap hosted by `host`. O(log B). */
  attach(p: number, host: number): void {
    this.place(p, host, this.occupied(p));
  }

  /**
   * Changes the requested size of live block `p` where it is, taking from or giving to the gap
   * after it. Returns false, changing nothing, when that gap is too small. O(log B).
   */
  resizeInPlace(p: number, requested: number): boolean {
    const r = this.state.r;
    const before = this.occupied(p);
    const after = requested + (-requested & this.mask);
    const gap = r[p + GAP];
    if (after - before > gap) return false;
    r[p + REQ] = requested;
    if (after !== before) {
      this.setGap(p, gap - (after - before));
      this.tree.gapChanged(p);
      this.addUsed(after - before);
    }
    return true;
  }

  /** Sets the requested size of detached block `p` (for `attach`). */
  setRequested(p: number, requested: number): void {
    this.state.r[p + REQ] = requested;
  }

  /** Bytes live block `p` could occupy where it is, with the gaps on both sides. O(log B). */
  neighbourhood(p: number): number {
    const r = this.state.r;
    return r[this.tree.predecessor(p) + GAP] + this.occupied(p) + r[p + GAP];
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
    if (pins === 1) this.state.h[H_PINNED]--;
    r[p + META] -= PIN_ONE;
    return true;
  }

  /**
   * Slides the `count` blocks of `run` (address order, right after `host`, none hosting a gap
   * but the last) down over the gap of `host`, which the last one then hosts. The caller moves
   * the bytes. O(count + log B); O(count) with `fixTree` false, when the caller runs
   * `fixTree()` once after many runs.
   */
  slideRun(host: number, run: Uint32Array, count: number, fixTree: boolean): void {
    const r = this.state.r;
    const last = run[count - 1];
    const delta = r[host + GAP];
    const lastGap = r[last + GAP];
    // Each change is followed by its path fix, so every fix starts from exact maxima.
    this.setGap(host, 0);
    if (fixTree) this.tree.gapChanged(host);
    this.setGap(last, 0); // out of the size index while its offset changes
    for (let i = 0; i < count; i++) r[run[i] + OFF] -= delta;
    // Offsets changed in place, order did not: the tree keeps its shape.
    this.setGap(last, lastGap + delta);
    if (fixTree) this.tree.gapChanged(last);
  }

  /** Recomputes the address tree's maxima everywhere, after slides made without fixing them. O(B). */
  fixTree(): void {
    this.tree.recomputeAll();
  }

  /**
   * Moves every live block to the offset `placements` gives it (record, offset, record,
   * offset, ...: every live block once, in any order, none overlapping) and rebuilds the gaps
   * and trees. The caller moves the bytes. O(B log B).
   */
  rebuild(placements: number[]): void {
    const r = this.state.r;
    const n = placements.length / 2;
    const order: number[] = [];
    for (let i = 0; i < placements.length; i += 2) {
      r[placements[i] + OFF] = placements[i + 1];
      order.push(placements[i]);
    }
    order.sort((a, b) => r[a + OFF] - r[b + OFF]);
    const ids = new Uint32Array(n + 1);
    ids[0] = SENTINEL;
    for (let i = 0; i < n; i++) ids[i + 1] = order[i];
    this.sizes?.clear();
    const h = this.state.h;
    h[H_GAPS] = 0;
    for (let i = 0; i <= n; i++) {
      const p = ids[i];
      const end = i < n ? r[ids[i + 1] + OFF] : this.capacity;
      r[p + GAP] = 0;
      this.setGap(p, end - r[p + OFF] - this.occupied(p));
    }
    this.tree.build(ids, n + 1);
  }

  /**
   * Visits every block in address order, the sentinel first. O(B). The tree must not change
   * during the visit.
   */
  forEach(visit: (p: number) => void): void {
    this.tree.forEach(visit, this.records.used);
  }

  /**
   * Checks every invariant of the state, reading nothing outside it and never looping, so it
   * can vet a restored snapshot: the header, the blocks tiling [0, capacity) in address order,
   * alignment, counters, the tree's order, heap order and maxima, the unused records, and the
   * size index holding exactly the gaps. O(records). Returns a description of the first broken
   * invariant, or undefined.
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
    if (((h[H_FLAGS] & FLAG_BEST_FIT) !== 0) !== (this.sizes !== null))
      return 'strategy flag and size index disagree';
    if (h[H_MAX_BLOCKS] === 0 || h[H_MAX_BLOCKS] > MAX_LIVE_BLOCKS)
      return `maxBlocks ${h[H_MAX_BLOCKS]} out of range`;
    if (used < 2 || used > h[H_RECORD_CAPACITY] || used > MAX_RECORDS)
      return `${used} records used of ${h[H_RECORD_CAPACITY]}`;
    for (let i = 0; i < STRIDE; i++) if (r[i] !== 0) return 'the nil record is not all zeros';
    const valid = (p: number): boolean => p !== NIL && p % STRIDE === 0 && p < used * STRIDE;
    if (!valid(h[H_ROOT])) return 'tree root is not a record';

    // The tree, in order, with an explicit stack bounded by the records: no cycle can loop.
    const seen = new Uint8Array(used);
    const stack: number[] = [];
    let prev = NIL;
    let expected = 0;
    let blocks = 0;
    let live = 0;
    let occupiedBytes = 0;
    let pinned = 0;
    let gaps = 0;
    for (let t = h[H_ROOT]; t !== NIL || stack.length > 0;) {
      if (t !== NIL) {
        if (!valid(t)) return `tree link ${t} is not a record`;
        if (seen[t / STRIDE] !== 0 || stack.length >= used) return 'tree has a cycle';
        seen[t / STRIDE] = 1;
        stack.push(t);
        t = r[t + LEFT];
        continue;
      }
      t = stack.pop()!;
      blocks++;
      const off = r[t + OFF];
      const where = `block at offset ${off}`;
      if (prev === NIL) {
        if (t !== SENTINEL) return 'the first block is not the sentinel';
        if (off !== 0 || r[t + REQ] !== 0 || r[t + META] !== 0)
          return 'the sentinel is not an empty block at offset 0';
      } else {
        if (t === SENTINEL) return 'the sentinel is not first';
        if (off !== expected) return `${where}: expected offset ${expected} (gap or overlap)`;
        const meta = r[t + META];
        const req = r[t + REQ];
        if ((meta & LIVE_BIT) === 0 || (meta & GEN_MASK) === 0)
          return `${where}: not a live record with a generation`;
        if (req === 0 || req > capacity) return `${where}: requested size ${req} out of range`;
        if (off % align !== 0) return `${where}: offset is not a multiple of ${align}`;
        live++;
        occupiedBytes += this.occupied(t);
        if (meta >>> PIN_SHIFT !== 0) pinned++;
      }
      const gap = r[t + GAP];
      if (gap % align !== 0) return `${where}: gap ${gap} is not a multiple of ${align}`;
      if (gap !== 0) gaps++;
      expected = off + this.occupied(t) + gap;
      if (expected > capacity) return `${where}: runs past the capacity ${capacity}`;
      const l = r[t + LEFT];
      const g = r[t + RIGHT];
      const m = Math.max(gap, r[l + MAX], r[g + MAX]);
      if (r[t + MAX] !== m) return `${where}: subtree maximum is ${r[t + MAX]}, expected ${m}`;
      const pt = priority(t);
      if ((l !== NIL && priority(l) > pt) || (g !== NIL && priority(g) > pt))
        return `${where}: tree heap order broken`;
      prev = t;
      t = g;
    }
    if (expected !== capacity) return `blocks end at ${expected}, capacity is ${capacity}`;
    if (occupiedBytes !== h[H_USED])
      return `live blocks occupy ${occupiedBytes} bytes, counter says ${h[H_USED]}`;
    if (live !== h[H_LIVE]) return `${live} live blocks, counter says ${h[H_LIVE]}`;
    if (live > h[H_MAX_BLOCKS]) return `${live} live blocks, more than maxBlocks`;
    if (pinned !== h[H_PINNED]) return `${pinned} pinned blocks, counter says ${h[H_PINNED]}`;
    if (gaps !== h[H_GAPS]) return `${gaps} gaps, counter says ${h[H_GAPS]}`;
    if (h[H_PEAK] < h[H_USED] || h[H_PEAK] > capacity) return 'peak is out of range';

    // Unused records: a FIFO queue of records that are neither live nor in the tree.
    let unused = 0;
    let tail = NIL;
    for (let q = h[H_UNUSED_HEAD]; q !== NIL; q = r[q + LEFT]) {
      if (!valid(q) || seen[q / STRIDE] !== 0) return 'unused record queue is broken';
      seen[q / STRIDE] = 2;
      if ((r[q + META] & ~GEN_MASK) !== 0) return 'an unused record is live or pinned';
      if ((r[q + OFF] | r[q + REQ] | r[q + GAP] | r[q + RIGHT] | r[q + MAX]) !== 0)
        return 'an unused record holds data';
      unused++;
      tail = q;
    }
    if (tail !== h[H_UNUSED_TAIL]) return 'unused record queue tail is wrong';
    if (blocks + unused + 1 !== used) return 'record accounting is broken';

    // The size index: exactly the hosts of gaps.
    if (this.sizes !== null) {
      let hosts = 0;
      let stray: string | undefined;
      const root = h[H_SIZE_ROOT];
      if (root !== NIL && !valid(root)) return 'size index root is not a record';
      const links = this.state.links!;
      const problem = this.sizes.check(used, (p) => {
        if (stray !== undefined) return;
        const id = p / STRIDE;
        const l = links[id * 2];
        const g = links[id * 2 + 1];
        if ((l !== NIL && !valid(l)) || (g !== NIL && !valid(g)))
          stray = 'size index link is not a record';
        else if (seen[id] !== 1 || r[p + GAP] === 0)
          stray = 'size index holds a record without a gap';
        else hosts++;
      });
      if (problem !== undefined) return problem;
      if (stray !== undefined) return stray;
      if (hosts !== gaps) return `${gaps} gaps, ${hosts} in the size index`;
    } else if (h[H_SIZE_ROOT] !== NIL) {
      return 'a first-fit heap has a size index';
    }
    return undefined;
  }

  /** Puts record `p` (REQ set, not in the tree) at the start of the gap of `host`, occupying `occupied` bytes. */
  private place(p: number, host: number, occupied: number): void {
    const r = this.state.r;
    const rest = r[host + GAP] - occupied;
    r[p + OFF] = r[host + OFF] + this.occupied(host);
    this.setGap(host, 0);
    this.tree.gapChanged(host);
    this.setGap(p, rest);
    this.tree.insertAfter(host, p);
    this.addUsed(occupied);
  }

  /** Changes the occupied-bytes counter, noting a new peak. */
  private addUsed(bytes: number): void {
    const h = this.state.h;
    const used = (h[H_USED] += bytes);
    if (used > h[H_PEAK]) h[H_PEAK] = used;
  }

  /**
   * Sets the gap of record `p`, keeping the gap counter and the size index in step; the caller
   * fixes the address tree's maxima.
   */
  private setGap(p: number, gap: number): void {
    const r = this.state.r;
    const old = r[p + GAP];
    if (old === gap) return;
    const h = this.state.h;
    if (old !== 0) {
      this.sizes?.remove(p);
      if (gap === 0) h[H_GAPS]--;
    } else {
      h[H_GAPS]++;
    }
    r[p + GAP] = gap;
    if (gap !== 0) this.sizes?.insert(p);
  }
}
