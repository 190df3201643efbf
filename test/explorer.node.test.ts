// The heap explorer (examples/explorer) in headless Chromium: its dev server started here with
// Vite, the page driven with Playwright, what it shows checked against the library run in Node.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTrace } from '../src/cli/parse.js';
import { replay } from '../src/cli/replay.js';
import type { Trace } from '../src/cli/trace.js';
import { MemoryManager, type BlockInfo, type HeapStats } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const traceDir = fileURLToPath(new URL('../../shared/traces/wee_alloc/', import.meta.url));
const artifacts = `${root}test-artifacts/`;
const docsScreenshot = `${root}docs/explorer.png`;

let server: ViteDevServer;
let browser: Browser;
let url: string;
let page: Page;
let pageErrors: string[] = [];
/** Requests for anything but the dev server: the page must work offline. */
let foreign: string[] = [];

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  server = await createServer({
    configFile: `${root}examples/explorer/vite.config.ts`,
    server: { port, strictPort: true, host: '127.0.0.1', hmr: false },
    logLevel: 'error',
    clearScreen: false,
  });
  await server.listen();
  url = `http://127.0.0.1:${port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page of the explorer, at a fixed size and pixel ratio. */
async function openExplorer(): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 1000 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  pageErrors = [];
  foreign = [];
  page.on('request', (r) => {
    if (!/^(data|blob):/.test(r.url()) && !r.url().startsWith(url)) foreign.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector('#heap-map[data-blocks]');
  return page;
}

afterEach(async () => {
  await page?.context().close();
  expect(pageErrors).toEqual([]);
  expect(foreign).toEqual([]);
});

/** Waits until no operation, script or animation is running. */
async function idle(p: Page): Promise<void> {
  await p.waitForFunction(
    () =>
      document.body.dataset.busy !== 'true' &&
      document.querySelector('#script-status')?.getAttribute('data-running') === 'false' &&
      document.querySelector('#heap-map')?.getAttribute('data-animating') === 'false',
  );
  // One more frame, so the map and panels show the settled state.
  await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function runScript(p: Page, script: string): Promise<void> {
  await p.fill('#script', script);
  await p.click('#script-run');
  await p.waitForFunction(() => document.querySelector('#log li')?.textContent?.startsWith('line'));
  await idle(p);
}

type Shown = Record<keyof HeapStats | 'epoch' | 'metadataBytes', number>;

/** The stats table's raw values. */
async function shownStats(p: Page): Promise<Shown> {
  const cells = await p.$$eval('#stats td[data-stat]', (tds) =>
    tds.map((c): [string, number] => [c.dataset.stat!, Number(c.dataset.value)]),
  );
  return Object.fromEntries(cells) as Shown;
}

function statsOf(mm: MemoryManager): HeapStats {
  return { ...mm.stats() };
}

async function shownBlocks(p: Page): Promise<{ handle: number; offset: number; size: number }[]> {
  return p.$$eval('#blocks tbody tr', (rows) =>
    rows.map((r) => ({
      handle: Number(r.getAttribute('data-handle')),
      offset: Number(r.getAttribute('data-offset')),
      size: Number(r.getAttribute('data-size')),
    })),
  );
}

async function chartData(
  p: Page,
  id: string,
): Promise<{ samples: number; last: number; image: string }> {
  return p.$eval(`#${id}`, (c) => ({
    samples: Number(c.getAttribute('data-samples')),
    last: Number(c.getAttribute('data-last')),
    image: (c as HTMLCanvasElement).toDataURL(),
  }));
}

/**
 * Pixels of a chart in the colour of its first line: how many, and how high the highest is
 * (0 the top of the canvas, 1 the bottom).
 */
async function linePixels(p: Page, id: string): Promise<{ count: number; top: number }> {
  return p.$eval(`#${id}`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const rgb = canvas.dataset
      .colours!.split(' ')[0]
      .match(/[0-9a-f]{2}/gi)!
      .map((h) => parseInt(h, 16));
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    let top = canvas.height;
    for (let i = 0; i < data.length; i += 4) {
      const d =
        Math.abs(data[i] - rgb[0]) +
        Math.abs(data[i + 1] - rgb[1]) +
        Math.abs(data[i + 2] - rgb[2]);
      if (d < 90) {
        count++;
        top = Math.min(top, Math.floor(i / 4 / canvas.width));
      }
    }
    return { count, top: top / canvas.height };
  });
}

/**
 * The map's pixel at the middle of each alignment unit, classified as free colour or not,
 * the positions computed here from the geometry the canvas publishes (rows of bytesPerRow).
 */
async function mapUnits(p: Page, align: number): Promise<boolean[]> {
  return p.$eval(
    '#heap-map',
    (c, align) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.dataset;
      const [capacity, perRow, pitch, rowHeight, x0, width] = [
        d.capacity,
        d.bytesPerRow,
        d.rowPitch,
        d.rowHeight,
        d.x0,
        d.mapWidth,
      ].map(Number);
      const free = d.freeColour!.match(/[0-9a-f]{2}/gi)!.map((h) => parseInt(h, 16));
      const scale = canvas.width / canvas.clientWidth;
      const image = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const out: boolean[] = [];
      for (let at = align / 2; at < capacity; at += align) {
        const x = Math.floor((x0 + ((at % perRow) / perRow) * width) * scale);
        const y = Math.floor((Math.floor(at / perRow) * pitch + rowHeight / 2) * scale);
        const i = (y * canvas.width + x) * 4;
        const px = image.data.slice(i, i + 3);
        out.push(px[0] === free[0] && px[1] === free[1] && px[2] === free[2]);
      }
      return out;
    },
    align,
  );
}

/** Which alignment units blocks cover: true for free. */
function expectedUnits(mm: MemoryManager): boolean[] {
  const free = new Array<boolean>(mm.capacity / mm.align).fill(true);
  for (const b of mm.blocks()) {
    const units = Math.ceil(b.size / mm.align);
    free.fill(false, b.offset / mm.align, b.offset / mm.align + units);
  }
  return free;
}

/** Distinct colours along the middle of a block's first row, past its dark edge. */
async function coloursInside(p: Page, offset: number, bytes: number): Promise<number> {
  return p.$eval(
    '#heap-map',
    (c, [offset, bytes]) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.dataset;
      const [perRow, pitch, rowHeight, x0, width] = [
        d.bytesPerRow,
        d.rowPitch,
        d.rowHeight,
        d.x0,
        d.mapWidth,
      ].map(Number);
      const end = Math.min(offset + bytes, (Math.floor(offset / perRow) + 1) * perRow);
      const xOf = (at: number): number =>
        x0 + ((at - Math.floor(offset / perRow) * perRow) / perRow) * width;
      const y = Math.floor(offset / perRow) * pitch + Math.floor(rowHeight / 2);
      const ctx = canvas.getContext('2d')!;
      const seen = new Set<string>();
      for (let x = Math.ceil(xOf(offset)) + 3; x < Math.floor(xOf(end)) - 2; x++) {
        seen.add(ctx.getImageData(x, y, 1, 1).data.slice(0, 3).join(','));
      }
      return seen.size;
    },
    [offset, bytes] as const,
  );
}

type Op = readonly [name: string, op: 'alloc' | 'free' | 'pin', size?: number, align?: number];

/** The workload: as a script for the page, and as the same calls on a heap in Node. */
const WORKLOAD: readonly Op[] = [
  ['a', 'alloc', 1000],
  ['b', 'alloc', 2000],
  ['c', 'alloc', 300],
  ['d', 'alloc', 1500],
  ['e', 'alloc', 700],
  ['f', 'alloc', 3000],
  ['g', 'alloc', 420],
  ['b', 'free'],
  ['d', 'free'],
  ['f', 'free'],
];

/** An aligned block and a pinned one too. */
const MORE: readonly Op[] = [
  ['h', 'alloc', 300, 256],
  ['e', 'pin'],
];

function workloadScript(more: readonly Op[] = []): string {
  const lines = [...WORKLOAD, ...more].map(([name, op, size, align]) =>
    op === 'alloc'
      ? `${name} = alloc ${size}${align === undefined ? '' : ` align ${align}`}`
      : `${op} ${name}`,
  );
  return `${lines.join('\n')}\n`;
}

function workloadHeap(more: readonly Op[] = []): {
  mm: MemoryManager;
  handles: Map<string, number>;
} {
  const mm = new MemoryManager({ size: 16384, align: 8 });
  const handles = new Map<string, number>();
  for (const [name, op, size, align] of [...WORKLOAD, ...more]) {
    const h = handles.get(name)!;
    if (op === 'alloc')
      handles.set(name, mm.allocSync(size!, align === undefined ? undefined : { align }));
    else if (op === 'free') mm.freeSync(h);
    else mm.pin(h);
  }
  return { mm, handles };
}

describe('heap explorer (examples/explorer, npm run explorer)', () => {
  it('shows every live block of a scripted workload on the map, in the block table and the stats', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'off');
    await runScript(p, workloadScript(MORE));
    const { mm, handles } = workloadHeap(MORE);
    expect(mm.offsetOf(handles.get('h')!) % 256).toBe(0);

    expect(await shownStats(p)).toMatchObject(statsOf(mm));
    expect(await shownBlocks(p)).toEqual(mm.blocks());
    expect(await p.getAttribute('#heap-map', 'data-blocks')).toBe(String(mm.stats().liveBlocks));
    expect(await p.getAttribute('#heap-map', 'data-pinned')).toBe('1');
    expect(await mapUnits(p, 8)).toEqual(expectedUnits(mm));
    // A stats sample per operation, and one for the empty heap.
    expect((await chartData(p, 'chart-used')).samples).toBe(WORKLOAD.length + MORE.length + 1);
    // The pinned block is striped; the others are flat.
    const e = mm.blocks().find((b) => b.handle === handles.get('e'))!;
    const a = mm.blocks().find((b) => b.handle === handles.get('a'))!;
    expect(await coloursInside(p, e.offset, e.size)).toBeGreaterThan(1);
    expect(await coloursInside(p, a.offset, a.size)).toBe(1);
  });

  it('compacts: fragmentation 0, the used bytes packed at the start of the map, the charts grown', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'fast');
    await runScript(p, workloadScript());
    const { mm } = workloadHeap();
    const before = await shownStats(p);
    expect(before.fragmentation).toBeGreaterThan(0.3);
    const charts = ['chart-fragmentation', 'chart-used', 'chart-moved'];
    const chartsBefore = await Promise.all(charts.map((id) => chartData(p, id)));
    // Lines drawn: fragmentation rose with the frees; nothing has moved yet.
    expect((await linePixels(p, 'chart-fragmentation')).count).toBeGreaterThan(40);
    expect((await linePixels(p, 'chart-moved')).top).toBeGreaterThan(0.7);

    await p.click('#op-compact');
    await p.waitForFunction(() =>
      document.querySelector('#log li')?.textContent?.startsWith('compact'),
    );
    await idle(p);
    const result = mm.compactSync();

    const after = await shownStats(p);
    expect(after).toMatchObject(statsOf(mm));
    expect(after.fragmentation).toBe(0);
    expect(after.largestFree).toBe(after.free);
    const packed = await mapUnits(p, 8);
    expect(packed.indexOf(true)).toBe(after.used / 8);
    expect(packed.slice(after.used / 8).every((free) => free)).toBe(true);

    // One move plan, with a step per block moved.
    const plan = await p.$eval('#log li[data-kind="moves"]', (li) =>
      Number(li.getAttribute('data-steps')),
    );
    expect(plan).toBe(result.blocksMoved);

    const chartsAfter = await Promise.all(charts.map((id) => chartData(p, id)));
    chartsAfter.forEach((c, i) => {
      expect(c.samples).toBe(chartsBefore[i].samples + 1);
      expect(c.image).not.toBe(chartsBefore[i].image);
    });
    expect(chartsAfter[0].last).toBe(0);
    expect(chartsAfter[2].last).toBe(result.bytesMoved);
    // The bytes moved line climbs from the bottom of its chart to the top.
    expect((await linePixels(p, 'chart-moved')).top).toBeLessThan(0.3);
  });

  it('animates a compaction one move of its plan at a time', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'off');
    await runScript(p, workloadScript());
    await p.selectOption('#animation-speed', 'slow');
    const { mm } = workloadHeap();
    const moves = mm.compactSync().blocksMoved;

    expect(moves).toBeGreaterThanOrEqual(3);

    await p.click('#op-compact');
    expect(await p.getAttribute('#heap-map', 'data-animating')).toBe('true');
    // Every frame drawn during the plan's first two steps, with the caption of each.
    const frames = await p.evaluate(
      () =>
        new Promise<{ step: number; image: string }[]>((resolve) => {
          const canvas = document.querySelector<HTMLCanvasElement>('#heap-map')!;
          const caption = document.querySelector('#move-caption')!;
          const seen: { step: number; image: string }[] = [];
          const tick = (): void => {
            const step = Number(/^move plan step (\d+)/.exec(caption.textContent ?? '')?.[1] ?? 0);
            if (step > 2 || (step === 0 && seen.length > 0)) return resolve(seen);
            if (step > 0) seen.push({ step, image: canvas.toDataURL() });
            requestAnimationFrame(tick);
          };
          tick();
        }),
    );
    expect(await p.textContent('#move-caption')).toMatch(
      new RegExp(`^move plan step 3 of ${moves}: move `),
    );
    const during = (step: number): Set<string> =>
      new Set(frames.filter((f) => f.step === step).map((f) => f.image));
    expect(frames[0].step).toBe(1);
    // The moving block slides: frames within one step differ, and from the next step's.
    expect(during(1).size).toBeGreaterThan(1);
    expect(during(2).size).toBeGreaterThan(1);
    expect([...during(1)].some((image) => during(2).has(image))).toBe(false);
    // The heap itself compacted at once: the stats say so while the map still plays the moves.
    expect((await shownStats(p)).fragmentation).toBe(0);
    await idle(p);
    const last = await p.$eval('#heap-map', (c) => (c as HTMLCanvasElement).toDataURL());
    expect(during(1).has(last) || during(2).has(last)).toBe(false);
    expect(await p.textContent('#move-caption')).not.toMatch(/move plan/);
    expect(await mapUnits(p, 8)).toEqual(expectedUnits(mm));
  });

  it('shows the handle, offset and size of the block under the pointer', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'off');
    await runScript(p, workloadScript());
    const blocks = await shownBlocks(p);
    const box = (await p.locator('#heap-map').boundingBox())!;
    const geometry = await p.$eval('#heap-map', (c) =>
      Object.fromEntries(
        Object.entries((c as HTMLCanvasElement).dataset).map(([k, v]) => [k, Number(v)]),
      ),
    );
    const pointAt = (offset: number): { x: number; y: number } => ({
      x:
        box.x +
        geometry.x0 +
        ((offset % geometry.bytesPerRow) / geometry.bytesPerRow) * geometry.mapWidth,
      y:
        box.y +
        Math.floor(offset / geometry.bytesPerRow) * geometry.rowPitch +
        geometry.rowHeight / 2,
    });

    for (const block of blocks) {
      const { x, y } = pointAt(block.offset + 12);
      await p.mouse.move(x, y);
      await p.waitForSelector('#tooltip:not([hidden])');
      expect(await p.getAttribute('#tooltip', 'data-handle')).toBe(String(block.handle));
      const text = await p.textContent('#tooltip');
      expect(text).toContain(
        `handle ${block.handle}\noffset ${block.offset}\nsize ${block.size} B`,
      );
    }
    // Free space: the first gap, from the end of the first block to the second.
    const gap = blocks[0].offset + Math.ceil(blocks[0].size / 8) * 8;
    expect(gap).toBeLessThan(blocks[1].offset);
    const { x, y } = pointAt(gap + 20);
    await p.mouse.move(x, y);
    await p.waitForFunction(() =>
      document.querySelector('#tooltip')?.textContent?.startsWith('free gap'),
    );
    expect(await p.textContent('#tooltip')).toBe(
      `free gap\noffset ${gap}\nsize ${blocks[1].offset - gap} B`,
    );
    expect(await p.getAttribute('#tooltip', 'data-handle')).toBeNull();

    // Clicking selects the block: the table marks it, and free frees it.
    const target = blocks[1];
    const at = pointAt(target.offset + 12);
    await p.mouse.click(at.x, at.y);
    expect(await p.getAttribute('#blocks tr.selected', 'data-handle')).toBe(String(target.handle));
    await p.click('#op-free');
    await idle(p);
    expect((await shownBlocks(p)).map((b) => b.handle)).not.toContain(target.handle);
  });

  it('runs a sliced compaction as one move plan per slice', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'fast');
    await runScript(p, workloadScript());
    const { mm } = workloadHeap();
    let batches = 0;
    mm.onMove(() => batches++);
    await mm.compact({ sliceBytes: 512 });
    expect(batches).toBeGreaterThan(1);
    const samples = (await chartData(p, 'chart-moved')).samples;

    await p.fill('#op-slice', '512');
    await p.click('#op-sliced');
    await p.waitForFunction(() =>
      document.querySelector('#log li')?.textContent?.startsWith('compact in slices'),
    );
    await idle(p);

    expect(await p.locator('#log li[data-kind="moves"]').count()).toBe(batches);
    expect(await shownStats(p)).toMatchObject(statsOf(mm));
    expect((await chartData(p, 'chart-moved')).samples).toBe(samples + batches);
  });

  it('saves a snapshot and loads it back as the same heap', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'off');
    await runScript(p, workloadScript(MORE));
    const stats = await shownStats(p);
    const blocks = await shownBlocks(p);

    const [download] = await Promise.all([p.waitForEvent('download'), p.click('#snapshot-save')]);
    expect(download.suggestedFilename()).toMatch(/\.heap$/);
    const file = await download.path();
    const restored = MemoryManager.restore(new Uint8Array(readFileSync(file)));
    expect(stats).toMatchObject(statsOf(restored));
    expect(stats.epoch).toBe(restored.epoch);
    expect(restored.blocks()).toEqual(blocks);

    await p.click('#heap-new');
    await p.waitForFunction(
      () => document.querySelector('#heap-map')?.getAttribute('data-blocks') === '0',
    );
    await p.setInputFiles('#snapshot-input', file);
    await p.waitForFunction(() =>
      document.querySelector('#log li')?.textContent?.startsWith('restored snapshot'),
    );
    await idle(p);
    // Equal but for the metadata allocated: a restored heap's state has no room to grow yet.
    const same: Partial<Shown> = { ...stats };
    delete same.metadataBytes;
    expect(await shownStats(p)).toMatchObject(same);
    expect(await shownBlocks(p)).toEqual(blocks);
    expect(await p.getAttribute('#heap-map', 'data-pinned')).toBe('1');

    // Bytes that are not a snapshot are refused with the library's error.
    await p.setInputFiles('#snapshot-input', {
      name: 'broken.heap',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('not a heap'),
    });
    await p.waitForSelector('#log li[data-kind="error"]');
    expect(await p.textContent('#log li[data-kind="error"]')).toMatch(
      /^MemoryManagerError: .*snapshot/i,
    );
    expect(await shownStats(p)).toMatchObject(same);
  });

  it('refuses a broken trace, naming its line', async () => {
    const p = await openExplorer();
    await dropFile(p, 'bad.trace', 'Alloc(16),\nFree(7),\n');
    await p.waitForSelector('#log li[data-kind="error"]');
    expect(await p.textContent('#log li[data-kind="error"]')).toContain(
      'bad.trace:2: frees unknown id 7',
    );
    expect(await p.getAttribute('#mode', 'data-mode')).toBe('interactive');
  });

  it('replays a malloc-lab trace, reallocs included, to any step', async () => {
    const p = await openExplorer();
    const text = '20000\n3\n7\n1\na 0 100\na 1 200\nr 0 300\nf 1\na 2 50\nr 0 40\nf 2\n';
    const trace = parseTrace(text, 'small.rep');
    await dropFile(p, 'small.rep', text);
    await p.waitForSelector('#mode[data-mode="trace"]');
    const capacity = (await shownStats(p)).capacity;
    for (const step of [3, 0, 6, 4, 7]) {
      await p.locator('#trace-slider').fill(String(step));
      await p.waitForFunction(
        (s) => document.querySelector('#chart-used')?.getAttribute('data-cursor') === String(s),
        step,
      );
      await idle(p);
      expect(await shownStats(p)).toMatchObject({ ...replayedStats(trace, capacity, step) });
      expect(await shownBlocks(p)).toEqual(replayedBlocks(trace, capacity, step));
    }
    expect(await p.textContent('#move-caption')).toBe('after operation 7: f 2 (line 11)');
    // The arrow keys step through the trace when no field has them.
    await p.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (const [key, step] of [
      ['ArrowLeft', 6],
      ['ArrowLeft', 5],
      ['ArrowRight', 6],
    ] as const) {
      await p.keyboard.press(key);
      await p.waitForFunction(
        (s) => document.querySelector('#chart-used')?.getAttribute('data-cursor') === String(s),
        step,
      );
      await idle(p);
      expect(await shownBlocks(p)).toEqual(replayedBlocks(trace, capacity, step));
    }
  });

  describe.skipIf(!existsSync(traceDir))('wee_alloc traces (../shared/traces/wee_alloc)', () => {
    it('replays a dropped trace, and the time slider travels to any step, backwards too', async () => {
      const p = await openExplorer();
      const text = readFileSync(`${traceDir}ffmpeg.trace`, 'utf8');
      const trace = parseTrace(text, 'ffmpeg.trace');
      // The smallest heap that runs it: the heap compacts by itself on the way.
      await p.selectOption('#trace-size', '1');
      await dropFile(p, 'ffmpeg.trace', text);
      await p.waitForSelector('#mode[data-mode="trace"]');
      await idle(p);
      expect(await p.getAttribute('#trace-slider', 'max')).toBe(String(trace.length));
      const capacity = (await shownStats(p)).capacity;

      const statsAt = (step: number): HeapStats => replayedStats(trace, capacity, step);

      const seekTo = async (step: number, how: () => Promise<void>): Promise<void> => {
        await how();
        await p.waitForFunction(
          (s) => document.querySelector('#chart-used')?.getAttribute('data-cursor') === String(s),
          step,
        );
        await idle(p);
        expect(await shownStats(p)).toMatchObject({ ...statsAt(step) });
        expect(await p.getAttribute('#heap-map', 'data-blocks')).toBe(
          String(statsAt(step).liveBlocks),
        );
        expect(await p.inputValue('#trace-slider')).toBe(String(step));
      };
      await seekTo(3000, () => p.locator('#trace-slider').fill('3000'));
      expect(statsAt(3000).compactions).toBeGreaterThan(0);
      await seekTo(250, () =>
        p.fill('#trace-step', '250').then(() => p.press('#trace-step', 'Enter')),
      );
      await seekTo(251, () => p.click('#trace-forward'));
      await seekTo(trace.length, () => p.locator('#trace-slider').fill(String(trace.length)));

      // The charts hold the whole trace, one sample per step.
      for (const id of ['chart-fragmentation', 'chart-used', 'chart-moved']) {
        expect((await chartData(p, id)).samples).toBe(trace.length + 1);
      }
      mkdirSync(artifacts, { recursive: true });
      await p.screenshot({ path: `${artifacts}explorer-trace.png` });

      // Play runs the steps forward; pause stops them.
      await seekTo(100, () => p.locator('#trace-slider').fill('100'));
      await p.click('#trace-play');
      await p.waitForFunction(
        () => Number(document.querySelector('#chart-used')?.getAttribute('data-cursor')) > 200,
      );
      await p.click('#trace-play');
      const paused = await p.inputValue('#trace-slider');
      await p.waitForTimeout(100);
      expect(await p.inputValue('#trace-slider')).toBe(paused);
      await seekTo(Number(paused), async () => {});

      // Edit this heap: a copy of the heap at this step, to change by hand.
      await p.click('#trace-edit');
      await p.waitForSelector('#mode[data-mode="interactive"]');
      expect(await shownStats(p)).toMatchObject({ ...statsAt(Number(paused)) });
      await p.click('#op-compact');
      await p.waitForFunction(() =>
        document.querySelector('#log li')?.textContent?.startsWith('compact'),
      );
      await idle(p);
      expect((await shownStats(p)).fragmentation).toBe(0);
    });
  });

  it('looks right (screenshot for the README and the test artifacts)', async () => {
    const p = await openExplorer();
    await p.selectOption('#animation-speed', 'off');
    await p.click('#script-run');
    await p.waitForFunction(
      () => document.querySelector('#script-status')?.textContent === 'script done',
    );
    await idle(p);
    const row = await p.$('#blocks tbody tr:nth-child(3)');
    const [offset, size] = [
      Number(await row!.getAttribute('data-offset')),
      Number(await row!.getAttribute('data-size')),
    ];
    const box = (await p.locator('#heap-map').boundingBox())!;
    const g = await p.$eval('#heap-map', (c) => (c as HTMLCanvasElement).dataset);
    const at =
      offset + Math.min(size, Number(g.bytesPerRow) - (offset % Number(g.bytesPerRow))) / 2;
    await p.mouse.move(
      box.x +
        Number(g.x0) +
        ((at % Number(g.bytesPerRow)) / Number(g.bytesPerRow)) * Number(g.mapWidth),
      box.y + Math.floor(at / Number(g.bytesPerRow)) * Number(g.rowPitch) + Number(g.rowHeight) / 2,
    );
    await p.waitForSelector('#tooltip:not([hidden])');
    mkdirSync(artifacts, { recursive: true });
    const png = await p.screenshot({ path: `${artifacts}explorer.png` });
    expect(png.length).toBeLessThan(200 * 1024);
    // The README's copy changes only when asked for (or missing), so runs leave the tree clean.
    if (process.env.EXPLORER_SCREENSHOT === 'update' || !existsSync(docsScreenshot)) {
      writeFileSync(docsScreenshot, png);
    }
  });
});

/** The heap after `step` operations of `trace`, replayed in Node by the CLI's `replay`. */
function replayedHeap<T>(
  trace: Trace,
  size: number,
  step: number,
  read: (mm: MemoryManager) => T,
): T {
  let found = read(new MemoryManager({ size, align: 8 }));
  replay(trace, { size, align: 8, strategy: 'first-fit' }, (op, mm) => {
    if (op === step - 1) found = read(mm);
  });
  return found;
}

function replayedStats(trace: Trace, size: number, step: number): HeapStats {
  return replayedHeap(trace, size, step, (mm) => mm.stats());
}

function replayedBlocks(trace: Trace, size: number, step: number): BlockInfo[] {
  return replayedHeap(trace, size, step, (mm) => mm.blocks());
}

/** Drops a file on the drop zone, as a user dragging it from the desktop would. */
async function dropFile(p: Page, name: string, text: string): Promise<void> {
  const transfer = await p.evaluateHandle(
    ([name, text]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], name, { type: 'text/plain' }));
      return dt;
    },
    [name, text] as const,
  );
  await p.dispatchEvent('#drop-zone', 'drop', { dataTransfer: transfer });
}
