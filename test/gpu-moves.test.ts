/**
 * The pure half of src/webgpu, in Node and in the browser: the order of a move's pieces through
 * a small window, and the checks and measures of a plan. The GPU half is
 * gpu-moves.browser.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { measurePlan, movePieces, type MoveStep } from '../src/webgpu/move-plan.js';
import { applyReference, firstDifference, rawPlan, resolvePlan } from './move-plans.js';

/** A move done as the GPU does it: each piece copied out whole to a window, then back. */
function moveThroughWindow(bytes: Uint8Array, from: number, to: number, size: number, w: number) {
  for (const p of movePieces(from, to, size, w))
    bytes.set(bytes.slice(p.from, p.from + p.size), p.to);
}

function codeOf(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return 'no error';
}

describe('movePieces', () => {
  it('moving down, goes from the lowest piece up, the last piece the short one', () => {
    expect(movePieces(100, 96, 24, 8)).toEqual([
      { from: 100, to: 96, size: 8 },
      { from: 108, to: 104, size: 8 },
      { from: 116, to: 112, size: 8 },
    ]);
    expect(movePieces(8, 0, 20, 8).map((p) => p.size)).toEqual([8, 8, 4]);
  });

  it('moving up, goes from the highest piece down, the last piece the short one', () => {
    expect(movePieces(0, 4, 20, 8)).toEqual([
      { from: 12, to: 16, size: 8 },
      { from: 4, to: 8, size: 8 },
      { from: 0, to: 4, size: 4 },
    ]);
  });

  it('gives one piece when the window holds the whole move', () => {
    expect(movePieces(64, 0, 64, 64)).toEqual([{ from: 64, to: 0, size: 64 }]);
    expect(movePieces(0, 4, 64, 1 << 20)).toEqual([{ from: 0, to: 4, size: 64 }]);
  });

  it('gives no pieces for a move of 0 bytes or onto itself', () => {
    expect(movePieces(0, 64, 0, 8)).toEqual([]);
    expect(movePieces(32, 32, 64, 8)).toEqual([]);
  });

  it('pieces tile the move, none larger than the window, all aligned to 4', () => {
    const word = (max: number) => fc.integer({ min: 0, max }).map((x) => x * 4);
    fc.assert(
      fc.property(
        word(64),
        word(64),
        word(64),
        word(20).map((x) => x + 4),
        (from, to, size, w) => {
          const pieces = movePieces(from, to, size, w);
          const starts = pieces.map((p) => p.from - from).sort((x, y) => x - y);
          let next = 0;
          for (const start of starts) {
            const p = pieces.find((q) => q.from - from === start)!;
            expect(start).toBe(next);
            expect(p.to - p.from).toBe(to - from);
            expect(p.size).toBeGreaterThan(0);
            expect(p.size).toBeLessThanOrEqual(w);
            expect(p.size % 4).toBe(0);
            next += p.size;
          }
          expect(next).toBe(from === to ? 0 : size);
        },
      ),
    );
  });

  it('through a window, pieces in their order give memmove semantics, both directions', () => {
    const n = 256;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: n })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.integer({ min: 0, max: n - size }),
              fc.integer({ min: 0, max: n - size }),
              fc.integer({ min: 1, max: 40 }),
            ),
          ),
        ([size, from, to, w]) => {
          const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);
          const expected = bytes.slice().copyWithin(to, from, from + size);
          moveThroughWindow(bytes, from, to, size, w);
          expect(firstDifference(bytes, expected)).toBe(-1);
        },
      ),
    );
  });

  it('through a window, whole random plans match the reference', () => {
    fc.assert(
      fc.property(rawPlan(12), fc.integer({ min: 1, max: 64 }), (raw, words) => {
        const steps = resolvePlan(raw, 1024, 512);
        const bytes = Uint8Array.from({ length: 1024 }, (_, i) => (i * 13 + 1) & 255);
        const expected = bytes.slice();
        applyReference(expected, steps);
        // The GPU's way: moves through a window, stages and unstages to a staging area.
        const staging = new Uint8Array(512);
        for (const { kind, from, to, size } of steps) {
          if (kind === 'move') moveThroughWindow(bytes, from, to, size, words * 4);
          else if (kind === 'stage') staging.set(bytes.subarray(from, from + size), to);
          else bytes.set(staging.subarray(from, from + size), to);
        }
        expect(firstDifference(bytes, expected)).toBe(-1);
      }),
    );
  });
});

describe('measurePlan', () => {
  it('staging bytes: the largest end of a staged or unstaged range that holds a byte', () => {
    const steps: MoveStep[] = [
      { kind: 'stage', handle: 1, from: 0, to: 64, size: 16 },
      { kind: 'unstage', handle: 1, from: 96, to: 0, size: 8 },
      { kind: 'stage', handle: 2, from: 0, to: 4096, size: 0 },
      { kind: 'move', handle: 3, from: 0, to: 4, size: 200 },
    ];
    expect(measurePlan(steps, 1024)).toEqual({ stagingBytes: 104, largestMove: 200 });
  });

  it('largest move: ignores moves onto themselves', () => {
    const steps: MoveStep[] = [
      { kind: 'move', handle: 1, from: 8, to: 8, size: 512 },
      { kind: 'move', handle: 2, from: 0, to: 512, size: 12 },
    ];
    expect(measurePlan(steps, 1024)).toEqual({ stagingBytes: 0, largestMove: 12 });
    expect(measurePlan([], 0)).toEqual({ stagingBytes: 0, largestMove: 0 });
  });

  it('accepts ranges that end exactly at the end of the buffer', () => {
    const steps: MoveStep[] = [{ kind: 'move', from: 0, to: 1020, size: 4 }];
    expect(measurePlan(steps, 1024).largestMove).toBe(4);
  });

  it('refuses offsets and sizes that are not non-negative multiples of 4', () => {
    for (const bad of [2, -4, 4.5, NaN, '8', undefined]) {
      for (const field of ['from', 'to', 'size'] as const) {
        const step = { kind: 'move', from: 0, to: 8, size: 4, [field]: bad } as unknown as MoveStep;
        expect(codeOf(() => measurePlan([step], 1024))).toBe('ERR_OUT_OF_RANGE');
      }
    }
  });

  it('refuses ranges past the end of the buffer, each kind on its buffer side', () => {
    const past: MoveStep[] = [
      { kind: 'move', from: 1000, to: 0, size: 28 },
      { kind: 'move', from: 0, to: 1000, size: 28 },
      { kind: 'stage', from: 1000, to: 0, size: 28 },
      { kind: 'unstage', from: 0, to: 1000, size: 28 },
    ];
    for (const step of past)
      expect(codeOf(() => measurePlan([step], 1024))).toBe('ERR_OUT_OF_RANGE');
    // The staging side has no end: the mover sizes the staging area to the plan.
    const far: MoveStep[] = [
      { kind: 'stage', from: 0, to: 1 << 20, size: 28 },
      { kind: 'unstage', from: 1 << 20, to: 0, size: 28 },
    ];
    expect(measurePlan(far, 1024).stagingBytes).toBe((1 << 20) + 28);
  });

  it('refuses unknown kinds, non-object steps and a non-array plan', () => {
    const step = { kind: 'copy', from: 0, to: 8, size: 4 } as unknown as MoveStep;
    expect(codeOf(() => measurePlan([step], 1024))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => measurePlan([null as unknown as MoveStep], 1024))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => measurePlan('steps' as unknown as MoveStep[], 1024))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('names the step and the value in its message', () => {
    const steps: MoveStep[] = [
      { kind: 'move', from: 0, to: 8, size: 4 },
      { kind: 'stage', from: 6, to: 8, size: 4 },
    ];
    expect(() => measurePlan(steps, 1024)).toThrow(/"steps\[1\]\.from".*Received 6\./);
  });
});
