// Test helpers shared by the heap's test files: a heap over memory the test owns (so every heap
// byte can be inspected), snapshots of the whole heap state, a recorder of move batches, and
// error assertions.
// Web-standard APIs only: these files also run in the browser project.
import { expect } from 'vitest';
import {
  MemoryManager,
  type BlockInfo,
  type BlockMove,
  type HeapStats,
  type MemoryManagerOptions,
} from '../src/index.js';

/** A heap built over an ArrayBuffer the test owns, and a view of all of that buffer. */
export interface TestHeap {
  mm: MemoryManager;
  /** Every byte of the buffer given to the heap (the heap manages its first `capacity` bytes). */
  memory: Uint8Array;
}

/** Everything observable about a heap: all bytes of its buffer, its counters and its blocks. */
export interface HeapSnapshot {
  bytes: Uint8Array;
  stats: HeapStats;
  blocks: BlockInfo[];
}

/** A heap of `size` bytes over a new ArrayBuffer of that length, which the test can read. */
export function heapOver(
  size: number,
  options: Omit<MemoryManagerOptions, 'size' | 'buffer'> = {},
): TestHeap {
  const buffer = new ArrayBuffer(size);
  const mm = new MemoryManager({ ...options, buffer });
  return { mm, memory: new Uint8Array(buffer) };
}

/** A copy of the heap's bytes, plus `stats()` and `blocks()`. */
export function takeSnapshot(heap: TestHeap): HeapSnapshot {
  return { bytes: heap.memory.slice(), stats: heap.mm.stats(), blocks: heap.mm.blocks() };
}

/** `length` non-zero bytes that depend on `seed`, so different blocks hold different contents. */
export function bytesOf(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((seed * 37 + i * 11) % 251) + 1;
  return out;
}

/** `size` rounded up to a multiple of `align` (a power of two). */
export function roundUp(size: number, align: number): number {
  return Math.ceil(size / align) * align;
}

/** The error `fn` throws; fails the test when it returns normally. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected the call to throw');
}

/** The reason `promise` rejects with; fails the test when it fulfils. */
export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected the promise to reject');
}

/** Calls an async method, asserting that it returns a promise rather than throwing. */
export function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  let result: unknown;
  expect(() => {
    result = fn();
  }).not.toThrow();
  expect(result).toBeInstanceOf(Promise);
  return result as Promise<T>;
}

/** Any error class: the built-in TypeError and RangeError, or the heap's own. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Asserts that `error` is an instance of `errorClass` with the given `code`. */
export function expectCoded(error: unknown, errorClass: ErrorClass, code: string): void {
  expect(error).toBeInstanceOf(errorClass);
  expect(error).toHaveProperty('code', code);
}

/** `xs[i]`, failing the test when it is out of bounds (for strict index types). */
export function nth<T>(xs: readonly T[], i: number): T {
  const x: T | undefined = xs[i];
  if (i < 0 || i >= xs.length || x === undefined) {
    return expect.fail(`index ${i} out of bounds (${xs.length})`);
  }
  return x;
}

/** Every batch given to onMove, each copied out of the frozen array. */
export function recordMoves(mm: MemoryManager): BlockMove[][] {
  const batches: BlockMove[][] = [];
  mm.onMove((moves) => {
    batches.push(moves.map((m) => ({ ...m })));
  });
  return batches;
}
