// The lock of a heap shared between threads: a ticket lock in four words of the shared header,
// driven by Atomics, so every thread that attached the heap sees one lock.
//
//   NEXT     the next ticket to hand out
//   SERVING  the ticket that holds the lock (the lock is free when NEXT === SERVING)
//   OWNER    the id of the manager holding it (0 when free)
//   BEAT     advanced by the holder at every step of a long operation (each slice)
//   WAITERS  threads sleeping on SERVING: a release notifies only when there are some
//
// Async callers take a ticket and wait for SERVING to reach it with Atomics.waitAsync: no thread
// ever blocks, and threads are served in the order they asked (FIFO across threads). Within a
// thread an in-process mutex keeps call order first, so one manager queues at most one ticket.
// Sync callers take the lock only when it is free (a compare-and-swap of NEXT from SERVING), so
// they never wait behind a ticket they could abandon; when it is held they wait with
// Atomics.wait (workers, Node's main thread) up to the timeout, or fail at once where the thread
// may not block (a browser's main thread).
//
// An async waiter gives up (HeapBusyError) only when the holder has shown no progress (neither
// BEAT nor SERVING moved) for the timeout; its ticket is then passed on when it comes up, so the
// queue keeps moving if the holder revives.
import { HeapBusyError } from '../core/errors.js';
import { MutexLock, type HeapLock } from './lock.js';

const NEXT = 0;
const SERVING = 1;
const OWNER = 2;
const BEAT = 3;
const WAITERS = 4;
/** Words of the header the lock uses, from H_LOCK. */
export const LOCK_WORDS = 5;

/** Loads of SERVING an async waiter makes before it sleeps (a few microseconds). */
const SPINS = Number(globalThis.process?.env?.HH_SPINS ?? 4000);
/** How often an async waiter looks at the holder's progress, milliseconds. */
const CHECK_EVERY = 50;

let lastId = 0;
/** A process-unique, nonzero id for a manager (mixed with randomness: unique across threads in practice). */
function newId(): number {
  lastId = (lastId + 1) & 0xffff;
  return ((Math.floor(Math.random() * 0x7fff) + 1) << 16) | lastId;
}

/** True when this thread may block in Atomics.wait (not a browser's main thread). */
function threadCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // returns 'not-equal' at once
    return true;
  } catch {
    return false;
  }
}

let blockable: boolean | undefined;

export class SharedLock implements HeapLock {
  /** The lock words: an Int32Array over the shared header. */
  private readonly w: Int32Array;
  private readonly mutex = new MutexLock();
  /** This manager's id, stored in OWNER while it holds the lock. */
  readonly id = newId();
  /** Milliseconds a wait may last (see the file comment). */
  readonly timeout: number;
  private holding = false;

  constructor(words: Int32Array, timeout: number) {
    this.w = words;
    this.timeout = timeout;
  }

  /** True while an async operation of this manager holds the lock or waits for it. */
  get busy(): boolean {
    return this.mutex.busy;
  }

  /** True while this manager holds the lock (for example between the slices of its compaction). */
  get held(): boolean {
    return this.holding;
  }

  run<T>(task: () => T): Promise<T> {
    if (!this.mutex.busy && this.tryTake()) {
      // Free in this thread and across threads: run now (MutexLock's fast path counts the
      // call as pending until the next microtask).
      return this.mutex.run(() => {
        try {
          return task();
        } finally {
          this.release();
        }
      });
    }
    return this.mutex.runAsync(async () => {
      await this.acquire();
      try {
        return task();
      } finally {
        this.release();
      }
    });
  }

  runAsync<T>(task: () => Promise<T>): Promise<T> {
    return this.mutex.runAsync(async () => {
      await this.acquire();
      try {
        return await task();
      } finally {
        this.release();
      }
    });
  }

  /**
   * Runs `task` holding the lock, taken at once when free, else waited for with Atomics.wait up
   * to the timeout. Runs it at once when this manager already holds the lock (between its own
   * slices, in this thread). @throws HeapBusyError naming `method`.
   */
  runSync<T>(task: () => T, method: string): T {
    if (this.holding) return task();
    this.enter(method);
    try {
      return task();
    } finally {
      this.exit();
    }
  }

  /**
   * Takes the lock as `runSync` does, for a caller that runs its task itself (no closure on a
   * hot path) and then calls `exit()`. @throws HeapBusyError naming `method`.
   */
  enter(method: string): void {
    if (!this.tryTake()) this.acquireSync(method);
  }

  /** Releases the lock `enter` took. */
  exit(): void {
    this.release();
  }

  /** Marks progress while holding the lock (each slice of a long operation). */
  beat(): void {
    Atomics.add(this.w, BEAT, 1);
  }

  private acquireSync(method: string): void {
    const w = this.w;
    let start = -1;
    for (;;) {
      const s = Atomics.load(w, SERVING);
      if (this.tryTake()) return;
      blockable ??= threadCanBlock();
      if (!blockable)
        throw this.busyError(method, 'this thread may not wait (a browser main thread)');
      const now = performance.now();
      if (start < 0) start = now;
      const left = this.timeout - (now - start);
      if (left <= 0) throw this.busyError(method, `waited ${this.timeout} ms`);
      Atomics.add(w, WAITERS, 1);
      Atomics.wait(w, SERVING, s, left);
      Atomics.sub(w, WAITERS, 1);
    }
  }

  /** Takes the lock if it is free. */
  private tryTake(): boolean {
    const w = this.w;
    const s = Atomics.load(w, SERVING);
    if (Atomics.compareExchange(w, NEXT, s, (s + 1) | 0) !== s) return false;
    this.took();
    return true;
  }

  private async acquire(): Promise<void> {
    if (this.tryTake()) return;
    const w = this.w;
    const ticket = Atomics.add(w, NEXT, 1);
    // A hand-over between busy threads takes about a microsecond: spin for a few (where this
    // thread may block at all) before sleeping in waitAsync, which costs a wake-up.
    blockable ??= threadCanBlock();
    if (blockable) {
      for (let i = 0; i < SPINS; i++) {
        if (Atomics.load(w, SERVING) === ticket) {
          this.took();
          return;
        }
      }
    }
    // Node does not count a pending Atomics.waitAsync as work: keep the thread alive meanwhile.
    const alive = setInterval(noop, 1 << 30);
    Atomics.add(w, WAITERS, 1);
    try {
      let seen = Atomics.load(w, BEAT);
      let serving = Atomics.load(w, SERVING);
      let since = performance.now();
      for (;;) {
        const s = Atomics.load(w, SERVING);
        if (s === ticket) break;
        await waitChange(w, SERVING, s, CHECK_EVERY);
        const beat = Atomics.load(w, BEAT);
        const now = Atomics.load(w, SERVING);
        if (beat !== seen || now !== serving) {
          seen = beat;
          serving = now;
          since = performance.now();
        } else if (performance.now() - since >= this.timeout) {
          this.passOn(ticket);
          throw this.busyError(
            'alloc/free/resize/compact',
            `its holder made no progress for ${this.timeout} ms`,
          );
        }
      }
    } finally {
      Atomics.sub(w, WAITERS, 1);
      clearInterval(alive);
    }
    this.took();
  }

  /** A ticket given up: when it comes up, hand the lock straight on. */
  private passOn(ticket: number): void {
    const w = this.w;
    Atomics.add(w, WAITERS, 1);
    void (async () => {
      for (;;) {
        const s = Atomics.load(w, SERVING);
        if (s === ticket) break;
        await waitChange(w, SERVING, s, 1000);
      }
      Atomics.sub(w, WAITERS, 1);
      Atomics.add(w, SERVING, 1);
      Atomics.notify(w, SERVING);
    })();
  }

  private took(): void {
    // OWNER is for messages only: a plain write (an atomic one costs as much as the lock).
    this.w[OWNER] = this.id;
    this.holding = true;
  }

  private release(): void {
    const w = this.w;
    this.holding = false;
    w[OWNER] = 0;
    Atomics.add(w, SERVING, 1);
    if (Atomics.load(w, WAITERS) !== 0) Atomics.notify(w, SERVING);
  }

  private busyError(method: string, why: string): HeapBusyError {
    const owner = Atomics.load(this.w, OWNER);
    return new HeapBusyError(
      method,
      `the shared heap's lock is held by manager ${owner === 0 ? '(none: queued callers)' : owner} and ${why}`,
    );
  }
}

function noop(): void {}

/** Resolves when w[i] may no longer be `value`, or after `ms`. Never blocks the thread. */
function waitChange(w: Int32Array, i: number, value: number, ms: number): Promise<unknown> {
  if (typeof Atomics.waitAsync === 'function') {
    const r = Atomics.waitAsync(w, i, value, ms);
    return r.async ? r.value : Promise.resolve(r.value);
  }
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 4)));
}
