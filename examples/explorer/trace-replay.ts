/**
 * Time travel through an allocation trace. The trace is replayed once, as the CLI replays it
 * (`allocSync`/`freeSync`/`resizeSync`, zero-byte requests as 1 byte, `zeroFill: false`),
 * recording the stats after every operation and a `save()` snapshot every so many steps. Going
 * to step N restores the last snapshot at or before N and replays the rest, so any step is
 * reached by at most one segment of operations, backwards as fast as forwards.
 */
import { ALLOC, FREE, type Trace } from '../../src/cli/trace.js';
import {
  MemoryManager,
  OutOfMemoryError,
  type Handle,
  type PlacementStrategy,
} from '../../src/index.js';
import { StatsHistory } from './charts.js';

export interface TimelineConfig {
  size: number;
  align: number;
  strategy: PlacementStrategy;
}

/** The heap after `step` operations, with the handle of each trace id (0: not live). */
export interface TraceState {
  readonly step: number;
  readonly heap: MemoryManager;
  readonly handles: Float64Array;
  /** Where the seek started: a snapshot, or the state it was given (a step before). */
  readonly source: 'snapshot' | 'continued';
  /** The step it started from, and the operations replayed after it to get here. */
  readonly startedAt: number;
  readonly replayed: number;
  readonly ms: number;
}

/** Snapshots kept per trace: at most this many, in at most this many bytes. */
const MAX_CHECKPOINTS = 64;
const CHECKPOINT_BUDGET = 48 << 20;

export class TraceTimeline {
  /** Stats after each step: sample 0 is the empty heap, sample N the heap after N operations. */
  readonly history = new StatsHistory();
  /** Steps the heap can reach: the trace's length, or fewer when it ran out of memory. */
  readonly steps: number;
  /** The operation that ran out of memory, if one did. */
  readonly failure: { op: number; message: string } | null = null;
  readonly checkpointEvery: number;
  private readonly snapshots: Uint8Array[] = [];
  private readonly handleSnapshots: Float64Array[] = [];

  constructor(
    readonly trace: Trace,
    readonly config: TimelineConfig,
  ) {
    const mm = this.emptyHeap();
    const handles = new Float64Array(trace.idCount);
    const first = mm.save();
    // A snapshot holds the bytes: big heaps get fewer, further apart.
    const perSnapshot = first.length + 32 * trace.idCount;
    const count = Math.max(
      1,
      Math.min(MAX_CHECKPOINTS, Math.floor(CHECKPOINT_BUDGET / perSnapshot)),
    );
    this.checkpointEvery = Math.max(1, Math.ceil(trace.length / count));
    this.snapshots.push(first);
    this.handleSnapshots.push(handles.slice());
    this.history.record(mm.stats());
    let step = 0;
    try {
      for (; step < trace.length; step++) {
        apply(mm, trace, step, handles);
        this.history.record(mm.stats());
        if ((step + 1) % this.checkpointEvery === 0) {
          this.snapshots.push(mm.save());
          this.handleSnapshots.push(handles.slice());
        }
      }
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      this.failure = { op: step, message: e.message };
    }
    this.steps = step;
  }

  /** Snapshots kept, and their bytes. */
  get checkpoints(): { count: number; bytes: number } {
    return {
      count: this.snapshots.length,
      bytes: this.snapshots.reduce((n, s) => n + s.length, 0),
    };
  }

  /**
   * The heap after `step` operations. Continues from `from` (which it then owns and changes)
   * when that is on the way, else restores the nearest snapshot before. O(capacity +
   * checkpointEvery operations).
   */
  seek(step: number, from?: TraceState): TraceState {
    const target = Math.max(0, Math.min(this.steps, Math.round(step)));
    const start = performance.now();
    const k = Math.floor(target / this.checkpointEvery);
    const checkpoint = k * this.checkpointEvery;
    let heap: MemoryManager;
    let handles: Float64Array;
    let at: number;
    let source: TraceState['source'];
    if (from !== undefined && from.step <= target && from.step >= checkpoint) {
      ({ heap, handles } = from);
      at = from.step;
      source = 'continued';
    } else {
      heap = MemoryManager.restore(this.snapshots[k]);
      handles = this.handleSnapshots[k].slice();
      at = checkpoint;
      source = 'snapshot';
    }
    const startedAt = at;
    for (; at < target; at++) apply(heap, this.trace, at, handles);
    const ms = performance.now() - start;
    return { step: target, heap, handles, source, startedAt, replayed: target - startedAt, ms };
  }

  private emptyHeap(): MemoryManager {
    return new MemoryManager({ ...this.config, zeroFill: false });
  }
}

/** Operation `i` of the trace, as `handle-heap replay` runs it. */
function apply(mm: MemoryManager, trace: Trace, i: number, handles: Float64Array): void {
  const id = trace.ids[i];
  const kind = trace.kinds[i];
  if (kind === ALLOC) handles[id] = mm.allocSync(trace.sizes[i] || 1);
  else if (kind === FREE) {
    mm.freeSync(handles[id]);
    handles[id] = 0;
  } else mm.resizeSync(handles[id], trace.sizes[i] || 1);
}

/** Trace ids of the live blocks of a state, by handle. O(ids). */
export function idsByHandle(state: TraceState): Map<Handle, number> {
  const out = new Map<Handle, number>();
  state.handles.forEach((h, id) => {
    if (h !== 0) out.set(h, id);
  });
  return out;
}
