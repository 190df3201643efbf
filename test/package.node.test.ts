// Proves the published artifact works: build, pack, install the tarball into an empty project, then
// use it through `import` and `require` and type-check a consumer against its declarations.
// Node-only (child processes, file system): the browser project excludes *.node.test.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tscBin = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const STEP_TIMEOUT_MS = 180_000;

// `npm test` exports npm_package_* / npm_lifecycle_* / prefix variables; a nested npm must not
// mistake the repo for the project it works on.
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (k.startsWith('npm_package_') || k.startsWith('npm_lifecycle_')) continue;
    if (k === 'npm_config_prefix' || k === 'npm_config_local_prefix') continue;
    env[key] = value;
  }
  return env;
}

async function sh(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, {
      cwd,
      env: childEnv(),
      timeout: STEP_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${file} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
      { cause: error },
    );
  }
}

let workDir = '';
let consumerDir = '';
let installedDir = '';

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'handle-heap-pack-'));
  const stageDir = join(workDir, 'stage');
  consumerDir = join(workDir, 'consumer');
  installedDir = join(consumerDir, 'node_modules', 'handle-heap');

  // Build into a staging copy rather than the repo's dist/, so this test never races with
  // anything else reading dist/ and leaves no .tgz in the repo.
  await sh('npm', ['run', 'build', '--', '--out-dir', join(stageDir, 'dist')], repoRoot);
  for (const name of await readdir(repoRoot)) {
    if (name === 'package.json' || /^(readme|license|licence|changelog)(\.|$)/i.test(name)) {
      await copyFile(join(repoRoot, name), join(stageDir, name));
    }
  }
  const { stdout: packOut } = await sh(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir],
    stageDir,
  );
  const packed = JSON.parse(packOut) as Array<{ filename: string }>;
  const tarball = join(workDir, packed[0]?.filename ?? 'missing.tgz');
  expect(existsSync(tarball), `tarball ${tarball} exists`).toBe(true);

  await mkdir(consumerDir, { recursive: true });
  await writeFile(
    join(consumerDir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }, null, 2),
  );
  await sh('npm', ['install', tarball, '--no-audit', '--no-fund'], consumerDir);
}, 4 * STEP_TIMEOUT_MS);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const usage = `
  const mm = new MemoryManager(1024);
  const h = mm.allocSync(16);
  mm.write(h, [1, 2, 3]);
  console.log(JSON.stringify({ entry: RESOLVED, read: Array.from(mm.read(h, 0, 3)) }));
`;

function parseLastLine(stdout: string): { entry: string; read: number[] } {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as { entry: string; read: number[] };
}

describe('packed tarball', () => {
  it('contains only the built files, package.json and docs', async () => {
    const files = await readdir(installedDir);
    for (const name of files) {
      expect(name).toMatch(/^(dist|package\.json|readme.*|license.*|licence.*|changelog.*)$/i);
    }
    const dist = await readdir(join(installedDir, 'dist'));
    expect(dist).toEqual(
      expect.arrayContaining(['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']),
    );
    expect(files.map((name) => name.toLowerCase())).toContain('license');
  });

  it('installs its one runtime dependency, async-mutex', () => {
    expect(existsSync(join(consumerDir, 'node_modules', 'async-mutex', 'package.json'))).toBe(true);
  });

  it('works through import (ESM entry)', async () => {
    const code =
      `import { MemoryManager } from 'handle-heap';\n` +
      usage.replace('RESOLVED', `import.meta.resolve('handle-heap')`);
    const { stdout } = await sh(process.execPath, ['--input-type=module', '-e', code], consumerDir);
    const result = parseLastLine(stdout);
    expect(result.entry).toMatch(/node_modules\/handle-heap\/dist\/index\.js$/);
    expect(result.read).toEqual([1, 2, 3]);
  });

  it('handle-heap/webgpu loads in Node (no GPU needed until a pool is made) and shares the one library', async () => {
    const esm =
      `import { GpuPool, GpuMover } from 'handle-heap/webgpu';\n` +
      `console.log(JSON.stringify([typeof GpuPool, typeof GpuMover, import.meta.resolve('handle-heap/webgpu')]));`;
    const { stdout } = await sh(process.execPath, ['--input-type=module', '-e', esm], consumerDir);
    const [pool, mover, entry] = JSON.parse(stdout.trim()) as string[];
    expect([pool, mover]).toEqual(['function', 'function']);
    expect(entry).toMatch(/node_modules\/handle-heap\/dist\/webgpu\.js$/);
    const cjs = `const w = require('handle-heap/webgpu'); console.log(typeof w.GpuPool);`;
    expect((await sh(process.execPath, ['-e', cjs], consumerDir)).stdout.trim()).toBe('function');
    // The subpath imports the library by its name, so a program holds one copy of its classes.
    for (const file of ['webgpu.js', 'webgpu.cjs']) {
      const code = await readFile(join(installedDir, 'dist', file), 'utf8');
      expect(code).toMatch(/from "handle-heap"|require\("handle-heap"\)/);
      expect(code).not.toMatch(/class OffsetHeap|class MemoryManagerError/);
    }
    const types = await readFile(join(installedDir, 'dist', 'webgpu.d.ts'), 'utf8');
    expect(types).toMatch(/declare class GpuPool\b/);
    const gl = `import { GlPool } from 'handle-heap/webgl'; console.log(typeof GlPool);`;
    const glOut = await sh(process.execPath, ['--input-type=module', '-e', gl], consumerDir);
    expect(glOut.stdout.trim()).toBe('function');
    const glCode = await readFile(join(installedDir, 'dist', 'webgl.js'), 'utf8');
    expect(glCode).toMatch(/from "handle-heap"/);
  });

  it('works through require (CommonJS entry)', async () => {
    const code =
      `const { MemoryManager } = require('handle-heap');\n` +
      usage.replace('RESOLVED', `require.resolve('handle-heap')`);
    const { stdout } = await sh(process.execPath, ['-e', code], consumerDir);
    const result = parseLastLine(stdout);
    expect(result.entry).toMatch(/node_modules\/handle-heap\/dist\/index\.cjs$/);
    expect(result.read).toEqual([1, 2, 3]);
  });

  it.each(['index.d.ts', 'index.d.cts'])('%s declares and exports MemoryManager', async (file) => {
    const text = await readFile(join(installedDir, 'dist', file), 'utf8');
    expect(text).toMatch(/declare class MemoryManager\b/);
    // After the imports of the declarations it shares with handle-heap/webgpu, it opens with a
    // public declaration and its doc comment, not an internal module's header.
    const body = text.replace(/^((import|export) [^\n]* from '[^']*';\n)*\n?/, '');
    expect(body).toMatch(/^\/\*\*[^\n]*\*\/\n(type|interface|declare) /);
    expect(text).toMatch(
      /export\s*\{[^}]*\bMemoryManager\b[^}]*\}|export declare class MemoryManager\b/,
    );
  });

  it.each(['node16', 'nodenext'])(
    'types resolve for ESM and CommonJS consumers (module %s)',
    async (mode) => {
      const body = `
const mm = new MemoryManager(1024);
const h = mm.allocSync(16);
mm.write(h, [1, 2, 3]);
const bytes = mm.read(h, 0, 3);
// @ts-expect-error -- proves MemoryManager is typed, not any
mm.noSuchMethodOnMemoryManager();
export const firstByte: unknown = bytes;
`;
      await writeFile(
        join(consumerDir, 'esm.mts'),
        `import { MemoryManager } from 'handle-heap';\n${body}`,
      );
      await writeFile(
        join(consumerDir, 'cjs.cts'),
        `import { MemoryManager } from 'handle-heap';\n${body}`,
      );
      const { stdout } = await sh(
        process.execPath,
        [
          tscBin,
          '--noEmit',
          '--strict',
          '--target',
          'es2022',
          '--lib',
          'es2024,dom',
          '--module',
          mode,
          '--moduleResolution',
          mode,
          '--listFiles',
          'esm.mts',
          'cjs.cts',
        ],
        consumerDir,
      );
      // Each consumer must reach the declaration file of its own condition.
      expect(stdout).toMatch(/node_modules\/handle-heap\/dist\/index\.d\.ts\b/);
      expect(stdout).toMatch(/node_modules\/handle-heap\/dist\/index\.d\.cts\b/);
    },
    STEP_TIMEOUT_MS,
  );
});
