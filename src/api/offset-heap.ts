// OffsetHeap: the heap engine behind a public API, with no bytes of its own. It hands out
// handles and offsets into a buffer the caller keeps (a GPU buffer, a WebAssembly arena, a
// file), and when blocks move it hands the caller the move plan to carry out (`onMove`).
// MemoryManager extends it with bytes that it moves itself: one engine, two appliers.
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
import { checkSize } from './arguments.js';
import { yieldToEventLoop } from './event-loop.js';
import { MoveEvents } from './move-events.js';
import { createParts, HeapParts, restoreParts } from './heap-parts.js';
import { checkCompactOptions, readAllocAlign, readCompactOptions } from './options.js';
import type {
  AllocOptions,
  BlockInfo,
  CompactOptions,
  CompactResult,
  Handle,
  HeapStats,
  MoveListener,
  OffsetHeapOptions,
} from './types.js';

/**
 * A relocatable heap of offsets only: the same engine, placements, handles, pins, resize,
 * compaction (sync and sliced), stats, validate and save/restore as MemoryManager, over bytes
 * the caller keeps. When blocks move, `onMove` listeners receive the move plan: steps that,
 * applied in order (memmove semantics within one buffer, staging steps through a staging
 * area), make the caller's buffer follow the heap. Register a listener before the first
 * operation that can move blocks.
 *
 * `alloc`, `free`, `resize` and `compact` take an async lock and run one at a time in call
 * order; their `...Sync` twins run at once and throw `HeapBusyError` while an async call is
 * pending. Costs: B is the number of blocks.
 */
export class OffsetHeap {
  /** Bytes managed. */
  readonly capacity: number;
  /** Alignment of every block, a power of two. */
  readonly align: number;
  readonly autoCompact: boolean;
  readonly strategy: PlacementStrategy;
  readonly scramble: boolean;
  /** The most live blocks the heap holds. */
  readonly maxBlocks: number;
  /** @internal */
  protected readonly core: HeapCore;
  /** @internal */
  protected readonly lock: HeapLock;
  /** @internal The cross-thread lock of a shared heap, or null. */
  protected readonly sharedLock: SharedLock | null;
  /** @internal */
  protected readonly events: MoveEvents;

  /**
   * @param options the capacity in bytes, or {@link OffsetHeapOptions} (own properties, each
   *   read once).
   * @throws TypeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for options of the
   *   wrong type, unknown options, no `size`, or an options getter that throws; RangeError
   *   (`ERR_OUT_OF_RANGE`) for a size, alignment or `maxBlocks` out of range.
   */
  constructor(options: number | OffsetHeapOptions) {
    const parts: unknown = options;
    const { layout, memory, lockTimeout } =
      parts instanceof HeapParts ? parts : createParts(options, false);
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
    this.scramble = core.scramble;
    this.strategy = layout.sizes === null ? 'first-fit' : 'best-fit';
    this.maxBlocks = core.maxBlocks;
  }

  /**
   * A heap equal to the one `snapshot` (from `save()` of an OffsetHeap) was saved from: same
   * capacity, options, handles, offsets, pins, stats and epoch, independent of it. Every
   * invariant is checked before it returns. O(B).
   * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything but a Uint8Array;
   *   MemoryManagerError `ERR_INVALID_SNAPSHOT` saying what is wrong (truncated, damaged
   *   header or metadata, wrong magic, unknown version, a MemoryManager's snapshot, a broken
   *   invariant).
   */
  static restore(snapshot: Uint8Array): OffsetHeap {
    return new OffsetHeap(restoreParts(snapshot, false) as never);
  }

  /**
   * The whole heap as one Uint8Array: header and metadata (with a checksum), and for a
   * MemoryManager its bytes, for `restore` of the same class. O(B), + O(capacity) with bytes.
   * @throws MemoryManagerError `ERR_BUFFER_DETACHED`
   */
  save(): Uint8Array {
    return this.locked('save', () =>
      encodeSnapshot(this.core.layout.state, this.core.begin() ?? new Uint8Array(0)),
    );
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
      this.checkUsable();
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
   * Pins a block: it never moves while pinned. Pins are counted: n pins need n unpins. O(1).
   * @throws InvalidHandleError; MemoryManagerError `ERR_TOO_MANY_PINS` past 16,383 pins.
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
   * True when `handle` names a live block of this heap. Never throws on an unshared heap (a
   * shared one takes the lock: HeapBusyError as for the other readers). O(1). Handles are
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

  /** The heap's counters. O(1); O(log F) for best fit (the largest gap from its size index). */
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
    this.checkUsable();
    checkSize('size', size);
    const align = readAllocAlign(options); // runs the caller's getters: before the bytes are taken
    return this.core.alloc(this.core.begin(), size, align);
  }

  private async allocSliced(
    size: number,
    options: AllocOptions | undefined,
    sliceBytes: number,
  ): Promise<Handle> {
    const core = this.core;
    this.checkUsable();
    checkSize('size', size);
    const align = readAllocAlign(options);
    const handle = core.allocIfRoom(core.begin(), size, align);
    if (handle !== 0) return handle;
    const plan = core.prepareRoom(size, align);
    await this.compactSlices(sliceBytes, undefined, true);
    return core.allocAfterSlices(core.begin(), size, plan, align);
  }

  private freeNow(handle: Handle): void {
    this.checkUsable();
    this.core.begin();
    this.core.free(this.recordOrThrow(handle), handle);
  }

  private resizeNow(handle: Handle, size: number): void {
    this.checkUsable();
    const heap = this.core.begin();
    const p = this.recordOrThrow(handle);
    checkSize('size', size);
    this.core.resize(heap, p, handle, size);
  }

  /**
   * @internal
   * Called first by every allocation, free, resize and compaction, inside the operation (so an
   * async call rejects): a subclass whose bytes live elsewhere throws when they are gone (a
   * destroyed pool, a lost context). Nothing to check here.
   */
  protected checkUsable(): void {}

  /**
   * @internal
   * Makes `apply` carry out every move plan as the engine makes it, before listeners hear of it
   * and before the operation returns (even for an operation a listener started), and `newBytes`
   * hear of every allocation's and growing resize's new bytes [start, end) right after the
   * moves that made room for them: the applier of a subclass whose bytes live elsewhere.
   */
  protected applyWith(apply: MoveListener, newBytes?: (start: number, end: number) => void): void {
    this.events.applyWith(apply, newBytes);
  }

  private compactNow(): CompactResult {
    this.checkUsable();
    const heap = this.core.begin();
    return this.core.finish(this.core.compactNow(heap));
  }

  /**
   * Compacts in slices, publishing each slice's moves, yielding to the event loop between them.
   * `forAlloc`: for an allocation's planned room (no extra pass for blocks unpinned meanwhile).
   */
  private async compactSlices(
    sliceBytes: number,
    abort: AbortSignal | undefined,
    forAlloc = false,
  ): Promise<CompactResult> {
    abort?.throwIfAborted();
    const core = this.core;
    const c = core.startCompaction(core.begin(), forAlloc);
    try {
      for (;;) {
        core.compactSlice(c, core.begin(), sliceBytes); // the memory may be replaced between slices
        this.lock.beat(); // progress, for Workers waiting on a shared heap's lock
        if (c.done) break;
        await yieldToEventLoop();
        abort?.throwIfAborted();
      }
    } finally {
      // Stopped early (aborted, or a slice threw): a best-fit heap's gap index, built for this
      // compaction, goes now rather than at the end of some later one.
      if (!c.done) {
        core.layout.begin();
        core.layout.unaddress();
      }
    }
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /** @internal */
  protected recordOrThrow(handle: Handle): number {
    const p = recordOf(this.core.layout.records, handle);
    if (p === 0) throw new InvalidHandleError(handle);
    return p;
  }

  /** @internal */
  protected checkIdle(method: string): void {
    if (this.lock.busy) throw new HeapBusyError(method);
  }

  /**
   * @internal
   * Runs `task` at once on an unshared heap; on a shared one under the cross-thread lock (or
   * at once while this manager holds it, between the slices of its own compaction). The lock
   * refuses at once rather than wait while a manager of this heap in this thread (this one's
   * async call included) holds or awaits it: waiting would block the thread that manager needs.
   */
  protected locked<T>(method: string, task: () => T): T {
    const lock = this.sharedLock;
    if (lock === null) return task();
    return lock.runSync(() => {
      this.core.layout.begin(); // follow what other threads changed
      return task();
    }, method);
  }
}
