/// <reference types="@webgpu/types" />
/**
 * The WebGPU device of a browser test file: requested once before its tests (no adapter is a
 * failure, not a skip: the browser project launches Chromium with WebGPU on), checked after
 * every test for errors nobody captured, destroyed after the file.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** Registers the hooks; `use` receives the device before the first test runs. */
export function withWebGpuDevice(use: (device: GPUDevice) => void): void {
  let device: GPUDevice | undefined;
  const uncaptured: string[] = [];
  beforeAll(async () => {
    expect(navigator.gpu, 'navigator.gpu (secure context, --enable-unsafe-webgpu)').toBeDefined();
    const adapter = await navigator.gpu.requestAdapter();
    expect(adapter, 'a WebGPU adapter').not.toBeNull();
    device = await adapter!.requestDevice();
    device.addEventListener('uncapturederror', (event) => {
      uncaptured.push(event.error.message);
    });
    use(device);
  });
  afterEach(() => {
    expect(uncaptured).toEqual([]);
  });
  afterAll(() => {
    device?.destroy();
  });
}
