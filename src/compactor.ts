/**
 * Compaction: moves live, unpinned blocks toward offset 0 in address order, in steps that each
 * leave a valid heap, so a compaction can run in slices between which the event loop runs.
 *
 * Without pins, blocks slide: the free block in front of a run of live blocks trades places
 * with the run (one `copyWithin` per run), and the free index is fixed once per step, so the
 * bookkeeping is O(1) per block plus O(log F) per step. With pins, each block moves to the
 * lowest free place below it that holds it (first fit), so the gaps in front of pinned blocks
 * are filled with later blocks that fit; pinned blocks never move.
 */
import { NEXT, NIL, OFF, PREV, REQ, SIZE, isLive, pinsOf } from './block-records.js';
import type { BlockLayout } from './block-layout.js';
import type { CompactResult } from './types.js';

/** Receives each block move as it happens: its record, old and new offset. */
export type MoveSink = (p: number, from: number, to: number) => void;

export class Compaction implements CompactResult {
  blocksMoved = 0;
  bytesMoved = 0;
  /** Next block to consider; NIL when the compaction is complete. */
  private scan: number;
  /** True when the last step packed around pins. */
  private packed = false;
  private readonly layout: BlockLayout;
  /**
   * The heap's bytes, or null to plan a compaction on a copy of the layout without moving
   * bytes. May be replaced between steps (the memory under a heap can be replaced).
   */
  heap: Uint8Array | null;
  /** Told of every move; may be replaced between steps. */
  sink: MoveSink | null;

  constructor(layout: BlockLayout, heap: Uint8Array | null, sink: MoveSink | null = null) {
    this.layout = layout;
    this.heap = heap;
    this.sink = sink;
    this.scan = layout.head;
  }

  /** True when every block that can move down has moved. */
  get done(): boolean {
    return this.scan === NIL;
  }

  /** Runs the whole compaction. O(B + moved bytes) without pins, O(B log F + moved bytes) with. */
  run(): this {
    while (this.scan !== NIL) this.step(Infinity);
    return this;
  }

  /**
   * Moves blocks until about `budget` bytes have moved (at least one block, when any can
   * move), stopping between blocks: the heap is valid when it returns.
   */
  step(budget: number): void {
    const start = this.bytesMoved;
    while (this.scan !== NIL && this.bytesMoved - start < budget) {
      if (this.layout.pinned === 0) {
        // Sliding assumes everything before the first free block is in place; after packing
        // around pins that were released between steps, gaps may remain behind the scan.
        if (this.packed) {
          this.packed = false;
          this.scan = this.layout.head;
        }
        this.slide(budget - (this.bytesMoved - start));
      } else {
        this.packed = true;
        this.packOne();
      }
    }
  }

  /** No pins: slides runs of live blocks down over the free block in front of them. */
  private slide(budget: number): void {
    const layout = this.layout;
    const records = layout.records;
    const r = records.r;
    const heap = this.heap;
    const sink = this.sink;
    // Blocks before the first free block are in place.
    let f = this.scan;
    while (f !== NIL && isLive(r, f)) f = r[f + NEXT];
    if (f === NIL || r[f + NEXT] === NIL) {
      this.scan = NIL;
      return;
    }
    const lo = r[f + OFF];
    let hi = lo;
    let merged = 0;
    let moved = 0;
    layout.sizes?.remove(f);
    // Invariant: f is free and the block after it is live.
    for (;;) {
      const first = r[f + NEXT];
      let last = first;
      let bytes = r[first + SIZE];
      for (
        let n = r[last + NEXT];
        n !== NIL && isLive(r, n) && moved + bytes < budget;
        n = r[n + NEXT]
      ) {
        last = n;
        bytes += r[n + SIZE];
      }
      const from = r[first + OFF];
      const to = r[f + OFF];
      const delta = from - to;
      heap?.copyWithin(to, from, from + bytes);
      for (let q = first; ; q = r[q + NEXT]) {
        const off = r[q + OFF];
        r[q + OFF] = off - delta;
        sink?.(q, off, off - delta);
        this.blocksMoved++;
        if (q === last) break;
      }
      this.bytesMoved += bytes;
      moved += bytes;
      // The run and f trade places in the list: before f, first..last, after.
      const before = r[f + PREV];
      let after = r[last + NEXT];
      if (before === NIL) layout.head = first;
      else r[before + NEXT] = first;
      r[first + PREV] = before;
      r[last + NEXT] = f;
      r[f + PREV] = last;
      r[f + OFF] = to + bytes;
      if (after !== NIL && !isLive(r, after)) {
        // f now touches the next free block: absorb it.
        hi = r[after + OFF];
        layout.sizes?.remove(after);
        r[f + SIZE] += r[after + SIZE];
        const gone = after;
        after = r[after + NEXT];
        records.give(gone);
        merged++;
      }
      r[f + NEXT] = after;
      if (after !== NIL) r[after + PREV] = f;
      if (after === NIL || moved >= budget) break;
    }
    // The index still holds f at its old offset and the blocks it absorbed: fix it in one go.
    layout.index.replaceRange(lo, Math.max(hi, r[f + OFF]), merged + 1, f);
    layout.sizes?.insert(f);
    this.scan = r[f + NEXT] === NIL ? NIL : f;
  }

  /** With pins: moves the next movable block to the lowest free place below it that holds it. */
  private packOne(): void {
    const layout = this.layout;
    const r = layout.records.r;
    const b = this.scan;
    if (!isLive(r, b) || pinsOf(r, b) > 0) {
      this.scan = r[b + NEXT];
      return;
    }
    const size = r[b + SIZE];
    const from = r[b + OFF];
    const prev = r[b + PREV];
    const lower = layout.index.firstFit(size);
    const canMove = (lower !== NIL && r[lower + OFF] < from) || (prev !== NIL && !isLive(r, prev));
    if (!canMove) {
      this.scan = r[b + NEXT];
      return;
    }
    // Its old space joins the free block in front, if any: first fit now lands at or below it.
    const f = layout.detach(b);
    const t = layout.index.firstFit(size);
    layout.attach(b, t, size);
    const r2 = layout.records.r; // detach may have grown the table
    const to = r2[b + OFF];
    this.heap?.copyWithin(to, from, from + r2[b + REQ]);
    this.sink?.(b, from, to);
    this.blocksMoved++;
    this.bytesMoved += size;
    // f still covers what is left of the old space; the next block to consider follows it.
    this.scan = r2[f + NEXT];
  }
}
