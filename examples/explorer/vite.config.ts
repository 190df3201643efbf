// Vite config of the heap explorer (`npm run explorer`). The page imports the library from
// ../../src, so the dev server may read the whole repository; nothing is fetched from a network.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repository = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  server: { fs: { allow: [repository] } },
  // Its own cache, apart from the one vitest's browser project keeps in node_modules/.vite.
  cacheDir: fileURLToPath(new URL('../../node_modules/.vite/explorer', import.meta.url)),
  // Pre-bundled at start-up: found later, it would make the dev server reload the page once.
  optimizeDeps: { include: ['async-mutex'] },
});
