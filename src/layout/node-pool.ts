// The node pool: the state's node region (NODE_WORDS words per node), shared by the gap index
// and, in best-fit heaps, the size index. Node 0 is the nil node; H_NODES_USED counts the nodes
// ever handed out (nil included) and H_NODE_FREE heads a stack of unused ones linked through
// their LINK word, so a node freed by one tree can be taken by the other.
//
// Every node starts with the same two words; what follows is the trees' layout, node-tree.ts's
// (two arrays of LEAF_SLOTS in a leaf, three of FANOUT in an inner node). The depth limit,
// bulk-build fill and the word moves made inside and between nodes are here, for node-tree.ts
// and the two indexes' hot paths alike.
import { FANOUT, H_NODES_USED, H_NODE_FREE, LEAF_SLOTS, NODE_WORDS } from '../memory/format.js';
import type { HeapState } from '../memory/heap-state.js';
import { NIL } from './records.js';

/** Word of a node holding its entry count. */
export const COUNT = 0;
/** Word of an unused node linking the next unused one. */
export const LINK = 1;

/**
 * Deeper than any tree of 2^32 entries can be: a tree grows a level only when its root
 * splits, nodes split in halves, and a removal that leaves one under a quarter full
 * (LEAF_SLOTS / 4 entries, FANOUT / 4 children) merges or refills it, so 2^32 gaps take about
 * 12 levels. 16 keeps each cursor array at 64 bytes, which V8 allocates on its own heap: two
 * of them cost about 0.08 µs to make, where two of 24 entries cost 1.4 µs (a third of the time
 * to make a heap).
 */
export const MAX_HEIGHT = 16;
/** A bulk-built leaf keeps room for a few insertions before it splits. */
export const BUILD_LEAF = LEAF_SLOTS - 8;
export const BUILD_INNER = FANOUT - 4;

/**
 * Moves t[from, to) to `at` within one array, overlapping or not: a loop for a few words,
 * copyWithin for more (its call costs about as much as a loop over 16 words; it copies faster).
 */
export function move(t: Uint32Array, at: number, from: number, to: number): void {
  if (to - from > 16) {
    t.copyWithin(at, from, to);
  } else if (at < from) {
    for (let i = from; i < to; i++) t[at++] = t[i];
  } else {
    for (let i = to - 1, j = at + (to - from) - 1; i >= from; i--) t[j--] = t[i];
  }
}

/** Copies src[from, to) to dst at `at` (no views made: the hot paths allocate nothing). */
export function copy(
  dst: Uint32Array,
  at: number,
  src: Uint32Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) dst[at++] = src[i];
}

/** Makes every node unused (the trees over them are dropped: reset or rebuild both). O(1). */
export function resetNodes(state: HeapState): void {
  state.h[H_NODES_USED] = 1; // the nil node
  state.h[H_NODE_FREE] = NIL;
}

/**
 * A node with no entries: the last one freed, else a new one. May replace the buffer (h, r and
 * n included): re-read the views after. O(1), O(state) when the region grows.
 */
export function takeNode(state: HeapState): number {
  const h = state.h;
  let id = h[H_NODE_FREE];
  if (id !== NIL) {
    h[H_NODE_FREE] = state.n[id * NODE_WORDS + LINK];
  } else {
    id = h[H_NODES_USED];
    if (id === state.nodeCapacity) state.growNodes(id + 1); // replaces n and h
    state.h[H_NODES_USED] = id + 1;
  }
  const t = state.n;
  t[id * NODE_WORDS + COUNT] = 0;
  t[id * NODE_WORDS + LINK] = 0;
  return id;
}

/** Gives node `id` back to the pool. O(1). */
export function freeNode(state: HeapState, id: number): void {
  const t = state.n;
  const h = state.h;
  t[id * NODE_WORDS + COUNT] = 0;
  t[id * NODE_WORDS + LINK] = h[H_NODE_FREE];
  h[H_NODE_FREE] = id;
}

/**
 * Checks the pool's counters, reading nothing outside the state and never looping. A
 * description of the problem, or undefined. O(1). Run before the trees' checks, which trust
 * H_NODES_USED as the bound of node ids.
 */
export function checkPool(state: HeapState): string | undefined {
  const used = state.h[H_NODES_USED];
  if (used < 2 || used > state.nodeCapacity) return `${used} index nodes used`;
  return undefined;
}

/**
 * Checks that every node below H_NODES_USED but nil is in exactly one place: marked in `seen`
 * (1 for the nodes the trees' checks visited) or on the unused stack, which this walks and
 * marks. A description of the problem, or undefined. O(nodes).
 */
export function checkAccounting(state: HeapState, seen: Uint8Array): string | undefined {
  const t = state.n;
  const used = state.h[H_NODES_USED];
  for (let q = state.h[H_NODE_FREE]; q !== NIL; q = t[q * NODE_WORDS + LINK]) {
    if (q >= used || seen[q] !== 0) return 'unused index node list is broken';
    seen[q] = 1;
  }
  for (let id = 1; id < used; id++) {
    if (seen[id] === 0) return 'index node accounting is broken';
  }
  return undefined;
}
