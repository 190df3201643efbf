// The options of `new MemoryManager(options)`: each read once, own properties only, checked,
// with their defaults, and the memory to manage made ready.
import {
  checkNumber,
  checkOptionalBoolean,
  checkSize,
  isDetached,
  isUint8Array,
  plainBytes,
  readOptions,
} from './arguments.js';
import { MAX_LIVE_BLOCKS } from '../layout/block-layout.js';
import { MemoryManagerError, argTypeError, describe, outOfRangeError } from '../core/errors.js';
import { ManagedMemory } from '../memory/managed-memory.js';
import {
  FLAG_AUTO_COMPACT,
  FLAG_BEST_FIT,
  FLAG_OFFSETS_ONLY,
  FLAG_SCRAMBLE,
  FLAG_ZERO_FILL,
} from '../memory/format.js';
import type {
  AllocOptions,
  CompactOptions,
  MemoryManagerOptions,
  OffsetHeapOptions,
} from './types.js';

/** The options as the heap uses them. */
export interface HeapSettings {
  /** The bytes to manage, or null for an offsets-only heap. */
  memory: ManagedMemory | null;
  capacity: number;
  align: number;
  /** FLAG_* bits: autoCompact, zeroFill, scramble, best fit. */
  flags: number;
  compactSliceBytes: number | undefined;
  maxBlocks: number;
  /** State in shared memory. */
  shared: boolean;
  /** Milliseconds a wait for a shared heap's lock may last. */
  lockTimeout: number;
}

const OPTION_NAMES = [
  'size',
  'buffer',
  'align',
  'autoCompact',
  'zeroFill',
  'strategy',
  'compactSliceBytes',
  'scramble',
  'maxBlocks',
  'shared',
  'lockTimeout',
];
/** What an offsets-only heap takes: no memory of its own, nothing to zero or share. */
const OFFSET_OPTION_NAMES = OPTION_NAMES.filter(
  (name) => !['buffer', 'zeroFill', 'shared', 'lockTimeout'].includes(name),
);
const DEFAULT_ALIGN = 8;
const MAX_ALIGN = 2 ** 30;
/** Offsets and sizes are stored in 32 bits. */
const MAX_BYTES = 2 ** 32 - 1;

/** Throws unless `align` is a power of two from 1 to MAX_ALIGN. */
function checkAlign(align: unknown): asserts align is number {
  checkNumber('align', align);
  if (!Number.isInteger(align) || align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
    throw outOfRangeError(
      `The value of "align" is out of range. It must be a power of two from 1 to ${MAX_ALIGN}. Received ${align}.`,
    );
  }
}

/**
 * The alignment `alloc(size, options)` asks for: 1 (the heap's own) without options.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` for options that are not an object,
 *   `ERR_INVALID_ARG_VALUE` for an unknown option; RangeError for a bad `align`.
 */
export function readAllocAlign(options: AllocOptions | undefined): number {
  if (options === undefined) return 1;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "options" argument must be an object. Received ${describe(options)}.`,
    );
  }
  const { align } = readOptions('options', options, ['align']) as AllocOptions;
  if (align === undefined) return 1;
  checkAlign(align);
  return align;
}

/**
 * Parses a constructor's argument: a capacity in bytes, or an options object; `withBytes`
 * false for an offsets-only heap (no memory, fewer options).
 */
export function parseOptions(
  options: number | MemoryManagerOptions | OffsetHeapOptions,
  withBytes: boolean,
): HeapSettings {
  if (typeof options === 'number') options = { size: options };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "options" argument must be a number or an object. Received ${describe(options)}.`,
    );
  }
  const names = withBytes ? OPTION_NAMES : OFFSET_OPTION_NAMES;
  const o = readOptions('options', options, names) as MemoryManagerOptions;
  const align = o.align === undefined ? DEFAULT_ALIGN : o.align;
  checkAlign(align);
  checkOptionalBoolean('autoCompact', o.autoCompact);
  checkOptionalBoolean('zeroFill', o.zeroFill);
  checkOptionalBoolean('scramble', o.scramble);
  const strategy = o.strategy === undefined ? 'first-fit' : o.strategy;
  if (strategy !== 'first-fit' && strategy !== 'best-fit') {
    throw argTypeError(
      'ERR_INVALID_ARG_VALUE',
      `The "strategy" option must be 'first-fit' or 'best-fit'. Received ${describe(strategy)}.`,
    );
  }
  if (o.compactSliceBytes !== undefined) checkSize('compactSliceBytes', o.compactSliceBytes);
  const maxBlocks = o.maxBlocks === undefined ? MAX_LIVE_BLOCKS : o.maxBlocks;
  checkSize('maxBlocks', maxBlocks);
  if (maxBlocks > MAX_LIVE_BLOCKS) {
    throw outOfRangeError(
      `The value of "maxBlocks" is out of range. It must be at most ${MAX_LIVE_BLOCKS}. Received ${maxBlocks}.`,
    );
  }
  checkOptionalBoolean('shared', o.shared);
  const shared = o.shared ?? false;
  if (shared && typeof SharedArrayBuffer === 'undefined') {
    throw argTypeError(
      'ERR_INVALID_ARG_VALUE',
      'The "shared" option needs SharedArrayBuffer, which this context lacks (a browser page must be cross-origin isolated).',
    );
  }
  const lockTimeout = readLockTimeout(o.lockTimeout);
  if ((o.size === undefined) === (o.buffer === undefined)) {
    throw argTypeError(
      'ERR_INVALID_ARG_VALUE',
      withBytes
        ? 'Give exactly one of the "size" and "buffer" options.'
        : 'Give the "size" option: the bytes the heap hands out offsets in.',
    );
  }
  let memory: ManagedMemory | null = null;
  let capacity: number;
  if (!withBytes) capacity = capacityFor(o.size, align);
  else {
    memory = o.size !== undefined ? newMemory(o.size, align, shared) : givenMemory(o.buffer, align);
    capacity = memory.capacity;
  }
  if (memory !== null && shared && !memory.shared) {
    throw argTypeError(
      'ERR_INVALID_ARG_VALUE',
      'The "shared" option needs a "buffer" in shared memory: a SharedArrayBuffer or a Uint8Array over one.',
    );
  }
  return {
    memory,
    capacity,
    shared,
    lockTimeout,
    align,
    flags:
      ((o.autoCompact ?? true) ? FLAG_AUTO_COMPACT : 0) |
      (withBytes && (o.zeroFill ?? true) ? FLAG_ZERO_FILL : 0) |
      (withBytes ? 0 : FLAG_OFFSETS_ONLY) |
      ((o.scramble ?? false) ? FLAG_SCRAMBLE : 0) |
      (strategy === 'best-fit' ? FLAG_BEST_FIT : 0),
    compactSliceBytes: o.compactSliceBytes,
    maxBlocks,
  };
}

/** The capacity a `size` option gives: rounded down to `align`, at least one block. */
function capacityFor(size: unknown, align: number): number {
  checkSize('size', size);
  if (size > MAX_BYTES) {
    throw outOfRangeError(
      `The value of "size" is out of range. It must be at most ${MAX_BYTES}. Received ${size}.`,
    );
  }
  return atLeastOneBlock(size - (size % align), align);
}

function newMemory(size: unknown, align: number, shared: boolean): ManagedMemory {
  const length = capacityFor(size, align);
  return new ManagedMemory(
    shared ? new Uint8Array(new SharedArrayBuffer(length)) : new Uint8Array(length),
  );
}

/** Default wait for a shared heap's lock, milliseconds. */
export const DEFAULT_LOCK_TIMEOUT = 5000;

/** Reads a `lockTimeout` option: milliseconds, a number from 0 to 2^31 - 1. */
export function readLockTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_LOCK_TIMEOUT;
  checkNumber('lockTimeout', value);
  if (!(value >= 0 && value <= 2 ** 31 - 1)) {
    throw outOfRangeError(
      `The value of "lockTimeout" is out of range. It must be from 0 to ${2 ** 31 - 1} milliseconds. Received ${value}.`,
    );
  }
  return value;
}

/** The memory of the `buffer` option, as a plain Uint8Array of a multiple of `align` bytes. */
function givenMemory(buffer: unknown, align: number): ManagedMemory {
  let bytes: Uint8Array | null;
  let wasm: WebAssembly.Memory | null = null;
  if (isUint8Array(buffer)) {
    bytes = plainBytes(buffer);
  } else if (buffer instanceof ArrayBuffer || isSharedArrayBuffer(buffer)) {
    bytes = isDetached(buffer) ? null : new Uint8Array(buffer);
  } else if (typeof WebAssembly !== 'undefined' && buffer instanceof WebAssembly.Memory) {
    wasm = buffer;
    bytes = new Uint8Array(buffer.buffer);
  } else {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "buffer" option must be an ArrayBuffer, a SharedArrayBuffer, a Uint8Array or a WebAssembly.Memory. Received ${describe(buffer)}.`,
    );
  }
  if (bytes === null) {
    throw new MemoryManagerError(
      'ERR_BUFFER_DETACHED',
      'The "buffer" option is detached (transferred, or replaced by WebAssembly.Memory#grow).',
    );
  }
  if (bytes.length > MAX_BYTES) {
    throw outOfRangeError(
      `The "buffer" holds ${bytes.length} bytes; at most ${MAX_BYTES} can be managed.`,
    );
  }
  const length = atLeastOneBlock(bytes.length - (bytes.length % align), align);
  return new ManagedMemory(bytes.subarray(0, length), wasm);
}

function atLeastOneBlock(length: number, align: number): number {
  if (length === 0) {
    throw outOfRangeError(
      `The heap must hold at least one block of ${align} bytes (the alignment).`,
    );
  }
  return length;
}

function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer;
}

/**
 * Reads `compact()`'s options: own properties, each once. Checking them waits for the lock
 * (`checkCompactOptions`), as a compaction with options starts then.
 */
export function readCompactOptions(options: unknown): CompactOptions {
  if (typeof options !== 'object' || options === null) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "options" argument must be an object. Received ${describe(options)}.`,
    );
  }
  return readOptions('options', options, ['sliceBytes', 'signal']);
}

/** Checks options read by `readCompactOptions`: a slice size, and an AbortSignal. */
export function checkCompactOptions(options: CompactOptions): {
  sliceBytes: number;
  signal: AbortSignal | undefined;
} {
  const { sliceBytes, signal } = options;
  if (sliceBytes !== undefined) checkSize('sliceBytes', sliceBytes);
  if (
    signal !== undefined &&
    !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)
  ) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "signal" option must be an AbortSignal. Received ${describe(signal)}.`,
    );
  }
  return { sliceBytes: sliceBytes ?? Infinity, signal };
}
