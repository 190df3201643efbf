/**
 * An allocation trace as the replay tool reads it: operations in dense typed arrays, each with
 * the line it came from, checked as it is built so that a replay never meets an unknown id.
 */

/** `ptr[id] = malloc(size)`. */
export const ALLOC = 0;
/** `free(ptr[id])`. */
export const FREE = 1;
/** `ptr[id] = realloc(ptr[id], size)`. */
export const REALLOC = 2;
export type OpKind = typeof ALLOC | typeof FREE | typeof REALLOC;

export type TraceFormat = 'wee_alloc' | 'malloc-lab';

/** Requests are replayed into one heap of at most 2^32 - 1 bytes. */
export const MAX_REQUEST = 2 ** 32 - 1;

export interface Trace {
  readonly file: string;
  readonly format: TraceFormat;
  /** Number of operations. */
  readonly length: number;
  /** OpKind of each operation. */
  readonly kinds: Uint8Array;
  /** The block each operation names: ids run from 0 to `idCount - 1`. */
  readonly ids: Uint32Array;
  /** Bytes asked for by ALLOC and REALLOC (0 for FREE). */
  readonly sizes: Float64Array;
  /** The 1-based line of the file each operation came from. */
  readonly lines: Uint32Array;
  readonly idCount: number;
}

/** A problem with a trace file, at a line of it (0: the file as a whole). */
export class TraceError extends Error {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, problem: string) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
    this.name = 'TraceError';
    this.file = file;
    this.line = line;
  }
}

const NOT_SEEN = 0;
const LIVE = 1;
const FREED = 2;
/** Ids a trace may use: their tables take 5 bytes an id (a malloc-lab header may claim billions). */
const MAX_IDS = 2 ** 26;

/**
 * Collects a trace's operations and rejects those a program could not have made: freeing or
 * reallocating a block that is not live, allocating an id that still is. Amortized O(1) an op.
 */
export class TraceBuilder {
  private kinds = new Uint8Array(1024);
  private ids = new Uint32Array(1024);
  private sizes = new Float64Array(1024);
  private lines = new Uint32Array(1024);
  private length = 0;
  /** NOT_SEEN, LIVE or FREED for each id, and the line that made it so. */
  private state = new Uint8Array(1024);
  private stateLine = new Uint32Array(1024);
  private idCount = 0;

  constructor(
    private readonly file: string,
    private readonly format: TraceFormat,
  ) {}

  alloc(id: number, size: number, line: number): void {
    this.checkSize(size, line);
    if (id >= MAX_IDS) this.fail(line, `allocates id ${id}: ids must be below ${MAX_IDS}`);
    this.see(id);
    if (this.state[id] === LIVE) {
      this.fail(
        line,
        `allocates id ${id}, which is still live (allocated at line ${this.stateLine[id]})`,
      );
    }
    this.setState(id, LIVE, line);
    this.push(ALLOC, id, size, line);
  }

  free(id: number, line: number): void {
    this.checkLive(id, line, 'frees');
    this.setState(id, FREED, line);
    this.push(FREE, id, 0, line);
  }

  realloc(id: number, size: number, line: number): void {
    this.checkSize(size, line);
    this.checkLive(id, line, 'reallocates');
    this.stateLine[id] = line;
    this.push(REALLOC, id, size, line);
  }

  build(): Trace {
    const n = this.length;
    return {
      file: this.file,
      format: this.format,
      length: n,
      kinds: this.kinds.slice(0, n),
      ids: this.ids.slice(0, n),
      sizes: this.sizes.slice(0, n),
      lines: this.lines.slice(0, n),
      idCount: this.idCount,
    };
  }

  fail(line: number, problem: string): never {
    throw new TraceError(this.file, line, problem);
  }

  private checkSize(size: number, line: number): void {
    if (size > MAX_REQUEST) {
      this.fail(line, `asks for ${size} bytes; a heap holds at most ${MAX_REQUEST}`);
    }
  }

  private checkLive(id: number, line: number, verb: string): void {
    const state = id < this.idCount ? this.state[id] : NOT_SEEN;
    if (state === LIVE) return;
    this.fail(
      line,
      state === FREED
        ? `${verb} id ${id}, which was already freed at line ${this.stateLine[id]}`
        : `${verb} unknown id ${id}: it was never allocated`,
    );
  }

  /** Makes room for id `id` (below MAX_IDS) in the per-id tables. */
  private see(id: number): void {
    if (id < this.idCount) return;
    this.idCount = id + 1;
    if (id >= this.state.length) {
      const length = Math.max(id + 1, this.state.length * 2);
      this.state = grown(this.state, new Uint8Array(length));
      this.stateLine = grown(this.stateLine, new Uint32Array(length));
    }
  }

  private setState(id: number, state: number, line: number): void {
    this.state[id] = state;
    this.stateLine[id] = line;
  }

  private push(kind: OpKind, id: number, size: number, line: number): void {
    const i = this.length;
    if (i === this.kinds.length) {
      const length = i * 2;
      this.kinds = grown(this.kinds, new Uint8Array(length));
      this.ids = grown(this.ids, new Uint32Array(length));
      this.sizes = grown(this.sizes, new Float64Array(length));
      this.lines = grown(this.lines, new Uint32Array(length));
    }
    this.kinds[i] = kind;
    this.ids[i] = id;
    this.sizes[i] = size;
    this.lines[i] = line;
    this.length = i + 1;
  }
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Operation `i` as the trace's file spells it, e.g. `Alloc(24)` or `r 3 640`. */
export function describeOp(trace: Trace, i: number): string {
  const kind = trace.kinds[i];
  const id = trace.ids[i];
  const size = trace.sizes[i];
  if (trace.format === 'wee_alloc') return kind === FREE ? `Free(${id})` : `Alloc(${size})`;
  return kind === FREE ? `f ${id}` : `${kind === ALLOC ? 'a' : 'r'} ${id} ${size}`;
}
