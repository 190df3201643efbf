/**
 * GlPool on Chromium's WebGL2: a model-based run (random alloc, aligned alloc, free, resize,
 * write, pin, unpin, compact sync and sliced) where, after every operation, the whole buffer is
 * read back and every live block's bytes must equal a CPU model's, with no GL error; the pool
 * leaves the drawing bindings alone; bad input. No WebGL2 context is a failure, not a skip.
 */
import { describe, expect, it } from 'vitest';
import { GlPool } from '../src/webgl/index.js';
import { runPoolModel } from './pool-model.js';

function context(): WebGL2RenderingContext {
  const gl = document.createElement('canvas').getContext('webgl2');
  expect(gl, 'a WebGL2 context').not.toBeNull();
  return gl!;
}

describe('GlPool: a model-based run on WebGL2', () => {
  it.each([
    ['first-fit', 1, 1 << 20],
    ['best-fit', 2, 1 << 20],
    ['first-fit', 3, 16], // a tiny window: moves onto themselves go in many pieces
  ] as const)(
    '%s (seed %i, window %i): after every operation each live block holds its bytes',
    async (strategy, seed, windowBytes) => {
      const gl = context();
      const pool = new GlPool(gl, { size: 16 << 10, strategy, windowBytes });
      const { mismatches, moved } = await runPoolModel(pool, {
        seed,
        steps: 500,
        quantum: 1,
        readAll: () => {
          expect(gl.getError()).toBe(gl.NO_ERROR);
          const out = new Uint8Array(pool.capacity);
          gl.bindBuffer(gl.COPY_READ_BUFFER, pool.buffer);
          gl.getBufferSubData(gl.COPY_READ_BUFFER, 0, out);
          return out;
        },
      });
      expect(mismatches).toEqual([]);
      expect(moved).toBeGreaterThan(20);
      pool.destroy();
    },
  );
});

describe('GlPool: the rest of the surface', () => {
  it('leaves the ARRAY_BUFFER and ELEMENT_ARRAY_BUFFER bindings alone', () => {
    const gl = context();
    const vertices = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, vertices);
    const pool = new GlPool(gl, { size: 1024 });
    const [a, b] = [64, 64].map((n) => pool.allocSync(n));
    pool.write(b, new Uint8Array(64).fill(5));
    pool.freeSync(a);
    pool.compactSync();
    expect(pool.read(b)).toEqual(new Uint8Array(64).fill(5));
    expect(gl.getParameter(gl.ARRAY_BUFFER_BINDING)).toBe(vertices);
    pool.destroy();
  });

  it("puts back its user's COPY_READ_BUFFER and COPY_WRITE_BUFFER bindings", () => {
    const gl = context();
    const mine = gl.createBuffer();
    const theirs = gl.createBuffer();
    gl.bindBuffer(gl.COPY_WRITE_BUFFER, mine);
    gl.bufferData(gl.COPY_WRITE_BUFFER, 16, gl.STATIC_DRAW);
    gl.bindBuffer(gl.COPY_READ_BUFFER, theirs);
    const pool = new GlPool(gl, { size: 1024 });
    const [a, b] = [64, 64].map((n) => pool.allocSync(n));
    pool.write(b, new Uint8Array(64).fill(5));
    pool.freeSync(a);
    pool.compactSync();
    pool.read(b);
    expect(gl.getParameter(gl.COPY_WRITE_BUFFER_BINDING)).toBe(mine);
    expect(gl.getParameter(gl.COPY_READ_BUFFER_BINDING)).toBe(theirs);
    // So the user's own write lands in their buffer, not in a block.
    gl.bufferSubData(gl.COPY_WRITE_BUFFER, 0, new Uint8Array([1, 1, 1, 1]));
    expect(pool.read(b)).toEqual(new Uint8Array(64).fill(5));
    expect(gl.getError()).toBe(gl.NO_ERROR);
    pool.destroy();
  });

  it('with indices: true, the buffer is an index buffer that compacts like any other', () => {
    const gl = context();
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const pool = new GlPool(gl, { size: 1024, indices: true });
    expect(gl.getParameter(gl.VERTEX_ARRAY_BINDING)).toBe(vao); // put back
    expect(gl.getParameter(gl.ELEMENT_ARRAY_BUFFER_BINDING)).toBeNull(); // this VAO untouched
    const [a, b] = [4, 12].map((n) => pool.allocSync(n));
    pool.write(b, new Uint16Array([0, 1, 2, 2, 1, 3]));
    pool.freeSync(a);
    pool.compactSync(); // a move onto itself (by 4 bytes, 12 long): through the scratch buffer
    expect(pool.offsetOf(b)).toBe(0);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, pool.buffer);
    expect(gl.getError()).toBe(gl.NO_ERROR);
    expect(new Uint16Array(pool.read(b).buffer)).toEqual(new Uint16Array([0, 1, 2, 2, 1, 3]));
    expect(gl.getError()).toBe(gl.NO_ERROR);
    pool.destroy();
  });

  it('an index pool is needed for indices: a plain one cannot be bound as ELEMENT_ARRAY_BUFFER', () => {
    const gl = context();
    const pool = new GlPool(gl, { size: 64 });
    gl.bindVertexArray(gl.createVertexArray());
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, pool.buffer);
    expect(gl.getError()).toBe(gl.INVALID_OPERATION); // WebGL2's rule, why `indices` exists
    pool.destroy();
  });

  it('a buffer WebGL cannot make is a RangeError, not a silent empty buffer', () => {
    const gl = context();
    expect(() => new GlPool(gl, { size: 2 ** 31 - 4 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    gl.getError(); // clear the GL error that bufferData left
  });

  it('refuses every mutation once destroyed, and everything once the context is lost', () => {
    const gl = context();
    const pool = new GlPool(gl, { size: 256 });
    const h = pool.allocSync(8);
    pool.destroy();
    for (const call of [
      () => pool.allocSync(8),
      () => pool.freeSync(h),
      () => pool.resizeSync(h, 16),
      () => pool.compactSync(),
      () => pool.write(h, new Uint8Array(1)),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }));
    }
    expect(pool.stats().liveBlocks).toBe(1);
    const other = new GlPool(gl, { size: 256 });
    const k = other.allocSync(8);
    gl.getExtension('WEBGL_lose_context')!.loseContext();
    expect(() => other.read(k)).toThrow(expect.objectContaining({ code: 'ERR_CONTEXT_LOST' }));
    expect(() => new GlPool(gl, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'ERR_CONTEXT_LOST' }),
    );
  });

  it('align left out (or undefined) is 4', () => {
    const gl = context();
    expect(new GlPool(gl, { size: 64 }).align).toBe(4);
    expect(new GlPool(gl, { size: 64, align: undefined }).align).toBe(4);
  });

  it('refuses bad input with typed errors, changing nothing', () => {
    const gl = context();
    expect(() => new GlPool({} as never, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    for (const [options, code] of [
      [{ size: 64, colour: 1 }, 'ERR_INVALID_ARG_VALUE'],
      [{ size: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ size: 64, windowBytes: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ size: 64, windowBytes: 'x' }, 'ERR_INVALID_ARG_TYPE'],
      [{ size: 64, align: 3 }, 'ERR_OUT_OF_RANGE'],
    ] as const) {
      expect(() => new GlPool(gl, options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code }),
      );
    }
    const pool = new GlPool(gl, { size: 256 });
    const h = pool.allocSync(10);
    pool.write(h, new Uint8Array(10).fill(3));
    for (const [call, code] of [
      [() => pool.write(h, new Uint8Array(11)), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, new Uint8Array(4), 8), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h, [1, 2] as never), 'ERR_INVALID_ARG_TYPE'],
      [() => pool.read(h, 11), 'ERR_OUT_OF_RANGE'],
      [() => pool.write(h + 1, new Uint8Array(1)), 'ERR_INVALID_HANDLE'],
    ] as const) {
      expect(call).toThrow(expect.objectContaining({ code }));
    }
    expect(pool.read(h)).toEqual(new Uint8Array(10).fill(3));
    pool.destroy();
    expect(() => pool.read(h)).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }));
  });
});
