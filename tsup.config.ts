import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // TypeScript 6 deprecates `baseUrl`, which tsup's declaration step sets (TOOLCHAIN.md pitfall 1).
  // `@internal` members (the engine behind the public classes) stay out of the declarations.
  dts: { compilerOptions: { ignoreDeprecations: '6.0', stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
