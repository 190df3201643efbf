// The bytes a heap manages: a plain Uint8Array of `capacity` bytes, re-derived when the memory
// under it was replaced. A WebAssembly.Memory's `grow` detaches its old ArrayBuffer and gives
// `memory.buffer` a new one; a transfer detaches a buffer for good.
export class ManagedMemory {
  readonly capacity: number;
  private view: Uint8Array;
  private readonly wasm: WebAssembly.Memory | null;
  /** True when the bytes are in a SharedArrayBuffer (a memory keeps its kind when it grows). */
  readonly shared: boolean;

  /** `view` must be a plain Uint8Array of exactly `capacity` bytes (of `wasm.buffer`, when given). */
  constructor(view: Uint8Array, wasm: WebAssembly.Memory | null = null) {
    this.view = view;
    this.capacity = view.length;
    this.wasm = wasm;
    this.shared = !(view.buffer instanceof ArrayBuffer);
  }

  /**
   * Zeroes heap[from, to). Shared memory is zeroed 8 bytes an element through a Float64Array:
   * a byte `fill` on a SharedArrayBuffer is many times slower. O(to - from).
   */
  zero(heap: Uint8Array, from: number, to: number): void {
    if (!this.shared) {
      heap.fill(0, from, to);
      return;
    }
    // Bytes up to an 8-byte boundary of the buffer, then 8 bytes per store, then the rest.
    let at = from;
    const base = heap.byteOffset;
    for (; at < to && ((base + at) & 7) !== 0; at++) heap[at] = 0;
    const words = to - at >= 64 ? this.wordsOf(heap) : null;
    if (words !== null) {
      const first = (base + at) / 8;
      const n = (to - at) >>> 3;
      words.fill(0, first, first + n); // 8 bytes an element: far fewer shared stores than bytes
      at += n * 8;
    }
    for (; at < to; at++) heap[at] = 0;
  }

  private words: Float64Array | null = null;

  /** A Float64Array over the whole buffer under `heap` (made once). */
  private wordsOf(heap: Uint8Array): Float64Array {
    if (this.words === null || this.words.buffer !== heap.buffer) {
      this.words = new Float64Array(heap.buffer, 0, heap.buffer.byteLength >>> 3);
    }
    return this.words;
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
