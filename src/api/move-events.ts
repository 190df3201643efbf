// Move events: collects the moves of the operation under way, ends each batch (the epoch advances)
// and hands each batch to the listeners, in order, even when a listener calls back into the heap.
import type { MoveObserver, StepKind } from '../core/moves.js';
import type { BlockMove, MoveListener } from './types.js';

/** The public names of the step kinds, by StepKind. */
const KINDS = ['move', 'stage', 'unstage'] as const;

/** One `onMove` call: removing it stops its deliveries, even of a batch being delivered. */
interface Subscription {
  readonly listener: MoveListener;
  active: boolean;
}

export class MoveEvents implements MoveObserver {
  /** Called once per batch in which blocks moved (listeners or not): advances the epoch. */
  private readonly onBatch: () => void;
  /** Replaced, never changed in place, so a delivery loop keeps the list it started with. */
  private subscriptions: readonly Subscription[] = [];
  /** Moves of the operation under way, collected only while someone listens. */
  private batch: BlockMove[] = [];
  /** True when blocks moved since the last published batch. */
  private moved = false;
  /** Batches waiting for delivery, and whether a delivery loop is running. */
  private readonly pending: (readonly BlockMove[])[] = [];
  private delivering = false;

  constructor(onBatch: () => void) {
    this.onBatch = onBatch;
  }

  /** The applier of a heap whose bytes live elsewhere (set once), or null. */
  private applier: MoveListener | null = null;
  /** The applier's hook for new bytes, or null. */
  private onNewBytes: ((start: number, end: number) => void) | null = null;
  /** New byte ranges of the operation under way (start, end, ...), for `onNewBytes`. */
  private readonly fresh: number[] = [];

  /** True while anyone listens (or an applier is set): only then are moves worth describing. */
  get listening(): boolean {
    return this.applier !== null || this.subscriptions.length > 0;
  }

  /**
   * Sets the applier: it gets every batch at once, in `publish`, before the listeners; then
   * `newBytes` hears of the operation's new byte ranges (after the moves that made room).
   */
  applyWith(applier: MoveListener, newBytes?: (start: number, end: number) => void): void {
    this.applier = applier;
    this.onNewBytes = newBytes ?? null;
  }

  get tracksNewBytes(): boolean {
    return this.onNewBytes !== null;
  }

  newBytes(start: number, end: number): void {
    this.fresh.push(start, end);
  }

  /** Adds a listener; returns the function that removes this subscription. */
  subscribe(listener: MoveListener): () => void {
    const subscription: Subscription = { listener, active: true };
    this.subscriptions = [...this.subscriptions, subscription];
    return () => {
      subscription.active = false;
      this.subscriptions = this.subscriptions.filter((s) => s !== subscription);
    };
  }

  /** Hands the new byte ranges noted since the last call to the applier's hook. */
  private flushNewBytes(): void {
    const fresh = this.fresh;
    if (fresh.length === 0) return;
    // The hook is the applier's own (it calls no heap method): the list is reused, no garbage.
    for (let i = 0; i < fresh.length; i += 2) {
      try {
        this.onNewBytes!(fresh[i], fresh[i + 1]);
      } catch (error) {
        reportListenerError(error);
      }
    }
    fresh.length = 0;
  }

  /** Notes that blocks moved in the current batch, whether or not anyone listens. */
  markMoved(): void {
    this.moved = true;
  }

  /** Adds a step to the current batch (call only while `listening`). */
  add(kind: StepKind, handle: number, from: number, to: number, size: number): void {
    this.moved = true;
    this.batch.push(Object.freeze({ kind: KINDS[kind], handle, from, to, size }));
  }

  /**
   * Ends a batch: advances the epoch when blocks moved and hands the moves to the listeners.
   * A listener may call back into the heap; batches that causes are queued and delivered after
   * the current one, so every listener sees the batches in the order they happened.
   */
  publish(): void {
    if (!this.moved) {
      this.flushNewBytes();
      return;
    }
    this.moved = false;
    this.onBatch();
    if (this.batch.length === 0 || !this.listening) {
      this.batch = [];
      this.flushNewBytes();
      return;
    }
    const batch = Object.freeze(this.batch);
    this.batch = [];
    if (this.applier !== null) {
      // Not queued: the moves happen now, also for a batch a listener's call caused.
      try {
        this.applier(batch);
      } catch (error) {
        reportListenerError(error);
      }
    }
    this.flushNewBytes();
    if (this.subscriptions.length === 0) return;
    this.pending.push(batch);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let moves = this.pending.shift(); moves; moves = this.pending.shift()) {
        for (const subscription of this.subscriptions) {
          if (!subscription.active) continue; // removed by an earlier listener of this batch
          try {
            subscription.listener(moves);
          } catch (error) {
            reportListenerError(error);
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}

/**
 * Reports a listener's error without letting it escape into the heap's own code:
 * `globalThis.reportError` where the platform has it (browsers, Deno), else a rethrow in a
 * microtask, which Node reports as an uncaught exception.
 */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}
