/**
 * Allocation traces of real programs (rustwasm/wee_alloc's test/traces, kept outside the
 * project in ../shared/traces/): parsing and replay by each allocator.
 *
 * Format: one op a line, `Alloc(n),` (allocations numbered 0, 1, 2, ... in order) or
 * `Free(i),` (frees allocation i). Zero-byte allocations are replayed as 1-byte allocations
 * by every allocator (ours rejects size 0; @thi.ng/malloc returns 0 for it), and counted.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemPool } from '@thi.ng/malloc';
import { MemoryManager, OutOfMemoryError } from '../src/index.js';
import { NaiveHeap, NaiveOutOfMemoryError } from './naive-heap.js';
import { alignUp } from './util.js';

export const TRACE_ALIGN = 8;

export interface Trace {
  name: string;
  /** Alloc: the size (>= 1). Free: -(allocation index + 1). */
  ops: Int32Array;
  allocs: number;
  frees: number;
  /** Largest sum of live sizes, each rounded up to 8. */
  peakBytes: number;
  /** Largest number of live blocks. */
  peakLive: number;
  /** Zero-byte allocations, replayed as 1 byte. */
  zeroSize: number;
}

/** ../shared/traces/wee_alloc relative to the project root (the parent of bench/). */
export function traceDir(): string {
  const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  return resolve(projectRoot, '..', 'shared', 'traces', 'wee_alloc');
}

/** The traces, sorted by name, or undefined when the folder is missing. */
export function loadTraces(dir = traceDir()): Trace[] | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.trace'))
    .sort()
    .map((f) => parseTrace(basename(f, '.trace'), readFileSync(join(dir, f), 'utf8')));
}

export function parseTrace(name: string, text: string): Trace {
  const ops: number[] = [];
  const occupied: number[] = [];
  const freed: boolean[] = [];
  let live = 0;
  let liveBytes = 0;
  let peakBytes = 0;
  let peakLive = 0;
  let zeroSize = 0;
  let frees = 0;
  const pattern = /^(Alloc|Free)\((\d+)\),?$/;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = pattern.exec(line);
    if (!m) throw new Error(`${name}: cannot parse line "${line}"`);
    const n = Number(m[2]);
    if (m[1] === 'Alloc') {
      let size = n;
      if (size === 0) {
        zeroSize++;
        size = 1;
      }
      ops.push(size);
      occupied.push(alignUp(size, TRACE_ALIGN));
      freed.push(false);
      live++;
      liveBytes += alignUp(size, TRACE_ALIGN);
      if (liveBytes > peakBytes) peakBytes = liveBytes;
      if (live > peakLive) peakLive = live;
    } else {
      if (n >= occupied.length || freed[n]) throw new Error(`${name}: bad Free(${n})`);
      freed[n] = true;
      ops.push(-(n + 1));
      live--;
      liveBytes -= occupied[n];
      frees++;
    }
  }
  return {
    name,
    ops: Int32Array.from(ops),
    allocs: occupied.length,
    frees,
    peakBytes,
    peakLive,
    zeroSize,
  };
}

/** Replays with ours (default options, align 8) in the first `capacity` bytes of `buf`. */
export function replayOurs(
  t: Trace,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
): boolean {
  return replayOursWith(t, buf, capacity, handles, true);
}

/** Ours with zeroFill off (like @thi.ng/malloc's malloc, which does not clear). */
export function replayOursNoZero(
  t: Trace,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
): boolean {
  return replayOursWith(t, buf, capacity, handles, false);
}

function replayOursWith(
  t: Trace,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
  zeroFill: boolean,
): boolean {
  const mm = new MemoryManager({
    buffer: new Uint8Array(buf, 0, capacity),
    align: TRACE_ALIGN,
    zeroFill,
  });
  const ops = t.ops;
  let a = 0;
  try {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op > 0) handles[a++] = mm.allocSync(op);
      else mm.freeSync(handles[-op - 1]);
    }
  } catch (e) {
    if (e instanceof OutOfMemoryError) return false;
    throw e;
  }
  return true;
}

export function replayNaive(
  t: Trace,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
): boolean {
  const heap = new NaiveHeap({ buffer: new Uint8Array(buf, 0, capacity), align: TRACE_ALIGN });
  const ops = t.ops;
  let a = 0;
  try {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op > 0) handles[a++] = heap.alloc(op);
      else heap.free(handles[-op - 1]);
    }
  } catch (e) {
    if (e instanceof NaiveOutOfMemoryError) return false;
    throw e;
  }
  return true;
}

/** @thi.ng/malloc over bytes [0, capacity) of `buf` (its state lives in the first bytes). */
export function replayMalloc(
  t: Trace,
  buf: ArrayBuffer,
  capacity: number,
  handles: Int32Array,
): boolean {
  let pool: MemPool;
  try {
    pool = new MemPool({ buf, end: capacity, align: TRACE_ALIGN });
  } catch {
    return false; // too small even for its own state
  }
  const ops = t.ops;
  let a = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op > 0) {
      const p = pool.malloc(op);
      if (p === 0) return false;
      handles[a++] = p;
    } else {
      pool.free(handles[-op - 1]);
    }
  }
  return true;
}
