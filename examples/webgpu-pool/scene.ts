/// <reference types="@webgpu/types" />
// The reusable part of the WebGPU example: a grid of small meshes whose vertices live in one
// GpuPool, each mesh its own block, plus one uniform block at the device's uniform alignment.
// Drawing binds every block at its *current* offset, so freeing and compacting (which moves
// blocks on the GPU) never changes the picture of the meshes that remain.
import { GpuPool } from '../../src/webgpu/index.js';
// The project's one seeded generator: every run draws the same shapes.
import { mulberry32 } from '../../test/prng.js';

/** Options of `createScene`. */
export interface SceneOptions {
  /** Cells across (at least 1); one mesh per cell. Default 20. */
  columns?: number;
  /** Cells down (at least 1). Default 15 (20 x 15 = 300 meshes). */
  rows?: number;
  /** Seed of the shapes' sides, sizes and turns. Default 1. */
  seed?: number;
}

/** One mesh: a filled n-gon in its grid cell, drawn as a triangle list. */
export interface Mesh {
  /** The pool block holding its vertices. */
  readonly handle: number;
  readonly column: number;
  readonly row: number;
  readonly vertexCount: number;
  /** Colour of the centre vertex, 0-255 (the rim vertices are a darker shade of it). */
  readonly colour: readonly [number, number, number];
}

/** What a compaction did. */
export interface CompactReport {
  blocksMoved: number;
  bytesMoved: number;
  /** The pool's epoch after it: changed when anything moved. */
  epoch: number;
}

export interface Scene {
  readonly pool: GpuPool;
  readonly columns: number;
  readonly rows: number;
  /** The meshes still allocated, in grid order. */
  readonly meshes: readonly Mesh[];
  /** The uniform block (the view transform), bound with a dynamic offset. */
  readonly uniforms: number;
  /** Frees a random half of the live meshes (rounded up); returns the freed ones. */
  freeHalf(): Mesh[];
  /** Slides every block down (copies on the GPU): the offsets change, the picture must not. */
  compact(): CompactReport;
  /** Draws `which` (default: all live meshes) into `target`, a texture of the scene's format. */
  render(target: GPUTexture, which?: readonly Mesh[]): void;
  /** Frees the pool's buffers. */
  destroy(): void;
}

/** The colour a render clears to, 0-1 (the test tells meshes from it). */
export const BACKGROUND = { r: 0.08, g: 0.09, b: 0.11, a: 1 };

/** Bytes of one vertex: position (2 x float32, in cell units) + colour (4 x unorm8). */
const VERTEX_BYTES = 12;

const SHADER = /* wgsl */ `
struct View { scale: vec2f, shift: vec2f }
@group(0) @binding(0) var<uniform> view: View;

struct Varyings { @builtin(position) position: vec4f, @location(0) colour: vec4f }

@vertex fn vs(@location(0) position: vec2f, @location(1) colour: vec4f) -> Varyings {
  return Varyings(vec4f(position * view.scale + view.shift, 0, 1), colour);
}

@fragment fn fs(in: Varyings) -> @location(0) vec4f {
  return in.colour;
}`;

/**
 * A scene of `columns x rows` meshes in a new GpuPool on `device`, drawn by a pipeline for
 * textures of `format`.
 */
export function createScene(
  device: GPUDevice,
  format: GPUTextureFormat,
  options: SceneOptions = {},
): Scene {
  const { columns = 20, rows = 15, seed = 1 } = options;
  const uniformAlign = device.limits.minUniformBufferOffsetAlignment;
  // Room for the largest meshes (8-gons) and the uniform block with its alignment padding.
  const pool = new GpuPool(device, {
    size: columns * rows * 8 * 3 * VERTEX_BYTES + 2 * uniformAlign,
    label: 'meshes',
  });
  const random = mulberry32(seed);
  const meshes: Mesh[] = [];
  let view = 0;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      meshes.push(createMesh(pool, column, row, meshes.length, random));
      // The uniform block goes in the middle, at a multiple of the uniform alignment (not the
      // pool's 4): compaction moves it too, and the dynamic offset follows.
      if (meshes.length === Math.ceil((columns * rows) / 2)) {
        view = pool.allocSync(16, { align: uniformAlign });
        // Cell units to clip space: x 0..columns -> -1..1, y 0..rows -> 1..-1.
        pool.write(view, new Float32Array([2 / columns, -2 / rows, -1, 1]));
      }
    }
  }

  const module = device.createShaderModule({ label: 'meshes', code: SHADER });
  const layout = device.createBindGroupLayout({
    entries: [
      {
        binding: 0,
        visibility: GPUShaderStage.VERTEX,
        buffer: { type: 'uniform', hasDynamicOffset: true },
      },
    ],
  });
  const pipeline = device.createRenderPipeline({
    label: 'meshes',
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    vertex: {
      module,
      entryPoint: 'vs',
      buffers: [
        {
          arrayStride: VERTEX_BYTES,
          attributes: [
            { shaderLocation: 0, offset: 0, format: 'float32x2' },
            { shaderLocation: 1, offset: 8, format: 'unorm8x4' },
          ],
        },
      ],
    },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    primitive: { topology: 'triangle-list' },
  });
  // One bind group for the whole life of the pool: it names the buffer, not an offset.
  const bindGroup = device.createBindGroup({
    layout,
    entries: [{ binding: 0, resource: { buffer: pool.buffer, size: 16 } }],
  });
  let live: readonly Mesh[] = meshes;

  return {
    pool,
    columns,
    rows,
    uniforms: view,
    get meshes() {
      return live;
    },
    freeHalf() {
      // A seeded random half: the free space ends up in holes all over the pool.
      const order = live.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const gone = new Set(order.slice(0, Math.ceil(live.length / 2)));
      const freed = live.filter((_, i) => gone.has(i));
      for (const mesh of freed) pool.freeSync(mesh.handle);
      live = live.filter((_, i) => !gone.has(i));
      return freed;
    },
    compact() {
      const { blocksMoved, bytesMoved } = pool.compactSync();
      return { blocksMoved, bytesMoved, epoch: pool.epoch };
    },
    render(target, which = live) {
      const encoder = device.createCommandEncoder({ label: 'meshes' });
      const pass = encoder.beginRenderPass({
        colorAttachments: [
          { view: target.createView(), clearValue: BACKGROUND, loadOp: 'clear', storeOp: 'store' },
        ],
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup, [pool.offsetOf(view)]);
      for (const mesh of which) {
        // The block's offset now: never keep it across a free or a compaction.
        const h = mesh.handle;
        pass.setVertexBuffer(0, pool.buffer, pool.offsetOf(h), pool.sizeOf(h));
        pass.draw(mesh.vertexCount);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
    destroy() {
      pool.destroy();
    },
  };
}

/** A filled n-gon (3 to 8 sides) centred in its cell, as a fan of triangles, in a new block. */
function createMesh(
  pool: GpuPool,
  column: number,
  row: number,
  index: number,
  random: () => number,
): Mesh {
  const sides = 3 + Math.floor(random() * 6);
  const radius = 0.3 + random() * 0.15; // cell units: the shape stays inside its cell
  const turn = random() * 2 * Math.PI;
  const colour = hue(index * 0.618034); // golden-ratio steps: neighbours differ
  const rim = colour.map((c) => Math.round(c * 0.55));
  const vertexCount = sides * 3;
  const data = new ArrayBuffer(vertexCount * VERTEX_BYTES);
  const floats = new Float32Array(data);
  const bytes = new Uint8Array(data);
  const put = (i: number, x: number, y: number, rgb: readonly number[]): void => {
    floats[i * 3] = column + 0.5 + x;
    floats[i * 3 + 1] = row + 0.5 + y;
    bytes.set([rgb[0], rgb[1], rgb[2], 255], i * VERTEX_BYTES + 8);
  };
  for (let s = 0; s < sides; s++) {
    const a = turn + (2 * Math.PI * s) / sides;
    const b = turn + (2 * Math.PI * (s + 1)) / sides;
    put(s * 3, 0, 0, colour);
    put(s * 3 + 1, radius * Math.cos(a), radius * Math.sin(a), rim);
    put(s * 3 + 2, radius * Math.cos(b), radius * Math.sin(b), rim);
  }
  const handle = pool.allocSync(data.byteLength);
  pool.write(handle, data);
  return { handle, column, row, vertexCount, colour };
}

/** A bright colour of hue `h` (turns), 0-255. */
function hue(h: number): [number, number, number] {
  const channel = (offset: number): number => {
    const k = (((h + offset) % 1) + 1) % 1;
    const v = Math.min(1, Math.max(0, Math.abs(k * 6 - 3) - 1)); // HSV with S = V = 1
    return Math.round(64 + 191 * v);
  };
  return [channel(0), channel(2 / 3), channel(1 / 3)];
}
