/**
 * Plays move plans on the heap map: the steps of each batch one after another, in the order
 * the plan says they are safe to apply. A `'move'` slides the block from its old offset to the
 * new one; a `'stage'` fades it from the heap into the staging area, an `'unstage'` back.
 */
import { stagingBytes, type BlockMove, type Handle } from '../../src/index.js';
import type { DrawnBlock, MapFrame } from './heap-map.js';
import type { ShownBlock } from './shown-heap.js';

/** One batch from `onMove`, with the blocks as they were before it and are after it. */
export interface MoveBatch {
  readonly before: readonly ShownBlock[];
  readonly moves: readonly BlockMove[];
  readonly after: readonly ShownBlock[];
}

/**
 * The batch `moves` made, given the blocks shown before the operation and the heap after it.
 * Each moved block's first `from` is where it was before the batch, its `size` the size it had
 * then; a block the operation allocated without moving it is not there yet.
 */
export function batchOf(
  prior: readonly ShownBlock[],
  moves: readonly BlockMove[],
  after: readonly ShownBlock[],
  align: number,
): MoveBatch {
  const known = new Set(prior.map((b) => b.handle));
  const first = new Map<Handle, BlockMove>();
  for (const m of moves) if (!first.has(m.handle)) first.set(m.handle, m);
  const before: ShownBlock[] = [];
  for (const b of after) {
    const m = first.get(b.handle);
    if (m !== undefined) {
      before.push({ ...b, offset: m.from, size: m.size, bytes: Math.ceil(m.size / align) * align });
    } else if (known.has(b.handle)) {
      before.push(b);
    }
  }
  return { before, moves, after };
}

export type AnimationSpeed = 'off' | 'fast' | 'slow';

/** Milliseconds per step, and the most a whole batch may take. */
const TIMING: Record<Exclude<AnimationSpeed, 'off'>, { step: number; batch: number }> = {
  fast: { step: 90, batch: 1500 },
  slow: { step: 450, batch: 6000 },
};

export class MoveAnimation {
  speed: AnimationSpeed = 'fast';
  /** Batches played since the page loaded, and their steps. */
  played = 0;
  stepsPlayed = 0;
  private readonly queue: MoveBatch[] = [];
  private started = 0;

  get active(): boolean {
    return this.queue.length > 0;
  }

  enqueue(batch: MoveBatch, now: number): void {
    if (this.speed === 'off' || batch.moves.length === 0) return;
    if (this.queue.length === 0) this.started = now;
    this.queue.push(batch);
  }

  /** Drops what is left to play (a new heap, a trace). */
  clear(): void {
    this.queue.length = 0;
  }

  /**
   * The frame to draw at `now` and the step it shows (`index` of the batch's `count`), or
   * null when nothing is left to play.
   */
  frame(
    now: number,
    selected: Handle | null,
  ): { map: MapFrame; step: BlockMove; index: number; count: number } | null {
    for (;;) {
      const batch = this.queue[0];
      if (batch === undefined) return null;
      const per = this.stepMs(batch);
      const elapsed = now - this.started;
      if (elapsed < per * batch.moves.length) {
        const progress = Math.max(0, elapsed / per);
        const index = Math.floor(progress);
        return {
          map: frameOf(batch, progress, selected),
          step: batch.moves[index],
          index,
          count: batch.moves.length,
        };
      }
      this.queue.shift();
      this.played++;
      this.stepsPlayed += batch.moves.length;
      this.started += per * batch.moves.length;
    }
  }

  private stepMs(batch: MoveBatch): number {
    const timing = TIMING[this.speed === 'off' ? 'fast' : this.speed];
    return Math.min(timing.step, timing.batch / batch.moves.length);
  }
}

/** The blocks at `progress` steps into the batch (2.5: steps 0 and 1 done, step 2 half way). */
function frameOf(batch: MoveBatch, progress: number, selected: Handle | null): MapFrame {
  const current = Math.floor(progress);
  const p = ease(progress - current);
  const heapAt = new Map<Handle, number>();
  const stagedAt = new Map<Handle, number>();
  for (const b of batch.before) heapAt.set(b.handle, b.offset);
  for (let i = 0; i < current; i++) {
    const m = batch.moves[i];
    if (m.kind === 'move') heapAt.set(m.handle, m.to);
    else if (m.kind === 'stage') {
      heapAt.delete(m.handle);
      stagedAt.set(m.handle, m.to);
    } else {
      stagedAt.delete(m.handle);
      heapAt.set(m.handle, m.to);
    }
  }
  const step = batch.moves[current];
  const blocks: DrawnBlock[] = [];
  const staged: DrawnBlock[] = [];
  for (const b of batch.before) {
    const isStep = b.handle === step.handle;
    const at = heapAt.get(b.handle);
    if (isStep && step.kind === 'move') {
      blocks.push({ ...b, offset: step.from + (step.to - step.from) * p });
    } else if (isStep && step.kind === 'stage') {
      blocks.push({ ...b, offset: step.from, alpha: 1 - p });
      staged.push({ ...b, offset: step.to, alpha: p });
    } else if (isStep) {
      staged.push({ ...b, offset: step.from, alpha: 1 - p });
      blocks.push({ ...b, offset: step.to, alpha: p });
    } else if (at !== undefined) {
      blocks.push({ ...b, offset: at });
    } else {
      staged.push({ ...b, offset: stagedAt.get(b.handle) ?? 0 });
    }
  }
  const moving = batch.before.find((b) => b.handle === step.handle);
  return {
    blocks,
    staged,
    stagingBytes: stagingBytes(batch.moves),
    moving:
      moving === undefined || step.kind === 'stage'
        ? null
        : { handle: step.handle, to: step.to, bytes: moving.bytes },
    selected,
  };
}

function ease(t: number): number {
  return t < 0.5 ? 2 * t * t : 1 - 2 * (1 - t) * (1 - t);
}
