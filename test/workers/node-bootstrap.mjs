// Runs a TypeScript worker entry under Node: Node 20 ignores `execArgv: ['--import', 'tsx']`
// for a Worker, so register tsx's loader here, then import the entry named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
