/**
 * A trace being travelled through: its timeline, the heap at the step on show, and playback
 * from there to the end.
 */
import { peakOf } from '../../src/cli/peak.js';
import { describeOp, type Trace } from '../../src/cli/trace.js';
import { MemoryManager, type Handle, type PlacementStrategy } from '../../src/index.js';
import { formatBytes, shownBlocks, type ShownBlock } from './shown-heap.js';
import { idsByHandle, TraceTimeline, type TraceState } from './trace-replay.js';

/** How a trace is replayed: a heap of `sizeFactor` times its peak occupied bytes. */
export interface TraceSettings {
  sizeFactor: number;
  align: number;
  strategy: PlacementStrategy;
}

/** Frames a playback from the first step to the last takes: about ten seconds. */
const PLAY_FRAMES = 600;

export class TracePlayer {
  /** Called after every step shown, and when playback starts or stops. */
  onChange: () => void = () => {};
  playing = false;
  /** The blocks at the step on show. */
  blocks: ShownBlock[] = [];
  /** What loading the trace found and did, for the log. */
  readonly summary: string;
  private readonly timeline: TraceTimeline;
  private state!: TraceState;
  private ids = new Map<Handle, number>();

  /** Replays `trace` once (see TraceTimeline) and shows it at its peak. O(operations). */
  constructor(trace: Trace, settings: TraceSettings) {
    const { align, strategy } = settings;
    const peak = peakOf(trace, align);
    const size = Math.max(align, Math.ceil((peak.occupied * settings.sizeFactor) / align) * align);
    const started = performance.now();
    this.timeline = new TraceTimeline(trace, { size, align, strategy });
    const ms = performance.now() - started;
    const { count, bytes } = this.timeline.checkpoints;
    const failure = this.timeline.failure;
    this.summary =
      `trace ${trace.file} (${trace.format}): ${trace.length} operations, peak ` +
      `${formatBytes(peak.occupied)} occupied after operation ${peak.operation + 1}; heap ` +
      `${formatBytes(size)}, ${strategy}; replayed in ${ms.toFixed(1)} ms, ${count} snapshots ` +
      `every ${this.timeline.checkpointEvery} operations (${formatBytes(bytes)})` +
      (failure === null
        ? ''
        : `; out of memory at operation ${failure.op + 1}: ${failure.message}`);
    this.show(peak.operation + 1);
  }

  get heap(): MemoryManager {
    return this.state.heap;
  }

  get step(): number {
    return this.state.step;
  }

  /** The last step: the trace's length, unless it ran out of memory before. */
  get steps(): number {
    return this.timeline.steps;
  }

  get name(): string {
    return `${this.timeline.trace.file}, ${this.timeline.trace.format}`;
  }

  get history(): TraceTimeline['history'] {
    return this.timeline.history;
  }

  /** Time travel: the heap after `step` operations (clamped to the trace). */
  show(step: number): void {
    this.state = this.timeline.seek(step, this.state);
    this.blocks = shownBlocks(this.state.heap);
    this.ids = idsByHandle(this.state);
    this.onChange();
  }

  /** Plays forward from the step on show (from the start when at the end). */
  play(): void {
    if (this.playing) return;
    if (this.step >= this.steps) this.show(0);
    this.playing = true;
    this.onChange();
    const per = Math.max(1, Math.ceil(this.steps / PLAY_FRAMES));
    const frame = (): void => {
      if (!this.playing) return;
      this.show(this.step + per);
      if (this.step >= this.steps) this.pause();
      else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  pause(): void {
    if (!this.playing) return;
    this.playing = false;
    this.onChange();
  }

  /** The trace id of a live block. */
  idOf(handle: Handle): number | undefined {
    return this.ids.get(handle);
  }

  /** A copy of the heap on show, its blocks named `t<trace id>`, to change by hand. */
  copy(): { heap: MemoryManager; names: Map<Handle, string> } {
    const heap = MemoryManager.restore(this.state.heap.save());
    return { heap, names: new Map([...this.ids].map(([h, id]) => [h, `t${id}`])) };
  }

  /** A file name for a snapshot of the heap on show. */
  snapshotName(extension: string): string {
    return `${this.timeline.trace.file.replace(/\.\w+$/, '')}-step-${this.step}${extension}`;
  }

  /** The operation that led to the step on show. */
  caption(): string {
    const { trace } = this.timeline;
    const step = this.step;
    return step === 0
      ? 'step 0: the empty heap, before the first operation'
      : `after operation ${step}: ${describeOp(trace, step - 1)} (line ${trace.lines[step - 1]})`;
  }

  /** How the step on show was reached, and what led to it. */
  status(): string {
    const s = this.state;
    const how =
      s.source === 'snapshot'
        ? `restored the snapshot of step ${s.startedAt}, replayed ${s.replayed} operations`
        : `replayed ${s.replayed} operations on from step ${s.startedAt}`;
    return `step ${s.step} of ${this.steps} · ${how} in ${s.ms.toFixed(2)} ms · ${this.caption()}`;
  }
}
