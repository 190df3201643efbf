// Snapshots: a heap's whole state and bytes in one self-describing Uint8Array.
//
//   [header: HEADER_WORDS words][records: used * RECORD_WORDS words]
//   [nodes: nodesUsed * NODE_WORDS words][bytes: capacity; none for an offsets-only heap]
//
// Words are little-endian. The header's H_CHECKSUM slot holds a checksum of the header and
// metadata words, computed with that slot 0; the heap bytes are the user's data and carry none.
// Decoding checks the format (length, magic, version, checksum); the layout's own check vets
// every invariant before a restored heap is used.
import {
  FLAG_OFFSETS_ONLY,
  HEADER_WORDS,
  H_CAPACITY,
  H_CHECKSUM,
  H_FLAGS,
  H_LOCK,
  H_MAGIC,
  H_NODES_USED,
  H_NODE_CAPACITY,
  H_RECORDS_USED,
  H_RECORD_CAPACITY,
  H_VERSION,
  MAGIC,
  NODE_WORDS,
  RECORD_WORDS,
  VERSION,
} from './format.js';
import { HeapState } from './heap-state.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Record ids stay below this (as in the layout). */
const MAX_RECORDS = 2 ** 28;
/** More index nodes than records can never be needed. */
const MAX_NODES = MAX_RECORDS;

/** Words of header and metadata for a state that has used `used` records and `nodes` nodes. */
function metadataWords(used: number, nodes: number): number {
  return HEADER_WORDS + used * RECORD_WORDS + nodes * NODE_WORDS;
}

/** A 32-bit checksum of `words`; any change to a single word changes it. O(words). */
export function checksum(words: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x9e3779b1);
    h ^= h >>> 15; // both steps are bijections of h, so no single-word change cancels out
  }
  return h >>> 0;
}

/** Encodes `state` and the managed `bytes`. O(metadata + capacity). */
export function encodeSnapshot(state: HeapState, bytes: Uint8Array): Uint8Array {
  const used = state.h[H_RECORDS_USED];
  const nodes = state.h[H_NODES_USED];
  const n = metadataWords(used, nodes);
  const out = new Uint8Array(n * 4 + bytes.length);
  const words = new Uint32Array(out.buffer, 0, n);
  words.set(state.h);
  words.set(state.r.subarray(0, used * RECORD_WORDS), HEADER_WORDS);
  words.set(state.n.subarray(0, nodes * NODE_WORDS), HEADER_WORDS + used * RECORD_WORDS);
  words[H_RECORD_CAPACITY] = used;
  words[H_NODE_CAPACITY] = nodes;
  words.fill(0, H_LOCK, HEADER_WORDS); // a lock is held by a process, not by the data
  words[H_CHECKSUM] = 0;
  words[H_CHECKSUM] = checksum(words);
  if (!LITTLE_ENDIAN) swapWords(words);
  out.set(bytes, n * 4);
  return out;
}

/** What a snapshot decodes to: the state, and the heap bytes (a view into the snapshot). */
export interface DecodedSnapshot {
  state: HeapState;
  bytes: Uint8Array;
}

/**
 * Decodes a snapshot's format, or returns what is wrong with it. The state's invariants are
 * not checked here (the layout's check does that). O(metadata).
 */
export function decodeSnapshot(snapshot: Uint8Array): DecodedSnapshot | string {
  const headerBytes = HEADER_WORDS * 4;
  if (snapshot.length < headerBytes) {
    return `truncated: ${snapshot.length} bytes, a header alone takes ${headerBytes}`;
  }
  const header = wordsOf(snapshot, HEADER_WORDS);
  if (header[H_MAGIC] !== MAGIC) return 'wrong magic number: not a handle-heap snapshot';
  if (header[H_VERSION] !== VERSION) {
    return `unknown format version ${header[H_VERSION]} (this version reads ${VERSION})`;
  }
  const used = header[H_RECORDS_USED];
  if (used < 2 || used > MAX_RECORDS) return `record count ${used} is out of range`;
  const nodes = header[H_NODES_USED];
  if (nodes < 2 || nodes > MAX_NODES) return `index node count ${nodes} is out of range`;
  const n = metadataWords(used, nodes);
  const offsetsOnly = (header[H_FLAGS] & FLAG_OFFSETS_ONLY) !== 0;
  const expected = n * 4 + (offsetsOnly ? 0 : header[H_CAPACITY]);
  if (snapshot.length !== expected) {
    return snapshot.length < expected
      ? `truncated: ${snapshot.length} bytes, the header describes ${expected}`
      : `${snapshot.length - expected} bytes more than the header describes`;
  }
  if (header[H_RECORD_CAPACITY] !== used) return 'record capacity does not match the record count';
  if (header[H_NODE_CAPACITY] !== nodes) return 'node capacity does not match the node count';
  const words = wordsOf(snapshot, n);
  const stored = words[H_CHECKSUM];
  words[H_CHECKSUM] = 0;
  if (checksum(words) !== stored) return 'checksum mismatch: the header or metadata is damaged';
  for (let i = H_LOCK; i < HEADER_WORDS; i++) {
    if (words[i] !== 0) return 'reserved header words are not zero';
  }
  const state = HeapState.fromWords(words, used, nodes);
  return { state, bytes: snapshot.subarray(n * 4) };
}

/** The first `n` words of `bytes` as host-order words, in a new aligned buffer. */
function wordsOf(bytes: Uint8Array, n: number): Uint32Array {
  const copy = new Uint8Array(n * 4);
  copy.set(bytes.subarray(0, n * 4));
  const words = new Uint32Array(copy.buffer);
  if (!LITTLE_ENDIAN) swapWords(words);
  return words;
}

function swapWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
  }
}
