/**
 * Workload scripts: one operation a line, blocks named by the script, so a workload can be
 * written, replayed and shared as text.
 *
 *     a = alloc 1k            # 1024 bytes; `alloc 256 align 256` for an aligned block
 *     resize a 3000
 *     pin a / unpin a
 *     free a
 *     compact                 # or `compact slice 512`: a sliced compaction
 *
 * Sizes are bytes, or KiB with a `k` suffix. `#` starts a comment.
 */
import type { Handle } from '../../src/index.js';
import type { HeapSession } from './heap-session.js';
// The project's one seeded generator (the tests' and the benchmarks'): the same seed, the same workload.
import { mulberry32 } from '../../test/prng.js';

export type Command =
  | {
      readonly kind: 'alloc';
      readonly line: number;
      readonly name?: string;
      readonly size: number;
      readonly align?: number;
    }
  | { readonly kind: 'free' | 'pin' | 'unpin'; readonly line: number; readonly name: string }
  | { readonly kind: 'resize'; readonly line: number; readonly name: string; readonly size: number }
  | { readonly kind: 'compact'; readonly line: number; readonly sliceBytes?: number };

export class ScriptError extends Error {
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`line ${line}: ${problem}`);
    this.name = 'ScriptError';
  }
}

const NAME = '[A-Za-z_][\\w]*';
const SIZE = '(\\d+)(k)?';
const ALLOC = new RegExp(`^(?:(${NAME})\\s*=\\s*)?alloc\\s+${SIZE}(?:\\s+align\\s+(\\d+))?$`, 'i');
const ON_NAME = new RegExp(`^(free|pin|unpin)\\s+(${NAME})$`, 'i');
const RESIZE = new RegExp(`^resize\\s+(${NAME})\\s+${SIZE}$`, 'i');
const COMPACT = new RegExp(`^compact(?:\\s+slice\\s+${SIZE})?$`, 'i');

function bytes(digits: string, k: string | undefined): number {
  return Number(digits) * (k === undefined ? 1 : 1024);
}

/** The commands of a script, each with its 1-based line. @throws ScriptError */
export function parseScript(text: string): Command[] {
  const out: Command[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const src = raw.replace(/#.*/, '').trim();
    if (src === '') return;
    let m: RegExpExecArray | null;
    if ((m = ALLOC.exec(src)) !== null) {
      const align = m[4] === undefined ? undefined : Number(m[4]);
      out.push({ kind: 'alloc', line, name: m[1], size: bytes(m[2], m[3]), align });
    } else if ((m = ON_NAME.exec(src)) !== null) {
      out.push({ kind: m[1].toLowerCase() as 'free' | 'pin' | 'unpin', line, name: m[2] });
    } else if ((m = RESIZE.exec(src)) !== null) {
      out.push({ kind: 'resize', line, name: m[1], size: bytes(m[2], m[3]) });
    } else if ((m = COMPACT.exec(src)) !== null) {
      out.push({
        kind: 'compact',
        line,
        sliceBytes: m[1] === undefined ? undefined : bytes(m[1], m[2]),
      });
    } else {
      throw new ScriptError(
        line,
        `expected "name = alloc N [align A]", "free name", "resize name N", "pin name", "unpin name", "compact" or "compact slice N", found ${JSON.stringify(src)}`,
      );
    }
  });
  return out;
}

/** Runs a script's commands on a session one at a time, binding its names to handles. */
export class ScriptRunner {
  private commands: Command[] = [];
  private next = 0;
  private readonly handles = new Map<string, Handle>();

  /** Starts over with `text`. @throws ScriptError */
  load(text: string): void {
    this.commands = parseScript(text);
    this.next = 0;
    this.handles.clear();
  }

  get loaded(): boolean {
    return this.commands.length > 0;
  }

  get done(): boolean {
    return this.next >= this.commands.length;
  }

  /** The command `step` runs next, or null at the end. */
  get upcoming(): Command | null {
    return this.commands[this.next] ?? null;
  }

  /**
   * Runs the next command and returns what it did. A failing command (a library error, an
   * unknown name) is skipped over, so Step can go on after it.
   * @throws ScriptError, or the library's error with the line in front of its message
   */
  async step(session: HeapSession): Promise<string> {
    // Two quick Steps queue two calls: the second may find the script already done.
    if (this.next >= this.commands.length) return 'script done';
    const c = this.commands[this.next++];
    try {
      return `line ${c.line}: ${await this.run(session, c)}`;
    } catch (e) {
      if (e instanceof ScriptError || !(e instanceof Error)) throw e;
      throw new ScriptError(c.line, `${e.name}: ${e.message}`);
    }
  }

  private async run(session: HeapSession, c: Command): Promise<string> {
    switch (c.kind) {
      case 'alloc': {
        const { handle, text } = await session.alloc(c.size, c.align, c.name);
        if (c.name !== undefined) this.handles.set(c.name, handle);
        return text;
      }
      case 'free': {
        const text = await session.free(this.handleOf(c));
        this.handles.delete(c.name);
        return text;
      }
      case 'resize':
        return session.resize(this.handleOf(c), c.size);
      case 'pin':
        return session.pin(this.handleOf(c));
      case 'unpin':
        return session.unpin(this.handleOf(c));
      case 'compact':
        return session.compact(c.sliceBytes);
    }
  }

  private handleOf(c: { line: number; name: string }): Handle {
    const h = this.handles.get(c.name);
    if (h === undefined) throw new ScriptError(c.line, `no live block is named ${c.name}`);
    return h;
  }
}

/** The script shown when the page opens: fragmentation, a pin, an aligned block, compactions. */
export const SAMPLE_SCRIPT = `# A workload that fragments a 16 KiB heap. Run it, or Step line by line.
a = alloc 1k
b = alloc 512
c = alloc 2k
d = alloc 256 align 256
e = alloc 1536
f = alloc 768
g = alloc 3k
h = alloc 640
i = alloc 2k
free b
free d
free f
free h
pin e            # e will not move: compaction fills around it
j = alloc 700    # first fit: the lowest gap that holds it
resize a 1800    # no room after a: a moves
compact slice 1k # a sliced compaction: one move plan per slice
unpin e
k = alloc 4k     # no gap holds 4 KiB, the free space does: auto-compaction
free c
free i
l = alloc 900
pin g
`;

/**
 * A random churn of `count` operations for a heap of `capacity` bytes: allocations of mixed
 * sizes, frees, resizes and a few pins, keeping the live bytes under about 80% of the heap so
 * it fragments without running out.
 */
export function randomScript(seed: number, count: number, capacity: number): string {
  const next = mulberry32(seed);
  const live: { name: string; size: number; pinned: boolean }[] = [];
  let used = 0;
  let made = 0;
  const largest = Math.max(16, Math.floor(capacity / 14));
  const sizeOf = (): number => 16 + Math.floor(next() ** 2 * (largest - 16));
  const lines = [`# ${count} random operations, seed ${seed}`];
  const pick = (movable: boolean): number => {
    const choices = live.map((b, i) => i).filter((i) => !movable || !live[i].pinned);
    return choices.length === 0 ? -1 : choices[Math.floor(next() * choices.length)];
  };
  for (let n = 0; n < count; n++) {
    const r = next();
    const size = sizeOf();
    if (live.length < 3 || (r < 0.5 && used + size < capacity * 0.8)) {
      const name = `b${++made}`;
      live.push({ name, size, pinned: false });
      used += size;
      lines.push(`${name} = alloc ${size}`);
      continue;
    }
    const i = pick(r < 0.85);
    if (i < 0) continue;
    const b = live[i];
    if (r < 0.85) {
      lines.push(`free ${b.name}`);
      used -= b.size;
      live.splice(i, 1);
    } else if (r < 0.93 && !b.pinned && used + size - b.size < capacity * 0.8) {
      lines.push(`resize ${b.name} ${size}`);
      used += size - b.size;
      b.size = size;
    } else if (r >= 0.93) {
      lines.push(`${b.pinned ? 'unpin' : 'pin'} ${b.name}`);
      b.pinned = !b.pinned;
    }
  }
  return `${lines.join('\n')}\n`;
}
