/**
 * Benchmark 9 (shared): a heap shared between worker_threads. The uncontended cost of the
 * shared lock on the sync pair; the aggregate throughput of 1, 2 and 4 Workers churning one
 * shared heap with async calls, against one thread churning an unshared heap the same way;
 * and the time per lock hand-over when Workers contend.
 */
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { MemoryManager } from '../src/index.js';
import { OursChurner, makeChurnWorkload } from './churn.js';
import { marginAtMost, type Section, type TargetResult } from './report.js';
import { fmtInt, fmtRate, fmtRatio, fmtTime, mdTable, median, now, progress } from './util.js';

const BOOTSTRAP = fileURLToPath(new URL('../test/workers/node-bootstrap.mjs', import.meta.url));
const TASK = new URL('../test/workers/node-task.ts', import.meta.url).href;
const LIVE = 10_000;
const WARMUP = 20_000;
const STEPS = 100_000;
const RUNS = 7;
const WINDOW_MS = 400;
const ROUNDS = 3;

/**
 * Pairs per second of `workers` Workers churning one shared heap with async calls for
 * WINDOW_MS; with `own`, each Worker churns a shared heap of its own instead (no contention:
 * what the threads alone can do on this machine).
 */
async function workersRate(workers: number, own = false): Promise<number> {
  const one = own ? null : new MemoryManager({ size: 1 << 20, shared: true });
  const heaps = Array.from(
    { length: workers },
    () => one ?? new MemoryManager({ size: 1 << 20, shared: true }),
  );
  const gate = new SharedArrayBuffer(8);
  const runs = heaps.map(
    (mm) =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(BOOTSTRAP, {
          workerData: { entry: TASK, task: 'churn', shared: mm.shared, ms: WINDOW_MS, gate },
        });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
  );
  const word = new Int32Array(gate);
  while (Atomics.load(word, 1) < workers) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(word, 0, 1);
  Atomics.notify(word, 0);
  const counts = await Promise.all(runs);
  for (const mm of one === null ? heaps : [one]) mm.validate();
  return (counts.reduce((a, b) => a + b, 0) * 1000) / WINDOW_MS;
}

/** Pairs per second of this thread churning an unshared heap as the Workers do. */
async function singleThreadRate(): Promise<number> {
  const mm = new MemoryManager({ size: 1 << 20 });
  const end = now() + WINDOW_MS;
  let pairs = 0;
  while (now() < end) {
    const h = await mm.alloc(8 + (pairs % 64));
    await mm.free(h);
    pairs++;
  }
  return (pairs * 1000) / WINDOW_MS;
}

export async function benchShared(): Promise<Section> {
  // 1. Uncontended: the same churn sequence on an unshared and a shared heap, this thread only.
  const w = makeChurnWorkload(LIVE, WARMUP + RUNS * STEPS, 9);
  const plain = new OursChurner(w, true);
  const shared = new OursChurner(w, true, 'first-fit', true);
  plain.run(0, WARMUP);
  shared.run(0, WARMUP);
  const tp: number[] = [];
  const ts: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    progress(`shared: uncontended run ${r + 1}/${RUNS}`);
    const from = WARMUP + r * STEPS;
    tp.push(plain.run(from, from + STEPS) / STEPS);
    ts.push(shared.run(from, from + STEPS) / STEPS);
  }
  shared.mm.validate();
  const uncontended = median(ts) / median(tp);

  // 2. Contended: 1, 2, 4 Workers against one thread on an unshared heap, rounds interleaved.
  const rates: Record<string, number[]> = {
    single: [],
    w1: [],
    w2: [],
    w4: [],
    own2: [],
    own4: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    progress(`shared: Workers round ${r + 1}/${ROUNDS}`);
    rates.single.push(await singleThreadRate());
    for (const n of [1, 2, 4]) rates[`w${n}`].push(await workersRate(n));
    for (const n of [2, 4]) rates[`own${n}`].push(await workersRate(n, true));
  }
  const single = median(rates.single);
  const rows = [
    ['one thread, unshared heap (baseline)', fmtRate(single), '1.00x', '—'],
    ...[1, 2, 4].map((n) => {
      const rate = median(rates[`w${n}`]);
      return [
        `${n} Worker${n > 1 ? 's' : ''}, one shared heap`,
        fmtRate(rate),
        fmtRatio(rate / single),
        fmtTime(1000 / (2 * rate)),
      ];
    }),
    ...[2, 4].map((n) => {
      const rate = median(rates[`own${n}`]);
      return [
        `${n} Workers, a heap each (nothing contended)`,
        fmtRate(rate),
        fmtRatio(rate / single),
        '—',
      ];
    }),
  ];
  const r2 = median(rates.w2) / single;
  const r4 = median(rates.w4) / single;
  const own2 = median(rates.own2) / single;
  const own4 = median(rates.own4) / single;
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const over = [2, 4].filter((n) => n > cores);
  const oversubscribed =
    over.length === 0
      ? ''
      : `: with ${over.join(' and ')} Workers on ${cores} cores the threads' time-slicing alone costs that much, sharing nothing`;
  const markdown = [
    `Uncontended: churn at ${fmtInt(LIVE)} live blocks (default options), ${RUNS} interleaved runs of ${fmtInt(STEPS)} sync pairs on an unshared heap and on a shared one (\`shared: true\`) in this thread: the shared pair costs ${fmtTime(median(ts))} against ${fmtTime(median(tp))}, ${fmtRatio(uncontended)}. The difference is the lock: a compare-and-swap to take it and a store to release it per call.`,
    '',
    `Contended: Workers (worker_threads, ${cores} logical cores here) each churn \`await alloc\` + \`await free\` on one shared heap for ${WINDOW_MS} ms after a common start; the baseline is one thread doing the same on an unshared heap. Medians of ${ROUNDS} rounds. "Per lock acquisition" is the wall time per acquisition across all Workers (two per pair).`,
    '',
    mdTable(['who', 'pairs/s (all together)', 'vs one thread', 'per lock acquisition'], rows),
    '',
    `Ceiling: the same Workers churning heaps of their own (each \`shared: true\`, so the same lock code, never contended) reach ${fmtRatio(own2)} (2 Workers) and ${fmtRatio(own4)} (4 Workers) of one thread${oversubscribed}. Against its ceiling, one shared heap reaches ${fmtRatio(r2 / own2)} with 2 Workers and ${fmtRatio(r4 / own4)} with 4.`,
    '',
    `Where contended time goes: each operation touches the heap's header, records and index nodes, and when the lock changes thread those cache lines move between cores, so a contended operation costs two to four times an uncontended one (see the per-acquisition column); with more Workers than cores, a thread can also be descheduled while it holds the lock, and the others wait for it. Counted once with temporary counters in the lock (not measured in each run; 400 ms windows, 2 cores): with 2 Workers 98% of acquisitions found the lock free at the first compare-and-swap and 1.6% after a spin, with 4 Workers 99% and 0.6%, and fewer than 30 per Worker slept; a release woke a sleeper about 20 times per Worker. So the time goes to the operations' cache misses and to time-slicing, not to waiting for the lock; a release that wakes at most one sleeper at a time was tried and measured within noise. The lock lets a running thread take it ahead of sleeping ones (waiters spin for tens of microseconds, looking at the lock word about every microsecond, then sleep), which lets a thread run several operations in a row while its cache is warm: a strict FIFO ticket lock, tried first, handed the lock to sleeping threads and collapsed with 4 Workers on 2 cores (0.01x, 44 µs per hand-over). Unfairness is bounded: a waiter that has waited 2 ms is handed the lock by the next release, and the tests check that each of 4 Workers gets a share.`,
  ].join('\n');
  const targets: TargetResult[] = [
    {
      name: 'shared, uncontended',
      target: 'shared allocSync + freeSync <= 1.5x the unshared pair at 10,000 live',
      measured: `${fmtRatio(uncontended)} (${fmtTime(median(ts))} vs ${fmtTime(median(tp))})`,
      met: uncontended <= 1.5,
      margin: marginAtMost(uncontended, 1.5),
    },
    ...[
      [2, r2],
      [4, r4],
    ].map(([n, ratio]) => ({
      name: `shared, ${n} Workers`,
      target: `aggregate async churn with ${n} contending Workers >= 0.5x one thread`,
      measured: `${fmtRatio(ratio)} of one thread`,
      met: ratio >= 0.5,
      margin:
        ratio >= 0.5
          ? `met with ${fmtRatio(ratio / 0.5)} the target`
          : `missed: ${fmtRatio(ratio)} against 0.5x (${cores} cores for ${n} Workers; ${n} Workers on heaps of their own reach ${fmtRatio(n === 2 ? own2 : own4)})`,
    })),
  ];
  return { title: '9. Shared heap across Workers', markdown, targets };
}
