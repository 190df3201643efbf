// Every failure of the heap is one of these classes, each with a stable `code`.
// Users branch on `code` (or `instanceof`), never on the message text.

/** Codes carried by {@link MemoryManagerError} and its subclasses. */
export type MemoryManagerErrorCode =
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INVALID_HANDLE'
  | 'ERR_HEAP_BUSY'
  | 'ERR_HEAP_CORRUPTED'
  | 'ERR_BLOCK_PINNED'
  | 'ERR_NOT_PINNED'
  | 'ERR_TOO_MANY_PINS'
  | 'ERR_TOO_MANY_BLOCKS'
  | 'ERR_BUFFER_DETACHED'
  | 'ERR_INVALID_SNAPSHOT'
  | 'ERR_DESTROYED'
  | 'ERR_CONTEXT_LOST';

/**
 * Base class of the heap's own errors. Thrown as such with `ERR_HEAP_CORRUPTED` (validate),
 * `ERR_BLOCK_PINNED` (free or a moving resize of a pinned block), `ERR_NOT_PINNED` (unpin of an
 * unpinned block), `ERR_TOO_MANY_PINS`, `ERR_TOO_MANY_BLOCKS` (an allocation past the
 * `maxBlocks` option), `ERR_BUFFER_DETACHED` (the managed memory was detached: transferred, or
 * replaced by `WebAssembly.Memory#grow` under a view of it), `ERR_INVALID_SNAPSHOT` (`restore` of
 * bytes that are not an intact snapshot), `ERR_DESTROYED` (a WebGPU or WebGL pool or a mover used after
 * `destroy()`), `ERR_CONTEXT_LOST` (a WebGL pool whose context was lost).
 */
export class MemoryManagerError extends Error {
  readonly code: MemoryManagerErrorCode;

  constructor(code: MemoryManagerErrorCode, message: string) {
    super(message);
    this.name = 'MemoryManagerError';
    this.code = code;
  }
}

/** No free space large enough, even after compaction. */
export class OutOfMemoryError extends MemoryManagerError {
  declare readonly code: 'ERR_OUT_OF_MEMORY';
  /** Bytes asked for (as given, before rounding up to the alignment). */
  readonly requested: number;
  /** Total free bytes when the request failed. */
  readonly free: number;
  /** Largest free block, in bytes, when the request failed. */
  readonly largestFree: number;

  constructor(requested: number, free: number, largestFree: number, detail = '') {
    super(
      'ERR_OUT_OF_MEMORY',
      `Cannot allocate ${requested} bytes: ${free} bytes free, largest free block ${largestFree} bytes${detail}.`,
    );
    this.name = 'OutOfMemoryError';
    this.requested = requested;
    this.free = free;
    this.largestFree = largestFree;
  }
}

/** The value is not a live handle of this heap: never issued, already freed, or not a handle at all. */
export class InvalidHandleError extends MemoryManagerError {
  declare readonly code: 'ERR_INVALID_HANDLE';
  /** The value that was passed as a handle. */
  readonly handle: unknown;

  constructor(handle: unknown) {
    super(
      'ERR_INVALID_HANDLE',
      `Invalid handle: ${describe(handle)} is not a live handle of this heap.`,
    );
    this.name = 'InvalidHandleError';
    this.handle = handle;
  }
}

/** A `...Sync` method was called while an async operation holds or waits for the lock. */
export class HeapBusyError extends MemoryManagerError {
  declare readonly code: 'ERR_HEAP_BUSY';

  constructor(method: string, why?: string) {
    super(
      'ERR_HEAP_BUSY',
      why === undefined
        ? `${method}() cannot run while an async alloc/free/resize/compact is pending; await it or use the async method.`
        : `${method}() cannot run: ${why}.`,
    );
    this.name = 'HeapBusyError';
  }
}

/** Codes of argument errors, as Node.js uses them. */
export type ArgumentErrorCode =
  'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

/** A built-in `TypeError` carrying a Node-style `code`. */
export function argTypeError(
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE',
  message: string,
  cause?: unknown,
): TypeError & { code: ArgumentErrorCode } {
  const error = cause === undefined ? new TypeError(message) : new TypeError(message, { cause });
  return Object.assign(error, { code });
}

/** A built-in `RangeError` carrying the code `ERR_OUT_OF_RANGE`. */
export function outOfRangeError(message: string): RangeError & { code: ArgumentErrorCode } {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' as const });
}

/** A short, safe rendering of any value for error messages. */
export function describe(value: unknown): string {
  try {
    return describeUnsafe(value);
  } catch {
    return 'an object'; // a Proxy whose traps throw
  }
}

function describeUnsafe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
  }
  return `${value as number | boolean | undefined}`;
}
