// The synchronous heap: allocation, freeing, resizing and compaction policy over the block
// layout, with typed errors. No promises, no locks, no argument parsing: the public classes
// check arguments, resolve handles and serialize calls, then call this.
//
// One engine, two ways to apply its moves: with managed bytes (MemoryManager) it copies them
// itself; without (OffsetHeap, `heap` null everywhere below) the moves are only a plan, the
// steps its observer hands to the caller. Either way every step is reported in order.
import { BlockLayout } from '../layout/block-layout.js';
import { handleOf } from '../layout/handle-table.js';
import { NIL, OFF, REQ, SENTINEL, isLive, pinsOf } from '../layout/records.js';
import {
  FLAG_AUTO_COMPACT,
  FLAG_SCRAMBLE,
  FLAG_ZERO_FILL,
  H_BYTES_MOVED_HI,
  H_BYTES_MOVED_LO,
  H_COMPACTIONS,
  H_EPOCH,
  H_FLAGS,
  H_MAX_BLOCKS,
  H_PEAK,
  H_SLICE_BYTES,
} from '../memory/format.js';
import type { ManagedMemory } from '../memory/managed-memory.js';
import { Compaction, type CompactResult } from './compactor.js';
import { MemoryManagerError, OutOfMemoryError } from './errors.js';
import { MOVE, STAGE, UNSTAGE, type MoveObserver, type MoveSink, type StepKind } from './moves.js';
import { rearrange, scramble } from './scrambler.js';

/** A snapshot of the heap's counters, from `stats()`. */
export interface HeapStats {
  /** Bytes managed. */
  capacity: number;
  /** Bytes occupied by live blocks (their sizes rounded up to the alignment). */
  used: number;
  /** `capacity - used`. */
  free: number;
  /** Size of the largest free block: the largest allocation that needs no compaction. */
  largestFree: number;
  liveBlocks: number;
  freeBlocks: number;
  /** Live blocks holding at least one pin. */
  pinnedBlocks: number;
  /** `1 - largestFree / free`, 0 when nothing is free: 0 means all free space is one block. */
  fragmentation: number;
  /** The largest `used` seen. */
  peakUsed: number;
  /** Compactions run, explicit and automatic (a sliced compaction counts once). */
  compactions: number;
  /** Bytes copied by all compactions. */
  bytesMoved: number;
}

const TWO_32 = 2 ** 32;

export class HeapCore {
  readonly layout: BlockLayout;
  /** The managed bytes, or null for an offsets-only heap. */
  readonly memory: ManagedMemory | null;
  readonly moves: MoveObserver;
  private readonly sink: MoveSink = (kind, p, from, to) => {
    const r = this.layout.state.r;
    this.moves.add(kind, handleOf(r, p), from, to, r[p + REQ]);
  };

  constructor(layout: BlockLayout, memory: ManagedMemory | null, moves: MoveObserver) {
    this.layout = layout;
    this.memory = memory;
    this.moves = moves;
  }

  get autoCompact(): boolean {
    return (this.layout.state.h[H_FLAGS] & FLAG_AUTO_COMPACT) !== 0;
  }

  get zeroFill(): boolean {
    return (this.layout.state.h[H_FLAGS] & FLAG_ZERO_FILL) !== 0;
  }

  get scramble(): boolean {
    return (this.layout.state.h[H_FLAGS] & FLAG_SCRAMBLE) !== 0;
  }

  /** compactSliceBytes, or undefined. */
  get sliceBytes(): number | undefined {
    const bytes = this.layout.state.h[H_SLICE_BYTES];
    return bytes === 0 ? undefined : bytes;
  }

  get maxBlocks(): number {
    return this.layout.state.h[H_MAX_BLOCKS];
  }

  get epoch(): number {
    return this.layout.state.h[H_EPOCH];
  }

  /** Advances the epoch (once per batch in which blocks moved). */
  advanceEpoch(): void {
    const h = this.layout.state.h;
    h[H_EPOCH] = (h[H_EPOCH] + 1) >>> 0;
  }

  /**
   * Starts an operation: the managed bytes now, checked (null for an offsets-only heap). Call
   * first, before any change.
   * @throws MemoryManagerError `ERR_BUFFER_DETACHED` when the memory was detached.
   */
  begin(): Uint8Array | null {
    if (this.memory === null) {
      this.layout.begin();
      return null;
    }
    const heap = this.memory.current();
    if (heap === null) {
      throw new MemoryManagerError(
        'ERR_BUFFER_DETACHED',
        'The memory of this heap was detached (transferred, or replaced by WebAssembly.Memory#grow under a view of it); nothing was changed.',
      );
    }
    this.layout.begin();
    return heap;
  }

  /** The bytes `size` (an integer >= 1) occupies. @throws OutOfMemoryError above capacity, ERR_TOO_MANY_BLOCKS */
  occupiedFor(size: number): number {
    const layout = this.layout;
    if (size > layout.capacity) throw this.outOfMemory(size, '');
    if (layout.live >= this.maxBlocks) {
      throw new MemoryManagerError(
        'ERR_TOO_MANY_BLOCKS',
        `Cannot allocate: the heap holds ${layout.live} blocks, its maxBlocks.`,
      );
    }
    return layout.roundUp(size);
  }

  /**
   * Allocates at once at a multiple of `align` (1 for the heap's alignment), compacting when
   * only that makes room. Returns the handle.
   */
  alloc(heap: Uint8Array | null, size: number, align = 1): number {
    const handle = this.allocIfRoom(heap, size, align);
    if (handle !== 0) return handle;
    this.prepareRoom(size, align);
    this.compactNow(heap);
    const p = this.layout.allocate(this.layout.roundUp(size), size, align);
    if (p === NIL) throw this.outOfMemory(size, ''); // prepareRoom promised room: defensive
    return this.allocated(heap, p, size);
  }

  /** Allocates when a gap fits without compacting; 0 when none does. */
  allocIfRoom(heap: Uint8Array | null, size: number, align = 1): number {
    const p = this.layout.allocate(this.occupiedFor(size), size, align);
    return p === NIL ? 0 : this.allocated(heap, p, size);
  }

  /**
   * Throws OutOfMemoryError unless compacting would make room for `size` bytes at a multiple of
   * `align`. With pins or over-aligned blocks, returns where the planned compaction puts every
   * live block (record, offset, ...), else null.
   */
  prepareRoom(size: number, align = 1): number[] | null {
    const layout = this.layout;
    const occupied = layout.roundUp(size);
    if (!this.autoCompact || layout.capacity - layout.used < occupied) {
      throw this.outOfMemory(size, '');
    }
    if (!this.needsPlan(align)) return null;
    const plan = this.planCompaction(NIL);
    if (plan.fit(occupied, align) === NIL) throw this.outOfMemory(size, this.planNote());
    const out: number[] = [];
    const r = plan.state.r;
    plan.forEach((p) => {
      if (p !== SENTINEL) out.push(p, r[p + OFF]);
    });
    return out;
  }

  /**
   * After a sliced compaction made for an allocation: allocates, or when pins changed between
   * slices and the packing went another way (without pins the slices end fully packed),
   * finishes at once by putting the blocks where the plan made at the start put them, unless a
   * block pinned since would have to move.
   */
  allocAfterSlices(
    heap: Uint8Array | null,
    size: number,
    plan: number[] | null,
    align = 1,
  ): number {
    const layout = this.layout;
    const occupied = layout.roundUp(size);
    let p = layout.allocate(occupied, size, align);
    if (p === NIL) {
      if (plan === null || !this.pinsKeep(plan)) throw this.outOfMemory(size, this.planNote());
      if (rearrange(layout, heap, plan, this.listenerSink()) > 0) this.moves.markMoved();
      p = layout.allocate(occupied, size, align);
      if (p === NIL) throw this.outOfMemory(size, this.planNote()); // planned room: defensive
    }
    return this.allocated(heap, p, size);
  }

  /** Frees live block `p` (of `handle`). */
  free(p: number, handle: number): void {
    if (pinsOf(this.layout.state.r, p) > 0) throw pinnedError(handle, 'free');
    this.layout.release(p);
    this.finish(undefined);
  }

  /** Resizes live block `p` (of `handle`) to `size` bytes, an integer >= 1. */
  resize(heap: Uint8Array | null, p: number, handle: number, size: number): void {
    if (size > this.layout.capacity) throw this.outOfMemory(size, '');
    const layout = this.layout;
    const occupied = layout.roundUp(size);
    let r = layout.state.r;
    const oldSize = r[p + REQ];
    const oldOccupied = layout.occupied(p);
    if (!layout.resizeInPlace(p, size)) {
      if (pinsOf(r, p) > 0) throw pinnedError(handle, 'move (resize)');
      const detail = ` (growing a ${oldSize}-byte block)`;
      if (layout.capacity - layout.used < occupied - oldOccupied) {
        throw this.outOfMemory(size, detail);
      }
      const from = r[p + OFF];
      const align = layout.alignOf(p);
      if (layout.fit(occupied, align) !== NIL || layout.fitsAround(p, occupied)) {
        // Room without compacting: the block moves to where the strategy puts it.
        layout.detach(p);
        layout.setRequested(p, size);
        layout.attach(p, layout.fit(occupied, align));
        r = layout.state.r;
        heap?.copyWithin(r[p + OFF], from, from + oldSize);
        if (r[p + OFF] !== from) this.reportMove(MOVE, handle, from, r[p + OFF], oldSize);
      } else {
        if (!this.autoCompact) throw this.outOfMemory(size, detail);
        if (this.needsPlan(align) && this.planCompaction(p).fit(occupied, align) === NIL) {
          throw this.outOfMemory(size, detail + this.planNote());
        }
        // Other blocks may slide over the old bytes: keep a copy (the plan's staging step).
        const saved = heap?.slice(from, from + oldSize);
        this.reportMove(STAGE, handle, from, 0, oldSize);
        layout.detach(p);
        this.compactNow(heap);
        layout.setRequested(p, size);
        layout.attach(p, layout.fit(occupied, align));
        r = layout.state.r;
        if (saved) heap!.set(saved, r[p + OFF]);
        this.reportMove(UNSTAGE, handle, 0, r[p + OFF], oldSize);
      }
    }
    if (size > oldSize) {
      const off = layout.state.r[p + OFF];
      if (heap !== null && this.zeroFill) this.memory!.zero(heap, off + oldSize, off + size);
      else if (this.moves.tracksNewBytes) this.moves.newBytes(off + oldSize, off + size);
    }
    this.finish(undefined);
  }

  /** A whole compaction at once; its moves join the operation's batch. O(B + moved bytes). */
  compactNow(heap: Uint8Array | null): CompactResult {
    const c = new Compaction(this.layout, heap, this.listenerSink()).run();
    this.counted(c.bytesMoved);
    if (c.blocksMoved > 0) this.moves.markMoved();
    return { blocksMoved: c.blocksMoved, bytesMoved: c.bytesMoved };
  }

  /**
   * Starts a compaction to run in slices (counted once). `forAlloc`: it makes the room a plan
   * promised an allocation, so blocks unpinned behind it get no extra pass (see Compaction).
   */
  startCompaction(heap: Uint8Array | null, forAlloc = false): Compaction {
    this.counted(0);
    return new Compaction(this.layout, heap, null, !forAlloc);
  }

  /** Runs one slice of about `budget` bytes over `heap` and publishes its moves. */
  compactSlice(c: Compaction, heap: Uint8Array | null, budget: number): void {
    const bytesBefore = c.bytesMoved;
    const movedBefore = c.blocksMoved;
    c.heap = heap;
    c.sink = this.listenerSink(); // listeners may come and go between slices
    c.step(budget);
    this.addBytesMoved(c.bytesMoved - bytesBefore);
    if (c.blocksMoved > movedBefore) this.moves.markMoved();
    this.moves.publish();
  }

  /**
   * Ends a mutating operation once its state is final: scrambles (debug mode) and publishes
   * the moves, so listeners never see a half-done operation. Returns `result`.
   */
  finish<T>(result: T): T {
    if (this.scramble) {
      this.moves.publish(); // one batch per arrangement: each block at most once per batch
      // A listener may have detached the memory; the operation itself is done, so skip.
      const heap = this.memory === null ? null : this.memory.current();
      if (heap !== null || this.memory === null) {
        this.layout.begin();
        if (scramble(this.layout, heap, this.listenerSink()) > 0) this.moves.markMoved();
      }
    }
    this.moves.publish();
    return result;
  }

  /** The heap's counters. O(1); O(log F) for best fit (the largest gap from its size index). */
  stats(): HeapStats {
    const layout = this.layout;
    const h = layout.state.h;
    const free = layout.capacity - layout.used;
    const largestFree = layout.largest;
    return {
      capacity: layout.capacity,
      used: layout.used,
      free,
      largestFree,
      liveBlocks: layout.live,
      freeBlocks: layout.gaps,
      pinnedBlocks: layout.pinned,
      fragmentation: free === 0 ? 0 : 1 - largestFree / free,
      peakUsed: h[H_PEAK],
      compactions: h[H_COMPACTIONS],
      bytesMoved: h[H_BYTES_MOVED_HI] * TWO_32 + h[H_BYTES_MOVED_LO],
    };
  }

  /** The live records in address order. O(B). */
  liveRecords(): number[] {
    const out: number[] = [];
    const r = this.layout.state.r;
    this.layout.forEach((p) => {
      if (isLive(r, p)) out.push(p);
    });
    return out;
  }

  outOfMemory(size: number, detail: string): OutOfMemoryError {
    const layout = this.layout;
    return new OutOfMemoryError(size, layout.capacity - layout.used, layout.largest, detail);
  }

  private allocated(heap: Uint8Array | null, p: number, size: number): number {
    const r = this.layout.state.r;
    if (heap !== null && this.zeroFill) {
      const off = r[p + OFF];
      this.memory!.zero(heap, off, off + size);
    } else if (this.moves.tracksNewBytes) {
      this.moves.newBytes(r[p + OFF], r[p + OFF] + size);
    }
    return this.finish(handleOf(r, p));
  }

  /** A copy of the layout (without `without`, when given) compacted, no bytes moved. O(records). */
  private planCompaction(without: number): BlockLayout {
    const copy = this.layout.clone();
    if (without !== NIL) copy.detach(without);
    new Compaction(copy, null).run();
    return copy;
  }

  /** True when every pinned block is where `placements` puts it. O(B). */
  private pinsKeep(placements: number[]): boolean {
    const r = this.layout.state.r;
    for (let i = 0; i < placements.length; i += 2) {
      const p = placements[i];
      if (pinsOf(r, p) > 0 && r[p + OFF] !== placements[i + 1]) return false;
    }
    return true;
  }

  private counted(bytes: number): void {
    this.layout.state.h[H_COMPACTIONS]++;
    this.addBytesMoved(bytes);
  }

  private addBytesMoved(bytes: number): void {
    const h = this.layout.state.h;
    const lo = h[H_BYTES_MOVED_LO] + bytes;
    h[H_BYTES_MOVED_LO] = lo % TWO_32;
    h[H_BYTES_MOVED_HI] += Math.floor(lo / TWO_32);
  }

  /** Reports one step that resize took (blocks moved: the epoch advances). */
  private reportMove(kind: StepKind, handle: number, from: number, to: number, size: number): void {
    if (this.moves.listening) this.moves.add(kind, handle, from, to, size);
    else this.moves.markMoved();
  }

  private listenerSink(): MoveSink | null {
    return this.moves.listening ? this.sink : null;
  }

  /**
   * True when a compaction may leave free space in more than one gap, so whether it makes room
   * must be planned on a copy: pins, over-aligned blocks, or an over-aligned request.
   */
  private needsPlan(align: number): boolean {
    const layout = this.layout;
    return layout.pinned > 0 || layout.overAligned > 0 || align > layout.mask + 1;
  }

  private planNote(): string {
    const layout = this.layout;
    if (layout.pinned > 0) {
      return `; pinned blocks split the free space (${layout.pinned} pinned), so compaction cannot join it`;
    }
    return layout.overAligned > 0
      ? `; over-aligned blocks keep padding in front of them (${layout.overAligned} blocks), so compaction cannot join all free space`
      : '; no gap holds it at its alignment, even after compaction';
  }
}

function pinnedError(handle: number, what: string): MemoryManagerError {
  return new MemoryManagerError(
    'ERR_BLOCK_PINNED',
    `Cannot ${what} block ${handle}: it is pinned.`,
  );
}
