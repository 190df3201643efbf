/**
 * Reads the two trace formats the replay tool knows, and tells them apart:
 *
 * - wee_alloc (rustwasm/wee_alloc `test/traces/*.trace`): one operation a line, `Alloc(n),`
 *   or `Free(i),`; allocations are numbered 0, 1, 2, ... in the order they appear.
 * - malloc-lab (CS:APP `*.rep`): a header of four numbers (suggested heap size, number of ids,
 *   number of operations, weight), then `a id bytes`, `r id bytes` (realloc) or `f id` lines.
 *
 * Blank lines are skipped in both. Every problem is a TraceError naming the file and line.
 */
import { TraceBuilder, TraceError, type Trace, type TraceFormat } from './trace.js';

const WEE_LINE = /^\s*(Alloc|Free)\((\d+)\),?\s*$/;
const WEE_START = /^\s*(Alloc|Free)\(/;
const NUMBER_LINE = /^\s*(\d+)\s*$/;
const REP_LINE = /^\s*([arf])\s+(\d+)(?:\s+(\d+))?\s*$/;
const HEADER_FIELDS = ['suggested heap size', 'number of ids', 'number of operations', 'weight'];

/** Parses a trace in whichever format its content (or, failing that, its name) shows. */
export function parseTrace(text: string, file: string): Trace {
  const format = detectFormat(text, file);
  return format === 'wee_alloc' ? parseWeeAlloc(text, file) : parseMallocLab(text, file);
}

/**
 * The format of a trace: from its first non-blank line (`Alloc(`/`Free(` or a number), else
 * from the file name's extension (`.trace`, `.rep`), so a broken known file gets a line error.
 * @throws TraceError when neither tells.
 */
export function detectFormat(text: string, file: string): TraceFormat {
  const { line, number } = firstContent(text);
  if (WEE_START.test(line)) return 'wee_alloc';
  if (NUMBER_LINE.test(line)) return 'malloc-lab';
  if (/\.trace$/i.test(file)) return 'wee_alloc';
  if (/\.rep$/i.test(file)) return 'malloc-lab';
  if (number === 0) throw new TraceError(file, 0, 'unknown trace format: the file is empty');
  throw new TraceError(
    file,
    number,
    `unknown trace format: expected wee_alloc lines ("Alloc(n),", "Free(i),") or a malloc-lab .rep header (a number), found ${quote(line)}`,
  );
}

export function parseWeeAlloc(text: string, file: string): Trace {
  // Typed, so that TypeScript narrows after `trace.fail` (it returns never).
  const trace: TraceBuilder = new TraceBuilder(file, 'wee_alloc');
  const lines = text.split('\n');
  let allocs = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = WEE_LINE.exec(line);
    if (m === null) {
      if (line.trim() === '') continue;
      trace.fail(i + 1, `bad line: expected "Alloc(n)," or "Free(i)," but found ${quote(line)}`);
    }
    const n = Number(m[2]);
    if (m[1] === 'Alloc') trace.alloc(allocs++, n, i + 1);
    else trace.free(n, i + 1);
  }
  return trace.build();
}

export function parseMallocLab(text: string, file: string): Trace {
  // Typed, so that TypeScript narrows after `trace.fail` (it returns never).
  const trace: TraceBuilder = new TraceBuilder(file, 'malloc-lab');
  const lines = text.split('\n');
  const header: number[] = [];
  const headerLines: number[] = [];
  let ops = 0;
  let i = 0;
  for (; i < lines.length && header.length < HEADER_FIELDS.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const m = NUMBER_LINE.exec(line);
    if (m === null) {
      trace.fail(
        i + 1,
        `bad header line: expected a number (the ${HEADER_FIELDS[header.length]}) but found ${quote(line)}`,
      );
    }
    header.push(Number(m[1]));
    headerLines.push(i + 1);
  }
  if (header.length < HEADER_FIELDS.length) {
    trace.fail(
      lines.length,
      `the file ends inside the header: no ${HEADER_FIELDS[header.length]} (a malloc-lab header has four numbers)`,
    );
  }
  const idCount = header[1];
  for (; i < lines.length; i++) {
    const line = lines[i];
    const m = REP_LINE.exec(line);
    const hasSize = m !== null && m[3] !== undefined;
    if (m === null || hasSize === (m[1] === 'f')) {
      if (line.trim() === '') continue;
      trace.fail(
        i + 1,
        `bad line: expected "a id bytes", "r id bytes" or "f id" but found ${quote(line)}`,
      );
    }
    const id = Number(m[2]);
    if (id >= idCount) {
      trace.fail(
        i + 1,
        `id ${id} is out of range: the header declares ${idCount} ids (line ${headerLines[1]})`,
      );
    }
    const size = Number(m[3]);
    if (m[1] === 'a') trace.alloc(id, size, i + 1);
    else if (m[1] === 'r') trace.realloc(id, size, i + 1);
    else trace.free(id, i + 1);
    ops++;
  }
  if (ops !== header[2]) {
    trace.fail(
      headerLines[2],
      `the header declares ${header[2]} operations but the file has ${ops}`,
    );
  }
  return trace.build();
}

function firstContent(text: string): { line: string; number: number } {
  const lines = text.split('\n', 1000);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '') return { line: lines[i], number: i + 1 };
  }
  return { line: '', number: 0 };
}

/** A line as shown in a message: quoted, trimmed, cut at 60 characters. */
function quote(line: string): string {
  const t = line.trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}...` : t);
}
