/// <reference types="@webgpu/types" />
/**
 * GpuMover on a real WebGPU device (Chromium's software Vulkan device, TOOLCHAIN.md point 9):
 * random plans of moves (overlapping either way, by as little as 4 bytes, onto themselves, of 0
 * bytes), stages and unstages run on a GPUBuffer and, by test/move-plans.ts's reference, on a
 * CPU copy; the whole buffer read back must equal the copy byte for byte, with no WebGPU error.
 * No adapter is a failure, not a skip: the browser project launches Chromium with WebGPU on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GpuMover, readBack } from '../src/webgpu/gpu-moves.js';
import type { MoveStep } from '../src/webgpu/move-plan.js';
import {
  applyReference,
  firstDifference,
  randomBytes,
  rawPlan,
  resolvePlan,
  stagedPermutation,
} from './move-plans.js';
import { Rng } from './prng.js';
import { withWebGpuDevice } from './webgpu-device.js';

const BUFFER_BYTES = 64 << 10;
const USAGE = 4 | 8; // GPUBufferUsage.COPY_SRC | COPY_DST, readable before a device exists

let device: GPUDevice;
withWebGpuDevice((d) => (device = d));

function createBuffer(bytes: Uint8Array<ArrayBuffer>): GPUBuffer {
  const buffer = device.createBuffer({ size: bytes.length, usage: USAGE });
  device.queue.writeBuffer(buffer, 0, bytes);
  return buffer;
}

/**
 * Runs `steps` on a GPU buffer holding `initial` and on a CPU copy; returns the first byte where
 * they differ after the plan (-1: none) and any validation error.
 */
async function runBoth(mover: GpuMover, initial: Uint8Array<ArrayBuffer>, steps: MoveStep[]) {
  const buffer = createBuffer(initial);
  device.pushErrorScope('validation');
  mover.apply(buffer, steps);
  const error = await device.popErrorScope();
  const gpu = await readBack(device, buffer, 0, buffer.size);
  buffer.destroy();
  const cpu = initial.slice();
  applyReference(cpu, steps);
  return { difference: firstDifference(gpu, cpu), error: error?.message ?? null };
}

describe('WebGPU here', () => {
  it('has an adapter and a device', () => {
    expect(device).toBeDefined();
    expect(device.limits.maxBufferSize).toBeGreaterThanOrEqual(BUFFER_BYTES);
  });

  it('refuses a copy from a buffer to itself, even disjoint: why moves need a scratch buffer', async () => {
    const buffer = device.createBuffer({ size: 64, usage: USAGE });
    const encoder = device.createCommandEncoder();
    device.pushErrorScope('validation');
    encoder.copyBufferToBuffer(buffer, 0, buffer, 32, 16);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    buffer.destroy();
    expect(error).not.toBeNull();
  });
});

describe('readBack', () => {
  it('reads a range of a buffer', async () => {
    const bytes = randomBytes(new Rng(1), 256);
    const buffer = createBuffer(bytes);
    expect(await readBack(device, buffer, 64, 100)).toEqual(bytes.slice(64, 164));
    expect(await readBack(device, buffer, 256, 0)).toEqual(new Uint8Array(0));
    buffer.destroy();
  });

  it('refuses unaligned and out-of-range reads', async () => {
    const buffer = device.createBuffer({ size: 64, usage: USAGE });
    await expect(readBack(device, buffer, 2, 4)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(readBack(device, buffer, 0, 6)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(readBack(device, buffer, 32, 64)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    buffer.destroy();
  });
});

describe('GpuMover', () => {
  it('random plans equal the CPU reference byte for byte, for windows of 64 bytes to 4 MiB', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        rawPlan(10),
        fc.constantFrom(64, 252, 1020, 4096, 1 << 16, 4 << 20),
        fc.integer(),
        async (raw, windowBytes, seed) => {
          const steps = resolvePlan(raw, BUFFER_BYTES, BUFFER_BYTES / 2);
          const mover = new GpuMover(device, { windowBytes });
          const result = await runBoth(mover, randomBytes(new Rng(seed), BUFFER_BYTES), steps);
          mover.destroy();
          runs++;
          expect(result).toEqual({ difference: -1, error: null });
        },
      ),
      { numRuns: 60 },
    );
    expect(runs).toBeGreaterThanOrEqual(60);
  });

  it('a window of 4 bytes: a move is all pieces, in the right order both ways', async () => {
    const rng = new Rng(4);
    const mover = new GpuMover(device, { windowBytes: 4 });
    const n = 1024;
    const steps: MoveStep[] = [
      { kind: 'move', from: 4, to: 0, size: n - 4 }, // down by one word
      { kind: 'move', from: 0, to: 4, size: n - 4 }, // up by one word
      { kind: 'move', from: 0, to: 256, size: 512 }, // up, overlapping by half
      { kind: 'move', from: 512, to: 8, size: 500 }, // down, overlapping
    ];
    expect(await runBoth(mover, randomBytes(rng, n), steps)).toEqual({
      difference: -1,
      error: null,
    });
    mover.destroy();
  });

  it('staged permutations of blocks (stage all, unstage in another order) equal the reference', async () => {
    const mover = new GpuMover(device);
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      const steps = stagedPermutation(rng, BUFFER_BYTES, rng.int(1, 60), 1024);
      const result = await runBoth(mover, randomBytes(rng, BUFFER_BYTES), steps);
      expect({ seed, ...result }).toEqual({ seed, difference: -1, error: null });
    }
    mover.destroy();
  });

  it('a large move between a stage and its unstage leaves the staged bytes intact', async () => {
    // The window follows the staging area in the scratch buffer: the move's pieces must not
    // land on staged bytes.
    const rng = new Rng(7);
    const mover = new GpuMover(device, { windowBytes: 256 });
    const steps: MoveStep[] = [
      { kind: 'stage', handle: 1, from: 0, to: 0, size: 4096 },
      { kind: 'move', handle: 2, from: 8192, to: 4, size: 32768 },
      { kind: 'move', handle: 3, from: 4, to: 12, size: 32768 },
      { kind: 'unstage', handle: 1, from: 0, to: 60000, size: 4096 },
    ];
    expect(await runBoth(mover, randomBytes(rng, BUFFER_BYTES), steps)).toEqual({
      difference: -1,
      error: null,
    });
    mover.destroy();
  });

  it('grows its scratch buffer across plans submitted back to back, without waiting', async () => {
    const rng = new Rng(11);
    const mover = new GpuMover(device, { windowBytes: 1024 });
    const initial = randomBytes(rng, BUFFER_BYTES);
    const buffer = createBuffer(initial);
    const cpu = initial.slice();
    const sizes: number[] = [];
    device.pushErrorScope('validation');
    for (let round = 0; round < 8; round++) {
      // Each round stages more than the last: the scratch buffer must grow now and then.
      const block = 512 << round;
      const steps = stagedPermutation(rng, BUFFER_BYTES, 2, Math.min(block, BUFFER_BYTES / 2));
      steps.push({ kind: 'move', from: 0, to: 4, size: BUFFER_BYTES - 4 });
      mover.apply(buffer, steps);
      applyReference(cpu, steps);
      sizes.push(mover.scratchBytes);
    }
    const error = await device.popErrorScope();
    expect(error?.message ?? null).toBeNull();
    expect(firstDifference(await readBack(device, buffer, 0, BUFFER_BYTES), cpu)).toBe(-1);
    expect(sizes.every((s, i) => i === 0 || s >= sizes[i - 1])).toBe(true);
    expect(new Set(sizes).size).toBeGreaterThan(1);
    buffer.destroy();
    mover.destroy();
  });

  it('encodes nothing and creates no scratch buffer for a plan of no-ops', () => {
    const mover = new GpuMover(device);
    const buffer = device.createBuffer({ size: 64, usage: USAGE });
    const encoder = device.createCommandEncoder();
    const steps: MoveStep[] = [
      { kind: 'move', from: 8, to: 8, size: 32 },
      { kind: 'move', from: 0, to: 32, size: 0 },
      { kind: 'stage', from: 0, to: 1024, size: 0 },
    ];
    expect(mover.encode(encoder, buffer, steps)).toBe(0);
    expect(mover.scratchBytes).toBe(0);
    device.queue.submit([encoder.finish()]);
    buffer.destroy();
    mover.destroy();
  });

  it('counts two commands per piece of a move and one per stage or unstage', () => {
    const mover = new GpuMover(device, { windowBytes: 16 });
    const buffer = device.createBuffer({ size: 256, usage: USAGE });
    const encoder = device.createCommandEncoder();
    const steps: MoveStep[] = [
      { kind: 'stage', from: 0, to: 0, size: 40 },
      { kind: 'move', from: 0, to: 4, size: 40 }, // 3 pieces
      { kind: 'unstage', from: 0, to: 128, size: 40 },
    ];
    expect(mover.encode(encoder, buffer, steps)).toBe(8);
    expect(mover.scratchBytes).toBe(40 + 16);
    device.queue.submit([encoder.finish()]);
    buffer.destroy();
    mover.destroy();
  });

  it('checks the whole plan before encoding anything', async () => {
    const mover = new GpuMover(device);
    const initial = randomBytes(new Rng(3), 256);
    const buffer = createBuffer(initial);
    const encoder = device.createCommandEncoder();
    const steps: MoveStep[] = [
      { kind: 'move', from: 0, to: 4, size: 64 },
      { kind: 'move', from: 0, to: 200, size: 64 }, // past the end
    ];
    expect(() => mover.encode(encoder, buffer, steps)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    device.queue.submit([encoder.finish()]);
    expect(await readBack(device, buffer, 0, 256)).toEqual(initial);
    buffer.destroy();
    mover.destroy();
  });

  it('refuses a buffer without both copy usages, bad options, and use after destroy', () => {
    const mover = new GpuMover(device);
    const readOnly = device.createBuffer({ size: 64, usage: 4 /* COPY_SRC */ });
    const encoder = device.createCommandEncoder();
    expect(() => mover.encode(encoder, readOnly, [])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    for (const windowBytes of [0, 2, 6, -4, 1.5]) {
      expect(() => new GpuMover(device, { windowBytes })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
    }
    mover.destroy();
    const buffer = device.createBuffer({ size: 64, usage: USAGE });
    expect(() => mover.encode(encoder, buffer, [])).toThrow(
      expect.objectContaining({ code: 'ERR_DESTROYED' }),
    );
    readOnly.destroy();
    buffer.destroy();
  });
});
