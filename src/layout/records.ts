// The block records: RECORD_WORDS (5) words, 20 bytes, per live block, and nothing per free
// block. The records form a doubly linked list in address order; the free space after a block
// (its gap) is implied by where the next block starts, and the gap index holds every gap that
// is not empty. Record 1 is the sentinel: a block of 0 bytes at offset 0, first in the list,
// whose gap is the free space in front of the first block; it never moves and has no handle.
//
// A record is addressed by its first word's index `p = id * STRIDE` (a "pointer"), so a field
// is `r[p + FIELD]`. Record 0 is the nil record: all its words stay 0.
// Nothing here knows about handles' encoding, locks, promises or argument checks.
import { H_RECORDS_USED, H_UNUSED_HEAD, H_UNUSED_TAIL, RECORD_WORDS } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';

/** Offset of the block in the heap. */
export const OFF = 0;
/** The size that was asked for (occupied: rounded up to the alignment); 0 for the sentinel. */
export const REQ = 1;
/**
 * Generation (bits 0-11), live bit (bit 12), alignment (bits 13-17: log2 of the block's own
 * alignment when it is above the heap's, else 0), pin count (bits 18-31).
 */
export const META = 2;
/** The block before, in address order (NIL for the sentinel). */
export const PREV = 3;
/** The block after, in address order (NIL for the last). Unused records: the next unused one. */
export const NEXT = 4;

/** Words per record. */
export const STRIDE = RECORD_WORDS;
/** The nil pointer (record 0). */
export const NIL = 0;
/** The sentinel record, always at offset 0, first in address order. */
export const SENTINEL = STRIDE;

export const GEN_MASK = 0xfff;
export const LIVE_BIT = 0x1000;
export const ALIGN_SHIFT = 13;
/** The alignment field, in place. */
export const ALIGN_FIELD = 0x1f << ALIGN_SHIFT;
export const PIN_SHIFT = 18;
/** One pin, as added to META. */
export const PIN_ONE = 1 << PIN_SHIFT;
/** Most pins one block can hold. */
export const MAX_PINS = 2 ** (32 - PIN_SHIFT) - 1;

/** Record ids stay below this: handles (id * 4096 + generation) stay below 2^40. */
export const MAX_RECORDS = 2 ** 28;

/** The records of a state: taking and giving back records, FIFO reuse so generations spread. */
export class BlockRecords {
  readonly state: HeapState;

  constructor(state: HeapState) {
    this.state = state;
  }

  /** All records. Replaced when the table grows: re-read after `take()`. */
  get r(): Uint32Array {
    return this.state.r;
  }

  /** Records ever handed out plus the nil record: ids at or above it were never used. */
  get used(): number {
    return this.state.h[H_RECORDS_USED];
  }

  /** A record for a new block: fields zeroed, generation kept, not live, no pins. */
  take(): number {
    const h = this.state.h;
    let p = h[H_UNUSED_HEAD];
    if (p !== NIL) {
      const next = this.state.r[p + NEXT];
      h[H_UNUSED_HEAD] = next;
      if (next === NIL) h[H_UNUSED_TAIL] = NIL;
    } else {
      const id = h[H_RECORDS_USED];
      if (id === this.state.capacity) this.state.grow(id + 1, MAX_RECORDS); // replaces h and r
      this.state.h[H_RECORDS_USED] = id + 1;
      p = id * STRIDE;
    }
    const r = this.state.r;
    r[p + META] &= GEN_MASK;
    r[p + OFF] = r[p + REQ] = r[p + PREV] = r[p + NEXT] = 0;
    return p;
  }

  /** Returns a record to the unused queue. Its generation survives, so stale handles stay stale. */
  give(p: number): void {
    const h = this.state.h;
    const r = this.state.r;
    r[p + META] &= GEN_MASK;
    r[p + OFF] = r[p + REQ] = r[p + PREV] = r[p + NEXT] = 0;
    const tail = h[H_UNUSED_TAIL];
    if (tail === NIL) h[H_UNUSED_HEAD] = p;
    else r[tail + NEXT] = p;
    h[H_UNUSED_TAIL] = p;
  }
}

/**
 * Where block `p` ends (its offset plus its requested size rounded up by `mask`, the heap's
 * alignment minus one): where the gap it hosts starts, the key of that gap in both indexes.
 */
export function endOf(r: Uint32Array, p: number, mask: number): number {
  const q = r[p + REQ];
  return r[p + OFF] + q + (-q & mask);
}

/** True when the record holds a live block. */
export function isLive(r: Uint32Array, p: number): boolean {
  return (r[p + META] & LIVE_BIT) !== 0;
}

/** log2 of the block's own alignment when above the heap's, else 0. */
export function alignShiftOf(r: Uint32Array, p: number): number {
  return (r[p + META] & ALIGN_FIELD) >>> ALIGN_SHIFT;
}

/** Pins held on the block of record `p`. */
export function pinsOf(r: Uint32Array, p: number): number {
  return r[p + META] >>> PIN_SHIFT;
}
