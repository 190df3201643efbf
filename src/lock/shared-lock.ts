// The lock of a heap shared between threads, in seven words of the shared header, driven by
// Atomics, so every thread that attached the heap sees one lock.
//
//   STATE    0 free; 1 held; 2 handed to the manager in OWNER, which has not claimed it yet
//   OWNER    the id of the manager holding it (0 when free)
//   SEQ      advanced at every acquisition: waiters watch it (and BEAT) for progress
//   BEAT     advanced by the holder at every step of a long operation (each slice)
//   WAITERS  threads sleeping on STATE: a release notifies only when there are some
//   HANDOFF  the id of a waiter that has waited too long: the next release hands it the lock
//   IDS      the last manager id handed out (ids are unique per heap)
//   HANDED   when the last hand-over was made (low 32 bits of Date.now()): a hand-over older
//            than STEAL_MS may be taken by any waiter, whatever its own timeout
//
// Taking a free lock is one compare-and-swap of STATE, 0 to 1. A thread that finds it held
// spins for tens of microseconds (where it may block at all), then sleeps on STATE: async
// callers with Atomics.waitAsync (no thread ever blocks), Sync callers with Atomics.wait up to
// the timeout (Workers, Node's main thread); where a thread may not block (a browser's main
// thread) a Sync call fails at once. A running thread may take the lock ahead of sleeping ones
// (barging): a hand-over then costs no wake-up, which keeps throughput when there are more
// threads than cores. To bound the unfairness, a waiter that has waited FAIR_MS asks for the
// lock in HANDOFF, and the next release hands it over instead of freeing it: it writes the
// waiter into OWNER and sets STATE to 2, and the waiter claims it (2 to 1). A hand-over that
// nobody claims for STEAL_MS (its waiter died, or its thread is busy) may be taken by any
// waiter, so a dead waiter cannot wedge the lock. Waiters sleep on the value of STATE they saw,
// so no change of STATE is missed. Within one thread, an in-process mutex keeps call order.
//
// A waiter gives up (HeapBusyError) only when the holder has shown no progress (neither SEQ
// nor BEAT moved) for the timeout, for async calls. When the waiter's own thread wakes it late
// (busy with other work) while the holder is a manager of the same thread, the lateness is not
// counted: that holder could not run either. A holder in another thread could, so there it
// counts. A Sync wait ends after the timeout anyway.
// A Sync call never waits while another manager of the same heap in the same thread holds or
// awaits the lock: that manager could not move on while this thread waits, so it fails at once.
import { HeapBusyError } from '../core/errors.js';
import { MutexLock, type HeapLock } from './lock.js';

const STATE = 0;
const OWNER = 1;
const SEQ = 2;
const BEAT = 3;
const WAITERS = 4;
const HANDOFF = 5;
const IDS = 6;
const HANDED_AT = 7;
/** Words of the header the lock uses, from H_LOCK. */
export const LOCK_WORDS = 8;

const FREE = 0;
const HELD = 1;
const HANDED = 2;

/**
 * Looks at STATE a thread takes before it sleeps, with BACKOFF steps of busy work between two
 * looks (tens of microseconds in all). Looking less often than it could lets the thread that
 * just released the lock take it again while its cache is warm: measured with 2 Workers on 2
 * cores, 0.5x one thread's throughput, against 0.35x looking continuously.
 */
const SPINS = 50;
const BACKOFF = 1000;
/** The busy work's result: kept, so the loop is not optimized away. */
let sink = 0;
/** How long a waiter lets running threads take the lock ahead of it, milliseconds. */
const FAIR_MS = 2;
/** How long a hand-over may stay unclaimed before another waiter takes it, milliseconds. */
const STEAL_MS = 10;
/** How often a sleeping waiter looks at the holder's progress, milliseconds. */
const CHECK_EVERY = 5;

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

function canBlock(): boolean {
  blockable ??= threadCanBlock();
  return blockable;
}

/**
 * Per heap (its tag, a random word of its shared header: one heap can reach a thread through
 * several SharedArrayBuffer objects), how many managers in this thread hold or await its lock,
 * and the id of the one holding it (0 when none of this thread's does). An entry is a few bytes
 * per shared heap a thread ever attached; it is never removed. The map hangs on the global
 * object under a registered symbol, so two copies of this module in one realm (an ESM and a
 * CommonJS build in one Node process, two bundles in one page) share it; another realm on the
 * same thread (a same-origin iframe) has its own, and a manager there counts as another
 * thread's (as in a realm whose global object is frozen, where each copy keeps its own). A
 * change of the entries' shape needs a new key.
 */
const THREADS_KEY = Symbol.for('handle-heap.shared-lock.threads.v1');
const inThread = threadsMap();

/** The realm's map, made on first use; a module-local one where the global object is frozen. */
function threadsMap(): Map<number, ThreadShare> {
  const global = globalThis as Record<symbol, unknown>;
  try {
    return (global[THREADS_KEY] ??= new Map()) as Map<number, ThreadShare>;
  } catch {
    return new Map(); // a non-extensible global (a hardened realm): this copy alone
  }
}

interface ThreadShare {
  n: number;
  holder: number;
}

export class SharedLock implements HeapLock {
  /** The lock words: an Int32Array over the shared header. */
  private readonly w: Int32Array;
  private readonly mutex = new MutexLock();
  /** This manager's id, unique among the managers of its heap; OWNER while it holds the lock. */
  readonly id: number;
  /** Milliseconds a wait may last (see the file comment). */
  readonly timeout: number;
  private holding = false;
  /** This thread's managers of this heap holding or awaiting the lock (shared by them). */
  private readonly thread: ThreadShare;

  /** `tag`: the heap's tag (the same for every manager of the heap, in every thread). */
  constructor(words: Int32Array, timeout: number, tag: number) {
    this.w = words;
    this.timeout = timeout;
    let thread = inThread.get(tag);
    if (thread === undefined) inThread.set(tag, (thread = { n: 0, holder: 0 }));
    this.thread = thread;
    let id = Atomics.add(words, IDS, 1) + 1;
    if (id === 0) id = Atomics.add(words, IDS, 1) + 1; // 0 means nobody
    this.id = id;
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
    if (!this.mutex.busy && (this.tryTake() || this.spin())) {
      // Free in this thread, and across threads now or after a short spin: run now
      // (MutexLock's fast path counts the call as pending until the next microtask).
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
      if (!this.tryTake() && !this.spin()) await this.acquire();
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

  /** Takes the lock if it is free. */
  private tryTake(): boolean {
    if (Atomics.compareExchange(this.w, STATE, FREE, HELD) !== FREE) return false;
    this.took();
    return true;
  }

  /** Claims a hand-over made to this manager. */
  private claim(): boolean {
    const w = this.w;
    if (Atomics.load(w, OWNER) !== this.id) return false;
    if (Atomics.compareExchange(w, STATE, HANDED, HELD) !== HANDED) return false;
    if (Atomics.load(w, OWNER) !== this.id) {
      // Taken over between the two looks (a stale hand-over stolen and handed to another):
      // the lock is this thread's now all the same, as HELD; it owns it.
      Atomics.store(w, OWNER, this.id);
    }
    this.hold();
    return true;
  }

  /** Takes a hand-over nobody claimed (its waiter died or is busy). */
  private steal(): boolean {
    if (Atomics.compareExchange(this.w, STATE, HANDED, HELD) !== HANDED) return false;
    this.took();
    return true;
  }

  /** Spins briefly, where this thread may block at all (never a browser main thread), for the lock to come free. */
  private spin(): boolean {
    if (!canBlock()) return false;
    const w = this.w;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(w, STATE) === FREE && this.tryTake()) return true;
      for (let k = 0; k < BACKOFF; k++) sink = (sink * 31 + k) | 0;
    }
    return false;
  }

  /** Asks for the next release to hand the lock to this manager; true when it now asks. */
  private ask(): boolean {
    return Atomics.compareExchange(this.w, HANDOFF, 0, this.id) === 0;
  }

  /**
   * One look at the lock for a waiter: takes it when free, claims a hand-over to this manager,
   * takes a hand-over left unclaimed for STEAL_MS (by the shared HANDED_AT clock).
   */
  private look(): boolean {
    if (this.tryTake() || this.claim()) return true;
    const w = this.w;
    if (Atomics.load(w, STATE) !== HANDED) return false;
    const age = ((Date.now() | 0) - Atomics.load(w, HANDED_AT)) | 0;
    return age >= STEAL_MS && this.steal();
  }

  /**
   * While asking: false once the request is gone without the lock (its hand-over stolen, or
   * taken by a stale claim): then ask again later.
   */
  private stillAsking(): boolean {
    const w = this.w;
    return Atomics.load(w, HANDOFF) === this.id || Atomics.load(w, OWNER) === this.id;
  }

  private acquireSync(method: string): void {
    if (this.look()) return; // free, handed to this manager, or a stale hand-over
    if (!canBlock())
      throw this.busyError(method, 'this thread may not wait (a browser main thread)');
    if (this.thread.n > 0) {
      throw this.busyError(
        method,
        'another manager of this heap in this thread holds or awaits it, and waiting here would block that manager',
      );
    }
    if (this.spin()) return;
    const w = this.w;
    const start = performance.now();
    let asking = false;
    Atomics.add(w, WAITERS, 1);
    try {
      for (;;) {
        const now = performance.now();
        if (this.look()) return;
        if (asking && !this.stillAsking()) asking = false;
        const waited = now - start;
        if (waited >= this.timeout) throw this.busyError(method, `waited ${this.timeout} ms`);
        if (!asking && waited >= FAIR_MS) asking = this.ask();
        const seen = Atomics.load(w, STATE);
        if (seen !== FREE)
          Atomics.wait(w, STATE, seen, Math.min(CHECK_EVERY, this.timeout - waited));
      }
    } finally {
      if (asking && !this.holding) this.withdrawOrClaim();
      Atomics.sub(w, WAITERS, 1);
    }
  }

  private async acquire(): Promise<void> {
    const w = this.w;
    // Node does not count a pending Atomics.waitAsync as work: keep the thread alive meanwhile.
    const alive = setInterval(noop, 1 << 30);
    Atomics.add(w, WAITERS, 1);
    this.enterThread();
    let asking = false;
    try {
      const start = performance.now();
      let seq = Atomics.load(w, SEQ);
      let beat = Atomics.load(w, BEAT);
      let since = start;
      for (;;) {
        const now = performance.now();
        if (this.look()) return;
        if (asking && !this.stillAsking()) asking = false;
        if (!asking && now - start >= FAIR_MS) asking = this.ask();
        const s = Atomics.load(w, SEQ);
        const b = Atomics.load(w, BEAT);
        if (s !== seq || b !== beat) {
          seq = s;
          beat = b;
          since = now;
        } else if (now - since >= this.timeout) {
          throw this.busyError(
            'alloc/free/resize/compact',
            `its holder made no progress for ${this.timeout} ms`,
          );
        }
        const seen = Atomics.load(w, STATE);
        if (seen !== FREE) {
          const ms = asking ? CHECK_EVERY : FAIR_MS;
          await waitChange(w, STATE, seen, ms);
          // Time this thread was busy past the wait's end (a long task, another test file in
          // the same page) is not held against a holder of this thread: it could not beat then.
          const late = performance.now() - now - ms;
          // (OWNER is checked too: it names the holder even if two heaps' tags collided.)
          const local = this.thread.holder;
          if (late > 0 && local !== 0 && Atomics.load(w, OWNER) === local) since += late;
        }
      }
    } finally {
      if (asking && !this.holding) this.withdrawOrClaim();
      this.leaveThread(); // took() or claim() counted this manager again if it holds the lock
      Atomics.sub(w, WAITERS, 1);
      clearInterval(alive);
    }
  }

  /**
   * Leaving without the lock while asking for it: withdraws the request. When a release took it
   * first, the hand-over to this manager is passed on as a free lock (it never ran a task).
   */
  private withdrawOrClaim(): void {
    const w = this.w;
    if (Atomics.compareExchange(w, HANDOFF, this.id, 0) === this.id) return; // withdrawn
    // A release took the request: it is a few instructions from setting STATE to 2 (or did).
    for (let i = 0; i < 100_000 && Atomics.load(w, STATE) === HELD; i++) {
      if (Atomics.load(w, OWNER) !== this.id) return; // not for this manager after all
    }
    if (this.claim()) this.release();
  }

  private took(): void {
    const w = this.w;
    // OWNER and SEQ are written by the holder only: plain writes (atomic ones cost as much as
    // the lock); readers use them for messages and progress only.
    w[OWNER] = this.id;
    w[SEQ] = (w[SEQ] + 1) | 0;
    this.hold();
    // A request this manager made while waiting is answered by taking the lock itself.
    if (w[HANDOFF] === this.id) Atomics.compareExchange(w, HANDOFF, this.id, 0);
  }

  /** This manager now holds the lock, and its thread's share says so. */
  private hold(): void {
    this.holding = true;
    this.thread.holder = this.id;
    this.enterThread();
  }

  private release(): void {
    const w = this.w;
    this.holding = false;
    this.thread.holder = 0;
    this.leaveThread();
    const next = Atomics.load(w, HANDOFF);
    if (next !== 0 && next !== this.id) {
      // A waiter waited too long: hand the lock to it (it claims STATE 2 -> 1).
      Atomics.store(w, OWNER, next);
      w[SEQ] = (w[SEQ] + 1) | 0;
      if (Atomics.compareExchange(w, HANDOFF, next, 0) === next) {
        Atomics.store(w, HANDED_AT, Date.now() | 0);
        Atomics.store(w, STATE, HANDED);
        Atomics.notify(w, STATE);
        return;
      }
      // It withdrew meanwhile: free the lock as usual.
    }
    w[OWNER] = 0;
    Atomics.store(w, STATE, FREE);
    if (Atomics.load(w, WAITERS) !== 0) Atomics.notify(w, STATE, 1);
  }

  private enterThread(): void {
    this.thread.n++;
  }

  private leaveThread(): void {
    this.thread.n--;
  }

  private busyError(method: string, why: string): HeapBusyError {
    const owner = Atomics.load(this.w, OWNER);
    return new HeapBusyError(
      method,
      `the shared heap's lock is held by manager ${owner === 0 ? '(unknown)' : owner} and ${why}`,
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
