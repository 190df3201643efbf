// Vite config of the WebGPU example (`npm run example:webgpu`). The page imports the library
// from ../../src, so the dev server may read the whole repository. WebGPU needs a secure
// context: http://localhost is one; no cross-origin isolation headers are needed.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  server: { fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] } },
  // Pre-bundled at start-up: found later, it would make the dev server reload the page once.
  optimizeDeps: { include: ['async-mutex'] },
});
