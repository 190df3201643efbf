// MemoryManager: the heap engine (OffsetHeap) plus the bytes it manages, which it moves itself
// when blocks move (copyWithin), reads, writes and views by handle.
import { OFF, REQ } from '../layout/records.js';
import { checkIndex, offsetOutside, rangeOutside, readBytes } from './arguments.js';
import { attachParts, createParts, describeShared, HeapParts, restoreParts } from './heap-parts.js';
import { OffsetHeap } from './offset-heap.js';
import type {
  AttachOptions,
  Handle,
  MemoryManagerOptions,
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
export class MemoryManager extends OffsetHeap {
  /** New blocks (and the new bytes of a grown block) read as zeros. */
  readonly zeroFill: boolean;

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
    super((parts instanceof HeapParts ? parts : createParts(options, true)) as never);
    this.zeroFill = this.core.zeroFill;
  }

  /**
   * A heap equal to the one `snapshot` was saved from: same capacity, options, handles,
   * offsets, bytes, pins, stats and epoch, independent of it. Every invariant is checked
   * before it returns. O(B + capacity).
   * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything but a Uint8Array;
   *   MemoryManagerError `ERR_INVALID_SNAPSHOT` saying what is wrong (truncated, damaged
   *   header or metadata, wrong magic, unknown version, a broken invariant).
   */
  static override restore(snapshot: Uint8Array): MemoryManager {
    return new MemoryManager(restoreParts(snapshot, true));
  }

  /**
   * Attaches a shared heap from its description (`mm.shared`, posted from another thread, or
   * in the same one): the same heap, not a copy. Every manager attached to it sees the others'
   * allocations, frees, resizes, pins, compactions, stats and epoch, and handles are valid in
   * all of them. O(1).
   * @param options `lockTimeout`: how long a Sync call waits for the lock, and an async call
   *   while the holder shows no progress, in milliseconds
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
      : describeShared(this.core.layout, this.core.memory!);
  }

  /** Shared heaps: milliseconds a wait for the lock may last; undefined for an unshared heap. */
  get lockTimeout(): number | undefined {
    return this.sharedLock?.timeout;
  }

  /**
   * The managed bytes: a plain Uint8Array of `capacity` bytes over the heap's memory (for a
   * `buffer` option, the same memory). Read it to upload or compare the heap; a write through
   * it bypasses every check. Re-read it after a `WebAssembly.Memory` grew. O(1).
   * @throws MemoryManagerError `ERR_BUFFER_DETACHED`
   */
  get bytes(): Uint8Array {
    return this.locked('bytes', () => this.bytesNow());
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
    const heap = this.bytesNow();
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
    this.bytesNow();
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
    this.bytesNow().set(bytes, this.core.layout.state.r[p + OFF] + offset);
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
    const heap = this.bytesNow();
    const p = this.recordOrThrow(handle);
    const r = this.core.layout.state.r;
    if (type === undefined)
      return new Uint8Array(heap.buffer, heap.byteOffset + r[p + OFF], r[p + REQ]);
    return typedView(heap, r[p + OFF], r[p + REQ], type);
  }

  /** The managed bytes now (a MemoryManager always has them). @throws ERR_BUFFER_DETACHED */
  private bytesNow(): Uint8Array {
    return this.core.begin()!;
  }
}
