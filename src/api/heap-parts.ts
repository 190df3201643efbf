// What a MemoryManager is made of, a layout and its bytes: from the constructor's options, or
// from a snapshot that passed every check.
import { MemoryManagerError, argTypeError, describe } from '../core/errors.js';
import { BlockLayout } from '../layout/block-layout.js';
import {
  FLAG_OFFSETS_ONLY,
  HEADER_WORDS,
  H_CAPACITY,
  H_FLAGS,
  H_MAGIC,
  H_NODE_CAPACITY,
  H_RECORD_CAPACITY,
  H_VERSION,
  KNOWN_FLAGS,
  MAGIC,
  VERSION,
} from '../memory/format.js';
import { HeapState, bytesFor } from '../memory/heap-state.js';
import { ManagedMemory } from '../memory/managed-memory.js';
import { decodeSnapshot } from '../memory/snapshot.js';
import { isUint8Array, plainBytes, readOptions } from './arguments.js';
import { DEFAULT_LOCK_TIMEOUT, parseOptions, readLockTimeout } from './options.js';
import type { MemoryManagerOptions, OffsetHeapOptions, SharedHeap } from './types.js';

/** A layout and its bytes (none for an offsets-only heap), ready to be a heap. Not exported from the package. */
export class HeapParts {
  constructor(
    readonly layout: BlockLayout,
    readonly memory: ManagedMemory | null,
    /** Milliseconds a wait for a shared heap's lock may last. */
    readonly lockTimeout = DEFAULT_LOCK_TIMEOUT,
  ) {}
}

/** A new heap's parts from the constructor's options; `withBytes` false for an OffsetHeap. */
export function createParts(
  options: number | MemoryManagerOptions | OffsetHeapOptions,
  withBytes: boolean,
): HeapParts {
  const s = parseOptions(options, withBytes);
  const slice = Math.min(s.compactSliceBytes ?? 0, 2 ** 32 - 1); // more than the capacity is one slice
  const layout = BlockLayout.create(s.capacity, s.align, s.flags, slice, s.maxBlocks, s.shared);
  return new HeapParts(layout, s.memory, s.lockTimeout);
}

/** The description of a shared heap (`mm.shared`), for `MemoryManager.from`. */
export function describeShared(layout: BlockLayout, memory: ManagedMemory): SharedHeap {
  const bytes = memory.current() ?? new Uint8Array(0);
  return Object.freeze({
    kind: 'handle-heap',
    version: VERSION,
    state: layout.state.buffer as SharedArrayBuffer,
    memory: bytes.buffer as SharedArrayBuffer,
    byteOffset: bytes.byteOffset,
    byteLength: memory.capacity,
  });
}

/**
 * The parts of a shared heap another manager made, from its description: the same state and
 * bytes, not a copy.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` for anything but such a description,
 *   `ERR_INVALID_ARG_VALUE` when its magic, version or sizes do not match; RangeError for a
 *   bad `lockTimeout`.
 */
export function attachParts(shared: unknown, options: unknown): HeapParts {
  const notOne = (): TypeError =>
    argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "shared" argument must be a shared heap's description (mm.shared). Received ${describe(shared)}.`,
    );
  if (typeof shared !== 'object' || shared === null) throw notOne();
  const d = readOptions('shared', shared, [
    'kind',
    'version',
    'state',
    'memory',
    'byteOffset',
    'byteLength',
  ]) as Partial<SharedHeap>;
  if (d.kind !== 'handle-heap' || !isShared(d.state) || !isShared(d.memory)) throw notOne();
  let lockTimeout = DEFAULT_LOCK_TIMEOUT;
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be an object. Received ${describe(options)}.`,
      );
    }
    lockTimeout = readLockTimeout(readOptions('options', options, ['lockTimeout']).lockTimeout);
  }
  const wrong = (what: string): TypeError =>
    argTypeError('ERR_INVALID_ARG_VALUE', `The shared heap's description is wrong: ${what}.`);
  const state = d.state;
  if (state.byteLength < HEADER_WORDS * 4) throw wrong('its state is shorter than a header');
  const h = new Uint32Array(state, 0, HEADER_WORDS);
  if (h[H_MAGIC] !== MAGIC) throw wrong('its state has a wrong magic number');
  if (h[H_VERSION] !== VERSION || d.version !== VERSION) {
    throw wrong(`format version ${h[H_VERSION]}, this version reads ${VERSION}`);
  }
  if ((h[H_FLAGS] & ~KNOWN_FLAGS) !== 0) throw wrong(`its state has unknown flags ${h[H_FLAGS]}`);
  if ((h[H_FLAGS] & FLAG_OFFSETS_ONLY) !== 0) throw wrong('it describes an offsets-only heap');
  if (!state.growable) throw wrong('its state buffer is not a growable SharedArrayBuffer');
  const room = { records: h[H_RECORD_CAPACITY], nodes: h[H_NODE_CAPACITY] };
  if (room.records < 2 || room.nodes < 2 || bytesFor(room) > state.byteLength) {
    throw wrong('its state is shorter than its header says');
  }
  const { byteOffset, byteLength } = d;
  if (
    typeof byteOffset !== 'number' ||
    typeof byteLength !== 'number' ||
    !Number.isInteger(byteOffset) ||
    byteOffset < 0 ||
    byteLength !== h[H_CAPACITY] ||
    byteOffset + byteLength > d.memory.byteLength
  ) {
    throw wrong('its byteOffset and byteLength do not fit its memory and capacity');
  }
  const layout = new BlockLayout(HeapState.attach(state));
  const memory = new ManagedMemory(new Uint8Array(d.memory, byteOffset, byteLength));
  return new HeapParts(layout, memory, lockTimeout);
}

function isShared(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer;
}

/**
 * A restored heap's parts: the snapshot's format decoded, then every invariant of its state
 * checked, then its bytes copied into a new buffer (`withBytes` false: an OffsetHeap's
 * snapshot, which has none).
 * @throws TypeError `ERR_INVALID_ARG_TYPE`; MemoryManagerError `ERR_INVALID_SNAPSHOT`.
 */
export function restoreParts(snapshot: unknown, withBytes: boolean): HeapParts {
  const bytes = isUint8Array(snapshot) ? plainBytes(snapshot) : null;
  if (bytes === null) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "snapshot" argument must be a Uint8Array that is not detached. Received ${describe(snapshot)}.`,
    );
  }
  const decoded = decodeSnapshot(bytes);
  if (typeof decoded === 'string') throw invalidSnapshot(decoded);
  const offsetsOnly = (decoded.state.h[H_FLAGS] & FLAG_OFFSETS_ONLY) !== 0;
  if (offsetsOnly === withBytes) {
    throw invalidSnapshot(
      offsetsOnly
        ? "an OffsetHeap's snapshot (no bytes): restore it with OffsetHeap.restore"
        : "a MemoryManager's snapshot (with bytes): restore it with MemoryManager.restore",
    );
  }
  const layout = new BlockLayout(decoded.state);
  const problem = layout.check();
  if (problem !== undefined) throw invalidSnapshot(problem);
  layout.unaddress(); // a best-fit heap saved mid-compaction: no compaction runs in the copy
  if (offsetsOnly) return new HeapParts(layout, null);
  const heap = new Uint8Array(layout.state.h[H_CAPACITY]);
  heap.set(decoded.bytes);
  return new HeapParts(layout, new ManagedMemory(heap));
}

function invalidSnapshot(problem: string): MemoryManagerError {
  return new MemoryManagerError('ERR_INVALID_SNAPSHOT', `Invalid snapshot: ${problem}.`);
}
