// Holds a shared heap's lock for `ms` milliseconds (a sliced compaction that never finishes
// quickly is not needed: an async task under the lock is the same to the others).
import { parentPort, workerData } from 'node:worker_threads';
import { MemoryManager, type SharedHeap } from '../../src/index.js';

const { shared, ms } = workerData as { shared: SharedHeap; ms: number };
const mm = MemoryManager.from(shared);
mm.allocSync(8); // tells the test the Worker is running
const end = Date.now() + ms;
// Hold the lock from a Sync call's task: block this thread for `ms` (Atomics.wait on a dummy word).
mm.blocks(); // warm
const word = new Int32Array(new SharedArrayBuffer(4));
const hold = (): void => {
  Atomics.wait(word, 0, 0, Math.max(0, end - Date.now()));
};
(mm as unknown as { locked(m: string, t: () => void): void }).locked('hold', hold);
parentPort!.postMessage('done');
