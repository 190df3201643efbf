// How moves are reported: the compactor, the scrambler and resize tell a sink of each step of
// the move plan as they take it, and the heap core turns the steps into batches for an
// observer (the public class's move events). Steps come in the order the engine takes them, so
// applying them one by one in one buffer, memmove-style, reproduces the heap: a `move` copies a
// block within the heap; a block that must get out of the way first (its place is needed
// before its new one is free) is `stage`d, copied to a staging area, and `unstage`d later.

/** A move within the heap: `from` and `to` are heap offsets. */
export const MOVE = 0;
/** A copy out: `from` is a heap offset, `to` an offset in the staging area. */
export const STAGE = 1;
/** A copy back: `from` is an offset in the staging area, `to` a heap offset. */
export const UNSTAGE = 2;
export type StepKind = typeof MOVE | typeof STAGE | typeof UNSTAGE;

/** Receives each step as it happens: its kind, the block's record, source and destination. */
export type MoveSink = (kind: StepKind, p: number, from: number, to: number) => void;

/** Where the steps of an operation go: the public class's move events. */
export interface MoveObserver {
  /** True while anyone listens: only then are moves worth describing. */
  readonly listening: boolean;
  /** Adds a step to the current batch. */
  add(kind: StepKind, handle: number, from: number, to: number, size: number): void;
  /** True when an applier wants to hear of new bytes (a heap whose bytes live elsewhere). */
  readonly tracksNewBytes: boolean;
  /**
   * Notes that heap bytes [start, end) are new (an allocation, a growing resize): the applier
   * hears of them after the operation's moves, before its listeners.
   */
  newBytes(start: number, end: number): void;
  /** Notes that blocks moved in the current batch. */
  markMoved(): void;
  /** Ends the current batch: the epoch advances when blocks moved, listeners hear of it. */
  publish(): void;
}
