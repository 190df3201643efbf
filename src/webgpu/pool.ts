/// <reference types="@webgpu/types" />
// GpuPool: one GPUBuffer sub-allocated by handle. It is an OffsetHeap whose move plans become
// copy commands on the buffer (GpuMover) as the engine makes them, submitted before the
// operation returns, so a later `write` (queue.writeBuffer) or draw lands after them. The third
// applier of the engine's moves, after MemoryManager's copyWithin and the caller's own.
import { bufferSourceBytes, checkNumber, checkSpan, readOptions } from '../api/arguments.js';
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';
// The package's public entry: built as an import of 'handle-heap' (tsup.config.ts), so the
// pool shares the one copy of OffsetHeap and the error classes with its user.
import {
  MemoryManagerError,
  OffsetHeap,
  type AllocOptions,
  type Handle,
  type OffsetHeapOptions,
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

/** The pool's settings, read once from its options, before any GPU object exists. */
interface PoolSettings {
  heap: OffsetHeapOptions;
  buffer: GPUBuffer | undefined;
  usage: GPUBufferUsageFlags | undefined;
  label: string | undefined;
  windowBytes: number | undefined;
  zeroFill: boolean;
}

const COPY_SRC = 0x4; // GPUBufferUsage.COPY_SRC, without needing the global before a device exists
const COPY_DST = 0x8;

function readPoolOptions(device: unknown, options: unknown): PoolSettings {
  if (
    typeof device !== 'object' ||
    device === null ||
    typeof (device as GPUDevice).createBuffer !== 'function'
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
  const o = readOptions('options', options, POOL_OPTIONS) as GpuPoolOptions;
  const { buffer, size, usage, label, windowBytes, zeroFill, ...rest } = o;
  const align = rest.align ?? COPY_ALIGN;
  checkNumber('align', align);
  if (!(align >= COPY_ALIGN)) {
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
  let capacity = size;
  if (buffer !== undefined) {
    if (typeof buffer !== 'object' || buffer === null || typeof buffer.size !== 'number') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "buffer" option must be a GPUBuffer. Received ${describe(buffer)}.`,
      );
    }
    if ((buffer.usage & (COPY_SRC | COPY_DST)) !== (COPY_SRC | COPY_DST)) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `The "buffer" option must have COPY_SRC and COPY_DST usage. Received usage 0x${buffer.usage.toString(16)}.`,
      );
    }
    capacity = buffer.size;
  }
  return {
    heap: { ...rest, align, size: capacity! },
    buffer,
    usage,
    label,
    windowBytes,
    zeroFill: zeroFill ?? false,
  };
}

/**
 * A pool of blocks in one GPUBuffer, by handle: an OffsetHeap (alloc, free, resize, compact,
 * pins, stats, blocks, move plans, validate, save/restore) whose moves the pool carries out on
 * the GPU with `copyBufferToBuffer` (through a scratch buffer: WebGPU forbids copies within one
 * buffer) before the operation returns; `write` through `queue.writeBuffer` at the block's
 * current offset; `read` through a `MAP_READ` buffer. Bind a block with `offsetOf(h)`
 * (`setVertexBuffer(slot, pool.buffer, pool.offsetOf(h), pool.sizeOf(h))`), and bind again when
 * `epoch` changed. WebGPU's 4-byte rules hold by construction: offsets are multiples of `align`
 * (at least 4), sizes are padded to 4, and `write`/`read` ranges must be multiples of 4.
 */
export class GpuPool extends OffsetHeap {
  readonly device: GPUDevice;
  /** The buffer the blocks live in. */
  readonly buffer: GPUBuffer;
  /** New blocks and the new bytes of grown blocks are cleared on the GPU. */
  readonly zeroFill: boolean;
  private readonly mover: GpuMover;
  private readonly ownsBuffer: boolean;
  private destroyed = false;

  /**
   * @throws TypeError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a missing device, bad
   *   or unknown options, both or neither of `size` and `buffer`, a buffer without
   *   `COPY_SRC | COPY_DST`; RangeError `ERR_OUT_OF_RANGE` for an `align` below 4 or not a power
   *   of two, a size out of range. Options are own properties, each read once.
   */
  constructor(device: GPUDevice, options: GpuPoolOptions) {
    const settings = readPoolOptions(device, options);
    super(settings.heap); // checks align, size and the other options before any GPU object exists
    const most = device.limits?.maxBufferSize ?? Infinity;
    if (settings.buffer === undefined && this.capacity > most) {
      throw outOfRangeError(
        `The value of "size" is out of range. The pool's buffer must be at most the device's maxBufferSize, ${most}. Received ${settings.heap.size}.`,
      );
    }
    this.device = device;
    this.zeroFill = settings.zeroFill;
    this.mover = new GpuMover(device, {
      windowBytes: settings.windowBytes,
      label: 'GpuPool scratch',
    });
    if (settings.buffer !== undefined) {
      this.buffer = settings.buffer;
      this.ownsBuffer = false;
    } else {
      const extra =
        settings.usage ??
        GPUBufferUsage.VERTEX |
          GPUBufferUsage.INDEX |
          GPUBufferUsage.UNIFORM |
          GPUBufferUsage.STORAGE;
      this.buffer = device.createBuffer({
        label: settings.label ?? 'GpuPool',
        size: this.capacity,
        usage: extra | COPY_SRC | COPY_DST,
      });
      this.ownsBuffer = true;
    }
    // Every batch of moves becomes copy commands as the engine makes it (a destroyed pool's
    // contents are gone: a compaction still running then only keeps the bookkeeping).
    this.applyWith(
      (moves) => {
        if (!this.destroyed) this.mover.apply(this.buffer, moves);
      },
      // With zeroFill, an allocation's or a growing resize's new bytes are cleared right after
      // the moves that made room (whose sources they may overlap), before listeners run.
      this.zeroFill ? (start, end) => this.clear(start, end) : undefined,
    );
  }

  /**
   * A block of `size` bytes, padded to a multiple of 4, at a multiple of `align` (the pool's,
   * or `options.align`, for example `device.limits.minUniformBufferOffsetAlignment` for uniform
   * blocks bound with dynamic offsets). Compacts first, on the GPU, when only that makes room.
   * Rejects as OffsetHeap#alloc, and with MemoryManagerError `ERR_DESTROYED`.
   */
  override alloc(size: number, options?: AllocOptions): Promise<Handle> {
    return super.alloc(padded(size), options);
  }

  override allocSync(size: number, options?: AllocOptions): Handle {
    return super.allocSync(padded(size), options);
  }

  /** Resizes a block (padded to 4), keeping its first bytes; moves it on the GPU when it must. */
  override resize(handle: Handle, size: number): Promise<void> {
    return super.resize(handle, padded(size));
  }

  override resizeSync(handle: Handle, size: number): void {
    super.resizeSync(handle, padded(size));
  }

  /**
   * Writes `data` into a block at `offset` with `queue.writeBuffer`, after every move submitted
   * so far. `offset` and the data's byte length must be multiples of 4 and fit in the block.
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE` for data that is not an
   *   ArrayBuffer or a view, `ERR_INVALID_ARG_VALUE` for detached data; RangeError
   *   `ERR_OUT_OF_RANGE` for a range that is not a multiple of 4 or crosses the block's end;
   *   MemoryManagerError `ERR_DESTROYED`.
   */
  write(handle: Handle, data: BufferSource, offset = 0): void {
    this.checkUsable();
    const at = this.offsetOf(handle);
    const size = this.sizeOf(handle);
    const bytes = bufferSourceBytes('data', data);
    checkSpan('offset', offset, size, COPY_ALIGN);
    checkSpan('data.byteLength', bytes.length, size - offset, COPY_ALIGN);
    this.device.queue.writeBuffer(this.buffer, at + offset, bytes);
  }

  /**
   * The block's bytes (from `offset`, `length` bytes; multiples of 4), read back through a
   * `MAP_READ` buffer after all work submitted so far. Rejects with the errors `write` throws.
   */
  async read(handle: Handle, offset = 0, length?: number): Promise<Uint8Array> {
    this.checkUsable();
    const at = this.offsetOf(handle);
    const size = this.sizeOf(handle);
    checkSpan('offset', offset, size, COPY_ALIGN);
    const n = length ?? size - offset;
    checkSpan('length', n, size - offset, COPY_ALIGN);
    return readBack(this.device, this.buffer, at + offset, n);
  }

  /**
   * Destroys the scratch buffer, and the pool's buffer when the pool created it. Submitted work
   * finishes first; the blocks' contents are gone. Later mutations, writes and reads throw
   * `ERR_DESTROYED`; the bookkeeping (stats, blocks, offsets) still answers. O(1).
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.mover.destroy();
    if (this.ownsBuffer) this.buffer.destroy();
  }

  private clear(start: number, end: number): void {
    if (this.destroyed) return;
    const encoder = this.device.createCommandEncoder({ label: 'GpuPool zeroFill' });
    encoder.clearBuffer(this.buffer, start, end - start);
    this.device.queue.submit([encoder.finish()]);
  }

  /** @internal Every mutation, write and read of a destroyed pool throws `ERR_DESTROYED`. */
  protected override checkUsable(): void {
    if (this.destroyed) {
      throw new MemoryManagerError('ERR_DESTROYED', 'This GpuPool was destroyed.');
    }
  }
}

/** `size` padded to a multiple of 4, for numbers the heap will accept; anything else as given. */
function padded(size: number): number {
  return typeof size === 'number' && Number.isInteger(size) && size > 0
    ? size + (-size & (COPY_ALIGN - 1))
    : size;
}
