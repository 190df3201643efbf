/**
 * Benchmark 6 (JS heap part): bytes of JS heap allocated by sync alloc/free pairs, measured in
 * a separate process by bench/no-garbage-probe.ts (the probe of test/no-garbage-probe.ts, which
 * test/no-garbage.node.test.ts runs, with the naive heap and @thi.ng/malloc added). The
 * metadata-per-block part lives in bench-churn.ts (it reads the churn states).
 */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBE_NODE_FLAGS, type ProbeResult } from '../test/no-garbage-probe.js';
import type { Section, TargetResult } from './report.js';
import { fmtBytes, fmtInt, fmtTime, mdTable, progress } from './util.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The probe's Node flags (exposed gc, a 64 MiB young generation) and its script. */
const PROBE_NODE_ARGS = [...PROBE_NODE_FLAGS, 'bench/no-garbage-probe.ts'];

/** Runs the probe in a child process and returns its result. */
export function runProbe(args: string[]): ProbeResult {
  const out = execFileSync(process.execPath, [...PROBE_NODE_ARGS, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ProbeResult;
}

const LABEL: Record<string, string> = {
  ours: 'ours',
  'ours-best-fit': 'ours, best fit',
  naive: 'naive',
  malloc: '@thi.ng/malloc',
};

export function benchMemory(): Section {
  const runs: { args: string[] }[] = [
    { args: ['--allocator=ours', '--zero-fill=false', '--pairs=1000000'] },
    { args: ['--allocator=ours', '--zero-fill=true', '--pairs=1000000'] },
    { args: ['--allocator=ours-best-fit', '--zero-fill=false', '--pairs=1000000'] },
    { args: ['--allocator=naive', '--zero-fill=true', '--pairs=100000'] },
    { args: ['--allocator=malloc', '--pairs=100000'] },
  ];
  const results: ProbeResult[] = [];
  for (const r of runs) {
    progress(`JS heap probe: ${r.args.join(' ')}`);
    try {
      results.push(runProbe([...r.args, '--live=300']));
    } catch (e) {
      progress(`probe failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const rows = results.map((p) => {
    const trusted = p.gcDuringLoop === 0;
    return [
      `${LABEL[p.allocator] ?? p.allocator}${p.allocator === 'malloc' ? '' : ` (zeroFill ${p.zeroFill ? 'on' : 'off'})`}`,
      fmtInt(p.pairs),
      trusted ? fmtBytes(p.newSpaceBytes) : `≥ 1 semi-space (${p.gcDuringLoop} GCs)`,
      trusted ? (p.newSpaceBytes / p.pairs).toFixed(3) : 'n/a',
      String(p.gcDuringLoop),
      fmtBytes(p.heapUsedAfter - p.heapUsedBefore),
      fmtTime(p.msPerPair),
    ];
  });
  const table = mdTable(
    [
      'allocator',
      'sync alloc+free pairs',
      'JS heap allocated during the loop',
      'bytes per pair',
      'GCs during the loop',
      'heapUsed growth after forced GC',
      'cost per pair (probe)',
    ],
    rows,
  );
  const ours = results.filter((p) => p.allocator.startsWith('ours'));
  // "No growth": nothing allocated per pair (a few hundred bytes are the probe's own noise)
  // and nothing retained.
  const PER_RUN_NOISE = 16 * 1024;
  const RETAINED = 1024 * 1024;
  const worst = ours.reduce((m, p) => Math.max(m, p.newSpaceBytes), 0);
  const retained = ours.reduce(
    (m, p) => Math.max(m, p.heapUsedAfter - p.heapUsedBefore),
    -Infinity,
  );
  const met =
    ours.length === 3 &&
    ours.every(
      (p) =>
        p.gcDuringLoop === 0 &&
        p.newSpaceBytes < PER_RUN_NOISE &&
        p.heapUsedAfter - p.heapUsedBefore < RETAINED,
    );
  const targets: TargetResult[] = [
    {
      name: 'metadata (JS heap)',
      target: 'no JS heap growth on sync paths (1,000,000 allocSync+freeSync pairs)',
      measured:
        ours.length === 0
          ? 'probe did not run'
          : `${fmtBytes(worst)} allocated in 1,000,000 pairs (${(worst / 1e6).toFixed(2)} B/pair), ${ours.reduce((m, p) => m + p.gcDuringLoop, 0)} GCs, retained after GC ${fmtBytes(retained)}`,
      met,
      margin: met
        ? 'met: no allocation per pair, nothing retained'
        : `missed: the sync paths allocate ${fmtBytes(worst)} per 1,000,000 pairs (garbage, collected; bound < ${fmtBytes(PER_RUN_NOISE)})`,
    },
  ];
  const markdown = [
    'Each row is a separate process (`node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx bench/no-garbage-probe.ts ...`): 300 live blocks of 16..2048 B, churned with a fixed-seed sequence generated before the loop; 200,000 warm-up pairs; then one timed loop. With a 64 MiB young generation the loop triggers no scavenge unless it allocates that much, so the growth of the new space across the loop is the bytes it allocated (the probe subtracts its own measuring overhead; a few hundred bytes remain as noise). `heapUsed growth` compares `process.memoryUsage().heapUsed` after forced full GCs before and after the loop (what is retained). The naive heap and @thi.ng/malloc run 100,000 pairs (the naive heap would fill the young generation in 1,000,000).',
    '',
    table,
    '',
    'The same measurement (`test/no-garbage-probe.ts`, which `bench/no-garbage-probe.ts` extends with the other allocators) backs `test/no-garbage.node.test.ts`, which asserts: no GC during 1,000,000 pairs, less than 16 KiB allocated in total (i.e. no allocation per pair), less than 1 MiB retained.',
  ].join('\n');
  return { title: '6. Memory: JS heap on the sync paths', markdown, targets };
}
