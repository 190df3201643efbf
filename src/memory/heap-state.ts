// The buffer that holds a heap's state (see format.ts) and the typed arrays over its regions.
// The record and node regions grow by replacing the buffer (about 1/8 at a time, so growth
// slack stays small); code that holds `r` or `n` re-reads them after anything that may take a
// record or a node.
import {
  HEADER_WORDS,
  H_NODE_CAPACITY,
  H_RECORD_CAPACITY,
  NODE_WORDS,
  RECORD_WORDS,
} from './format.js';

const MIN_RECORDS = 16;
const MIN_NODES = 4;

/** Room in a state buffer: records and index nodes. */
interface Room {
  records: number;
  nodes: number;
}

export class HeapState {
  /** The state's memory; for a shared heap a growable SharedArrayBuffer, grown in place. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** The header slots. */
  h: Uint32Array;
  /** The records, RECORD_WORDS words each. */
  r: Uint32Array;
  /** The index trees' nodes, NODE_WORDS words each. */
  n: Uint32Array;

  /**
   * Views of `buffer` for `room`. Writes the capacities into the header unless `attaching`:
   * another thread's header is written only under the lock, by the thread that grows it.
   */
  private constructor(buffer: ArrayBuffer | SharedArrayBuffer, room: Room, attaching = false) {
    this.buffer = buffer;
    this.h = new Uint32Array(buffer, 0, HEADER_WORDS);
    this.r = this.n = this.h; // set by views()
    this.views(room);
    if (!attaching) {
      this.h[H_RECORD_CAPACITY] = room.records;
      this.h[H_NODE_CAPACITY] = room.nodes;
    }
  }

  /** (Re)makes the region views for `room`. */
  private views(room: Room): void {
    const buffer = this.buffer;
    const at = HEADER_WORDS + room.records * RECORD_WORDS;
    this.r = new Uint32Array(buffer, HEADER_WORDS * 4, room.records * RECORD_WORDS);
    this.n = new Uint32Array(buffer, at * 4, room.nodes * NODE_WORDS);
  }

  /** True when the state lives in a SharedArrayBuffer that other threads may attach. */
  get shared(): boolean {
    return !(this.buffer instanceof ArrayBuffer);
  }

  /**
   * A zeroed state in a growable SharedArrayBuffer that can grow up to `maxBytes`, with room
   * for `records` records.
   */
  static createShared(records: number, maxBytes: number): HeapState {
    const room = { records: Math.max(MIN_RECORDS, records), nodes: MIN_NODES };
    const bytes = bytesFor(room);
    const buffer = new SharedArrayBuffer(bytes, { maxByteLength: Math.max(bytes, maxBytes) });
    return new HeapState(buffer, room);
  }

  /**
   * The state of an existing shared buffer (another thread's heap), its views from its header
   * as read now, without the lock: `follow()` at the start of every operation, under the lock,
   * makes them again if another thread was growing the state meanwhile. Writes nothing.
   */
  static attach(buffer: SharedArrayBuffer): HeapState {
    const h = new Uint32Array(buffer, 0, HEADER_WORDS);
    const room = { records: h[H_RECORD_CAPACITY], nodes: h[H_NODE_CAPACITY] };
    return new HeapState(buffer, room, true);
  }

  /**
   * Follows growth made by another thread (shared states only): when the header's capacities
   * differ from this thread's views, the views are made again. Call at the start of every
   * operation, under the lock. O(1).
   */
  follow(): void {
    const h = this.h;
    if (
      h[H_RECORD_CAPACITY] * RECORD_WORDS !== this.r.length ||
      h[H_NODE_CAPACITY] * NODE_WORDS !== this.n.length
    ) {
      this.views({ records: h[H_RECORD_CAPACITY], nodes: h[H_NODE_CAPACITY] });
    }
  }

  /** A zeroed state with room for `records` records and `nodes` nodes. */
  static create(records: number, nodes = MIN_NODES): HeapState {
    const room = { records: Math.max(MIN_RECORDS, records), nodes: Math.max(MIN_NODES, nodes) };
    return new HeapState(new ArrayBuffer(bytesFor(room)), room);
  }

  /** Records the buffer holds room for. */
  get capacity(): number {
    return this.h[H_RECORD_CAPACITY];
  }

  /** Nodes the buffer holds room for. */
  get nodeCapacity(): number {
    return this.h[H_NODE_CAPACITY];
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
    this.replace({ records: next, nodes: this.nodeCapacity });
  }

  /** Makes room for at least `nodes` nodes, growing by about an eighth. O(state). */
  growNodes(nodes: number): void {
    const old = this.nodeCapacity;
    if (nodes <= old) return;
    this.replace({ records: this.capacity, nodes: Math.max(nodes, old + Math.ceil(old / 8)) });
  }

  /** An independent, unshared copy. O(state). */
  clone(): HeapState {
    const room = { records: this.capacity, nodes: this.nodeCapacity };
    const bytes = bytesFor(room);
    const copy = new ArrayBuffer(bytes);
    new Uint8Array(copy).set(new Uint8Array(this.buffer, 0, bytes));
    return new HeapState(copy, room);
  }

  /**
   * A state over a copy of `words` (header, then `records` records, then `nodes` nodes), with
   * room for about an eighth more records.
   */
  static fromWords(words: Uint32Array, records: number, nodes: number): HeapState {
    const state = HeapState.create(records + Math.ceil(records / 8), nodes + 1);
    state.h.set(words.subarray(0, HEADER_WORDS));
    state.h[H_RECORD_CAPACITY] = state.r.length / RECORD_WORDS;
    state.h[H_NODE_CAPACITY] = state.n.length / NODE_WORDS;
    let at = HEADER_WORDS;
    state.r.set(words.subarray(at, (at += records * RECORD_WORDS)));
    state.n.set(words.subarray(at, at + nodes * NODE_WORDS));
    return state;
  }

  private replace(room: Room): void {
    if (!(this.buffer instanceof ArrayBuffer)) {
      this.growInPlace(room);
      return;
    }
    const grown = new HeapState(new ArrayBuffer(bytesFor(room)), room);
    grown.h.set(this.h);
    grown.h[H_RECORD_CAPACITY] = room.records;
    grown.h[H_NODE_CAPACITY] = room.nodes;
    grown.r.set(this.r);
    grown.n.set(this.n);
    this.buffer = grown.buffer;
    this.h = grown.h;
    this.r = grown.r;
    this.n = grown.n;
  }

  /**
   * Grows a shared buffer in place (other threads keep the same buffer and follow), moving the
   * node region up to its new place when the records grow. O(state).
   * @throws RangeError when the buffer cannot grow that far (its maxByteLength).
   */
  private growInPlace(wanted: Room): void {
    const buffer = this.buffer as SharedArrayBuffer;
    const oldRecords = this.capacity;
    const oldNodes = this.nodeCapacity;
    // The eighth of room to spare is cut to what the reservation (maxByteLength) holds.
    const room = { ...wanted };
    if (bytesFor(room) > buffer.maxByteLength) {
      if (room.records > oldRecords) {
        room.records = Math.max(
          oldRecords + 1,
          Math.floor(
            (buffer.maxByteLength - bytesFor({ records: 0, nodes: room.nodes })) /
              (RECORD_WORDS * 4),
          ),
        );
      } else {
        room.nodes = Math.max(
          oldNodes + 1,
          Math.floor(
            (buffer.maxByteLength - bytesFor({ records: room.records, nodes: 0 })) /
              (NODE_WORDS * 4),
          ),
        );
      }
    }
    const bytes = bytesFor(room);
    if (bytes > buffer.maxByteLength) throw new RangeError('internal: shared state is full');
    buffer.grow(bytes);
    const all = new Uint32Array(buffer);
    const oldNodesAt = HEADER_WORDS + oldRecords * RECORD_WORDS;
    const nodesAt = HEADER_WORDS + room.records * RECORD_WORDS;
    all.copyWithin(nodesAt, oldNodesAt, oldNodesAt + oldNodes * NODE_WORDS);
    // What the move uncovered is new room: zero it.
    all.fill(0, oldNodesAt, nodesAt);
    all.fill(0, nodesAt + oldNodes * NODE_WORDS, nodesAt + room.nodes * NODE_WORDS);
    this.h[H_RECORD_CAPACITY] = room.records;
    this.h[H_NODE_CAPACITY] = room.nodes;
    this.views(room);
  }
}

/** Bytes of a state buffer with the given room. */
export function bytesFor(room: Room): number {
  return (HEADER_WORDS + room.records * RECORD_WORDS + room.nodes * NODE_WORDS) * 4;
}
