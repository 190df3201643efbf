/**
 * A two-level segregated-fit allocator (TLSF, after Masmano, Ripoll, Crespo and Real, "TLSF: a
 * new dynamic memory allocator for real-time systems", ECRTS 2004), written for the benchmarks
 * as a speed yardstick: alloc and free are O(1) (a few bitmap scans with Math.clz32, list
 * pushes and pops, no search), so it shows what an allocator in plain TypeScript can cost per
 * operation on a given sequence. It is not part of the library and does not move blocks.
 *
 * It manages offsets in [0, capacity) only: there are no bytes, and all metadata lives out of
 * band in typed arrays, so block sizes are exactly the requests rounded up to 8 (the same
 * layout pressure as MemoryManager with align 8, no in-band headers).
 *
 * - Size classes: sizes below 256 bytes get one class per multiple of 8 (first level 0);
 *   above, the first level is the position of the highest set bit (Math.clz32) and the second
 *   level splits each power-of-two range into 32 equal classes. A 32-bit bitmap per first
 *   level marks its non-empty classes; one 32-bit bitmap marks the non-empty first levels.
 * - Good fit: a request is rounded up to the next class boundary, so the head of any non-empty
 *   class at or above it fits without looking at block sizes (TLSF's "good fit": a request can
 *   fail while a block in its own class would fit; see `tlsfFitSize`).
 * - Free blocks: a doubly linked list per class, pushed and popped at the head.
 * - Immediate coalescing with both physical neighbours through physical prev/next links.
 * - Records: eight Int32 words per block (live or free) in one Int32Array that grows by
 *   doubling; dead records are recycled through a free list. Record 0 is a nil sentinel, so
 *   links may be written through a nil neighbour without a branch (nothing reads them back).
 * - `free(offset)` finds the record of a live block through an open-addressing hash table
 *   (Fibonacci hashing, linear probing, backward-shift deletion, at most a quarter full, grown by
 *   doubling): the out-of-band stand-in for the header a C TLSF reads just below the pointer.
 *   A direct map indexed by offset / 8 would be one load, but it takes capacity / 2 bytes
 *   (200 MiB for the 400 MiB churn heap) and every access then misses cache and TLB; the
 *   table holds live blocks only and stays a few MiB.
 */

/** Bytes per allocation unit; every size is rounded up to a multiple of it. */
export const TLSF_ALIGN = 8;
const ALIGN_LOG2 = 3;
/** log2 of the second-level subdivisions per first level. */
const SL_LOG2 = 5;
const SL_COUNT = 1 << SL_LOG2;
/** Sizes below this are classed linearly (one class per multiple of 8) in first level 0. */
const SMALL = 1 << (SL_LOG2 + ALIGN_LOG2);
/** For sizes >= SMALL, first level = index of the highest set bit - FL_SHIFT (256..511 -> 1). */
const FL_SHIFT = SL_LOG2 + ALIGN_LOG2 - 1;
/** Capacity stays below 2^31, so the highest set bit of a block size is at most bit 30. */
const FL_COUNT = 31 - FL_SHIFT;
/** Largest capacity: offsets and sizes must fit in Int32Array words. */
export const TLSF_MAX_CAPACITY = 2 ** 31 - TLSF_ALIGN;

// Record fields: record p (a word index, a multiple of STRIDE) has them at r[p + FIELD].
const OFF = 0;
const SIZE = 1;
/** Physical neighbours (address order), or NIL. */
const PPHYS = 2;
const NPHYS = 3;
/** Free-list neighbours in the block's class, or NIL. */
const PFREE = 4;
const NFREE = 5;
/** Free block: its class index + 1 (so 0 means live, or the sentinel, or a dead record). */
const CLASS = 6;
const STRIDE = 8;
/** The nil record (record 0, never a block). */
const NIL = 0;
const INITIAL_RECORDS = 1024;
/** Offset-table slots to start with (two words each: key, record). */
const INITIAL_SLOTS = 1024;
/**
 * Most live blocks per offset-table slot. Linear probing at a quarter full keeps probes and
 * the clusters backward-shift deletion scans short; at half full the 1,000-live churn ran
 * about 20% slower, and the table is still only 4 MiB at 100,000 live blocks.
 */
const MAX_LOAD = 0.25;
/** 2^32 / golden ratio: Fibonacci hashing spreads consecutive keys over the table. */
const GOLDEN = 0x9e3779b1;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The class (first level << SL_LOG2 | second level) a free block of `size` bytes is listed in. */
function classOf(size: number): number {
  if (size < SMALL) return size >>> ALIGN_LOG2;
  const t = 31 - Math.clz32(size);
  return ((t - FL_SHIFT) << SL_LOG2) | ((size >>> (t - SL_LOG2)) & (SL_COUNT - 1));
}

/**
 * The smallest free block size the good-fit search is sure to find for a request of `size`
 * bytes (the request rounded up to 8, then up to its class boundary). A free block of at least
 * this size means `alloc(size)` cannot fail; blocks between the rounded request and this size
 * may be passed over.
 */
export function tlsfFitSize(size: number): number {
  const need = Math.ceil(size / TLSF_ALIGN) * TLSF_ALIGN;
  if (need < SMALL) return need;
  const t = 31 - Math.clz32(need);
  const step = 2 ** (t - SL_LOG2);
  return Math.ceil(need / step) * step;
}

export class Tlsf {
  /** Bytes managed: [0, capacity), a multiple of 8. */
  readonly capacity: number;
  /** Records, STRIDE words each. Replaced (never resized in place) when it grows. */
  private r: Int32Array;
  /** Words of `r` ever handed out (record 0, the sentinel, included). */
  private top = STRIDE;
  /** Recycled records, threaded through NFREE. */
  private dead = NIL;
  /** Head of the free list of each class. */
  private readonly heads = new Int32Array(FL_COUNT * SL_COUNT);
  /** Per first level: bit `sl` set when class (fl, sl) has a free block. */
  private readonly slBits = new Int32Array(FL_COUNT);
  /** Bit `fl` set when first level `fl` has a non-empty class. */
  private flBits = 0;
  /**
   * Live blocks by offset: slot i holds key offset / 8 + 1 (0: empty) at word 2i and the
   * block's record at word 2i + 1. Replaced when it grows.
   */
  private table = new Int32Array(2 * INITIAL_SLOTS);
  /** Slots - 1. */
  private slotMask = INITIAL_SLOTS - 1;
  /** 32 - log2(slots): a key's home slot is the top bits of key * GOLDEN. */
  private hashShift = 32 - Math.log2(INITIAL_SLOTS);
  /** Live blocks the table may hold before it doubles. */
  private tableLimit = INITIAL_SLOTS * MAX_LOAD;
  /** The record of the block at offset 0 (NIL for an empty range). */
  private readonly first: number;
  /** Bytes occupied by live blocks. */
  used = 0;
  /** Live blocks. */
  live = 0;

  /** Manages [0, capacity rounded down to 8). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > TLSF_MAX_CAPACITY + 7) {
      throw new RangeError(`Tlsf: capacity must be an integer in [0, 2^31), got ${capacity}`);
    }
    this.capacity = capacity - (capacity % TLSF_ALIGN);
    this.r = new Int32Array(INITIAL_RECORDS * STRIDE);
    if (this.capacity === 0) {
      this.first = NIL;
      return;
    }
    const p = this.take();
    const r = this.r;
    r[p + OFF] = 0;
    r[p + SIZE] = this.capacity;
    r[p + PPHYS] = NIL;
    r[p + NPHYS] = NIL;
    this.first = p;
    this.push(r, p, this.capacity);
  }

  /**
   * Takes a block of `size` bytes (rounded up to 8) and returns its offset, or -1 when no
   * free block of the request's rounded-up class exists. O(1).
   */
  alloc(size: number): number {
    if (!(size >= 1)) throw new RangeError(`Tlsf.alloc: size must be >= 1, got ${size}`);
    if (size > this.capacity) return -1;
    // size <= capacity < 2^31 - 7, so the rounding stays in int32 range.
    const need = (size + (TLSF_ALIGN - 1)) & -TLSF_ALIGN;
    let fl: number;
    let sl: number;
    if (need < SMALL) {
      fl = 0;
      sl = need >>> ALIGN_LOG2;
    } else {
      // Round up to the next class boundary: every block listed at or above it fits. The sum
      // may pass 2^31; clz32 and >>> read it as an unsigned 32-bit value, which it is.
      const up = need + (1 << (31 - Math.clz32(need) - SL_LOG2)) - 1;
      const t = 31 - Math.clz32(up);
      fl = t - FL_SHIFT;
      if (fl >= FL_COUNT) return -1;
      sl = (up >>> (t - SL_LOG2)) & (SL_COUNT - 1);
    }
    const slBits = this.slBits;
    let bits = slBits[fl] & (-1 << sl);
    if (bits === 0) {
      const flAbove = this.flBits & (-1 << (fl + 1));
      if (flAbove === 0) return -1;
      fl = lowestBit(flAbove);
      bits = slBits[fl];
    }
    sl = lowestBit(bits);
    const cls = (fl << SL_LOG2) | sl;

    // Pop the head of the class.
    const heads = this.heads;
    let r = this.r;
    const p = heads[cls];
    const after = r[p + NFREE];
    heads[cls] = after;
    if (after !== NIL) {
      r[after + PFREE] = NIL;
    } else {
      const left = slBits[fl] & ~(1 << sl);
      slBits[fl] = left;
      if (left === 0) this.flBits &= ~(1 << fl);
    }
    r[p + CLASS] = 0;

    const off = r[p + OFF];
    const rest = r[p + SIZE] - need;
    if (rest !== 0) {
      // Split: the tail stays free. Its physical neighbours are p (now live) and p's old next
      // (live, since no two free blocks touch), so it merges with nothing.
      const q = this.take();
      r = this.r;
      const next = r[p + NPHYS];
      r[q + OFF] = off + need;
      r[q + SIZE] = rest;
      r[q + PPHYS] = p;
      r[q + NPHYS] = next;
      r[next + PPHYS] = q; // the sentinel absorbs the write when next is NIL
      r[p + NPHYS] = q;
      r[p + SIZE] = need;
      this.push(r, q, rest);
    }
    this.used += need;
    if (++this.live > this.tableLimit) this.growTable();
    this.insert(off, p);
    return off;
  }

  /**
   * Frees the live block at `offset`, merging it with free physical neighbours. O(1).
   * Throws for anything but the offset of a live block (double frees included).
   */
  free(offset: number): void {
    // (offset & -8) !== offset rejects misaligned, fractional and NaN offsets.
    if (!(offset >= 0 && offset < this.capacity) || (offset & -TLSF_ALIGN) !== offset) {
      throw new Error(`Tlsf.free: ${offset} is not the offset of a live block`);
    }
    let p = this.remove(offset);
    if (p === NIL) throw new Error(`Tlsf.free: ${offset} is not the offset of a live block`);
    const r = this.r;
    let size = r[p + SIZE];
    this.used -= size;
    this.live--;

    const next = r[p + NPHYS];
    if (r[next + CLASS] !== 0) {
      // The sentinel's CLASS is 0: a NIL neighbour never looks free.
      this.unlist(r, next);
      size += r[next + SIZE];
      const beyond = r[next + NPHYS];
      r[p + NPHYS] = beyond;
      r[beyond + PPHYS] = p;
      this.give(r, next);
    }
    const prev = r[p + PPHYS];
    if (r[prev + CLASS] !== 0) {
      this.unlist(r, prev);
      size += r[prev + SIZE];
      const beyond = r[p + NPHYS];
      r[prev + NPHYS] = beyond;
      r[beyond + PPHYS] = prev;
      this.give(r, p);
      p = prev;
    }
    r[p + SIZE] = size;
    this.push(r, p, size);
  }

  /** Size of the largest free block (0 when none). O(blocks in the top class). */
  largestFree(): number {
    if (this.flBits === 0) return 0;
    const fl = 31 - Math.clz32(this.flBits);
    const cls = (fl << SL_LOG2) | (31 - Math.clz32(this.slBits[fl]));
    const r = this.r;
    let best = 0;
    for (let p = this.heads[cls]; p !== NIL; p = r[p + NFREE]) best = Math.max(best, r[p + SIZE]);
    return best;
  }

  /** Free blocks, found by walking the blocks. O(blocks). */
  freeBlocks(): number {
    const r = this.r;
    let n = 0;
    for (let p = this.first; p !== NIL; p = r[p + NPHYS]) if (r[p + CLASS] !== 0) n++;
    return n;
  }

  /** Bytes of metadata as allocated: the record table, the offset table and the list heads. */
  metadataBytes(): number {
    return this.r.byteLength + this.table.byteLength + this.heads.byteLength;
  }

  /**
   * Verifies every invariant by walking all blocks in address order and every free list:
   * blocks tile [0, capacity) exactly with consistent physical links, no two free blocks
   * touch, each free block is in exactly the list of the class its size maps to, a class's
   * bitmap bits are set exactly when its list is non-empty, live blocks are found by their
   * offsets, and the counters and record accounting add up. O(records).
   * @throws Error describing the first broken invariant.
   */
  check(): void {
    const fail = (what: string): never => {
      throw new Error(`Tlsf.check: ${what}`);
    };
    const r = this.r;
    const records = this.top / STRIDE;
    if (r[NIL + CLASS] !== 0) fail('the nil sentinel looks free');
    // 1 = free block found in address order, 2 = also found in its list.
    const seen = new Uint8Array(records);
    let expected = 0;
    let prev = NIL;
    let prevFree = false;
    let blocks = 0;
    let free = 0;
    let used = 0;
    let live = 0;
    if (this.capacity > 0 && this.first === NIL) fail('no first block');
    for (let p = this.first; p !== NIL; p = r[p + NPHYS]) {
      if (++blocks > records) fail('the physical list has a cycle');
      if (p % STRIDE !== 0 || p >= this.top) fail(`link to ${p} is not a record`);
      const off = r[p + OFF];
      const size = r[p + SIZE];
      const where = `block at offset ${off} (record ${p / STRIDE})`;
      if (off !== expected) {
        fail(`${where}: expected offset ${expected} (${off < expected ? 'overlap' : 'gap'})`);
      }
      if (r[p + PPHYS] !== prev) fail(`${where}: physical prev link is broken`);
      if (size <= 0 || size % TLSF_ALIGN !== 0) fail(`${where}: bad size ${size}`);
      if (off + size > this.capacity) fail(`${where}: runs past the capacity ${this.capacity}`);
      const cls = r[p + CLASS];
      if (cls !== 0) {
        if (prevFree) fail(`${where}: two free blocks are adjacent`);
        if (cls - 1 !== classOf(size)) {
          fail(`${where}: size ${size} maps to class ${classOf(size)}, listed in ${cls - 1}`);
        }
        if (this.find(off) !== NIL) fail(`${where}: free but in the offset table`);
        seen[p / STRIDE] = 1;
        free++;
        prevFree = true;
      } else {
        if (this.find(off) !== p) fail(`${where}: live but not in the offset table`);
        used += size;
        live++;
        prevFree = false;
      }
      expected = off + size;
      prev = p;
    }
    if (expected !== this.capacity) fail(`blocks end at ${expected}, capacity is ${this.capacity}`);
    if (used !== this.used) fail(`live blocks occupy ${used} bytes, counter says ${this.used}`);
    if (live !== this.live) fail(`${live} live blocks, counter says ${this.live}`);

    let listed = 0;
    let flExpected = 0;
    for (let fl = 0; fl < FL_COUNT; fl++) {
      let slExpected = 0;
      for (let sl = 0; sl < SL_COUNT; sl++) {
        const cls = (fl << SL_LOG2) | sl;
        let back = NIL;
        for (let p = this.heads[cls]; p !== NIL; p = r[p + NFREE]) {
          if (p % STRIDE !== 0 || p >= this.top) fail(`class ${cls}: link to ${p} is not a record`);
          const id = p / STRIDE;
          const where = `class ${cls}, block at offset ${r[p + OFF]}`;
          if (seen[id] === 0) fail(`${where}: listed but not a free block in address order`);
          if (seen[id] === 2) fail(`${where}: listed twice (or the list has a cycle)`);
          if (r[p + CLASS] - 1 !== cls) fail(`${where}: its CLASS says ${r[p + CLASS] - 1}`);
          if (r[p + PFREE] !== back) fail(`${where}: free-list prev link is broken`);
          seen[id] = 2;
          listed++;
          back = p;
        }
        if (this.heads[cls] !== NIL) slExpected |= 1 << sl;
      }
      if (this.slBits[fl] !== slExpected) {
        fail(
          `first level ${fl}: bitmap ${(this.slBits[fl] >>> 0).toString(2)}, non-empty lists ${(slExpected >>> 0).toString(2)}`,
        );
      }
      if (slExpected !== 0) flExpected |= 1 << fl;
    }
    if (this.flBits !== flExpected) {
      fail(
        `first-level bitmap ${(this.flBits >>> 0).toString(2)}, non-empty levels ${(flExpected >>> 0).toString(2)}`,
      );
    }
    if (listed !== free) fail(`${free} free blocks in address order, ${listed} in the lists`);

    let entries = 0;
    const table = this.table;
    for (let i = 0; i < table.length; i += 2) {
      if (table[i] === 0) continue;
      entries++;
      const p = table[i + 1];
      const off = (table[i] - 1) * TLSF_ALIGN;
      if (r[p + OFF] !== off || r[p + CLASS] !== 0 || p === NIL) {
        fail(`offset table: entry for offset ${off} names no live block there`);
      }
    }
    if (entries !== live) fail(`${entries} offset-table entries, ${live} live blocks`);
    if (live > this.tableLimit) fail('the offset table is over its load limit');

    let deadCount = 0;
    for (let p = this.dead; p !== NIL; p = r[p + NFREE]) {
      if (++deadCount > records) fail('the recycled-record list has a cycle');
      if (r[p + CLASS] !== 0) fail(`recycled record ${p / STRIDE} looks free`);
    }
    if (blocks + deadCount + 1 !== records) {
      fail(`${blocks} blocks + ${deadCount} recycled records + sentinel != ${records} records`);
    }
  }

  /** Pushes free block `p` of `size` bytes on the list of its class. */
  private push(r: Int32Array, p: number, size: number): void {
    let cls: number;
    if (size < SMALL) {
      cls = size >>> ALIGN_LOG2;
    } else {
      const t = 31 - Math.clz32(size);
      cls = ((t - FL_SHIFT) << SL_LOG2) | ((size >>> (t - SL_LOG2)) & (SL_COUNT - 1));
    }
    const heads = this.heads;
    const head = heads[cls];
    r[p + PFREE] = NIL;
    r[p + NFREE] = head;
    r[p + CLASS] = cls + 1;
    if (head !== NIL) {
      r[head + PFREE] = p;
    } else {
      const fl = cls >>> SL_LOG2;
      this.slBits[fl] |= 1 << (cls & (SL_COUNT - 1));
      this.flBits |= 1 << fl;
    }
    heads[cls] = p;
  }

  /** Takes free block `p` off its class's list (it stays in the physical list). */
  private unlist(r: Int32Array, p: number): void {
    const cls = r[p + CLASS] - 1;
    const before = r[p + PFREE];
    const after = r[p + NFREE];
    r[after + PFREE] = before; // the sentinel absorbs the write when after is NIL
    if (before !== NIL) {
      r[before + NFREE] = after;
    } else {
      this.heads[cls] = after;
      if (after === NIL) {
        const fl = cls >>> SL_LOG2;
        const left = this.slBits[fl] & ~(1 << (cls & (SL_COUNT - 1)));
        this.slBits[fl] = left;
        if (left === 0) this.flBits &= ~(1 << fl);
      }
    }
    r[p + CLASS] = 0;
  }

  /** Home slot of `key` (offset / 8 + 1). */
  private home(key: number): number {
    return Math.imul(key, GOLDEN) >>> this.hashShift;
  }

  /** Enters live block `p` at `off` (not in the table) in the offset table. */
  private insert(off: number, p: number): void {
    const key = (off >>> ALIGN_LOG2) + 1;
    const table = this.table;
    const mask = this.slotMask;
    let i = this.home(key);
    while (table[i << 1] !== 0) i = (i + 1) & mask;
    table[i << 1] = key;
    table[(i << 1) + 1] = p;
  }

  /** The record of the live block at `off`, or NIL. */
  private find(off: number): number {
    const key = (off >>> ALIGN_LOG2) + 1;
    const table = this.table;
    const mask = this.slotMask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = table[i << 1];
      if (k === key) return table[(i << 1) + 1];
      if (k === 0) return NIL;
    }
  }

  /** Takes the live block at `off` out of the offset table; returns its record, or NIL. */
  private remove(off: number): number {
    const key = (off >>> ALIGN_LOG2) + 1;
    const table = this.table;
    const mask = this.slotMask;
    const shift = this.hashShift;
    let i = Math.imul(key, GOLDEN) >>> shift;
    for (;;) {
      const k = table[i << 1];
      if (k === key) break;
      if (k === 0) return NIL;
      i = (i + 1) & mask;
    }
    const p = table[(i << 1) + 1];
    // Backward-shift deletion (no tombstones, so probes stay short): pull later entries of
    // the cluster into the hole unless that would put them before their home slot.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = table[j << 1];
      if (k === 0) break;
      const h = Math.imul(k, GOLDEN) >>> shift;
      if (((j - h) & mask) >= ((j - i) & mask)) {
        table[i << 1] = k;
        table[(i << 1) + 1] = table[(j << 1) + 1];
        i = j;
      }
    }
    table[i << 1] = 0;
    return p;
  }

  /** Doubles the offset table and re-enters every live block. */
  private growTable(): void {
    const old = this.table;
    const slots = (this.slotMask + 1) * 2;
    this.table = new Int32Array(2 * slots);
    this.slotMask = slots - 1;
    this.hashShift = 32 - Math.log2(slots);
    this.tableLimit = slots * MAX_LOAD;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0) this.insert((old[i] - 1) * TLSF_ALIGN, old[i + 1]);
    }
  }

  /** A record for a new block; may replace `this.r`. */
  private take(): number {
    const p = this.dead;
    if (p !== NIL) {
      this.dead = this.r[p + NFREE];
      return p;
    }
    const q = this.top;
    if (q === this.r.length) {
      const grown = new Int32Array(this.r.length * 2);
      grown.set(this.r);
      this.r = grown;
    }
    this.top = q + STRIDE;
    return q;
  }

  /** Recycles record `p` (its block was merged away). */
  private give(r: Int32Array, p: number): void {
    r[p + CLASS] = 0;
    r[p + OFF] = -1;
    r[p + NFREE] = this.dead;
    this.dead = p;
  }
}
