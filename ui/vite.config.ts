// Vite config for the Advicly UI: builds ui/dist for the Tauri shell and runs the Vitest component tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Relative asset URLs work both under tauri://localhost and under the test static server.
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Everything is bundled; the webview never loads anything from the internet.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
