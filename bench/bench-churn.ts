/**
 * Benchmark 1 (churn) and the churn-state part of benchmark 6 (metadata per live block).
 */
import { MemoryManager } from '../src/index.js';
import {
  MallocChurner,
  NaiveChurner,
  OursChurner,
  makeChurnWorkload,
  type ChurnWorkload,
} from './churn.js';
import { marginAtLeast, marginAtMost, type Section, type TargetResult } from './report.js';
import { fmtBytes, fmtInt, fmtRatio, fmtRate, fmtTime, mdTable, median, progress } from './util.js';

interface ChurnConfig {
  live: number;
  /** Untimed steps after the fill, the same for every allocator. */
  warmup: number;
  runs: number;
  /** Timed steps per run; 0 skips the allocator. */
  steps: { ours: number; naive: number; malloc: number };
  /** Why an allocator is skipped. */
  skip?: string;
}

const CONFIGS: ChurnConfig[] = [
  { live: 1_000, warmup: 20_000, runs: 7, steps: { ours: 100_000, naive: 20_000, malloc: 2_000 } },
  { live: 10_000, warmup: 20_000, runs: 7, steps: { ours: 100_000, naive: 2_000, malloc: 150 } },
  {
    live: 100_000,
    warmup: 100_000,
    runs: 7,
    steps: { ours: 100_000, naive: 300, malloc: 0 },
    skip:
      '@thi.ng/malloc skipped at 100,000 live: its free() walks the list of all used blocks and every free re-walks the free list, ' +
      'so a step costs O(live + free blocks); at 10,000 live a step already takes ~1 ms, so the 100,000-step warm-up alone would take well over 15 minutes.',
  },
];

type Kind = 'oursZf' | 'ours' | 'naive' | 'malloc';
const LABEL: Record<Kind, string> = {
  oursZf: 'ours (zeroFill on, default)',
  ours: 'ours (zeroFill off)',
  naive: 'naive (bench/naive-heap.ts)',
  malloc: '@thi.ng/malloc MemPool',
};

interface Measured {
  /** Median milliseconds per alloc+free pair. */
  perPair: Record<Kind, number>;
  steps: Record<Kind, number>;
  mallocFailures: number;
}

interface MetaRow {
  live: number;
  variant: string;
  liveBlocks: number;
  freeBlocks: number;
  metadataBytes: number;
}

/** JIT warm-up of every churner's loop on a separate small workload. */
function jitWarmup(): void {
  const w = makeChurnWorkload(1_000, 40_000, 99);
  new OursChurner(w, true).run(0, 40_000);
  new OursChurner(w, false).run(0, 40_000);
  new NaiveChurner(w).run(0, 20_000);
  new MallocChurner(w).run(0, 2_000);
}

export function benchChurn(): Section {
  progress('churn: JIT warm-up');
  jitWarmup();
  const gc = (globalThis as { gc?: () => void }).gc;
  const results = new Map<number, Measured>();
  const meta: MetaRow[] = [];
  const naiveHeapBytes = new Map<number, number>();

  for (const cfg of CONFIGS) {
    const maxSteps = Math.max(cfg.steps.ours, cfg.steps.naive, cfg.steps.malloc);
    const w: ChurnWorkload = makeChurnWorkload(cfg.live, cfg.warmup + cfg.runs * maxSteps, 1);
    progress(
      `churn ${fmtInt(cfg.live)} live: fill + ${fmtInt(cfg.warmup)} warm-up steps (heap ${fmtBytes(w.capacity)})`,
    );
    const oursZf = new OursChurner(w, true);
    const ours = new OursChurner(w, false);
    // Held in an object so the reference can be dropped to measure what the naive heap retains.
    const held: { naive?: NaiveChurner } = {
      naive: cfg.steps.naive > 0 ? new NaiveChurner(w) : undefined,
    };
    const malloc = cfg.steps.malloc > 0 ? new MallocChurner(w) : undefined;
    oursZf.run(0, cfg.warmup);
    ours.run(0, cfg.warmup);
    held.naive?.run(0, cfg.warmup);
    malloc?.run(0, cfg.warmup);

    const samples: Record<Kind, number[]> = { oursZf: [], ours: [], naive: [], malloc: [] };
    // Interleave the allocators run by run, so drifting machine load hits all of them alike.
    for (let r = 0; r < cfg.runs; r++) {
      progress(`churn ${fmtInt(cfg.live)} live: run ${r + 1}/${cfg.runs}`);
      const seg = (n: number): [number, number] => [cfg.warmup + r * n, cfg.warmup + (r + 1) * n];
      samples.oursZf.push(oursZf.run(...seg(cfg.steps.ours)) / cfg.steps.ours);
      samples.ours.push(ours.run(...seg(cfg.steps.ours)) / cfg.steps.ours);
      if (held.naive) samples.naive.push(held.naive.run(...seg(cfg.steps.naive)) / cfg.steps.naive);
      if (malloc) samples.malloc.push(malloc.run(...seg(cfg.steps.malloc)) / cfg.steps.malloc);
    }
    results.set(cfg.live, {
      perPair: {
        oursZf: median(samples.oursZf),
        ours: median(samples.ours),
        naive: median(samples.naive),
        malloc: median(samples.malloc),
      },
      steps: {
        oursZf: cfg.steps.ours,
        ours: cfg.steps.ours,
        naive: cfg.steps.naive,
        malloc: cfg.steps.malloc,
      },
      mallocFailures: malloc?.failures ?? 0,
    });

    // Best fit for the metadata rows only (its speed is benchmark 7's): the same steps, untimed.
    const bestFit = new OursChurner(w, false, 'best-fit');
    bestFit.run(0, cfg.warmup + cfg.runs * cfg.steps.ours);
    for (const [variant, c] of [
      ['zeroFill on', oursZf],
      ['zeroFill off', ours],
      ['best fit, zeroFill off', bestFit],
    ] as const) {
      const s = c.mm.stats();
      meta.push({
        live: cfg.live,
        variant,
        liveBlocks: s.liveBlocks,
        freeBlocks: s.freeBlocks,
        metadataBytes: c.mm.metadataBytes,
      });
    }
    // Retained JS heap of the naive heap's metadata (its byte buffer is off-heap).
    if (gc && held.naive) {
      gc();
      gc();
      const before = process.memoryUsage().heapUsed;
      held.naive = undefined;
      gc();
      gc();
      naiveHeapBytes.set(cfg.live, before - process.memoryUsage().heapUsed);
    }
  }

  // ---- tables
  const rows: string[][] = [];
  for (const cfg of CONFIGS) {
    const m = results.get(cfg.live)!;
    for (const kind of ['oursZf', 'ours', 'naive', 'malloc'] as Kind[]) {
      const t = m.perPair[kind];
      const skipped = !Number.isFinite(t);
      const vsZf = skipped ? '—' : fmtRatio(t / m.perPair.oursZf);
      const vsOff = skipped ? '—' : fmtRatio(t / m.perPair.ours);
      rows.push([
        fmtInt(cfg.live),
        LABEL[kind],
        skipped ? 'skipped (see note)' : `${fmtInt(m.steps[kind])} × ${cfg.runs}`,
        skipped ? '—' : fmtTime(t),
        skipped ? '—' : fmtRate(1000 / t),
        kind.startsWith('ours') ? '—' : vsZf,
        kind.startsWith('ours') ? '—' : vsOff,
      ]);
    }
  }
  const table = mdTable(
    [
      'live blocks',
      'allocator',
      'timed pairs × runs',
      'median cost per alloc+free pair',
      'pairs/s',
      'ours (zeroFill on) faster by',
      'ours (zeroFill off) faster by',
    ],
    rows,
  );

  const metaTable = mdTable(
    ['live', 'ours', 'live blocks', 'free blocks', 'metadata as allocated', 'bytes / live block'],
    meta.map((m) => [
      fmtInt(m.live),
      m.variant,
      fmtInt(m.liveBlocks),
      fmtInt(m.freeBlocks),
      fmtBytes(m.metadataBytes),
      (m.metadataBytes / m.liveBlocks).toFixed(1),
    ]),
  );
  const naiveLines = [...naiveHeapBytes.entries()].map(
    ([live, bytes]) =>
      `- naive heap at ${fmtInt(live)} live blocks: ${fmtBytes(bytes)} of retained JS heap (Map entries, block objects, free-list objects), ${(bytes / live).toFixed(0)} B per live block.`,
  );

  const r1 = results.get(1_000)!;
  const r10 = results.get(10_000)!;
  const r100 = results.get(100_000)!;
  const targets: TargetResult[] = [];
  const ratio = (base: number, ours: number): number => base / ours;
  const add = (name: string, target: string, value: number, bound: number, what: string): void => {
    targets.push({
      name,
      target,
      measured: `${fmtRatio(value)} ${what}`,
      met: value >= bound,
      margin: marginAtLeast(value, bound),
    });
  };
  add(
    'churn 1,000 live',
    '>= 10x @thi.ng/malloc',
    ratio(r1.perPair.malloc, r1.perPair.oursZf),
    10,
    'vs @thi.ng/malloc',
  );
  add('churn 1,000 live', '>= 2x naive', ratio(r1.perPair.naive, r1.perPair.oursZf), 2, 'vs naive');
  add(
    'churn 10,000 live',
    '>= 100x @thi.ng/malloc',
    ratio(r10.perPair.malloc, r10.perPair.oursZf),
    100,
    'vs @thi.ng/malloc',
  );
  add(
    'churn 10,000 live',
    '>= 5x naive',
    ratio(r10.perPair.naive, r10.perPair.oursZf),
    5,
    'vs naive',
  );
  add(
    'churn 100,000 live',
    '>= 50x naive',
    ratio(r100.perPair.naive, r100.perPair.oursZf),
    50,
    'vs naive',
  );
  const growth = r100.perPair.ours / r1.perPair.ours;
  targets.push({
    name: 'growth',
    target: 'zeroFill off: cost per pair at 100,000 live <= 3x the cost at 1,000',
    measured: `${fmtRatio(growth)} (${fmtTime(r100.perPair.ours)} vs ${fmtTime(r1.perPair.ours)})`,
    met: growth <= 3,
    margin: marginAtMost(growth, 3),
  });
  // The worst case for metadata that tracks free space: every live block followed by a hole.
  // Built by shrinking blocks of 32 bytes to 16, so the heap never held more than 100,000 blocks
  // (records are reused, never released: metadata follows the peak block count).
  const alternatingPerLive = (strategy: 'first-fit' | 'best-fit'): number => {
    const alternating = new MemoryManager({ size: 100_000 * 32, zeroFill: false, strategy });
    const hs: number[] = [];
    for (let i = 0; i < 100_000; i++) hs.push(alternating.allocSync(32));
    for (const h of hs) alternating.resizeSync(h, 16);
    return alternating.metadataBytes / alternating.stats().liveBlocks;
  };
  const altPerLive = alternatingPerLive('first-fit');
  const altBestPerLive = alternatingPerLive('best-fit');
  const worstChurn = Math.max(...meta.map((m) => m.metadataBytes / m.liveBlocks));
  const worst = Math.max(worstChurn, altPerLive, altBestPerLive);
  targets.push({
    name: 'metadata (bytes)',
    target: '<= 32 bytes per live block, everything allocated counted',
    measured: `${worstChurn.toFixed(1)} B per live block (worst churn state, either strategy); ${altPerLive.toFixed(1)} B (first fit) and ${altBestPerLive.toFixed(1)} B (best fit) with 100,000 live 16-byte blocks alternating with 100,000 holes`,
    met: worst <= 32,
    margin: marginAtMost(worst, 32, ' B'),
  });

  const markdown = [
    `Each step frees a random live block and allocates a new one of a random size (16..4096 bytes) in its slot; the heap holds about twice the expected live bytes (50% load). Every allocator replays the same fixed-seed sequence: the same fill, the same untimed warm-up steps (${CONFIGS.map((c) => `${fmtInt(c.live)} live: ${fmtInt(c.warmup)}`).join('; ')}), then timed steps. Slow allocators time fewer steps (a prefix of the same timed steps); cost is reported per pair. Runs of the allocators are interleaved; the figure is the median over runs.`,
    '',
    table,
    '',
    `Notes: the ratios use the median costs from this same process run. "faster by" = baseline cost / ours cost. The naive heap zero-fills like ours (zeroFill on); @thi.ng/malloc does not zero (malloc, not calloc), so compare it with both rows of ours. @thi.ng/malloc allocation failures during churn: ${[...results.entries()].map(([live, m]) => `${fmtInt(live)} live: ${m.mallocFailures}`).join(', ')}.`,
    '',
    ...CONFIGS.filter((c) => c.skip).map((c) => `- ${c.skip}`),
    '',
    '### Metadata per live block in the churn states (benchmark 6)',
    '',
    'Ours keeps one 20-byte record per live block and no record per free block (a gap is implied by where the next block starts), the gaps in the nodes of one B+tree (by address for first fit, by size then address for best fit; leaves of 48 gaps, 8 bytes each, in 392-byte nodes), and a 160-byte header, in one buffer that grows by about an eighth at a time; the figures are the whole buffer as allocated. @thi.ng/malloc keeps an 8-byte header in front of every block inside the heap.',
    '',
    metaTable,
    '',
    ...(naiveLines.length > 0
      ? naiveLines
      : ['- naive heap retained JS heap: not measured (run without --expose-gc).']),
  ].join('\n');

  return {
    title: '1. Churn',
    markdown,
    targets,
    data: {
      oursZf10k: r10.perPair.oursZf,
    },
  };
}
