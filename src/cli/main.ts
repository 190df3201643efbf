/**
 * `handle-heap`, the command: reads the command line and the trace, runs the report, prints it.
 * Exit status 0 when done, 1 when the heap ran out of memory, 2 for bad usage or a bad trace
 * (one message on stderr, nothing on stdout).
 */
import { readFileSync } from 'node:fs';
import { USAGE, UsageError, parseCommandLine, type ReplayCommand } from './args.js';
import { formatJson, formatOutOfMemory, formatOutOfMemoryJson, formatText } from './format.js';
import { parseTrace } from './parse.js';
import { ProgressBar } from './progress.js';
import { buildReport } from './report.js';
import { TraceError } from './trace.js';

const EXIT_OK = 0;
const EXIT_OUT_OF_MEMORY = 1;
const EXIT_BAD_INPUT = 2;

function main(argv: readonly string[]): number {
  try {
    const command = parseCommandLine(argv);
    if (command.command === 'help') {
      process.stdout.write(USAGE);
      return EXIT_OK;
    }
    return replayCommand(command);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`handle-heap: ${error.message}\nRun "handle-heap --help" for usage.\n`);
      return EXIT_BAD_INPUT;
    }
    if (error instanceof TraceError) {
      process.stderr.write(`handle-heap: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
}

function replayCommand(command: ReplayCommand): number {
  const trace = parseTrace(readTrace(command.file), command.file);
  const bar = new ProgressBar(process.stderr);
  let outcome;
  try {
    outcome = buildReport(trace, command, (label, fraction) => bar.update(label, fraction));
  } finally {
    bar.end();
  }
  if (!outcome.ok) {
    process.stderr.write(`handle-heap: ${formatOutOfMemory(outcome.outOfMemory)}\n`);
    if (command.json) process.stdout.write(formatOutOfMemoryJson(outcome.outOfMemory));
    return EXIT_OUT_OF_MEMORY;
  }
  process.stdout.write(command.json ? formatJson(outcome.report) : formatText(outcome.report));
  return EXIT_OK;
}

/** The file's text. @throws TraceError naming the file when it cannot be read. */
function readTrace(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a trace file'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot read: ${(error as Error).message}`;
    throw new TraceError(file, 0, problem);
  }
}

// Set, not process.exit(): stdout to a pipe is written asynchronously and must drain first.
process.exitCode = main(process.argv.slice(2));
