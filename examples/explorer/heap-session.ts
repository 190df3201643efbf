/**
 * The heap the page's buttons and scripts work on: a MemoryManager, the names scripts gave its
 * blocks, its stats after every operation, and its move plans as batches to animate.
 */
import {
  MemoryManager,
  type BlockMove,
  type Handle,
  type PlacementStrategy,
} from '../../src/index.js';
import { StatsHistory } from './charts.js';
import { batchOf, type MoveBatch } from './move-animation.js';
import { formatBytes, shownBlocks, type ShownBlock } from './shown-heap.js';

export interface HeapSettings {
  size: number;
  align: number;
  strategy: PlacementStrategy;
  autoCompact: boolean;
  scramble: boolean;
}

export class HeapSession {
  /** Called with each move plan, as it happens (a sliced compaction: once per slice). */
  onBatch: (batch: MoveBatch) => void = () => {};
  /** Called after every change: an operation, a slice, a new heap. */
  onChange: () => void = () => {};
  mm!: MemoryManager;
  history = new StatsHistory();
  /** Names scripts gave blocks (`a = alloc 64`). */
  readonly names = new Map<Handle, string>();
  /** The blocks as of the last operation or batch: the "before" of the next batch. */
  private layout: ShownBlock[] = [];
  private unsubscribe: () => void = () => {};
  /** Samples taken by batches during the running operation. */
  private sampledByBatches = 0;

  constructor(settings: HeapSettings) {
    this.adopt(
      new MemoryManager({
        size: settings.size,
        align: settings.align,
        strategy: settings.strategy,
        autoCompact: settings.autoCompact,
        scramble: settings.scramble,
      }),
    );
  }

  /** Works on `mm` from now on (a new heap, a restored snapshot, a trace's heap at a step). */
  adopt(mm: MemoryManager, names: ReadonlyMap<Handle, string> = new Map()): void {
    this.unsubscribe();
    this.mm = mm;
    this.names.clear();
    for (const [h, n] of names) this.names.set(h, n);
    this.history = new StatsHistory();
    this.history.record(mm.stats());
    this.layout = shownBlocks(mm);
    this.unsubscribe = mm.onMove((moves) => this.moved(moves));
    this.onChange();
  }

  get blocks(): readonly ShownBlock[] {
    return this.layout;
  }

  async alloc(
    size: number,
    align?: number,
    name?: string,
  ): Promise<{ handle: Handle; text: string }> {
    const handle = await this.mm.alloc(size, align === undefined ? undefined : { align });
    if (name !== undefined) this.names.set(handle, name);
    this.settled();
    const label = name === undefined ? '' : `${name} = `;
    const aligned = align === undefined ? '' : ` align ${align}`;
    return {
      handle,
      text: `${label}alloc ${size}${aligned}: handle ${handle} at offset ${this.mm.offsetOf(handle)}`,
    };
  }

  async free(handle: Handle): Promise<string> {
    const where = this.mm.offsetOf(handle);
    const size = this.mm.sizeOf(handle);
    await this.mm.free(handle);
    const name = this.nameOf(handle);
    this.names.delete(handle);
    this.settled();
    return `free ${name}: ${size} B at offset ${where} are free again`;
  }

  async resize(handle: Handle, size: number): Promise<string> {
    const from = this.mm.offsetOf(handle);
    const old = this.mm.sizeOf(handle);
    await this.mm.resize(handle, size);
    this.settled();
    const to = this.mm.offsetOf(handle);
    const where = from === to ? `stays at ${to}` : `moves ${from} → ${to}`;
    return `resize ${this.nameOf(handle)} ${old} → ${size}: ${where}`;
  }

  pin(handle: Handle): string {
    this.mm.pin(handle);
    this.settled();
    return `pin ${this.nameOf(handle)}: it stays at ${this.mm.offsetOf(handle)} until unpinned`;
  }

  unpin(handle: Handle): string {
    this.mm.unpin(handle);
    this.settled();
    return `unpin ${this.nameOf(handle)}${this.mm.isPinned(handle) ? ' (still pinned: pins are counted)' : ''}`;
  }

  /** `compact()`, or with `sliceBytes` `compact({ sliceBytes })`: one batch per slice. */
  async compact(sliceBytes?: number): Promise<string> {
    const before = this.mm.stats().fragmentation;
    const r = await this.mm.compact(sliceBytes === undefined ? {} : { sliceBytes });
    this.settled();
    const how = sliceBytes === undefined ? 'compact' : `compact in slices of ${sliceBytes} B`;
    return (
      `${how}: ${r.blocksMoved} blocks, ${formatBytes(r.bytesMoved)} moved; ` +
      `fragmentation ${before.toFixed(3)} → ${this.mm.stats().fragmentation.toFixed(3)}`
    );
  }

  /** A block's script name, or `handle N`. */
  nameOf(handle: Handle): string {
    return this.names.get(handle) ?? `handle ${handle}`;
  }

  private moved(moves: readonly BlockMove[]): void {
    const after = shownBlocks(this.mm);
    const batch = batchOf(this.layout, moves, after, this.mm.align);
    this.layout = after;
    // Each slice of a sliced compaction is a sample of its own, so the charts show it advance.
    this.history.record(this.mm.stats());
    this.sampledByBatches++;
    this.onBatch(batch);
    this.onChange();
  }

  /** After an operation: the blocks and, unless its batches took them, one stats sample. */
  private settled(): void {
    this.layout = shownBlocks(this.mm);
    if (this.sampledByBatches === 0) this.history.record(this.mm.stats());
    this.sampledByBatches = 0;
    this.onChange();
  }
}
