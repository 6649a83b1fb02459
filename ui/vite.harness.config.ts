// Builds the Chromium test harness (the fake shell + mockIPC) as one classic script that the browser
// tests inject with page.addInitScript before the built app in ui/dist loads.
import { defineConfig } from 'vite';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'browser/.build',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    lib: {
      entry: 'browser/harness.ts',
      formats: ['iife'],
      name: 'AdviclyHarness',
      fileName: () => 'harness.js',
    },
  },
});
