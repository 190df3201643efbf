/**
 * The command line of `handle-heap`, read with Node's `util.parseArgs`: `replay <trace>` and
 * its options, checked, or a UsageError saying what is wrong.
 */
import { parseArgs } from 'node:util';
import type { PlacementStrategy } from '../index.js';

export const USAGE = `Usage: handle-heap replay <trace> [--size N] [--strategy first-fit|best-fit] [--align N] [--json]

Replays an allocation trace (wee_alloc "Alloc(n)," / "Free(i)," lines, or a CS:APP
malloc-lab .rep file) into a handle-heap MemoryManager, and reports its peak live bytes, the
smallest heap that runs it (found by bisection unless --size is given), compactions, bytes
moved, throughput, fragmentation over time and a map of the heap at the peak.

Options:
  --size N        replay into a heap of N bytes instead of searching for the smallest
  --strategy S    placement: first-fit (default) or best-fit
  --align N       block alignment, a power of two from 1 to 2^30 (default 8)
  --json          print one JSON object instead of text
  -h, --help      print this help

Exit status: 0 done; 1 the heap ran out of memory (--size too small); 2 bad usage or a bad
trace (missing file, unknown format, bad line, unknown id).
`;

export interface ReplayCommand {
  command: 'replay';
  file: string;
  size: number | undefined;
  strategy: PlacementStrategy;
  align: number;
  json: boolean;
}

export type Command = ReplayCommand | { command: 'help' };

/** Bad command line: the message says what, and the tool exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const MAX_ALIGN = 2 ** 30;
const MAX_SIZE = 2 ** 32 - 1;

/** Reads `argv` (without the node and script paths). @throws UsageError */
export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        size: { type: 'string' },
        strategy: { type: 'string', default: 'first-fit' },
        align: { type: 'string', default: '8' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, file, ...rest] = positionals;
  if (command !== 'replay') {
    throw new UsageError(
      command === undefined
        ? 'missing command: replay'
        : `unknown command ${JSON.stringify(command)}`,
    );
  }
  if (file === undefined) throw new UsageError('missing <trace>: the trace file to replay');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const strategy = values.strategy;
  if (strategy !== 'first-fit' && strategy !== 'best-fit') {
    throw new UsageError(
      `--strategy must be first-fit or best-fit, not ${JSON.stringify(strategy)}`,
    );
  }
  const align = integer('--align', values.align);
  if (align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
    throw new UsageError(`--align must be a power of two from 1 to 2^30, not ${align}`);
  }
  let size: number | undefined;
  if (values.size !== undefined) {
    size = integer('--size', values.size);
    if (size < align || size > MAX_SIZE) {
      throw new UsageError(
        `--size must be from the alignment (${align}) to 2^32 - 1 bytes, not ${size}`,
      );
    }
  }
  return { command: 'replay', file, size, strategy, align, json: values.json };
}

function integer(option: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${option} must be a whole number, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}
