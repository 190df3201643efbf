// A Web Worker running one hammer participant (see hammer.ts).
import { hammer, type HammerJob } from './hammer.js';

self.onmessage = async (event: MessageEvent<HammerJob>) => {
  self.postMessage(await hammer(event.data));
};
