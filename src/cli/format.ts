/**
 * The replay report as text for people and as one JSON object for programs. Operations are
 * numbered from 1 in both, as are lines.
 */
import { MAP_FREE, MAP_PARTLY, MAP_USED, sparkline } from './charts.js';
import type { OutOfMemory, Report } from './report.js';

const LABEL_WIDTH = 16;

/** The report as lines of text, each `label  value`, ending in a newline. */
export function formatText(r: Report): string {
  const ops = r.operations;
  const row = (label: string, value: string): string => `  ${label.padEnd(LABEL_WIDTH)}${value}\n`;
  const ratio = r.ratioToPeak === null ? '' : ` = ${r.ratioToPeak.toFixed(3)}x peak live`;
  const size =
    r.heapSizeFrom === 'given'
      ? row('heap size', `${r.heapSize} bytes (--size)${ratio}`)
      : row(
          'smallest heap',
          `${r.heapSize} bytes${ratio}, by bisection (${plural(r.tried.length, 'replay')})`,
        );
  const peakAt =
    r.peak.operation < 0 ? '' : ` (most occupied after operation ${r.peak.operation + 1})`;
  const buckets = r.fragmentation.timeline.length;
  const timeline =
    buckets === 0
      ? 'none (no operations)'
      : `${sparkline(r.fragmentation.timeline)}  mean ${r.fragmentation.mean.toFixed(3)}, max ${r.fragmentation.max.toFixed(3)}; ${plural(buckets, 'bucket')} of ~${plural(Math.round(ops / buckets), 'op')}`;
  const mapCells = [...r.heapMap].length;
  return (
    `${r.file} (${r.format})\n` +
    row(
      'operations',
      `${ops}: ${plural(r.allocs, 'alloc')}, ${plural(r.frees, 'free')}, ${plural(r.reallocs, 'realloc')}`,
    ) +
    row('heap', `${r.strategy}, align ${r.align}`) +
    row(
      'peak live',
      `${r.peak.requested} bytes asked for, ${r.peak.occupied} bytes occupied${peakAt}`,
    ) +
    size +
    row('at that size', `${plural(r.compactions, 'compaction')}, ${r.bytesMoved} bytes moved`) +
    row(
      'throughput',
      `${Math.round(r.opsPerSecond)} ops/s (${plural(ops, 'operation')} in ${(r.seconds * 1000).toFixed(3)} ms, best of ${r.timedReplays})`,
    ) +
    row('fragmentation', timeline) +
    row(
      'heap at peak',
      `${r.heapMap}  ${plural(mapCells, 'cell')} of ~${Math.round(r.heapSize / Math.max(1, mapCells))} bytes: ${MAP_USED} used, ${MAP_PARTLY} partly, ${MAP_FREE} free`,
    ) +
    row('live at end', `${plural(r.liveAtEnd.blocks, 'block')}, ${r.liveAtEnd.bytes} bytes`)
  );
}

/** The report as one line of JSON. */
export function formatJson(r: Report): string {
  return `${JSON.stringify({
    file: r.file,
    format: r.format,
    operations: r.operations,
    allocs: r.allocs,
    frees: r.frees,
    reallocs: r.reallocs,
    strategy: r.strategy,
    align: r.align,
    peakLiveBytes: r.peak.requested,
    peakOccupiedBytes: r.peak.occupied,
    peakOperation: r.peak.operation < 0 ? null : r.peak.operation + 1,
    heapSize: r.heapSize,
    heapSizeFrom: r.heapSizeFrom,
    heapSizesTried: r.tried,
    ratioToPeak: r.ratioToPeak,
    compactions: r.compactions,
    bytesMoved: r.bytesMoved,
    seconds: r.seconds,
    timedReplays: r.timedReplays,
    opsPerSecond: r.opsPerSecond,
    fragmentation: {
      mean: r.fragmentation.mean,
      max: r.fragmentation.max,
      timeline: r.fragmentation.timeline,
      sparkline: sparkline(r.fragmentation.timeline),
    },
    heapMap: r.heapMap,
    liveAtEnd: r.liveAtEnd,
  })}\n`;
}

/** One sentence: where and why the heap ran out of memory. */
export function formatOutOfMemory(o: OutOfMemory): string {
  const given = o.heapSizeFrom === 'given' ? ' (--size)' : '';
  return (
    `${o.file}:${o.line}: out of memory at operation ${o.operation + 1} (${o.op}) in a ${o.heapSize}-byte heap${given}: ` +
    `${o.requested} bytes asked for, ${o.free} bytes free (largest free block ${o.largestFree}); ` +
    `the trace needs ${o.peakOccupied} bytes at its peak`
  );
}

/** The out-of-memory failure as one line of JSON. */
export function formatOutOfMemoryJson(o: OutOfMemory): string {
  return `${JSON.stringify({
    error: 'out-of-memory',
    file: o.file,
    heapSize: o.heapSize,
    heapSizeFrom: o.heapSizeFrom,
    operation: o.operation + 1,
    line: o.line,
    op: o.op,
    requested: o.requested,
    free: o.free,
    largestFree: o.largestFree,
    peakOccupiedBytes: o.peakOccupied,
  })}\n`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
