/**
 * Argument checks of the public API. Each throws the built-in TypeError or RangeError with a
 * Node-style `code` and a message naming the argument and the value received.
 */
import { argTypeError, describe, outOfRangeError } from './errors.js';

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

/**
 * Throws unless `data` is a Uint8Array or an array-like of integers 0..255. Checks every
 * element before anything is written, so a bad element leaves the heap untouched. O(length).
 */
export function checkBytes(name: string, data: unknown): asserts data is ArrayLike<number> {
  if (data instanceof Uint8Array) return;
  if (typeof data !== 'object' || data === null) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be a Uint8Array or an array-like of numbers. Received ${describe(data)}.`,
    );
  }
  const length = (data as { length?: unknown }).length;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "${name}" argument must be a Uint8Array or an array-like of numbers. Received ${describe(data)} without a valid length.`,
    );
  }
  const items = data as ArrayLike<unknown>;
  for (let i = 0; i < length; i++) {
    const v = items[i];
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
  }
}
