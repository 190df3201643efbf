/**
 * A shared heap across Node worker_threads: four Workers hammer one heap at once (alloc, free,
 * resize, write, read, pin, unpin, sync and sliced compaction, handles handed between
 * Workers); zero corruption, and the heap is valid with every block holding its pattern at the
 * end. HEAP_SOAK=1 scales it to 100,000 operations per Worker.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeapBusyError, MemoryManager } from '../src/index.js';
import { HandOff, mismatch, type HammerJob, type HammerReport } from './workers/hammer.js';

const BOOTSTRAP = fileURLToPath(new URL('./workers/node-bootstrap.mjs', import.meta.url));
const HAMMER = new URL('./workers/node-hammer.ts', import.meta.url).href;
const OPS = process.env.HEAP_SOAK ? 100_000 : 10_000;

function runWorker(entry: string, data: object): { worker: Worker; done: Promise<unknown> } {
  const worker = new Worker(BOOTSTRAP, { workerData: { entry, ...data } });
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code}`)));
  });
  return { worker, done };
}

describe('a shared heap across worker_threads', () => {
  it(`4 Workers x ${OPS.toLocaleString('en')} random operations: no corruption, valid at the end`, async () => {
    const mm = new MemoryManager({ size: 1 << 20, shared: true, align: 8 });
    const queue = new SharedArrayBuffer(HandOff.bytes());
    const jobs: HammerJob[] = [1, 2, 3, 4].map((seed) => ({
      shared: mm.shared!,
      queue,
      seed,
      ops: OPS,
      asyncOnly: false,
    }));
    const reports = (await Promise.all(
      jobs.map((job) => runWorker(HAMMER, { job }).done),
    )) as HammerReport[];
    for (const r of reports) {
      expect(r.firstProblem).toBe('');
      expect(r.corrupt).toBe(0);
      expect(r.ops).toBe(OPS);
    }
    expect(reports.reduce((n, r) => n + r.handedOff, 0)).toBeGreaterThan(0);
    expect(reports.reduce((n, r) => n + r.received, 0)).toBeGreaterThan(0);
    mm.validate();
    // Every live block holds its pattern: owned, or still in the queue.
    const blocks = mm.blocks();
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(mismatch(b.handle, mm.read(b.handle))).toBe(-1);
    expect(mm.stats().compactions).toBeGreaterThan(0);
  }, 120_000);
});

describe('the shared lock across worker_threads', () => {
  const TASK = new URL('./workers/node-task.ts', import.meta.url).href;

  it('async calls and Sync calls mixed: two Workers of each on one heap, no corruption', async () => {
    const mm = new MemoryManager({ size: 1 << 20, shared: true, strategy: 'best-fit' });
    const queue = new SharedArrayBuffer(HandOff.bytes());
    const jobs: HammerJob[] = [11, 12, 13, 14].map((seed) => ({
      shared: mm.shared!,
      queue,
      seed,
      ops: OPS / 2,
      asyncOnly: seed > 12,
    }));
    const reports = (await Promise.all(
      jobs.map((job) => runWorker(HAMMER, { job }).done),
    )) as HammerReport[];
    for (const r of reports) expect([r.firstProblem, r.corrupt]).toEqual(['', 0]);
    mm.validate();
    for (const b of mm.blocks()) expect(mismatch(b.handle, mm.read(b.handle))).toBe(-1);
  }, 120_000);

  it('no Worker starves: 4 Workers churning with async calls each get a share', async () => {
    const mm = new MemoryManager({ size: 1 << 16, shared: true });
    const gate = new SharedArrayBuffer(8);
    const runs = [0, 1, 2, 3].map(
      () => runWorker(TASK, { task: 'churn', shared: mm.shared, ms: 400, gate }).done,
    );
    const word = new Int32Array(gate);
    while (Atomics.load(word, 1) < 4) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(word, 0, 1);
    Atomics.notify(word, 0);
    const counts = (await Promise.all(runs)) as number[];
    // A waiter that waited 2 ms is handed the lock by the next release, so no Worker waits
    // long behind the others; what is left is the scheduling of 4 threads on few cores.
    const most = Math.max(...counts);
    console.log(`pairs per Worker in 400 ms: ${counts.join(', ')}`);
    // A starved Worker gets next to nothing; on a loaded 2-core machine (CI beside other work) a
    // fair share still varies up to about 12x from the scheduling alone (seen: 138 against 1615).
    for (const n of counts) expect(n).toBeGreaterThan(most / 25);
    mm.validate();
    expect(mm.stats().liveBlocks).toBe(0);
  }, 30_000);

  it('a Worker terminated in the middle of a sliced compaction does not hang the others', async () => {
    const mm = new MemoryManager({ size: 1 << 20, shared: true, lockTimeout: 250 });
    const hs: number[] = [];
    for (let i = 0; i < 2000; i++) hs.push(mm.allocSync(256));
    for (let i = 0; i < hs.length; i += 2) mm.freeSync(hs[i]);
    const compactor = runWorker(TASK, { task: 'compact', shared: mm.shared, ms: 0 });
    compactor.done.catch(() => {}); // it never reports: terminated
    await new Promise((resolve) => compactor.worker.once('message', resolve)); // first slice done
    await compactor.worker.terminate();
    const start = performance.now();
    const error = await mm.alloc(8).then(
      () => undefined,
      (e: unknown) => e,
    );
    const waited = performance.now() - start;
    expect(error).toBeInstanceOf(HeapBusyError);
    expect((error as Error).message).toMatch(
      /held by manager \d+ and its holder made no progress for 250 ms/,
    );
    expect(waited).toBeGreaterThanOrEqual(240);
    expect(waited).toBeLessThan(10_000); // not forever
    expect(() => mm.allocSync(8)).toThrow(HeapBusyError); // after lockTimeout, too
  }, 30_000);
});

describe('the shared lock: what a review found', () => {
  const TASK = new URL('./workers/node-task.ts', import.meta.url).href;

  it('attaching (MemoryManager.from) while another thread grows the state never writes the header', async () => {
    const worker = new Worker(BOOTSTRAP, {
      workerData: { entry: new URL('./workers/node-attach.ts', import.meta.url).href },
    });
    const next = (): Promise<unknown> => new Promise((r) => worker.once('message', r));
    try {
      for (let round = 0; round < 6; round++) {
        const mm = new MemoryManager({ size: 1 << 20, shared: true });
        const stop = new SharedArrayBuffer(4);
        worker.postMessage({ shared: mm.shared, stop });
        await next();
        for (let i = 0; i < 5000; i++) mm.allocSync(8 + (i % 5) * 8); // grows the records region
        Atomics.store(new Int32Array(stop), 0, 1);
        expect(await next()).toBeGreaterThan(0);
        mm.validate();
        expect(mm.stats().liveBlocks).toBe(5000);
      }
    } finally {
      await worker.terminate();
    }
  }, 60_000);

  it('a hand-over to a waiter that died is taken by the others: the lock does not wedge', async () => {
    const mm = new MemoryManager({ size: 4096, shared: true, lockTimeout: 2000 });
    const holder = MemoryManager.from(mm.shared!);
    const words = new Int32Array(mm.shared!.state, 32 * 4, 7);
    // This thread holds the lock; a Worker waits, asks for a hand-over, and dies.
    const lock = (holder as unknown as { sharedLock: { enter(m: string): void; exit(): void } })
      .sharedLock;
    lock.enter('hold');
    const waiter = runWorker(TASK, { task: 'wait', shared: mm.shared });
    waiter.done.catch(() => {});
    await new Promise((r) => waiter.worker.once('message', r));
    for (let i = 0; i < 200 && words[5] === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(words[5]).not.toBe(0); // HANDOFF: the Worker asked
    await waiter.worker.terminate();
    lock.exit(); // hands the lock to the dead Worker
    expect(words[0]).toBe(2); // handed, unclaimed
    const start = performance.now();
    expect(mm.allocSync(8)).toBeGreaterThan(0); // taken over after a few milliseconds
    expect(performance.now() - start).toBeLessThan(1000);
    expect(await mm.alloc(8)).toBeGreaterThan(0);
    mm.validate();
  }, 30_000);

  it('managers of one heap get distinct ids; readers do not refuse after a finished async call', async () => {
    const mm = new MemoryManager({ size: 1024, shared: true });
    const ids = new Set(
      [mm, MemoryManager.from(mm.shared!), MemoryManager.from(mm.shared!)].map(
        (m) => (m as unknown as { sharedLock: { id: number } }).sharedLock.id,
      ),
    );
    expect(ids.size).toBe(3);
    const h = mm.allocSync(8);
    const pending = mm.alloc(8); // ran at once (the lock was free)
    expect(mm.has(h)).toBe(true);
    expect(mm.read(h)).toHaveLength(8);
    await pending;
  });

  it('a Sync call fails at once, not after lockTimeout, while another manager in this thread holds the lock', async () => {
    const a = new MemoryManager({ size: 1 << 20, shared: true, lockTimeout: 2000 });
    const b = MemoryManager.from(a.shared!, { lockTimeout: 2000 });
    const hs: number[] = [];
    for (let i = 0; i < 200; i++) hs.push(a.allocSync(1000));
    for (let i = 0; i < 200; i += 2) a.freeSync(hs[i]);
    const compaction = a.compact({ sliceBytes: 1000 }); // holds the lock between its slices
    await new Promise((r) => setTimeout(r, 0));
    const start = performance.now();
    expect(() => b.read(hs[1])).toThrow(/another manager of this heap in this thread/);
    // The same through another SharedArrayBuffer object for the same memory (a cloned description).
    const c = MemoryManager.from(structuredClone(a.shared!), { lockTimeout: 2000 });
    expect(c.shared!.state).not.toBe(a.shared!.state);
    expect(() => c.read(hs[1])).toThrow(/another manager of this heap in this thread/);
    expect(performance.now() - start).toBeLessThan(1000); // not the 2000 ms lockTimeout
    expect((await compaction).blocksMoved).toBeGreaterThan(0);
    expect(b.read(hs[1])).toHaveLength(1000);
  });
});

describe('MemoryManager.from and mm.shared', () => {
  it('a second manager in the same thread is the same heap', () => {
    const mm = new MemoryManager({ size: 4096, shared: true });
    const other = MemoryManager.from(mm.shared!);
    const h = other.allocSync(10);
    mm.write(h, [1, 2, 3]);
    expect(Array.from(other.read(h, 0, 3))).toEqual([1, 2, 3]);
    mm.pin(h);
    expect(other.isPinned(h)).toBe(true);
    expect(other.stats()).toEqual(mm.stats());
    other.unpin(h);
    mm.freeSync(h);
    expect(other.has(h)).toBe(false);
  });

  it('follows the state buffer when another manager grows it', () => {
    const mm = new MemoryManager({ size: 1 << 20, shared: true });
    const other = MemoryManager.from(mm.shared!);
    const before = mm.metadataBytes;
    const hs: number[] = [];
    for (let i = 0; i < 5000; i++) hs.push(other.allocSync(16));
    expect(mm.metadataBytes).toBeGreaterThan(before); // the same buffer, grown in place
    for (const h of hs) expect(mm.sizeOf(h)).toBe(16);
    for (let i = 0; i < hs.length; i += 2) mm.freeSync(hs[i]);
    other.compactSync();
    mm.validate();
    other.validate();
    expect(mm.stats()).toEqual(other.stats());
  });

  it('zero-fills new blocks in shared memory at any alignment (8 bytes a store in the middle)', () => {
    const sab = new SharedArrayBuffer(1 << 16);
    const bytes = new Uint8Array(sab, 3, 60_000); // an odd byteOffset: no 8-byte alignment
    bytes.fill(0xee);
    const mm = new MemoryManager({ buffer: bytes, shared: true, align: 1 });
    for (let i = 0; i < 500; i++) {
      const n = 1 + ((i * 37) % 3000);
      const h = mm.allocSync(n);
      expect(mm.read(h).every((x) => x === 0)).toBe(true);
      mm.write(h, new Uint8Array(n).fill(0xee));
      mm.resizeSync(h, n + 100); // the grown tail reads as zeros too
      expect(mm.read(h, n).every((x) => x === 0)).toBe(true);
      mm.write(h, new Uint8Array(100).fill(0xee), n);
      mm.freeSync(h);
    }
  });

  it('mm.shared is undefined for an unshared heap; shared needs shared memory', () => {
    expect(new MemoryManager(64).shared).toBeUndefined();
    const error = (() => {
      try {
        new MemoryManager({ buffer: new ArrayBuffer(64), shared: true });
      } catch (e) {
        return e as TypeError & { code: string };
      }
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect(error!.code).toBe('ERR_INVALID_ARG_VALUE');
    const sab = new SharedArrayBuffer(256);
    const mm = new MemoryManager({ buffer: new Uint8Array(sab, 64, 128), shared: true });
    expect(mm.capacity).toBe(128);
    expect(mm.shared!.memory).toBe(sab);
    expect(mm.shared!.byteOffset).toBe(64);
  });

  it('rejects bad shared and lockTimeout options with typed errors', () => {
    const thrown = (options: object): [unknown, string] => {
      try {
        new MemoryManager({ size: 64, ...options });
      } catch (e) {
        return [(e as Error).constructor, (e as { code: string }).code];
      }
      return [undefined, ''];
    };
    expect(thrown({ shared: 'yes' })).toEqual([TypeError, 'ERR_INVALID_ARG_TYPE']);
    expect(thrown({ shared: true, lockTimeout: 'soon' })).toEqual([
      TypeError,
      'ERR_INVALID_ARG_TYPE',
    ]);
    expect(thrown({ shared: true, lockTimeout: -1 })).toEqual([RangeError, 'ERR_OUT_OF_RANGE']);
    expect(thrown({ shared: true, lockTimeout: NaN })).toEqual([RangeError, 'ERR_OUT_OF_RANGE']);
    expect(new MemoryManager({ size: 64, shared: true, lockTimeout: 0 }).lockTimeout).toBe(0);
    expect(new MemoryManager({ size: 64, shared: true }).lockTimeout).toBe(5000);
    expect(new MemoryManager({ size: 64 }).lockTimeout).toBeUndefined();
  });

  it('rejects what is not a description, and a wrong magic or version, changing nothing', () => {
    const code = (f: () => unknown): [unknown, string] => {
      try {
        f();
      } catch (e) {
        return [(e as Error).constructor, (e as { code: string }).code];
      }
      return [undefined, ''];
    };
    for (const bad of [
      undefined,
      null,
      1,
      'x',
      {},
      { kind: 'handle-heap' },
      new SharedArrayBuffer(8),
    ])
      expect(code(() => MemoryManager.from(bad as never))).toEqual([
        TypeError,
        'ERR_INVALID_ARG_TYPE',
      ]);
    const mm = new MemoryManager({ size: 4096, shared: true });
    const h = mm.allocSync(8);
    const header = new Uint32Array(mm.shared!.state, 0, 2);
    const version = header[1];
    header[1] = 99;
    const [type, c] = code(() => MemoryManager.from(mm.shared!));
    expect([type, c]).toEqual([TypeError, 'ERR_INVALID_ARG_VALUE']);
    header[1] = version;
    expect(code(() => MemoryManager.from({ ...mm.shared!, byteLength: 8 }))).toEqual([
      TypeError,
      'ERR_INVALID_ARG_VALUE',
    ]);
    expect(code(() => MemoryManager.from(mm.shared!, { lockTimeout: -1 }))).toEqual([
      RangeError,
      'ERR_OUT_OF_RANGE',
    ]);
    expect(mm.has(h)).toBe(true);
    mm.validate();
  });

  it('a Sync call waits up to lockTimeout for a lock another Worker holds, then throws HeapBusyError', async () => {
    const mm = new MemoryManager({ size: 1 << 16, shared: true, lockTimeout: 100 });
    const flag = new SharedArrayBuffer(4);
    const holder = runWorker(new URL('./workers/node-hold.ts', import.meta.url).href, {
      shared: mm.shared,
      ms: 1500,
      flag,
    });
    // Wait until the Worker holds the lock.
    while (Atomics.load(new Int32Array(flag), 0) === 0) await new Promise((r) => setTimeout(r, 5));
    const start = performance.now();
    let error: unknown;
    try {
      mm.allocSync(8);
    } catch (e) {
      error = e;
    }
    const waited = performance.now() - start;
    expect(error).toBeInstanceOf(HeapBusyError);
    expect((error as Error).message).toMatch(/held by manager \d+/);
    expect(waited).toBeGreaterThanOrEqual(90);
    await holder.done;
    expect(mm.allocSync(8)).toBeGreaterThan(0); // free again
    mm.validate();
  });
});

describe('the shared lock in a realm whose global object is frozen', () => {
  it('loads and works (its per-realm map falls back to one of its own)', () => {
    const lockModule = fileURLToPath(new URL('../src/lock/shared-lock.ts', import.meta.url));
    const script = join(mkdtempSync(join(tmpdir(), 'handle-heap-')), 'frozen.mts');
    writeFileSync(
      script,
      [
        'Object.preventExtensions(globalThis);',
        `const { SharedLock } = await import(${JSON.stringify(lockModule)});`,
        'const lock = new SharedLock(new Int32Array(new SharedArrayBuffer(64)), 100, 7);',
        "console.log(lock.runSync(() => 'ran', 'x'));",
      ].join('\n'),
    );
    const root = fileURLToPath(new URL('..', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: root });
    expect(out.toString().trim()).toBe('ran');
  });
});
