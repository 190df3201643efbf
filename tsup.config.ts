import { resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';

/**
 * Subpath entries (handle-heap/webgpu) import the library through its public entry
 * (`../index.js`); in the build that import becomes `handle-heap` itself, so a program that
 * uses both loads one copy of the classes (instanceof and the error classes agree).
 */
const libraryAsPackage: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'library-as-package',
  setup(build) {
    const entry = resolve('src/index.ts');
    build.onResolve({ filter: /\/index\.js$/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
      return target === entry ? { path: 'handle-heap', external: true } : undefined;
    });
  },
};

const common: Options = {
  sourcemap: true,
  target: 'es2022',
};

/**
 * Programs: ESM only, a shebang, no declarations; `bin` in package.json points at them. Each
 * key is an output name (`cli` -> dist/cli.js), kept by the library build's clean.
 */
const programs: Record<string, string> = { cli: 'src/cli/main.ts' };

// One config per kind of output; tsup builds them side by side into the same folder.
export default defineConfig([
  {
    ...common,
    name: 'library',
    entry: { index: 'src/index.ts', webgpu: 'src/webgpu/index.ts', webgl: 'src/webgl/index.ts' },
    format: ['esm', 'cjs'],
    esbuildPlugins: [libraryAsPackage],
    // TypeScript 6 deprecates `baseUrl`, which tsup's declaration step sets (TOOLCHAIN.md pitfall 1).
    // `@internal` members (the engine behind the public classes) stay out of the declarations.
    dts: { compilerOptions: { ignoreDeprecations: '6.0', stripInternal: true } },
    // Empties the folder first, except the programs, which build at the same time.
    clean: Object.keys(programs).flatMap((name) => [`!${name}.js`, `!${name}.js.map`]),
  },
  {
    ...common,
    name: 'programs',
    entry: programs,
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
