/**
 * The no-garbage probe of test/no-garbage-probe.ts with the benchmarks' other allocators added:
 * the naive heap (`--allocator=naive`) and @thi.ng/malloc (`--allocator=malloc`), next to ours
 * (`--allocator=ours`, the default). Run it as its own process:
 *
 *   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx \
 *     bench/no-garbage-probe.ts --allocator=naive --pairs=100000 --live=300 --zero-fill=true
 *
 * The measurement (and what it can be trusted for) is described in test/no-garbage-probe.ts.
 * Prints one JSON line.
 */
import { MemPool } from '@thi.ng/malloc';
import { ours, oursBestFit, runProbe, type ProbeAllocator } from '../test/no-garbage-probe.js';
import { NaiveHeap } from './naive-heap.js';

function loopNaive(
  heap: NaiveHeap,
  slots: Int32Array,
  victims: Int32Array,
  sizes: Int32Array,
  from: number,
  to: number,
): void {
  for (let s = from; s < to; s++) {
    const j = victims[s];
    heap.free(slots[j]);
    slots[j] = heap.alloc(sizes[s]);
  }
}

function loopMalloc(
  pool: MemPool,
  slots: Int32Array,
  victims: Int32Array,
  sizes: Int32Array,
  from: number,
  to: number,
): void {
  for (let s = from; s < to; s++) {
    const j = victims[s];
    pool.free(slots[j]);
    slots[j] = pool.malloc(sizes[s]);
  }
}

const naive: ProbeAllocator = (w, slots) => {
  const heap = new NaiveHeap({ size: w.capacity, align: 8, zeroFill: w.zeroFill });
  for (let i = 0; i < slots.length; i++) slots[i] = heap.alloc(w.initial[i]);
  return (from, to) => loopNaive(heap, slots, w.victims, w.sizes, from, to);
};

/** @thi.ng/malloc has no zeroFill setting: its rows report zeroFill false. */
const malloc: ProbeAllocator = (w, slots) => {
  const pool = new MemPool({ size: w.capacity, align: 8 });
  for (let i = 0; i < slots.length; i++) slots[i] = pool.malloc(w.initial[i]);
  return (from, to) => loopMalloc(pool, slots, w.victims, w.sizes, from, to);
};

await runProbe({ ours, 'ours-best-fit': oursBestFit, naive, malloc }, [
  'ours',
  'ours-best-fit',
  'naive',
]);
