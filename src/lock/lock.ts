// Serializes the heap's mutating async operations, so concurrent callers never interleave
// and run in call order. The in-process lock is an async-mutex `Mutex`; a lock over a
// SharedArrayBuffer for Workers can implement the same interface.
import { Mutex } from 'async-mutex';

export interface HeapLock {
  /** True while an operation holds the lock or waits for it. */
  readonly busy: boolean;
  /** Runs a synchronous task under the lock. */
  run<T>(task: () => T): Promise<T>;
  /** Runs an asynchronous task, holding the lock until its promise settles. */
  runAsync<T>(task: () => Promise<T>): Promise<T>;
  /** Marks progress while a long task holds the lock (each compaction slice). */
  beat(): void;
}

export class MutexLock implements HeapLock {
  private readonly mutex = new Mutex();
  private pending = 0;

  get busy(): boolean {
    return this.pending > 0;
  }

  run<T>(task: () => T): Promise<T> {
    if (this.pending === 0) {
      // Nothing holds or awaits the lock, and a synchronous task cannot be interleaved: run it
      // now and skip the mutex's promise round trips (the common, uncontended case). The call
      // still counts as pending until the next microtask, so a Sync twin called right after an
      // un-awaited async call is refused, as it would be behind a queued one.
      this.pending++;
      queueMicrotask(this.settle);
      try {
        return Promise.resolve(task());
      } catch (error) {
        // Reject with what the task threw, as the queued path (async-mutex) does.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the task's own value
        return Promise.reject(error);
      }
    }
    return this.runAsync(() => Promise.resolve().then(task));
  }

  beat(): void {}

  private readonly settle = (): void => {
    this.pending--;
  };

  async runAsync<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await this.mutex.runExclusive(task);
    } finally {
      this.pending--;
    }
  }
}
