/**
 * Churn workload: N live blocks of random sizes; each step frees a random live block and
 * allocates a new one in its slot. The operation sequence is generated once from a fixed seed
 * and replayed identically by every allocator (slower allocators replay a shorter prefix of
 * the same timed steps).
 *
 * Each allocator has its own churner class with its own loop (not one loop over an adapter
 * interface), so every call site stays monomorphic and no allocator pays for another's
 * dispatch. A churner keeps its state between calls: fill + warm-up once, then timed segments.
 */
import { MemPool } from '@thi.ng/malloc';
import { MemoryManager, type PlacementStrategy } from '../src/index.js';
import { NaiveHeap } from './naive-heap.js';
import { Rng } from '../test/prng.js';
import { alignUp, now } from './util.js';

export const CHURN_MIN_SIZE = 16;
export const CHURN_MAX_SIZE = 4096;

export interface ChurnWorkload {
  /** Live blocks at all times (after the initial fill). */
  live: number;
  /** Heap bytes: about twice the expected live bytes (50% load). */
  capacity: number;
  /** Sizes of the initial fill. */
  initial: Int32Array;
  /** Per step: the slot whose block is freed, and the size allocated into that slot. */
  victims: Int32Array;
  sizes: Int32Array;
}

/** Builds a churn sequence of `steps` steps over `live` blocks. */
export function makeChurnWorkload(
  live: number,
  steps: number,
  seed: number,
  minSize = CHURN_MIN_SIZE,
  maxSize = CHURN_MAX_SIZE,
): ChurnWorkload {
  const rng = new Rng(seed);
  const initial = new Int32Array(live);
  for (let i = 0; i < live; i++) initial[i] = rng.int(minSize, maxSize);
  const victims = new Int32Array(steps);
  const sizes = new Int32Array(steps);
  for (let s = 0; s < steps; s++) {
    victims[s] = rng.below(live);
    sizes[s] = rng.int(minSize, maxSize);
  }
  // Mean occupied size of a uniform size in [minSize, maxSize] rounded up to 8.
  let sum = 0;
  for (let n = minSize; n <= maxSize; n++) sum += alignUp(n, 8);
  const meanOccupied = sum / (maxSize - minSize + 1);
  const capacity = alignUp(Math.ceil(2 * live * meanOccupied), 8);
  return { live, capacity, initial, victims, sizes };
}

/** Ours, sync API (first fit unless `strategy` says otherwise). */
export class OursChurner {
  readonly mm: MemoryManager;
  private readonly slots: Int32Array;

  constructor(
    private readonly w: ChurnWorkload,
    zeroFill: boolean,
    strategy: PlacementStrategy = 'first-fit',
    shared = false,
  ) {
    this.mm = new MemoryManager({ size: w.capacity, align: 8, zeroFill, strategy, shared });
    this.slots = new Int32Array(w.live);
    const mm = this.mm;
    for (let i = 0; i < w.live; i++) this.slots[i] = mm.allocSync(w.initial[i]);
  }

  /** Runs steps [from, to); returns milliseconds. */
  run(from: number, to: number): number {
    const mm = this.mm;
    const slots = this.slots;
    const victims = this.w.victims;
    const sizes = this.w.sizes;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = victims[s];
      mm.freeSync(slots[j]);
      slots[j] = mm.allocSync(sizes[s]);
    }
    return now() - t0;
  }
}

/** Ours, async API: `await free` + `await alloc` per step. */
export class OursAsyncChurner {
  readonly mm: MemoryManager;
  private readonly slots: Int32Array;

  constructor(private readonly w: ChurnWorkload) {
    this.mm = new MemoryManager({ size: w.capacity, align: 8 });
    this.slots = new Int32Array(w.live);
    for (let i = 0; i < w.live; i++) this.slots[i] = this.mm.allocSync(w.initial[i]);
  }

  async run(from: number, to: number): Promise<number> {
    const mm = this.mm;
    const slots = this.slots;
    const victims = this.w.victims;
    const sizes = this.w.sizes;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = victims[s];
      await mm.free(slots[j]);
      slots[j] = await mm.alloc(sizes[s]);
    }
    return now() - t0;
  }
}

export class NaiveChurner {
  readonly heap: NaiveHeap;
  private readonly slots: Int32Array;

  constructor(private readonly w: ChurnWorkload) {
    this.heap = new NaiveHeap({ size: w.capacity, align: 8 });
    this.slots = new Int32Array(w.live);
    for (let i = 0; i < w.live; i++) this.slots[i] = this.heap.alloc(w.initial[i]);
  }

  run(from: number, to: number): number {
    const heap = this.heap;
    const slots = this.slots;
    const victims = this.w.victims;
    const sizes = this.w.sizes;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = victims[s];
      heap.free(slots[j]);
      slots[j] = heap.alloc(sizes[s]);
    }
    return now() - t0;
  }
}

/** @thi.ng/malloc MemPool (align 8; compact and split on, its defaults). */
export class MallocChurner {
  readonly pool: MemPool;
  /** Allocations that returned 0 (the slot then stays empty until its next step). */
  failures = 0;
  private readonly slots: Int32Array;

  constructor(private readonly w: ChurnWorkload) {
    this.pool = new MemPool({ size: w.capacity, align: 8 });
    this.slots = new Int32Array(w.live);
    for (let i = 0; i < w.live; i++) {
      const p = this.pool.malloc(w.initial[i]);
      if (p === 0) this.failures++;
      this.slots[i] = p;
    }
  }

  run(from: number, to: number): number {
    const pool = this.pool;
    const slots = this.slots;
    const victims = this.w.victims;
    const sizes = this.w.sizes;
    let failures = 0;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = victims[s];
      const old = slots[j];
      if (old !== 0) pool.free(old);
      const p = pool.malloc(sizes[s]);
      if (p === 0) failures++;
      slots[j] = p;
    }
    const ms = now() - t0;
    this.failures += failures;
    return ms;
  }
}
