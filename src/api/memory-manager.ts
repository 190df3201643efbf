// MemoryManager, the public heap: argument checks, handles, the async lock, incremental
// compaction's slices and move events, over the synchronous core (core/heap-core.ts).
import { HeapCore } from '../core/heap-core.js';
import {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  argTypeError,
  describe,
} from '../core/errors.js';
import type { PlacementStrategy } from '../layout/block-layout.js';
import { handleOf, recordOf } from '../layout/handle-table.js';
import { OFF, REQ, pinsOf } from '../layout/records.js';
import { MutexLock, type HeapLock } from '../lock/lock.js';
import { LOCK_WORDS, SharedLock } from '../lock/shared-lock.js';
import { H_ALIGN, H_HEAP_TAG, H_LOCK } from '../memory/format.js';
import { encodeSnapshot } from '../memory/snapshot.js';
import { checkIndex, checkSize, offsetOutside, rangeOutside, readBytes } from './arguments.js';
import { yieldToEventLoop } from './event-loop.js';
import { MoveEvents } from './move-events.js';
import { attachParts, createParts, describeShared, HeapParts, restoreParts } from './heap-parts.js';
import { checkCompactOptions, readAllocAlign, readCompactOptions } from './options.js';
import type {
  AllocOptions,
  AttachOptions,
  BlockInfo,
  CompactOptions,
  CompactResult,
  Handle,
  HeapStats,
  MemoryManagerOptions,
  MoveListener,
  SharedHeap,
  TypedArrayConstructor,
} from './types.js';
import { typedView } from './views.js';

/**
 * A relocatable heap over one fixed-size block of bytes. Blocks are named by integer handles,
 * never by offsets, so the heap may move them: compaction slides them together, and an
 * allocation succeeds whenever the total free space suffices. All its state lives in typed
 * arrays over one buffer (`save()` copies it).
 *
 * `alloc`, `free`, `resize` and `compact` take an async lock and run one at a time in call
 * order; their `...Sync` twins run at once and throw `HeapBusyError` while an async call is
 * pending. Costs: B is the number of blocks, n the bytes touched. When the managed memory was
 * detached, every method that reads, writes or changes the heap throws `MemoryManagerError`
 * `ERR_BUFFER_DETACHED` before changing anything.
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
  /** The most live blocks the heap holds. */
  readonly maxBlocks: number;
  private readonly core: HeapCore;
  private readonly lock: HeapLock;
  /** The cross-thread lock of a shared heap, or null. */
  private readonly sharedLock: SharedLock | null;
  private readonly events: MoveEvents;

  /**
   * @param options the capacity in bytes, or {@link MemoryManagerOptions} (own properties,
   *   each read once).
   * @throws TypeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for options of the wrong
   *   type, unknown options, both or neither of `size` and `buffer`, or an options getter that
   *   throws; RangeError (`ERR_OUT_OF_RANGE`) for a size, alignment or `maxBlocks` out of range;
   *   MemoryManagerError `ERR_BUFFER_DETACHED` for a detached `buffer`.
   */
  constructor(options: number | MemoryManagerOptions) {
    const parts: unknown = options;
    const { layout, memory, lockTimeout } =
      parts instanceof HeapParts ? parts : createParts(options);
    this.sharedLock = layout.shared
      ? new SharedLock(
          new Int32Array(layout.state.buffer, H_LOCK * 4, LOCK_WORDS),
          lockTimeout,
          layout.state.h[H_HEAP_TAG],
        )
      : null;
    this.lock = this.sharedLock ?? new MutexLock();
    this.events = new MoveEvents(() => this.core.advanceEpoch());
    this.core = new HeapCore(layout, memory, this.events);
    const core = this.core;
    this.capacity = layout.capacity;
    this.align = layout.state.h[H_ALIGN];
    this.autoCompact = core.autoCompact;
    this.zeroFill = core.zeroFill;
    this.scramble = core.scramble;
    this.strategy = layout.sizes === null ? 'first-fit' : 'best-fit';
    this.maxBlocks = core.maxBlocks;
  }

  /**
   * A heap equal to the one `snapshot` was saved from: same capacity, options, handles,
   * offsets, bytes, pins, stats and epoch, independent of it. Every invariant is checked
   * before it returns. O(B + capacity).
   * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything but a Uint8Array;
   *   MemoryManagerError `ERR_INVALID_SNAPSHOT` saying what is wrong (truncated, damaged
   *   header or metadata, wrong magic, unknown version, a broken invariant).
   */
  static restore(snapshot: Uint8Array): MemoryManager {
    return new MemoryManager(restoreParts(snapshot));
  }

  /**
   * Attaches a shared heap from its description (`mm.shared`, posted from another thread, or
   * in the same one): the same heap, not a copy. Every manager attached to it sees the others'
   * allocations, frees, resizes, pins, compactions, stats and epoch, and handles are valid in
   * all of them. O(1).
   * @param options `lockTimeout`: how long a wait for the lock may last, in milliseconds
   *   (default 5000).
   * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything but such a description,
   *   `ERR_INVALID_ARG_VALUE` when its magic, version or sizes do not match; RangeError
   *   `ERR_OUT_OF_RANGE` for a bad `lockTimeout`.
   */
  static from(shared: SharedHeap, options?: AttachOptions): MemoryManager {
    return new MemoryManager(attachParts(shared, options));
  }

  /**
   * The description of a shared heap, for `MemoryManager.from` in another thread (post it: it
   * is structured-cloneable); undefined for a heap made without `shared: true`.
   */
  get shared(): SharedHeap | undefined {
    return this.sharedLock === null
      ? undefined
      : describeShared(this.core.layout, this.core.memory);
  }

  /** Shared heaps: milliseconds a wait for the lock may last; undefined for an unshared heap. */
  get lockTimeout(): number | undefined {
    return this.sharedLock?.timeout;
  }

  /**
   * The whole heap as one Uint8Array: header, metadata (with a checksum) and bytes, for
   * `MemoryManager.restore`. O(B + capacity). @throws MemoryManagerError `ERR_BUFFER_DETACHED`
   */
  save(): Uint8Array {
    return this.locked('save', () => encodeSnapshot(this.core.layout.state, this.core.begin()));
  }

  /**
   * The managed bytes: a plain Uint8Array of `capacity` bytes over the heap's memory (for a
   * `buffer` option, the same memory). Read it to upload or compare the heap; a write through
   * it bypasses every check. Re-read it after a `WebAssembly.Memory` grew. O(1).
   * @throws MemoryManagerError `ERR_BUFFER_DETACHED`
   */
  get bytes(): Uint8Array {
    return this.locked('bytes', () => this.core.begin());
  }

  /**
   * Bytes of metadata the heap has allocated: its state buffer (a 160-byte header, 20 bytes
   * per live block, 12 more for best fit, about 8 bytes per gap in the gap index's nodes, and
   * up to an eighth more as room to grow; no record per free block). The managed bytes are not
   * counted. O(1).
   */
  get metadataBytes(): number {
    return this.core.layout.state.bytes;
  }

  /**
   * Increases whenever any block moves (once per operation or compaction slice that moved
   * blocks). Offsets and views taken at the same epoch are still valid.
   */
  get epoch(): number {
    return this.core.epoch;
  }

  /**
   * Allocates a block of `size` bytes where the strategy says (first fit by default),
   * compacting first when only compaction makes room and `autoCompact` is on. Waits for
   * pending async operations. O(log B), plus O(B + moved bytes) when it compacts, plus
   * O(size) to zero-fill.
   * @param options `align`: the block's offset is a multiple of it (a power of two; the heap's
   *   `align` when smaller or absent). First fit then takes the lowest address where an aligned
   *   block fits; the padding in front of it stays free space. O(log B) when free blocks are
   *   either too small or large enough, O(B) at worst.
   * @returns a promise of the new block's handle.
   * Rejects with OutOfMemoryError, MemoryManagerError `ERR_TOO_MANY_BLOCKS` past `maxBlocks`,
   * TypeError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`, RangeError `ERR_OUT_OF_RANGE`.
   */
  alloc(size: number, options?: AllocOptions): Promise<Handle> {
    const sliceBytes = this.core.sliceBytes;
    if (sliceBytes === undefined) return this.lock.run(() => this.allocNow(size, options));
    return this.lock.runAsync(() => this.allocSliced(size, options, sliceBytes));
  }

  /** `alloc` without waiting. @throws as `alloc` rejects, and HeapBusyError while an async call is pending. */
  allocSync(size: number, options?: AllocOptions): Handle {
    this.checkIdle('allocSync');
    const lock = this.sharedLock;
    if (lock === null || lock.held) return this.allocNow(size, options);
    lock.enter('allocSync');
    try {
      return this.allocNow(size, options);
    } finally {
      lock.exit();
    }
  }

  /**
   * Frees the block of `handle`; the handle becomes invalid. Its space joins the free space
   * around it. Waits for pending async operations. O(log B).
   * Rejects with InvalidHandleError for anything but a live handle (double frees included),
   * MemoryManagerError `ERR_BLOCK_PINNED` for a pinned block.
   */
  free(handle: Handle): Promise<void> {
    return this.lock.run(() => this.freeNow(handle));
  }

  /** `free` without waiting. @throws as `free` rejects, and HeapBusyError while an async call is pending. */
  freeSync(handle: Handle): void {
    this.checkIdle('freeSync');
    const lock = this.sharedLock;
    if (lock === null || lock.held) {
      this.freeNow(handle);
      return;
    }
    lock.enter('freeSync');
    try {
      this.freeNow(handle);
    } finally {
      lock.exit();
    }
  }

  /**
   * Changes the size of a block, keeping its handle and its first `min(old, new)` bytes (new
   * bytes read as zeros under `zeroFill`). Shrinking never moves; growing stays in place when
   * the free space after the block suffices, else the block moves (compacting if that is what
   * makes room). Waits for pending async operations. O(log B) + O(moved bytes).
   * Rejects with OutOfMemoryError (the block untouched), InvalidHandleError, TypeError,
   * RangeError, MemoryManagerError `ERR_BLOCK_PINNED` when a pinned block would have to move.
   */
  resize(handle: Handle, size: number): Promise<void> {
    return this.lock.run(() => this.resizeNow(handle, size));
  }

  /** `resize` without waiting. @throws as `resize` rejects, and HeapBusyError while an async call is pending. */
  resizeSync(handle: Handle, size: number): void {
    this.checkIdle('resizeSync');
    this.locked('resizeSync', () => this.resizeNow(handle, size));
  }

  /**
   * Moves live, unpinned blocks toward offset 0 in address order; pinned blocks stay and later
   * blocks that fit fill the gaps in front of them. Handles and contents are kept; offsets
   * change. Waits for pending async operations. O(B + moved bytes) without pins,
   * O(B log B + moved bytes) with pins.
   * @param options `sliceBytes` to move about that many bytes at a time, yielding to the event
   *   loop between slices (async `alloc`/`free` wait; `read`, `write`, `view` stay correct);
   *   `signal` to stop after the current slice (the promise then rejects with its reason).
   *   With either, the compaction starts after the current microtasks (it takes the lock);
   *   without, it starts at once when nothing is pending.
   * @returns a promise of how many blocks and bytes moved.
   */
  compact(options: CompactOptions = {}): Promise<CompactResult> {
    let read: CompactOptions;
    try {
      read = readCompactOptions(options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (read.sliceBytes === undefined && read.signal === undefined) {
      return this.lock.run(() => this.compactNow());
    }
    return this.lock.runAsync(async () => {
      const { sliceBytes, signal } = checkCompactOptions(read);
      return this.core.finish(await this.compactSlices(sliceBytes, signal));
    });
  }

  /** `compact()` at once, in one piece. @throws HeapBusyError while an async call is pending. */
  compactSync(): CompactResult {
    this.checkIdle('compactSync');
    return this.locked('compactSync', () => this.compactNow());
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
    if (this.sharedLock !== null)
      return this.locked('read', () => this.readNow(handle, offset, length));
    return this.readNow(handle, offset, length);
  }

  private readNow(handle: Handle, offset: number, length: number | undefined): Uint8Array {
    const heap = this.core.begin();
    const p = this.recordOrThrow(handle);
    const r = this.core.layout.state.r;
    const size = r[p + REQ];
    checkIndex('offset', offset);
    if (offset > size) throw offsetOutside(offset, size);
    const n = length === undefined ? size - offset : length;
    checkIndex('length', n);
    if (offset + n > size) throw rangeOutside('length', n, offset, size);
    const start = r[p + OFF] + offset;
    return heap.slice(start, start + n);
  }

  /**
   * Copies `data` into a block at `offset`. Reads `data` once (an array-like into a private
   * copy, its length first) and checks everything before writing: on any error nothing is
   * written. O(1) + O(data.length).
   * @param data a Uint8Array, or an array-like of integers 0..255.
   * @throws InvalidHandleError (also when a getter of `data` freed the block); TypeError
   *   `ERR_INVALID_ARG_TYPE` for data of another kind or a non-number offset,
   *   `ERR_INVALID_ARG_VALUE` for a detached Uint8Array or a getter of `data` that throws;
   *   RangeError `ERR_OUT_OF_RANGE` when the data would cross the block's end or an element is
   *   not a byte value.
   */
  write(handle: Handle, data: Uint8Array | ArrayLike<number>, offset = 0): void {
    if (this.sharedLock !== null) this.locked('write', () => this.writeNow(handle, data, offset));
    else this.writeNow(handle, data, offset);
  }

  private writeNow(handle: Handle, data: Uint8Array | ArrayLike<number>, offset: number): void {
    this.core.begin();
    let p = this.recordOrThrow(handle);
    checkIndex('offset', offset);
    const size = this.core.layout.state.r[p + REQ];
    if (offset > size) throw offsetOutside(offset, size);
    const bytes = readBytes('data', data, size - offset, (n) =>
      rangeOutside('data.length', n, offset, size),
    );
    if (bytes !== data) {
      // Reading an array-like ran the caller's code, which may have freed, moved or resized
      // the block, or detached the memory: look again.
      p = this.recordOrThrow(handle);
      const now = this.core.layout.state.r[p + REQ];
      if (offset + bytes.length > now) throw rangeOutside('data.length', bytes.length, offset, now);
    }
    this.core.begin().set(bytes, this.core.layout.state.r[p + OFF] + offset);
  }

  /**
   * A view of the block's bytes, no copy: valid until the block moves (compare `epoch`, or pin
   * the block: a pinned block's view stays valid until it is unpinned). O(1).
   * @param type a built-in typed-array constructor (default Uint8Array). The block's size must
   *   be a multiple of its element size, and its address in the underlying buffer (its offset
   *   plus the managed Uint8Array's `byteOffset`) aligned to it.
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE` for a `type` that is not a
   *   built-in typed-array constructor; RangeError `ERR_OUT_OF_RANGE` for a size or address
   *   the element size does not divide.
   */
  view(handle: Handle): Uint8Array;
  view<T extends ArrayBufferView>(handle: Handle, type: TypedArrayConstructor<T>): T;
  view<T extends ArrayBufferView>(handle: Handle, type?: TypedArrayConstructor<T>): T | Uint8Array {
    if (this.sharedLock !== null) return this.locked('view', () => this.viewNow(handle, type));
    return this.viewNow(handle, type);
  }

  private viewNow<T extends ArrayBufferView>(
    handle: Handle,
    type: TypedArrayConstructor<T> | undefined,
  ): T | Uint8Array {
    const heap = this.core.begin();
    const p = this.recordOrThrow(handle);
    const r = this.core.layout.state.r;
    if (type === undefined)
      return new Uint8Array(heap.buffer, heap.byteOffset + r[p + OFF], r[p + REQ]);
    return typedView(heap, r[p + OFF], r[p + REQ], type);
  }

  /**
   * Pins a block: it never moves while pinned. Pins are counted: n pins need n unpins. O(1).
   * @throws InvalidHandleError; MemoryManagerError `ERR_TOO_MANY_PINS` past 524,287 pins.
   */
  pin(handle: Handle): void {
    if (this.sharedLock !== null) this.locked('pin', () => this.pinNow(handle));
    else this.pinNow(handle);
  }

  private pinNow(handle: Handle): void {
    this.core.begin();
    if (!this.core.layout.pin(this.recordOrThrow(handle))) {
      throw new MemoryManagerError(
        'ERR_TOO_MANY_PINS',
        `Block ${handle} already holds the most pins.`,
      );
    }
  }

  /** Removes one pin. O(1). @throws InvalidHandleError; MemoryManagerError `ERR_NOT_PINNED` when it holds none. */
  unpin(handle: Handle): void {
    if (this.sharedLock !== null) this.locked('unpin', () => this.unpinNow(handle));
    else this.unpinNow(handle);
  }

  private unpinNow(handle: Handle): void {
    this.core.begin();
    if (!this.core.layout.unpin(this.recordOrThrow(handle))) {
      throw new MemoryManagerError('ERR_NOT_PINNED', `Block ${handle} is not pinned.`);
    }
  }

  /** True when the block holds at least one pin. O(1). @throws InvalidHandleError */
  isPinned(handle: Handle): boolean {
    if (this.sharedLock !== null) {
      return this.locked(
        'isPinned',
        () => pinsOf(this.core.layout.state.r, this.recordOrThrow(handle)) > 0,
      );
    }
    return pinsOf(this.core.layout.state.r, this.recordOrThrow(handle)) > 0;
  }

  /**
   * Calls `listener` after every operation that moved blocks (each compaction slice, a moving
   * resize, an auto-compaction, a scramble) with the moves, in the order they happened: see
   * {@link MoveListener} for what a batch means and what a listener may call. The same function
   * subscribed twice is two subscriptions. A listener that throws does not stop the others nor
   * change the heap: its error goes to `globalThis.reportError` when the platform has it
   * (browsers, Deno), else it is rethrown in a microtask, where Node reports it as an uncaught
   * exception.
   * @returns a function that removes this subscription (also from a batch being delivered).
   */
  onMove(listener: MoveListener): () => void {
    if (typeof listener !== 'function') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "listener" argument must be a function. Received ${describe(listener)}.`,
      );
    }
    return this.events.subscribe(listener);
  }

  /** The size that was asked for. O(1). @throws InvalidHandleError */
  sizeOf(handle: Handle): number {
    return this.fieldOf('sizeOf', handle, REQ);
  }

  /** The block's current offset in the heap; it changes when the block moves. O(1). @throws InvalidHandleError */
  offsetOf(handle: Handle): number {
    return this.fieldOf('offsetOf', handle, OFF);
  }

  /**
   * The block's alignment: what `alloc` was given, or the heap's `align` when that is larger.
   * O(1). @throws InvalidHandleError
   */
  alignOf(handle: Handle): number {
    const layout = this.core.layout;
    if (this.sharedLock === null) return layout.alignOf(this.recordOrThrow(handle));
    return this.locked('alignOf', () => layout.alignOf(this.recordOrThrow(handle)));
  }

  /** A record field of a live block; under the lock for a shared heap (no closure otherwise). */
  private fieldOf(method: string, handle: Handle, field: number): number {
    if (this.sharedLock === null) return this.fieldNow(handle, field);
    return this.locked(method, () => this.fieldNow(handle, field));
  }

  private fieldNow(handle: Handle, field: number): number {
    return this.core.layout.state.r[this.recordOrThrow(handle) + field];
  }

  /**
   * True when `handle` names a live block of this heap. Never throws. O(1). Handles are
   * numbers: another heap's handle can name one of this heap's blocks, so keep each handle
   * with its heap.
   */
  has(handle: Handle): boolean {
    if (this.sharedLock !== null) {
      return this.locked('has', () => recordOf(this.core.layout.records, handle) !== 0);
    }
    return recordOf(this.core.layout.records, handle) !== 0;
  }

  /** The live blocks in address order, as a snapshot array. O(B). */
  blocks(): BlockInfo[] {
    return this.locked('blocks', () => this.blocksNow());
  }

  private blocksNow(): BlockInfo[] {
    const r = this.core.layout.state.r;
    return this.core
      .liveRecords()
      .map((p) => ({ handle: handleOf(r, p), offset: r[p + OFF], size: r[p + REQ] }));
  }

  /** The heap's counters. O(1). */
  stats(): HeapStats {
    return this.locked('stats', () => this.core.stats());
  }

  /**
   * Checks every invariant of the heap's state: the header, blocks tiling [0, capacity) in
   * address order with both links, alignment, counters, pins, the gap index (order, depth,
   * maxima and first keys, exactly the gaps) and the size index. O(B).
   * @throws MemoryManagerError `ERR_HEAP_CORRUPTED` naming the first broken invariant.
   */
  validate(): void {
    const problem = this.locked('validate', () => {
      this.core.layout.begin();
      return this.core.layout.check();
    });
    if (problem !== undefined) {
      throw new MemoryManagerError('ERR_HEAP_CORRUPTED', `Heap invariant broken: ${problem}.`);
    }
  }

  private allocNow(size: number, options: AllocOptions | undefined): Handle {
    const heap = this.core.begin();
    checkSize('size', size);
    return this.core.alloc(heap, size, readAllocAlign(options));
  }

  private async allocSliced(
    size: number,
    options: AllocOptions | undefined,
    sliceBytes: number,
  ): Promise<Handle> {
    const core = this.core;
    checkSize('size', size);
    const align = readAllocAlign(options);
    const handle = core.allocIfRoom(core.begin(), size, align);
    if (handle !== 0) return handle;
    const plan = core.prepareRoom(size, align);
    await this.compactSlices(sliceBytes, undefined);
    return core.allocAfterSlices(core.begin(), size, plan, align);
  }

  private freeNow(handle: Handle): void {
    this.core.begin();
    this.core.free(this.recordOrThrow(handle), handle);
  }

  private resizeNow(handle: Handle, size: number): void {
    const heap = this.core.begin();
    const p = this.recordOrThrow(handle);
    checkSize('size', size);
    this.core.resize(heap, p, handle, size);
  }

  private compactNow(): CompactResult {
    const heap = this.core.begin();
    return this.core.finish(this.core.compactNow(heap));
  }

  /** Compacts in slices, publishing each slice's moves, yielding to the event loop between them. */
  private async compactSlices(
    sliceBytes: number,
    abort: AbortSignal | undefined,
  ): Promise<CompactResult> {
    abort?.throwIfAborted();
    const core = this.core;
    const c = core.startCompaction(core.begin());
    for (;;) {
      core.compactSlice(c, core.begin(), sliceBytes); // the memory may be replaced between slices
      this.lock.beat(); // progress, for Workers waiting on a shared heap's lock
      if (c.done) break;
      await yieldToEventLoop();
      abort?.throwIfAborted();
    }
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  private recordOrThrow(handle: Handle): number {
    const p = recordOf(this.core.layout.records, handle);
    if (p === 0) throw new InvalidHandleError(handle);
    return p;
  }

  private checkIdle(method: string): void {
    if (this.lock.busy) throw new HeapBusyError(method);
  }

  /**
   * Runs `task` at once on an unshared heap; on a shared one under the cross-thread lock (or
   * at once while this manager holds it, between the slices of its own compaction). The lock
   * refuses at once rather than wait while a manager of this heap in this thread (this one's
   * async call included) holds or awaits it: waiting would block the thread that manager needs.
   */
  private locked<T>(method: string, task: () => T): T {
    const lock = this.sharedLock;
    if (lock === null) return task();
    return lock.runSync(() => {
      this.core.layout.begin(); // follow what other threads changed
      return task();
    }, method);
  }
}
