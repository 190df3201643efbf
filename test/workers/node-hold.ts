// Holds a shared heap's lock for `ms` milliseconds from inside a Sync call's task (this thread
// blocks meanwhile), raising `flag[0]` once it holds it.
import { parentPort, workerData } from 'node:worker_threads';
import { MemoryManager, type SharedHeap } from '../../src/index.js';

const { shared, ms, flag } = workerData as {
  shared: SharedHeap;
  ms: number;
  flag: SharedArrayBuffer;
};
const mm = MemoryManager.from(shared);
const signal = new Int32Array(flag);
const word = new Int32Array(new SharedArrayBuffer(4));
const hold = (): void => {
  Atomics.store(signal, 0, 1);
  Atomics.wait(word, 0, 0, ms);
};
(mm as unknown as { locked(m: string, t: () => void): void }).locked('hold', hold);
parentPort!.postMessage('done');
