/**
 * The public heap: argument checks, typed errors, locking, move events and the compaction
 * policy, over the data structures of block-layout, free-index, size-index, handle-table,
 * compactor and scrambler.
 */
import {
  checkBytes,
  checkIndex,
  checkNumber,
  checkOptionalBoolean,
  checkSize,
} from './arguments.js';
import { BlockLayout, type PlacementStrategy } from './block-layout.js';
import { NEXT, NIL, OFF, REQ, SIZE, isLive, pinsOf } from './block-records.js';
import { Compaction, type CompactResult, type MoveSink } from './compactor.js';
import {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  OutOfMemoryError,
  argTypeError,
  describe,
  outOfRangeError,
} from './errors.js';
import { handleOf, recordOf } from './handle-table.js';
import { MutexLock, type HeapLock } from './lock.js';
import { scramble } from './scrambler.js';

export type { CompactResult } from './compactor.js';
export type { PlacementStrategy } from './block-layout.js';

/** A live block's name: a positive integer, never 0, that stays valid while the block moves. */
export type Handle = number;

/** Options of `new MemoryManager(options)`. Give exactly one of `size` and `buffer`. */
export interface MemoryManagerOptions {
  /** Bytes to manage, in a new ArrayBuffer. Rounded down to a multiple of `align`. */
  size?: number;
  /**
   * Memory to manage instead of a new ArrayBuffer: the heap reads and writes it in place.
   * Its length is rounded down to a multiple of `align`.
   */
  buffer?: ArrayBuffer | SharedArrayBuffer | Uint8Array;
  /** Every block starts at a multiple of this power of two and occupies a multiple of it. Default 8. */
  align?: number;
  /** Compact when no free block fits but the total free space does. Default true. */
  autoCompact?: boolean;
  /** New blocks (and the new bytes of a grown block) read as zeros. Default true. */
  zeroFill?: boolean;
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
}

/** A snapshot of the heap's counters, from `stats()`. */
export interface HeapStats {
  /** Bytes managed. */
  capacity: number;
  /** Bytes occupied by live blocks (their sizes rounded up to the alignment). */
  used: number;
  /** `capacity - used`. */
  free: number;
  /** Size of the largest free block: the largest allocation that needs no compaction. */
  largestFree: number;
  liveBlocks: number;
  freeBlocks: number;
  /** Live blocks holding at least one pin. */
  pinnedBlocks: number;
  /** `1 - largestFree / free`, 0 when nothing is free: 0 means all free space is one block. */
  fragmentation: number;
  /** The largest `used` seen. */
  peakUsed: number;
  /** Compactions run, explicit and automatic (a sliced compaction counts once). */
  compactions: number;
  /** Bytes copied by all compactions. */
  bytesMoved: number;
}

/** A live block, as listed by `blocks()`. */
export interface BlockInfo {
  handle: Handle;
  /** Current offset in the heap; changes when the block moves. */
  offset: number;
  /** The size that was asked for. */
  size: number;
}

/** One block move, as given to `onMove` listeners. */
export interface BlockMove {
  handle: Handle;
  /** Offset before the batch of moves. */
  from: number;
  /** Offset after the batch of moves. */
  to: number;
  /** Bytes of the block that carry data (its size before the move). */
  size: number;
}

/** Receives the moves of one operation, or of one slice of a compaction. */
export type MoveListener = (moves: readonly BlockMove[]) => void;

/** Options of `compact()`. */
export interface CompactOptions {
  /** Move about this many bytes at a time, yielding to the event loop (a macrotask) between slices. */
  sliceBytes?: number;
  /** Stops the compaction after the current slice; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** A typed-array constructor, for `view(handle, Float64Array)`. */
export interface TypedArrayConstructor<T extends ArrayBufferView> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

const OPTION_NAMES = [
  'size',
  'buffer',
  'align',
  'autoCompact',
  'zeroFill',
  'strategy',
  'compactSliceBytes',
  'scramble',
];
const DEFAULT_ALIGN = 8;
const MAX_ALIGN = 2 ** 30;
/** Offsets and sizes are stored in 32 bits. */
const MAX_BYTES = 2 ** 32 - 1;

/**
 * A relocatable heap over one fixed-size block of bytes. Blocks are named by integer handles,
 * never by offsets, so the heap may move them: compaction slides them together, and an
 * allocation succeeds whenever the total free space suffices.
 *
 * `alloc`, `free`, `resize` and `compact` take an async lock and run one at a time in call
 * order; their `...Sync` twins run at once and throw `HeapBusyError` while an async call is
 * pending. Costs: F is the number of free blocks, B the number of blocks, n the bytes touched.
 */
export class MemoryManager {
  /** Bytes managed. */
  readonly capacity: number;
  /** Alignment of every block, a power of two. */
  readonly align: number;
  readonly autoCompact: boolean;
  readonly zeroFill: boolean;
  readonly strategy: PlacementStrategy;
  readonly scramble: boolean;
  private readonly heap: Uint8Array;
  private readonly layout: BlockLayout;
  private readonly lock: HeapLock = new MutexLock();
  private readonly mask: number;
  private readonly sliceBytes: number | undefined;
  private peakUsed = 0;
  private compactions = 0;
  private bytesMoved = 0;
  private moveEpoch = 0;
  private listeners: MoveListener[] = [];
  /** Moves of the operation under way, collected only while someone listens. */
  private batch: BlockMove[] = [];
  /** True when blocks moved since the last published batch (listeners or not). */
  private moved = false;
  /** Batches waiting for listeners, and whether listeners are being called now. */
  private pendingBatches: (readonly BlockMove[])[] = [];
  private publishing = false;
  private readonly sink: MoveSink = (p, from, to) => {
    const r = this.layout.records.r;
    this.batch.push({ handle: handleOf(r, p), from, to, size: r[p + REQ] });
  };

  /**
   * @param options the capacity in bytes, or {@link MemoryManagerOptions}.
   * @throws TypeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for options of the wrong
   *   type, unknown options, or both or neither of `size` and `buffer`; RangeError
   *   (`ERR_OUT_OF_RANGE`) for a size or alignment out of range.
   */
  constructor(options: number | MemoryManagerOptions) {
    const o: MemoryManagerOptions = typeof options === 'number' ? { size: options } : options;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be a number or an object. Received ${describe(options)}.`,
      );
    }
    for (const key of Object.keys(o)) {
      if (!OPTION_NAMES.includes(key)) {
        throw argTypeError(
          'ERR_INVALID_ARG_VALUE',
          `Unknown option "${key}". Known options: ${OPTION_NAMES.join(', ')}.`,
        );
      }
    }
    const align = o.align === undefined ? DEFAULT_ALIGN : o.align;
    checkNumber('align', align);
    if (!Number.isInteger(align) || align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
      throw outOfRangeError(
        `The value of "align" is out of range. It must be a power of two from 1 to ${MAX_ALIGN}. Received ${align}.`,
      );
    }
    checkOptionalBoolean('autoCompact', o.autoCompact);
    checkOptionalBoolean('zeroFill', o.zeroFill);
    checkOptionalBoolean('scramble', o.scramble);
    const strategy = o.strategy === undefined ? 'first-fit' : o.strategy;
    if (strategy !== 'first-fit' && strategy !== 'best-fit') {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `The "strategy" option must be 'first-fit' or 'best-fit'. Received ${describe(strategy)}.`,
      );
    }
    if (o.compactSliceBytes !== undefined) checkSize('compactSliceBytes', o.compactSliceBytes);
    if ((o.size === undefined) === (o.buffer === undefined)) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        'Give exactly one of the "size" and "buffer" options.',
      );
    }
    let heap: Uint8Array;
    if (o.size !== undefined) {
      checkSize('size', o.size);
      if (o.size > MAX_BYTES) {
        throw outOfRangeError(
          `The value of "size" is out of range. It must be at most ${MAX_BYTES}. Received ${o.size}.`,
        );
      }
      heap = new Uint8Array(o.size - (o.size % align));
    } else {
      heap = toBytes(o.buffer);
      if (heap.length > MAX_BYTES) {
        throw outOfRangeError(
          `The "buffer" holds ${heap.length} bytes; at most ${MAX_BYTES} can be managed.`,
        );
      }
      heap = heap.subarray(0, heap.length - (heap.length % align));
    }
    if (heap.length === 0) {
      throw outOfRangeError(
        `The heap must hold at least one block of ${align} bytes (the alignment).`,
      );
    }
    this.heap = heap;
    this.capacity = heap.length;
    this.align = align;
    this.mask = align - 1;
    this.autoCompact = o.autoCompact ?? true;
    this.zeroFill = o.zeroFill ?? true;
    this.scramble = o.scramble ?? false;
    this.strategy = strategy;
    this.sliceBytes = o.compactSliceBytes;
    this.layout = new BlockLayout(this.capacity, strategy);
  }

  /**
   * Increases whenever any block moves (once per operation or compaction slice that moved
   * blocks). Offsets and views taken at the same epoch are still valid.
   */
  get epoch(): number {
    return this.moveEpoch;
  }

  /**
   * Allocates a block of `size` bytes where the strategy says (first fit by default),
   * compacting first when only compaction makes room and `autoCompact` is on. Waits for
   * pending async operations. O(log F), plus O(B + moved bytes) when it compacts, plus
   * O(size) to zero-fill.
   * @returns a promise of the new block's handle.
   * Rejects with OutOfMemoryError, TypeError `ERR_INVALID_ARG_TYPE`, RangeError `ERR_OUT_OF_RANGE`.
   */
  alloc(size: number): Promise<Handle> {
    if (this.sliceBytes === undefined) return this.lock.run(() => this.allocNow(size));
    return this.lock.runAsync(() => this.allocSliced(size, this.sliceBytes!));
  }

  /** `alloc` without waiting. @throws as `alloc` rejects, and HeapBusyError while an async call is pending. */
  allocSync(size: number): Handle {
    this.checkIdle('allocSync');
    return this.allocNow(size);
  }

  /**
   * Frees the block of `handle`; the handle becomes invalid. Coalesces with free neighbours.
   * Waits for pending async operations. O(log F).
   * Rejects with InvalidHandleError for anything but a live handle (double frees included),
   * MemoryManagerError `ERR_BLOCK_PINNED` for a pinned block.
   */
  free(handle: Handle): Promise<void> {
    return this.lock.run(() => this.freeNow(handle));
  }

  /** `free` without waiting. @throws as `free` rejects, and HeapBusyError while an async call is pending. */
  freeSync(handle: Handle): void {
    this.checkIdle('freeSync');
    this.freeNow(handle);
  }

  /**
   * Changes the size of a block, keeping its handle and its first `min(old, new)` bytes (new
   * bytes read as zeros under `zeroFill`). Shrinking never moves; growing stays in place when
   * the free space after the block suffices, else the block moves (compacting if that is what
   * makes room). Waits for pending async operations. O(log F) + O(moved bytes).
   * Rejects with OutOfMemoryError (the block untouched), InvalidHandleError, TypeError,
   * RangeError, MemoryManagerError `ERR_BLOCK_PINNED` when a pinned block would have to move.
   */
  resize(handle: Handle, size: number): Promise<void> {
    return this.lock.run(() => this.resizeNow(handle, size));
  }

  /** `resize` without waiting. @throws as `resize` rejects, and HeapBusyError while an async call is pending. */
  resizeSync(handle: Handle, size: number): void {
    this.checkIdle('resizeSync');
    this.resizeNow(handle, size);
  }

  /**
   * Moves live, unpinned blocks toward offset 0 in address order; pinned blocks stay and later
   * blocks that fit fill the gaps in front of them. Handles and contents are kept; offsets
   * change. Waits for pending async operations. O(B + moved bytes) without pins,
   * O(B log F + moved bytes) with pins.
   * @param options `sliceBytes` to move about that many bytes at a time, yielding to the event
   *   loop between slices (async `alloc`/`free` wait; `read`, `write`, `view` stay correct);
   *   `signal` to stop after the current slice (the promise then rejects with its reason).
   * @returns a promise of how many blocks and bytes moved.
   */
  compact(options: CompactOptions = {}): Promise<CompactResult> {
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(
        argTypeError(
          'ERR_INVALID_ARG_TYPE',
          `The "options" argument must be an object. Received ${describe(options)}.`,
        ),
      );
    }
    const { sliceBytes, signal } = options;
    if (sliceBytes === undefined && signal === undefined) {
      return this.lock.run(() => this.finish(this.compactNow()));
    }
    return this.lock.runAsync(() => {
      if (sliceBytes !== undefined) checkSize('sliceBytes', sliceBytes);
      if (signal !== undefined && !isAbortSignal(signal)) {
        throw argTypeError(
          'ERR_INVALID_ARG_TYPE',
          `The "signal" option must be an AbortSignal. Received ${describe(signal)}.`,
        );
      }
      return this.compactSlices(sliceBytes ?? Infinity, signal).then((result) =>
        this.finish(result),
      );
    });
  }

  /** `compact()` at once, in one piece. @throws HeapBusyError while an async call is pending. */
  compactSync(): CompactResult {
    this.checkIdle('compactSync');
    return this.finish(this.compactNow());
  }

  /**
   * Copies bytes out of a block. O(1) + O(length).
   * @param offset first byte, relative to the block. Default 0.
   * @param length bytes to copy. Default: to the end of the block.
   * @returns a new Uint8Array (a copy: it stays valid when the block moves).
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE`; RangeError `ERR_OUT_OF_RANGE`
   *   when the range crosses the block's end.
   */
  read(handle: Handle, offset = 0, length?: number): Uint8Array {
    const p = this.recordOrThrow(handle);
    const r = this.layout.records.r;
    const size = r[p + REQ];
    checkIndex('offset', offset);
    if (offset > size) throw rangeOutside('offset', offset, 0, size);
    const n = length === undefined ? size - offset : length;
    checkIndex('length', n);
    if (offset + n > size) throw rangeOutside('length', n, offset, size);
    const start = r[p + OFF] + offset;
    return this.heap.slice(start, start + n);
  }

  /**
   * Copies `data` into a block at `offset`. Checks everything before writing: on any error
   * nothing is written. O(1) + O(data.length).
   * @param data a Uint8Array, or an array-like of integers 0..255.
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE` for data of another kind or a
   *   non-number offset; RangeError `ERR_OUT_OF_RANGE` when the data would cross the block's
   *   end or an element is not a byte value.
   */
  write(handle: Handle, data: Uint8Array | ArrayLike<number>, offset = 0): void {
    const p = this.recordOrThrow(handle);
    const r = this.layout.records.r;
    const size = r[p + REQ];
    checkIndex('offset', offset);
    checkBytes('data', data);
    if (offset + data.length > size) throw rangeOutside('data.length', data.length, offset, size);
    this.heap.set(data, r[p + OFF] + offset);
  }

  /**
   * A view of the block's bytes, no copy: valid until the block moves (compare `epoch`, or pin
   * the block: a pinned block's view stays valid until it is unpinned). O(1).
   * @param type a typed-array constructor (default Uint8Array). The block's size must be a
   *   multiple of its element size and its address aligned to it.
   * @throws InvalidHandleError; TypeError for a `type` that is not a typed-array constructor;
   *   RangeError `ERR_OUT_OF_RANGE` for a size or address the element size does not divide.
   */
  view(handle: Handle): Uint8Array;
  view<T extends ArrayBufferView>(handle: Handle, type: TypedArrayConstructor<T>): T;
  view<T extends ArrayBufferView>(handle: Handle, type?: TypedArrayConstructor<T>): T | Uint8Array {
    const p = this.recordOrThrow(handle);
    const r = this.layout.records.r;
    const heap = this.heap;
    const size = r[p + REQ];
    const byteOffset = heap.byteOffset + r[p + OFF];
    if (type === undefined) return new Uint8Array(heap.buffer, byteOffset, size);
    const bytes =
      typeof type === 'function'
        ? (type as { BYTES_PER_ELEMENT?: unknown }).BYTES_PER_ELEMENT
        : undefined;
    if (typeof bytes !== 'number' || ![1, 2, 4, 8].includes(bytes)) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "type" argument must be a typed-array constructor. Received ${describe(type)}.`,
      );
    }
    if (size % bytes !== 0 || byteOffset % bytes !== 0) {
      throw outOfRangeError(
        `A ${type.name} view needs a size and an address that are multiples of ${bytes}; the block has ${size} bytes at address ${byteOffset}.`,
      );
    }
    return new type(heap.buffer, byteOffset, size / bytes);
  }

  /**
   * Pins a block: it never moves while pinned. Pins are counted: n pins need n unpins. O(1).
   * @throws InvalidHandleError; MemoryManagerError `ERR_TOO_MANY_PINS` past 524,287 pins.
   */
  pin(handle: Handle): void {
    if (!this.layout.pin(this.recordOrThrow(handle))) {
      throw new MemoryManagerError(
        'ERR_TOO_MANY_PINS',
        `Block ${handle} already holds the most pins.`,
      );
    }
  }

  /** Removes one pin. O(1). @throws InvalidHandleError; MemoryManagerError `ERR_NOT_PINNED` when it holds none. */
  unpin(handle: Handle): void {
    if (!this.layout.unpin(this.recordOrThrow(handle))) {
      throw new MemoryManagerError('ERR_NOT_PINNED', `Block ${handle} is not pinned.`);
    }
  }

  /** True when the block holds at least one pin. O(1). @throws InvalidHandleError */
  isPinned(handle: Handle): boolean {
    return pinsOf(this.layout.records.r, this.recordOrThrow(handle)) > 0;
  }

  /**
   * Calls `listener` after every operation that moved blocks (each compaction slice, a moving
   * resize, an auto-compaction, a scramble) with the moves, in the order they happened. In one
   * call every `from` is an offset before the batch and every `to` one after it, each block at
   * most once; copying each block's `size` bytes from `from` to `to` in order with
   * `copyWithin` reproduces the batch, except for a resize that compacted, which needs a
   * copy of the old bytes (apply any batch from a snapshot to be safe). A listener that throws
   * does not stop the others nor change the heap: its error goes to `globalThis.reportError`
   * when the platform has it (browsers, Deno), else it is rethrown in a microtask, where Node
   * reports it as an uncaught exception.
   * @returns a function that removes the listener.
   */
  onMove(listener: MoveListener): () => void {
    if (typeof listener !== 'function') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "listener" argument must be a function. Received ${describe(listener)}.`,
      );
    }
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The size that was asked for. O(1). @throws InvalidHandleError */
  sizeOf(handle: Handle): number {
    return this.layout.records.r[this.recordOrThrow(handle) + REQ];
  }

  /** The block's current offset in the heap; it changes when the block moves. O(1). @throws InvalidHandleError */
  offsetOf(handle: Handle): number {
    return this.layout.records.r[this.recordOrThrow(handle) + OFF];
  }

  /** True when `handle` names a live block of this heap. Never throws. O(1). */
  has(handle: Handle): boolean {
    return recordOf(this.layout.records, handle) !== NIL;
  }

  /** The live blocks in address order, as a snapshot array. O(B). */
  blocks(): BlockInfo[] {
    const r = this.layout.records.r;
    const out: BlockInfo[] = [];
    for (let p = this.layout.head; p !== NIL; p = r[p + NEXT]) {
      if (isLive(r, p)) out.push({ handle: handleOf(r, p), offset: r[p + OFF], size: r[p + REQ] });
    }
    return out;
  }

  /** The heap's counters. O(1). */
  stats(): HeapStats {
    const layout = this.layout;
    const free = this.capacity - layout.used;
    const largestFree = layout.index.largest;
    return {
      capacity: this.capacity,
      used: layout.used,
      free,
      largestFree,
      liveBlocks: layout.live,
      freeBlocks: layout.index.count,
      pinnedBlocks: layout.pinned,
      fragmentation: free === 0 ? 0 : 1 - largestFree / free,
      peakUsed: this.peakUsed,
      compactions: this.compactions,
      bytesMoved: this.bytesMoved,
    };
  }

  /**
   * Checks every invariant of the heap's metadata: blocks tile [0, capacity) in address order,
   * alignment, no two free blocks touch, counters, pins, and the free indexes (order, subtree
   * maxima, balance, exactly the free blocks). O(B).
   * @throws MemoryManagerError `ERR_HEAP_CORRUPTED` naming the first broken invariant.
   */
  validate(): void {
    const problem = this.layout.check(this.align);
    if (problem !== undefined) {
      throw new MemoryManagerError('ERR_HEAP_CORRUPTED', `Heap invariant broken: ${problem}.`);
    }
  }

  private allocNow(size: number): Handle {
    const occupied = this.occupiedFor(size);
    const layout = this.layout;
    let p = layout.allocate(occupied, size);
    if (p === NIL) {
      this.checkRoom(occupied, size, '');
      this.compactNow();
      p = layout.allocate(occupied, size);
      if (p === NIL) throw this.outOfMemory(size, ''); // checkRoom promised room: defensive
    }
    return this.allocated(p, size);
  }

  private async allocSliced(size: number, sliceBytes: number): Promise<Handle> {
    const occupied = this.occupiedFor(size);
    const layout = this.layout;
    let p = layout.allocate(occupied, size);
    if (p === NIL) {
      this.checkRoom(occupied, size, '');
      await this.compactSlices(sliceBytes, undefined);
      p = layout.allocate(occupied, size);
      // Pins taken between slices can leave the free space split after all.
      if (p === NIL) throw this.outOfMemory(size, this.pinNote());
    }
    return this.allocated(p, size);
  }

  private allocated(p: number, size: number): Handle {
    const layout = this.layout;
    const r = layout.records.r;
    if (this.zeroFill) {
      const off = r[p + OFF];
      this.heap.fill(0, off, off + size);
    }
    if (layout.used > this.peakUsed) this.peakUsed = layout.used;
    return this.finish(handleOf(r, p));
  }

  private freeNow(handle: Handle): void {
    const p = this.recordOrThrow(handle);
    if (pinsOf(this.layout.records.r, p) > 0) throw pinnedError(handle, 'free');
    this.layout.release(p);
    this.finish(undefined);
  }

  private resizeNow(handle: Handle, size: number): void {
    const p = this.recordOrThrow(handle);
    const occupied = this.occupiedFor(size);
    const layout = this.layout;
    let r = layout.records.r;
    const oldSize = r[p + REQ];
    const oldOccupied = r[p + SIZE];
    if (occupied <= oldOccupied) {
      layout.shrink(p, occupied);
    } else if (!layout.growInPlace(p, occupied)) {
      if (pinsOf(r, p) > 0) throw pinnedError(handle, 'move (resize)');
      const growth = occupied - oldOccupied;
      const detail = ` (growing a ${oldSize}-byte block)`;
      if (this.capacity - layout.used < growth) throw this.outOfMemory(size, detail);
      const from = r[p + OFF];
      if (layout.fit(occupied) !== NIL || layout.neighbourhood(p) >= occupied) {
        // Room without compacting: the block moves to where the strategy puts it.
        layout.detach(p);
        layout.attach(p, layout.fit(occupied), occupied);
        r = layout.records.r;
        this.heap.copyWithin(r[p + OFF], from, from + oldSize);
      } else {
        if (!this.autoCompact) throw this.outOfMemory(size, detail);
        if (layout.pinned > 0 && !this.fitsAfterCompaction(occupied, p)) {
          throw this.outOfMemory(size, detail + this.pinNote());
        }
        // Other blocks may slide over the old bytes: keep a copy.
        const saved = this.heap.slice(from, from + oldSize);
        layout.detach(p);
        this.compactNow();
        layout.attach(p, layout.fit(occupied), occupied);
        r = layout.records.r;
        this.heap.set(saved, r[p + OFF]);
      }
      layout.used += growth;
      const to = r[p + OFF];
      if (to !== from) {
        this.moved = true;
        if (this.listeners.length > 0) this.batch.push({ handle, from, to, size: oldSize });
      }
    }
    r = layout.records.r;
    r[p + REQ] = size;
    if (this.zeroFill && size > oldSize) {
      const off = r[p + OFF];
      this.heap.fill(0, off + oldSize, off + size);
    }
    if (layout.used > this.peakUsed) this.peakUsed = layout.used;
    this.finish(undefined);
  }

  /** Runs a whole compaction at once; its moves join the operation's batch. */
  private compactNow(): CompactResult {
    const c = new Compaction(
      this.layout,
      this.heap,
      this.listeners.length > 0 ? this.sink : null,
    ).run();
    this.compactions++;
    this.bytesMoved += c.bytesMoved;
    if (c.blocksMoved > 0) this.moved = true;
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /** Compacts in slices, publishing each slice's moves, yielding to the event loop between them. */
  private async compactSlices(
    sliceBytes: number,
    signal: AbortSignal | undefined,
  ): Promise<CompactResult> {
    signal?.throwIfAborted();
    const c = new Compaction(this.layout, this.heap);
    this.compactions++;
    for (;;) {
      const bytesBefore = c.bytesMoved;
      const movedBefore = c.blocksMoved;
      c.sink = this.listeners.length > 0 ? this.sink : null; // listeners may come and go
      c.step(sliceBytes);
      this.bytesMoved += c.bytesMoved - bytesBefore;
      if (c.blocksMoved > movedBefore) this.moved = true;
      this.publish();
      if (c.done) break;
      await yieldToEventLoop();
      signal?.throwIfAborted();
    }
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /**
   * Ends a mutating operation once its state is final: scrambles (debug mode) and publishes
   * the moves, so listeners never see a half-done operation. Returns `result`.
   */
  private finish<T>(result: T): T {
    if (this.scramble) {
      this.publish(); // one batch per arrangement: each block at most once per batch
      if (scramble(this.layout, this.heap, this.listeners.length > 0 ? this.sink : null) > 0) {
        this.moved = true;
      }
    }
    this.publish();
    return result;
  }

  /**
   * Ends a batch: advances the epoch when blocks moved and hands the moves to the listeners.
   * A listener may call back into the heap; batches that causes are queued and delivered after
   * the current one, so every listener sees the batches in the order they happened.
   */
  private publish(): void {
    if (!this.moved) return;
    this.moved = false;
    this.moveEpoch++;
    if (this.batch.length === 0 || this.listeners.length === 0) {
      this.batch = [];
      return;
    }
    this.pendingBatches.push(Object.freeze(this.batch));
    this.batch = [];
    if (this.publishing) return;
    this.publishing = true;
    try {
      for (let moves = this.pendingBatches.shift(); moves; moves = this.pendingBatches.shift()) {
        for (const listener of this.listeners) {
          try {
            listener(moves);
          } catch (error) {
            reportListenerError(error);
          }
        }
      }
    } finally {
      this.publishing = false;
    }
  }

  /** Checks a requested size and returns the bytes it occupies; OutOfMemoryError above capacity. */
  private occupiedFor(size: number): number {
    checkSize('size', size);
    if (size > this.capacity) throw this.outOfMemory(size, '');
    return size + (-size & this.mask);
  }

  /** Throws OutOfMemoryError unless compacting would make room for `occupied` bytes. */
  private checkRoom(occupied: number, size: number, detail: string): void {
    if (!this.autoCompact || this.capacity - this.layout.used < occupied) {
      throw this.outOfMemory(size, detail);
    }
    if (this.layout.pinned > 0 && !this.fitsAfterCompaction(occupied, NIL)) {
      throw this.outOfMemory(size, detail + this.pinNote());
    }
  }

  /**
   * Plans a compaction on a copy of the layout (without `without`, when given) and says whether
   * `occupied` bytes would then fit. Only needed with pins, where free space can stay split.
   */
  private fitsAfterCompaction(occupied: number, without: number): boolean {
    const copy = this.layout.clone();
    if (without !== NIL) copy.detach(without);
    new Compaction(copy, null).run();
    return copy.fit(occupied) !== NIL;
  }

  private pinNote(): string {
    return `; pinned blocks split the free space (${this.layout.pinned} pinned), so compaction cannot join it`;
  }

  private recordOrThrow(handle: Handle): number {
    const p = recordOf(this.layout.records, handle);
    if (p === NIL) throw new InvalidHandleError(handle);
    return p;
  }

  private outOfMemory(size: number, detail: string): OutOfMemoryError {
    return new OutOfMemoryError(
      size,
      this.capacity - this.layout.used,
      this.layout.index.largest,
      detail,
    );
  }

  private checkIdle(method: string): void {
    if (this.lock.busy) throw new HeapBusyError(method);
  }
}

function toBytes(buffer: unknown): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) {
    return new Uint8Array(buffer);
  }
  throw argTypeError(
    'ERR_INVALID_ARG_TYPE',
    `The "buffer" option must be an ArrayBuffer, a SharedArrayBuffer or a Uint8Array. Received ${describe(buffer)}.`,
  );
}

function rangeOutside(name: string, value: number, offset: number, size: number): RangeError {
  return outOfRangeError(
    `The value of "${name}" is out of range: ${value} bytes from offset ${offset} cross the end of a ${size}-byte block.`,
  );
}

function pinnedError(handle: Handle, what: string): MemoryManagerError {
  return new MemoryManagerError(
    'ERR_BLOCK_PINNED',
    `Cannot ${what} block ${handle}: it is pinned.`,
  );
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof AbortSignal !== 'undefined' && value instanceof AbortSignal;
}

/** Reports a listener's error without letting it escape into the heap's own code. */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}

/** Resolves on a later macrotask, so timers and I/O run: setImmediate in Node, a MessageChannel in browsers. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (callback: () => void) => unknown };
    if (typeof g.setImmediate === 'function') {
      g.setImmediate(resolve);
    } else if (typeof MessageChannel !== 'undefined') {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    } else {
      setTimeout(resolve, 0);
    }
  });
}
