/** Shapes shared by the benchmark sections and the report writer. */

export interface TargetResult {
  /** Short name, e.g. "churn 1,000 live". */
  name: string;
  /** The target, in words. */
  target: string;
  /** The measured figure, in words. */
  measured: string;
  met: boolean;
  /** By how much it was met or missed. */
  margin: string;
}

export interface Section {
  title: string;
  /** Markdown body (tables and notes), without the title. */
  markdown: string;
  targets: TargetResult[];
  /** Figures other sections may read (e.g. churn costs for the growth target). */
  data?: Record<string, number>;
}

/** Formats "met by 2.3x" / "missed by 18%" for a higher-is-better ratio against its target. */
export function marginAtLeast(measured: number, target: number): string {
  if (!Number.isFinite(measured)) return 'not measured';
  const r = measured / target;
  return r >= 1
    ? `met with ${r.toFixed(2)}x the target`
    : `missed by ${((1 - r) * 100).toFixed(0)}% (${measured.toFixed(2)} of ${target})`;
}

/** Formats the margin of a lower-is-better figure against its bound. */
export function marginAtMost(measured: number, bound: number, unit = 'x'): string {
  if (!Number.isFinite(measured)) return 'not measured';
  if (measured <= bound) {
    return `met, ${((1 - measured / bound) * 100).toFixed(0)}% under the bound`;
  }
  return `missed: ${measured.toFixed(2)}${unit} against ${bound}${unit} (${((measured / bound - 1) * 100).toFixed(0)}% over)`;
}
