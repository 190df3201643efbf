/**
 * Move plans for the tests of src/webgpu: a reference that applies a plan to CPU bytes with
 * plain typed-array copies, and generators of random plans (fast-check) and of staged
 * permutations (the seeded Rng of test/prng.ts). Web-standard APIs only: the GPU test runs in
 * the browser, the planner's test in Node too.
 */
import fc from 'fast-check';
import type { MoveStep } from '../src/webgpu/move-plan.js';
import { Rng } from './prng.js';

/**
 * Applies `steps` in order to `bytes` and a staging area of `stagingBytes` (zeros at first):
 * `copyWithin` for a move (memmove semantics by definition), `set` of a `subarray` across the
 * two for stage and unstage. Returns the staging area.
 */
export function applyReference(bytes: Uint8Array, steps: readonly MoveStep[]): Uint8Array {
  let end = 0;
  for (const s of steps) {
    if (s.kind === 'stage') end = Math.max(end, s.to + s.size);
    if (s.kind === 'unstage') end = Math.max(end, s.from + s.size);
  }
  const staging = new Uint8Array(end);
  for (const { kind, from, to, size } of steps) {
    if (kind === 'move') bytes.copyWithin(to, from, from + size);
    else if (kind === 'stage') staging.set(bytes.subarray(from, from + size), to);
    else bytes.set(staging.subarray(from, from + size), to);
  }
  return staging;
}

/** Raw material of one step, resolved against the buffer by {@link resolvePlan}. */
export interface RawStep {
  readonly kind: 'move' | 'tiny' | 'same' | 'empty' | 'stage' | 'unstage';
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/** Random raw steps: any moves, large moves by 4 to 12 bytes, no-ops, stages and unstages. */
export function rawPlan(maxSteps: number): fc.Arbitrary<RawStep[]> {
  const n = fc.nat();
  const step = (kind: RawStep['kind']) =>
    fc.record({ kind: fc.constant(kind), a: n, b: n, c: n, d: n });
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: step('move') },
      { weight: 3, arbitrary: step('tiny') },
      { weight: 1, arbitrary: step('same') },
      { weight: 1, arbitrary: step('empty') },
      { weight: 2, arbitrary: step('stage') },
      { weight: 2, arbitrary: step('unstage') },
    ),
    { minLength: 1, maxLength: maxSteps },
  );
}

/**
 * Turns raw steps into a valid plan for a buffer of `bufferBytes` and a staging area of at most
 * `stagingBytes` (both multiples of 4, at least 64). Every unstage reads bytes that an earlier
 * stage of the plan wrote: what the staging area held before the plan is unknown on the GPU.
 */
export function resolvePlan(
  raw: readonly RawStep[],
  bufferBytes: number,
  stagingBytes: number,
): MoveStep[] {
  const w = bufferBytes / 4; // everything in 4-byte words, times 4 at the end
  const sw = stagingBytes / 4;
  const staged: { to: number; size: number }[] = [];
  const steps: MoveStep[] = [];
  const push = (kind: MoveStep['kind'], from: number, to: number, size: number) =>
    steps.push({ kind, handle: steps.length + 1, from: from * 4, to: to * 4, size: size * 4 });
  for (const { kind, a, b, c, d } of raw) {
    if (kind === 'move') {
      const s = a % (w + 1);
      push('move', b % (w - s + 1), c % (w - s + 1), s);
    } else if (kind === 'tiny') {
      const dist = 1 + (b % 3);
      const half = w >> 1;
      const s = half + (a % (w - dist - half + 1));
      const lo = d % (w - s - dist + 1);
      if (c % 2 === 0) push('move', lo, lo + dist, s);
      else push('move', lo + dist, lo, s);
    } else if (kind === 'same') {
      const s = a % (w + 1);
      const at = b % (w - s + 1);
      push('move', at, at, s);
    } else if (kind === 'empty') {
      push('move', a % (w + 1), b % (w + 1), 0);
    } else if (kind === 'stage' || staged.length === 0) {
      const s = 1 + (a % Math.min(w, sw));
      const to = c % (sw - s + 1);
      push('stage', b % (w - s + 1), to, s);
      staged.push({ to, size: s });
    } else {
      const r = staged[a % staged.length];
      const off = b % r.size;
      const s = 1 + (c % (r.size - off));
      push('unstage', r.to + off, d % (w - s + 1), s);
    }
  }
  return steps;
}

/**
 * A compaction through the staging area: `blocks` blocks of 4 to `maxBlockBytes` bytes at
 * random places (gaps between them) in a buffer of `bufferBytes`, all staged one after another,
 * then unstaged in a random order packed from offset 0, so destinations overlap the sources.
 */
export function stagedPermutation(
  rng: Rng,
  bufferBytes: number,
  blocks: number,
  maxBlockBytes: number,
): MoveStep[] {
  const sizes = Array.from({ length: blocks }, () => 4 * rng.int(1, maxBlockBytes / 4));
  const total = sizes.reduce((x, y) => x + y, 0);
  if (total > bufferBytes) throw new Error(`${blocks} blocks need ${total} bytes`);
  // Spread the spare bytes as gaps in front of the blocks.
  let spare = (bufferBytes - total) / 4;
  const starts: number[] = [];
  let at = 0;
  for (const size of sizes) {
    const gap = rng.int(0, Math.floor(spare / 2));
    spare -= gap;
    at += gap * 4;
    starts.push(at);
    at += size;
  }
  const steps: MoveStep[] = [];
  const stagedAt: number[] = [];
  let s = 0;
  for (let i = 0; i < blocks; i++) {
    steps.push({ kind: 'stage', handle: i + 1, from: starts[i], to: s, size: sizes[i] });
    stagedAt.push(s);
    s += sizes[i];
  }
  const order = Array.from({ length: blocks }, (_, i) => i);
  for (let i = blocks - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let to = 0;
  for (const i of order) {
    steps.push({ kind: 'unstage', handle: i + 1, from: stagedAt[i], to, size: sizes[i] });
    to += sizes[i];
  }
  return steps;
}

/** `n` bytes from the seeded Rng. */
export function randomBytes(rng: Rng, n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = rng.below(256);
  return bytes;
}

/** The first index where `a` and `b` differ, or -1 when they are equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
