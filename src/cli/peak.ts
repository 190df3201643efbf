/**
 * What a trace needs at its busiest: the most bytes live at once, as asked for and as a heap
 * with a given alignment occupies them. No heap smaller than the occupied peak can run it.
 */
import { ALLOC, FREE, type Trace } from './trace.js';

export interface Peak {
  /** Largest sum of the live blocks' requested sizes (malloc-lab's "max total size"). */
  requested: number;
  /** Largest sum of the live blocks' sizes as occupied: at least 1 byte, rounded up to `align`. */
  occupied: number;
  /** Index of the first operation after which `occupied` bytes are live; -1 for no operations. */
  operation: number;
}

/** The bytes a request occupies: 0-byte requests are replayed as 1 byte. `align` a power of two. */
export function occupiedBytes(size: number, align: number): number {
  const n = size === 0 ? 1 : size;
  return Math.ceil(n / align) * align;
}

/** The trace's peaks at alignment `align`. O(operations). */
export function peakOf(trace: Trace, align: number): Peak {
  const peak: Peak = { requested: 0, occupied: 0, operation: -1 };
  walk(trace, align, (i, requested, occupied) => {
    if (requested > peak.requested) peak.requested = requested;
    if (occupied > peak.occupied) {
      peak.occupied = occupied;
      peak.operation = i;
    }
    return true;
  });
  return peak;
}

/**
 * The first operation after which more than `capacity` bytes would be occupied, and the bytes
 * free just before it; null when the trace never needs more. O(operations).
 */
export function firstOverflow(
  trace: Trace,
  align: number,
  capacity: number,
): { operation: number; free: number } | null {
  let before = 0;
  let found: { operation: number; free: number } | null = null;
  walk(trace, align, (i, _requested, occupied) => {
    if (occupied > capacity) found = { operation: i, free: capacity - before };
    before = occupied;
    return found === null;
  });
  return found;
}

/**
 * Calls `visit` after each operation with the bytes then live, requested and occupied, until
 * it returns false.
 */
function walk(
  trace: Trace,
  align: number,
  visit: (op: number, requested: number, occupied: number) => boolean,
): void {
  const { kinds, ids, sizes } = trace;
  const liveSize = new Float64Array(trace.idCount);
  let requested = 0;
  let occupied = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = ids[i];
    const kind = kinds[i];
    const before = kind === ALLOC ? 0 : liveSize[id];
    const after = kind === FREE ? 0 : sizes[i];
    requested += after - before;
    occupied +=
      (kind === FREE ? 0 : occupiedBytes(after, align)) -
      (kind === ALLOC ? 0 : occupiedBytes(before, align));
    liveSize[id] = after;
    if (!visit(i, requested, occupied)) return;
  }
}
