/**
 * Save and restore: a 64 MiB heap holding 100,000 blocks, `save()` plus `MemoryManager.restore()`
 * against two plain copies of its bytes (`Uint8Array.prototype.slice`), measured in one process.
 */
import { MemoryManager } from '../src/index.js';
import { Rng } from '../test/prng.js';
import { marginAtMost, type Section } from './report.js';
import { fmtBytes, fmtInt, fmtRatio, fmtTime, mdTable, median, now, progress } from './util.js';

const CAPACITY = 64 * 1024 * 1024;
const BLOCKS = 100_000;
const ROUNDS = 7;

export function benchSnapshot(): Section {
  progress('snapshot: filling a 64 MiB heap with 100,000 blocks');
  const mm = new MemoryManager({ size: CAPACITY, zeroFill: false });
  const rng = new Rng(64);
  const hs: number[] = [];
  // Blocks of 16..1024 bytes with holes between some of them, every byte written.
  while (hs.length < BLOCKS) {
    const h = mm.allocSync(rng.int(16, 1024));
    mm.view(h).fill(hs.length & 255);
    hs.push(h);
  }
  for (let i = 0; i < hs.length; i += 7) mm.freeSync(hs[i]);
  const bytes = mm.bytes;
  const copies: number[] = [];
  const saves: number[] = [];
  const restores: number[] = [];
  let size = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let t = now();
    const a = bytes.slice();
    const b = bytes.slice();
    copies.push(now() - t);
    t = now();
    const snapshot = mm.save();
    saves.push(now() - t);
    t = now();
    const copy = MemoryManager.restore(snapshot);
    restores.push(now() - t);
    size = snapshot.length;
    if (round === 0 && copy.stats().liveBlocks !== mm.stats().liveBlocks)
      throw new Error('restore lost blocks');
    void a;
    void b;
  }
  const copy = median(copies);
  const save = median(saves);
  const restore = median(restores);
  const ratio = (save + restore) / copy;
  const s = mm.stats();
  const markdown = [
    `A heap of ${fmtBytes(CAPACITY)} with ${fmtInt(s.liveBlocks)} live blocks and ${fmtInt(s.freeBlocks)} free ones; snapshot ${fmtBytes(size)}. Medians of ${ROUNDS} rounds; the baseline is two \`slice()\` copies of the heap's bytes in the same round. Restore checks every invariant of the state before it returns.`,
    '',
    mdTable(
      ['what', 'time'],
      [
        ['two plain copies of the bytes (baseline)', fmtTime(copy)],
        ['save()', fmtTime(save)],
        ['MemoryManager.restore()', fmtTime(restore)],
        ['save + restore / baseline', fmtRatio(ratio)],
      ],
    ),
  ].join('\n');
  return {
    title: 'Save and restore',
    markdown,
    targets: [
      {
        name: 'save + restore, 64 MiB, 100,000 blocks',
        target: '<= 2x two plain copies of the bytes',
        measured: `${fmtRatio(ratio)} (${fmtTime(save + restore)} vs ${fmtTime(copy)})`,
        met: ratio <= 2,
        margin: marginAtMost(ratio, 2),
      },
    ],
    data: {},
  };
}
