/**
 * The heap map: the heap's bytes by address on a canvas, row after row, each live block in its
 * handle's colour, pinned blocks striped, free space grey, and below the rows the staging area
 * a move plan may use. Hovering shows a block's details; clicking selects it.
 */
import type { Handle } from '../../src/index.js';
import { colourOf, formatBytes, type ShownBlock } from './shown-heap.js';

/** A block as one frame draws it. */
export interface DrawnBlock extends ShownBlock {
  /** 0 (invisible) to 1; a block fading out of or into the staging area is in between. */
  readonly alpha?: number;
}

export interface MapFrame {
  readonly blocks: readonly DrawnBlock[];
  /** Blocks in the staging area, `offset` a staging offset. */
  readonly staged: readonly DrawnBlock[];
  /** Bytes of staging the frame's move plan needs (0: none). */
  readonly stagingBytes: number;
  /** A block being moved: outlined, with its destination dashed. */
  readonly moving: { readonly handle: Handle; readonly to: number; readonly bytes: number } | null;
  readonly selected: Handle | null;
}

export const FREE_COLOUR = '#e3e6eb';
const BACKGROUND = '#ffffff';
const INK = '#1f2430';
const FAINT_INK = '#6b7280';
const PIN_STRIPES = 'rgba(17, 24, 39, 0.7)';
/** Left margin for the offset labels, CSS pixels. */
const GUTTER = 64;
const RIGHT_MARGIN = 8;
/** Height the rows aim to fill, CSS pixels. */
const ROWS_HEIGHT = 400;
const MAX_ROWS = 32;
const STAGING_GAP = 22;

/** Where each byte offset lies on the canvas: rows of `bytesPerRow` bytes. CSS pixels. */
export class MapGeometry {
  readonly rows: number;
  readonly bytesPerRow: number;
  readonly rowPitch: number;
  readonly rowHeight: number;
  readonly x0 = GUTTER;
  readonly width: number;
  readonly stagingY: number;
  readonly height: number;

  constructor(
    readonly capacity: number,
    align: number,
    canvasWidth: number,
  ) {
    const units = Math.max(1, capacity / align);
    // About 128 alignment units a row, in at most MAX_ROWS rows.
    this.rows = Math.min(MAX_ROWS, Math.max(1, Math.ceil(units / 128)));
    this.bytesPerRow = align * Math.ceil(units / this.rows);
    this.rows = Math.ceil(capacity / this.bytesPerRow);
    this.rowPitch = Math.max(12, Math.min(32, Math.floor(ROWS_HEIGHT / this.rows)));
    this.rowHeight = this.rowPitch - 4;
    this.width = Math.max(100, canvasWidth - GUTTER - RIGHT_MARGIN);
    this.stagingY = this.rows * this.rowPitch + STAGING_GAP;
    this.height = this.stagingY + this.rowHeight + 6;
  }

  /** The x of a byte position within a row, snapped to whole pixels. */
  private xAt(inRow: number): number {
    return this.x0 + Math.round((inRow * this.width) / this.bytesPerRow);
  }

  /** The rectangles covering bytes [offset, offset + bytes), one per row they span. */
  segments(offset: number, bytes: number): { x: number; y: number; w: number }[] {
    const out: { x: number; y: number; w: number }[] = [];
    const end = Math.min(offset + bytes, this.capacity);
    let at = offset;
    while (at < end) {
      const row = Math.floor(at / this.bytesPerRow);
      const rowStart = row * this.bytesPerRow;
      const segEnd = Math.min(end, rowStart + this.bytesPerRow);
      const x = this.xAt(at - rowStart);
      out.push({ x, y: row * this.rowPitch, w: Math.max(1, this.xAt(segEnd - rowStart) - x) });
      at = segEnd;
    }
    return out;
  }

  /** The byte offset under a point, or null outside the rows. */
  offsetAt(x: number, y: number): number | null {
    const row = Math.floor(y / this.rowPitch);
    if (row < 0 || row >= this.rows || y - row * this.rowPitch >= this.rowHeight) return null;
    if (x < this.x0 || x >= this.x0 + this.width) return null;
    const offset = Math.floor(
      row * this.bytesPerRow + ((x - this.x0) * this.bytesPerRow) / this.width,
    );
    return offset < this.capacity ? offset : null;
  }
}

export class HeapMap {
  /** Called with the block clicked, or null for free space. */
  onSelect: (handle: Handle | null) => void = () => {};
  /** Extra lines for a block's hover details (its script name, its trace id). */
  describe: (block: ShownBlock) => string[] = () => [];
  private geometry: MapGeometry;
  private frame: MapFrame = {
    blocks: [],
    staged: [],
    stagingBytes: 0,
    moving: null,
    selected: null,
  };
  private hover: { x: number; y: number } | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly tooltip: HTMLElement,
    private capacity: number,
    private align: number,
  ) {
    this.geometry = this.measure();
    canvas.addEventListener('mousemove', (e) => {
      this.hover = { x: e.offsetX, y: e.offsetY };
      this.showTooltip();
    });
    canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.showTooltip();
    });
    canvas.addEventListener('click', (e) => {
      this.onSelect(this.blockAt(e.offsetX, e.offsetY)?.handle ?? null);
    });
  }

  /** A heap of another capacity or alignment: new rows. */
  reset(capacity: number, align: number): void {
    this.capacity = capacity;
    this.align = align;
    this.geometry = this.measure();
  }

  /** Re-measures after the canvas's CSS width changed. */
  relayout(): void {
    this.geometry = this.measure();
    this.draw(this.frame);
  }

  /** Draws a frame and keeps it for hit testing. O(blocks + rows). */
  draw(frame: MapFrame): void {
    this.frame = frame;
    const g = this.geometry;
    const ctx = this.context();
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);

    this.drawRows(ctx, g);
    for (const block of frame.blocks) this.drawBlock(ctx, block, block.offset, 0);
    if (frame.moving !== null) {
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.5;
      for (const s of g.segments(frame.moving.to, frame.moving.bytes)) {
        ctx.strokeRect(s.x + 0.75, s.y + 0.75, s.w - 1.5, g.rowHeight - 1.5);
      }
      ctx.setLineDash([]);
    }
    for (const block of frame.blocks) {
      if (block.handle === frame.selected || block.handle === frame.moving?.handle) {
        ctx.strokeStyle = INK;
        ctx.lineWidth = 2;
        for (const s of g.segments(block.offset, block.bytes)) {
          ctx.strokeRect(s.x + 1, s.y + 1, s.w - 2, g.rowHeight - 2);
        }
      }
    }
    this.drawStaging(ctx, g, frame);

    const c = this.canvas.dataset;
    c.capacity = String(this.capacity);
    c.bytesPerRow = String(g.bytesPerRow);
    c.rows = String(g.rows);
    c.rowPitch = String(g.rowPitch);
    c.rowHeight = String(g.rowHeight);
    c.x0 = String(g.x0);
    c.mapWidth = String(g.width);
    c.freeColour = FREE_COLOUR;
    c.blocks = String(frame.blocks.length);
    c.pinned = String(frame.blocks.filter((b) => b.pinned).length);
    this.showTooltip();
  }

  private measure(): MapGeometry {
    const cssWidth = this.canvas.clientWidth || 900;
    const g = new MapGeometry(this.capacity, this.align, cssWidth);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.height = `${g.height}px`;
    this.canvas.width = Math.round(cssWidth * dpr);
    this.canvas.height = Math.round(g.height * dpr);
    return g;
  }

  private context(): CanvasRenderingContext2D {
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) throw new Error('the heap map needs a 2D canvas context');
    const dpr = this.canvas.width / (this.canvas.clientWidth || this.canvas.width);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  private drawRows(ctx: CanvasRenderingContext2D, g: MapGeometry): void {
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    // Label every row when there is room, else every other one.
    const labelEvery = g.rowPitch >= 14 ? 1 : 2;
    for (let row = 0; row < g.rows; row++) {
      const start = row * g.bytesPerRow;
      const [s] = g.segments(start, g.bytesPerRow);
      ctx.fillStyle = FREE_COLOUR;
      ctx.fillRect(s.x, s.y, s.w, g.rowHeight);
      if (row % labelEvery === 0) {
        ctx.fillStyle = FAINT_INK;
        ctx.fillText(offsetLabel(start), g.x0 - 6, s.y + g.rowHeight / 2);
      }
    }
  }

  /** Fills a block's rectangles at `offset` of the rows (`top` 0) or of the staging row. */
  private drawBlock(
    ctx: CanvasRenderingContext2D,
    block: DrawnBlock,
    offset: number,
    top: number,
    segments = this.geometry.segments(offset, block.bytes),
  ): void {
    const g = this.geometry;
    const alpha = block.alpha ?? 1;
    if (alpha <= 0) return;
    ctx.globalAlpha = alpha;
    segments.forEach((s, i) => {
      const y = s.y + top;
      ctx.fillStyle = colourOf(block.handle);
      ctx.fillRect(s.x, y, s.w, g.rowHeight);
      // A darker first column tells neighbouring blocks apart.
      if (i === 0 && s.w >= 4) {
        ctx.fillStyle = colourOf(block.handle, 22);
        ctx.fillRect(s.x, y, 1, g.rowHeight);
      }
      if (block.pinned) this.stripe(ctx, s.x, y, s.w, g.rowHeight);
    });
    ctx.globalAlpha = 1;
  }

  private stripe(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number): void {
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.strokeStyle = PIN_STRIPES;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let sx = x - h; sx < x + w; sx += 6) {
      ctx.moveTo(sx, y + h);
      ctx.lineTo(sx + h, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  private drawStaging(ctx: CanvasRenderingContext2D, g: MapGeometry, frame: MapFrame): void {
    const y = g.stagingY;
    ctx.fillStyle = FAINT_INK;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText('staging', g.x0 - 6, y + g.rowHeight / 2);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(
      frame.stagingBytes > 0
        ? `staging area of this move plan: ${formatBytes(frame.stagingBytes)}`
        : 'staging area (used by plans that stage blocks: resizes around pins, scramble)',
      g.x0,
      y - 3,
    );
    if (frame.stagingBytes === 0) {
      ctx.strokeStyle = FREE_COLOUR;
      ctx.strokeRect(g.x0 + 0.5, y + 0.5, g.width - 1, g.rowHeight - 1);
      return;
    }
    // The staging area on one row, at the map's scale when it fits.
    const scale = Math.min(g.width / g.bytesPerRow, g.width / frame.stagingBytes);
    ctx.fillStyle = FREE_COLOUR;
    ctx.fillRect(g.x0, y, Math.max(1, Math.round(frame.stagingBytes * scale)), g.rowHeight);
    for (const block of frame.staged) {
      const x = g.x0 + Math.round(block.offset * scale);
      const w = Math.max(1, Math.round(block.bytes * scale));
      this.drawBlock(ctx, block, block.offset, y, [{ x, y: 0, w }]);
    }
  }

  private blockAt(x: number, y: number): DrawnBlock | null {
    const offset = this.geometry.offsetAt(x, y);
    if (offset === null) return null;
    // The last drawn on top wins; frames are small enough for a scan.
    for (let i = this.frame.blocks.length - 1; i >= 0; i--) {
      const b = this.frame.blocks[i];
      if ((b.alpha ?? 1) > 0 && offset >= b.offset && offset < b.offset + b.bytes) return b;
    }
    return null;
  }

  /** The free gap around `offset`: from the end of the block before to the next one's start. */
  private describeGap(offset: number): string[] {
    let start = 0;
    let end = this.capacity;
    for (const b of this.frame.blocks) {
      const blockEnd = b.offset + b.bytes;
      if (blockEnd <= offset && blockEnd > start) start = Math.ceil(blockEnd);
      if (b.offset > offset && b.offset < end) end = Math.floor(b.offset);
    }
    return ['free gap', `offset ${start}`, `size ${end - start} B`];
  }

  private showTooltip(): void {
    const t = this.tooltip;
    const block = this.hover === null ? null : this.blockAt(this.hover.x, this.hover.y);
    const offset = this.hover === null ? null : this.geometry.offsetAt(this.hover.x, this.hover.y);
    if (this.hover === null || offset === null) {
      t.hidden = true;
      delete t.dataset.handle;
      return;
    }
    const lines =
      block === null
        ? this.describeGap(offset)
        : [
            `handle ${block.handle}`,
            `offset ${Math.round(block.offset)}`,
            `size ${block.size} B` + (block.bytes > block.size ? ` (occupies ${block.bytes})` : ''),
            `align ${block.align}`,
            ...(block.pinned ? ['pinned'] : []),
            ...this.describe(block),
          ];
    t.textContent = lines.join('\n');
    if (block === null) delete t.dataset.handle;
    else t.dataset.handle = String(block.handle);
    t.hidden = false;
    // Beside the pointer, kept inside the canvas's box.
    const left = Math.min(this.hover.x + 14, this.canvas.clientWidth - 180);
    t.style.left = `${this.canvas.offsetLeft + left}px`;
    t.style.top = `${this.canvas.offsetTop + this.hover.y + 14}px`;
  }
}

function offsetLabel(offset: number): string {
  return offset < 10_000 ? String(offset) : formatBytes(offset);
}
