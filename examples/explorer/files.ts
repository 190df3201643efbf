/**
 * Files in and out of the page: a dropped or chosen file is a heap snapshot (`save()` bytes)
 * or an allocation trace (wee_alloc `.trace`, malloc-lab `.rep`), told apart by trying
 * `MemoryManager.restore`, which checks a snapshot's magic and checksum first; snapshots
 * go out as downloads.
 */
import { parseTrace } from '../../src/cli/parse.js';
import type { Trace } from '../../src/cli/trace.js';
import { MemoryManager, MemoryManagerError } from '../../src/index.js';

export type OpenedFile =
  | { readonly kind: 'snapshot'; readonly name: string; readonly heap: MemoryManager }
  | { readonly kind: 'trace'; readonly name: string; readonly trace: Trace };

/** Extension the page gives the snapshots it saves. */
export const SNAPSHOT_EXTENSION = '.heap';

/**
 * Reads a file as a snapshot or a trace.
 * @throws the snapshot's MemoryManagerError for a `.heap` file, else the trace's TraceError
 */
export async function openFile(file: File): Promise<OpenedFile> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    return { kind: 'snapshot', name: file.name, heap: MemoryManager.restore(bytes) };
  } catch (e) {
    if (!(e instanceof MemoryManagerError) || e.code !== 'ERR_INVALID_SNAPSHOT') throw e;
    // A damaged snapshot is one by name (`x.heap`, `x.HEAP`, `x.heap (1)`) or by its magic.
    if (file.name.toLowerCase().includes(SNAPSHOT_EXTENSION) || startsWithMagic(bytes)) throw e;
  }
  const text = new TextDecoder().decode(bytes);
  return { kind: 'trace', name: file.name, trace: parseTrace(text, file.name) };
}

/** True when `bytes` open with a snapshot's magic number, "HHP1". */
function startsWithMagic(bytes: Uint8Array): boolean {
  return bytes[0] === 0x48 && bytes[1] === 0x48 && bytes[2] === 0x50 && bytes[3] === 0x31;
}

/** Offers `bytes` as a download named `name`. */
export function download(bytes: Uint8Array, name: string): void {
  // A copy: Blob takes views of plain ArrayBuffers only, and `Uint8Array` may view a shared one.
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked after the click has started the download.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Calls `open` with the first file dropped on `zone` or chosen in any of `inputs`. */
export function acceptFiles(
  zone: HTMLElement,
  inputs: readonly HTMLInputElement[],
  open: (file: File) => void,
): void {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file !== undefined) open(file);
  });
  for (const input of inputs) {
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      // Cleared, so that choosing the same file again is a change too.
      if (file !== undefined) open(file);
      input.value = '';
    });
  }
}
