// GlPool: one WebGL2 buffer sub-allocated by handle, the WebGL2 twin of the WebGPU pool. An
// OffsetHeap whose move plans become copyBufferSubData calls as the engine makes them. WebGL2
// allows a copy within one buffer when the ranges do not overlap; a move onto itself goes
// through a scratch buffer in pieces (ordered for memmove semantics), as do staging steps.
// The pool works through the COPY_READ_BUFFER and COPY_WRITE_BUFFER targets and puts back what
// was bound there, so it disturbs no binding of its user's.
import { bufferSourceBytes, checkNumber, checkSpan, readOptions } from '../api/arguments.js';
import { argTypeError, describe, outOfRangeError } from '../core/errors.js';
import { movePieces } from '../webgpu/move-plan.js';
// The package's public entry: built as an import of 'handle-heap' (tsup.config.ts).
import {
  MemoryManagerError,
  OffsetHeap,
  stagingBytes,
  type BlockMove,
  type Handle,
  type PlacementStrategy,
} from '../index.js';

/** Options of `new GlPool(gl, options)`. */
export interface GlPoolOptions {
  /** Bytes of the buffer the pool creates (and deletes with itself). Rounded down to `align`. */
  size: number;
  /** Every block's offset is a multiple of this power of two. Default 4. */
  align?: number;
  strategy?: PlacementStrategy;
  autoCompact?: boolean;
  compactSliceBytes?: number;
  maxBlocks?: number;
  /** The buffer's usage hint. Default `gl.DYNAMIC_DRAW`. */
  usage?: GLenum;
  /** Largest piece a move onto itself goes through the scratch buffer in. Default 4 MiB. */
  windowBytes?: number;
  /**
   * The buffer holds index data (bound to ELEMENT_ARRAY_BUFFER): WebGL2 fixes a buffer's kind,
   * index data or other data, when it is first bound, and never lets an index buffer hold
   * vertices nor the reverse. Default false: vertex, uniform or other data.
   */
  indices?: boolean;
}

const OPTIONS = [
  'size',
  'align',
  'strategy',
  'autoCompact',
  'compactSliceBytes',
  'maxBlocks',
  'usage',
  'windowBytes',
  'indices',
];
const DEFAULT_WINDOW = 4 << 20;

/**
 * A pool of blocks in one WebGL2 buffer, by handle: an OffsetHeap whose moves the pool carries
 * out with `copyBufferSubData` before the operation returns; `write` with `bufferSubData` at the
 * block's current offset; `read` with `getBufferSubData` (synchronous: it waits for the GPU).
 * Bind a block with `offsetOf(h)` (`gl.vertexAttribPointer(..., pool.offsetOf(h))` with
 * `pool.buffer` bound to ARRAY_BUFFER), and again when `epoch` changed.
 */
export class GlPool extends OffsetHeap {
  readonly gl: WebGL2RenderingContext;
  /** The buffer the blocks live in. */
  readonly buffer: WebGLBuffer;
  private scratch: WebGLBuffer | null = null;
  private scratchSize = 0;
  private readonly windowBytes: number;
  private readonly indices: boolean;
  private destroyed = false;

  /**
   * @throws TypeError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a missing context or
   *   bad or unknown options; RangeError `ERR_OUT_OF_RANGE` for a size, alignment or window out
   *   of range, or a buffer WebGL could not make that large; MemoryManagerError
   *   `ERR_CONTEXT_LOST`. Options are own properties, each read once.
   */
  constructor(gl: WebGL2RenderingContext, options: GlPoolOptions) {
    if (typeof gl !== 'object' || gl === null || typeof gl.copyBufferSubData !== 'function') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "gl" argument must be a WebGL2RenderingContext. Received ${describe(gl)}.`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be an object. Received ${describe(options)}.`,
      );
    }
    const o = readOptions('options', options, OPTIONS) as unknown as GlPoolOptions;
    const { usage, windowBytes, indices, ...heap } = o;
    if (indices !== undefined && typeof indices !== 'boolean') {
      throw argTypeError(
        'ERR_INVALID_ARG_TYPE',
        `The "indices" option must be of type boolean. Received ${describe(indices)}.`,
      );
    }
    const window = windowBytes ?? DEFAULT_WINDOW;
    checkNumber('windowBytes', window);
    if (!Number.isInteger(window) || window < 1) {
      throw outOfRangeError(
        `The value of "windowBytes" is out of range. It must be an integer >= 1. Received ${window}.`,
      );
    }
    super({ ...heap, align: heap.align ?? 4 });
    this.gl = gl;
    this.windowBytes = window;
    this.indices = indices ?? false;
    this.checkUsable();
    this.buffer = this.newBuffer(this.capacity, usage ?? gl.DYNAMIC_DRAW);
    this.applyWith((moves) => {
      if (!this.destroyed) this.carryOut(moves);
    });
  }

  /**
   * Writes `data` into a block at `offset` with `bufferSubData`.
   * @throws InvalidHandleError; TypeError `ERR_INVALID_ARG_TYPE` for data that is not an
   *   ArrayBuffer or a view, `ERR_INVALID_ARG_VALUE` for detached data; RangeError
   *   `ERR_OUT_OF_RANGE` for a range that crosses the block's end; `ERR_DESTROYED`.
   */
  write(handle: Handle, data: BufferSource, offset = 0): void {
    this.checkUsable();
    const at = this.offsetOf(handle);
    const size = this.sizeOf(handle);
    const bytes = bufferSourceBytes('data', data);
    checkSpan('offset', offset, size);
    checkSpan('data.byteLength', bytes.length, size - offset);
    const gl = this.gl;
    this.withCopyTargets(() => {
      gl.bindBuffer(gl.COPY_WRITE_BUFFER, this.buffer);
      gl.bufferSubData(gl.COPY_WRITE_BUFFER, at + offset, bytes);
    });
  }

  /** A copy of the block's bytes (from `offset`, `length` bytes), read with `getBufferSubData`. */
  read(handle: Handle, offset = 0, length?: number): Uint8Array {
    this.checkUsable();
    const at = this.offsetOf(handle);
    const size = this.sizeOf(handle);
    checkSpan('offset', offset, size);
    const n = length ?? size - offset;
    checkSpan('length', n, size - offset);
    const out = new Uint8Array(n);
    const gl = this.gl;
    this.withCopyTargets(() => {
      gl.bindBuffer(gl.COPY_READ_BUFFER, this.buffer);
      gl.getBufferSubData(gl.COPY_READ_BUFFER, at + offset, out);
    });
    return out;
  }

  /**
   * Deletes the pool's buffers; later mutations, writes and reads throw `ERR_DESTROYED` (the
   * bookkeeping still answers; a compaction still running keeps only the bookkeeping).
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.gl.deleteBuffer(this.buffer);
    if (this.scratch !== null) this.gl.deleteBuffer(this.scratch);
    this.scratch = null;
  }

  /** Carries out a batch: direct copies where the ranges are apart, else through scratch. */
  private carryOut(moves: readonly BlockMove[]): void {
    const staging = stagingBytes(moves);
    let largest = 0; // the largest move onto itself: it goes through the window
    for (const m of moves) {
      if (m.kind === 'move' && m.from !== m.to && Math.abs(m.to - m.from) < m.size)
        largest = Math.max(largest, m.size);
    }
    const window = Math.min(largest, this.windowBytes);
    this.withCopyTargets(() => {
      if (staging + window > 0) this.reserve(staging + window);
      this.copySteps(moves, staging, window);
    });
  }

  /** The copies of a batch (the scratch buffer holds the staging area and the window). */
  private copySteps(moves: readonly BlockMove[], staging: number, window: number): void {
    const gl = this.gl;
    const copy = (from: WebGLBuffer, at: number, to: WebGLBuffer, dest: number, n: number) => {
      gl.bindBuffer(gl.COPY_READ_BUFFER, from);
      gl.bindBuffer(gl.COPY_WRITE_BUFFER, to);
      gl.copyBufferSubData(gl.COPY_READ_BUFFER, gl.COPY_WRITE_BUFFER, at, dest, n);
    };
    for (const { kind, from, to, size } of moves) {
      if (size === 0) continue;
      if (kind === 'stage') copy(this.buffer, from, this.scratch!, to, size);
      else if (kind === 'unstage') copy(this.scratch!, from, this.buffer, to, size);
      else if (from === to) continue;
      else if (Math.abs(to - from) >= size) copy(this.buffer, from, this.buffer, to, size);
      else {
        for (const piece of movePieces(from, to, size, window)) {
          copy(this.buffer, piece.from, this.scratch!, staging, piece.size);
          copy(this.scratch!, staging, this.buffer, piece.to, piece.size);
        }
      }
    }
  }

  /** Makes the scratch buffer hold at least `bytes`, doubling (capped at need + capacity). */
  private reserve(bytes: number): void {
    if (this.scratchSize >= bytes) return;
    const size = Math.max(bytes, Math.min(this.scratchSize * 2, bytes + this.capacity));
    if (this.scratch !== null) this.gl.deleteBuffer(this.scratch);
    this.scratch = this.newBuffer(size, this.gl.STREAM_COPY);
    this.scratchSize = size;
  }

  /**
   * A new buffer of `size` bytes, of the pool's kind (index data when `indices`: first bound to
   * ELEMENT_ARRAY_BUFFER with no vertex array bound, the bindings put back after).
   * @throws RangeError `ERR_OUT_OF_RANGE` when WebGL could not make it that large.
   */
  private newBuffer(size: number, usage: GLenum): WebGLBuffer {
    const gl = this.gl;
    const buffer = gl.createBuffer();
    if (this.indices) {
      const vao = gl.getParameter(gl.VERTEX_ARRAY_BINDING) as WebGLVertexArrayObject | null;
      gl.bindVertexArray(null);
      const bound = gl.getParameter(gl.ELEMENT_ARRAY_BUFFER_BINDING) as WebGLBuffer | null;
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, buffer);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, bound);
      gl.bindVertexArray(vao);
    }
    this.withCopyTargets(() => {
      gl.bindBuffer(gl.COPY_WRITE_BUFFER, buffer);
      gl.bufferData(gl.COPY_WRITE_BUFFER, size, usage);
    });
    if (!this.sized(buffer, size)) {
      gl.deleteBuffer(buffer);
      throw outOfRangeError(
        `WebGL could not make a buffer of ${size} bytes (out of memory, or a bad usage hint).`,
      );
    }
    return buffer;
  }

  /** True when `buffer` holds `size` bytes (bufferData fails silently, with a GL error). */
  private sized(buffer: WebGLBuffer, size: number): boolean {
    const gl = this.gl;
    let made = 0;
    this.withCopyTargets(() => {
      gl.bindBuffer(gl.COPY_READ_BUFFER, buffer);
      made = gl.getBufferParameter(gl.COPY_READ_BUFFER, gl.BUFFER_SIZE) as number;
    });
    return made === size;
  }

  /** Runs `task`, then puts back what COPY_READ_BUFFER and COPY_WRITE_BUFFER were bound to. */
  private withCopyTargets(task: () => void): void {
    const gl = this.gl;
    const read = gl.getParameter(gl.COPY_READ_BUFFER_BINDING) as WebGLBuffer | null;
    const write = gl.getParameter(gl.COPY_WRITE_BUFFER_BINDING) as WebGLBuffer | null;
    try {
      task();
    } finally {
      gl.bindBuffer(gl.COPY_READ_BUFFER, read);
      gl.bindBuffer(gl.COPY_WRITE_BUFFER, write);
    }
  }

  /**
   * @internal Every mutation, write and read throws `ERR_DESTROYED` once destroyed and
   * `ERR_CONTEXT_LOST` once the context is lost.
   */
  protected override checkUsable(): void {
    if (this.destroyed) {
      throw new MemoryManagerError('ERR_DESTROYED', 'This GlPool was destroyed.');
    }
    if (this.gl.isContextLost()) {
      throw new MemoryManagerError(
        'ERR_CONTEXT_LOST',
        'The WebGL context of this GlPool was lost: make a new pool once it is restored.',
      );
    }
  }
}
