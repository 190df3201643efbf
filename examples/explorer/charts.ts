/**
 * Time series of a heap's stats and the line charts that draw them: one sample per operation
 * (per slice for a sliced compaction), thousands of samples folded into one column per pixel.
 */
import type { HeapStats } from '../../src/index.js';

/** A growable list of numbers. */
export class Series {
  private data = new Float64Array(256);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  at(i: number): number {
    return this.data[i];
  }

  get last(): number {
    return this.length === 0 ? 0 : this.data[this.length - 1];
  }

  /** The largest value of samples [0, end). O(end). */
  max(end = this.length): number {
    let m = 0;
    for (let i = 0; i < end; i++) if (this.data[i] > m) m = this.data[i];
    return m;
  }
}

/** The stats the charts follow, one sample each. */
export class StatsHistory {
  readonly fragmentation = new Series();
  readonly used = new Series();
  readonly largestFree = new Series();
  readonly bytesMoved = new Series();

  get length(): number {
    return this.used.length;
  }

  record(stats: HeapStats): void {
    this.fragmentation.push(stats.fragmentation);
    this.used.push(stats.used);
    this.largestFree.push(stats.largestFree);
    this.bytesMoved.push(stats.bytesMoved);
  }
}

export interface ChartLine {
  readonly series: Series;
  readonly colour: string;
  readonly label: string;
}

export interface ChartOptions {
  readonly format: (value: number) => string;
  /** The top of the y axis; default the largest value drawn. */
  readonly top?: () => number;
}

const PAD = { left: 8, right: 8, top: 22, bottom: 16 };

export class Chart {
  /** Called with the sample under a click. */
  onPick: (index: number) => void = () => {};
  private count = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly options: ChartOptions,
  ) {
    canvas.addEventListener('click', (e) => {
      if (this.count === 0) return;
      const w = canvas.clientWidth - PAD.left - PAD.right;
      const t = Math.min(1, Math.max(0, (e.offsetX - PAD.left) / w));
      this.onPick(Math.round(t * (this.count - 1)));
    });
  }

  /**
   * Draws `lines` over samples [0, count), a cursor at sample `cursor` (time travel), and
   * `unit` (what a sample is) on the time axis. O(count).
   */
  draw(lines: readonly ChartLine[], count: number, cursor: number | null, unit: string): void {
    this.count = count;
    const cssWidth = this.canvas.clientWidth || 300;
    const cssHeight = this.canvas.clientHeight || 120;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(cssWidth * dpr)) {
      this.canvas.width = Math.round(cssWidth * dpr);
      this.canvas.height = Math.round(cssHeight * dpr);
    }
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) throw new Error('a chart needs a 2D canvas context');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, cssWidth, cssHeight);

    const w = cssWidth - PAD.left - PAD.right;
    const h = cssHeight - PAD.top - PAD.bottom;
    const top = this.options.top?.() ?? Math.max(1, ...lines.map((l) => l.series.max(count)));
    ctx.strokeStyle = '#e3e6eb';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left + 0.5, PAD.top + 0.5, w - 1, h - 1);

    for (const line of lines) plot(ctx, line, count, top, w, h);

    // Each line's value at the cursor (or the latest), and the axis range.
    const at = cursor ?? count - 1;
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.fillStyle = '#1f2430';
    const values = lines
      .map((l) => `${l.label} ${at >= 0 ? this.options.format(l.series.at(at)) : '-'}`)
      .join(' · ');
    ctx.fillText(values, PAD.left, 15);
    ctx.font = '10px system-ui, sans-serif';
    ctx.fillStyle = '#6b7280';
    ctx.textAlign = 'right';
    ctx.fillText(`↑ ${this.options.format(top)}`, PAD.left + w - 4, PAD.top + 11);
    ctx.fillText(`${Math.max(0, count - 1)} ${unit}`, PAD.left + w, cssHeight - 4);
    ctx.textAlign = 'left';
    ctx.fillText('0', PAD.left, cssHeight - 4);

    if (cursor !== null && count > 1) {
      const x = PAD.left + Math.round((cursor / (count - 1)) * (w - 1)) + 0.5;
      ctx.strokeStyle = '#1f2430';
      ctx.beginPath();
      ctx.moveTo(x, PAD.top);
      ctx.lineTo(x, PAD.top + h);
      ctx.stroke();
    }

    const d = this.canvas.dataset;
    d.samples = String(count);
    d.last = count > 0 ? String(lines[0].series.at(count - 1)) : '';
    d.cursor = cursor === null ? '' : String(cursor);
    d.colours = lines.map((l) => l.colour).join(' ');
  }
}

/** One line, one column per pixel: each column spans the minimum to maximum of its samples. */
function plot(
  ctx: CanvasRenderingContext2D,
  line: ChartLine,
  count: number,
  top: number,
  w: number,
  h: number,
): void {
  if (count === 0) return;
  const yOf = (v: number): number => PAD.top + h - 1 - (Math.min(v, top) / top) * (h - 2);
  ctx.strokeStyle = line.colour;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  if (count <= w) {
    for (let i = 0; i < count; i++) {
      const x = PAD.left + (count === 1 ? 0 : (i / (count - 1)) * (w - 1));
      if (i === 0) ctx.moveTo(x, yOf(line.series.at(i)));
      else ctx.lineTo(x, yOf(line.series.at(i)));
    }
  } else {
    for (let col = 0; col < w; col++) {
      const from = Math.floor((col * count) / w);
      const to = Math.max(from + 1, Math.floor(((col + 1) * count) / w));
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = from; i < to; i++) {
        const v = line.series.at(i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const x = PAD.left + col + 0.5;
      if (col === 0) ctx.moveTo(x, yOf(hi));
      else ctx.lineTo(x, yOf(hi));
      ctx.lineTo(x, yOf(lo));
    }
  }
  ctx.stroke();
}
