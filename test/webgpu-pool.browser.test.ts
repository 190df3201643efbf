/// <reference types="@webgpu/types" />
/**
 * GpuPool on Chromium's WebGPU device: a model-based run (random alloc, aligned alloc, free,
 * resize, write, pin, unpin, compact sync and sliced) where, after every operation, the whole
 * GPU buffer is read back and every live block's bytes must equal a CPU model's; uniform blocks
 * aligned to minUniformBufferOffsetAlignment bound with dynamic offsets before and after a
 * compaction; and the pool's argument checks. No adapter is a failure, not a skip.
 */
import { describe, expect, it } from 'vitest';
import { InvalidHandleError } from '../src/index.js';
import { GpuPool, readBack } from '../src/webgpu/index.js';
import { runPoolModel } from './pool-model.js';
import { withWebGpuDevice } from './webgpu-device.js';

let device: GPUDevice;
withWebGpuDevice((d) => (device = d));

describe('GpuPool: a model-based run on the GPU', () => {
  it.each([
    ['first-fit', 1, false],
    ['best-fit', 2, false],
    ['first-fit', 3, true],
  ] as const)(
    '%s (seed %i, zeroFill %s): after every operation each live block holds its bytes on the GPU',
    async (strategy, seed, zeroFill) => {
      // With zeroFill, clears run after the moves that made room (their sources may overlap).
      const pool = new GpuPool(device, { size: 16 << 10, align: 4, strategy, zeroFill });
      const { mismatches, moved, staged } = await runPoolModel(pool, {
        seed,
        steps: 600,
        quantum: 4,
        readAll: () => readBack(device, pool.buffer, 0, pool.capacity),
      });
      expect(mismatches).toEqual([]);
      expect(moved).toBeGreaterThan(20); // the run did move blocks on the GPU
      expect(staged).toBeGreaterThan(0); // including a resize that compacts around its block
      pool.destroy();
    },
  );
});

describe('GpuPool: uniform blocks bound with dynamic offsets', () => {
  it('256-aligned uniform blocks beside vertex-sized ones read right in a shader, before and after compaction', async () => {
    const align = device.limits.minUniformBufferOffsetAlignment;
    const pool = new GpuPool(device, { size: 64 << 10 });
    const uniforms: number[] = [];
    const values = new Map<number, Uint32Array<ArrayBuffer>>();
    const others: number[] = [];
    for (let i = 0; i < 24; i++) {
      others.push(pool.allocSync(12 + 4 * (i % 7))); // vertex-ish blocks at 4-byte alignment
      const u = pool.allocSync(16, { align });
      const v = new Uint32Array([i, i * 7, i * 13 + 1, 0xabc00000 + i]);
      pool.write(u, v);
      uniforms.push(u);
      values.set(u, v);
    }
    const module = device.createShaderModule({
      code: `
        @group(0) @binding(0) var<uniform> u: vec4<u32>;
        @group(0) @binding(1) var<storage, read_write> out: vec4<u32>;
        @compute @workgroup_size(1) fn main() { out = u; }`,
    });
    const layout = device.createBindGroupLayout({
      entries: [
        {
          binding: 0,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'uniform', hasDynamicOffset: true },
        },
        {
          binding: 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'storage', hasDynamicOffset: true },
        },
      ],
    });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const stride = device.limits.minStorageBufferOffsetAlignment;
    const results = device.createBuffer({
      size: stride * uniforms.length,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const bindGroup = device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: pool.buffer, size: 16 } },
        { binding: 1, resource: { buffer: results, size: 16 } },
      ],
    });
    /** Runs the shader once per live uniform block at its current offset; returns what it read. */
    const readInShader = async (blocks: number[]): Promise<number[][]> => {
      device.pushErrorScope('validation');
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      blocks.forEach((u, i) => {
        pass.setBindGroup(0, bindGroup, [pool.offsetOf(u), i * stride]);
        pass.dispatchWorkgroups(1);
      });
      pass.end();
      device.queue.submit([encoder.finish()]);
      expect(await device.popErrorScope()).toBeNull(); // every dynamic offset was legal
      const bytes = await readBack(device, results, 0, stride * blocks.length);
      return blocks.map((_, i) => Array.from(new Uint32Array(bytes.buffer, i * stride, 4)));
    };
    expect(await readInShader(uniforms)).toEqual(uniforms.map((u) => Array.from(values.get(u)!)));
    // Free every other block of each kind, compact (moves on the GPU), bind again.
    const kept = uniforms.filter((_, i) => i % 2 === 0);
    uniforms.filter((_, i) => i % 2 === 1).forEach((u) => pool.freeSync(u));
    others.filter((_, i) => i % 2 === 0).forEach((h) => pool.freeSync(h));
    const epoch = pool.epoch;
    const before = kept.map((u) => pool.offsetOf(u));
    const result = pool.compactSync();
    expect(result.blocksMoved).toBeGreaterThan(0);
    expect(pool.epoch).not.toBe(epoch);
    expect(kept.map((u) => pool.offsetOf(u))).not.toEqual(before);
    for (const u of kept) expect(pool.offsetOf(u) % align).toBe(0);
    expect(await readInShader(kept)).toEqual(kept.map((u) => Array.from(values.get(u)!)));
    results.destroy();
    pool.destroy();
  });
});

describe('GpuPool: bad input', () => {
  it('refuses bad options with typed errors, before any GPU object exists', () => {
    const cases: [unknown, string][] = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [{}, 'ERR_INVALID_ARG_VALUE'],
      [{ size: 64, colour: 1 }, 'ERR_INVALID_ARG_VALUE'],
      [{ size: 64, align: '8' }, 'ERR_INVALID_ARG_TYPE'],
      [{ size: 64, windowBytes: 'x' }, 'ERR_INVALID_ARG_TYPE'],
      [{ size: 64, align: 2 }, 'ERR_OUT_OF_RANGE'],
      [{ size: 64, align: 12 }, 'ERR_OUT_OF_RANGE'],
      [{ size: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ size: 64, zeroFill: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [
        { size: 64, buffer: device.createBuffer({ size: 64, usage: GPUBufferUsage.VERTEX }) },
        'ERR_INVALID_ARG_VALUE',
      ],
      [
        { buffer: device.createBuffer({ size: 64, usage: GPUBufferUsage.VERTEX }) },
        'ERR_INVALID_ARG_VALUE',
      ],
      [{ buffer: 'buffer' }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of cases) {
      expect(() => new GpuPool(device, options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code }),
      );
    }
    expect(() => new GpuPool({} as never, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('refuses writes and reads that break the 4-byte rules or leave the block, changing nothing', async () => {
    const pool = new GpuPool(device, { size: 1024 });
    const h = pool.allocSync(10); // padded to 12
    expect(pool.sizeOf(h)).toBe(12);
    pool.write(h, new Uint8Array(12).fill(7));
    const bad: [() => unknown, string][] = [
      [() => pool.write(h, new Uint8Array(6)), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, new Uint8Array(4), 2), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, new Uint8Array(16)), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, new Uint8Array(8), 8), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, [1, 2, 3, 4] as never), 'ERR_INVALID_ARG_TYPE'],
      [() => pool.write(h + 1, new Uint8Array(4)), 'ERR_INVALID_HANDLE'],
      [() => pool.allocSync(8, { align: 3 }), 'ERR_OUT_OF_RANGE'],
      [() => pool.allocSync(2048), 'ERR_OUT_OF_MEMORY'],
    ];
    for (const [call, code] of bad) {
      expect(call).toThrow(expect.objectContaining({ code }));
    }
    await expect(pool.read(h, 1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(pool.read(h, 0, 16)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(await pool.read(h)).toEqual(new Uint8Array(12).fill(7));
    expect(pool.blocks()).toEqual([{ handle: h, offset: 0, size: 12 }]);
    expect(() => pool.freeSync(h + 1)).toThrow(InvalidHandleError);
    pool.destroy();
    expect(() => pool.allocSync(8)).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }));
    pool.destroy(); // twice is fine
  });

  it('a write right after an unawaited resize lands after its zero fill', async () => {
    const pool = new GpuPool(device, { size: 1024, zeroFill: true });
    const h = pool.allocSync(16);
    pool.write(h, new Uint8Array(16).fill(3));
    const resized = pool.resize(h, 64); // runs at once: nothing else is pending
    pool.write(h, new Uint8Array(48).fill(0xab), 16);
    await resized;
    expect(await pool.read(h)).toEqual(
      new Uint8Array([...new Uint8Array(16).fill(3), ...new Uint8Array(48).fill(0xab)]),
    );
    pool.destroy();
  });

  it('moves a listener causes are on the GPU before the listener goes on', async () => {
    const pool = new GpuPool(device, { size: 1024 });
    const [a, b, c] = [64, 64, 64].map((n, i) => {
      const h = pool.allocSync(n);
      pool.write(h, new Uint8Array(n).fill(i + 1));
      return h;
    });
    let nested = false;
    pool.onMove(() => {
      if (nested) return;
      nested = true;
      pool.freeSync(b);
      pool.compactSync(); // moves c down while this batch is being delivered
      pool.write(c, new Uint8Array(64).fill(0x77)); // at c's new offset, after its move
    });
    pool.freeSync(a);
    pool.compactSync(); // the batch the listener hears
    expect(pool.offsetOf(c)).toBe(0);
    expect(await pool.read(c)).toEqual(new Uint8Array(64).fill(0x77));
    pool.destroy();
  });

  it('promise-returning calls reject (never throw) once destroyed; the bookkeeping still answers', async () => {
    const pool = new GpuPool(device, { size: 256 });
    const h = pool.allocSync(8);
    pool.destroy();
    for (const call of [
      () => pool.alloc(8),
      () => pool.free(h),
      () => pool.resize(h, 16),
      () => pool.compact(),
      () => pool.read(h),
    ]) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      await expect(promise).rejects.toMatchObject({ code: 'ERR_DESTROYED' });
    }
    expect(() => pool.write(h, new Uint8Array(4))).toThrow(
      expect.objectContaining({ code: 'ERR_DESTROYED' }),
    );
    expect(pool.offsetOf(h)).toBe(0);
    expect(pool.stats().liveBlocks).toBe(1);
  });

  it("zeroFill runs before the listeners: a listener's write to a moved, grown block is kept", async () => {
    const pool = new GpuPool(device, { size: 1024, zeroFill: true });
    const a = pool.allocSync(16);
    pool.allocSync(16); // right after a: growing a moves it
    const copy = new Uint8Array(32).fill(7);
    pool.onMove((moves) => {
      // Re-upload the moved block, grown part included, from a CPU copy.
      for (const m of moves) if (m.handle === a) pool.write(a, copy);
    });
    pool.resizeSync(a, 32);
    expect(await pool.read(a)).toEqual(copy);
    pool.destroy();
  });

  it('refuses a size above the device maxBufferSize', () => {
    expect(() => new GpuPool(device, { size: device.limits.maxBufferSize + 4 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  });

  it('zeroFill clears new blocks and grown bytes on the GPU', async () => {
    const pool = new GpuPool(device, { size: 1024, zeroFill: true });
    const a = pool.allocSync(64);
    pool.write(a, new Uint8Array(64).fill(9));
    pool.freeSync(a);
    const b = pool.allocSync(32); // where a was
    expect(await pool.read(b)).toEqual(new Uint8Array(32));
    pool.write(b, new Uint8Array(32).fill(5));
    pool.resizeSync(b, 64); // grows in place over a's old bytes
    expect(await pool.read(b)).toEqual(
      new Uint8Array([...new Uint8Array(32).fill(5), ...new Uint8Array(32)]),
    );
    pool.destroy();
  });
});
