// The HeapLock contract (src/lock/lock.ts), as one suite run against every implementation:
// `lockSuite(name, factory)`. Today that is MutexLock (async-mutex); a lock over a
// SharedArrayBuffer (Atomics) adds one `lockSuite(...)` line at the end of this file.
// The contract: run() resolves with a sync task's value and rejects with its error; tasks run
// one at a time in call order, for any mix of run and runAsync; runAsync holds the lock until
// its task's promise settles; `busy` is true while a task holds or waits for the lock, true
// right after an un-awaited run() until the next microtask, and false once everything settled;
// a task that throws or rejects releases the lock.
// Web-standard APIs only: this file also runs in the browser.
import { describe, expect, it } from 'vitest';
import { HeapBusyError } from '../src/core/errors.js';
import { MutexLock, type HeapLock } from '../src/lock/lock.js';
import { LOCK_WORDS, SharedLock } from '../src/lock/shared-lock.js';
import { rejected } from './heap-snapshot.js';

/** A promise and the functions that settle it. */
interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: Error) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves after a macrotask: every microtask queued before (and their follow-ups) has run. */
function macrotask(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** The value of `lock.busy` seen by a microtask queued now, after the microtasks queued before. */
function busyInNextMicrotask(lock: HeapLock): Promise<boolean> {
  return new Promise((r) => queueMicrotask(() => r(lock.busy)));
}

/** Runs the HeapLock contract tests against locks made by `factory` (a new lock per test). */
function lockSuite(name: string, factory: () => HeapLock): void {
  describe(`HeapLock contract: ${name}`, () => {
    describe('run', () => {
      it('resolves with the value of a sync task', async () => {
        const lock = factory();
        await expect(lock.run(() => 42)).resolves.toBe(42);
        const value = { a: 1 };
        await expect(lock.run(() => value)).resolves.toBe(value);
      });

      it('rejects with the error a sync task throws (the same object)', async () => {
        const lock = factory();
        const error = new RangeError('boom');
        let result: Promise<unknown> | undefined;
        expect(() => {
          result = lock.run(() => {
            throw error;
          });
        }).not.toThrow();
        expect(await rejected(result!)).toBe(error);
      });

      it('resolves and rejects the same way when queued behind another task', async () => {
        const lock = factory();
        const gate = deferred();
        const first = lock.runAsync(() => gate.promise);
        const error = new TypeError('queued boom');
        const value = lock.run(() => 'queued');
        const failure = lock.run(() => {
          throw error;
        });
        gate.resolve();
        await first;
        await expect(value).resolves.toBe('queued');
        expect(await rejected(failure)).toBe(error);
      });
    });

    describe('runAsync', () => {
      it('resolves with the value of its task and rejects with its rejection', async () => {
        const lock = factory();
        await expect(lock.runAsync(() => Promise.resolve('async value'))).resolves.toBe(
          'async value',
        );
        const error = new Error('async boom');
        expect(await rejected(lock.runAsync(() => Promise.reject(error)))).toBe(error);
      });

      it('holds the lock until its promise settles: a run() queued behind it does not start before', async () => {
        const lock = factory();
        const gate = deferred();
        const events: string[] = [];
        const first = lock.runAsync(async () => {
          events.push('async start');
          await gate.promise;
          events.push('async end');
        });
        const second = lock.run(() => {
          events.push('sync task');
        });
        for (let i = 0; i < 5; i++) await macrotask();
        expect(events).toEqual(['async start']);
        gate.resolve();
        await Promise.all([first, second]);
        expect(events).toEqual(['async start', 'async end', 'sync task']);
      });

      it('releases the lock when its promise rejects: the task queued behind it runs', async () => {
        const lock = factory();
        const gate = deferred();
        const first = lock.runAsync(() => gate.promise);
        let ran = false;
        const second = lock.run(() => {
          ran = true;
          return 'after';
        });
        await macrotask();
        expect(ran).toBe(false);
        const error = new Error('rejected while holding the lock');
        gate.reject(error);
        expect(await rejected(first)).toBe(error);
        await expect(second).resolves.toBe('after');
        expect(ran).toBe(true);
        expect(lock.busy).toBe(false);
      });
    });

    describe('order', () => {
      it('runs tasks one at a time, in call order, for a mix of run and runAsync', async () => {
        const lock = factory();
        const events: string[] = [];
        let active = 0;
        let maxActive = 0;
        const enter = (label: string): void => {
          active++;
          maxActive = Math.max(maxActive, active);
          events.push(`${label} start`);
        };
        const leave = (label: string): void => {
          events.push(`${label} end`);
          active--;
        };
        const sync = (label: string) => (): string => {
          enter(label);
          leave(label);
          return label;
        };
        const async = (label: string, ticks: number) => async (): Promise<string> => {
          enter(label);
          for (let i = 0; i < ticks; i++) await macrotask();
          leave(label);
          return label;
        };
        const results = [
          lock.run(sync('s1')),
          lock.runAsync(async('a1', 3)),
          lock.run(sync('s2')),
          lock.run(sync('s3')),
          lock.runAsync(async('a2', 0)),
          lock.runAsync(async('a3', 2)),
          lock.run(sync('s4')),
        ];
        const labels = ['s1', 'a1', 's2', 's3', 'a2', 'a3', 's4'];
        await expect(Promise.all(results)).resolves.toEqual(labels);
        expect(events).toEqual(labels.flatMap((l) => [`${l} start`, `${l} end`]));
        expect(maxActive).toBe(1);
      });

      it('a task queued from inside a task runs after the tasks queued before that call', async () => {
        const lock = factory();
        const events: string[] = [];
        let inner: Promise<void> | undefined;
        const outer = lock.runAsync(async () => {
          events.push('outer');
          await macrotask(); // `queued` below was called by now, whenever this task started
          inner = lock.run(() => {
            events.push('inner');
          });
          await macrotask();
        });
        const queued = lock.run(() => {
          events.push('queued');
        });
        await Promise.all([outer, queued]);
        await inner;
        expect(events).toEqual(['outer', 'queued', 'inner']);
      });
    });

    describe('busy', () => {
      it('is false on a new lock', () => {
        expect(factory().busy).toBe(false);
      });

      it('is true while a task holds or waits for the lock, and false once everything settled', async () => {
        const lock = factory();
        const gate = deferred();
        const seenInside: boolean[] = [];
        const holder = lock.runAsync(async () => {
          seenInside.push(lock.busy);
          await gate.promise;
        });
        const waiter = lock.run(() => {
          seenInside.push(lock.busy);
        });
        await macrotask();
        expect(lock.busy).toBe(true); // held by the first task, awaited by the second
        // When the first task's promise settles, the second still waits for the lock or holds it.
        const busyAfterHolder = holder.then(() => lock.busy);
        gate.resolve();
        expect(await busyAfterHolder).toBe(true);
        await waiter;
        expect(seenInside).toEqual([true, true]);
        expect(lock.busy).toBe(false);
      });

      it('is true right after an un-awaited run() of a sync task, until the next microtask', async () => {
        const lock = factory();
        const done = lock.run(() => 1);
        expect(lock.busy).toBe(true);
        expect(await busyInNextMicrotask(lock)).toBe(false);
        await done;
        expect(lock.busy).toBe(false);
      });

      it('is true right after an un-awaited runAsync(), until its promise settled', async () => {
        const lock = factory();
        const gate = deferred();
        const done = lock.runAsync(() => gate.promise);
        expect(lock.busy).toBe(true);
        await macrotask();
        expect(lock.busy).toBe(true);
        gate.resolve();
        await done;
        expect(lock.busy).toBe(false);
      });

      it('is false after a task threw, once its rejection settled', async () => {
        const lock = factory();
        const failure = lock.run(() => {
          throw new Error('boom');
        });
        expect(lock.busy).toBe(true);
        await rejected(failure);
        expect(lock.busy).toBe(false);
      });
    });

    describe('errors', () => {
      it('a task that throws does not wedge the lock: later run and runAsync calls run', async () => {
        const lock = factory();
        const failures = [
          lock.run(() => {
            throw new Error('first');
          }),
          lock.runAsync(() => Promise.reject(new Error('second'))),
          lock.runAsync(() => {
            throw new Error('third'); // thrown before any promise exists
          }),
          lock.run(() => {
            throw new Error('fourth');
          }),
        ];
        const after = [
          lock.run(() => 'sync after'),
          lock.runAsync(() => Promise.resolve('async after')),
        ];
        const reasons = await Promise.all(failures.map((p) => rejected(p)));
        expect(reasons.map((e) => (e as Error).message)).toEqual([
          'first',
          'second',
          'third',
          'fourth',
        ]);
        await expect(Promise.all(after)).resolves.toEqual(['sync after', 'async after']);
        expect(lock.busy).toBe(false);
        await expect(lock.run(() => 'later')).resolves.toBe('later');
      });
    });
  });
}

lockSuite('MutexLock', () => new MutexLock());

describe('MutexLock specifics', () => {
  it('runs a sync task at once, inside run(), when nothing holds or awaits the lock', () => {
    const lock = new MutexLock();
    let ran = false;
    void lock.run(() => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('runs a sync task later when another task holds the lock', async () => {
    const lock = new MutexLock();
    const gate = deferred();
    const first = lock.runAsync(() => gate.promise);
    let ran = false;
    const second = lock.run(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    gate.resolve();
    await Promise.all([first, second]);
    expect(ran).toBe(true);
  });
});

/** Locks over the same words share a heap tag, as managers of one heap do. */
const tags = new WeakMap<ArrayBufferLike, number>();
function sharedLock(w: Int32Array, timeout: number): SharedLock {
  let tag = tags.get(w.buffer);
  if (tag === undefined) tags.set(w.buffer, (tag = Math.floor(Math.random() * 2 ** 31) + 1));
  return new SharedLock(w, timeout, tag);
}

lockSuite('SharedLock', () =>
  sharedLock(new Int32Array(new SharedArrayBuffer(LOCK_WORDS * 4)), 1000),
);

describe('SharedLock', () => {
  const words = (): Int32Array => new Int32Array(new SharedArrayBuffer(LOCK_WORDS * 4));

  it('two locks over the same words exclude each other; a waiter that waited goes before the holder again', async () => {
    const w = words();
    const a = sharedLock(w, 1000);
    const b = sharedLock(w, 1000);
    const order: string[] = [];
    let release!: () => void;
    const held = a.runAsync(
      () =>
        new Promise<void>((resolve) => {
          order.push('a starts');
          release = resolve;
        }),
    );
    await new Promise((r) => setTimeout(r, 10));
    const queued = [b.run(() => order.push('b')), a.run(() => order.push('a again'))];
    // b waits (the lock is held through the other manager) and soon asks to be handed it.
    for (let i = 0; i < 500 && Atomics.load(w, 5) !== b.id; i++) {
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(Atomics.load(w, 5)).toBe(b.id);
    expect(order).toEqual(['a starts']);
    // A Sync call cannot wait it out here (this thread holds it through `a`): after its timeout.
    expect(() => sharedLock(w, 20).runSync(() => 0, 'allocSync')).toThrow(HeapBusyError);
    release();
    await Promise.all([held, ...queued]);
    expect(order).toEqual(['a starts', 'b', 'a again']);
  });

  it('runSync takes a free lock at once and runs a task at once while its own manager holds it', async () => {
    const w = words();
    const lock = sharedLock(w, 1000);
    expect(lock.runSync(() => 7, 'x')).toBe(7);
    let inside: number | undefined;
    await lock.runAsync(async () => {
      await new Promise((r) => setTimeout(r, 1));
      inside = lock.runSync(() => 8, 'x'); // between the slices of its own compaction
    });
    expect(inside).toBe(8);
    expect(Array.from(w.subarray(0, 3))).toEqual([0, 0, 2]); // free, no owner, two acquisitions
  });

  // A browser's main thread may not block: there a Sync call refuses at once (shared.browser.test.ts).
  it.skipIf(typeof window !== 'undefined')(
    'a Sync wait lasts lockTimeout, then HeapBusyError names the holder',
    () => {
      const w = words();
      const holder = sharedLock(w, 1000);
      const waiter = sharedLock(w, 50);
      // The holder keeps the lock (as a sync task that does not end in time would).
      Atomics.store(w, 0, 1); // STATE: held
      Atomics.store(w, 1, holder.id); // OWNER
      const start = performance.now();
      let error: unknown;
      try {
        waiter.runSync(() => 0, 'freeSync');
      } catch (e) {
        error = e;
      }
      expect(performance.now() - start).toBeGreaterThanOrEqual(45);
      expect(error).toBeInstanceOf(HeapBusyError);
      expect((error as Error).message).toContain(`held by manager ${holder.id}`);
      expect((error as Error).message).toContain('freeSync()');
    },
  );

  it('an async waiter gives up after lockTimeout without progress, withdrawing its hand-off request', async () => {
    const w = words();
    const waiter = sharedLock(w, 120);
    Atomics.store(w, 0, 1); // a dead holder: held, never released
    Atomics.store(w, 1, 12345);
    const start = performance.now();
    const error = await waiter.run(() => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeapBusyError);
    expect((error as Error).message).toContain('held by manager 12345');
    expect(performance.now() - start).toBeGreaterThanOrEqual(110);
    expect(Atomics.load(w, 5)).toBe(0); // HANDOFF: no request left behind
    // The holder revives and releases: the lock works again.
    Atomics.store(w, 1, 0);
    Atomics.store(w, 0, 0);
    expect(await waiter.run(() => 2)).toBe(2);
  });

  it('a waiter that has waited a little is handed the lock by the next release, ahead of a barging caller', async () => {
    const w = words();
    const holder = sharedLock(w, 1000);
    const waiter = sharedLock(w, 1000);
    const order: string[] = [];
    let release!: () => void;
    const held = holder.runAsync(() => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((r) => setTimeout(r, 1)); // the holder takes the lock
    const waiting = waiter.run(() => order.push('waiter'));
    await new Promise((r) => setTimeout(r, 20)); // long enough to ask for a hand-over
    expect(Atomics.load(w, 5)).toBe(waiter.id);
    release();
    await held;
    // The holder's thread tries to take the lock again at once: it was handed over already.
    expect(() => sharedLock(w, 0).runSync(() => order.push('barger'), 'x')).toThrow(HeapBusyError);
    await waiting;
    expect(order).toEqual(['waiter']);
  });

  it('a hand-over to a waiter that is gone is taken by others after 10 ms, even with a short lockTimeout', async () => {
    const w = words();
    const holder = sharedLock(w, 1000);
    holder.runSync(() => {
      Atomics.store(w, 5, 999); // HANDOFF: a waiter that asked, then died
    }, 'hold');
    expect(Atomics.load(w, 0)).toBe(2); // handed to 999, which will never claim it
    expect(Atomics.load(w, 1)).toBe(999);
    await new Promise((r) => setTimeout(r, 15));
    expect(sharedLock(w, 5).runSync(() => 'sync', 'x')).toBe('sync');
    holder.runSync(() => Atomics.store(w, 5, 998), 'hold');
    await new Promise((r) => setTimeout(r, 15));
    expect(await sharedLock(w, 5).run(() => 'async')).toBe('async');
    expect(Atomics.load(w, 0)).toBe(0);
  });

  it('an async waiter waits as long as the holder makes progress (heartbeat), past lockTimeout', async () => {
    const w = words();
    const holder = sharedLock(w, 1000);
    const waiter = sharedLock(w, 80);
    const held = holder.runAsync(async () => {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 25)); // 200 ms in all, a beat every 25 ms
        holder.beat();
      }
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(await waiter.run(() => 'served')).toBe('served');
    await held;
  });

  it("two copies of the lock module in one realm know each other's managers as this thread's", async () => {
    // A second copy, as an ESM and a CommonJS build of the package, or two bundles, would be.
    // @ts-expect-error -- a query makes Vite load a second copy; TypeScript cannot resolve it
    const copy = (await import('../src/lock/shared-lock.js?copy')) as {
      SharedLock: typeof SharedLock;
    };
    expect(copy.SharedLock).not.toBe(SharedLock);
    const w = words();
    const holder = sharedLock(w, 1000);
    const tag = tags.get(w.buffer)!;
    const other = new copy.SharedLock(w, 80, tag);
    // A Sync call through the other copy fails at once rather than wait out the holder of this
    // thread (where the thread may wait at all; a browser main thread refuses anyway).
    let sync: unknown;
    await holder.runAsync(async () => {
      await new Promise((r) => setTimeout(r, 1));
      try {
        other.runSync(() => 0, 'allocSync');
      } catch (e) {
        sync = e;
      }
    });
    expect(sync).toBeInstanceOf(HeapBusyError);
    expect((sync as Error).message).toMatch(
      /another manager of this heap in this thread|may not wait/,
    );
    // The other copy's async waiter does not count this thread's busy time against the holder.
    expect(await servedThroughStall(holder, other)).toBe('served');
  });

  it("time the waiter's own thread was busy counts against a holder in another thread", async () => {
    const w = words();
    const waiter = sharedLock(w, 100);
    Atomics.store(w, 0, 1); // held by a manager of another thread, which never moves
    Atomics.store(w, 1, 12345);
    // Five tasks block this thread for 150 ms each, 20 ms apart: a waiter that did not count
    // that time would give up only after the last of them.
    let stalls = 0;
    const stalled = new Promise<void>((resolve) => {
      const stall = (): void => {
        const until = performance.now() + 150;
        while (performance.now() < until);
        if (++stalls < 5) setTimeout(stall, 20);
        else resolve();
      };
      setTimeout(stall, 20);
    });
    const error = await waiter.run(() => 1).catch((e: unknown) => e);
    const seen = stalls;
    await stalled;
    expect(error).toBeInstanceOf(HeapBusyError);
    expect(seen).toBeLessThanOrEqual(2);
    Atomics.store(w, 1, 0);
    Atomics.store(w, 0, 0);
  });

  it("time the waiter's own thread was busy is not counted against a holder in that thread", async () => {
    const w = words();
    expect(await servedThroughStall(sharedLock(w, 1000), sharedLock(w, 80))).toBe('served');
  });
});

/**
 * `holder` beats 25 ms after taking the lock, then 220 ms later, and releases it; meanwhile
 * `waiter` (timeout 80 ms) waits for the lock, and from 30 ms another task blocks the thread
 * for 200 ms, so neither can run then. The waiter wakes before the holder's timer is due, more
 * than 80 ms after the last beat, but had less than 80 ms to watch. What its call returned.
 */
async function servedThroughStall(holder: SharedLock, waiter: SharedLock): Promise<string> {
  const held = holder.runAsync(async () => {
    await new Promise((r) => setTimeout(r, 25));
    holder.beat();
    await new Promise((r) => setTimeout(r, 220));
    holder.beat();
  });
  setTimeout(() => {
    const until = performance.now() + 200;
    while (performance.now() < until);
  }, 30);
  await new Promise((r) => setTimeout(r, 5));
  const served = await waiter.run(() => 'served');
  await held;
  return served;
}
