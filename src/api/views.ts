// Typed views of a block's bytes: `view(handle, Float64Array)`.
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';
import type { TypedArrayConstructor } from './types.js';

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
 * A view of type `type` over the `size` bytes at `offset` in `heap`.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` for a type that is not a built-in typed-array
 *   constructor; RangeError `ERR_OUT_OF_RANGE` when its element size does not divide the size
 *   or the address in the underlying buffer.
 */
export function typedView<T extends ArrayBufferView>(
  heap: Uint8Array,
  offset: number,
  size: number,
  type: TypedArrayConstructor<T>,
): T {
  const bytes = VIEW_TYPES.get(type);
  if (bytes === undefined) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "type" argument must be a built-in typed-array constructor. Received ${describe(type)}.`,
    );
  }
  const address = heap.byteOffset + offset;
  if (size % bytes !== 0 || address % bytes !== 0) {
    throw outOfRangeError(
      `A ${type.name} view needs a size and an address that are multiples of ${bytes}; the block has ${size} bytes at offset ${offset} (address ${address} in the underlying buffer, whose view starts at byteOffset ${heap.byteOffset}).`,
    );
  }
  return new type(heap.buffer, address, size / bytes);
}
