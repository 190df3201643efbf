// The parts of `handle-heap replay` on small inputs with exact answers: the trace parsers, the
// peak, the bisection, the charts, the progress bar and the command line. Node-only: the CLI
// is a Node program (args.ts uses node:util).
import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine } from '../src/cli/args.js';
import { smallestPassing } from '../src/cli/bisect.js';
import { heapMap, sparkline } from '../src/cli/charts.js';
import { detectFormat, parseTrace } from '../src/cli/parse.js';
import { firstOverflow, occupiedBytes, peakOf } from '../src/cli/peak.js';
import { ProgressBar, renderBar } from '../src/cli/progress.js';
import { buildReport } from '../src/cli/report.js';
import { replay } from '../src/cli/replay.js';
import { ALLOC, FREE, REALLOC, TraceError, describeOp, type Trace } from '../src/cli/trace.js';

/** The trace's operations as plain arrays, for exact comparison. */
function opsOf(t: Trace): { kinds: number[]; ids: number[]; sizes: number[]; lines: number[] } {
  return {
    kinds: Array.from(t.kinds),
    ids: Array.from(t.ids),
    sizes: Array.from(t.sizes),
    lines: Array.from(t.lines),
  };
}

/** The TraceError `parseTrace` throws for `text` (fails the test if none). */
function traceError(text: string, file: string): TraceError {
  try {
    parseTrace(text, file);
  } catch (error) {
    if (error instanceof TraceError) return error;
    throw error;
  }
  throw new Error('parseTrace did not throw');
}

const REP_HEADER = '20000\n3\n8\n1\n';
const REP = `${REP_HEADER}a 0 500\na 1 100\nr 0 650\na 2 120\nf 1\nr 0 770\nf 0\nf 2\n`;

describe('parseTrace: wee_alloc', () => {
  it('numbers allocations in order, skips blank lines, takes CRLF and a missing comma', () => {
    const t = parseTrace('Alloc(5),\nAlloc(0),\n\nFree(0),\r\nAlloc(7)\nFree(2),\n', 'a.trace');
    expect(t.format).toBe('wee_alloc');
    expect(t.length).toBe(5);
    expect(t.idCount).toBe(3);
    expect(opsOf(t)).toEqual({
      kinds: [ALLOC, ALLOC, FREE, ALLOC, FREE],
      ids: [0, 1, 0, 2, 2],
      sizes: [5, 0, 0, 7, 0],
      lines: [1, 2, 4, 5, 6],
    });
    expect(describeOp(t, 0)).toBe('Alloc(5)');
    expect(describeOp(t, 2)).toBe('Free(0)');
  });

  it('grows past its first 1024 operations', () => {
    const text = 'Alloc(8),\n'.repeat(3000) + 'Free(2999),\n';
    const t = parseTrace(text, 'big.trace');
    expect(t.length).toBe(3001);
    expect(t.idCount).toBe(3000);
    expect(t.ids[2999]).toBe(2999);
    expect(t.kinds[3000]).toBe(FREE);
    expect(t.lines[3000]).toBe(3001);
  });

  it.each([
    [
      'Alloc(1),\nAlloc(x),\n',
      2,
      'bad line: expected "Alloc(n)," or "Free(i)," but found "Alloc(x),"',
    ],
    ['Alloc(1),\nFree(1),\n', 2, 'frees unknown id 1: it was never allocated'],
    ['Alloc(1),\nFree(0),\n\nFree(0),\n', 4, 'frees id 0, which was already freed at line 2'],
    ['Alloc(4294967296),\n', 1, 'asks for 4294967296 bytes; a heap holds at most 4294967295'],
  ])('rejects %j at line %i', (text, line, problem) => {
    const e = traceError(text, 'w.trace');
    expect(e.line).toBe(line);
    expect(e.message).toBe(`w.trace:${line}: ${problem}`);
  });
});

describe('parseTrace: malloc-lab', () => {
  it('reads the header, then alloc, realloc and free lines by id', () => {
    const t = parseTrace(REP, 'h.rep');
    expect(t.format).toBe('malloc-lab');
    expect(t.idCount).toBe(3);
    expect(opsOf(t)).toEqual({
      kinds: [ALLOC, ALLOC, REALLOC, ALLOC, FREE, REALLOC, FREE, FREE],
      ids: [0, 1, 0, 2, 1, 0, 0, 2],
      sizes: [500, 100, 650, 120, 0, 770, 0, 0],
      lines: [5, 6, 7, 8, 9, 10, 11, 12],
    });
    expect(describeOp(t, 2)).toBe('r 0 650');
    expect(describeOp(t, 4)).toBe('f 1');
  });

  it('lets a freed id be allocated again', () => {
    const t = parseTrace('0\n1\n3\n1\na 0 8\nf 0\na 0 16\n', 'again.rep');
    expect(opsOf(t).sizes).toEqual([8, 0, 16]);
  });

  it.each([
    [
      '20000\n3\nx\n1\n',
      3,
      'bad header line: expected a number (the number of operations) but found "x"',
    ],
    [
      '20000\n3\n',
      3,
      'the file ends inside the header: no number of operations (a malloc-lab header has four numbers)',
    ],
    [
      `${REP_HEADER}a 0 8\na 1\n`,
      6,
      'bad line: expected "a id bytes", "r id bytes" or "f id" but found "a 1"',
    ],
    [
      `${REP_HEADER}a 0 8\nf 0 8\n`,
      6,
      'bad line: expected "a id bytes", "r id bytes" or "f id" but found "f 0 8"',
    ],
    [`${REP_HEADER}a 3 8\n`, 5, 'id 3 is out of range: the header declares 3 ids (line 2)'],
    [`${REP_HEADER}a 0 8\na 0 8\n`, 6, 'allocates id 0, which is still live (allocated at line 5)'],
    [`${REP_HEADER}r 1 8\n`, 5, 'reallocates unknown id 1: it was never allocated'],
    [`${REP_HEADER}f 2\n`, 5, 'frees unknown id 2: it was never allocated'],
    [`${REP_HEADER}a 0 8\nf 0\n`, 3, 'the header declares 8 operations but the file has 2'],
  ])('rejects %j at line %i', (text, line, problem) => {
    const e = traceError(text, 'm.rep');
    expect(e.message).toBe(`m.rep:${line}: ${problem}`);
  });
});

describe('detectFormat', () => {
  it('goes by the first non-blank line before the file name', () => {
    expect(detectFormat('\n\nFree(0),\n', 'x.rep')).toBe('wee_alloc');
    expect(detectFormat('  12\n', 'x.trace')).toBe('malloc-lab');
  });

  it('falls back on the extension, so a broken known file gets a line error', () => {
    expect(detectFormat('junk\n', 'x.TRACE')).toBe('wee_alloc');
    expect(detectFormat('junk\n', 'x.rep')).toBe('malloc-lab');
    expect(detectFormat('', 'empty.trace')).toBe('wee_alloc');
    expect(traceError('junk\n', 'x.rep').message).toBe(
      'x.rep:1: bad header line: expected a number (the suggested heap size) but found "junk"',
    );
  });

  it('names the file and the line when neither tells', () => {
    expect(traceError('\n# notes\n', 'n.txt').message).toBe(
      'n.txt:2: unknown trace format: expected wee_alloc lines ("Alloc(n),", "Free(i),") or a malloc-lab .rep header (a number), found "# notes"',
    );
    expect(traceError(' \n', 'blank.log').message).toBe(
      'blank.log: unknown trace format: the file is empty',
    );
  });
});

describe('peakOf', () => {
  it('tracks live bytes through reallocs and frees, asked for and occupied', () => {
    const t = parseTrace(REP, 'h.rep');
    expect(peakOf(t, 8)).toEqual({ requested: 890, occupied: 896, operation: 5 });
    expect(peakOf(t, 1)).toEqual({ requested: 890, occupied: 890, operation: 5 });
    // At 256 (512, 256, 768, 256, 1024 bytes a block): 1280 after op 4, again after op 6.
    expect(peakOf(t, 256)).toEqual({ requested: 890, occupied: 1280, operation: 3 });
  });

  it('counts a 0-byte block as one alignment unit, and an empty trace as nothing', () => {
    const t = parseTrace('Alloc(0),\nAlloc(0),\nFree(1),\n', 'z.trace');
    expect(peakOf(t, 16)).toEqual({ requested: 0, occupied: 32, operation: 1 });
    expect(occupiedBytes(0, 8)).toBe(8);
    expect(occupiedBytes(17, 8)).toBe(24);
    expect(peakOf(parseTrace('', 'e.trace'), 8)).toEqual({
      requested: 0,
      occupied: 0,
      operation: -1,
    });
  });

  it('firstOverflow names the first operation over a capacity and the bytes free before it', () => {
    const t = parseTrace(REP, 'h.rep');
    expect(firstOverflow(t, 8, 896)).toBeNull();
    expect(firstOverflow(t, 8, 888)).toEqual({ operation: 5, free: 112 });
    expect(firstOverflow(t, 8, 700)).toEqual({ operation: 2, free: 92 });
  });
});

describe('smallestPassing', () => {
  it('doubles from the lower bound, then bisects at the step', () => {
    const s = smallestPassing(8, 2 ** 32 - 8, 8, (n) => n >= 1000);
    expect(s.size).toBe(1000);
    expect(s.tested).toEqual([8, 16, 32, 64, 128, 256, 512, 1024, 768, 896, 960, 992, 1008, 1000]);
  });

  it('tests only the lower bound when it passes', () => {
    expect(smallestPassing(64, 1024, 8, () => true)).toEqual({ size: 64, tested: [64] });
  });

  it('clips the doubling at the limit, and gives null when the limit fails', () => {
    expect(smallestPassing(24, 40, 8, (n) => n >= 40)).toEqual({
      size: 40,
      tested: [24, 40, 32],
    });
    expect(smallestPassing(24, 40, 8, () => false)).toEqual({ size: null, tested: [24, 40] });
    expect(smallestPassing(48, 40, 8, () => true)).toEqual({ size: null, tested: [] });
  });

  it('finds every threshold exactly', () => {
    for (let threshold = 1; threshold <= 600; threshold++) {
      const s = smallestPassing(4, 4096, 4, (n) => n >= threshold);
      expect(s.size).toBe(Math.max(4, Math.ceil(threshold / 4) * 4));
    }
  });
});

describe('replay and buildReport', () => {
  const t = parseTrace(REP, 'h.rep');

  it('replays into a heap, counting its compactions, or stops at the operation that fails', () => {
    const ok = replay(t, { size: 896, strategy: 'first-fit', align: 8 });
    expect(ok).toMatchObject({ ok: true, compactions: 2, bytesMoved: 224, liveBlocks: 0 });
    const short = replay(t, { size: 888, strategy: 'first-fit', align: 8 });
    expect(short.ok).toBe(false);
    if (!short.ok)
      expect([short.op, short.error.requested, short.error.free]).toEqual([5, 770, 112]);
  });

  it('finds the smallest heap by bisection, at the occupied peak', () => {
    const outcome = buildReport(t, { strategy: 'first-fit', align: 8 });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const r = outcome.report;
    expect([r.heapSize, r.tried, r.compactions, r.bytesMoved]).toEqual([896, [896], 2, 224]);
    expect(r.fragmentation.timeline).toHaveLength(8);
    expect(r.heapMap).toBe('█'.repeat(60));
    expect(r.timedReplays).toBeGreaterThanOrEqual(2);
  });

  it('rounds a given heap size down to the alignment, as the heap does', () => {
    const outcome = buildReport(t, { size: 903, strategy: 'first-fit', align: 8 });
    expect(outcome.ok && outcome.report.heapSize).toBe(896);
    expect(outcome.ok && outcome.report.heapSizeFrom).toBe('given');
  });

  it('reports where a given heap size runs out', () => {
    const outcome = buildReport(t, { size: 888, strategy: 'first-fit', align: 8 });
    expect(outcome).toEqual({
      ok: false,
      outOfMemory: {
        file: 'h.rep',
        heapSize: 888,
        heapSizeFrom: 'given',
        operation: 5,
        line: 10,
        op: 'r 0 770',
        requested: 770,
        free: 112,
        largestFree: 104,
        peakOccupied: 896,
      },
    });
  });

  it('says which operation overflows the largest heap without building one', () => {
    const huge = parseTrace('Alloc(4000000000),\nAlloc(400000000),\n', 'huge.trace');
    const outcome = buildReport(huge, { strategy: 'first-fit', align: 8 });
    expect(outcome).toMatchObject({
      ok: false,
      outOfMemory: { heapSize: 2 ** 32 - 8, operation: 1, line: 2, free: 294967288 },
    });
  });
});

describe('charts', () => {
  it('sparkline maps [0, 1] to ▁ to █, clamping', () => {
    expect(sparkline([0, 0.125, 0.5, 0.99, 1, -1, 2])).toBe('▁▂▅██▁█');
    expect(sparkline([])).toBe('');
  });

  it('heapMap marks each cell used, partly used or free', () => {
    expect(
      heapMap(
        [
          { offset: 0, bytes: 8 },
          { offset: 16, bytes: 4 },
        ],
        32,
        4,
      ),
    ).toBe('█░▒░');
    // Uneven cells: edges at 0, 2, 5, 7, 10.
    expect(heapMap([{ offset: 0, bytes: 5 }], 10, 4)).toBe('██░░');
    expect(heapMap([{ offset: 4, bytes: 3 }], 10, 4)).toBe('░▒█░');
    // Never more cells than bytes.
    expect(heapMap([{ offset: 1, bytes: 1 }], 3, 60)).toBe('░█░');
    expect(heapMap([], 0, 60)).toBe('');
  });
});

describe('progress bar', () => {
  it('renders a label, a bar and a percentage', () => {
    expect(renderBar('heap', 0.5, 10)).toBe('heap [#####.....]  50%');
    expect(renderBar('x', 2, 4)).toBe('x [####] 100%');
  });

  it('draws on a TTY only after the delay, at most once an interval, and erases itself', () => {
    const writes: string[] = [];
    let now = 0;
    const tty = { isTTY: true, columns: 80, write: (s: string) => writes.push(s) };
    const bar = new ProgressBar(tty, () => now, 1000, 100);
    bar.update('a', 0.1);
    now = 999;
    bar.update('a', 0.2);
    expect(writes).toEqual([]);
    now = 1000;
    bar.update('a', 0.3);
    now = 1050;
    bar.update('a', 0.4);
    now = 1100;
    bar.update('a', 0.5);
    bar.end();
    expect(writes).toEqual([
      `\r\x1b[2K${renderBar('a', 0.3)}`,
      `\r\x1b[2K${renderBar('a', 0.5)}`,
      '\r\x1b[2K',
    ]);
  });

  it('fits the line to the terminal, and takes 80 columns when it has no size', () => {
    const writes: string[] = [];
    const narrow = { isTTY: true, columns: 12, write: (s: string) => writes.push(s) };
    new ProgressBar(narrow, () => 0, 0, 0).update('a', 0.5);
    const sizeless = { isTTY: true, columns: 0, write: (s: string) => writes.push(s) };
    new ProgressBar(sizeless, () => 0, 0, 0).update('a', 0.5);
    expect(writes).toEqual([
      `\r\x1b[2K${renderBar('a', 0.5).slice(0, 11)}`,
      `\r\x1b[2K${renderBar('a', 0.5)}`,
    ]);
  });

  it('never writes to a stream that is not a TTY', () => {
    const writes: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (s: string) => writes.push(s) }, () => now, 0, 0);
    now = 5000;
    bar.update('a', 0.5);
    bar.end();
    expect(writes).toEqual([]);
  });
});

describe('parseCommandLine', () => {
  it('has defaults, and reads every option', () => {
    expect(parseCommandLine(['replay', 't.trace'])).toEqual({
      command: 'replay',
      file: 't.trace',
      size: undefined,
      strategy: 'first-fit',
      align: 8,
      json: false,
    });
    expect(
      parseCommandLine([
        'replay',
        '--json',
        't.rep',
        '--size=4096',
        '--strategy',
        'best-fit',
        '--align',
        '16',
      ]),
    ).toEqual({
      command: 'replay',
      file: 't.rep',
      size: 4096,
      strategy: 'best-fit',
      align: 16,
      json: true,
    });
    expect(parseCommandLine(['-h'])).toEqual({ command: 'help' });
  });

  it.each([
    [[], 'missing command: replay'],
    [['play', 'x'], 'unknown command "play"'],
    [['replay'], 'missing <trace>: the trace file to replay'],
    [['replay', 'a', 'b'], 'unexpected argument "b"'],
    [['replay', 'a', '--align', '12'], '--align must be a power of two from 1 to 2^30, not 12'],
    [['replay', 'a', '--align', '0x8'], '--align must be a whole number, not "0x8"'],
    [
      ['replay', 'a', '--size', '4'],
      '--size must be from the alignment (8) to 2^32 - 1 bytes, not 4',
    ],
    [
      ['replay', 'a', '--size', '4294967296', '--align', '1'],
      '--size must be from the alignment (1) to 2^32 - 1 bytes, not 4294967296',
    ],
    [['replay', 'a', '--size', '1e3'], '--size must be a whole number, not "1e3"'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message));
  });
});
