/**
 * One participant of the shared-heap hammer test, the same code in a Node worker_thread, a Web
 * Worker and (async calls only) a page's main thread: random operations on one shared heap,
 * every block filled with a pattern derived from its handle and checked on every read, some
 * handles handed to another participant through a shared queue and freed there.
 */
import { MemoryManager, OutOfMemoryError, type Handle, type SharedHeap } from '../../src/index.js';
import { mulberry32 } from '../prng.js';

export interface HammerJob {
  shared: SharedHeap;
  /** Int32Array words of the hand-off queue (see HandOff). */
  queue: SharedArrayBuffer;
  seed: number;
  ops: number;
  /** Only async calls (a browser main thread must not block). */
  asyncOnly: boolean;
}

export interface HammerReport {
  ops: number;
  /** Pattern mismatches, pinned blocks that moved, broken invariants: must be 0. */
  corrupt: number;
  firstProblem: string;
  handedOff: number;
  received: number;
  owned: number;
  compactions: number;
}

/** The byte at `i` of the block of `handle`. */
export function patternByte(handle: number, i: number): number {
  return (handle * 31 + i * 7 + (handle >>> 12)) & 255;
}

export function pattern(handle: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = patternByte(handle, i);
  return out;
}

/** Where the first mismatch of `bytes` against the pattern of `handle` is, or -1. */
export function mismatch(handle: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== patternByte(handle, i)) return i;
  return -1;
}

/**
 * A multi-producer multi-consumer queue of handles in shared memory, guarded by a spin lock
 * word (critical sections of a few instructions). Words: [lock, head, tail, slots...] with two
 * words per handle (handles reach 2^40).
 */
export class HandOff {
  static readonly SLOTS = 1024;
  static bytes(): number {
    return (3 + 2 * HandOff.SLOTS) * 4;
  }
  private readonly w: Int32Array;
  constructor(buffer: SharedArrayBuffer) {
    this.w = new Int32Array(buffer);
  }
  private lock(): void {
    while (Atomics.compareExchange(this.w, 0, 0, 1) !== 0) {
      /* spin: the holder runs a few instructions */
    }
  }
  private unlock(): void {
    Atomics.store(this.w, 0, 0);
  }
  push(handle: number): boolean {
    this.lock();
    const head = this.w[1];
    const tail = this.w[2];
    const ok = tail - head < HandOff.SLOTS;
    if (ok) {
      const at = 3 + 2 * (tail % HandOff.SLOTS);
      this.w[at] = Math.floor(handle / 2 ** 20);
      this.w[at + 1] = handle % 2 ** 20;
      this.w[2] = tail + 1;
    }
    this.unlock();
    return ok;
  }
  pop(): number {
    this.lock();
    const head = this.w[1];
    let handle = 0;
    if (head < this.w[2]) {
      const at = 3 + 2 * (head % HandOff.SLOTS);
      handle = this.w[at] * 2 ** 20 + this.w[at + 1];
      this.w[1] = head + 1;
    }
    this.unlock();
    return handle;
  }
}

export async function hammer(job: HammerJob): Promise<HammerReport> {
  const mm = MemoryManager.from(job.shared, { lockTimeout: 20_000 });
  const queue = new HandOff(job.queue);
  const rand = mulberry32(job.seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const owned: Handle[] = [];
  const report: HammerReport = {
    ops: 0,
    corrupt: 0,
    firstProblem: '',
    handedOff: 0,
    received: 0,
    owned: 0,
    compactions: 0,
  };
  const problem = (what: string): void => {
    if (report.corrupt++ === 0) report.firstProblem = what;
  };
  const check = (h: Handle, where: string): void => {
    const bytes = mm.read(h);
    const at = mismatch(h, bytes);
    if (at >= 0) problem(`${where}: block ${h} (${bytes.length} B) differs at byte ${at}`);
  };
  /** A new block's handle, or 0 when the heap is full. */
  const alloc = async (size: number): Promise<Handle> => {
    try {
      return job.asyncOnly ? await mm.alloc(size) : mm.allocSync(size);
    } catch (error) {
      if (error instanceof OutOfMemoryError) return 0;
      throw error;
    }
  };
  const free = async (h: Handle): Promise<void> => {
    if (job.asyncOnly) await mm.free(h);
    else mm.freeSync(h);
  };
  for (let op = 0; op < job.ops; op++) {
    report.ops++;
    const kind = pick(100);
    if (kind < 30 || owned.length === 0) {
      const size = 1 + pick(512);
      const h = await alloc(size);
      if (h === 0) {
        if (owned.length > 0) await free(owned.splice(pick(owned.length), 1)[0]);
        continue;
      }
      // Another thread may compact between the alloc and the write: the write finds the block
      // by its handle wherever it is.
      mm.write(h, pattern(h, size));
      owned.push(h);
    } else if (kind < 55) {
      const i = pick(owned.length);
      check(owned[i], 'before free');
      await free(owned.splice(i, 1)[0]);
    } else if (kind < 70) {
      check(owned[pick(owned.length)], 'read');
    } else if (kind < 78) {
      const h = owned[pick(owned.length)];
      const before = mm.sizeOf(h);
      const size = 1 + pick(768);
      try {
        if (job.asyncOnly) await mm.resize(h, size);
        else mm.resizeSync(h, size);
      } catch (error) {
        if (!(error instanceof OutOfMemoryError)) throw error;
        continue;
      }
      const kept = mm.read(h, 0, Math.min(before, size));
      const at = mismatch(h, kept);
      if (at >= 0) problem(`resize ${before} -> ${size}: block ${h} lost byte ${at}`);
      mm.write(h, pattern(h, size));
    } else if (kind < 84) {
      // A pinned block never moves, whoever compacts meanwhile.
      const h = owned[pick(owned.length)];
      mm.pin(h);
      const at = mm.offsetOf(h);
      const view = mm.view(h);
      for (let k = 0; k < 3; k++) {
        const extra = await alloc(1 + pick(256));
        if (extra !== 0) await free(extra);
      }
      if (mm.offsetOf(h) !== at) problem(`pinned block ${h} moved from ${at}`);
      const viewAt = mismatch(h, view);
      if (viewAt >= 0) problem(`view of pinned block ${h} differs at byte ${viewAt}`);
      mm.unpin(h);
    } else if (kind < 90) {
      const i = pick(owned.length);
      if (queue.push(owned[i])) {
        owned.splice(i, 1);
        report.handedOff++;
      }
    } else if (kind < 96) {
      const h = queue.pop();
      if (h !== 0) {
        report.received++;
        if (!mm.has(h)) problem(`handed-off block ${h} is gone`);
        else {
          check(h, 'received');
          if (pick(2) === 0) await free(h);
          else owned.push(h);
        }
      }
    } else if (kind < 98) {
      if (job.asyncOnly) await mm.compact();
      else mm.compactSync();
      report.compactions++;
    } else {
      await mm.compact({ sliceBytes: 2048 });
      report.compactions++;
    }
  }
  for (const h of owned) check(h, 'at the end');
  report.owned = owned.length;
  return report;
}
