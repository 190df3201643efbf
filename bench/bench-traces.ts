/**
 * Benchmark 5: replay real programs' allocation traces. For each trace and allocator, the
 * smallest heap (multiple of 8) that runs the whole trace, found by bisection, divided by the
 * trace's peak live bytes; and replay throughput at 2x the peak.
 */
import type { Section, TargetResult } from './report.js';
import {
  TRACE_ALIGN,
  loadTraces,
  replayMalloc,
  replayNaive,
  replayOurs,
  replayOursNoZero,
  traceDir,
  type Trace,
} from './traces.js';
import {
  fmtBytes,
  fmtInt,
  fmtRate,
  fmtRatio,
  fmtTime,
  mdTable,
  median,
  now,
  progress,
} from './util.js';

type Replay = (t: Trace, buf: ArrayBuffer, capacity: number, handles: Int32Array) => boolean;
type Kind = 'ours' | 'naive' | 'malloc';
const REPLAY: Record<Kind, Replay> = { ours: replayOurs, naive: replayNaive, malloc: replayMalloc };
const KINDS: Kind[] = ['ours', 'naive', 'malloc'];
/** Give up looking for a working heap size above this multiple of the peak. */
const MAX_FACTOR = 64;
const SAMPLES = 5;
const MIN_SAMPLE_MS = 20;

class Buffers {
  private buf = new ArrayBuffer(8);
  get(capacity: number): ArrayBuffer {
    if (this.buf.byteLength < capacity) this.buf = new ArrayBuffer(capacity);
    return this.buf;
  }
}

/** Smallest multiple of 8 that runs the trace, by bisection between the peak and a doubling upper bound. */
function smallestHeap(
  t: Trace,
  replay: Replay,
  buffers: Buffers,
  handles: Int32Array,
): { size?: number; tries: number } {
  let tries = 0;
  const ok = (capacity: number): boolean => {
    tries++;
    return replay(t, buffers.get(capacity), capacity, handles);
  };
  const peak = t.peakBytes;
  if (ok(peak)) return { size: peak, tries };
  let lo = peak; // fails
  let hi = 2 * peak; // to be checked
  while (!ok(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_FACTOR * peak) return { tries };
  }
  while (hi - lo > TRACE_ALIGN) {
    const mid = lo + Math.floor((hi - lo) / 2 / TRACE_ALIGN) * TRACE_ALIGN;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return { size: hi, tries };
}

/** Median ops per second over SAMPLES samples of whole replays at `capacity`. */
function throughput(
  t: Trace,
  replay: Replay,
  capacity: number,
  buffers: Buffers,
  handles: Int32Array,
): number {
  return t.ops.length * replaysPerSecond(t, replay, buffers.get(capacity), capacity, handles);
}

/**
 * Median whole replays per second over SAMPLES samples; NaN when a replay fails. Replays run
 * in batches between two reads of the clock (a read costs tens of nanoseconds, as much as
 * making a small heap for some allocators), the batch doubling while a batch takes under a
 * millisecond.
 */
function replaysPerSecond(
  t: Trace,
  replay: Replay,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
): number {
  const rates: number[] = [];
  let batch = 1;
  for (let s = 0; s < SAMPLES; s++) {
    let reps = 0;
    const t0 = now();
    let ms: number;
    do {
      const b0 = now();
      for (let i = 0; i < batch; i++) if (!replay(t, buf, capacity, handles)) return NaN;
      reps += batch;
      if (now() - b0 < 1) batch *= 2;
      ms = now() - t0;
    } while (ms < MIN_SAMPLE_MS);
    rates.push((reps * 1000) / ms);
  }
  return median(rates);
}

export function benchTraces(): Section {
  const dir = traceDir();
  const traces = loadTraces(dir);
  if (!traces || traces.length === 0) {
    const message = `Skipped: no traces found in ${dir} (expected ../shared/traces/wee_alloc/*.trace next to the project).`;
    progress(message);
    return { title: '5. Real programs (allocation traces)', markdown: message, targets: [] };
  }
  const buffers = new Buffers();
  const rows: string[][] = [];
  const tputRows: string[][] = [];
  const targets: TargetResult[] = [];
  const notAtPeak: string[] = [];
  const mins = new Map<Trace, Record<Kind, { size?: number; tries: number }>>();
  const rates = new Map<Trace, Record<Kind, number>>();
  for (const t of traces) {
    progress(`traces: ${t.name} (${fmtInt(t.ops.length)} ops): smallest heaps`);
    const handles = new Int32Array(t.allocs);
    const min = {} as Record<Kind, { size?: number; tries: number }>;
    for (const k of KINDS) min[k] = smallestHeap(t, REPLAY[k], buffers, handles);
    mins.set(t, min);
    const cell = (k: Kind): string => {
      const m = min[k];
      return m.size === undefined
        ? `fails up to ${MAX_FACTOR}x`
        : `${fmtInt(m.size)} (${fmtRatio(m.size / t.peakBytes)})`;
    };
    rows.push([
      t.name,
      fmtInt(t.ops.length),
      `${fmtInt(t.allocs)} / ${fmtInt(t.frees)}`,
      fmtInt(t.peakLive),
      fmtInt(t.peakBytes),
      String(t.zeroSize),
      cell('ours'),
      cell('naive'),
      cell('malloc'),
    ]);
    if (min.ours.size !== t.peakBytes) notAtPeak.push(t.name);
  }

  // JIT warm-up of every replay loop on every trace before any throughput is timed.
  progress('traces: JIT warm-up');
  for (let round = 0; round < 3; round++) {
    for (const t of traces) {
      const handles = new Int32Array(t.allocs);
      const capacity = 4 * t.peakBytes;
      for (const replay of [replayOurs, replayOursNoZero, replayNaive, replayMalloc]) {
        const t0 = now();
        do replay(t, buffers.get(capacity), capacity, handles);
        while (now() - t0 < 10);
      }
    }
  }

  for (const t of traces) {
    progress(`traces: ${t.name}: throughput`);
    const handles = new Int32Array(t.allocs);
    const min = mins.get(t)!;
    const at2x = 2 * t.peakBytes;
    const rate = {} as Record<Kind, number>;
    const where = {} as Record<Kind, string>;
    for (const k of KINDS) {
      let capacity = at2x;
      where[k] = '2x peak';
      if (!REPLAY[k](t, buffers.get(capacity), capacity, handles)) {
        capacity = min[k].size ?? NaN;
        where[k] = 'its smallest heap';
      }
      rate[k] = Number.isNaN(capacity) ? NaN : throughput(t, REPLAY[k], capacity, buffers, handles);
    }
    rates.set(t, rate);
    const oursNoZero = throughput(t, replayOursNoZero, at2x, buffers, handles);
    const oursAtPeak = throughput(t, replayOurs, t.peakBytes, buffers, handles);
    const r = (k: Kind): string =>
      `${fmtRate(rate[k])}${where[k] === '2x peak' ? '' : ` (at ${where[k]})`}`;
    tputRows.push([
      t.name,
      r('ours'),
      r('naive'),
      r('malloc'),
      fmtRatio(rate.ours / rate.naive),
      fmtRatio(rate.ours / rate.malloc),
      fmtRate(oursNoZero),
      fmtRate(oursAtPeak),
    ]);
  }
  targets.push({
    name: 'traces',
    target: 'every trace runs in a heap of exactly its peak aligned live bytes',
    measured:
      notAtPeak.length === 0
        ? `all ${traces.length} traces run at exactly 1.00x their peak (ours)`
        : `${traces.length - notAtPeak.length} of ${traces.length} run at their peak; not: ${notAtPeak.join(', ')}`,
    met: notAtPeak.length === 0,
    margin: notAtPeak.length === 0 ? 'met exactly' : `missed on ${notAtPeak.length} trace(s)`,
  });

  const minTable = mdTable(
    [
      'trace',
      'ops',
      'allocs / frees',
      'peak live blocks',
      'peak live bytes (each rounded up to 8)',
      'zero-size allocs',
      'ours: smallest heap (/ peak)',
      'naive',
      '@thi.ng/malloc',
    ],
    rows,
  );
  const tputTable = mdTable(
    [
      'trace',
      'ours ops/s',
      'naive ops/s',
      '@thi.ng/malloc ops/s',
      'ours / naive',
      'ours / malloc',
      'ours, zeroFill off',
      'ours at exactly 1x peak',
    ],
    tputRows,
  );
  // What making a heap costs alone: an empty trace replayed, over the same reused buffer.
  progress('traces: construction');
  const empty: Trace = {
    name: 'empty',
    ops: new Int32Array(0),
    allocs: 0,
    frees: 0,
    peakBytes: 0,
    peakLive: 0,
    zeroSize: 0,
  };
  const makeCapacity = 64 * 1024;
  const make = {} as Record<Kind, number>;
  for (const k of KINDS) {
    const perSecond = replaysPerSecond(
      empty,
      REPLAY[k],
      buffers.get(makeCapacity),
      makeCapacity,
      new Int32Array(0),
    );
    make[k] = 1000 / perSecond;
  }
  const fewest = traces.reduce((a, b) => (a.ops.length <= b.ops.length ? a : b));
  const fewestMs = (k: Kind): number => (fewest.ops.length * 1000) / rates.get(fewest)![k];
  const markdown = [
    `The traces of ${fmtInt(traces.length)} real programs from rustwasm/wee_alloc (\`test/traces\`, MPL-2.0), read at run time from \`${dir}\` (not copied into the project). Each allocator replays every trace with alignment 8 (ours with default options: zeroFill on, autoCompact on). Zero-byte allocations (only in the grep traces) are replayed as 1-byte allocations by every allocator, and count as 8 bytes in the peak.`,
    '',
    `Smallest heap: bisection over multiples of 8 between the peak (a heap can never be smaller) and the first power-of-two multiple of the peak that works. Bisection assumes a larger heap never fails where a smaller one succeeds; that holds for ours and the naive heap (they compact whenever the total free space suffices) but not strictly for @thi.ng/malloc (first fit without compaction), so its figure is the boundary the bisection found. @thi.ng/malloc also stores its state (28 bytes) and an 8-byte header per block inside the heap.`,
    '',
    minTable,
    '',
    `Throughput: whole replays (heap construction included) repeated, in batches between reads of the clock, for at least ${MIN_SAMPLE_MS} ms per sample, median of ${SAMPLES} samples, in a heap of 2x the peak (or an allocator's own smallest heap when 2x is not enough). Every replay loop is warmed up on every trace first. "ours, zeroFill off" shows what zeroing costs (the naive heap zero-fills too; @thi.ng/malloc's malloc does not): traces with large blocks (source-map allocates up to 1.4 MiB) are dominated by it. The last column is ours (default options) in a heap of exactly the peak, where allocations that find no hole trigger auto-compaction.`,
    '',
    tputTable,
    '',
    `Making a heap over that buffer (a ${fmtBytes(makeCapacity)} heap, nothing replayed) costs ours ${fmtTime(make.ours)}, the naive heap ${fmtTime(make.naive)} and @thi.ng/malloc ${fmtTime(make.malloc)}: ours allocates its state buffer (header, records, index nodes) and its index objects, @thi.ng/malloc writes a few words into the given buffer. On the shortest traces that is a large part of a whole replay (${fewest.name}: ${fmtInt(fewest.ops.length)} operations; a replay costs ours ${fmtTime(fewestMs('ours'))}, ${((100 * make.ours) / fewestMs('ours')).toFixed(0)}% of it making the heap, and @thi.ng/malloc ${fmtTime(fewestMs('malloc'))}, with no zeroing); the longer traces show the operations themselves.`,
  ].join('\n');
  return { title: '5. Real programs (allocation traces)', markdown, targets };
}
