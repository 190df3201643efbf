/**
 * The reference model: the simplest heap that places blocks exactly as the specification says,
 * written apart from src/ so the tests compare two independent implementations.
 * A sorted array of free blocks, scanned linearly; a Map of live blocks; compaction by sorting.
 */
export interface RefBlock {
  offset: number;
  /** Occupied bytes (requested size rounded up to the alignment). */
  occupied: number;
  requested: number;
  bytes: Uint8Array;
}

export class ReferenceHeap {
  readonly capacity: number;
  readonly align: number;
  /** Free blocks, sorted by offset, never touching. */
  free: { offset: number; size: number }[];
  /** Live blocks by model id. */
  live = new Map<number, RefBlock>();
  peakUsed = 0;
  compactions = 0;
  bytesMoved = 0;
  private nextId = 1;

  constructor(capacity: number, align: number) {
    this.capacity = capacity - (capacity % align);
    this.align = align;
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

  roundUp(size: number): number {
    return Math.ceil(size / this.align) * this.align;
  }

  /** First fit, compacting when only that makes room. Returns the model id, or undefined on OOM. */
  alloc(size: number, autoCompact = true): number | undefined {
    const need = this.roundUp(size);
    let i = this.free.findIndex((f) => f.size >= need);
    if (i < 0) {
      if (!autoCompact || this.capacity - this.used < need) return undefined;
      this.compact();
      i = this.free.findIndex((f) => f.size >= need);
    }
    const hole = this.free[i];
    const block: RefBlock = {
      offset: hole.offset,
      occupied: need,
      requested: size,
      bytes: new Uint8Array(size),
    };
    if (hole.size === need) this.free.splice(i, 1);
    else this.free[i] = { offset: hole.offset + need, size: hole.size - need };
    const id = this.nextId++;
    this.live.set(id, block);
    this.peakUsed = Math.max(this.peakUsed, this.used);
    return id;
  }

  release(id: number): void {
    const block = this.live.get(id);
    if (!block) throw new Error(`model: no block ${id}`);
    this.live.delete(id);
    this.free.push({ offset: block.offset, size: block.occupied });
    this.free.sort((a, b) => a.offset - b.offset);
    const merged: { offset: number; size: number }[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.offset + last.size === f.offset) last.size += f.size;
      else merged.push({ ...f });
    }
    this.free = merged;
  }

  compact(): { blocksMoved: number; bytesMoved: number } {
    let cursor = 0;
    let blocksMoved = 0;
    let bytesMoved = 0;
    const ordered = [...this.live.values()].sort((a, b) => a.offset - b.offset);
    for (const b of ordered) {
      if (b.offset !== cursor) {
        blocksMoved++;
        bytesMoved += b.occupied;
        b.offset = cursor;
      }
      cursor += b.occupied;
    }
    this.free = cursor < this.capacity ? [{ offset: cursor, size: this.capacity - cursor }] : [];
    this.compactions++;
    this.bytesMoved += bytesMoved;
    return { blocksMoved, bytesMoved };
  }
}
