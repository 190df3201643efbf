// Handles: a record id and the generation of the block that lives in it,
// `handle = id * 4096 + generation` with the generation in 1..4095, so 0 is never a handle
// and a handle that was freed no longer matches its record once the record holds another
// block. Handles stay small integers (V8 Smis, no allocation) up to 2^18 records.
//
// A record's generation advances each time it receives a live block and wraps after 4095.
// Unused records are reused in FIFO order, so a stale handle is mistaken for a live one only
// after its record was reused 4095 times: with one block churning alone (alloc, free, alloc...)
// that is 4095 pairs.
import { GEN_MASK, LIVE_BIT, META, NIL, STRIDE, type BlockRecords } from './records.js';

const GEN_SPACE = GEN_MASK + 1;

/** The handle of live record `p`. O(1). */
export function handleOf(r: Uint32Array, p: number): number {
  return (p / STRIDE) * GEN_SPACE + (r[p + META] & GEN_MASK);
}

/** The live record that `handle` names, or NIL when it names none. Never throws. O(1). */
export function recordOf(records: BlockRecords, handle: unknown): number {
  if (typeof handle !== 'number' || !(handle > GEN_SPACE)) return NIL;
  const id = Math.floor(handle / GEN_SPACE);
  if (id >= records.used) return NIL; // also rejects Infinity
  const gen = handle - id * GEN_SPACE; // fractional handles leave a fraction here
  const meta = records.r[id * STRIDE + META];
  return (meta & LIVE_BIT) !== 0 && (meta & GEN_MASK) === gen ? id * STRIDE : NIL;
}
