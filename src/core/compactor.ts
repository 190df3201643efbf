// Compaction: moves live, unpinned blocks toward offset 0 in address order, in steps that each
// leave a valid heap, so a compaction can run in slices between which the event loop runs.
//
// Without pins, blocks slide: the run of blocks after the lowest gap moves down over it (one
// `copyWithin` per run) and the last block of the run then hosts the gap, so the gap travels
// up the heap gathering the others; the bookkeeping is O(1) per block plus O(log F) per run
// (a whole compaction rebuilds the indexes once at the end instead, O(B)).
// With pins, each block moves to the lowest gap below it that holds it (first fit), so the gaps
// in front of pinned blocks are filled with later blocks that fit; pinned blocks never move.
// Over-aligned blocks (an `align` above the heap's) are packed the same way, each to the lowest
// multiple of its own alignment that holds it, so later blocks fill the padding in front of them.
// Moves go through BlockLayout's operations; this file only decides them and copies bytes.
import type { BlockLayout } from '../layout/block-layout.js';
import { GEN_MASK, LIVE_BIT, META, NIL, OFF, REQ, SENTINEL, pinsOf } from '../layout/records.js';
import { MOVE, type MoveSink } from './moves.js';

/** What a compaction did. */
export interface CompactResult {
  /** Live blocks whose offset changed. */
  blocksMoved: number;
  /** Bytes copied: the occupied sizes of the blocks that moved. */
  bytesMoved: number;
}

export class Compaction implements CompactResult {
  blocksMoved = 0;
  bytesMoved = 0;
  /**
   * The heap's bytes, or null to plan a compaction on a copy of the layout without moving
   * bytes. May be replaced between steps (the memory under a heap can be replaced).
   */
  heap: Uint8Array | null;
  /** Told of every move; may be replaced between steps. */
  sink: MoveSink | null;
  private readonly layout: BlockLayout;
  /** Packing: the next block to consider. Sliding: SENTINEL while not done. NIL when done. */
  private scan = SENTINEL;
  /** True when the last step packed around pins (pins can come and go between steps). */
  private packing = false;
  /**
   * Packing: the generation and live bit of `scan` as the last step ended. Through the API
   * only pins change between steps, but if that block were freed (or freed and its record
   * reused, short of the generation wrapping round) the next step starts again at the lowest
   * gap rather than go on from a record that is no longer that block.
   */
  private mark = 0;
  /**
   * Packing: the layout's count of unpins when this pass began. Blocks unpinned behind `scan`
   * may move down now: when the pass ends after any, one more pass runs from the lowest gap
   * (one only, so unpins cannot keep a compaction going; later ones wait for the next).
   */
  private unpins = 0;
  /**
   * True once the extra pass is taken, and from the start for a compaction made to give an
   * allocation the room a plan promised: an extra pass could put a block unpinned meanwhile
   * into that room (and the block be pinned again).
   */
  private again: boolean;
  /** True when the next step must start a pass at the lowest gap. */
  private reseek = false;
  private runBuffer: Uint32Array = new Uint32Array(64);

  /** `revisit`: whether blocks unpinned behind a packing pass get one more pass (see above). */
  constructor(
    layout: BlockLayout,
    heap: Uint8Array | null,
    sink: MoveSink | null = null,
    revisit = true,
  ) {
    this.layout = layout;
    this.again = !revisit;
    this.heap = heap;
    this.sink = sink;
  }

  /**
   * True when every block that can move down has moved (with pins changing between steps:
   * every block unpinned before the last pass began).
   */
  get done(): boolean {
    return this.scan === NIL;
  }

  /** Runs the whole compaction. O(B + moved bytes) without pins, O(B log B + moved bytes) with. */
  run(): this {
    while (this.scan !== NIL) this.step(Infinity);
    return this;
  }

  /**
   * Moves blocks until about `budget` bytes have moved (at least one block, when any can
   * move), stopping between blocks: the heap is valid when it returns.
   */
  step(budget: number): void {
    if (this.scan === NIL) return; // done: a step after the end does nothing
    const layout = this.layout;
    layout.begin();
    const start = this.bytesMoved;
    if (this.packing && this.markOf(this.scan) !== this.mark) this.reseek = true;
    while (this.scan !== NIL && this.bytesMoved - start < budget) {
      // Pins, or over-aligned blocks (whose padding later blocks may fill): pack block by block.
      const pins = layout.pinned > 0 || layout.overAligned > 0;
      if (pins !== this.packing || this.reseek) {
        // Blocks below the lowest gap are in place either way: start there.
        this.packing = pins;
        this.reseek = false;
        this.unpins = layout.unpins;
        // A whole compaction that slides needs no gap index (a best-fit heap has none to spare).
        const first = pins || budget !== Infinity ? layout.firstFit(1) : layout.lowestGap();
        this.scan = first === NIL ? NIL : pins ? layout.next(first) : SENTINEL;
        continue;
      }
      if (pins) this.packOne();
      else this.slide(budget - (this.bytesMoved - start));
    }
    if (this.scan === NIL && this.packing && !this.again && layout.unpins !== this.unpins) {
      // A pass that packed ended after blocks behind it were unpinned: one more, next step.
      this.again = true;
      this.reseek = true;
      this.scan = SENTINEL; // not done
    }
    this.mark = this.markOf(this.scan);
    // A best-fit heap asked for its gaps by address (firstFit) only for this compaction.
    if (this.scan === NIL) layout.unaddress();
  }

  /** No pins: slides runs of blocks down over the gap in front of them. */
  private slide(budget: number): void {
    const layout = this.layout;
    const heap = this.heap;
    const sink = this.sink;
    const fixLater = budget === Infinity;
    // A whole compaction only needs the lowest gap, then rebuilds the indexes it keeps; a
    // bounded slice keeps them exact per run, so it asks the gap index (building it in a
    // best-fit heap, until the compaction ends).
    let host = fixLater ? layout.lowestGap() : layout.firstFit(1);
    if (host === NIL) {
      this.scan = NIL;
      return;
    }
    // A whole compaction rebuilds the indexes once at the end, O(B), instead of two index
    // updates per run.
    let moved = 0;
    let b = layout.next(host);
    while (b !== NIL) {
      const r = layout.state.r;
      let run = this.runBuffer;
      let count = 0;
      let bytes = 0;
      let last = b;
      for (;;) {
        if (count === run.length) run = this.growRun();
        run[count++] = last;
        bytes += layout.occupied(last);
        if (layout.gapAfter(last) !== 0 || moved + bytes >= budget) break;
        const n = layout.next(last);
        if (n === NIL) break;
        last = n;
      }
      const from = r[b + OFF];
      const delta = layout.gapAfter(host);
      heap?.copyWithin(from - delta, from, from + bytes);
      if (sink !== null)
        for (let i = 0; i < count; i++) {
          const off = r[run[i] + OFF];
          sink(MOVE, run[i], off, off - delta);
        }
      layout.slideRun(host, run, count, !fixLater);
      this.blocksMoved += count;
      this.bytesMoved += bytes;
      moved += bytes;
      host = last;
      if (moved >= budget) return; // never with fixLater
      b = layout.next(last);
    }
    if (fixLater) layout.reindex();
    this.scan = NIL; // the gap reached the end of the heap
  }

  /** With pins: moves the next movable block to the lowest gap below it that holds it. */
  private packOne(): void {
    const layout = this.layout;
    const b = this.scan;
    const next = layout.next(b);
    let r = layout.state.r;
    if (pinsOf(r, b) > 0) {
      this.scan = next;
      return;
    }
    const size = layout.occupied(b);
    const from = r[b + OFF];
    const align = layout.alignOf(b);
    const lower = layout.firstFitAligned(size, align);
    const front = from - layout.gapAfter(layout.prev(b)); // where the gap in front starts
    if ((lower === NIL || r[lower + OFF] >= from) && front + (-front & (align - 1)) === from) {
      this.scan = next; // no room below it
      return;
    }
    // Its space joins the gap in front: first fit now lands at or below where it was.
    layout.detach(b);
    layout.attach(b, layout.firstFitAligned(size, align));
    r = layout.state.r;
    const to = r[b + OFF];
    this.heap?.copyWithin(to, from, from + r[b + REQ]);
    this.sink?.(MOVE, b, from, to);
    this.blocksMoved++;
    this.bytesMoved += size;
    this.scan = next;
  }

  /** Generation and live bit of record `p` (0 for NIL and the sentinel: nothing to check). */
  private markOf(p: number): number {
    return p === NIL || p === SENTINEL ? 0 : this.layout.state.r[p + META] & (GEN_MASK | LIVE_BIT);
  }

  private growRun(): Uint32Array {
    const run = new Uint32Array(this.runBuffer.length * 2);
    run.set(this.runBuffer);
    this.runBuffer = run;
    return run;
  }
}
