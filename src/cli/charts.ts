/**
 * One-line pictures for a terminal: a sparkline of values from 0 to 1, and a map of a heap's
 * bytes by address.
 */

const SPARKS = '▁▂▃▄▅▆▇█';

/** One block character per value, `▁` for 0 up to `█` for 1 (values clamped to [0, 1]). */
export function sparkline(values: readonly number[]): string {
  let out = '';
  for (const v of values) {
    const level = Math.floor(Math.min(1, Math.max(0, v)) * SPARKS.length);
    out += SPARKS[Math.min(SPARKS.length - 1, level)];
  }
  return out;
}

export const MAP_USED = '█';
export const MAP_PARTLY = '▒';
export const MAP_FREE = '░';

/** A block as the heap map draws it: the bytes it occupies. */
export interface Extent {
  offset: number;
  bytes: number;
}

/**
 * `cells` characters (fewer when `capacity` is smaller) over bytes 0 to `capacity`, each
 * `MAP_USED` when all its bytes are in blocks, `MAP_FREE` when none are, else `MAP_PARTLY`.
 * `blocks` must not overlap. O(blocks + cells).
 */
export function heapMap(blocks: readonly Extent[], capacity: number, cells: number): string {
  const n = Math.max(0, Math.min(cells, capacity));
  const used = new Float64Array(n);
  // Cell c holds bytes [edge(c), edge(c + 1)): integer edges, so a full cell adds up exactly.
  const edge = (c: number): number => Math.floor((c * capacity) / n);
  const cellOf = (byte: number): number => Math.min(n - 1, Math.floor((byte * n) / capacity));
  for (const { offset, bytes } of blocks) {
    const end = Math.min(capacity, offset + bytes);
    if (end <= offset) continue;
    // cellOf may be one off at an edge in floating point: step to the cell that holds `offset`.
    let c = cellOf(offset);
    while (c > 0 && edge(c) > offset) c--;
    while (c < n - 1 && edge(c + 1) <= offset) c++;
    for (let from = offset; from < end; c++) {
      const to = Math.min(end, edge(c + 1));
      used[c] += to - from;
      from = to;
    }
  }
  let out = '';
  for (let c = 0; c < n; c++) {
    const size = edge(c + 1) - edge(c);
    out += used[c] === 0 ? MAP_FREE : used[c] >= size ? MAP_USED : MAP_PARTLY;
  }
  return out;
}
