/**
 * Benchmark 2: a fragmented heap. Fill a 1 MiB heap with 64-byte blocks until an allocation
 * fails, free every other block (8,192 holes of 64 bytes for ours), then time allocations that
 * fit a hole exactly (64 B), that split a hole (24 B), and that fit no hole (128 B: ours
 * auto-compacts, the naive heap compacts too, @thi.ng/malloc has no way to make room).
 */
import { MemPool } from '@thi.ng/malloc';
import { MemoryManager, OutOfMemoryError } from '../src/index.js';
import { NaiveHeap } from './naive-heap.js';
import type { Section } from './report.js';
import { fmtBytes, fmtInt, fmtRatio, fmtTime, mdTable, median, now, progress } from './util.js';

const CAPACITY = 1 << 20;
const BLOCK = 64;
const EXACT = 64;
const SPLIT = 24;
const NOFIT = 128;
/** Allocations timed in the exact-fit and split phases. */
const BATCH = 1_000;
const RUNS = 7;
const WARMUP_RUNS = 1;

type Phase = 'exact' | 'split' | 'nofit';

interface PhaseResult {
  ms: number;
  /** Allocations that succeeded. */
  ok: number;
  /** What happened, for the no-fit phase. */
  note: string;
}

/** Fills with BLOCK-byte blocks until failure, frees every other one (from the top down). */
function fragmentOurs(): { mm: MemoryManager; holes: number } {
  const mm = new MemoryManager({ size: CAPACITY, align: 8 });
  const handles: number[] = [];
  for (;;) {
    try {
      handles.push(mm.allocSync(BLOCK));
    } catch (e) {
      if (e instanceof OutOfMemoryError) break;
      throw e;
    }
  }
  let holes = 0;
  for (let i = (handles.length - 1) & ~1; i >= 0; i -= 2) {
    mm.freeSync(handles[i]);
    holes++;
  }
  return { mm, holes };
}

function fragmentNaive(): { heap: NaiveHeap; holes: number } {
  const heap = new NaiveHeap({ size: CAPACITY, align: 8 });
  const handles: number[] = [];
  for (;;) {
    try {
      handles.push(heap.alloc(BLOCK));
    } catch {
      break;
    }
  }
  let holes = 0;
  for (let i = (handles.length - 1) & ~1; i >= 0; i -= 2) {
    heap.free(handles[i]);
    holes++;
  }
  return { heap, holes };
}

function fragmentMalloc(): { pool: MemPool; holes: number } {
  const pool = new MemPool({ size: CAPACITY, align: 8 });
  const ptrs: number[] = [];
  for (;;) {
    const p = pool.malloc(BLOCK);
    if (p === 0) break;
    ptrs.push(p);
  }
  let holes = 0;
  for (let i = (ptrs.length - 1) & ~1; i >= 0; i -= 2) {
    pool.free(ptrs[i]);
    holes++;
  }
  return { pool, holes };
}

function phaseOurs(phase: Phase): PhaseResult {
  const { mm } = fragmentOurs();
  const before = mm.stats();
  if (phase === 'nofit') {
    const t0 = now();
    mm.allocSync(NOFIT);
    const ms = now() - t0;
    const after = mm.stats();
    return {
      ms,
      ok: 1,
      note: `succeeds; autoCompact ran ${fmtInt(after.compactions - before.compactions)} compaction(s) first, moving ${fmtBytes(after.bytesMoved - before.bytesMoved)}`,
    };
  }
  const size = phase === 'exact' ? EXACT : SPLIT;
  const t0 = now();
  for (let i = 0; i < BATCH; i++) mm.allocSync(size);
  return { ms: now() - t0, ok: BATCH, note: '' };
}

function phaseNaive(phase: Phase): PhaseResult {
  const { heap } = fragmentNaive();
  if (phase === 'nofit') {
    const t0 = now();
    heap.alloc(NOFIT);
    return {
      ms: now() - t0,
      ok: 1,
      note: 'succeeds after a compaction (sort + copyWithin per block)',
    };
  }
  const size = phase === 'exact' ? EXACT : SPLIT;
  const t0 = now();
  for (let i = 0; i < BATCH; i++) heap.alloc(size);
  return { ms: now() - t0, ok: BATCH, note: '' };
}

function phaseMalloc(phase: Phase): PhaseResult {
  const { pool } = fragmentMalloc();
  if (phase === 'nofit') {
    const t0 = now();
    const p = pool.malloc(NOFIT);
    const ms = now() - t0;
    return {
      ms,
      ok: p === 0 ? 0 : 1,
      note:
        p === 0
          ? 'fails: malloc returns 0 (no hole fits, no compaction), although half the heap is free'
          : 'succeeded',
    };
  }
  const size = phase === 'exact' ? EXACT : SPLIT;
  let ok = 0;
  const t0 = now();
  for (let i = 0; i < BATCH; i++) if (pool.malloc(size) !== 0) ok++;
  return { ms: now() - t0, ok, note: '' };
}

export function benchFragmented(): Section {
  progress('fragmented heap');
  const holes = {
    ours: fragmentOurs().holes,
    naive: fragmentNaive().holes,
    malloc: fragmentMalloc().holes,
  };
  const phases: Phase[] = ['exact', 'split', 'nofit'];
  const samples = {
    ours: { exact: [] as number[], split: [] as number[], nofit: [] as number[] },
    naive: { exact: [] as number[], split: [] as number[], nofit: [] as number[] },
    malloc: { exact: [] as number[], split: [] as number[], nofit: [] as number[] },
  };
  const last: Record<'ours' | 'naive' | 'malloc', Record<Phase, PhaseResult | undefined>> = {
    ours: { exact: undefined, split: undefined, nofit: undefined },
    naive: { exact: undefined, split: undefined, nofit: undefined },
    malloc: { exact: undefined, split: undefined, nofit: undefined },
  };
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    for (const phase of phases) {
      const o = phaseOurs(phase);
      const n = phaseNaive(phase);
      const m = phaseMalloc(phase);
      if (run < WARMUP_RUNS) continue;
      const per = (r: PhaseResult): number => r.ms / (phase === 'nofit' ? 1 : BATCH);
      samples.ours[phase].push(per(o));
      samples.naive[phase].push(per(n));
      samples.malloc[phase].push(per(m));
      last.ours[phase] = o;
      last.naive[phase] = n;
      last.malloc[phase] = m;
    }
  }

  const label: Record<Phase, string> = {
    exact: `exact fit: ${fmtInt(BATCH)} × ${EXACT} B into ${BLOCK} B holes (per alloc)`,
    split: `split: ${fmtInt(BATCH)} × ${SPLIT} B into ${BLOCK} B holes (per alloc)`,
    nofit: `fits no hole: 1 × ${NOFIT} B (that one alloc)`,
  };
  const rows = phases.map((phase) => {
    const o = median(samples.ours[phase]);
    const n = median(samples.naive[phase]);
    const m = median(samples.malloc[phase]);
    const mOk = last.malloc[phase]!.ok;
    const mallocCell =
      phase === 'nofit'
        ? `${fmtTime(m)} to fail`
        : `${fmtTime(m)}${mOk < BATCH ? ` (${mOk} of ${BATCH} succeeded)` : ''}`;
    return [
      label[phase],
      fmtTime(o),
      fmtTime(n),
      mallocCell,
      fmtRatio(n / o),
      phase === 'nofit' ? '— (malloc fails)' : fmtRatio(m / o),
    ];
  });
  const table = mdTable(
    ['phase', 'ours', 'naive', '@thi.ng/malloc', 'naive / ours', 'malloc / ours'],
    rows,
  );
  const markdown = [
    `A ${fmtBytes(CAPACITY)} heap is filled with ${BLOCK}-byte blocks until an allocation fails, then every other block is freed: ${fmtInt(holes.ours)} holes for ours, ${fmtInt(holes.naive)} for the naive heap, ${fmtInt(holes.malloc)} for @thi.ng/malloc (its 8-byte block headers fit fewer blocks). Each phase starts from a freshly built fragmented heap (the build is not timed); medians of ${RUNS} runs after ${WARMUP_RUNS} warm-up run${WARMUP_RUNS === 1 ? '' : 's'}, allocators interleaved.`,
    '',
    table,
    '',
    'What happens when no hole fits:',
    '',
    `- ours: ${last.ours.nofit!.note}.`,
    `- naive: ${last.naive.nofit!.note}.`,
    `- @thi.ng/malloc: ${last.malloc.nofit!.note}.`,
    '',
    'In this layout the lowest hole is always the first one a first-fit scan looks at, which is the best case for the linear scans of the naive heap and @thi.ng/malloc; @thi.ng/malloc still re-walks its whole free list after every split (its `compact` pass).',
  ].join('\n');
  return { title: '2. Fragmented heap', markdown, targets: [] };
}
