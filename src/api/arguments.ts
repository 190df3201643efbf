// Argument checks of the public API. Each throws the built-in TypeError or RangeError with a
// Node-style `code` and a message naming the argument and the value received.
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';

/** Throws unless `value` is a number. */
export function checkNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be of type number. Received ${describe(value)}.`,
    );
  }
}

/** Throws unless `value` is an integer of at least 1 (a byte count). */
export function checkSize(name: string, value: unknown): asserts value is number {
  checkNumber(name, value);
  if (!Number.isInteger(value) || value < 1) {
    throw outOfRangeError(
      `The value of "${name}" is out of range. It must be an integer >= 1. Received ${value}.`,
    );
  }
}

/** Throws unless `value` is an integer of at least 0 (an offset or a length). */
export function checkIndex(name: string, value: unknown): asserts value is number {
  checkNumber(name, value);
  if (!Number.isInteger(value) || value < 0) {
    throw outOfRangeError(
      `The value of "${name}" is out of range. It must be an integer >= 0. Received ${value}.`,
    );
  }
}

/** Throws unless `value` is a boolean or undefined. */
export function checkOptionalBoolean(
  name: string,
  value: unknown,
): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" option must be of type boolean. Received ${describe(value)}.`,
    );
  }
}

/** Wraps an error thrown by the caller's own code (a getter, a Proxy trap) while we read an argument. */
export function foreignError(name: string, error: unknown): TypeError {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : describe(error);
  } catch {
    message = describe(error);
  }
  return argTypeError('ERR_INVALID_ARG_VALUE', `Reading "${name}" threw: ${message}`, error);
}

/**
 * Reads the own enumerable properties of an options object once each, into a plain object, so
 * a getter cannot answer differently later and nothing inherited counts. Unknown names are
 * `ERR_INVALID_ARG_VALUE`; a getter or Proxy trap that throws is `ERR_INVALID_ARG_VALUE` with
 * the error as `cause`.
 */
export function readOptions(
  name: string,
  options: object,
  known: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch (error) {
    throw foreignError(name, error);
  }
  for (const key of keys) {
    if (!known.includes(key)) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `Unknown option "${key}". Known options: ${known.join(', ')}.`,
      );
    }
    try {
      out[key] = (options as Record<string, unknown>)[key];
    } catch (error) {
      throw foreignError(name, error);
    }
  }
  return out;
}

// Intrinsic accessors, called on the value itself: they read internal slots, so no getter or
// Proxy trap of the caller's can run, and a Proxy is not taken for a typed array.
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (key: PropertyKey): ((this: unknown) => unknown) =>
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(value) only
  Object.getOwnPropertyDescriptor(typedArrayProto, key)!.get as (this: unknown) => unknown;
const tagOf = intrinsic(Symbol.toStringTag);
const lengthOf = intrinsic('length');
const bufferOf = intrinsic('buffer');
const byteOffsetOf = intrinsic('byteOffset');

/** True when `value` is a genuine Uint8Array (a subclass such as Node's Buffer included). */
export function isUint8Array(value: unknown): value is Uint8Array {
  return tagOf.call(value) === 'Uint8Array';
}

/**
 * A plain Uint8Array over the same memory as genuine Uint8Array `bytes`, whatever its class
 * (Node's Buffer has a `slice` that makes views, not copies). Null when its buffer is detached.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array | null {
  const buffer = bufferOf.call(bytes) as ArrayBufferLike;
  const length = lengthOf.call(bytes) as number;
  if (length === 0 && isDetached(buffer)) return null;
  return new Uint8Array(buffer, byteOffsetOf.call(bytes) as number, length);
}

/** True when `buffer` is a detached ArrayBuffer (a SharedArrayBuffer never is). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The bytes of `data` (a Uint8Array or an array-like of integers 0..255) for a write with
 * `room` bytes of space: the Uint8Array itself, or a private copy of an array-like, whose
 * length and elements are each read exactly once (a getter that answers differently on a
 * second read cannot get past the check). The length is checked against `room` before any
 * element is read; `tooLong(length)` makes that error. O(length).
 */
export function readBytes(
  name: string,
  data: unknown,
  room: number,
  tooLong: (length: number) => RangeError,
): Uint8Array {
  if (isUint8Array(data)) {
    const length = lengthOf.call(data) as number;
    if (length === 0 && isDetached(bufferOf.call(data) as ArrayBufferLike)) {
      throw argTypeError(
        'ERR_INVALID_ARG_VALUE',
        `The "${name}" argument is a Uint8Array over a detached ArrayBuffer.`,
      );
    }
    if (length > room) throw tooLong(length);
    return data;
  }
  if (typeof data !== 'object' || data === null) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be a Uint8Array or an array-like of numbers. Received ${describe(data)}.`,
    );
  }
  const items = data as ArrayLike<unknown>;
  let length: unknown;
  try {
    length = items.length;
  } catch (error) {
    throw foreignError(name, error);
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be a Uint8Array or an array-like of numbers. Received ${describe(data)} without a valid length.`,
    );
  }
  if (length > room) throw tooLong(length);
  const copy = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let v: unknown;
    try {
      v = items[i];
    } catch (error) {
      throw foreignError(name, error);
    }
    if (typeof v !== 'number') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "${name}[${i}]" element must be of type number. Received ${describe(v)}.`,
      );
    }
    if (!(v >= 0 && v <= 255 && Number.isInteger(v))) {
      throw outOfRangeError(
        `The value of "${name}[${i}]" is out of range. It must be an integer from 0 to 255. Received ${v}.`,
      );
    }
    copy[i] = v;
  }
  return copy;
}

/** The error of an `offset` past the end of a `size`-byte block. */
export function offsetOutside(offset: number, size: number): RangeError {
  return outOfRangeError(
    `The value of "offset" is out of range: ${offset} is past the end of a ${size}-byte block. It must be at most ${size}.`,
  );
}

/** The error of `value` bytes from `offset` that cross the end of a `size`-byte block. */
export function rangeOutside(
  name: string,
  value: number,
  offset: number,
  size: number,
): RangeError {
  return outOfRangeError(
    `The value of "${name}" is out of range: ${value} bytes from offset ${offset} cross the end of a ${size}-byte block.`,
  );
}

/**
 * The bytes of `data`, an ArrayBuffer or an ArrayBuffer view, as a Uint8Array over the same
 * memory (the pools' `write`). O(1).
 * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything else, `ERR_INVALID_ARG_VALUE` when detached.
 */
export function bufferSourceBytes(name: string, data: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data))
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be an ArrayBuffer or an ArrayBuffer view. Received ${describe(data)}.`,
    );
  }
  if (bytes.length === 0 && isDetached(bytes.buffer)) {
    throw argTypeError('ERR_INVALID_ARG_VALUE', `The "${name}" argument is detached.`);
  }
  return bytes;
}

/** Throws unless `value` is an integer multiple of `multiple` from 0 to `most` (a range in a block). */
export function checkSpan(name: string, value: unknown, most: number, multiple = 1): void {
  checkNumber(name, value);
  if (!Number.isInteger(value) || value < 0 || value % multiple !== 0 || value > most) {
    const what = multiple === 1 ? 'an integer' : `a multiple of ${multiple}`;
    throw outOfRangeError(
      `The value of "${name}" is out of range. It must be ${what} from 0 to ${most}. Received ${value}.`,
    );
  }
}
