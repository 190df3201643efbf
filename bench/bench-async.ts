/**
 * Benchmark 4: the cost of the async API. `await free` + `await alloc` against `freeSync` +
 * `allocSync`, churn pattern at 10,000 live blocks, same sequence, default options.
 */
import { OursAsyncChurner, OursChurner, makeChurnWorkload } from './churn.js';
import { marginAtMost, type Section } from './report.js';
import { fmtRatio, fmtRate, fmtTime, fmtInt, mdTable, median, progress } from './util.js';

const LIVE = 10_000;
const WARMUP = 20_000;
const STEPS = 100_000;
const RUNS = 7;

export async function benchAsync(): Promise<Section> {
  const w = makeChurnWorkload(LIVE, WARMUP + RUNS * STEPS, 1);
  progress('async: warm-up');
  const sync = new OursChurner(w, true);
  const asyn = new OursAsyncChurner(w);
  sync.run(0, WARMUP);
  await asyn.run(0, WARMUP);
  const s: number[] = [];
  const a: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    progress(`async: run ${r + 1}/${RUNS}`);
    const from = WARMUP + r * STEPS;
    s.push(sync.run(from, from + STEPS) / STEPS);
    a.push((await asyn.run(from, from + STEPS)) / STEPS);
  }
  const ts = median(s);
  const ta = median(a);
  const ratio = ta / ts;
  const table = mdTable(
    ['API', 'timed pairs × runs', 'median cost per pair', 'pairs/s', 'vs sync'],
    [
      [
        '`freeSync` + `allocSync`',
        `${fmtInt(STEPS)} × ${RUNS}`,
        fmtTime(ts),
        fmtRate(1000 / ts),
        '1.00x',
      ],
      [
        '`await free` + `await alloc`',
        `${fmtInt(STEPS)} × ${RUNS}`,
        fmtTime(ta),
        fmtRate(1000 / ta),
        fmtRatio(ratio),
      ],
    ],
  );
  const markdown = [
    `Churn at ${fmtInt(LIVE)} live blocks (sizes 16..4096 B, 50% load, default options: zeroFill on), ${fmtInt(WARMUP)} untimed warm-up steps, then ${RUNS} interleaved runs. Nothing else holds the lock, so this is the uncontended cost of the promise round trips.`,
    '',
    table,
  ].join('\n');
  return {
    title: '4. Async cost',
    markdown,
    targets: [
      {
        name: 'async',
        target: 'async pair <= 2x sync pair at 10,000 live',
        measured: `${fmtRatio(ratio)} (${fmtTime(ta)} vs ${fmtTime(ts)})`,
        met: ratio <= 2,
        margin: marginAtMost(ratio, 2),
      },
    ],
  };
}
