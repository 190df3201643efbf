/**
 * The public types of handle-heap: handles, options, stats, block listings, move events.
 */

import type { PlacementStrategy } from '../layout/block-layout.js';
import type { CompactResult } from '../core/compactor.js';
import type { HeapStats } from '../core/heap-core.js';

export type { CompactResult, HeapStats, PlacementStrategy };

/** A live block's name: a positive integer, never 0, that stays valid while the block moves. */
export type Handle = number;

/** The options every heap takes. */
export interface HeapOptions {
  /** Every block starts at a multiple of this power of two and occupies a multiple of it. Default 8. */
  align?: number;
  /** Compact when no free block fits but the total free space does. Default true. */
  autoCompact?: boolean;
  /** Which free block an allocation takes. Default `'first-fit'`. */
  strategy?: PlacementStrategy;
  /**
   * When set, the auto-compaction of async `alloc` runs in slices of about this many bytes,
   * yielding to the event loop between them. Sync calls always compact at once.
   */
  compactSliceBytes?: number;
  /**
   * Debugging aid: after every alloc, free, resize and compaction, move every unpinned block
   * that can move, so code that keeps offsets or views across operations fails at once.
   */
  scramble?: boolean;
  /**
   * The most live blocks the heap holds; an allocation past it throws `ERR_TOO_MANY_BLOCKS`.
   * Default and maximum 2^28 - 4. A shared heap may hold fewer: its state buffer reserves at
   * most 1 GiB (read the effective figure from `mm.maxBlocks`).
   */
  maxBlocks?: number;
}

/** Options of `new OffsetHeap(options)`. */
export interface OffsetHeapOptions extends HeapOptions {
  /** Bytes the heap hands out offsets in. Rounded down to a multiple of `align`. */
  size: number;
}

/** Options of `new MemoryManager(options)`. Give exactly one of `size` and `buffer`. */
export interface MemoryManagerOptions extends HeapOptions {
  /** Bytes to manage, in a new ArrayBuffer. Rounded down to a multiple of `align`. */
  size?: number;
  /**
   * Memory to manage instead of a new ArrayBuffer: the heap reads and writes it in place.
   * Its length is rounded down to a multiple of `align`. A `WebAssembly.Memory` is managed
   * from its byte 0 over its length at construction; the heap follows `memory.buffer` when
   * `grow` replaces it. A Uint8Array (Node's `Buffer` included) is managed as the plain
   * bytes it covers; when its buffer is detached (transferred, or replaced by a grow of the
   * WebAssembly memory it views), every operation throws `ERR_BUFFER_DETACHED`.
   */
  buffer?: ArrayBuffer | SharedArrayBuffer | Uint8Array | WebAssembly.Memory;
  /** New blocks (and the new bytes of a grown block) read as zeros. Default true. */
  zeroFill?: boolean;
  /**
   * Put every byte of the heap's state in SharedArrayBuffers, so Workers can attach the same
   * heap with `MemoryManager.from(mm.shared)`. With `size`, the bytes go into a new
   * SharedArrayBuffer; with `buffer`, it must be a SharedArrayBuffer or a Uint8Array over one.
   * Default false.
   */
  shared?: boolean;
  /**
   * Shared heaps: how long a Sync call waits for the lock, and how long an async call waits while
   * the holder shows no progress, in milliseconds (see `from`). Default 5000.
   */
  lockTimeout?: number;
}

/**
 * What `mm.shared` gives and `MemoryManager.from` takes: a structured-cloneable description of
 * a shared heap (post it to a Worker). Attaching it makes the same heap, not a copy.
 */
export interface SharedHeap {
  readonly kind: 'handle-heap';
  /** Format version of the state. */
  readonly version: number;
  /** The heap's state: header, records, index nodes, and the lock words. */
  readonly state: SharedArrayBuffer;
  /** The memory holding the managed bytes. */
  readonly memory: SharedArrayBuffer;
  /** Where in `memory` the managed bytes start. */
  readonly byteOffset: number;
  /** Bytes managed (the heap's capacity). */
  readonly byteLength: number;
}

/** Options of `MemoryManager.from(shared, options)`. */
export interface AttachOptions {
  /**
   * How long a Sync call waits for the lock, and how long an async call waits while the holder
   * shows no progress, in milliseconds. Default 5000.
   */
  lockTimeout?: number;
}

/** A live block, as listed by `blocks()`. */
export interface BlockInfo {
  handle: Handle;
  /** Current offset in the heap; changes when the block moves. */
  offset: number;
  /** The size that was asked for. */
  size: number;
}

/**
 * One step of a move plan, as given to `onMove` listeners. Frozen. Apply the steps of a batch
 * in order:
 * - `'move'`: copy `size` bytes at heap offset `from` to heap offset `to` (the ranges may
 *   overlap: memmove semantics, `copyWithin`);
 * - `'stage'`: copy `size` bytes at heap offset `from` to offset `to` of a staging area;
 * - `'unstage'`: copy `size` bytes at offset `from` of the staging area to heap offset `to`.
 *
 * A block that must get out of the way before its new place is free (a resize that compacts,
 * a scramble, a rearrangement) is staged and unstaged; staging offsets start at 0 in each
 * batch, packed at the heap's alignment (`stagingBytes(moves)` is the room a batch needs).
 */
export interface BlockMove {
  readonly kind: 'move' | 'stage' | 'unstage';
  readonly handle: Handle;
  /** Where the bytes are: a heap offset, or for `'unstage'` a staging offset. */
  readonly from: number;
  /** Where they go: a heap offset, or for `'stage'` a staging offset. */
  readonly to: number;
  /** Bytes of the block that carry data (its size before the move). */
  readonly size: number;
}

/**
 * Receives the move plan of one operation, or of one slice of a compaction: a frozen array of
 * steps that, applied in order in one buffer (memmove semantics, staging steps through a
 * staging area), make a copy of the heap's bytes taken before the batch equal the heap after
 * it. A consumer's cost is the bytes moved, never the capacity. Each block appears at most
 * once per batch, as one `'move'` or as one `'stage'` and its `'unstage'`, so its first
 * `from` is where it was before the batch and its last `to` where it is after.
 *
 * Called synchronously at the end of the operation, before it returns. A listener may read the
 * heap (`read`, `view`, `offsetOf`, `stats`, ...), write it, and pin or unpin blocks. It may
 * call the `...Sync` mutators when the batch comes from a `...Sync` call; when it comes from an
 * async call or a slice of a sliced compaction, the heap's lock is held and they throw
 * `HeapBusyError`: call the async methods instead, which run after the current operation.
 * Batches caused by a listener are delivered after the current one, in order.
 */
export type MoveListener = (moves: readonly BlockMove[]) => void;

/** Options of `alloc(size, options)`. */
export interface AllocOptions {
  /**
   * The block's offset is a multiple of this: a power of two up to 2^30 (default and minimum:
   * the heap's `align`). Compaction and resize keep it; the padding in front of the block stays
   * free space.
   */
  align?: number;
}

/**
 * Options of `compact()`. With either option the compaction is incremental and starts after
 * the current task's microtasks have run (it takes the async lock), where `compact()` without
 * options starts at once when nothing is pending.
 */
export interface CompactOptions {
  /** Move about this many bytes at a time, yielding to the event loop (a macrotask) between slices. */
  sliceBytes?: number;
  /** Stops the compaction after the current slice; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** A built-in typed-array constructor, for `view(handle, Float64Array)`. */
export interface TypedArrayConstructor<T extends ArrayBufferView> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}
