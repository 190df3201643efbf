/**
 * The reference model: the simplest heap that places blocks exactly as the specification says,
 * written apart from src/ so the tests compare two independent implementations.
 * A sorted array of free blocks scanned linearly, a Map of live blocks, and compaction that
 * moves each unpinned block, in address order, to the lowest free place below it that holds it.
 * A block may ask for an alignment above the heap's: it then starts at the lowest multiple of
 * it that fits in a free block, the bytes in front staying free, and compaction keeps it.
 * (Only the public HeapStats type is taken from src/, so the compiler keeps `stats()` in step.)
 */
import type { HeapStats } from '../src/index.js';

export interface RefBlock {
  offset: number;
  /** Occupied bytes (requested size rounded up to the alignment). */
  occupied: number;
  requested: number;
  /** The block's alignment: its own, or the heap's when that is larger. */
  align: number;
  pins: number;
  bytes: Uint8Array;
}

interface Free {
  offset: number;
  size: number;
}

export type RefStrategy = 'first-fit' | 'best-fit';

/** What an operation of the model did: its result, or why it failed. */
export type RefOutcome = 'ok' | 'out-of-memory' | 'pinned';

export class ReferenceHeap {
  readonly capacity: number;
  readonly align: number;
  readonly strategy: RefStrategy;
  readonly autoCompact: boolean;
  /** Free blocks, sorted by offset, never touching. */
  free: Free[];
  /** Live blocks by model id. */
  live = new Map<number, RefBlock>();
  peakUsed = 0;
  compactions = 0;
  bytesMoved = 0;
  private nextId = 1;

  constructor(
    capacity: number,
    align: number,
    strategy: RefStrategy = 'first-fit',
    autoCompact = true,
  ) {
    this.capacity = capacity - (capacity % align);
    this.align = align;
    this.strategy = strategy;
    this.autoCompact = autoCompact;
    this.free = [{ offset: 0, size: this.capacity }];
  }

  get used(): number {
    let sum = 0;
    for (const b of this.live.values()) sum += b.occupied;
    return sum;
  }

  get largestFree(): number {
    return this.free.reduce((m, f) => Math.max(m, f.size), 0);
  }

  get pinnedBlocks(): number {
    let n = 0;
    for (const b of this.live.values()) if (b.pins > 0) n++;
    return n;
  }

  /** What `stats()` of a heap in the same state returns. */
  stats(): HeapStats {
    const used = this.used;
    const free = this.capacity - used;
    const largestFree = this.largestFree;
    return {
      capacity: this.capacity,
      used,
      free,
      largestFree,
      liveBlocks: this.live.size,
      freeBlocks: this.free.length,
      pinnedBlocks: this.pinnedBlocks,
      fragmentation: free === 0 ? 0 : 1 - largestFree / free,
      peakUsed: this.peakUsed,
      compactions: this.compactions,
      bytesMoved: this.bytesMoved,
    };
  }

  roundUp(size: number): number {
    return Math.ceil(size / this.align) * this.align;
  }

  /** Allocates; returns the model id, or undefined when the heap must refuse. */
  alloc(size: number, alignment = 1): number | undefined {
    const need = this.roundUp(size);
    const align = Math.max(alignment, this.align);
    let hole = this.fit(need, align);
    if (hole === undefined) {
      if (!this.canCompactFor(need, align)) return undefined;
      this.compact();
      hole = this.fit(need, align)!;
    }
    const id = this.nextId++;
    this.live.set(id, {
      offset: this.take(hole, need, align),
      occupied: need,
      requested: size,
      align,
      pins: 0,
      bytes: new Uint8Array(size),
    });
    this.peakUsed = Math.max(this.peakUsed, this.used);
    return id;
  }

  release(id: number): RefOutcome {
    const block = this.block(id);
    if (block.pins > 0) return 'pinned';
    this.live.delete(id);
    this.giveBack(block.offset, block.occupied);
    return 'ok';
  }

  resize(id: number, size: number): RefOutcome {
    const block = this.block(id);
    const need = this.roundUp(size);
    const grow = (): void => {
      const bytes = new Uint8Array(size);
      bytes.set(block.bytes.subarray(0, Math.min(size, block.requested)));
      block.bytes = bytes;
      block.requested = size;
    };
    if (need <= block.occupied) {
      if (need < block.occupied) this.giveBack(block.offset + need, block.occupied - need);
      block.occupied = need;
      grow();
      return 'ok';
    }
    const growth = need - block.occupied;
    const next = this.free.find((f) => f.offset === block.offset + block.occupied);
    if (next && next.size >= growth) {
      this.take(next, growth, this.align);
      block.occupied = need;
      grow();
      this.peakUsed = Math.max(this.peakUsed, this.used);
      return 'ok';
    }
    if (block.pins > 0) return 'pinned';
    if (this.capacity - this.used < growth) return 'out-of-memory';
    const prev = this.free.find((f) => f.offset + f.size === block.offset);
    const start = prev?.offset ?? block.offset;
    const end = block.offset + block.occupied + (next?.size ?? 0);
    const fitsAround = alignUp(start, block.align) + need <= end;
    if (this.fit(need, block.align) === undefined && !fitsAround) {
      if (!this.autoCompact) return 'out-of-memory';
      if (this.needsTrial(block.align)) {
        const trial = this.copy();
        trial.detach(id);
        trial.compact();
        if (trial.fit(need, block.align) === undefined) return 'out-of-memory';
      }
      this.detach(id);
      this.compact();
    } else {
      this.detach(id);
    }
    block.offset = this.take(this.fit(need, block.align)!, need, block.align);
    block.occupied = need;
    this.live.set(id, block);
    grow();
    this.peakUsed = Math.max(this.peakUsed, this.used);
    return 'ok';
  }

  compact(): { blocksMoved: number; bytesMoved: number } {
    let blocksMoved = 0;
    let bytesMoved = 0;
    const order = [...this.live.entries()].sort((a, b) => a[1].offset - b[1].offset);
    for (const [id, b] of order) {
      if (b.pins > 0) continue;
      // Out, then back at the lowest place that holds it: where it was, or below.
      this.detach(id);
      const from = b.offset;
      b.offset = this.take(this.firstFit(b.occupied, b.align)!, b.occupied, b.align);
      this.live.set(id, b);
      if (b.offset !== from) {
        blocksMoved++;
        bytesMoved += b.occupied;
      }
    }
    this.compactions++;
    this.bytesMoved += bytesMoved;
    return { blocksMoved, bytesMoved };
  }

  /** True when compaction would make room for `need` bytes at `align` (and it is allowed). */
  canCompactFor(need: number, align = this.align): boolean {
    if (!this.autoCompact || this.capacity - this.used < need) return false;
    if (!this.needsTrial(align)) return true;
    const trial = this.copy();
    trial.compact();
    return trial.fit(need, align) !== undefined;
  }

  /** True unless compaction surely joins all free space into one block that `align` fits. */
  private needsTrial(align: number): boolean {
    if (this.pinnedBlocks > 0 || align > this.align) return true;
    for (const b of this.live.values()) if (b.align > this.align) return true;
    return false;
  }

  block(id: number): RefBlock {
    const block = this.live.get(id);
    if (!block) throw new Error(`model: no block ${id}`);
    return block;
  }

  private fit(need: number, align = this.align): Free | undefined {
    if (this.strategy === 'first-fit') return this.firstFit(need, align);
    let best: Free | undefined;
    for (const f of this.free) {
      if (holds(f, need, align) && (!best || f.size < best.size)) best = f;
    }
    return best;
  }

  private firstFit(need: number, align: number): Free | undefined {
    return this.free.find((f) => holds(f, need, align));
  }

  /**
   * Takes `need` bytes from free block `f` at its first multiple of `align`; the bytes in
   * front stay free. Returns their offset.
   */
  private take(f: Free, need: number, align: number): number {
    const offset = alignUp(f.offset, align);
    const end = f.offset + f.size;
    const i = this.free.indexOf(f);
    const parts: Free[] = [];
    if (offset > f.offset) parts.push({ offset: f.offset, size: offset - f.offset });
    if (end > offset + need) parts.push({ offset: offset + need, size: end - offset - need });
    this.free.splice(i, 1, ...parts);
    return offset;
  }

  /** Takes a live block out (its space becomes free); it stays in `live` for the caller. */
  private detach(id: number): void {
    const b = this.block(id);
    this.live.delete(id);
    this.giveBack(b.offset, b.occupied);
  }

  private giveBack(offset: number, size: number): void {
    this.free.push({ offset, size });
    this.free.sort((a, b) => a.offset - b.offset);
    const merged: Free[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.offset + last.size === f.offset) last.size += f.size;
      else merged.push({ ...f });
    }
    this.free = merged;
  }

  private copy(): ReferenceHeap {
    const c = new ReferenceHeap(this.capacity, this.align, this.strategy, this.autoCompact);
    c.free = this.free.map((f) => ({ ...f }));
    for (const [id, b] of this.live) c.live.set(id, { ...b });
    return c;
  }
}

function alignUp(offset: number, align: number): number {
  return Math.ceil(offset / align) * align;
}

/** True when free block `f` holds `need` bytes at a multiple of `align`. */
function holds(f: Free, need: number, align: number): boolean {
  return alignUp(f.offset, align) + need <= f.offset + f.size;
}
