// The bytes a heap manages: a plain Uint8Array of `capacity` bytes, re-derived when the memory
// under it was replaced. A WebAssembly.Memory's `grow` detaches its old ArrayBuffer and gives
// `memory.buffer` a new one; a transfer detaches a buffer for good.
const ZEROS = new Uint8Array(4096);

export class ManagedMemory {
  readonly capacity: number;
  private view: Uint8Array;
  private readonly wasm: WebAssembly.Memory | null;

  /** `view` must be a plain Uint8Array of exactly `capacity` bytes (of `wasm.buffer`, when given). */
  constructor(view: Uint8Array, wasm: WebAssembly.Memory | null = null) {
    this.view = view;
    this.capacity = view.length;
    this.wasm = wasm;
  }

  /** True when the bytes are in a SharedArrayBuffer. */
  get shared(): boolean {
    return !(this.view.buffer instanceof ArrayBuffer);
  }

  /**
   * Zeroes heap[from, to). Shared memory is zeroed by copying from a zeroed block: `fill` on a
   * SharedArrayBuffer is many times slower. O(to - from).
   */
  zero(heap: Uint8Array, from: number, to: number): void {
    if (heap.buffer instanceof ArrayBuffer) {
      heap.fill(0, from, to);
      return;
    }
    for (let at = from; at < to; at += ZEROS.length) {
      const n = Math.min(ZEROS.length, to - at);
      heap.set(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n), at);
    }
  }

  /** The managed bytes now, or null when the memory was detached. O(1). */
  current(): Uint8Array | null {
    const view = this.view;
    // A view of a detached buffer has length 0, and a heap is never empty.
    if (view.length === this.capacity) return view;
    if (this.wasm === null) return null;
    this.view = new Uint8Array(this.wasm.buffer, 0, this.capacity);
    return this.view;
  }
}
