/// <reference types="@webgpu/types" />
// Applies the heap's move plans to one GPUBuffer with copy commands.
//
// WebGPU forbids `copyBufferToBuffer` from a buffer to itself, overlapping or not, even of 0
// bytes (D3D12's CopyBufferRegion cannot do it). So every 'move' goes through a scratch buffer:
// out to a window there, then back to its destination, in pieces when the window is smaller
// than the move (ordered by `movePieces` so that memmove semantics hold). 'stage' and 'unstage'
// copy to and from the plan's staging area, which is the front of the same scratch buffer:
//
//   scratch: [staging area: stagingBytes][window: up to windowBytes]
//
// The two regions are disjoint, so a move between a 'stage' and its 'unstage' never clobbers
// staged bytes. Copies in one command buffer run as if one after another (WebGPU orders them),
// so reusing the window piece after piece is safe.
import { checkNumber } from '../api/arguments.js';
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';
import { MemoryManagerError } from '../index.js';
import { COPY_ALIGN, measurePlan, movePieces, type MoveStep } from './move-plan.js';

/** Options of a {@link GpuMover}. */
export interface GpuMoverOptions {
  /**
   * Largest window, in bytes, that moves pass through: a larger move goes in pieces of this
   * size (two copy commands each). A multiple of 4, at least 4. Default 4 MiB.
   */
  readonly windowBytes?: number;
  /** Label of the scratch buffer, shown in WebGPU's error messages. Default `'GpuMover scratch'`. */
  readonly label?: string;
}

const DEFAULT_WINDOW_BYTES = 4 << 20;

/**
 * Encodes move plans into command encoders for buffers of one device, through a scratch buffer
 * that it creates on first need and grows (destroying the old one) when a plan needs more.
 *
 * One rule comes with the reuse of the scratch buffer: submit (or drop) an encoder filled by
 * {@link GpuMover.encode} before the next `encode` call or {@link GpuMover.destroy}, since
 * either may destroy the scratch buffer that the encoder's commands use. Work already
 * submitted is safe: WebGPU lets it finish before a destroyed buffer's memory goes.
 * {@link GpuMover.apply} encodes and submits in one call.
 */
export class GpuMover {
  /** The device whose buffers this mover serves. */
  readonly device: GPUDevice;
  private readonly windowBytes: number;
  private readonly label: string;
  private scratch: GPUBuffer | null = null;
  private destroyed = false;

  /**
   * @param device the device that owns the buffers given to {@link GpuMover.encode}
   * @throws TypeError `ERR_INVALID_ARG_TYPE` when `options` is not an object; RangeError
   *   `ERR_OUT_OF_RANGE` when `windowBytes` is not a multiple of 4 of at least 4.
   */
  constructor(device: GPUDevice, options: GpuMoverOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be of type object. Received ${describe(options)}.`,
      );
    }
    const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    checkNumber('options.windowBytes', windowBytes);
    if (
      !Number.isInteger(windowBytes) ||
      windowBytes < COPY_ALIGN ||
      windowBytes % COPY_ALIGN !== 0
    ) {
      throw outOfRangeError(
        `The value of "options.windowBytes" is out of range. It must be a multiple of ${COPY_ALIGN} and >= ${COPY_ALIGN}. Received ${describe(windowBytes)}.`,
      );
    }
    this.device = device;
    this.windowBytes = windowBytes;
    this.label = options.label ?? 'GpuMover scratch';
  }

  /** Size in bytes of the current scratch buffer; 0 before the first need and after destroy. */
  get scratchBytes(): number {
    return this.scratch === null ? 0 : this.scratch.size;
  }

  /**
   * Encodes `steps` into `encoder`, applied in order to `buffer` with memmove semantics. Checks
   * the whole plan first; creates or grows the scratch buffer when the plan needs it. Moves of 0
   * bytes or onto themselves encode nothing. O(steps + moved bytes / windowBytes) commands:
   * one per 'stage' or 'unstage', two per piece of a move.
   * @param buffer a buffer of this mover's device with `COPY_SRC` and `COPY_DST` usage
   * @returns the number of copy commands encoded
   * @throws MemoryManagerError `ERR_DESTROYED` after {@link GpuMover.destroy}; TypeError
   *   `ERR_INVALID_ARG_VALUE` when `buffer` lacks a usage; the errors of {@link measurePlan};
   *   RangeError `ERR_OUT_OF_RANGE` when the staging area and the smallest window do not fit
   *   in the device's `maxBufferSize`.
   */
  encode(encoder: GPUCommandEncoder, buffer: GPUBuffer, steps: readonly MoveStep[]): number {
    if (this.destroyed) {
      throw new MemoryManagerError('ERR_DESTROYED', 'This GpuMover was destroyed.');
    }
    const copyBoth = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    if ((buffer.usage & copyBoth) !== copyBoth) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `The "buffer" argument must have COPY_SRC and COPY_DST usage. Received a buffer with usage 0x${buffer.usage.toString(16)}.`,
      );
    }
    const { stagingBytes, largestMove } = measurePlan(steps, buffer.size);
    const window = this.reserve(stagingBytes, largestMove);
    const scratch = this.scratch;
    if (scratch === null) return 0; // the plan copies nothing, or only 0-byte ranges

    let commands = 0;
    for (const { kind, from, to, size } of steps) {
      if (size === 0) continue;
      if (kind === 'stage') {
        encoder.copyBufferToBuffer(buffer, from, scratch, to, size);
        commands++;
      } else if (kind === 'unstage') {
        encoder.copyBufferToBuffer(scratch, from, buffer, to, size);
        commands++;
      } else {
        for (const piece of movePieces(from, to, size, window)) {
          encoder.copyBufferToBuffer(buffer, piece.from, scratch, stagingBytes, piece.size);
          encoder.copyBufferToBuffer(scratch, stagingBytes, buffer, piece.to, piece.size);
          commands += 2;
        }
      }
    }
    return commands;
  }

  /**
   * Encodes `steps` (see {@link GpuMover.encode}) into a new command encoder and submits it to
   * the device's queue. To wait for the copies, await `device.queue.onSubmittedWorkDone()`.
   * @returns the number of copy commands submitted
   * @throws the errors of {@link GpuMover.encode}
   */
  apply(buffer: GPUBuffer, steps: readonly MoveStep[]): number {
    const encoder = this.device.createCommandEncoder({ label: 'GpuMover.apply' });
    const commands = this.encode(encoder, buffer, steps);
    this.device.queue.submit([encoder.finish()]);
    return commands;
  }

  /**
   * Destroys the scratch buffer; the mover may not be used after this. Submitted work finishes
   * first (WebGPU's rule for destroyed buffers). O(1).
   */
  destroy(): void {
    this.scratch?.destroy();
    this.scratch = null;
    this.destroyed = true;
  }

  /**
   * Makes the scratch buffer hold a staging area of `stagingBytes` and a window for moves up to
   * `largestMove` bytes, growing it to at least twice its size (within `maxBufferSize`) so that a
   * run of growing plans reallocates O(log) times. Returns the window's size.
   */
  private reserve(stagingBytes: number, largestMove: number): number {
    const limit = this.device.limits.maxBufferSize - (this.device.limits.maxBufferSize % 4);
    const window = Math.min(largestMove, this.windowBytes, limit - stagingBytes);
    if (stagingBytes > limit || (largestMove > 0 && window < COPY_ALIGN)) {
      throw outOfRangeError(
        `The plan's staging area of ${stagingBytes} bytes and a window of ${COPY_ALIGN} bytes do not fit in the device's maxBufferSize of ${this.device.limits.maxBufferSize} bytes.`,
      );
    }
    const needed = stagingBytes + window;
    const old = this.scratch;
    if (needed === 0 || (old !== null && old.size >= needed)) return window;
    const size = Math.min(limit, Math.max(needed, old === null ? 0 : old.size * 2));
    // Create the new buffer before destroying the old: if creation fails, the mover still works.
    this.scratch = this.device.createBuffer({
      label: this.label,
      size,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    old?.destroy();
    return window;
  }
}

/**
 * Reads `size` bytes of `buffer` from `offset` through a new `MAP_READ` buffer, after all work
 * submitted before the call. O(size).
 * @param buffer a buffer with `COPY_SRC` usage
 * @returns a copy of the bytes
 * @throws RangeError `ERR_OUT_OF_RANGE` when `offset` or `size` is not a non-negative multiple of
 *   4 or the range passes the end of the buffer; rejects when mapping fails (device lost).
 */
export async function readBack(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  size: number,
): Promise<Uint8Array> {
  checkCopyOffset('offset', offset);
  checkCopyOffset('size', size);
  if (offset + size > buffer.size) {
    throw outOfRangeError(
      `The value of "size" is out of range. The range must end within the buffer's ${buffer.size} bytes. Received a range ending at ${offset + size}.`,
    );
  }
  if (size === 0) return new Uint8Array(0);
  const target = device.createBuffer({
    label: 'readBack',
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'readBack' });
    encoder.copyBufferToBuffer(buffer, offset, target, 0, size);
    device.queue.submit([encoder.finish()]);
    await target.mapAsync(GPUMapMode.READ);
    // Copy out: the mapped range is detached by unmap/destroy.
    return new Uint8Array(target.getMappedRange().slice(0));
  } finally {
    target.destroy();
  }
}

function checkCopyOffset(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value % COPY_ALIGN !== 0) {
    throw outOfRangeError(
      `The value of "${name}" is out of range. It must be an integer >= 0 and a multiple of ${COPY_ALIGN}. Received ${describe(value)}.`,
    );
  }
}
