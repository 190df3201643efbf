/**
 * Watches an observed replay: the heap's fragmentation over time, averaged into buckets of
 * consecutive operations, and where its blocks lie after one chosen operation (the peak).
 */
import type { MemoryManager } from '../index.js';
import type { Extent } from './charts.js';
import { occupiedBytes } from './peak.js';
import type { ReplayObserver } from './replay.js';

export class HeapRecorder {
  /** Mean fragmentation of each bucket. */
  readonly timeline: number[];
  /** Largest fragmentation after any operation. */
  max = 0;
  /** Blocks after operation `snapshotAt`, by address; empty until then. */
  snapshot: Extent[] = [];
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;
  private total = 0;
  private seen = 0;

  /**
   * @param operations the trace's length
   * @param buckets how many buckets the operations are split into (fewer for a short trace)
   * @param snapshotAt the operation after which to record the blocks (-1: none)
   * @param align the heap's alignment, for the bytes each block occupies
   */
  constructor(
    private readonly operations: number,
    buckets: number,
    private readonly snapshotAt: number,
    private readonly align: number,
  ) {
    const n = Math.min(buckets, operations);
    this.sums = new Float64Array(n);
    this.counts = new Uint32Array(n);
    this.timeline = new Array<number>(n).fill(0);
  }

  /** Mean fragmentation over all operations (0 for none). */
  get mean(): number {
    return this.seen === 0 ? 0 : this.total / this.seen;
  }

  readonly observe: ReplayObserver = (op: number, mm: MemoryManager): void => {
    const f = mm.stats().fragmentation;
    const b = Math.floor((op * this.sums.length) / this.operations);
    this.sums[b] += f;
    this.counts[b]++;
    this.timeline[b] = this.sums[b] / this.counts[b];
    this.total += f;
    this.seen++;
    if (f > this.max) this.max = f;
    if (op === this.snapshotAt) {
      this.snapshot = mm
        .blocks()
        .map((b) => ({ offset: b.offset, bytes: occupiedBytes(b.size, this.align) }));
    }
  };
}
