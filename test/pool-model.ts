/**
 * The model-based run the GPU pools share (WebGPU's GpuPool, WebGL2's GlPool): random alloc
 * (sync and async, now and then 256-aligned), free, resize, write, pin, unpin and compact (sync
 * and sliced) on a pool, a CPU model of every live block's bytes beside it, and after every
 * operation the whole buffer read back and compared with the model.
 * Web-standard APIs only: it runs in the browser project.
 */
import { expect } from 'vitest';
import { MemoryManagerError, type OffsetHeap } from '../src/index.js';
import { Rng } from './prng.js';

/** What the run needs of a pool: the heap and a write of bytes at a block's offset. */
export interface ModelPool extends OffsetHeap {
  write(handle: number, data: Uint8Array<ArrayBuffer>, offset?: number): void;
}

export interface PoolModelResult {
  /** The first block whose bytes differed, per step where one did (empty: none did). */
  mismatches: string[];
  /** Steps of all move plans, and the staging steps among them. */
  moved: number;
  staged: number;
}

/** Bytes of a pattern no two writes share. */
export function pattern(seed: number, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

/**
 * Runs `steps` random operations on `pool`, a fresh pool of 16 KiB or so. Write offsets and
 * lengths are multiples of `quantum` (4 on WebGPU). `readAll` reads the whole buffer back.
 */
export async function runPoolModel(
  pool: ModelPool,
  options: {
    seed: number;
    steps: number;
    quantum: number;
    readAll: () => Uint8Array | Promise<Uint8Array>;
  },
): Promise<PoolModelResult> {
  const { steps, quantum, readAll } = options;
  const rng = new Rng(options.seed);
  const model = new Map<number, Uint8Array>(); // handle -> its bytes (its whole size)
  let stamp = 1;
  let moved = 0;
  let staged = 0;
  pool.onMove((moves) => {
    moved += moves.length;
    staged += moves.filter((m) => m.kind === 'stage').length;
  });
  const mismatches: string[] = [];
  const pick = (): number | undefined => {
    const hs = [...model.keys()];
    return hs.length === 0 ? undefined : hs[rng.below(hs.length)];
  };
  const write = (h: number): void => {
    const bytes = pattern(stamp++, pool.sizeOf(h));
    pool.write(h, bytes);
    model.set(h, bytes);
  };
  for (let step = 0; step < steps; step++) {
    const roll = rng.below(100);
    const h = pick();
    try {
      if (roll < 35) {
        const size = rng.below(4) === 0 ? rng.int(200, 1500) : rng.int(1, 200);
        const align = rng.below(5) === 0 ? 256 : undefined;
        const options = align === undefined ? undefined : { align };
        const handle =
          rng.below(2) === 0 ? pool.allocSync(size, options) : await pool.alloc(size, options);
        expect(pool.sizeOf(handle) % quantum).toBe(0);
        expect(pool.offsetOf(handle) % (align ?? pool.align)).toBe(0);
        write(handle);
      } else if (roll < 58 && h !== undefined) {
        if (pool.isPinned(h)) pool.unpin(h);
        else {
          if (rng.below(2) === 0) pool.freeSync(h);
          else await pool.free(h);
          model.delete(h);
        }
      } else if (roll < 75 && h !== undefined && !pool.isPinned(h)) {
        const old = model.get(h)!;
        pool.resizeSync(h, rng.int(1, 2500));
        const now = new Uint8Array(pool.sizeOf(h));
        now.set(old.subarray(0, Math.min(old.length, now.length)));
        model.set(h, now);
        if (now.length > old.length) write(h); // the grown bytes are unspecified: rewrite
      } else if (roll < 85 && h !== undefined) {
        const units = pool.sizeOf(h) / quantum;
        const offset = quantum * rng.below(units);
        const data = pattern(stamp++, quantum * rng.int(0, units - offset / quantum));
        pool.write(h, data, offset);
        model.get(h)!.set(data, offset);
      } else if (roll < 90 && h !== undefined) {
        pool.pin(h);
      } else if (roll < 95) {
        pool.compactSync();
      } else {
        await pool.compact({ sliceBytes: 256 + rng.below(2048) });
      }
    } catch (error) {
      if (!(error instanceof MemoryManagerError)) throw error; // out of memory, pinned
    }
    const all = await readAll();
    for (const [handle, bytes] of model) {
      const at = pool.offsetOf(handle);
      for (let i = 0; i < bytes.length; i++) {
        if (all[at + i] !== bytes[i]) {
          mismatches.push(`step ${step}: block ${handle} byte ${i}`);
          break;
        }
      }
    }
    if (mismatches.length > 0) break;
  }
  pool.validate();
  return { mismatches, moved, staged };
}
