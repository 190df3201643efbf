// `handle-heap replay`, run as a user runs it: the CLI built by the project's tsup config (its
// program entry only, into a temporary folder), spawned with node, checked by exit status,
// stdout and stderr. Node-only (child processes, file system).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Options } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tsupConfig from '../tsup.config.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const traceDir = resolve(repoRoot, '..', 'shared', 'traces', 'wee_alloc');
const traces = existsSync(traceDir)
  ? readdirSync(traceDir)
      .filter((name) => name.endsWith('.trace'))
      .sort()
  : [];

let buildDir = '';
let cli = '';
let work = '';

beforeAll(async () => {
  const configs = Array.isArray(tsupConfig) ? tsupConfig : [];
  const programs = configs.find((c: Options) => c.name === 'programs');
  if (programs === undefined) throw new Error('tsup.config.ts has no "programs" config');
  // Inside the repo, so the built CLI resolves its one dependency (async-mutex) from node_modules.
  const cache = join(repoRoot, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  buildDir = await mkdtemp(join(cache, 'handle-heap-cli-test-'));
  await build({ ...programs, config: false, outDir: buildDir, silent: true });
  cli = join(buildDir, 'cli.js');
  work = await mkdtemp(join(buildDir, 'traces-'));
}, 60_000);

afterAll(async () => {
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node cli.js ...args` (or the file itself, through its shebang) in the work folder. */
function run(args: string[], direct = false): Promise<Run> {
  const [file, argv] = direct ? [cli, args] : [process.execPath, [cli, ...args]];
  return new Promise((done) => {
    execFile(file, argv, { cwd: work, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

async function writeTrace(name: string, text: string): Promise<string> {
  await writeFile(join(work, name), text);
  return name;
}

/** The value after `label` on its line of the text report. */
function field(text: string, label: string): string {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${label} `));
  if (line === undefined) throw new Error(`no "${label}" line in:\n${text}`);
  return line.trimStart().slice(label.length).trim();
}

/** The integers of a text field, in order. */
function numbers(text: string, label: string): number[] {
  return [...field(text, label).matchAll(/\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
}

interface JsonReport {
  file: string;
  format: string;
  operations: number;
  allocs: number;
  frees: number;
  reallocs: number;
  strategy: string;
  align: number;
  peakLiveBytes: number;
  peakOccupiedBytes: number;
  peakOperation: number | null;
  heapSize: number;
  heapSizeFrom: string;
  heapSizesTried: number[];
  ratioToPeak: number | null;
  compactions: number;
  bytesMoved: number;
  seconds: number;
  timedReplays: number;
  opsPerSecond: number;
  fragmentation: { mean: number; max: number; timeline: number[]; sparkline: string };
  heapMap: string;
  liveAtEnd: { blocks: number; bytes: number };
}

/** Checks that the text report says what the JSON one does (timings aside: separate runs). */
function expectTextAgrees(text: string, json: JsonReport): void {
  expect(text.split('\n')[0]).toBe(`${json.file} (${json.format})`);
  expect(numbers(text, 'operations')).toEqual([
    json.operations,
    json.allocs,
    json.frees,
    json.reallocs,
  ]);
  expect(field(text, 'heap')).toBe(`${json.strategy}, align ${json.align}`);
  expect(numbers(text, 'peak live')).toEqual([
    json.peakLiveBytes,
    json.peakOccupiedBytes,
    ...(json.peakOperation === null ? [] : [json.peakOperation]),
  ]);
  const sizeLabel = json.heapSizeFrom === 'given' ? 'heap size' : 'smallest heap';
  const [size, ratio, replays] = numbers(text, sizeLabel);
  expect(size).toBe(json.heapSize);
  expect(ratio).toBeCloseTo(json.ratioToPeak ?? NaN, 3);
  if (json.heapSizeFrom === 'bisection') expect(replays).toBe(json.heapSizesTried.length);
  expect(numbers(text, 'at that size')).toEqual([json.compactions, json.bytesMoved]);
  const [opsPerSecond, operations] = numbers(text, 'throughput');
  expect(opsPerSecond).toBeGreaterThan(0);
  expect(operations).toBe(json.operations);
  const fragmentation = field(text, 'fragmentation');
  expect(fragmentation.startsWith(`${json.fragmentation.sparkline}  `)).toBe(true);
  expect(fragmentation).toContain(
    `mean ${json.fragmentation.mean.toFixed(3)}, max ${json.fragmentation.max.toFixed(3)}`,
  );
  expect(field(text, 'heap at peak').startsWith(`${json.heapMap}  `)).toBe(true);
  expect(numbers(text, 'live at end')).toEqual([json.liveAtEnd.blocks, json.liveAtEnd.bytes]);
}

describe('the built CLI', () => {
  it('is an executable ESM file with a node shebang', async () => {
    const text = await readFile(cli, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect((await stat(cli)).mode & 0o111).not.toBe(0);
    const r = await run(['--help'], true);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: handle-heap replay <trace>/);
    expect(r.stderr).toBe('');
  });

  it('package.json names it as the handle-heap bin', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>;
      files?: string[];
    };
    expect(pkg.bin).toEqual({ 'handle-heap': './dist/cli.js' });
    expect(pkg.files).toContain('dist');
  });
});

describe.skipIf(traces.length === 0)('wee_alloc traces (../shared/traces/wee_alloc)', () => {
  it.each(traces)(
    '%s: runs, finds the smallest heap, and --json agrees with the text',
    async (name) => {
      const file = join(traceDir, name);
      const [text, json] = await Promise.all([
        run(['replay', file]),
        run(['replay', file, '--json']),
      ]);
      expect(text.code).toBe(0);
      expect(text.stderr).toBe('');
      expect(json.code).toBe(0);
      expect(json.stderr).toBe('');
      expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
      const report = JSON.parse(json.stdout) as JsonReport;
      expect(report.file).toBe(file);
      expect(report.format).toBe('wee_alloc');
      expect(report.reallocs).toBe(0);
      expect(report.heapSizeFrom).toBe('bisection');
      expect(report.heapSize).toBeGreaterThanOrEqual(report.peakOccupiedBytes);
      expect(report.peakOccupiedBytes).toBeGreaterThanOrEqual(report.peakLiveBytes);
      expect(report.heapSize % report.align).toBe(0);
      expect(report.heapSizesTried.at(-1)).toBe(report.heapSize);
      expect(report.fragmentation.timeline).toHaveLength(Math.min(60, report.operations));
      expect([...report.heapMap]).toHaveLength(60);
      expectTextAgrees(text.stdout, report);
      // Smallest: one alignment unit less runs out of memory.
      const less = await run(['replay', file, '--size', String(report.heapSize - report.align)]);
      expect(less.code).toBe(1);
      expect(less.stdout).toBe('');
      expect(less.stderr).toMatch(
        new RegExp(`^handle-heap: .*${basename(file)}:\\d+: out of memory`),
      );
    },
  );
});

// A malloc-lab trace worked out by hand (sizes are not multiples of 8 on purpose):
//   op  line  request   live bytes asked for / occupied at align 8
//   1   5     a 0 500   500 / 504
//   2   6     a 1 100   600 / 608
//   3   7     r 0 650   750 / 760   block 0 cannot grow in place: block 1 slides to 0 (104 bytes)
//   4   8     a 2 120   870 / 880
//   5   9     f 1       770 / 776
//   6   10    r 0 770   890 / 896   the peak; block 2 slides to 0 (120 bytes)
//   7   11    f 0       120 / 120
//   8   12    f 2       0 / 0
const HAND_REP = '20000\n3\n8\n1\na 0 500\na 1 100\nr 0 650\na 2 120\nf 1\nr 0 770\nf 0\nf 2\n';

describe('a hand-written malloc-lab trace', () => {
  it('reports the peak, the smallest heap and the compactions worked out by hand', async () => {
    const file = await writeTrace('hand.rep', HAND_REP);
    const [text, json] = await Promise.all([
      run(['replay', file]),
      run(['replay', file, '--json']),
    ]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report).toMatchObject({
      file: 'hand.rep',
      format: 'malloc-lab',
      operations: 8,
      allocs: 3,
      frees: 3,
      reallocs: 2,
      peakLiveBytes: 890,
      peakOccupiedBytes: 896,
      peakOperation: 6,
      heapSize: 896,
      heapSizeFrom: 'bisection',
      heapSizesTried: [896],
      compactions: 2,
      bytesMoved: 224, // compaction copies occupied bytes: 104 + 120
      liveAtEnd: { blocks: 0, bytes: 0 },
    });
    expect(report.ratioToPeak).toBeCloseTo(896 / 890, 10);
    // At the peak the heap is full: block 2 then block 0, no gap.
    expect(report.heapMap).toBe('█'.repeat(60));
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('smallest heap   896 bytes = 1.007x peak live');
    expectTextAgrees(text.stdout, report);
  });

  it('with --size one block short, names operation 6 and line 10 and exits 1', async () => {
    const file = await writeTrace('hand-short.rep', HAND_REP);
    const r = await run(['replay', file, '--size', '888']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'handle-heap: hand-short.rep:10: out of memory at operation 6 (r 0 770) in a 888-byte heap (--size): ' +
        '770 bytes asked for, 112 bytes free (largest free block 104); the trace needs 896 bytes at its peak\n',
    );
    const j = await run(['replay', file, '--size', '888', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({
      error: 'out-of-memory',
      file: 'hand-short.rep',
      heapSize: 888,
      heapSizeFrom: 'given',
      operation: 6,
      line: 10,
      op: 'r 0 770',
      requested: 770,
      free: 112,
      largestFree: 104, // free: [0, 104) and [880, 888)
      peakOccupiedBytes: 896,
    });
  });

  it('with a --size that fits, places blocks by --strategy (heap maps worked out by hand)', async () => {
    const file = await writeTrace('hand-roomy.rep', HAND_REP);
    const replayAt1440 = async (strategy: string): Promise<JsonReport> => {
      const r = await run(['replay', file, '--size', '1440', '--strategy', strategy, '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as JsonReport;
    };
    const [first, best] = await Promise.all([replayAt1440('first-fit'), replayAt1440('best-fit')]);
    for (const report of [first, best]) {
      expect(report).toMatchObject({ heapSize: 1440, heapSizeFrom: 'given', heapSizesTried: [] });
      expect(report).toMatchObject({ compactions: 0, bytesMoved: 0 });
    }
    // 24-byte cells. After op 3, block 0 is at [608, 1264), free: [0, 504) and [1264, 1440).
    // First fit puts block 2 at 0 and block 0 grows in place:
    // used [0, 120) and [608, 1384).
    expect(first.strategy).toBe('first-fit');
    expect(first.heapMap).toBe('█'.repeat(5) + '░'.repeat(20) + '▒' + '█'.repeat(31) + '▒░░');
    // Best fit puts block 2 in the smaller gap, at 1264; block 0 then cannot grow in place and
    // moves to the start of the gap around it: used [0, 776) and [1264, 1384).
    expect(best.strategy).toBe('best-fit');
    expect(best.heapMap).toBe('█'.repeat(32) + '▒' + '░'.repeat(19) + '▒' + '█'.repeat(4) + '▒░░');
  });
});

describe('bad input: one message naming the file (and line), exit 2, nothing on stdout', () => {
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    [
      'a missing file',
      () => Promise.resolve(['replay', 'no-such.trace']),
      /^handle-heap: no-such\.trace: no such file\n$/,
    ],
    [
      'an unknown format',
      async () => ['replay', await writeTrace('notes.txt', '\nhello world\n')],
      /^handle-heap: notes\.txt:2: unknown trace format: .*found "hello world"\n$/,
    ],
    [
      'a bad wee_alloc line',
      async () => [
        'replay',
        await writeTrace('bad.trace', 'Alloc(8),\nAlloc(16),\nAlloc(-3),\nFree(0),\n'),
      ],
      /^handle-heap: bad\.trace:3: bad line: expected "Alloc\(n\)," or "Free\(i\)," but found "Alloc\(-3\),"\n$/,
    ],
    [
      'a bad malloc-lab line',
      async () => ['replay', await writeTrace('bad.rep', '0\n2\n2\n1\na 0 8\nx 1 8\n')],
      /^handle-heap: bad\.rep:6: bad line: expected "a id bytes", "r id bytes" or "f id" but found "x 1 8"\n$/,
    ],
    [
      'a free of an unknown id',
      async () => ['replay', await writeTrace('unknown.trace', 'Alloc(8),\nFree(0),\nFree(1),\n')],
      /^handle-heap: unknown\.trace:3: frees unknown id 1: it was never allocated\n$/,
    ],
    [
      'an id too large for the tables (a malloc-lab header may claim billions)',
      async () => ['replay', await writeTrace('big.rep', '0\n5000000000\n1\n1\na 4999999999 8\n')],
      /^handle-heap: big\.rep:5: allocates id 4999999999: ids must be below 67108864\n$/,
    ],
    [
      'a double free',
      async () => ['replay', await writeTrace('twice.rep', '0\n1\n3\n1\na 0 8\nf 0\nf 0\n')],
      /^handle-heap: twice\.rep:7: frees id 0, which was already freed at line 6\n$/,
    ],
    [
      'an unknown option',
      () => Promise.resolve(['replay', 'x.trace', '--sise', '8']),
      /^handle-heap: Unknown option '--sise'.*\nRun "handle-heap --help" for usage\.\n$/,
    ],
    [
      'a bad --strategy',
      () => Promise.resolve(['replay', 'x.trace', '--strategy', 'worst-fit']),
      /^handle-heap: --strategy must be first-fit or best-fit, not "worst-fit"\n/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await run(await args());
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
