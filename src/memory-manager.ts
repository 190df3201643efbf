/**
 * MemoryManager, the public heap: argument checks, typed errors, locking, the compaction policy
 * and move events, over the synchronous data structures of block-layout, compactor and scrambler.
 */
import { checkIndex, checkSize, readBytes, readOptions } from './arguments.js';
import { BlockLayout } from './block-layout.js';
import { NEXT, NIL, OFF, REQ, SIZE, isLive, pinsOf } from './block-records.js';
import { Compaction, type MoveSink } from './compactor.js';
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
import type { ManagedMemory } from './managed-memory.js';
import { MoveEvents } from './move-events.js';
import { parseOptions } from './options.js';
import { rearrange, scramble } from './scrambler.js';
import type {
  BlockInfo,
  CompactOptions,
  CompactResult,
  Handle,
  HeapStats,
  MemoryManagerOptions,
  MoveListener,
  PlacementStrategy,
  TypedArrayConstructor,
} from './types.js';

/** The typed arrays `view` accepts, by identity (so no getter of the caller's can run), and their element sizes. */
const VIEW_TYPES = new Map<unknown, number>(
  (
    [
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
      BigInt64Array,
      BigUint64Array,
      (globalThis as { Float16Array?: { BYTES_PER_ELEMENT: number } }).Float16Array,
    ] as ({ BYTES_PER_ELEMENT: number } | undefined)[]
  )
    .filter((type) => type !== undefined)
    .map((type) => [type, type.BYTES_PER_ELEMENT]),
);

/**
 * A relocatable heap over one fixed-size block of bytes. Blocks are named by integer handles,
 * never by offsets, so the heap may move them: compaction slides them together, and an
 * allocation succeeds whenever the total free space suffices.
 *
 * `alloc`, `free`, `resize` and `compact` take an async lock and run one at a time in call
 * order; their `...Sync` twins run at once and throw `HeapBusyError` while an async call is
 * pending. Costs: F is the number of free blocks, B the number of blocks, n the bytes touched.
 * When the managed memory was detached, every method that reads, writes or changes the heap
 * throws `MemoryManagerError` `ERR_BUFFER_DETACHED` before changing anything.
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
  private readonly memory: ManagedMemory;
  private readonly layout: BlockLayout;
  private readonly lock: HeapLock = new MutexLock();
  private readonly mask: number;
  private readonly sliceBytes: number | undefined;
  private readonly events = new MoveEvents();
  private peakUsed = 0;
  private compactions = 0;
  private bytesMoved = 0;
  private readonly sink: MoveSink = (p, from, to) => {
    const r = this.layout.records.r;
    this.events.add(handleOf(r, p), from, to, r[p + REQ]);
  };

  /**
   * @param options the capacity in bytes, or {@link MemoryManagerOptions} (own properties,
   *   each read once).
   * @throws TypeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for options of the wrong
   *   type, unknown options, both or neither of `size` and `buffer`, or an options getter that
   *   throws; RangeError (`ERR_OUT_OF_RANGE`) for a size, alignment or `maxBlocks` out of range;
   *   MemoryManagerError `ERR_BUFFER_DETACHED` for a detached `buffer`.
   */
  constructor(options: number | MemoryManagerOptions) {
    const settings = parseOptions(options);
    this.memory = settings.memory;
    this.capacity = settings.memory.capacity;
    this.align = settings.align;
    this.mask = settings.align - 1;
    this.autoCompact = settings.autoCompact;
    this.zeroFill = settings.zeroFill;
    this.scramble = settings.scramble;
    this.strategy = settings.strategy;
    this.sliceBytes = settings.compactSliceBytes;
    this.maxBlocks = settings.maxBlocks;
    this.layout = new BlockLayout(this.capacity, settings.strategy);
  }

  /**
   * The managed bytes: a plain Uint8Array of `capacity` bytes over the heap's memory (for a
   * `buffer` option, the same memory). Read it to upload or compare the heap; a write through
   * it bypasses every check. Re-read it after a `WebAssembly.Memory` grew. O(1).
   * @throws MemoryManagerError `ERR_BUFFER_DETACHED`
   */
  get bytes(): Uint8Array {
    return this.heapBytes();
  }

  /**
   * Increases whenever any block moves (once per operation or compaction slice that moved
   * blocks). Offsets and views taken at the same epoch are still valid.
   */
  get epoch(): number {
    return this.events.epoch;
  }

  /**
   * Allocates a block of `size` bytes where the strategy says (first fit by default),
   * compacting first when only compaction makes room and `autoCompact` is on. Waits for
   * pending async operations. O(log F), plus O(B + moved bytes) when it compacts, plus
   * O(size) to zero-fill.
   * @returns a promise of the new block's handle.
   * Rejects with OutOfMemoryError, MemoryManagerError `ERR_TOO_MANY_BLOCKS` past `maxBlocks`,
   * TypeError `ERR_INVALID_ARG_TYPE`, RangeError `ERR_OUT_OF_RANGE`.
   */
  alloc(size: number): Promise<Handle> {
    const sliceBytes = this.sliceBytes;
    if (sliceBytes === undefined) return this.lock.run(() => this.allocNow(size));
    return this.lock.runAsync(() => this.allocSliced(size, sliceBytes));
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
   *   With either, the compaction starts after the current microtasks (it takes the lock);
   *   without, it starts at once when nothing is pending.
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
    let sliceBytes: unknown;
    let signal: unknown;
    try {
      ({ sliceBytes, signal } = readOptions('options', options, ['sliceBytes', 'signal']));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
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
    const heap = this.heapBytes();
    const p = this.recordOrThrow(handle);
    const r = this.layout.records.r;
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
    this.heapBytes();
    let p = this.recordOrThrow(handle);
    checkIndex('offset', offset);
    const size = this.layout.records.r[p + REQ];
    if (offset > size) throw offsetOutside(offset, size);
    const bytes = readBytes('data', data, size - offset, (n) =>
      rangeOutside('data.length', n, offset, size),
    );
    if (bytes !== data) {
      // Reading an array-like ran the caller's code, which may have freed, moved or resized
      // the block, or detached the memory: look again.
      p = this.recordOrThrow(handle);
      const now = this.layout.records.r[p + REQ];
      if (offset + bytes.length > now) throw rangeOutside('data.length', bytes.length, offset, now);
    }
    this.heapBytes().set(bytes, this.layout.records.r[p + OFF] + offset);
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
    const heap = this.heapBytes();
    const p = this.recordOrThrow(handle);
    const r = this.layout.records.r;
    const size = r[p + REQ];
    const offset = r[p + OFF];
    const byteOffset = heap.byteOffset + offset;
    if (type === undefined) return new Uint8Array(heap.buffer, byteOffset, size);
    const bytes = VIEW_TYPES.get(type);
    if (bytes === undefined) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "type" argument must be a built-in typed-array constructor. Received ${describe(type)}.`,
      );
    }
    if (size % bytes !== 0 || byteOffset % bytes !== 0) {
      throw outOfRangeError(
        `A ${type.name} view needs a size and an address that are multiples of ${bytes}; the block has ${size} bytes at offset ${offset} (address ${byteOffset} in the underlying buffer, whose view starts at byteOffset ${heap.byteOffset}).`,
      );
    }
    return new type(heap.buffer, byteOffset, size / bytes);
  }

  /**
   * Pins a block: it never moves while pinned. Pins are counted: n pins need n unpins. O(1).
   * @throws InvalidHandleError; MemoryManagerError `ERR_TOO_MANY_PINS` past 524,287 pins.
   */
  pin(handle: Handle): void {
    this.heapBytes();
    if (!this.layout.pin(this.recordOrThrow(handle))) {
      throw new MemoryManagerError(
        'ERR_TOO_MANY_PINS',
        `Block ${handle} already holds the most pins.`,
      );
    }
  }

  /** Removes one pin. O(1). @throws InvalidHandleError; MemoryManagerError `ERR_NOT_PINNED` when it holds none. */
  unpin(handle: Handle): void {
    this.heapBytes();
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
    return this.layout.records.r[this.recordOrThrow(handle) + REQ];
  }

  /** The block's current offset in the heap; it changes when the block moves. O(1). @throws InvalidHandleError */
  offsetOf(handle: Handle): number {
    return this.layout.records.r[this.recordOrThrow(handle) + OFF];
  }

  /**
   * True when `handle` names a live block of this heap. Never throws. O(1). Handles are
   * numbers: another heap's handle can name one of this heap's blocks, so keep each handle
   * with its heap.
   */
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
    const heap = this.heapBytes();
    const occupied = this.occupiedFor(size);
    const layout = this.layout;
    let p = layout.allocate(occupied, size);
    if (p === NIL) {
      this.checkRoom(occupied, size, '');
      this.compactNow();
      p = layout.allocate(occupied, size);
      if (p === NIL) throw this.outOfMemory(size, ''); // checkRoom promised room: defensive
    }
    return this.allocated(heap, p, size);
  }

  private async allocSliced(size: number, sliceBytes: number): Promise<Handle> {
    this.heapBytes();
    const occupied = this.occupiedFor(size);
    const layout = this.layout;
    let p = layout.allocate(occupied, size);
    if (p === NIL) {
      const plan = this.checkRoom(occupied, size, '');
      await this.compactSlices(sliceBytes, undefined);
      p = layout.allocate(occupied, size);
      if (p === NIL) {
        // Pins changed between slices and the packing went another way (without pins the
        // slices end fully packed). Finish at once, as nothing can interleave now: put the
        // blocks where the plan made at the start put them, unless a block pinned since would
        // have to move.
        const heap = this.heapBytes();
        if (plan === null || !this.pinsKeep(plan)) throw this.outOfMemory(size, this.pinNote());
        if (rearrange(layout, heap, plan, this.listenerSink()) > 0) this.events.markMoved();
        p = layout.allocate(occupied, size);
        if (p === NIL) throw this.outOfMemory(size, this.pinNote()); // planned room: defensive
      }
    }
    return this.allocated(this.heapBytes(), p, size);
  }

  /** True when every pinned block is where `placements` puts it. O(B). */
  private pinsKeep(placements: number[]): boolean {
    const r = this.layout.records.r;
    for (let i = 0; i < placements.length; i += 2) {
      const p = placements[i];
      if (pinsOf(r, p) > 0 && r[p + OFF] !== placements[i + 1]) return false;
    }
    return true;
  }

  private allocated(heap: Uint8Array, p: number, size: number): Handle {
    const layout = this.layout;
    const r = layout.records.r;
    if (this.zeroFill) {
      const off = r[p + OFF];
      heap.fill(0, off, off + size);
    }
    if (layout.used > this.peakUsed) this.peakUsed = layout.used;
    return this.finish(handleOf(r, p));
  }

  private freeNow(handle: Handle): void {
    this.heapBytes();
    const p = this.recordOrThrow(handle);
    if (pinsOf(this.layout.records.r, p) > 0) throw pinnedError(handle, 'free');
    this.layout.release(p);
    this.finish(undefined);
  }

  private resizeNow(handle: Handle, size: number): void {
    const heap = this.heapBytes();
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
        heap.copyWithin(r[p + OFF], from, from + oldSize);
      } else {
        if (!this.autoCompact) throw this.outOfMemory(size, detail);
        if (layout.pinned > 0 && !this.fitsAfterCompaction(occupied, p)) {
          throw this.outOfMemory(size, detail + this.pinNote());
        }
        // Other blocks may slide over the old bytes: keep a copy.
        const saved = heap.slice(from, from + oldSize);
        layout.detach(p);
        this.compactNow();
        layout.attach(p, layout.fit(occupied), occupied);
        r = layout.records.r;
        heap.set(saved, r[p + OFF]);
      }
      layout.used += growth;
      const to = r[p + OFF];
      if (to !== from) {
        if (this.events.listening) this.events.add(handle, from, to, oldSize);
        else this.events.markMoved();
      }
    }
    r = layout.records.r;
    r[p + REQ] = size;
    if (this.zeroFill && size > oldSize) {
      const off = r[p + OFF];
      heap.fill(0, off + oldSize, off + size);
    }
    if (layout.used > this.peakUsed) this.peakUsed = layout.used;
    this.finish(undefined);
  }

  /**
   * Runs a whole compaction at once over the bytes as they are now; its moves join the
   * operation's batch.
   */
  private compactNow(): CompactResult {
    const c = new Compaction(this.layout, this.heapBytes(), this.listenerSink()).run();
    this.compactions++;
    this.bytesMoved += c.bytesMoved;
    if (c.blocksMoved > 0) this.events.markMoved();
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /** Compacts in slices, publishing each slice's moves, yielding to the event loop between them. */
  private async compactSlices(sliceBytes: number, signal: unknown): Promise<CompactResult> {
    const abort = signal as AbortSignal | undefined;
    abort?.throwIfAborted();
    const c = new Compaction(this.layout, this.heapBytes());
    this.compactions++;
    for (;;) {
      const bytesBefore = c.bytesMoved;
      const movedBefore = c.blocksMoved;
      // Between slices listeners come and go, and the memory may be replaced or detached.
      c.heap = this.heapBytes();
      c.sink = this.listenerSink();
      c.step(sliceBytes);
      this.bytesMoved += c.bytesMoved - bytesBefore;
      if (c.blocksMoved > movedBefore) this.events.markMoved();
      this.events.publish();
      if (c.done) break;
      await yieldToEventLoop();
      abort?.throwIfAborted();
    }
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /**
   * Ends a mutating operation once its state is final: scrambles (debug mode) and publishes
   * the moves, so listeners never see a half-done operation. Returns `result`.
   */
  private finish<T>(result: T): T {
    if (this.scramble) {
      this.events.publish(); // one batch per arrangement: each block at most once per batch
      // A listener may have detached the memory; the operation itself is done, so skip.
      const heap = this.memory.current();
      if (heap !== null && scramble(this.layout, heap, this.listenerSink()) > 0) {
        this.events.markMoved();
      }
    }
    this.events.publish();
    return result;
  }

  private listenerSink(): MoveSink | null {
    return this.events.listening ? this.sink : null;
  }

  /** The managed bytes now. @throws MemoryManagerError `ERR_BUFFER_DETACHED` when detached. */
  private heapBytes(): Uint8Array {
    const heap = this.memory.current();
    if (heap === null) {
      throw new MemoryManagerError(
        'ERR_BUFFER_DETACHED',
        'The memory of this heap was detached (transferred, or replaced by WebAssembly.Memory#grow under a view of it); nothing was changed.',
      );
    }
    return heap;
  }

  /** Checks a requested size and returns the bytes it occupies; OutOfMemoryError above capacity. */
  private occupiedFor(size: number): number {
    checkSize('size', size);
    if (size > this.capacity) throw this.outOfMemory(size, '');
    if (this.layout.live >= this.maxBlocks) {
      throw new MemoryManagerError(
        'ERR_TOO_MANY_BLOCKS',
        `Cannot allocate: the heap holds ${this.layout.live} blocks, its maxBlocks.`,
      );
    }
    return size + (-size & this.mask);
  }

  /**
   * Throws OutOfMemoryError unless compacting would make room for `occupied` bytes. With pins,
   * returns where the planned compaction puts every live block (record, offset, ...), else null.
   */
  private checkRoom(occupied: number, size: number, detail: string): number[] | null {
    if (!this.autoCompact || this.capacity - this.layout.used < occupied) {
      throw this.outOfMemory(size, detail);
    }
    if (this.layout.pinned === 0) return null;
    const plan = this.planCompaction(NIL);
    if (plan.fit(occupied) === NIL) throw this.outOfMemory(size, detail + this.pinNote());
    return livePlacements(plan);
  }

  /**
   * Says whether `occupied` bytes would fit after a compaction (of the heap without block
   * `without`, when given). Only needed with pins, where free space can stay split.
   */
  private fitsAfterCompaction(occupied: number, without: number): boolean {
    return this.planCompaction(without).fit(occupied) !== NIL;
  }

  /** A copy of the layout (without `without`, when given) compacted, no bytes moved. O(records). */
  private planCompaction(without: number): BlockLayout {
    const copy = this.layout.clone();
    if (without !== NIL) copy.detach(without);
    new Compaction(copy, null).run();
    return copy;
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

/** Where each live block of `layout` is: record, offset, record, offset, ... O(B). */
function livePlacements(layout: BlockLayout): number[] {
  const r = layout.records.r;
  const out: number[] = [];
  for (let p = layout.head; p !== NIL; p = r[p + NEXT]) if (isLive(r, p)) out.push(p, r[p + OFF]);
  return out;
}

function offsetOutside(offset: number, size: number): RangeError {
  return outOfRangeError(
    `The value of "offset" is out of range: ${offset} is past the end of a ${size}-byte block. It must be at most ${size}.`,
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
