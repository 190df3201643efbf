// The pure half of applying move plans to a GPUBuffer: checking a plan, measuring the scratch
// space it needs, and ordering the pieces of a move that passes through a window smaller than
// itself. No GPU types or globals here, so Node tests import this file.
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';

/**
 * One step of a move plan, applied in plan order with memmove semantics:
 * - `'move'`: bytes `[from, from + size)` of the buffer go to `[to, to + size)` of the buffer
 *   (the ranges may overlap);
 * - `'stage'`: bytes `[from, from + size)` of the buffer go to `[to, to + size)` of the plan's
 *   staging area;
 * - `'unstage'`: bytes `[from, from + size)` of the staging area go to `[to, to + size)` of the
 *   buffer.
 *
 * Offsets and sizes are multiples of 4 (WebGPU copies need that).
 */
export interface MoveStep {
  readonly kind: 'move' | 'stage' | 'unstage';
  /** The block's handle: for the caller's bookkeeping, not used here. */
  readonly handle?: number;
  readonly from: number;
  readonly to: number;
  readonly size: number;
}

/** What a plan needs besides the buffer itself. */
export interface PlanNeeds {
  /** Bytes of staging area the plan addresses: the largest end of a staged or unstaged range
   * of at least 1 byte. */
  readonly stagingBytes: number;
  /** Size of the largest move that copies anything (not empty, not onto itself); 0 if none. */
  readonly largestMove: number;
}

/** A piece of a move: copied whole out to a window, then from the window to its destination. */
export interface MovePiece {
  readonly from: number;
  readonly to: number;
  readonly size: number;
}

/** WebGPU's copy alignment: offsets and sizes of `copyBufferToBuffer` are multiples of this. */
export const COPY_ALIGN = 4;

/**
 * Checks every step of `steps` against a buffer of `bufferSize` bytes and measures what the plan
 * needs. Checks the whole plan before anything is encoded, so a bad step leaves no half-applied
 * plan behind. O(steps).
 * @throws TypeError `ERR_INVALID_ARG_TYPE` when `steps` is not an array or a step not an object,
 *   `ERR_INVALID_ARG_VALUE` for an unknown `kind`; RangeError `ERR_OUT_OF_RANGE` for an offset or
 *   size that is not a non-negative multiple of 4, or a range past the end of the buffer.
 */
export function measurePlan(steps: readonly MoveStep[], bufferSize: number): PlanNeeds {
  if (!Array.isArray(steps)) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "steps" argument must be an array. Received ${describe(steps)}.`,
    );
  }
  let stagingBytes = 0;
  let largestMove = 0;
  // Read the steps as unknown values: plans may come from untyped code.
  const list: readonly unknown[] = steps;
  for (let i = 0; i < list.length; i++) {
    const step = list[i];
    if (typeof step !== 'object' || step === null) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "steps[${i}]" argument must be of type object. Received ${describe(step)}.`,
      );
    }
    const { kind, from, to, size } = step as Record<string, unknown>;
    checkOffset(i, 'from', from);
    checkOffset(i, 'to', to);
    checkOffset(i, 'size', size);
    if (kind === 'move') {
      checkEnd(i, 'from', from + size, bufferSize);
      checkEnd(i, 'to', to + size, bufferSize);
      if (size > largestMove && from !== to) largestMove = size;
    } else if (kind === 'stage') {
      checkEnd(i, 'from', from + size, bufferSize);
      if (size > 0 && to + size > stagingBytes) stagingBytes = to + size;
    } else if (kind === 'unstage') {
      checkEnd(i, 'to', to + size, bufferSize);
      if (size > 0 && from + size > stagingBytes) stagingBytes = from + size;
    } else {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `The "steps[${i}].kind" argument must be one of 'move', 'stage', 'unstage'. Received ${describe(kind)}.`,
      );
    }
  }
  return { stagingBytes, largestMove };
}

function checkOffset(i: number, field: string, value: unknown): asserts value is number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value % COPY_ALIGN !== 0
  ) {
    throw outOfRangeError(
      `The value of "steps[${i}].${field}" is out of range. It must be an integer >= 0 and a multiple of ${COPY_ALIGN}. Received ${describe(value)}.`,
    );
  }
}

function checkEnd(i: number, field: string, end: number, bufferSize: number): void {
  if (end > bufferSize) {
    throw outOfRangeError(
      `The value of "steps[${i}].${field}" is out of range. Its range must end within the buffer's ${bufferSize} bytes. Received a range ending at ${end}.`,
    );
  }
}

/**
 * Splits a move of `size` bytes from `from` to `to` into pieces of at most `window` bytes, each
 * copied whole into a window and then from the window to its destination, in an order that
 * keeps memmove semantics however the ranges overlap:
 * - moving down (`to < from`), pieces go from the lowest up: a piece's destination ends below
 *   its own source's end, so it overwrites only source bytes already copied out;
 * - moving up (`to > from`), pieces go from the highest down, the mirror image.
 * A move onto itself or of 0 bytes gives no pieces. O(size / window) pieces.
 * @param window the window's size, a multiple of 4 of at least 4
 */
export function movePieces(from: number, to: number, size: number, window: number): MovePiece[] {
  const pieces: MovePiece[] = [];
  if (size === 0 || from === to) return pieces;
  if (to < from) {
    for (let k = 0; k < size; k += window) {
      pieces.push({ from: from + k, to: to + k, size: Math.min(window, size - k) });
    }
  } else {
    for (let end = size; end > 0; end -= window) {
      const start = Math.max(0, end - window);
      pieces.push({ from: from + start, to: to + start, size: end - start });
    }
  }
  return pieces;
}
