// What a MemoryManager is made of, a layout and its bytes: from the constructor's options, or
// from a snapshot that passed every check.
import { MemoryManagerError, argTypeError, describe } from '../core/errors.js';
import { BlockLayout } from '../layout/block-layout.js';
import { H_CAPACITY } from '../memory/format.js';
import { ManagedMemory } from '../memory/managed-memory.js';
import { decodeSnapshot } from '../memory/snapshot.js';
import { isUint8Array, plainBytes } from './arguments.js';
import { parseOptions } from './options.js';
import type { MemoryManagerOptions } from './types.js';

/** A layout and its bytes, ready to be a heap. Not exported from the package. */
export class HeapParts {
  constructor(
    readonly layout: BlockLayout,
    readonly memory: ManagedMemory,
  ) {}
}

/** A new heap's parts from the constructor's options. */
export function createParts(options: number | MemoryManagerOptions): HeapParts {
  const s = parseOptions(options);
  const slice = Math.min(s.compactSliceBytes ?? 0, 2 ** 32 - 1); // more than the capacity is one slice
  const layout = BlockLayout.create(s.memory.capacity, s.align, s.flags, slice, s.maxBlocks);
  return new HeapParts(layout, s.memory);
}

/**
 * A restored heap's parts: the snapshot's format decoded, then every invariant of its state
 * checked, then its bytes copied into a new buffer.
 * @throws TypeError `ERR_INVALID_ARG_TYPE`; MemoryManagerError `ERR_INVALID_SNAPSHOT`.
 */
export function restoreParts(snapshot: unknown): HeapParts {
  const bytes = isUint8Array(snapshot) ? plainBytes(snapshot) : null;
  if (bytes === null) {
    throw argTypeError(
      'ERR_INVALID_ARG_TYPE',
      `The "snapshot" argument must be a Uint8Array that is not detached. Received ${describe(snapshot)}.`,
    );
  }
  const decoded = decodeSnapshot(bytes);
  if (typeof decoded === 'string') throw invalidSnapshot(decoded);
  const layout = new BlockLayout(decoded.state);
  const problem = layout.check();
  if (problem !== undefined) throw invalidSnapshot(problem);
  const heap = new Uint8Array(layout.state.h[H_CAPACITY]);
  heap.set(decoded.bytes);
  return new HeapParts(layout, new ManagedMemory(heap));
}

function invalidSnapshot(problem: string): MemoryManagerError {
  return new MemoryManagerError('ERR_INVALID_SNAPSHOT', `Invalid snapshot: ${problem}.`);
}
