/**
 * Storage of every block's metadata: one Uint32Array, eight words (32 bytes) per record.
 *
 * A record describes one block, live or free. Records are addressed by their first word's
 * index `p = id * STRIDE` (a "pointer"), so a field is `r[p + FIELD]`. Record 0 is the nil
 * sentinel: all its words stay 0, so `r[NIL + MAX]` reads 0 and `r[NIL + SIZE]` reads 0.
 * Nothing here knows about handles' encoding, locks, promises or argument checks.
 */

/** Byte offset of the block in the heap. */
export const OFF = 0;
/** Bytes the block occupies (a multiple of the alignment). */
export const SIZE = 1;
/** Previous block in address order, or NIL. */
export const PREV = 2;
/** Next block in address order, or NIL; for unused records, the next unused record. */
export const NEXT = 3;
/** Generation (bits 0-11), live flag (bit 12), pin count (bits 13-31). */
export const META = 4;
/** Free block: left child in the free index. */
export const LEFT = 5;
/** Live block: the size that was asked for. Shares the word with LEFT (a block is one or the other). */
export const REQ = 5;
/** Free block: right child in the free index. */
export const RIGHT = 6;
/** Free block: the largest SIZE in its subtree of the free index. */
export const MAX = 7;

/** Words per record. */
export const STRIDE = 8;
/** Bytes of metadata per record. */
export const RECORD_BYTES = STRIDE * 4;
/** The nil pointer (record 0). */
export const NIL = 0;

export const GEN_MASK = 0xfff;
export const LIVE_BIT = 0x1000;
export const PIN_SHIFT = 13;
/** One pin, as added to META. */
export const PIN_ONE = 1 << PIN_SHIFT;
/** Most pins one block can hold. */
export const MAX_PINS = 2 ** (32 - PIN_SHIFT) - 1;

/** Record ids stay below this so that pointers fit in 32 bits with room to spare. */
export const MAX_RECORDS = 2 ** 28;

const INITIAL_RECORDS = 64;

export class BlockRecords {
  /** All records. Replaced (never resized in place) when the table grows: re-read after `take()`. */
  r: Uint32Array;
  /** Records ever handed out plus the nil record: ids at or above it were never used. */
  used = 1;
  /** Unused records below `used`, a FIFO threaded through NEXT so reuse spreads over them. */
  private unusedHead = NIL;
  private unusedTail = NIL;
  /** Records currently holding a block (live or free). */
  inUse = 0;

  /**
   * Optional second table, two words per record, for an index that needs links of its own
   * (the best-fit size index). `links[(p / STRIDE) * 2]` and the word after it belong to `p`.
   * Grows with `r`.
   */
  links: Uint32Array | null = null;

  constructor(initialRecords = INITIAL_RECORDS) {
    this.r = new Uint32Array(Math.max(2, initialRecords) * STRIDE);
  }

  /** Allocates the second table (two words per record). */
  enableLinks(): void {
    this.links ??= new Uint32Array(this.capacity * 2);
  }

  /** Records the table can hold before it grows. */
  get capacity(): number {
    return this.r.length / STRIDE;
  }

  /** Bytes of metadata allocated, including unused records. */
  get bytes(): number {
    return this.r.byteLength + (this.links?.byteLength ?? 0);
  }

  /** A deep copy of the table. O(records). */
  clone(): BlockRecords {
    const copy = new BlockRecords(1);
    copy.r = this.r.slice();
    copy.links = this.links?.slice() ?? null;
    copy.used = this.used;
    copy.unusedHead = this.unusedHead;
    copy.unusedTail = this.unusedTail;
    copy.inUse = this.inUse;
    return copy;
  }

  /** A record for a new block: OFF/SIZE/links zeroed, generation kept, not live, no pins. */
  take(): number {
    const r0 = this.r;
    let p = this.unusedHead;
    if (p !== NIL) {
      this.unusedHead = r0[p + NEXT];
      if (this.unusedHead === NIL) this.unusedTail = NIL;
    } else {
      if (this.used === this.capacity) this.grow(this.used + 1);
      p = this.used++ * STRIDE;
    }
    const r = this.r;
    r[p + META] = r[p + META] & GEN_MASK;
    r[p + OFF] = r[p + SIZE] = r[p + PREV] = r[p + NEXT] = 0;
    r[p + LEFT] = r[p + RIGHT] = r[p + MAX] = 0;
    this.inUse++;
    return p;
  }

  /** Returns a record to the unused queue. Its generation survives, so stale handles stay stale. */
  give(p: number): void {
    const r = this.r;
    r[p + META] = r[p + META] & GEN_MASK;
    r[p + NEXT] = NIL;
    if (this.unusedTail === NIL) this.unusedHead = p;
    else r[this.unusedTail + NEXT] = p;
    this.unusedTail = p;
    this.inUse--;
  }

  /** Number of unused records below `used`. O(unused): for validation only. */
  countUnused(): number {
    let n = 0;
    for (let q = this.unusedHead; q !== NIL; q = this.r[q + NEXT]) n++;
    return n;
  }

  private grow(minRecords: number): void {
    // Unreachable through the API: the maxBlocks limit keeps records below MAX_RECORDS.
    if (minRecords > MAX_RECORDS) throw new Error(`internal: more than ${MAX_RECORDS} records`);
    let n = this.capacity;
    while (n < minRecords) n *= 2;
    const next = new Uint32Array(Math.min(n, MAX_RECORDS) * STRIDE);
    next.set(this.r);
    this.r = next;
    if (this.links !== null) {
      const links = new Uint32Array((next.length / STRIDE) * 2);
      links.set(this.links);
      this.links = links;
    }
  }
}

/** True when the record holds a live block. */
export function isLive(r: Uint32Array, p: number): boolean {
  return (r[p + META] & LIVE_BIT) !== 0;
}

/** Pins held on the block of record `p`. */
export function pinsOf(r: Uint32Array, p: number): number {
  return r[p + META] >>> PIN_SHIFT;
}
