/**
 * Benchmark 7 (bound): how far MemoryManager is from a speed yardstick, the O(1) two-level
 * segregated-fit allocator of bench/tlsf.ts, on the churn sequences of benchmark 1.
 *
 * TLSF does less than MemoryManager (offsets only: no handles, no bytes, no compaction, good
 * fit instead of first or best fit), so the ratio is what handle-heap's extra guarantees and
 * its O(log F) gap index cost per operation; the speed issue's target is 2x (first fit) and
 * 2.5x (best fit).
 *
 * Before anything is timed, `selfCheckTlsf` drives the TLSF through a few hundred thousand
 * random operations against an interval set and its own `check()`; the churn heaps are
 * checked after their warm-up and after timing, and bad frees are tried last. If any check
 * fails the section throws and nothing is reported.
 *
 * Both handle-heap variants are MemoryManager instances in one process, so V8's feedback in
 * its code sees both strategies; a separate first-fit-only run measured the same per-pair
 * cost within the noise.
 */
import { OursChurner, makeChurnWorkload, type ChurnWorkload } from './churn.js';
import { Rng } from '../test/prng.js';
import type { Section, TargetResult } from './report.js';
import { TLSF_ALIGN, Tlsf, tlsfFitSize } from './tlsf.js';
import { fmtBytes, fmtInt, fmtRatio, mdTable, median, now, progress } from './util.js';
import type { BlockLayout } from '../src/layout/block-layout.js';
import { STRIDE } from '../src/layout/records.js';

/** TLSF over the churn workload; a slot whose allocation failed holds -1 until its next step. */
export class TlsfChurner {
  readonly heap: Tlsf;
  /** Allocations that returned -1. */
  failures = 0;
  private readonly slots: Int32Array;

  constructor(private readonly w: ChurnWorkload) {
    this.heap = new Tlsf(w.capacity);
    this.slots = new Int32Array(w.live);
    for (let i = 0; i < w.live; i++) {
      const off = this.heap.alloc(w.initial[i]);
      if (off < 0) this.failures++;
      this.slots[i] = off;
    }
  }

  /** Runs steps [from, to); returns milliseconds. */
  run(from: number, to: number): number {
    const heap = this.heap;
    const slots = this.slots;
    const victims = this.w.victims;
    const sizes = this.w.sizes;
    let failures = 0;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = victims[s];
      const old = slots[j];
      if (old >= 0) heap.free(old);
      const off = heap.alloc(sizes[s]);
      if (off < 0) failures++;
      slots[j] = off;
    }
    const ms = now() - t0;
    this.failures += failures;
    return ms;
  }

  /** Runs the TLSF self-check and checks that the slots name exactly its live blocks. */
  verify(): void {
    this.heap.check();
    let held = 0;
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] >= 0) held++;
    if (held !== this.heap.live) {
      throw new Error(`TLSF churn: ${held} slots hold blocks, the heap has ${this.heap.live} live`);
    }
  }
}

/**
 * Why the speed targets (2x first fit, 2.5x best fit) are missed, with this run's figures at
 * 10,000 live (`data` from the parts measured after timing), and what was tried and measured.
 */
function whyMissed(data: Record<string, number>): string {
  const ns = (k: string): string => `${data[k].toFixed(0)} ns`;
  const tlsf = data.tlsf10000 * 1e6;
  const descents = data.fitNs10000 + data.locatesPerPair10000 * data.locateNs10000;
  return [
    `**Why first fit misses 2x.** At 10,000 live, TLSF's whole pair costs ${tlsf.toFixed(0)} ns. A first-fit pair at the layout level costs ${ns('layout10000')}, of which the two descents an address-ordered index needs cost ${descents.toFixed(0)} ns (one by size to find the gap, ${ns('fitNs10000')}; ${data.locatesPerPair10000.toFixed(2)} by key to find the gap a free changes, ${ns('locateNs10000')} each), already ${(descents / tlsf).toFixed(1)}x TLSF's pair, and the updates that keep the index exact (each changed gap's entry, the maxima above it: a 48-entry leaf is rescanned when its largest gap shrinks, its parent when that was the parent's largest; the first keys above a leaf's first entry; the block records and their links) most of the rest. TLSF keeps no order: its neighbours come from boundary links and its block from two bitmap lookups, and it never searches.`,
    '',
    '**Tried and measured in the same way (A/B, alternating rounds in one process), and not kept:** other node sizes (leaves of 24, 32 and 64 with fan-outs of 16 and 32: within ±5% of 48/32 at every size, since the scans are a minority of the cost); maxima as upper bounds fixed lazily by the search (no rescan when a gap shrinks; a search that meets a stale bound rescans then): 3% faster at 1,000 live but 3% and 9% slower at 10,000 and 100,000, as searches met stale bounds about as often as the rescans they replaced; a branch-free binary search by key (no change); two running maxima in the rescan loop (4% slower); skipping the zeroing of reused records (within noise). Keys stored in the leaves (no record reads in a leaf) or a leaf hint per record (no descent by key on a free) would cost about 4 bytes per gap or per block, past the 32-byte metadata budget in the alternating worst case (30.8 B now).',
    '',
    `**Best fit** keeps its gaps in a (size, address) B+tree from the same node pool, and no gap index at all outside a compaction: per pair one best-fit descent, about 1.7 insertions and 1.7 removals (one of them at the cursor the search left, the others a descent each), and about two record reads per insertion to order equal sizes by address. The treap by (size, address) it replaced, beside the gap index, cost 10x to 17x TLSF; the B+tree alone brought that to 8x to 12x, and dropping the gap index to the figures above.`,
  ].join('\n');
}

/** The first-fit layout under a churner's MemoryManager (its engine is internal). */
function layoutOf(c: OursChurner): BlockLayout {
  return (c.mm as unknown as { core: { layout: BlockLayout } }).core.layout;
}

/** Where a first-fit pair's time goes, measured on a copy of a churn heap's layout. */
interface Parts {
  /** ns per first-fit descent (by size) alone, the cursor left on the gap. */
  fitNs: number;
  /** ns per descent by key to a given gap (what a free does to find the gap it changes). */
  locateNs: number;
  /** Descents by key per pair: frees next to a gap; and insertions (a new gap between two blocks). */
  locatesPerPair: number;
  insertsPerPair: number;
  /** ns per pair at the layout level (no handles, no argument checks). */
  layoutNs: number;
}

/**
 * Times the parts of a first-fit pair on copies of `c`'s layout, replaying steps [from, to) of
 * the churn: the whole pair at the layout level; the descent by size alone (read only); the
 * descent by key to random gaps (read only); and counts how many frees need each kind of
 * index change.
 */
function measureParts(c: OursChurner, w: ChurnWorkload, from: number, to: number): Parts {
  const base = layoutOf(c);
  const slots = new Int32Array(w.live);
  // The churner's handles name records: id * 4096 + generation.
  const handles = (c as unknown as { slots: Int32Array }).slots;
  for (let i = 0; i < w.live; i++) slots[i] = Math.floor(handles[i] / 4096) * STRIDE;
  const replay = (
    layout: BlockLayout,
    count: boolean,
  ): { ms: number; locates: number; inserts: number } => {
    const r0 = slots.slice();
    let locates = 0;
    let inserts = 0;
    const t0 = now();
    for (let s = from; s < to; s++) {
      const j = w.victims[s];
      const p = r0[j];
      if (count) {
        const before = layout.gapAfter(layout.prev(p));
        const after = layout.gapAfter(p);
        if (before > 0 || after > 0) locates++;
        else inserts++;
      }
      layout.release(p);
      const n = w.sizes[s];
      r0[j] = layout.allocate(n + (-n & 7), n);
      if (r0[j] === 0) throw new Error('bound: a layout replay ran out of room');
    }
    return { ms: now() - t0, locates, inserts };
  };
  const counted = replay(base.clone(), true);
  let layoutMs = Infinity;
  for (let k = 0; k < 3; k++) layoutMs = Math.min(layoutMs, replay(base.clone(), false).ms);
  const steps = to - from;
  // Read-only descents on the heap as it is.
  const index = base.gapIndex;
  const r = base.state.r;
  const hosts: number[] = [];
  base.forEach((p) => {
    if (base.gapAfter(p) > 0) hosts.push(p);
  });
  let fitMs = Infinity;
  let locateMs = Infinity;
  let sink = 0;
  for (let k = 0; k < 5; k++) {
    let t0 = now();
    for (let s = from; s < to; s++) {
      const n = w.sizes[s];
      sink += index.firstFit(n + (-n & 7));
    }
    fitMs = Math.min(fitMs, now() - t0);
    t0 = now();
    for (let s = from; s < to; s++) {
      const p = hosts[w.victims[s] % hosts.length];
      index.locate(p, index.key(r, p));
    }
    locateMs = Math.min(locateMs, now() - t0);
  }
  if (sink === 0) throw new Error('bound: no first-fit descent found a gap');
  return {
    fitNs: (fitMs * 1e6) / steps,
    locateNs: (locateMs * 1e6) / steps,
    locatesPerPair: counted.locates / steps,
    insertsPerPair: counted.inserts / steps,
    layoutNs: (layoutMs * 1e6) / steps,
  };
}

interface DriverConfig {
  capacity: number;
  ops: number;
  seed: number;
  /** Draws a request size. */
  size: (rng: Rng) => number;
}

/** Mostly small and medium blocks, a few large ones: every first level gets used. */
function mixedSize(rng: Rng): number {
  const u = rng.float();
  if (u < 0.5) return rng.int(1, 256);
  if (u < 0.9) return rng.int(257, 4096);
  return rng.int(4097, 65_536);
}

const DRIVER_CONFIGS: DriverConfig[] = [
  // Capacities off a multiple of 8 check the rounding down.
  { capacity: 1_048_576 + 5, ops: 300_000, seed: 7, size: mixedSize },
  { capacity: 65_536 + 3, ops: 100_000, seed: 8, size: (rng) => rng.int(1, 300) },
];
/** check() runs after every this many operations. */
const CHECK_EVERY = 1_000;

/** Offsets and ends of the live blocks, sorted by offset: the driver's independent model. */
class IntervalSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Index of the first interval starting after `off`. */
  private upper(off: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds [start, end); returns what it overlaps, or undefined. */
  add(start: number, end: number): string | undefined {
    const i = this.upper(start);
    if (i > 0 && this.ends[i - 1] > start) {
      return `[${start}, ${end}) overlaps live [${this.starts[i - 1]}, ${this.ends[i - 1]})`;
    }
    if (i < this.starts.length && this.starts[i] < end) {
      return `[${start}, ${end}) overlaps live [${this.starts[i]}, ${this.ends[i]})`;
    }
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
    return undefined;
  }

  /** Removes the interval starting at `start`; false when there is none. */
  remove(start: number): boolean {
    const i = this.upper(start) - 1;
    if (i < 0 || this.starts[i] !== start) return false;
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
    return true;
  }

  get size(): number {
    return this.starts.length;
  }
}

/** Shows that check() is not vacuous: a few deliberate corruptions must each make it throw. */
function checkDetectsCorruption(): number {
  type Inside = { r: Int32Array; slBits: Int32Array; flBits: number; heads: Int32Array };
  const corruptions: [string, (t: Inside) => void][] = [
    ['a bitmap bit without a list', (t) => (t.slBits[0] ^= 1 << 3)],
    ['a first-level bit without a level', (t) => (t.flBits ^= 1 << 20)],
    ['a block size that overlaps its neighbour', (t) => (t.r[8 + 1] += 8)],
    ['a free block dropped from its list', (t) => t.heads.fill(0)],
  ];
  for (const [what, corrupt] of corruptions) {
    const t = new Tlsf(4096);
    const a = t.alloc(64);
    t.alloc(100);
    t.free(a);
    t.check();
    corrupt(t as unknown as Inside);
    let threw = false;
    try {
      t.check();
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`TLSF self-check: check() missed ${what}`);
  }
  return corruptions.length;
}

/**
 * Frees that must throw: outside the range, misaligned, inside a block, already freed. Run
 * after timing: the NaN and fractional offsets would teach V8 that `free` sees doubles, and
 * its re-optimized code would then have to handle them in the timed loops.
 */
export function checkRejectsBadFrees(): number {
  const t = new Tlsf(4096);
  const a = t.alloc(64);
  const b = t.alloc(64);
  t.free(a);
  const bad = [-8, 4096, 1e9, b + 3, b + 8, a, NaN, b + 0.5];
  for (const off of bad) {
    let threw = false;
    try {
      t.free(off);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`TLSF self-check: free(${off}) was accepted`);
  }
  t.check();
  return bad.length;
}

/**
 * Drives the TLSF through random alloc/free sequences against an independent interval set
 * (live blocks in range, aligned, never overlapping), calling check() every CHECK_EVERY
 * operations; a failed allocation must be one the good-fit rule allows (no free block of the
 * request's class bound). Then every block is freed and the heap must be one free block.
 * @returns lines describing what was checked.
 * @throws Error on the first failure.
 */
export function selfCheckTlsf(): string[] {
  const lines: string[] = [];
  for (const cfg of DRIVER_CONFIGS) {
    const fail = (op: number, what: string): never => {
      throw new Error(`TLSF self-check (capacity ${cfg.capacity}, op ${op}): ${what}`);
    };
    const rng = new Rng(cfg.seed);
    const t = new Tlsf(cfg.capacity);
    const capacity = cfg.capacity - (cfg.capacity % TLSF_ALIGN);
    if (t.capacity !== capacity) fail(0, `capacity ${t.capacity}, expected ${capacity}`);
    const model = new IntervalSet();
    const liveOff: number[] = [];
    const liveSize: number[] = [];
    let used = 0;
    let allocs = 0;
    let frees = 0;
    let failures = 0;
    let passedOver = 0;
    let checks = 0;
    let maxLive = 0;
    let maxFreeBlocks = 0;
    for (let op = 1; op <= cfg.ops; op++) {
      // The wanted share of allocations swings between 10% and 90%, so the heap keeps filling
      // up until allocations fail and draining again.
      const pAlloc = 0.5 + 0.4 * Math.sin((2 * Math.PI * op) / 25_000);
      if (liveOff.length === 0 || rng.float() < pAlloc) {
        const size = cfg.size(rng);
        const need = Math.ceil(size / TLSF_ALIGN) * TLSF_ALIGN;
        const off = t.alloc(size);
        if (off === -1) {
          failures++;
          const largest = t.largestFree();
          if (largest >= tlsfFitSize(size)) {
            fail(op, `alloc(${size}) failed with a free block of ${largest} bytes`);
          }
          if (largest >= need) passedOver++;
        } else {
          allocs++;
          if (!Number.isInteger(off) || off % TLSF_ALIGN !== 0) fail(op, `offset ${off}`);
          if (off < 0 || off + need > capacity) {
            fail(op, `block [${off}, ${off + need}) outside [0, ${capacity})`);
          }
          const overlap = model.add(off, off + need);
          if (overlap !== undefined) fail(op, overlap);
          liveOff.push(off);
          liveSize.push(need);
          used += need;
        }
      } else {
        const i = rng.below(liveOff.length);
        const off = liveOff[i];
        t.free(off);
        frees++;
        if (!model.remove(off)) fail(op, `the model has no block at ${off}`);
        used -= liveSize[i];
        liveOff[i] = liveOff[liveOff.length - 1];
        liveSize[i] = liveSize[liveSize.length - 1];
        liveOff.pop();
        liveSize.pop();
      }
      if (t.used !== used || t.live !== liveOff.length || model.size !== liveOff.length) {
        fail(op, `counters: used ${t.used} vs ${used}, live ${t.live} vs ${liveOff.length}`);
      }
      maxLive = Math.max(maxLive, liveOff.length);
      if (op % CHECK_EVERY === 0) {
        t.check();
        checks++;
        maxFreeBlocks = Math.max(maxFreeBlocks, t.freeBlocks());
      }
    }
    while (liveOff.length > 0) {
      const off = liveOff.pop()!;
      t.free(off);
      if (!model.remove(off)) fail(cfg.ops, `the model has no block at ${off}`);
    }
    t.check();
    checks++;
    if (t.largestFree() !== capacity || t.freeBlocks() !== 1 || t.used !== 0) {
      fail(cfg.ops, `after freeing everything: largest free ${t.largestFree()} of ${capacity}`);
    }
    lines.push(
      `capacity ${fmtInt(cfg.capacity)} B (${fmtInt(capacity)} managed), ${fmtInt(cfg.ops)} random ops: ` +
        `${fmtInt(allocs)} allocs, ${fmtInt(frees)} frees, ${fmtInt(failures)} allocs returned -1 ` +
        `(${fmtInt(passedOver)} of them while a free block of the rounded size existed below the request's class bound, which good fit passes over), ` +
        `up to ${fmtInt(maxLive)} live and ${fmtInt(maxFreeBlocks)} free blocks; ${fmtInt(checks)} check() calls passed, ` +
        'no overlap or out-of-range block, all freed back to one block',
    );
  }
  lines.push(`check() caught all ${checkDetectsCorruption()} deliberate corruptions`);
  return lines;
}

interface BoundConfig {
  live: number;
  /** Untimed steps after the fill: the same as benchmark 1. */
  warmup: number;
}

/** The sizes, seed and warm-ups of benchmark 1 (bench-churn.ts). */
const CONFIGS: BoundConfig[] = [
  { live: 1_000, warmup: 20_000 },
  { live: 10_000, warmup: 20_000 },
  { live: 100_000, warmup: 100_000 },
];
const CHURN_SEED = 1;
/**
 * Timed rounds of STEPS steps each; the figure is the best round. On a shared 2-core machine
 * (background JIT and GC threads, other tenants) short rounds are more likely to catch a quiet
 * stretch, and the best of several is steadier than one long run.
 */
const ROUNDS = 9;
const STEPS = 50_000;
/**
 * Untimed steps each allocator runs right before each of its timed rounds. The other two have
 * just run over their own metadata (at 100,000 live, 8 to 12 MiB each, about the shared L3),
 * and refilling the cache took a visible share of a short round: in trial runs without this,
 * TLSF timed alone at 100,000 live ran up to twice as fast as interleaved.
 */
const REWARM = 20_000;

type Kind = 'tlsf' | 'first' | 'best';
const KINDS: Kind[] = ['tlsf', 'first', 'best'];
const LABEL: Record<Kind, string> = {
  tlsf: 'TLSF (bench/tlsf.ts)',
  first: 'handle-heap, first fit, zeroFill off',
  best: 'handle-heap, best fit, zeroFill off',
};

/** "0.123 µs" from milliseconds: the section reads in µs per pair throughout. */
function fmtUs(ms: number): string {
  return `${(ms * 1000).toFixed(3)} µs`;
}

/** JIT warm-up of the three loops on a separate small workload. */
function jitWarmup(): void {
  const w = makeChurnWorkload(1_000, 40_000, 99);
  new TlsfChurner(w).run(0, 40_000);
  new OursChurner(w, false, 'first-fit').run(0, 40_000);
  new OursChurner(w, false, 'best-fit').run(0, 40_000);
}

/** Benchmark 7: TLSF vs handle-heap (first and best fit) on the churn sequences. */
export function benchBound(): Section {
  progress('bound: TLSF self-check');
  const checkLines = selfCheckTlsf();
  progress('bound: JIT warm-up');
  jitWarmup();
  const gc = (globalThis as { gc?: () => void }).gc;

  const rows: string[][] = [];
  const summary: string[][] = [];
  const partRows: string[][] = [];
  const notes: string[] = [];
  const data: Record<string, number> = {};
  for (const cfg of CONFIGS) {
    gc?.(); // drop the previous size's heaps before building 2 x capacity of new ones
    const timedEnd = cfg.warmup + ROUNDS * (REWARM + STEPS);
    const w = makeChurnWorkload(cfg.live, timedEnd + STEPS, CHURN_SEED);
    progress(
      `bound ${fmtInt(cfg.live)} live: fill + ${fmtInt(cfg.warmup)} warm-up steps (heap ${fmtBytes(w.capacity)})`,
    );
    const tlsf = new TlsfChurner(w);
    const first = new OursChurner(w, false, 'first-fit');
    const best = new OursChurner(w, false, 'best-fit');
    tlsf.run(0, cfg.warmup);
    first.run(0, cfg.warmup);
    best.run(0, cfg.warmup);
    tlsf.verify();

    const samples: Record<Kind, number[]> = { tlsf: [], first: [], best: [] };
    for (let round = 0; round < ROUNDS; round++) {
      progress(`bound ${fmtInt(cfg.live)} live: round ${round + 1}/${ROUNDS}`);
      const start = cfg.warmup + round * (REWARM + STEPS);
      const from = start + REWARM;
      const to = from + STEPS;
      // Rotate who goes first, so no allocator always runs right after the same other one.
      for (let k = 0; k < KINDS.length; k++) {
        const kind = KINDS[(round + k) % KINDS.length];
        let ms: number;
        if (kind === 'tlsf') {
          tlsf.run(start, from);
          ms = tlsf.run(from, to);
        } else if (kind === 'first') {
          first.run(start, from);
          ms = first.run(from, to);
        } else {
          best.run(start, from);
          ms = best.run(from, to);
        }
        samples[kind].push(ms / STEPS);
      }
    }
    // Refuse to report figures from a heap that broke its invariants while being timed.
    tlsf.verify();

    const bestOf = (k: Kind): number => Math.min(...samples[k]);
    const medianOf = (k: Kind): number => median(samples[k]);
    progress(`bound ${fmtInt(cfg.live)} live: parts of a first-fit pair`);
    const parts = measureParts(first, w, timedEnd, timedEnd + STEPS);
    const byKey = parts.locatesPerPair * parts.locateNs;
    partRows.push([
      fmtInt(cfg.live),
      `${(bestOf('tlsf') * 1e6).toFixed(0)} ns`,
      `${(bestOf('first') * 1e6).toFixed(0)} ns`,
      `${parts.layoutNs.toFixed(0)} ns`,
      `${parts.fitNs.toFixed(0)} ns`,
      `${parts.locatesPerPair.toFixed(2)} × ${parts.locateNs.toFixed(0)} ns = ${byKey.toFixed(0)} ns`,
      parts.insertsPerPair.toFixed(2),
      `${(parts.layoutNs - parts.fitNs - byKey).toFixed(0)} ns`,
      `${(bestOf('first') * 1e6 - parts.layoutNs).toFixed(0)} ns`,
    ]);
    data[`layout${cfg.live}`] = parts.layoutNs;
    data[`fitNs${cfg.live}`] = parts.fitNs;
    data[`locateNs${cfg.live}`] = parts.locateNs;
    data[`locatesPerPair${cfg.live}`] = parts.locatesPerPair;
    for (const kind of KINDS) {
      rows.push([
        fmtInt(cfg.live),
        LABEL[kind],
        `${fmtInt(STEPS)} × ${ROUNDS}`,
        fmtUs(bestOf(kind)),
        fmtUs(medianOf(kind)),
        kind === 'tlsf' ? '—' : fmtRatio(bestOf(kind) / bestOf('tlsf')),
        kind === 'tlsf' ? '—' : fmtRatio(medianOf(kind) / medianOf('tlsf')),
      ]);
    }
    summary.push([
      fmtInt(cfg.live),
      fmtUs(bestOf('tlsf')),
      fmtRatio(bestOf('first') / bestOf('tlsf')),
      fmtRatio(bestOf('best') / bestOf('tlsf')),
    ]);
    data[`tlsf${cfg.live}`] = bestOf('tlsf');
    data[`first${cfg.live}`] = bestOf('first');
    data[`best${cfg.live}`] = bestOf('best');
    const fs = first.mm.stats();
    const bs = best.mm.stats();
    notes.push(
      `${fmtInt(cfg.live)} live (heap ${fmtBytes(w.capacity)}): TLSF allocations that returned -1: ${tlsf.failures}; ` +
        `TLSF metadata as allocated ${fmtBytes(tlsf.heap.metadataBytes())} (records, offset table, list heads); ` +
        `handle-heap compactions: first fit ${fs.compactions}, best fit ${bs.compactions}; ` +
        `free blocks at the end: TLSF ${fmtInt(tlsf.heap.freeBlocks())}, first fit ${fmtInt(fs.freeBlocks)}, best fit ${fmtInt(bs.freeBlocks)}.`,
    );
  }

  // After all timing (see checkRejectsBadFrees); still before anything is reported.
  checkLines.push(`free() rejected all ${checkRejectsBadFrees()} bad offsets (run after timing)`);

  const table = mdTable(
    [
      'live blocks',
      'allocator',
      'timed pairs × rounds',
      'best cost per alloc+free pair',
      'median cost per pair',
      '/ TLSF (best)',
      '/ TLSF (median)',
    ],
    rows,
  );
  const summaryTable = mdTable(
    ['live blocks', 'TLSF per pair (best)', 'first fit / TLSF', 'best fit / TLSF'],
    summary,
  );
  const partsTable = mdTable(
    [
      'live blocks',
      'TLSF pair',
      'first-fit pair',
      'of it, layout only',
      'descent by size (1 per pair)',
      'descents by key per pair × each',
      'new gaps inserted per pair',
      'rest of the layout: index updates, maxima, records, links',
      'API: handles, checks, events',
    ],
    partRows,
  );
  const markdown = [
    `The churn sequences of benchmark 1 (same seed, fill and warm-up steps; ${ROUNDS} rounds continuing the sequence, each ${fmtInt(REWARM)} untimed steps to re-warm the caches after the other allocators ran, then ${fmtInt(STEPS)} timed steps; the order of the allocators rotated each round), replayed on an O(1) two-level segregated-fit allocator (bench/tlsf.ts: 32 second-level classes, sizes below 256 B classed linearly, good-fit search, immediate coalescing, offsets only, metadata in typed arrays) and on MemoryManager with zeroFill off, first fit and best fit. TLSF is the yardstick of what one alloc+free pair can cost in plain TypeScript; it does less than handle-heap (no handles, no bytes, no compaction, good fit rather than first or best fit). Figures are the best of the rounds (the median beside it); ratios are handle-heap / TLSF.`,
    '',
    summaryTable,
    '',
    whyMissed(data),
    '',
    'Where a first-fit pair goes, measured in this run after the timed rounds: the pair replayed on copies of the first-fit heap\'s layout (no handles, no argument checks), and the two kinds of gap-index descent timed alone on that heap (read only: first fit for the workload\'s sizes; the descent by key to a random gap, as a free makes). "Descents by key per pair" counts the frees next to a gap (a free between two blocks inserts a new gap instead, which also descends by key). Timings are best of 3 to 5 passes over 50,000 steps.',
    '',
    partsTable,
    '',
    table,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    'TLSF self-check, run before timing (the section refuses to report if any part fails), and `check()` again on each churn heap after its warm-up and after timing:',
    '',
    ...checkLines.map((l) => `- ${l}`),
  ].join('\n');

  const targets: TargetResult[] = [];
  for (const cfg of CONFIGS) {
    for (const [kind, bound] of [
      ['first', 2],
      ['best', 2.5],
    ] as const) {
      const ratio = data[`${kind}${cfg.live}`] / data[`tlsf${cfg.live}`];
      const met = ratio <= bound;
      targets.push({
        name: `speed, ${kind} fit, ${fmtInt(cfg.live)} live`,
        target: `<= ${bound}x the TLSF bound per alloc+free pair (zeroFill off)`,
        measured: `${fmtRatio(ratio)} (${fmtUs(data[`${kind}${cfg.live}`])} vs ${fmtUs(data[`tlsf${cfg.live}`])})`,
        met,
        margin: met
          ? `met, ${Math.round((1 - ratio / bound) * 100)}% under the bound`
          : `missed: ${fmtRatio(ratio)} against ${bound}x (see section 7)`,
      });
    }
  }
  return { title: '7. Bound: TLSF yardstick', markdown, targets, data };
}
