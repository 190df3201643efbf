/**
 * A shared heap across Web Workers in Chromium: four Workers hammer one heap (the participant
 * of test/workers/hammer.ts, with Atomics.wait for Sync calls) while the page's main thread,
 * which may not block, uses only async calls and retries a read or write refused with
 * HeapBusyError. Zero corruption; valid at the end, every block holding its pattern.
 */
import { describe, expect, it } from 'vitest';
import { HeapBusyError, MemoryManager, OutOfMemoryError } from '../src/index.js';
import { HandOff, mismatch, pattern, type HammerJob, type HammerReport } from './workers/hammer.js';

const OPS = 5_000;

function startWorker(job: HammerJob): Promise<HammerReport> {
  const worker = new Worker(new URL('./workers/web-hammer.ts', import.meta.url), {
    type: 'module',
  });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<HammerReport>) => {
      resolve(event.data);
      worker.terminate();
    };
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(job);
  });
}

/** Retries `f` while the lock is held elsewhere: the main thread may not wait for it. */
async function retry<T>(f: () => T): Promise<T> {
  for (;;) {
    try {
      return f();
    } catch (error) {
      if (!(error instanceof HeapBusyError)) throw error;
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}

describe('a shared heap across Web Workers', () => {
  it('runs where the page is cross-origin isolated', () => {
    expect(crossOriginIsolated).toBe(true);
  });

  it(`4 Workers x ${OPS} operations and the main thread's async calls: no corruption`, async () => {
    const mm = new MemoryManager({ size: 1 << 20, shared: true });
    const queue = new SharedArrayBuffer(HandOff.bytes());
    const workers = [21, 22, 23, 24].map((seed) =>
      startWorker({ shared: mm.shared!, queue, seed, ops: OPS, asyncOnly: false }),
    );
    // The main thread: async alloc/free/resize/compact; reads and writes retried when refused.
    let problems = 0;
    const mine: number[] = [];
    for (let i = 0; i < OPS / 5; i++) {
      const size = 1 + ((i * 37) % 300);
      const h = await mm.alloc(size);
      await retry(() => mm.write(h, pattern(h, size)));
      mine.push(h);
      if (i % 3 === 0) {
        const victim = mine.splice((i * 7) % mine.length, 1)[0];
        if (mismatch(victim, await retry(() => mm.read(victim))) >= 0) problems++;
        await mm.free(victim);
      }
      if (i % 50 === 0) await mm.compact({ sliceBytes: 4096 });
      if (i % 97 === 0 && mine.length > 0) {
        const h = mine[mine.length - 1];
        const size = 1 + ((i * 13) % 500);
        const resized = await mm.resize(h, size).then(
          () => true,
          (error: unknown) => {
            if (!(error instanceof OutOfMemoryError)) throw error;
            return false;
          },
        );
        if (resized) await retry(() => mm.write(h, pattern(h, size)));
      }
    }
    const reports = await Promise.all(workers);
    for (const r of reports) expect([r.firstProblem, r.corrupt]).toEqual(['', 0]);
    expect(problems).toBe(0);
    mm.validate();
    // Every live block holds its pattern: the main thread's, the Workers', those still queued.
    for (const b of mm.blocks()) expect(mismatch(b.handle, mm.read(b.handle))).toBe(-1);
    for (const h of mine) expect(mm.has(h)).toBe(true);
    expect(mm.stats().compactions).toBeGreaterThan(0);
  }, 120_000);

  it('a Sync call on the main thread throws HeapBusyError at once while a Worker holds the lock', () => {
    const mm = new MemoryManager({ size: 1 << 16, shared: true });
    // Take the lock as another thread would (its words are in the shared state header).
    const words = new Int32Array(mm.shared!.state, 32 * 4, 6);
    Atomics.store(words, 0, 1); // STATE: held
    const start = performance.now();
    expect(() => mm.allocSync(8)).toThrow(HeapBusyError);
    expect(() => mm.stats()).toThrow(/may not wait/);
    expect(performance.now() - start).toBeLessThan(1000); // not the 5000 ms lockTimeout
    Atomics.store(words, 0, 0); // released
    expect(mm.allocSync(8)).toBeGreaterThan(0);
  });
});
