// Move plans: for every kind of batch (compaction, sliced compaction, moving resize, resize that
// compacts, auto-compaction, scramble, the rearrangement after slices), applying each plan in
// order to a plain Uint8Array mirror (memmove semantics, staging steps through a staging area)
// reproduces the heap. A MemoryManager and an OffsetHeap driven by the same operations emit the
// same plans (one engine) and the OffsetHeap's plans keep a mirror equal to the MemoryManager's
// bytes. Web-standard APIs only: this file also runs in the browser.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MemoryManager,
  OffsetHeap,
  OutOfMemoryError,
  applyMoves,
  stagingBytes,
  type BlockMove,
  type Handle,
} from '../src/index.js';

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
/** HEAP_SOAK=1 (`npm run soak`): 1,000 sequences per case instead of 60. */
const SOAK = env?.HEAP_SOAK !== undefined && env.HEAP_SOAK !== '';

type Op =
  | { kind: 'alloc'; size: number; align: number | undefined }
  | { kind: 'free'; pick: number }
  | { kind: 'resize'; pick: number; size: number }
  | { kind: 'pin'; pick: number }
  | { kind: 'unpin'; pick: number }
  | { kind: 'compact'; sliceBytes: number | undefined };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('alloc' as const),
      size: fc.integer({ min: 1, max: 160 }),
      align: fc.option(fc.constantFrom(16, 64, 256), { nil: undefined, freq: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      pick: fc.nat(),
      size: fc.integer({ min: 1, max: 300 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pin' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unpin' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('compact' as const),
      sliceBytes: fc.option(fc.integer({ min: 8, max: 200 }), { nil: undefined }),
    }),
  },
);

/**
 * Applies a plan the way the documentation says, checking its shape: each block once per batch
 * (one move, or one stage and then its unstage), from where the previous batches left it.
 */
function applyChecked(
  mirror: Uint8Array,
  moves: readonly BlockMove[],
  where: Map<Handle, number>,
): string | undefined {
  const staging = new Uint8Array(stagingBytes(moves));
  const seen = new Set<Handle>();
  const staged = new Map<Handle, number>();
  for (const m of moves) {
    if (m.kind === 'unstage') {
      if (staged.get(m.handle) !== m.from) return `unstage of ${m.handle} without its stage`;
      staged.delete(m.handle);
      mirror.set(staging.subarray(m.from, m.from + m.size), m.to);
      where.set(m.handle, m.to);
      continue;
    }
    if (seen.has(m.handle)) return `block ${m.handle} twice in one batch`;
    seen.add(m.handle);
    // A block new in this operation (a scramble moves it before alloc returns) is where it is.
    if (where.has(m.handle) && where.get(m.handle) !== m.from) {
      return `block ${m.handle} is not at ${m.from}`;
    }
    if (m.kind === 'stage') {
      staging.set(mirror.subarray(m.from, m.from + m.size), m.to);
      staged.set(m.handle, m.to);
    } else {
      mirror.copyWithin(m.to, m.from, m.from + m.size);
      where.set(m.handle, m.to);
    }
  }
  return staged.size === 0 ? undefined : `${staged.size} blocks staged, never unstaged`;
}

/** 'refused' when `run` fails as a heap may (out of memory, a pinned block), else 'ok'. */
async function outcomeOf(run: () => unknown): Promise<'ok' | 'refused'> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    if (error instanceof OutOfMemoryError || String(error).includes('pinned')) return 'refused';
    throw error;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('move plans', () => {
  it.each([
    ['first-fit', false],
    ['first-fit', true],
    ['best-fit', false],
    ['best-fit', true],
  ] as const)(
    '%s, scramble %s: plans applied in order reproduce the heap, and an OffsetHeap emits the same plans',
    async (strategy, scramble) => {
      const kinds = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }),
          async (ops) => {
            const options = { size: 768, align: 8, strategy, scramble };
            const mm = new MemoryManager({ ...options, zeroFill: false });
            const oh = new OffsetHeap(options);
            const mirror = new Uint8Array(mm.capacity);
            const offsetMirror = new Uint8Array(oh.capacity);
            const where = new Map<Handle, number>();
            const offsetWhere = new Map<Handle, number>();
            const plans: (readonly BlockMove[])[] = [];
            const offsetPlans: (readonly BlockMove[])[] = [];
            let problem: string | undefined;
            mm.onMove((moves) => {
              plans.push(moves);
              for (const m of moves) kinds.add(m.kind);
              problem ??= applyChecked(mirror, moves, where);
            });
            oh.onMove((moves) => {
              offsetPlans.push(moves);
              problem ??= applyChecked(offsetMirror, moves, offsetWhere);
            });
            const live: Handle[] = [];
            let stamp = 1;
            /** Writes a fresh pattern into block h: in the heap, and in both mirrors. */
            const fill = (h: Handle): void => {
              const size = mm.sizeOf(h);
              const data = new Uint8Array(size);
              for (let i = 0; i < size; i++) data[i] = (stamp * 31 + i * 7) & 0xff;
              stamp++;
              mm.write(h, data);
              mirror.set(data, mm.offsetOf(h));
              offsetMirror.set(data, oh.offsetOf(h));
            };
            /** Runs `run` on both heaps; they must both succeed or both refuse. */
            const both = async (run: (heap: OffsetHeap) => unknown): Promise<'ok' | 'refused'> => {
              const outcome = await outcomeOf(() => run(mm));
              expect(await outcomeOf(() => run(oh))).toBe(outcome);
              return outcome;
            };
            for (const o of ops) {
              const chosen =
                live.length === 0 ? undefined : live['pick' in o ? o.pick % live.length : 0];
              switch (o.kind) {
                case 'alloc': {
                  const handles: Handle[] = [];
                  const outcome = await both((heap) => {
                    const h = heap.allocSync(
                      o.size,
                      o.align === undefined ? undefined : { align: o.align },
                    );
                    handles.push(h);
                  });
                  if (outcome === 'ok') {
                    expect(handles[1]).toBe(handles[0]);
                    live.push(handles[0]);
                    where.set(handles[0], mm.offsetOf(handles[0]));
                    offsetWhere.set(handles[0], oh.offsetOf(handles[0]));
                    fill(handles[0]);
                  }
                  break;
                }
                case 'free':
                  if (chosen === undefined || mm.isPinned(chosen)) break;
                  await both((heap) => heap.freeSync(chosen));
                  live.splice(live.indexOf(chosen), 1);
                  where.delete(chosen);
                  offsetWhere.delete(chosen);
                  break;
                case 'resize': {
                  if (chosen === undefined) break;
                  const old = mm.sizeOf(chosen);
                  const outcome = await both((heap) => heap.resizeSync(chosen, o.size));
                  if (outcome === 'ok' && o.size > old) fill(chosen); // the new bytes are garbage
                  if (outcome === 'ok' && o.size <= old) {
                    // A shrink in place: the mirrors keep the first bytes, nothing to do.
                  }
                  break;
                }
                case 'pin':
                  if (chosen !== undefined) {
                    mm.pin(chosen);
                    oh.pin(chosen);
                  }
                  break;
                case 'unpin':
                  if (chosen !== undefined && mm.isPinned(chosen)) {
                    mm.unpin(chosen);
                    oh.unpin(chosen);
                  }
                  break;
                case 'compact':
                  await both((heap) =>
                    o.sliceBytes === undefined
                      ? heap.compactSync()
                      : heap.compact({ sliceBytes: o.sliceBytes }),
                  );
                  break;
              }
              if (problem !== undefined) expect(problem).toBeUndefined();
              expect(oh.blocks()).toEqual(mm.blocks());
              if (!sameBytes(offsetPlans.flat() as never, plans.flat() as never)) {
                expect(offsetPlans).toEqual(plans);
              }
              // Every live block's bytes: the heap's, the mirror's and the OffsetHeap's mirror's.
              const bytes = mm.bytes;
              for (const h of live) {
                const at = mm.offsetOf(h);
                const n = mm.sizeOf(h);
                const heapBytes = bytes.subarray(at, at + n);
                if (!sameBytes(heapBytes, mirror.subarray(at, at + n))) {
                  expect(mirror.subarray(at, at + n)).toEqual(heapBytes);
                }
                if (!sameBytes(heapBytes, offsetMirror.subarray(at, at + n))) {
                  expect(offsetMirror.subarray(at, at + n)).toEqual(heapBytes);
                }
              }
            }
            mm.validate();
            oh.validate();
          },
        ),
        { numRuns: SOAK ? 1000 : 60 },
      );
      // The runs exercised staging (resize that compacts; scramble) as well as plain moves.
      expect([...kinds].sort()).toEqual(['move', 'stage', 'unstage']);
    },
  );

  it('applyMoves carries out a plan on a copy of the bytes, staging included', () => {
    const mm = new MemoryManager({ size: 256, align: 8, zeroFill: false });
    const copy = new Uint8Array(mm.capacity);
    mm.onMove((moves) => applyMoves(copy, moves));
    const hs = [40, 40, 40, 40].map((n, i) => {
      const h = mm.allocSync(n);
      mm.write(h, new Uint8Array(n).fill(i + 1));
      copy.set(mm.read(h), mm.offsetOf(h));
      return h;
    });
    mm.freeSync(hs[1]);
    mm.resizeSync(hs[0], 120); // compacts: stages hs[0], slides the others, unstages it
    for (const h of [hs[0], hs[2], hs[3]]) {
      const at = mm.offsetOf(h);
      expect(copy.subarray(at, at + 40)).toEqual(mm.read(h, 0, 40));
    }
  });
});
