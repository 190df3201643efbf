/// <reference types="@webgpu/types" />
/**
 * The WebGPU example (examples/webgpu-pool) on Chromium's WebGPU device: 300 meshes, each its
 * own block of one GpuPool, drawn into an offscreen texture and read back; a random half of them
 * freed; the pool compacted on the GPU; the remaining meshes must draw pixel-identical, byte for
 * byte, before and after the compaction. The renders are saved as PNGs in
 * test-artifacts/webgpu-example/ (the strip webgpu-pool.png is the README's picture).
 * No adapter is a failure, not a skip. (The page's own canvas is not tested here: in headless
 * Chromium with --disable-gpu, getCurrentTexture() of a WebGPU canvas destroys the device.)
 */
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { BACKGROUND, createScene, type Mesh, type Scene } from '../examples/webgpu-pool/scene.js';
import { withWebGpuDevice } from './webgpu-device.js';

const CELL = 32; // pixels per grid cell
const COLUMNS = 20;
const ROWS = 15;
const WIDTH = COLUMNS * CELL; // 640: 4 bytes a pixel make rows of 2560, a multiple of 256
const HEIGHT = ROWS * CELL;
const FORMAT: GPUTextureFormat = 'rgba8unorm';
const ARTIFACTS = 'test-artifacts/webgpu-example'; // from the repository's root

let device: GPUDevice;
withWebGpuDevice((d) => (device = d));

/** Renders `which` meshes into a new texture and reads its RGBA bytes back, row after row. */
async function renderPixels(scene: Scene, which?: readonly Mesh[]): Promise<Uint8Array> {
  const texture = device.createTexture({
    size: [WIDTH, HEIGHT],
    format: FORMAT,
    usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC,
  });
  const bytesPerRow = WIDTH * 4;
  const readback = device.createBuffer({
    size: bytesPerRow * HEIGHT,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  device.pushErrorScope('validation');
  scene.render(texture, which);
  const encoder = device.createCommandEncoder();
  encoder.copyTextureToBuffer({ texture }, { buffer: readback, bytesPerRow }, [WIDTH, HEIGHT]);
  device.queue.submit([encoder.finish()]);
  expect(await device.popErrorScope()).toBeNull(); // every offset and size bound was legal
  await readback.mapAsync(GPUMapMode.READ);
  const pixels = new Uint8Array(readback.getMappedRange()).slice();
  readback.unmap();
  readback.destroy();
  texture.destroy();
  return pixels;
}

/** The pixel rectangle of a grid cell. */
function cellOf(mesh: Mesh): Box {
  return { x: mesh.column * CELL, y: mesh.row * CELL, width: CELL, height: CELL };
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const WHOLE: Box = { x: 0, y: 0, width: WIDTH, height: HEIGHT };

/** Pixels in `box` where `test(i)` holds, `i` the index of the pixel's first byte. */
function countPixels(box: Box, test: (i: number) => boolean): number {
  let n = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) if (test((y * WIDTH + x) * 4)) n++;
  }
  return n;
}

/** Pixels in `box` that are not the background colour (pixel 0, a corner no mesh reaches). */
function coverage(pixels: Uint8Array, box: Box): number {
  return countPixels(
    box,
    (i) => pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2],
  );
}

/** Pixels in `box` that differ between two renders, in any byte. */
function differing(a: Uint8Array, b: Uint8Array, box: Box = WHOLE): number {
  return countPixels(
    box,
    (i) => a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3],
  );
}

/** Saves a PNG through the vitest server (commands.writeFile), relative to the repository. */
async function savePng(path: string, canvas: OffscreenCanvas): Promise<void> {
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  await commands.writeFile(path, btoa(binary), 'base64');
}

/** A canvas holding one render. */
function canvasOf(pixels: Uint8Array): OffscreenCanvas {
  const canvas = new OffscreenCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext('2d')!;
  context.putImageData(new ImageData(new Uint8ClampedArray(pixels), WIDTH, HEIGHT), 0, 0);
  return canvas;
}

/** The three renders side by side at half size, captioned: the README's picture. */
function strip(panels: [string, Uint8Array][]): OffscreenCanvas {
  const w = WIDTH / 2;
  const h = HEIGHT / 2;
  const gap = 8;
  const caption = 22;
  const canvas = new OffscreenCanvas(panels.length * (w + gap) + gap, h + caption + gap);
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.font = '13px sans-serif';
  context.fillStyle = '#222222';
  panels.forEach(([text, pixels], i) => {
    const x = gap + i * (w + gap);
    context.fillText(text, x, 15);
    context.drawImage(canvasOf(pixels), x, caption, w, h);
  });
  return canvas;
}

describe('WebGPU example: meshes in a GpuPool', () => {
  it('the remaining meshes draw pixel-identical before and after a compaction that moved them', async () => {
    const scene = createScene(device, FORMAT, { columns: COLUMNS, rows: ROWS });
    const all = scene.meshes;
    expect(all).toHaveLength(300);
    expect(scene.pool.stats().liveBlocks).toBe(301); // and the uniform block

    // Everything: each cell shows its own mesh, centred on the mesh's colour; corners stay clear.
    const allPixels = await renderPixels(scene);
    const background = [BACKGROUND.r, BACKGROUND.g, BACKGROUND.b].map((c) => Math.round(c * 255));
    expect(Array.from(allPixels.subarray(0, 3))).toEqual(background);
    const problems: string[] = [];
    for (const mesh of all) {
      const covered = coverage(allPixels, cellOf(mesh));
      if (covered < 100) problems.push(`mesh ${mesh.handle}: ${covered} pixels`);
      const i = ((mesh.row * CELL + CELL / 2) * WIDTH + mesh.column * CELL + CELL / 2) * 4;
      const centre = Array.from(allPixels.subarray(i, i + 3));
      if (centre.some((c, k) => Math.abs(c - mesh.colour[k]) > 16))
        problems.push(`mesh ${mesh.handle}: centre ${centre.join()}, not ${mesh.colour.join()}`);
    }
    expect(problems).toEqual([]);

    // Half of them freed, the rest drawn where they are: freed cells are background, kept
    // cells hold the same bytes as before.
    const freed = scene.freeHalf();
    const kept = scene.meshes;
    expect([freed.length, kept.length]).toEqual([150, 150]);
    const before = await renderPixels(scene);
    for (const mesh of freed) {
      if (coverage(before, cellOf(mesh)) > 0) problems.push(`freed mesh ${mesh.handle} drawn`);
    }
    for (const mesh of kept) {
      const changed = differing(before, allPixels, cellOf(mesh));
      if (changed > 0) problems.push(`kept mesh ${mesh.handle}: ${changed} pixels changed`);
    }
    expect(problems).toEqual([]);

    // Compaction: blocks move on the GPU, the offsets change, the epoch advances.
    const { pool } = scene;
    const uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    const epoch = pool.epoch;
    const offsets = kept.map((mesh) => pool.offsetOf(mesh.handle));
    const uniformsAt = pool.offsetOf(scene.uniforms);
    expect(uniformsAt % uniformAlign).toBe(0);
    expect(pool.stats().freeBlocks).toBeGreaterThan(50); // holes all over the pool
    const report = scene.compact();
    pool.validate();
    expect(report.blocksMoved).toBeGreaterThan(100);
    expect(report.bytesMoved).toBeGreaterThan(0);
    expect(report.epoch).toBeGreaterThan(epoch);
    expect(pool.epoch).toBe(report.epoch);
    expect(pool.stats().freeBlocks).toBeLessThanOrEqual(2); // at most the uniform padding and the tail
    const moved = kept.filter((mesh, i) => pool.offsetOf(mesh.handle) !== offsets[i]);
    expect(moved.length).toBeGreaterThan(100);
    expect(pool.offsetOf(scene.uniforms)).toBeLessThan(uniformsAt); // moved, and still aligned
    expect(pool.offsetOf(scene.uniforms) % uniformAlign).toBe(0);

    // Poison the free space: an offset kept from before the compaction now reads junk there
    // (NaN positions), not the old bytes the moves left behind.
    const poison = pool.allocSync(pool.stats().largestFree);
    pool.write(poison, new Uint8Array(pool.sizeOf(poison)).fill(0xff));
    expect(pool.epoch).toBe(report.epoch); // it fit without moving anything

    // The same meshes again, at their new offsets: byte for byte the same picture.
    const after = await renderPixels(scene);
    for (const mesh of kept) {
      const changed = differing(before, after, cellOf(mesh));
      if (changed > 0) problems.push(`mesh ${mesh.handle}: ${changed} pixels changed`);
    }
    expect(problems).toEqual([]);
    expect(differing(before, after)).toBe(0); // every byte of every pixel, background too

    await savePng(`${ARTIFACTS}/all.png`, canvasOf(allPixels));
    await savePng(`${ARTIFACTS}/freed.png`, canvasOf(before));
    await savePng(`${ARTIFACTS}/compacted.png`, canvasOf(after));
    await savePng(
      `${ARTIFACTS}/webgpu-pool.png`,
      strip([
        [`${all.length} meshes, one pool block each`, allPixels],
        [`half of them freed (${kept.length} left)`, before],
        [`compacted: ${report.blocksMoved} blocks moved, same pixels`, after],
      ]),
    );
    scene.destroy();
  });
});
