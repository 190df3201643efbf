/**
 * Measures the JS heap allocations of alloc/free pairs, precisely. Run it as its own process:
 *
 *   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx \
 *     test/no-garbage-probe.ts --pairs=1000000 --live=300 --zero-fill=false
 *
 * With a 64 MiB young generation, a loop that allocates less than that triggers no scavenge,
 * so the growth of the new space's used size across the loop is exactly the bytes the loop
 * allocated (minus the probe's own small, measured overhead). GC events during the loop are
 * counted as well (any means the loop allocated at least a semi-space's worth). After the
 * loop, forced full GCs show whether anything was retained (heapUsed before/after).
 *
 * The operation sequence (fixed seed) is generated before the warm-up, so the timed loop only
 * reads Int32Arrays and calls the allocator. Prints one JSON line.
 *
 * Run directly, it measures MemoryManager (`--allocator=ours`, the only one it knows):
 * test/no-garbage.node.test.ts does that. bench/no-garbage-probe.ts runs the same measurement
 * (`runProbe`) with the benchmarks' other allocators added (the naive heap, @thi.ng/malloc).
 * Node-only (v8, perf_hooks, process).
 */
import { resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { MemoryManager } from '../src/index.js';
import { Rng } from './prng.js';

/**
 * The Node flags a probe process needs, before its script: exposed gc, a 64 MiB young
 * generation (no scavenge below that), and tsx to load TypeScript.
 */
export const PROBE_NODE_FLAGS: readonly string[] = [
  '--expose-gc',
  '--min-semi-space-size=64',
  '--max-semi-space-size=64',
  '--import',
  'tsx',
];

/** This probe's script, relative to the project root (the probe process's working directory). */
export const PROBE_SCRIPT = 'test/no-garbage-probe.ts';

/** The JSON line a probe prints. */
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

/** The fixed-seed churn every allocator replays: fill `live` slots, then free+alloc pairs. */
export interface ProbeWorkload {
  capacity: number;
  zeroFill: boolean;
  /** The sizes of the `live` blocks allocated before the warm-up, one per slot. */
  initial: Int32Array;
  /** Per pair: the slot whose block is freed... */
  victims: Int32Array;
  /** ...and the size of the block allocated in its place. */
  sizes: Int32Array;
}

/**
 * An allocator under measurement: fills `slots` with blocks of `w.initial` and returns the loop
 * to time, which replays pairs [from, to) of the workload. Keep the loop a function of its own
 * per allocator (monomorphic calls), allocating nothing itself.
 */
export type ProbeAllocator = (
  w: ProbeWorkload,
  slots: Int32Array,
) => (from: number, to: number) => void;

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

/** MemoryManager, through its sync API (first fit unless `strategy` says otherwise). */
function oursWith(strategy: 'first-fit' | 'best-fit'): ProbeAllocator {
  return (w, slots) => {
    const mm = new MemoryManager({ size: w.capacity, align: 8, zeroFill: w.zeroFill, strategy });
    for (let i = 0; i < slots.length; i++) slots[i] = mm.allocSync(w.initial[i]);
    return (from, to) => loopOurs(mm, slots, w.victims, w.sizes, from, to);
  };
}

export const ours = oursWith('first-fit');
/** `--allocator=ours-best-fit`: a best-fit heap, whose size index is a B+tree of its own. */
export const oursBestFit = oursWith('best-fit');

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

/**
 * The probe's main: reads `--allocator` (one of `allocators`), `--pairs`, `--live`,
 * `--zero-fill` and `--warmup` from the command line, measures, prints one JSON line.
 * `reportsZeroFill` lists the allocators that have a zeroFill setting.
 */
export async function runProbe(
  allocators: Readonly<Record<string, ProbeAllocator>>,
  reportsZeroFill: readonly string[] = Object.keys(allocators),
): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    process.stderr.write('the no-garbage probe needs node --expose-gc\n');
    process.exit(2);
  }
  const allocator = arg('allocator', 'ours');
  const pairs = Number(arg('pairs', '1000000'));
  const live = Number(arg('live', '300'));
  const zeroFill = arg('zero-fill', 'false') === 'true';
  const warmup = Number(arg('warmup', '200000'));
  const setup = Object.hasOwn(allocators, allocator) ? allocators[allocator] : undefined;
  if (setup === undefined) throw new Error(`unknown allocator ${allocator}`);

  const rng = new Rng(12345);
  const total = warmup + pairs;
  const victims = new Int32Array(total);
  const sizes = new Int32Array(total);
  for (let s = 0; s < total; s++) {
    victims[s] = rng.below(live);
    sizes[s] = rng.int(16, 2048);
  }
  const initial = new Int32Array(live);
  for (let i = 0; i < live; i++) initial[i] = rng.int(16, 2048);
  const slots = new Int32Array(live);
  const run = setup({ capacity: 1 << 20, zeroFill, initial, victims, sizes }, slots);

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
    zeroFill: reportsZeroFill.includes(allocator) ? zeroFill : false,
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

// Run as a script (not imported by bench/no-garbage-probe.ts or the test): measure ours.
const script = process.argv[1];
if (script !== undefined && resolve(script) === fileURLToPath(import.meta.url)) {
  await runProbe({ ours, 'ours-best-fit': oursBestFit });
}
