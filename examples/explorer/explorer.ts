/**
 * The explorer's state and what its controls do: an interactive heap (HeapSession) or a
 * trace being travelled through (TracePlayer), drawn by the heap map, the charts and the
 * panels. Operations run one at a time, in the order they were asked for.
 */
import { MemoryManager, type Handle } from '../../src/index.js';
import { Chart, type ChartLine, type StatsHistory } from './charts.js';
import { byId } from './dom.js';
import { download, openFile, SNAPSHOT_EXTENSION } from './files.js';
import { HeapMap, type MapFrame } from './heap-map.js';
import { HeapSession, type HeapSettings } from './heap-session.js';
import { MoveAnimation, type AnimationSpeed, type MoveBatch } from './move-animation.js';
import { BlockTable, EventLog, StatsTable } from './panels.js';
import { ScriptRunner } from './script.js';
import { formatBytes, type ShownBlock } from './shown-heap.js';
import { TracePlayer, type TraceSettings } from './trace-player.js';

export type Mode = 'interactive' | 'trace';

export class Explorer {
  /** Called when the mode, the selection or the busy state changed (controls enable). */
  onStateChange: () => void = () => {};
  readonly session: HeapSession;
  readonly animation = new MoveAnimation();
  readonly runner = new ScriptRunner();
  selected: Handle | null = null;
  /** Operations asked for and not finished. */
  pending = 0;
  scriptRunning = false;
  /** The trace on show, in trace mode. */
  trace: TracePlayer | null = null;
  private loadedScript = '';
  private readonly map: HeapMap;
  private readonly charts: { chart: Chart; lines: (h: StatsHistory) => ChartLine[] }[];
  private readonly stats = new StatsTable(byId('stats', HTMLTableElement));
  private readonly table = new BlockTable(
    byId('blocks', HTMLTableElement).tBodies[0],
    byId('blocks-caption', HTMLElement),
  );
  private readonly log = new EventLog(byId('log', HTMLOListElement));
  private readonly canvas = byId('heap-map', HTMLCanvasElement);
  private chain: Promise<unknown> = Promise.resolve();
  private frameRequested = false;
  private panelsDirty = true;

  constructor(settings: HeapSettings) {
    this.session = new HeapSession(settings);
    this.map = new HeapMap(
      this.canvas,
      byId('tooltip', HTMLElement),
      this.session.mm.capacity,
      this.session.mm.align,
    );
    this.map.onSelect = (h) => this.select(h);
    this.map.describe = (b) => this.describe(b);
    this.table.onSelect = (h) => this.select(h);
    const capacity = (): number => this.heap.capacity;
    this.charts = [
      {
        chart: new Chart(byId('chart-fragmentation', HTMLCanvasElement), {
          format: (v) => v.toFixed(3),
          top: () => 1,
        }),
        lines: (h) => [{ series: h.fragmentation, colour: '#dc2626', label: 'fragmentation' }],
      },
      {
        chart: new Chart(byId('chart-used', HTMLCanvasElement), {
          format: formatBytes,
          top: capacity,
        }),
        lines: (h) => [
          { series: h.used, colour: '#2563eb', label: 'used' },
          { series: h.largestFree, colour: '#16a34a', label: 'largest free' },
        ],
      },
      {
        chart: new Chart(byId('chart-moved', HTMLCanvasElement), {
          format: formatBytes,
        }),
        lines: (h) => [{ series: h.bytesMoved, colour: '#7c3aed', label: 'bytes moved' }],
      },
    ];
    for (const { chart } of this.charts) chart.onPick = (i) => this.trace?.show(i);
    this.session.onBatch = (batch) => this.moved(batch);
    this.session.onChange = () => this.changed();
    window.addEventListener('resize', () => {
      this.map.relayout();
      this.changed();
    });
    this.log.add('info', `new heap: ${this.describeHeap(this.session.mm)}`);
    this.changed();
  }

  get mode(): Mode {
    return this.trace === null ? 'interactive' : 'trace';
  }

  /** The heap on show: the interactive one, or the trace's at the current step. */
  get heap(): MemoryManager {
    return this.trace?.heap ?? this.session.mm;
  }

  setSpeed(speed: AnimationSpeed): void {
    this.animation.speed = speed;
    if (speed === 'off') this.animation.clear();
  }

  newHeap(settings: HeapSettings): Promise<boolean> {
    return this.act(() => {
      const mm = new MemoryManager({ ...settings });
      this.adopt(mm);
      return `new heap: ${this.describeHeap(mm)}`;
    });
  }

  alloc(size: number, align?: number): Promise<boolean> {
    return this.act(async () => {
      const { handle, text } = await this.session.alloc(size, align);
      this.selected = handle;
      return text;
    });
  }

  free(): Promise<boolean> {
    return this.onSelected(async (h) => {
      const text = await this.session.free(h);
      this.selected = null;
      return text;
    });
  }

  resize(size: number): Promise<boolean> {
    return this.onSelected((h) => this.session.resize(h, size));
  }

  pin(): Promise<boolean> {
    return this.onSelected((h) => this.session.pin(h));
  }

  unpin(): Promise<boolean> {
    return this.onSelected((h) => this.session.unpin(h));
  }

  compact(sliceBytes?: number): Promise<boolean> {
    return this.act(() => this.session.compact(sliceBytes));
  }

  select(handle: Handle | null): void {
    this.selected = handle;
    this.changed();
    this.onStateChange();
  }

  /** Runs the script from its first line, waiting for each move to be shown. */
  async runScript(text: string): Promise<void> {
    if (!this.loadScript(text, true)) return;
    this.scriptRunning = true;
    this.onStateChange();
    try {
      while (this.scriptRunning && !this.runner.done) {
        if (!(await this.act(() => this.runner.step(this.session)))) break;
        await this.animationIdle();
      }
    } finally {
      this.scriptRunning = false;
      this.onStateChange();
    }
  }

  /** Runs the script's next line (loading it first when it changed or ran to its end). */
  async stepScript(text: string): Promise<void> {
    if (!this.loadScript(text, this.runner.done)) return;
    await this.act(() => this.runner.step(this.session));
    this.onStateChange();
  }

  stopScript(): void {
    this.scriptRunning = false;
  }

  /** What the Step button runs next, for the status line. */
  scriptStatus(): string {
    const next = this.runner.upcoming;
    if (!this.runner.loaded) return '';
    if (next === null) return 'script done';
    return `next: line ${next.line}`;
  }

  /** Opens a dropped or chosen file: a snapshot to restore or a trace to travel through. */
  open(file: File, traces: TraceSettings): Promise<boolean> {
    return this.act(async () => {
      const opened = await openFile(file);
      if (opened.kind === 'snapshot') {
        this.adopt(opened.heap);
        return `restored snapshot ${opened.name}: ${this.describeHeap(opened.heap)}`;
      }
      const trace = new TracePlayer(opened.trace, traces);
      this.scriptRunning = false;
      this.trace?.pause();
      this.animation.clear();
      this.trace = trace;
      this.selected = null;
      trace.onChange = () => {
        if (this.selected !== null && !trace.heap.has(this.selected)) this.selected = null;
        this.changed();
        this.onStateChange();
      };
      this.map.reset(trace.heap.capacity, trace.heap.align);
      trace.onChange();
      return trace.summary;
    });
  }

  /** Saves the heap on show as a `.heap` download. */
  saveSnapshot(): void {
    const mm = this.heap;
    const bytes = mm.save();
    const name =
      this.trace?.snapshotName(SNAPSHOT_EXTENSION) ??
      `heap-${mm.capacity}-${mm.stats().liveBlocks}-blocks${SNAPSHOT_EXTENSION}`;
    download(bytes, name);
    this.log.add('op', `save snapshot ${name}: ${formatBytes(bytes.length)} (state and bytes)`, {
      bytes: String(bytes.length),
    });
  }

  /** Leaves the trace with a copy of its heap at this step, to change by hand. */
  editTraceHeap(): Promise<boolean> {
    return this.act(() => {
      const trace = this.trace;
      if (trace === null) return;
      const { heap, names } = trace.copy();
      this.adopt(heap, names);
      return `editing a copy of the trace's heap at step ${trace.step} (blocks named t<trace id>)`;
    });
  }

  private onSelected(op: (h: Handle) => Promise<string> | string): Promise<boolean> {
    return this.act(() => {
      if (this.selected === null) throw new Error('select a block first: click it on the map');
      return op(this.selected);
    });
  }

  /**
   * Queues `what` after the operations already asked for; logs what it says or the error it
   * throws. Resolves to whether it succeeded.
   */
  private act(what: () => Promise<string | void> | string | void): Promise<boolean> {
    this.pending++;
    this.busyChanged();
    const run = this.chain.then(async () => {
      try {
        const text = await what();
        if (typeof text === 'string') this.log.add('op', text);
        return true;
      } catch (e) {
        this.log.add('error', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        return false;
      } finally {
        // A script or an operation may have freed the selected block.
        if (this.selected !== null && !this.heap.has(this.selected)) this.selected = null;
        this.pending--;
        this.busyChanged();
        this.changed();
      }
    });
    this.chain = run;
    return run;
  }

  private loadScript(text: string, restart: boolean): boolean {
    if (!restart && text === this.loadedScript && this.runner.loaded) return true;
    try {
      this.runner.load(text);
      this.loadedScript = text;
      return true;
    } catch (e) {
      this.log.add('error', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      return false;
    }
  }

  private adopt(mm: MemoryManager, names?: ReadonlyMap<Handle, string>): void {
    this.trace?.pause();
    this.trace = null;
    this.animation.clear();
    this.selected = null;
    this.runner.load('');
    this.loadedScript = '';
    this.scriptRunning = false;
    this.map.reset(mm.capacity, mm.align);
    this.session.adopt(mm, names);
    this.onStateChange();
  }

  private moved(batch: MoveBatch): void {
    this.animation.enqueue(batch, performance.now());
    // At once, not at the next frame: whoever waits for the map to settle sees it is not.
    this.canvas.dataset.animating = String(this.animation.active);
    const shown = batch.moves
      .slice(0, 6)
      .map(
        (m) =>
          `${m.kind === 'move' ? '' : `${m.kind} `}${this.session.nameOf(m.handle)} ${m.from}→${m.to}`,
      )
      .join(', ');
    const more = batch.moves.length > 6 ? `, … ${batch.moves.length - 6} more` : '';
    const bytes = batch.moves.reduce((n, m) => n + (m.kind === 'unstage' ? 0 : m.size), 0);
    this.log.add('moves', `move plan, ${batch.moves.length} steps: ${shown}${more}`, {
      steps: String(batch.moves.length),
      bytes: String(bytes),
    });
    this.requestFrame();
  }

  /** A block's script name, or in a trace `id N`; '' for none. */
  private nameOf(handle: Handle): string {
    if (this.trace !== null) {
      const id = this.trace.idOf(handle);
      return id === undefined ? '' : `id ${id}`;
    }
    return this.session.names.get(handle) ?? '';
  }

  private describe(b: ShownBlock): string[] {
    const name = this.nameOf(b.handle);
    if (name === '') return [];
    return [this.mode === 'trace' ? `trace ${name}` : `name ${name}`];
  }

  private describeHeap(mm: MemoryManager): string {
    const s = mm.stats();
    return (
      `${formatBytes(mm.capacity)}, align ${mm.align}, ${mm.strategy}` +
      `${mm.autoCompact ? '' : ', no auto-compaction'}${mm.scramble ? ', scramble' : ''}; ` +
      `${s.liveBlocks} blocks, ${formatBytes(s.used)} used`
    );
  }

  private busyChanged(): void {
    document.body.dataset.busy = String(this.pending > 0);
    this.onStateChange();
  }

  /** Something changed: redraw the map, charts and panels at the next frame. */
  private changed(): void {
    this.panelsDirty = true;
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.render();
    });
  }

  private render(): void {
    const playing =
      this.mode === 'interactive' ? this.animation.frame(performance.now(), this.selected) : null;
    const caption = byId('move-caption', HTMLElement);
    if (playing !== null) {
      this.map.draw(playing.map);
      const { step, index, count } = playing;
      caption.textContent =
        `move plan step ${index + 1} of ${count}: ${step.kind} ${this.session.nameOf(step.handle)}, ` +
        `${step.size} B, ${step.kind === 'unstage' ? 'staging' : 'heap'} ${step.from} → ` +
        `${step.kind === 'stage' ? 'staging' : 'heap'} ${step.to}`;
      this.requestFrame();
    } else {
      this.map.draw(this.liveFrame());
      caption.textContent = this.trace?.caption() ?? '\u00a0';
    }
    this.canvas.dataset.animating = String(playing !== null);
    if (!this.panelsDirty) return;
    this.panelsDirty = false;
    const mm = this.heap;
    this.stats.show(mm);
    this.table.show(this.blocks, (b) => this.nameOf(b.handle), this.selected);
    const history = this.trace?.history ?? this.session.history;
    const count = this.trace !== null ? this.trace.steps + 1 : history.length;
    const cursor = this.trace?.step ?? null;
    const unit = this.trace !== null ? 'operations' : 'operations and slices';
    for (const { chart, lines } of this.charts) chart.draw(lines(history), count, cursor, unit);
    byId('map-caption', HTMLElement).textContent =
      `${formatBytes(mm.capacity)}, align ${mm.align}, ${mm.strategy}; ` +
      `${formatBytes(Number(this.canvas.dataset.bytesPerRow))} per row`;
    const mode = byId('mode', HTMLElement);
    mode.dataset.mode = this.mode;
    mode.textContent = this.mode === 'trace' ? 'trace replay' : 'interactive heap';
  }

  /** The blocks on show, of the trace or of the interactive heap. */
  private get blocks(): readonly ShownBlock[] {
    return this.trace?.blocks ?? this.session.blocks;
  }

  private liveFrame(): MapFrame {
    return {
      blocks: this.blocks,
      staged: [],
      stagingBytes: 0,
      moving: null,
      selected: this.selected,
    };
  }

  private animationIdle(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.animation.active) resolve();
        else requestAnimationFrame(check);
      };
      check();
    });
  }
}
