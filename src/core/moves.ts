// How moves are reported: the compactor and the scrambler tell a sink of each move they make,
// and the heap core turns them into batches for an observer (the public class's move events).

/** Receives each block move as it happens: its record, old and new offset. */
export type MoveSink = (p: number, from: number, to: number) => void;

/** Where the moves of an operation go: the public class's move events. */
export interface MoveObserver {
  /** True while anyone listens: only then are moves worth describing. */
  readonly listening: boolean;
  /** Adds a move to the current batch. */
  add(handle: number, from: number, to: number, size: number): void;
  /** Notes that blocks moved in the current batch. */
  markMoved(): void;
  /** Ends the current batch: the epoch advances when blocks moved, listeners hear of it. */
  publish(): void;
}
