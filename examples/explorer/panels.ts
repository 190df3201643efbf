/**
 * The page's text panels: the stats table, the table of live blocks and the log of what
 * happened. Each cell carries its raw value in a data attribute, for scripts and tests.
 */
import type { Handle, HeapStats, MemoryManager } from '../../src/index.js';
import { colourOf, formatBytes, type ShownBlock } from './shown-heap.js';

const STAT_ROWS: readonly {
  key: keyof HeapStats;
  label: string;
  bytes?: boolean;
  fraction?: boolean;
}[] = [
  { key: 'capacity', label: 'capacity', bytes: true },
  { key: 'used', label: 'used', bytes: true },
  { key: 'free', label: 'free', bytes: true },
  { key: 'largestFree', label: 'largest free', bytes: true },
  { key: 'fragmentation', label: 'fragmentation', fraction: true },
  { key: 'liveBlocks', label: 'live blocks' },
  { key: 'freeBlocks', label: 'free blocks (gaps)' },
  { key: 'pinnedBlocks', label: 'pinned blocks' },
  { key: 'peakUsed', label: 'peak used', bytes: true },
  { key: 'compactions', label: 'compactions' },
  { key: 'bytesMoved', label: 'bytes moved', bytes: true },
];

export class StatsTable {
  private readonly cells = new Map<string, HTMLTableCellElement>();

  constructor(table: HTMLTableElement) {
    const rows: [string, string][] = [
      ...STAT_ROWS.map((r): [string, string] => [r.key, r.label]),
      ['epoch', 'epoch (moves seen)'],
      ['metadataBytes', 'metadata'],
    ];
    for (const [key, label] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = label;
      const td = tr.insertCell();
      td.dataset.stat = key;
      this.cells.set(key, td);
    }
  }

  show(mm: MemoryManager): void {
    const stats = mm.stats();
    for (const row of STAT_ROWS) {
      const v = stats[row.key];
      const text = row.fraction
        ? v.toFixed(3)
        : row.bytes
          ? `${formatBytes(v)}${v >= 1024 ? ` (${v})` : ''}`
          : String(v);
      this.set(row.key, v, text);
    }
    this.set('epoch', mm.epoch, String(mm.epoch));
    this.set('metadataBytes', mm.metadataBytes, formatBytes(mm.metadataBytes));
  }

  private set(key: string, value: number, text: string): void {
    const td = this.cells.get(key)!;
    td.dataset.value = String(value);
    td.textContent = text;
    // Fragmentation drawn as a bar behind its number.
    if (key === 'fragmentation') td.style.setProperty('--fraction', String(value));
  }
}

/** Rows shown at most; a trace's heap can hold thousands of blocks. */
const MAX_BLOCK_ROWS = 400;

export class BlockTable {
  onSelect: (handle: Handle) => void = () => {};

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly caption: HTMLElement,
  ) {
    body.addEventListener('click', (e) => {
      const row = (e.target as Element).closest('tr');
      if (row?.dataset.handle !== undefined) this.onSelect(Number(row.dataset.handle));
    });
  }

  show(
    blocks: readonly ShownBlock[],
    nameOf: (b: ShownBlock) => string,
    selected: Handle | null,
  ): void {
    const rows = blocks.slice(0, MAX_BLOCK_ROWS).map((b) => {
      const tr = document.createElement('tr');
      tr.dataset.handle = String(b.handle);
      tr.dataset.offset = String(b.offset);
      tr.dataset.size = String(b.size);
      if (b.handle === selected) tr.classList.add('selected');
      const swatch = document.createElement('span');
      swatch.className = b.pinned ? 'swatch pinned' : 'swatch';
      swatch.style.background = colourOf(b.handle);
      const first = document.createElement('td');
      first.append(swatch, String(b.handle));
      tr.append(first);
      for (const v of [nameOf(b), b.offset, b.size, b.bytes, b.align, b.pinned ? 'pinned' : '']) {
        tr.insertCell().textContent = String(v);
      }
      return tr;
    });
    this.body.replaceChildren(...rows);
    this.body.dataset.count = String(blocks.length);
    this.caption.textContent =
      blocks.length > MAX_BLOCK_ROWS
        ? `${blocks.length} live blocks (the first ${MAX_BLOCK_ROWS} shown)`
        : `${blocks.length} live blocks`;
  }
}

export type LogKind = 'op' | 'moves' | 'error' | 'info';

/** Entries kept; older ones drop off the end. */
const MAX_LOG = 200;

export class EventLog {
  constructor(private readonly list: HTMLOListElement) {}

  add(kind: LogKind, text: string, data: Record<string, string> = {}): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.kind = kind;
    Object.assign(li.dataset, data);
    li.textContent = text;
    this.list.prepend(li);
    while (this.list.children.length > MAX_LOG) this.list.lastElementChild!.remove();
    return li;
  }
}
