// A Node worker_thread running one hammer participant (see hammer.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { hammer, type HammerJob } from './hammer.js';

const { job } = workerData as { job: HammerJob };
parentPort!.postMessage(await hammer(job));
