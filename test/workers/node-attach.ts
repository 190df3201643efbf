// Attaches a shared heap again and again (MemoryManager.from) until told to stop, while the
// test grows the heap from another thread: attaching must never write the shared header.
import { parentPort } from 'node:worker_threads';
import { MemoryManager, type SharedHeap } from '../../src/index.js';

parentPort!.on('message', (m: { shared: SharedHeap; stop: SharedArrayBuffer }) => {
  const stop = new Int32Array(m.stop);
  MemoryManager.from(m.shared);
  let n = 1;
  parentPort!.postMessage('attaching'); // and attaching again until told to stop
  while (Atomics.load(stop, 0) === 0) {
    MemoryManager.from(m.shared);
    n++;
  }
  parentPort!.postMessage(n);
});
