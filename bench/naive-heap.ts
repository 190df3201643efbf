/**
 * The original, naive design of the heap, kept as a baseline for the benchmarks. It is written
 * the simple way on purpose (as a first version would be), not tuned:
 *
 * - free space: an array of `{ offset, size }` objects sorted by offset;
 * - allocation: a linear first-fit scan of that array, then `splice` to remove an exactly
 *   used block (or shrink the block from the front);
 * - freeing: a linear scan for the insert position, `splice` to insert, `splice` to merge
 *   with the neighbours;
 * - handles: a `Map` from an increasing integer to a `{ offset, size, requested }` object;
 * - compaction: collect the live blocks, sort them by offset, `copyWithin` each one down.
 *
 * Same policies as MemoryManager: sizes rounded up to `align`, zero-fill on allocation,
 * automatic compaction when no free block fits but the total free space does.
 */

interface FreeBlock {
  offset: number;
  size: number;
}

interface LiveBlock {
  offset: number;
  size: number;
  requested: number;
}

/** Thrown when no free block fits, even after compaction. */
export class NaiveOutOfMemoryError extends Error {}

export interface NaiveHeapOptions {
  size?: number;
  buffer?: ArrayBuffer | Uint8Array;
  align?: number;
  autoCompact?: boolean;
  zeroFill?: boolean;
}

export class NaiveHeap {
  readonly capacity: number;
  readonly align: number;
  readonly autoCompact: boolean;
  readonly zeroFill: boolean;
  private readonly heap: Uint8Array;
  private freeBlocks: FreeBlock[];
  private readonly blocks = new Map<number, LiveBlock>();
  private nextHandle = 1;
  private used = 0;

  constructor(options: NaiveHeapOptions) {
    this.align = options.align ?? 8;
    this.autoCompact = options.autoCompact ?? true;
    this.zeroFill = options.zeroFill ?? true;
    const given = options.buffer;
    const bytes =
      given instanceof Uint8Array
        ? given
        : given
          ? new Uint8Array(given)
          : new Uint8Array(options.size ?? 0);
    this.capacity = bytes.length - (bytes.length % this.align);
    this.heap = bytes.subarray(0, this.capacity);
    this.freeBlocks = [{ offset: 0, size: this.capacity }];
  }

  /** Allocates `size` bytes; returns a handle. Throws when there is not enough free space. */
  alloc(size: number): number {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad size ${size}`);
    const occupied = Math.ceil(size / this.align) * this.align;
    let index = this.findFirstFit(occupied);
    if (index === -1 && this.autoCompact && this.capacity - this.used >= occupied) {
      this.compact();
      index = this.findFirstFit(occupied);
    }
    if (index === -1)
      throw new NaiveOutOfMemoryError(`out of memory: cannot allocate ${size} bytes`);

    const hole = this.freeBlocks[index];
    const offset = hole.offset;
    if (hole.size === occupied) {
      this.freeBlocks.splice(index, 1);
    } else {
      hole.offset += occupied;
      hole.size -= occupied;
    }
    if (this.zeroFill) this.heap.fill(0, offset, offset + size);
    const handle = this.nextHandle++;
    this.blocks.set(handle, { offset, size: occupied, requested: size });
    this.used += occupied;
    return handle;
  }

  /** Frees the block of `handle`, merging it with free neighbours. */
  free(handle: number): void {
    const block = this.blocks.get(handle);
    if (block === undefined) throw new Error(`invalid handle ${handle}`);
    this.blocks.delete(handle);
    this.used -= block.size;

    // Find where the block goes in the sorted free list.
    let i = 0;
    while (i < this.freeBlocks.length && this.freeBlocks[i].offset < block.offset) i++;
    this.freeBlocks.splice(i, 0, { offset: block.offset, size: block.size });

    // Merge with the next free block.
    const current = this.freeBlocks[i];
    const after = this.freeBlocks[i + 1];
    if (after !== undefined && current.offset + current.size === after.offset) {
      current.size += after.size;
      this.freeBlocks.splice(i + 1, 1);
    }
    // Merge with the previous free block.
    const before = this.freeBlocks[i - 1];
    if (before !== undefined && before.offset + before.size === current.offset) {
      before.size += current.size;
      this.freeBlocks.splice(i, 1);
    }
  }

  /** Slides every live block down to offset 0 in address order. */
  compact(): { blocksMoved: number; bytesMoved: number } {
    const live = Array.from(this.blocks.values());
    live.sort((a, b) => a.offset - b.offset);
    let cursor = 0;
    let blocksMoved = 0;
    let bytesMoved = 0;
    for (const block of live) {
      if (block.offset !== cursor) {
        this.heap.copyWithin(cursor, block.offset, block.offset + block.size);
        block.offset = cursor;
        blocksMoved++;
        bytesMoved += block.size;
      }
      cursor += block.size;
    }
    this.freeBlocks =
      cursor < this.capacity ? [{ offset: cursor, size: this.capacity - cursor }] : [];
    return { blocksMoved, bytesMoved };
  }

  offsetOf(handle: number): number {
    const block = this.blocks.get(handle);
    if (block === undefined) throw new Error(`invalid handle ${handle}`);
    return block.offset;
  }

  get liveBlocks(): number {
    return this.blocks.size;
  }

  get freeBlockCount(): number {
    return this.freeBlocks.length;
  }

  private findFirstFit(occupied: number): number {
    for (let i = 0; i < this.freeBlocks.length; i++) {
      if (this.freeBlocks[i].size >= occupied) return i;
    }
    return -1;
  }
}
