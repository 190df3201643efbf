// The bytes a heap manages: a plain Uint8Array of `capacity` bytes, re-derived when the memory
// under it was replaced. A WebAssembly.Memory's `grow` detaches its old ArrayBuffer and gives
// `memory.buffer` a new one; a transfer detaches a buffer for good.
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
