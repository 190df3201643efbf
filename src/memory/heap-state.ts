// The buffer that holds a heap's state (see format.ts) and the typed arrays over its regions.
// The record region grows by replacing the buffer (about 1/8 at a time, so growth slack stays
// small); code that holds `r` or `links` re-reads them after anything that may take a record.
import { HEADER_WORDS, H_RECORD_CAPACITY, LINK_WORDS, RECORD_WORDS } from './format.js';

const MIN_RECORDS = 16;

export class HeapState {
  buffer: ArrayBuffer;
  /** The header slots. */
  h: Uint32Array;
  /** The records, RECORD_WORDS words each. */
  r: Uint32Array;
  /** The size index's links, LINK_WORDS words per record, or null (first-fit heaps). */
  links: Uint32Array | null;

  private constructor(buffer: ArrayBuffer, capacity: number, withLinks: boolean) {
    this.buffer = buffer;
    this.h = new Uint32Array(buffer, 0, HEADER_WORDS);
    this.r = new Uint32Array(buffer, HEADER_WORDS * 4, capacity * RECORD_WORDS);
    this.links = withLinks
      ? new Uint32Array(buffer, (HEADER_WORDS + capacity * RECORD_WORDS) * 4, capacity * LINK_WORDS)
      : null;
    this.h[H_RECORD_CAPACITY] = capacity;
  }

  /** A zeroed state with room for `records` records. */
  static create(records: number, withLinks: boolean): HeapState {
    const capacity = Math.max(MIN_RECORDS, records);
    return new HeapState(new ArrayBuffer(bytesFor(capacity, withLinks)), capacity, withLinks);
  }

  /** Records the buffer holds room for. */
  get capacity(): number {
    return this.h[H_RECORD_CAPACITY];
  }

  /** Bytes of metadata allocated: the whole buffer. */
  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** Makes room for at least `records` records, growing by about an eighth. O(state). */
  grow(records: number, maxRecords: number): void {
    const old = this.capacity;
    if (records <= old) return;
    let next = Math.max(records, old + Math.max(MIN_RECORDS, Math.ceil(old / 8)));
    if (next > maxRecords) next = maxRecords;
    if (next < records) throw new Error(`internal: more than ${maxRecords} records`);
    const grown = new HeapState(
      new ArrayBuffer(bytesFor(next, this.links !== null)),
      next,
      this.links !== null,
    );
    grown.h.set(this.h);
    grown.h[H_RECORD_CAPACITY] = next;
    grown.r.set(this.r);
    if (this.links !== null) grown.links!.set(this.links);
    this.buffer = grown.buffer;
    this.h = grown.h;
    this.r = grown.r;
    this.links = grown.links;
  }

  /** An independent copy. O(state). */
  clone(): HeapState {
    return new HeapState(this.buffer.slice(0), this.capacity, this.links !== null);
  }

  /**
   * A state over a copy of `words` (header, records for `records` records, links when
   * `withLinks`), with room for `capacity` records.
   */
  static fromWords(
    words: Uint32Array,
    records: number,
    withLinks: boolean,
    capacity: number,
  ): HeapState {
    const state = HeapState.create(capacity, withLinks);
    const cap = state.capacity;
    state.h.set(words.subarray(0, HEADER_WORDS));
    state.h[H_RECORD_CAPACITY] = cap;
    const recordWords = records * RECORD_WORDS;
    state.r.set(words.subarray(HEADER_WORDS, HEADER_WORDS + recordWords));
    if (withLinks) {
      const at = HEADER_WORDS + recordWords;
      state.links!.set(words.subarray(at, at + records * LINK_WORDS));
    }
    return state;
  }
}

/** Bytes of a state buffer with room for `records` records. */
export function bytesFor(records: number, withLinks: boolean): number {
  return (HEADER_WORDS + records * (RECORD_WORDS + (withLinks ? LINK_WORDS : 0))) * 4;
}
