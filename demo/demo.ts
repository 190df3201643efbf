/**
 * `npm run demo`: fragment a small heap, let auto-compaction satisfy an allocation that fits
 * in no hole, and check that every handle still names its own bytes after the blocks moved.
 * Exits non-zero (throws) if any check fails.
 */
import { InvalidHandleError, MemoryManager, OutOfMemoryError, type Handle } from '../src/index.js';
import { renderHeapMap, renderLegend, renderStats } from './heap-map.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`demo check failed: ${what}`);
}

/** Recognizable contents: the block's name repeated until the block is full. */
function contentsFor(name: string, size: number): string {
  return `${name} `.repeat(Math.ceil(size / (name.length + 1))).slice(0, size);
}

function show(lines: string[]): void {
  for (const line of lines) console.log(line);
}

const mm = new MemoryManager({ size: 512, align: 8 });
const labels = new Map<Handle, string>();
const names = new Map<Handle, string>();

async function allocNamed(name: string, size: number): Promise<Handle> {
  const handle = await mm.alloc(size);
  mm.write(handle, encoder.encode(contentsFor(name, size)));
  labels.set(handle, name[0]);
  names.set(handle, name);
  return handle;
}

console.log(
  `handle-heap demo: ${mm.capacity}-byte heap, align ${mm.align} (one map character = ${mm.align} bytes)\n`,
);

// 1. Eight blocks of different sizes, each filled with its name.
console.log('1. Allocate eight blocks A..H, each filled with its name');
const first: [string, number][] = [
  ['Alfa', 37],
  ['Bravo', 60],
  ['Charlie', 20],
  ['Delta', 70],
  ['Echo', 45],
  ['Foxtrot', 52],
  ['Golf', 30],
  ['Hotel', 77],
];
const handles: Handle[] = [];
for (const [name, size] of first) handles.push(await allocNamed(name, size));
show(renderHeapMap(mm, labels));

// 2. Free every other block: the free space is now scattered over five holes.
const freed = handles.filter((_, i) => i % 2 === 0);
const kept = handles.filter((_, i) => i % 2 === 1);
for (const handle of freed) await mm.free(handle);
console.log(`\n2. Free every other block (${freed.map((h) => labels.get(h)).join(', ')})`);
show(renderHeapMap(mm, labels));
show(renderLegend(mm, labels));
show(renderStats(mm.stats()));

// 3. An allocation bigger than every hole but smaller than the total free space.
const before = mm.stats();
const request = 160;
check(request > before.largestFree, 'the request must fit in no hole');
check(request <= before.free, 'the request must fit in the total free space');
const oldOffsets = new Map(kept.map((h) => [h, mm.offsetOf(h)] as const));
console.log(`\n3. alloc(${request}): fits in no hole, but in the total free space`);
console.log(
  `  largest hole ${before.largestFree} B < ${request} B <= ${before.free} B free in ${before.freeBlocks} holes`,
);
const india = await allocNamed('India', request);
const after = mm.stats();
check(after.compactions === before.compactions + 1, 'alloc must have compacted once');
console.log(
  `  succeeded thanks to auto-compaction: handle ${india} (I) at offset ${mm.offsetOf(india)}\n` +
    `  stats: compactions ${before.compactions} → ${after.compactions}, ` +
    `bytesMoved ${before.bytesMoved} → ${after.bytesMoved} B`,
);
show(renderHeapMap(mm, labels));
show(renderLegend(mm, labels, oldOffsets));
show(renderStats(after));

// 4. Same handles, same bytes, new offsets.
console.log('\n4. Verify: the same handles still hold their contents, at new offsets');
for (const handle of [...kept, india]) {
  const name = names.get(handle) ?? '';
  const expected = contentsFor(name, mm.sizeOf(handle));
  const actual = decoder.decode(mm.read(handle));
  check(actual === expected, `block ${labels.get(handle)} (handle ${handle}) lost its contents`);
  const old = oldOffsets.get(handle);
  const moved = old === undefined ? 'new block' : `offset ${old} → ${mm.offsetOf(handle)}`;
  check(old !== mm.offsetOf(handle), `block ${labels.get(handle)} should have moved`);
  console.log(`  ✓ ${labels.get(handle)} handle ${handle}: "${name} ${name} …" intact, ${moved}`);
}
mm.validate();
console.log('  ✓ mm.validate(): every heap invariant holds');

// 5. Errors carry stable codes and leave the heap as it was.
console.log('\n5. Errors');
const stale = freed[0];
try {
  mm.read(stale);
  check(false, 'reading a freed handle must throw');
} catch (error) {
  check(error instanceof InvalidHandleError, 'expected InvalidHandleError');
  console.log(
    `  read(${stale}), freed block ${labels.get(stale)}: ${error.name} code ${error.code}`,
  );
}
const free = mm.stats().free;
const tooBig = free + mm.align;
try {
  await mm.alloc(tooBig);
  check(false, 'an allocation larger than the free space must fail');
} catch (error) {
  check(error instanceof OutOfMemoryError, 'expected OutOfMemoryError');
  console.log(
    `  alloc(${tooBig}): ${error.name} code ${error.code}, requested ${error.requested}, ` +
      `free ${error.free}, largestFree ${error.largestFree}`,
  );
}
mm.validate();
check(mm.stats().liveBlocks === kept.length + 1, 'failed calls must not change the heap');
console.log('  ✓ heap unchanged and valid after both errors');
