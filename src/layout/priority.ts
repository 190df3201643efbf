// Treap priorities: a hash of the record id, so the trees need no word of their own for balance
// and stay O(log n) deep in expectation whatever the order of insertions.
import { STRIDE } from './records.js';

/** Treap priority of record `p`: a 32-bit integer mix (lowbias32) of its id, cut to 30 bits. */
export function priority(p: number): number {
  let x = p / STRIDE;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  // 30 bits: a V8 small integer on every platform, so priorities never allocate a heap number.
  return (x ^ (x >>> 16)) >>> 2;
}
