// The explorer's file opening: a snapshot by name or by its magic number, else a trace. A damaged
// snapshot reports the snapshot's error, whatever its name; text that is no snapshot is a trace.
import { describe, expect, it } from 'vitest';
import { openFile } from '../examples/explorer/files.js';
import { MemoryManager } from '../src/index.js';

describe('explorer: opening a file', () => {
  const snapshot = (): Uint8Array => {
    const mm = new MemoryManager(256);
    mm.allocSync(8);
    return mm.save();
  };
  const damaged = (): Uint8Array<ArrayBuffer> => {
    const bytes = new Uint8Array(snapshot());
    bytes[bytes.length - 300] ^= 0xff; // inside the metadata: the checksum catches it
    return bytes;
  };

  it('opens a snapshot whatever its name', async () => {
    const opened = await openFile(new File([new Uint8Array(snapshot())], 'heap.bin'));
    expect(opened.kind).toBe('snapshot');
  });

  it.each(['x.heap', 'x.HEAP', 'x.heap (1)', 'download.bin'])(
    'a damaged snapshot named %s reports the snapshot error',
    async (name) => {
      await expect(openFile(new File([damaged()], name))).rejects.toMatchObject({
        code: 'ERR_INVALID_SNAPSHOT',
      });
    },
  );

  it('text is a trace', async () => {
    const opened = await openFile(new File(['Alloc(8),\nFree(0),\n'], 'ls.trace'));
    expect(opened.kind).toBe('trace');
  });
});
