/**
 * A progress bar on one terminal line, drawn only on a TTY and only once work has lasted
 * `delayMs`, so quick runs and pipes never see it. It erases itself at the end.
 */

/** The part of a stream (process.stderr) the bar needs. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 30;
/** Moves to the line's start and erases it. */
const ERASE_LINE = '\r\x1b[2K';

/** `label [#####.....]  50%`, the bar `width` characters. */
export function renderBar(label: string, fraction: number, width = BAR_WIDTH): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(f * 100)
    .toString()
    .padStart(3)}%`;
}

export class ProgressBar {
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawn = false;

  /**
   * @param stream where to draw (nothing is drawn unless `stream.isTTY`)
   * @param now a clock in milliseconds
   * @param delayMs draw nothing until this long after construction
   * @param intervalMs redraw at most this often
   */
  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number = () => performance.now(),
    private readonly delayMs = 2000,
    private readonly intervalMs = 100,
  ) {
    this.start = now();
  }

  /** Shows `label` and `fraction` (0 to 1) done, if it is time to. */
  update(label: string, fraction: number): void {
    if (this.stream.isTTY !== true) return;
    const t = this.now();
    if (t - this.start < this.delayMs || t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    // 0 when the terminal does not say (a pty without a size).
    const columns = this.stream.columns || 80;
    const line = renderBar(label, fraction);
    this.stream.write(ERASE_LINE + line.slice(0, Math.max(0, columns - 1)));
    this.drawn = true;
  }

  /** Erases the bar if it was drawn. */
  end(): void {
    if (this.drawn) this.stream.write(ERASE_LINE);
    this.drawn = false;
  }
}
