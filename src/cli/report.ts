/**
 * Everything `handle-heap replay` says about a trace: its peak, the smallest heap that runs it
 * (or the heap size given), what the heap did at that size, and pictures of it over time.
 */
import type { PlacementStrategy } from '../index.js';
import { smallestPassing } from './bisect.js';
import { heapMap } from './charts.js';
import { HeapRecorder } from './heap-recorder.js';
import { firstOverflow, peakOf, type Peak } from './peak.js';
import { replay, type HeapConfig, type ReplayResult } from './replay.js';
import { ALLOC, FREE, describeOp, type Trace, type TraceFormat } from './trace.js';

/** Heaps hold at most 2^32 - 1 bytes. */
const MAX_HEAP = 2 ** 32 - 1;
/** Buckets of the fragmentation timeline, cells of the heap map. */
export const CHART_WIDTH = 60;
/** Throughput is the best of timed replays that add up to this long (JIT warm)... */
const TIMING_SECONDS = 0.2;
/** ... or of this many. */
const MAX_TIMED_REPLAYS = 10;

export interface ReportOptions {
  /** Heap size to replay at; when absent, the smallest that runs the trace is searched for. */
  size?: number;
  strategy: PlacementStrategy;
  align: number;
}

/** Says how far a replay has got: what it does, and the fraction of its operations done. */
export type ProgressSink = (label: string, fraction: number) => void;

export interface Report {
  file: string;
  format: TraceFormat;
  operations: number;
  allocs: number;
  frees: number;
  reallocs: number;
  strategy: PlacementStrategy;
  align: number;
  peak: Peak;
  /** The heap size replayed at: the smallest that runs the trace, or the one given. */
  heapSize: number;
  heapSizeFrom: 'bisection' | 'given';
  /** Heap sizes the search tried, in order (empty for a given size). */
  tried: number[];
  /** `heapSize / peak.requested` (null for a trace that asks for nothing). */
  ratioToPeak: number | null;
  compactions: number;
  bytesMoved: number;
  /** The fastest replay at `heapSize`, of `timedReplays`. */
  seconds: number;
  timedReplays: number;
  opsPerSecond: number;
  fragmentation: { mean: number; max: number; timeline: number[] };
  /** The heap's blocks by address after the peak operation (empty for an empty trace). */
  heapMap: string;
  liveAtEnd: { blocks: number; bytes: number };
}

/** A heap of `heapSize` bytes ran out of memory at operation `operation` (an index). */
export interface OutOfMemory {
  file: string;
  heapSize: number;
  heapSizeFrom: 'bisection' | 'given';
  operation: number;
  line: number;
  op: string;
  requested: number;
  free: number;
  largestFree: number;
  /** Bytes the trace needs at its peak. */
  peakOccupied: number;
}

export type Outcome = { ok: true; report: Report } | { ok: false; outOfMemory: OutOfMemory };

/** Replays `trace` as `options` say. Every replay is O(operations) heap calls. */
export function buildReport(
  trace: Trace,
  options: ReportOptions,
  progress?: ProgressSink,
): Outcome {
  const { strategy, align } = options;
  const peak = peakOf(trace, align);
  const runs = new Map<number, ReplayResult>();
  const run = (size: number): ReplayResult => {
    const config: HeapConfig = { size, strategy, align };
    const result = replay(trace, config, undefined, (f) => progress?.(`heap of ${size} bytes`, f));
    runs.set(size, result);
    return result;
  };
  let heapSize: number;
  let tried: number[] = [];
  if (options.size !== undefined) {
    heapSize = options.size - (options.size % align);
  } else {
    const limit = MAX_HEAP - (MAX_HEAP % align);
    const lower = Math.max(align, peak.occupied);
    if (lower > limit) return { ok: false, outOfMemory: beyondLimit(trace, limit, align, peak) };
    const search = smallestPassing(lower, limit, align, (size) => run(size).ok);
    tried = search.tested;
    heapSize = search.size ?? limit;
  }
  const timed = runs.get(heapSize) ?? run(heapSize);
  if (!timed.ok) {
    return {
      ok: false,
      outOfMemory: {
        file: trace.file,
        heapSize,
        heapSizeFrom: options.size === undefined ? 'bisection' : 'given',
        operation: timed.op,
        line: trace.lines[timed.op],
        op: describeOp(trace, timed.op),
        requested: timed.error.requested,
        free: timed.error.free,
        largestFree: timed.error.largestFree,
        peakOccupied: peak.occupied,
      },
    };
  }
  const recorder = new HeapRecorder(trace.length, CHART_WIDTH, peak.operation, align);
  const config: HeapConfig = { size: heapSize, strategy, align };
  replay(trace, config, recorder.observe, (f) => progress?.('recording fragmentation', f));
  let seconds = timed.seconds;
  let timedReplays = 1;
  for (let total = 0; total < TIMING_SECONDS && timedReplays < MAX_TIMED_REPLAYS;) {
    const again = replay(trace, config, undefined, (f) => progress?.('timing', f));
    if (!again.ok) break; // deterministic: cannot happen once the same size passed
    seconds = Math.min(seconds, again.seconds);
    total += again.seconds;
    timedReplays++;
  }
  let allocs = 0;
  let frees = 0;
  for (let i = 0; i < trace.length; i++) {
    if (trace.kinds[i] === ALLOC) allocs++;
    else if (trace.kinds[i] === FREE) frees++;
  }
  return {
    ok: true,
    report: {
      file: trace.file,
      format: trace.format,
      operations: trace.length,
      allocs,
      frees,
      reallocs: trace.length - allocs - frees,
      strategy,
      align,
      peak,
      heapSize,
      heapSizeFrom: options.size === undefined ? 'bisection' : 'given',
      tried,
      ratioToPeak: peak.requested === 0 ? null : heapSize / peak.requested,
      compactions: timed.compactions,
      bytesMoved: timed.bytesMoved,
      seconds,
      timedReplays,
      opsPerSecond: seconds > 0 ? trace.length / seconds : 0,
      fragmentation: { mean: recorder.mean, max: recorder.max, timeline: recorder.timeline },
      heapMap: heapMap(recorder.snapshot, heapSize, CHART_WIDTH),
      liveAtEnd: { blocks: timed.liveBlocks, bytes: timed.liveBytes },
    },
  };
}

/** The trace needs more than the largest heap: say where, without building one. */
function beyondLimit(trace: Trace, limit: number, align: number, peak: Peak): OutOfMemory {
  // The occupied peak is over `limit`, so some operation overflows it.
  const overflow = firstOverflow(trace, align, limit) ?? { operation: peak.operation, free: 0 };
  const i = overflow.operation;
  return {
    file: trace.file,
    heapSize: limit,
    heapSizeFrom: 'bisection',
    operation: i,
    line: trace.lines[i],
    op: describeOp(trace, i),
    requested: trace.sizes[i],
    free: overflow.free,
    largestFree: overflow.free,
    peakOccupied: peak.occupied,
  };
}
