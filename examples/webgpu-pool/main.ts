/// <reference types="@webgpu/types" />
// The example page: the scene of scene.ts on a canvas, with buttons to free half of the meshes
// and to compact the pool, and a line of the pool's stats. `npm run example:webgpu`.
import { createScene, type CompactReport, type Scene } from './scene.js';

const canvas = element<HTMLCanvasElement>('canvas');
const stats = element('stats');
const buttons = {
  freeHalf: element<HTMLButtonElement>('free-half'),
  compact: element<HTMLButtonElement>('compact'),
  reset: element<HTMLButtonElement>('reset'),
};

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`The page has no #${id}.`);
  return found as T;
}

function fail(text: string): void {
  const message = element('message');
  message.textContent = text;
  message.hidden = false;
  for (const button of Object.values(buttons)) button.disabled = true;
}

async function start(): Promise<void> {
  if (!('gpu' in navigator)) {
    fail(
      'This browser has no WebGPU (navigator.gpu): try a current Chrome, Edge or Safari. ' +
        'WebGPU also needs a secure context: serve the page from https:// or localhost.',
    );
    return;
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (adapter === null) {
    fail('WebGPU is there, but no adapter was found (is hardware acceleration off?).');
    return;
  }
  const device = await adapter.requestDevice();
  void device.lost.then((info) => fail(`The GPU device was lost: ${info.message}`));
  const format = navigator.gpu.getPreferredCanvasFormat();
  const context = canvas.getContext('webgpu');
  if (context === null) {
    fail('This canvas has no WebGPU context.');
    return;
  }
  context.configure({ device, format, alphaMode: 'opaque' });

  let scene: Scene = createScene(device, format);
  let last: CompactReport | undefined;
  const update = (): void => {
    scene.render(context.getCurrentTexture());
    const s = scene.pool.stats();
    const compaction =
      last === undefined
        ? 'not compacted yet'
        : `last compaction moved ${last.blocksMoved} blocks, ${last.bytesMoved} bytes`;
    stats.textContent =
      `${scene.meshes.length} meshes, ${s.liveBlocks} blocks (with the uniform block), ` +
      `${s.free} bytes free in ${s.freeBlocks} gaps (largest ${s.largestFree}); ` +
      `${compaction}; epoch ${scene.pool.epoch}`;
  };
  buttons.freeHalf.onclick = () => {
    scene.freeHalf();
    update();
  };
  buttons.compact.onclick = () => {
    last = scene.compact();
    update();
  };
  buttons.reset.onclick = () => {
    scene.destroy();
    scene = createScene(device, format);
    last = undefined;
    update();
  };
  for (const button of Object.values(buttons)) button.disabled = false;
  update();
}

start().catch((error: unknown) => fail(`Could not start: ${String(error)}`));
