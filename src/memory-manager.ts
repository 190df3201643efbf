/**
 * The public heap: argument checks, typed errors, locking and the auto-compaction policy over
 * the data structures of block-layout, free-index, handle-table and compactor.
 */
import {
  checkBytes,
  checkIndex,
  checkNumber,
  checkOptionalBoolean,
  checkSize,
} from './arguments.js';
import { BlockLayout } from './block-layout.js';
import { NEXT, NIL, OFF, REQ, isLive } from './block-records.js';
import { compact, type CompactResult } from './compactor.js';
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

export type { CompactResult } from './compactor.js';

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
  /** New blocks read as zeros, so freed bytes never leak to the next owner. Default true. */
  zeroFill?: boolean;
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
  /** `1 - largestFree / free`, 0 when nothing is free: 0 means all free space is one block. */
  fragmentation: number;
  /** The largest `used` seen. */
  peakUsed: number;
  /** Compactions run, explicit and automatic. */
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

const OPTION_NAMES = new Set(['size', 'buffer', 'align', 'autoCompact', 'zeroFill']);
const DEFAULT_ALIGN = 8;
const MAX_ALIGN = 2 ** 30;
/** Offsets and sizes are stored in 32 bits. */
const MAX_BYTES = 2 ** 32 - 1;

/**
 * A relocatable heap over one fixed-size block of bytes. Blocks are named by integer handles,
 * never by offsets, so the heap may move them: compaction slides them together, and an
 * allocation succeeds whenever the total free space suffices.
 *
 * `alloc`, `free` and `compact` take an async lock and run one at a time in call order; their
 * `...Sync` twins run at once and throw `HeapBusyError` while an async call is pending.
 * Costs: F is the number of free blocks, B the number of blocks, n the bytes touched.
 */
export class MemoryManager {
  /** Bytes managed. */
  readonly capacity: number;
  /** Alignment of every block, a power of two. */
  readonly align: number;
  readonly autoCompact: boolean;
  readonly zeroFill: boolean;
  private readonly heap: Uint8Array;
  private readonly layout: BlockLayout;
  private readonly lock: HeapLock = new MutexLock();
  private readonly mask: number;
  private peakUsed = 0;
  private compactions = 0;
  private bytesMoved = 0;

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
      if (!OPTION_NAMES.has(key)) {
        throw argTypeError(
          'ERR_INVALID_ARG_VALUE',
          `Unknown option "${key}". Known options: ${[...OPTION_NAMES].join(', ')}.`,
        );
      }
    }
    const align = o.align ?? DEFAULT_ALIGN;
    checkNumber('align', align);
    if (!Number.isInteger(align) || align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
      throw outOfRangeError(
        `The value of "align" is out of range. It must be a power of two from 1 to ${MAX_ALIGN}. Received ${align}.`,
      );
    }
    checkOptionalBoolean('autoCompact', o.autoCompact);
    checkOptionalBoolean('zeroFill', o.zeroFill);
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
    this.layout = new BlockLayout(this.capacity);
  }

  /**
   * Allocates a block of `size` bytes (first fit; compacts first when only compaction makes
   * room and `autoCompact` is on). Waits for pending async operations. O(log F), plus
   * O(moved bytes) when it compacts, plus O(size) to zero-fill.
   * @returns a promise of the new block's handle.
   * Rejects with OutOfMemoryError, TypeError `ERR_INVALID_ARG_TYPE`, RangeError `ERR_OUT_OF_RANGE`.
   */
  alloc(size: number): Promise<Handle> {
    return this.lock.run(() => this.allocNow(size));
  }

  /** `alloc` without waiting. @throws as `alloc` rejects, and HeapBusyError while an async call is pending. */
  allocSync(size: number): Handle {
    this.checkIdle('allocSync');
    return this.allocNow(size);
  }

  /**
   * Frees the block of `handle`; the handle becomes invalid. Coalesces with free neighbours.
   * Waits for pending async operations. O(log F).
   * Rejects with InvalidHandleError for anything but a live handle (double frees included).
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
   * Slides every live block toward offset 0 in address order and leaves the free space as one
   * block at the top. Handles and contents are kept; offsets change. Waits for pending async
   * operations. O(B + moved bytes).
   * @returns a promise of how many blocks and bytes moved.
   */
  compact(): Promise<CompactResult> {
    return this.lock.run(() => this.compactNow());
  }

  /** `compact` without waiting. @throws HeapBusyError while an async call is pending. */
  compactSync(): CompactResult {
    this.checkIdle('compactSync');
    return this.compactNow();
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
    const n = length ?? size - offset;
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
      fragmentation: free === 0 ? 0 : 1 - largestFree / free,
      peakUsed: this.peakUsed,
      compactions: this.compactions,
      bytesMoved: this.bytesMoved,
    };
  }

  /**
   * Checks every invariant of the heap's metadata: blocks tile [0, capacity) in address order,
   * alignment, no two free blocks touch, counters, and the free index (order, subtree maxima,
   * balance, exactly the free blocks). O(B).
   * @throws MemoryManagerError `ERR_HEAP_CORRUPTED` naming the first broken invariant.
   */
  validate(): void {
    const problem = this.layout.check(this.align);
    if (problem !== undefined)
      throw new MemoryManagerError('ERR_HEAP_CORRUPTED', `Heap invariant broken: ${problem}.`);
  }

  private allocNow(size: number): Handle {
    checkSize('size', size);
    const layout = this.layout;
    if (size > this.capacity) throw this.outOfMemory(size);
    const occupied = size + (-size & this.mask);
    let p = layout.allocate(occupied, size);
    if (p === NIL) {
      if (!this.autoCompact || this.capacity - layout.used < occupied) throw this.outOfMemory(size);
      this.compactNow();
      p = layout.allocate(occupied, size);
    }
    const r = layout.records.r;
    if (this.zeroFill) {
      const off = r[p + OFF];
      this.heap.fill(0, off, off + size);
    }
    if (layout.used > this.peakUsed) this.peakUsed = layout.used;
    return handleOf(r, p);
  }

  private freeNow(handle: Handle): void {
    this.layout.release(this.recordOrThrow(handle));
  }

  private compactNow(): CompactResult {
    const result = compact(this.layout, this.heap);
    this.compactions++;
    this.bytesMoved += result.bytesMoved;
    return result;
  }

  private recordOrThrow(handle: Handle): number {
    const p = recordOf(this.layout.records, handle);
    if (p === NIL) throw new InvalidHandleError(handle);
    return p;
  }

  private outOfMemory(size: number): OutOfMemoryError {
    return new OutOfMemoryError(size, this.capacity - this.layout.used, this.layout.index.largest);
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
