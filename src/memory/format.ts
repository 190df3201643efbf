// The format of a heap's state: one buffer holding a header of named 32-bit slots, the block
// records, and the nodes of the index trees (the gap index, and in best-fit heaps the size
// index, sharing one pool of nodes). Everything a heap knows lives here, so the state can be
// copied (save/restore), planned on (a clone) and shared.
//
//   [header: HEADER_WORDS words]
//   [records: recordCapacity * RECORD_WORDS words]
//   [nodes: nodeCapacity * NODE_WORDS words]
//
// All words are little-endian 32-bit unsigned integers in snapshots.

/** "HHP1" read as a little-endian word: every state and snapshot starts with it. */
export const MAGIC = 0x31504848;
/** Version of this format; a later index that changes the layout bumps it. */
export const VERSION = 5;

// Header slots.
export const H_MAGIC = 0;
export const H_VERSION = 1;
/** Bytes managed. */
export const H_CAPACITY = 2;
/** Alignment, a power of two. */
export const H_ALIGN = 3;
/** FLAG_* bits. */
export const H_FLAGS = 4;
/** compactSliceBytes, 0 when unset. */
export const H_SLICE_BYTES = 5;
export const H_MAX_BLOCKS = 6;
/** Root node of the gap index (the gaps in address order); NIL in a best-fit heap outside a compaction. */
export const H_GAP_ROOT = 7;
/** Root node of the size index (best fit: the gaps by size, then address), NIL without one. */
export const H_SIZE_ROOT = 8;
/** Gaps (free blocks): records whose GAP is not 0. */
export const H_GAPS = 9;
/** Bytes occupied by live blocks. */
export const H_USED = 10;
export const H_LIVE = 11;
/** Live blocks holding at least one pin. */
export const H_PINNED = 12;
/** Largest H_USED seen. */
export const H_PEAK = 13;
export const H_COMPACTIONS = 14;
/** Bytes moved by compactions, low and high 32 bits. */
export const H_BYTES_MOVED_LO = 15;
export const H_BYTES_MOVED_HI = 16;
/** Increases once per batch of moves (wraps at 2^32). */
export const H_EPOCH = 17;
/** Records ever handed out, the nil record included: ids at or above it were never used. */
export const H_RECORDS_USED = 18;
/** Unused records below H_RECORDS_USED, a FIFO queue linked through their NEXT word. */
export const H_UNUSED_HEAD = 19;
export const H_UNUSED_TAIL = 20;
/** Records the buffer holds room for. */
export const H_RECORD_CAPACITY = 21;
/** Snapshots only: checksum of header and metadata, computed with this slot 0. */
export const H_CHECKSUM = 22;
/** Levels of the gap index: 1 when its root is a leaf. */
export const H_GAP_HEIGHT = 23;
/** The largest gap, 0 when none (the gap index's root maximum). */
export const H_LARGEST = 24;
/** Nodes ever handed out, the nil node included. */
export const H_NODES_USED = 25;
/** Unused nodes below H_NODES_USED, a stack linked through their second word. */
export const H_NODE_FREE = 26;
/** Nodes the buffer holds room for. */
export const H_NODE_CAPACITY = 27;
/**
 * Shared heaps: a random nonzero tag naming the heap in every thread (0 for a heap made
 * unshared; a restored snapshot of a shared heap keeps its tag, unused).
 */
export const H_HEAP_TAG = 28;
/** Live blocks whose own alignment is above the heap's. */
export const H_OVER_ALIGNED = 29;
/** Levels of the size index: 1 when its root is a leaf, 0 without one (first fit). */
export const H_SIZE_HEIGHT = 30;
/** Reserved header words, zero (checked). */
export const H_RESERVED = 31;
export const H_RESERVED_END = 32;
/** Words reserved for the lock of a shared heap. */
export const H_LOCK = 32;
export const HEADER_WORDS = 40;

export const FLAG_AUTO_COMPACT = 1;
export const FLAG_ZERO_FILL = 2;
export const FLAG_SCRAMBLE = 4;
export const FLAG_BEST_FIT = 8;
/** An offsets-only heap (OffsetHeap): no bytes of its own, none in its snapshots. */
export const FLAG_OFFSETS_ONLY = 16;
export const KNOWN_FLAGS = 31;

/** Words per block record. */
export const RECORD_WORDS = 5;
/** Gaps one leaf of an index tree holds. */
export const LEAF_SLOTS = 48;
/** Children one inner node of an index tree holds. */
export const FANOUT = 32;
/** Words per index node: a count, a link, then two arrays of LEAF_SLOTS or three of FANOUT. */
export const NODE_WORDS = 2 + Math.max(2 * LEAF_SLOTS, 3 * FANOUT);
