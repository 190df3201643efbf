/**
 * Replays a trace into a new heap through the public API, as a program would: each ALLOC an
 * `allocSync`, each FREE a `freeSync`, each REALLOC a `resizeSync`. The heap compacts by
 * itself when an allocation needs it. Zero-byte requests are replayed as 1 byte (the heap's
 * smallest block, as malloc(0) returns a unique pointer).
 */
import { MemoryManager, OutOfMemoryError, type PlacementStrategy } from '../index.js';
import { ALLOC, FREE, type Trace } from './trace.js';

export interface HeapConfig {
  /** Bytes; a multiple of `align`. */
  size: number;
  strategy: PlacementStrategy;
  align: number;
}

/** Called after every operation of an observed replay (`op` its index). */
export type ReplayObserver = (op: number, mm: MemoryManager) => void;

/** Called now and then with the fraction of the operations done. */
export type ReplayProgress = (fraction: number) => void;

export type ReplayResult =
  | {
      ok: true;
      /** Seconds spent in the heap's calls (and the observer's), construction excluded. */
      seconds: number;
      compactions: number;
      bytesMoved: number;
      /** Blocks and occupied bytes live at the end of the trace. */
      liveBlocks: number;
      liveBytes: number;
    }
  | {
      ok: false;
      /** Index of the operation that ran out of memory. */
      op: number;
      error: OutOfMemoryError;
    };

/** Calls to `progress` are this many operations apart (a power of two). */
const PROGRESS_EVERY = 1 << 14;

/** Replays `trace` into a heap of `config`. O(operations) heap calls. */
export function replay(
  trace: Trace,
  config: HeapConfig,
  observe?: ReplayObserver,
  progress?: ReplayProgress,
): ReplayResult {
  const mm = new MemoryManager({
    size: config.size,
    strategy: config.strategy,
    align: config.align,
    zeroFill: false,
  });
  const { kinds, ids, sizes, length } = trace;
  const handles = new Float64Array(trace.idCount);
  const start = performance.now();
  let i = 0;
  try {
    for (; i < length; i++) {
      const kind = kinds[i];
      if (kind === ALLOC) handles[ids[i]] = mm.allocSync(sizes[i] || 1);
      else if (kind === FREE) mm.freeSync(handles[ids[i]]);
      else mm.resizeSync(handles[ids[i]], sizes[i] || 1);
      if (observe !== undefined) observe(i, mm);
      if (progress !== undefined && (i & (PROGRESS_EVERY - 1)) === 0) progress(i / length);
    }
  } catch (error) {
    if (error instanceof OutOfMemoryError) return { ok: false, op: i, error };
    throw error;
  }
  const seconds = (performance.now() - start) / 1000;
  const stats = mm.stats();
  return {
    ok: true,
    seconds,
    compactions: stats.compactions,
    bytesMoved: stats.bytesMoved,
    liveBlocks: stats.liveBlocks,
    liveBytes: stats.used,
  };
}
