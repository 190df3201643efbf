import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          // *.browser.test.ts files use Web Workers or WebGPU and run in the browser project only.
          exclude: ['test/**/*.browser.test.ts'],
        },
      },
      {
        extends: true,
        // SharedArrayBuffer needs cross-origin isolation (TOOLCHAIN.md pitfall 5).
        server: {
          headers: {
            'Cross-Origin-Opener-Policy': 'same-origin',
            'Cross-Origin-Embedder-Policy': 'require-corp',
          },
        },
        test: {
          name: 'browser',
          include: ['test/**/*.test.ts'],
          // *.node.test.ts files use Node APIs (child_process, fs) and run in the node project only.
          exclude: ['test/**/*.node.test.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: {
                executablePath: chromiumPath,
                args: [
                  '--no-sandbox',
                  // WebGPU runs on Chromium's own SwiftShader (a CPU Vulkan device), also with
                  // --disable-gpu; without --enable-unsafe-webgpu there is no adapter on Linux.
                  '--enable-unsafe-webgpu',
                  '--disable-gpu',
                  '--disable-dev-shm-usage',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
