// Helpers for move plans (the steps `onMove` listeners receive): the staging room a batch needs,
// and the reference way to carry one out on bytes in memory.
import type { BlockMove } from './types.js';

/** Bytes of staging area a batch of steps needs: 0 when it has no `'stage'` step. O(steps). */
export function stagingBytes(moves: readonly BlockMove[]): number {
  let most = 0;
  for (const m of moves) if (m.kind === 'stage' && m.to + m.size > most) most = m.to + m.size;
  return most;
}

/**
 * Carries out a batch of steps on `bytes`, a copy of the heap's bytes, in order: a `'move'` as
 * `copyWithin`, a `'stage'` into `staging`, an `'unstage'` from it. `staging` must hold
 * `stagingBytes(moves)` bytes; one is made when needed and not given. O(bytes moved).
 */
export function applyMoves(
  bytes: Uint8Array,
  moves: readonly BlockMove[],
  staging?: Uint8Array,
): void {
  for (const m of moves) {
    if (m.kind === 'move') {
      bytes.copyWithin(m.to, m.from, m.from + m.size);
    } else {
      staging ??= new Uint8Array(stagingBytes(moves));
      if (m.kind === 'stage') staging.set(bytes.subarray(m.from, m.from + m.size), m.to);
      else bytes.set(staging.subarray(m.from, m.from + m.size), m.to);
    }
  }
}
