/// <reference types="@webgpu/types" />
// GpuPool: one GPUBuffer sub-allocated by handle. An OffsetHeap decides placements and moves;
// its move plans become copy commands on the buffer (GpuMover), submitted at the end of the
// operation that made them, so a later `write` (queue.writeBuffer) or draw lands after them.
// The third applier of the engine's moves, after MemoryManager's copyWithin and the caller's own.
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';
// The package's public entry: built as an import of 'handle-heap' (tsup.config.ts), so the
// pool shares the one copy of OffsetHeap and the error classes with its user.
import {
  MemoryManagerError,
  OffsetHeap,
  type AllocOptions,
  type BlockInfo,
  type CompactOptions,
  type CompactResult,
  type Handle,
  type HeapStats,
  type MoveListener,
  type PlacementStrategy,
} from '../index.js';
import { GpuMover, readBack } from './gpu-moves.js';
import { COPY_ALIGN } from './move-plan.js';

/** Options of `new GpuPool(device, options)`. Give `size` (a new buffer) or `buffer`. */
export interface GpuPoolOptions {
  /** Bytes of a new buffer the pool creates (and destroys with itself). Rounded down to `align`. */
  size?: number;
  /**
   * A buffer to sub-allocate instead; its usage must include `COPY_SRC | COPY_DST`. The pool
   * manages its first `buffer.size` bytes (rounded down to `align`) and never destroys it.
   */
  buffer?: GPUBuffer;
  /**
   * Usage of a new buffer, besides `COPY_SRC | COPY_DST` which the pool always adds. Default
   * `VERTEX | INDEX | UNIFORM | STORAGE`.
   */
  usage?: GPUBufferUsageFlags;
  /** Every block's offset is a multiple of this power of two, at least 4. Default 4. */
  align?: number;
  /** Which free block an allocation takes. Default `'first-fit'`. */
  strategy?: PlacementStrategy;
  /** Compact when no free block fits but the total free space does. Default true. */
  autoCompact?: boolean;
  /** Async `alloc` that must compact does it in slices of about this many bytes. */
  compactSliceBytes?: number;
  /** The most live blocks. */
  maxBlocks?: number;
  /** New blocks (and the new bytes of a grown block) are cleared to zeros on the GPU. Default false. */
  zeroFill?: boolean;
  /** Label of a new buffer. */
  label?: string;
  /** Largest piece a move goes through the pool's scratch buffer in (GpuMover). Default 4 MiB. */
  windowBytes?: number;
}

const POOL_OPTIONS = [
  'size',
  'buffer',
  'usage',
  'align',
  'strategy',
  'autoCompact',
  'compactSliceBytes',
  'maxBlocks',
  'zeroFill',
  'label',
  'windowBytes',
];

/**
 * A pool of blocks in one GPUBuffer, by handle: alloc, free, resize and compact as on an
 * OffsetHeap, whose moves the pool carries out on the GPU with `copyBufferToBuffer` (through a
 * scratch buffer: WebGPU forbids copies within one buffer) before any later write; `write`
 * through `queue.writeBuffer` at the block's current offset; `read` through a `MAP_READ`
 * staging buffer. Bind a block with `offsetOf(h)` (`setVertexBuffer(slot, pool.buffer,
 * pool.offsetOf(h), pool.sizeOf(h))`), and bind again when `epoch` changed. WebGPU's 4-byte
 * rules hold by construction: offsets are multiples of `align` (at least 4), sizes are padded
 * to 4, and `write`/`read` ranges must be multiples of 4.
 */
export class GpuPool {
  readonly device: GPUDevice;
  /** The buffer the blocks live in. */
  readonly buffer: GPUBuffer;
  /** The engine: placements, handles, pins, stats, move plans (listen with `onMove`). */
  readonly heap: OffsetHeap;
  readonly zeroFill: boolean;
  private readonly mover: GpuMover;
  private readonly ownsBuffer: boolean;
  private destroyed = false;

  /**
   * @throws TypeError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a missing device, bad
   *   or unknown options, both or neither of `size` and `buffer`, a buffer without
   *   `COPY_SRC | COPY_DST`; RangeError `ERR_OUT_OF_RANGE` for an `align` below 4 or not a power
   *   of two, a size out of range.
   */
  constructor(device: GPUDevice, options: GpuPoolOptions) {
    if (
      typeof device !== 'object' ||
      device === null ||
      typeof device.createBuffer !== 'function'
    ) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "device" argument must be a GPUDevice. Received ${describe(device)}.`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be an object. Received ${describe(options)}.`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!POOL_OPTIONS.includes(key)) {
        throw argTypeError(
          'ERR_INVALID_ARG_VALUE',
          `Unknown option "${key}". Known options: ${POOL_OPTIONS.join(', ')}.`,
        );
      }
    }
    const { buffer, size, usage, label, windowBytes, zeroFill, ...heapOptions } = options;
    const align = options.align ?? COPY_ALIGN;
    if (typeof align !== 'number' || !(align >= COPY_ALIGN)) {
      throw outOfRangeError(
        `The value of "align" is out of range. A GPU pool's alignment must be a power of two of at least ${COPY_ALIGN}. Received ${describe(align)}.`,
      );
    }
    if ((buffer === undefined) === (size === undefined)) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        'Give exactly one of the "size" and "buffer" options.',
      );
    }
    if (zeroFill !== undefined && typeof zeroFill !== 'boolean') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "zeroFill" option must be of type boolean. Received ${describe(zeroFill)}.`,
      );
    }
    const copyBoth = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    let capacity: number;
    if (buffer !== undefined) {
      if (typeof buffer !== 'object' || buffer === null || typeof buffer.size !== 'number') {
        throw argTypeError(
          'ERR_INVALID_ARG_TYPE',
          `The "buffer" option must be a GPUBuffer. Received ${describe(buffer)}.`,
        );
      }
      if ((buffer.usage & copyBoth) !== copyBoth) {
        throw argTypeError(
          'ERR_INVALID_ARG_VALUE',
          `The "buffer" option must have COPY_SRC and COPY_DST usage. Received usage 0x${buffer.usage.toString(16)}.`,
        );
      }
      capacity = buffer.size;
    } else {
      capacity = size!;
    }
    // The heap checks align, size and the other options before any GPU object exists.
    this.heap = new OffsetHeap({ ...heapOptions, align, size: capacity });
    this.device = device;
    this.zeroFill = zeroFill ?? false;
    this.mover = new GpuMover(device, { windowBytes, label: 'GpuPool scratch' });
    if (buffer !== undefined) {
      this.buffer = buffer;
      this.ownsBuffer = false;
    } else {
      const extra =
        usage ??
        GPUBufferUsage.VERTEX |
          GPUBufferUsage.INDEX |
          GPUBufferUsage.UNIFORM |
          GPUBufferUsage.STORAGE;
      this.buffer = device.createBuffer({
        label: label ?? 'GpuPool',
        size: this.heap.capacity,
        usage: extra | copyBoth,
      });
      this.ownsBuffer = true;
    }
    // Every batch of moves becomes copy commands, submitted before the operation returns.
    this.heap.onMove((moves) => {
      this.mover.apply(this.buffer, moves);
    });
  }

  /** Bytes the pool manages (from offset 0 of the buffer). */
  get capacity(): number {
    return this.heap.capacity;
  }

  /** Alignment of every block, a power of two of at least 4. */
  get align(): number {
    return this.heap.align;
  }

  /** Increases whenever blocks move: bind the blocks again when it changed. */
  get epoch(): number {
    return this.heap.epoch;
  }

  /**
   * A block of `size` bytes (padded to a multiple of 4) at a multiple of `align` (the pool's, or
   * `options.align`, for example `device.limits.minUniformBufferOffsetAlignment` for uniform
   * blocks bound with dynamic offsets). Compacts first, on the GPU, when only that makes room.
   * @throws as OffsetHeap#alloc, and MemoryManagerError `ERR_DESTROYED`.
   */
  async alloc(size: number, options?: AllocOptions): Promise<Handle> {
    this.checkLive();
    const h = await this.heap.alloc(padded(size), options);
    this.cleared(h, 0);
    return h;
  }

  /** `alloc` without waiting. */
  allocSync(size: number, options?: AllocOptions): Handle {
    this.checkLive();
    const h = this.heap.allocSync(padded(size), options);
    this.cleared(h, 0);
    return h;
  }

  /** Frees a block. */
  free(handle: Handle): Promise<void> {
    this.checkLive();
    return this.heap.free(handle);
  }

  freeSync(handle: Handle): void {
    this.checkLive();
    this.heap.freeSync(handle);
  }

  /**
   * Resizes a block (padded to 4), keeping its first bytes; moves it on the GPU when it must.
   * @throws as OffsetHeap#resize.
   */
  async resize(handle: Handle, size: number): Promise<void> {
    this.checkLive();
    const old = this.sizeBefore(handle);
    await this.heap.resize(handle, padded(size));
    this.cleared(handle, old);
  }

  resizeSync(handle: Handle, size: number): void {
    this.checkLive();
    const old = this.sizeBefore(handle);
    this.heap.resizeSync(handle, padded(size));
    this.cleared(handle, old);
  }

  /** Compacts: the moves run on the GPU, a slice at a time with `sliceBytes`. */
  compact(options?: CompactOptions): Promise<CompactResult> {
    this.checkLive();
    return this.heap.compact(options);
  }

  compactSync(): CompactResult {
    this.checkLive();
    return this.heap.compactSync();
  }

  /**
   * Writes `data` into a block at `offset` with `queue.writeBuffer`, after every move submitted
   * so far. `offset` and the data's byte length must be multiples of 4 and fit in the block.
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE` for data that is not an
   *   ArrayBuffer or a view; RangeError `ERR_OUT_OF_RANGE` for a range that is not a multiple
   *   of 4 or crosses the block's end.
   */
  write(handle: Handle, data: BufferSource, offset = 0): void {
    this.checkLive();
    const at = this.heap.offsetOf(handle);
    const size = this.heap.sizeOf(handle);
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data))
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "data" argument must be an ArrayBuffer or an ArrayBuffer view. Received ${describe(data)}.`,
      );
    }
    checkRange('offset', offset, size);
    checkRange('data.byteLength', bytes.length, size - offset);
    this.device.queue.writeBuffer(this.buffer, at + offset, bytes);
  }

  /**
   * The block's bytes (from `offset`, `length` bytes; multiples of 4), read back through a
   * `MAP_READ` buffer after all work submitted so far.
   */
  read(handle: Handle, offset = 0, length?: number): Promise<Uint8Array> {
    this.checkLive();
    const at = this.heap.offsetOf(handle);
    const size = this.heap.sizeOf(handle);
    checkRange('offset', offset, size);
    const n = length ?? size - offset;
    checkRange('length', n, size - offset);
    return readBack(this.device, this.buffer, at + offset, n);
  }

  /** The block's offset in the buffer (changes when it moves: watch `epoch`). */
  offsetOf(handle: Handle): number {
    return this.heap.offsetOf(handle);
  }

  /** The block's size: what was asked for, padded to a multiple of 4. */
  sizeOf(handle: Handle): number {
    return this.heap.sizeOf(handle);
  }

  alignOf(handle: Handle): number {
    return this.heap.alignOf(handle);
  }

  has(handle: Handle): boolean {
    return this.heap.has(handle);
  }

  /** A pinned block never moves: pin what a submitted command still reads at its offset. */
  pin(handle: Handle): void {
    this.heap.pin(handle);
  }

  unpin(handle: Handle): void {
    this.heap.unpin(handle);
  }

  isPinned(handle: Handle): boolean {
    return this.heap.isPinned(handle);
  }

  stats(): HeapStats {
    return this.heap.stats();
  }

  blocks(): BlockInfo[] {
    return this.heap.blocks();
  }

  /** The move plans, after the pool has submitted their copies (for bookkeeping or rebinding). */
  onMove(listener: MoveListener): () => void {
    return this.heap.onMove(listener);
  }

  validate(): void {
    this.heap.validate();
  }

  /**
   * Destroys the scratch buffer, and the pool's buffer when the pool created it. Submitted work
   * finishes first. Later calls throw `ERR_DESTROYED`.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.mover.destroy();
    if (this.ownsBuffer) this.buffer.destroy();
  }

  private checkLive(): void {
    if (this.destroyed)
      throw new MemoryManagerError('ERR_DESTROYED', 'This GpuPool was destroyed.');
  }

  /** The block's size before a resize, or 0 for a bad handle (the resize then throws). */
  private sizeBefore(handle: Handle): number {
    return this.heap.has(handle) ? this.heap.sizeOf(handle) : 0;
  }

  /** With `zeroFill`: clears the block's bytes from `from` on the GPU. */
  private cleared(handle: Handle, from: number): void {
    const size = this.heap.sizeOf(handle);
    if (!this.zeroFill || from >= size) return;
    const encoder = this.device.createCommandEncoder({ label: 'GpuPool zeroFill' });
    encoder.clearBuffer(this.buffer, this.heap.offsetOf(handle) + from, size - from);
    this.device.queue.submit([encoder.finish()]);
  }
}

/** `size` padded to a multiple of 4, for numbers the heap will accept; anything else as given. */
function padded(size: number): number {
  return typeof size === 'number' && Number.isInteger(size) && size > 0
    ? size + (-size & (COPY_ALIGN - 1))
    : size;
}

/** Throws unless `value` is an integer multiple of 4 from 0 to `most`. */
function checkRange(name: string, value: unknown, most: number): void {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value % COPY_ALIGN !== 0 ||
    value > most
  ) {
    if (typeof value !== 'number') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "${name}" argument must be of type number. Received ${describe(value)}.`,
      );
    }
    throw outOfRangeError(
      `The value of "${name}" is out of range. It must be a multiple of ${COPY_ALIGN} from 0 to ${most}. Received ${value}.`,
    );
  }
}
