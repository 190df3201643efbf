/**
 * Measures the JS heap allocations of alloc/free pairs, precisely. Run it as its own process:
 *
 *   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx \
 *     bench/no-garbage-probe.ts --allocator=ours --pairs=1000000 --live=300 --zero-fill=false
 *
 * With a 64 MiB young generation, a loop that allocates less than that triggers no scavenge,
 * so the growth of the new space's used size across the loop is exactly the bytes the loop
 * allocated (minus the probe's own small, measured overhead). GC events during the loop are
 * counted as well (any means the loop allocated at least a semi-space's worth). After the
 * loop, forced full GCs show whether anything was retained (heapUsed before/after).
 *
 * The operation sequence (fixed seed) is generated before the warm-up, so the timed loop only
 * reads Int32Arrays and calls the allocator. Prints one JSON line.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { MemPool } from '@thi.ng/malloc';
import { MemoryManager } from '../src/index.js';
import { NaiveHeap } from './naive-heap.js';
import { Rng } from './prng.js';

export interface ProbeResult {
  allocator: string;
  zeroFill: boolean;
  pairs: number;
  live: number;
  /** Bytes allocated on the JS heap (young generation) during the timed loop. */
  newSpaceBytes: number;
  /** Garbage collections that started during the timed loop. */
  gcDuringLoop: number;
  /** process.memoryUsage().heapUsed after forced GCs, before and after the loop. */
  heapUsedBefore: number;
  heapUsedAfter: number;
  /** Young generation size, to judge whether newSpaceBytes can be trusted (no scavenge). */
  semiSpaceBytes: number;
  msPerPair: number;
}

function arg(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  const found = process.argv.find((a) => a.startsWith(prefix));
  return found === undefined ? fallback : found.slice(prefix.length);
}

function newSpace(): { used: number; size: number } {
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return { used: s.space_used_size, size: s.space_size };
  }
  return { used: NaN, size: NaN };
}

function loopOurs(
  mm: MemoryManager,
  slots: Int32Array,
  victims: Int32Array,
  sizes: Int32Array,
  from: number,
  to: number,
): void {
  for (let s = from; s < to; s++) {
    const j = victims[s];
    mm.freeSync(slots[j]);
    slots[j] = mm.allocSync(sizes[s]);
  }
}

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

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    process.stderr.write('no-garbage-probe needs node --expose-gc\n');
    process.exit(2);
  }
  const allocator = arg('allocator', 'ours');
  const pairs = Number(arg('pairs', '1000000'));
  const live = Number(arg('live', '300'));
  const zeroFill = arg('zero-fill', 'false') === 'true';
  const warmup = Number(arg('warmup', '200000'));
  const capacity = 1 << 20;

  const rng = new Rng(12345);
  const total = warmup + pairs;
  const victims = new Int32Array(total);
  const sizes = new Int32Array(total);
  for (let s = 0; s < total; s++) {
    victims[s] = rng.below(live);
    sizes[s] = rng.int(16, 2048);
  }
  const slots = new Int32Array(live);

  let run: (from: number, to: number) => void;
  if (allocator === 'ours') {
    const mm = new MemoryManager({ size: capacity, align: 8, zeroFill });
    for (let i = 0; i < live; i++) slots[i] = mm.allocSync(rng.int(16, 2048));
    run = (from, to) => loopOurs(mm, slots, victims, sizes, from, to);
  } else if (allocator === 'naive') {
    const heap = new NaiveHeap({ size: capacity, align: 8, zeroFill });
    for (let i = 0; i < live; i++) slots[i] = heap.alloc(rng.int(16, 2048));
    run = (from, to) => loopNaive(heap, slots, victims, sizes, from, to);
  } else if (allocator === 'malloc') {
    const pool = new MemPool({ size: capacity, align: 8 });
    for (let i = 0; i < live; i++) slots[i] = pool.malloc(rng.int(16, 2048));
    run = (from, to) => loopMalloc(pool, slots, victims, sizes, from, to);
  } else {
    throw new Error(`unknown allocator ${allocator}`);
  }

  // Warm-up in many short calls, so the loop and the allocator are optimized before timing.
  const chunk = 1000;
  for (let s = 0; s < warmup; s += chunk) run(s, Math.min(s + chunk, warmup));

  const gcStarts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcStarts.push(e.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  gc();
  gc();
  await new Promise((r) => setTimeout(r, 20)); // deliver the forced GCs' entries, let compiler jobs land
  gc();
  const heapUsedBefore = process.memoryUsage().heapUsed;
  const a = newSpace();
  const b = newSpace(); // the cost of one newSpace() call, to subtract
  const overhead = b.used - a.used;
  const t0 = performance.now();
  run(warmup, total);
  const t1 = performance.now();
  const c = newSpace();
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  gc();
  gc();
  const heapUsedAfter = process.memoryUsage().heapUsed;
  const result: ProbeResult = {
    allocator,
    zeroFill: allocator === 'malloc' ? false : zeroFill,
    pairs,
    live,
    newSpaceBytes: Math.max(0, c.used - b.used - overhead),
    gcDuringLoop: gcStarts.filter((t) => t >= t0 && t <= t1).length,
    heapUsedBefore,
    heapUsedAfter,
    semiSpaceBytes: c.size,
    msPerPair: (t1 - t0) / pairs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
