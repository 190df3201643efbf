// Small Worker tasks for the shared-heap tests: `churn` (async alloc/free for a while, counting
// pairs) and `compact` (a sliced compaction that reports its first slice and goes on slowly).
import { parentPort, workerData } from 'node:worker_threads';
import { MemoryManager, type SharedHeap } from '../../src/index.js';

const { task, shared, ms, gate } = workerData as {
  task: string;
  shared: SharedHeap;
  ms: number;
  gate?: SharedArrayBuffer;
};
const mm = MemoryManager.from(shared);
if (task === 'churn') {
  // All Workers start together (the gate opens once every one is waiting at it), then make
  // async calls only, as fast as the lock lets them: how many pairs in `ms`?
  const word = new Int32Array(gate!);
  Atomics.add(word, 1, 1);
  Atomics.wait(word, 0, 0);
  const end = performance.now() + ms;
  let pairs = 0;
  while (performance.now() < end) {
    const h = await mm.alloc(8 + (pairs % 64));
    await mm.free(h);
    pairs++;
  }
  parentPort!.postMessage(pairs);
} else if (task === 'wait') {
  // Waits for the lock with an async call (long enough to ask for a hand-over), and is
  // terminated meanwhile by the test.
  parentPort!.postMessage('waiting');
  await mm.alloc(8);
  parentPort!.postMessage('got it');
} else if (task === 'compact') {
  let told = false;
  mm.onMove(() => {
    if (!told) parentPort!.postMessage('sliced');
    told = true;
  });
  await mm.compact({ sliceBytes: 16 }); // terminated before it ends
  parentPort!.postMessage('finished');
}
