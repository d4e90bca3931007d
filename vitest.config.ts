import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `phala-bridge-source` (package.json exports): `import 'phala-bridge/…'` in the repo's own tests
  // and examples means the TypeScript sources, never a stale dist/. Only added to Vite's own
  // server conditions: vitest hands them to its worker processes as node --conditions, where an
  // extra `import` would make require() pick packages' ES module builds.
  // The rest are Vite's defaultServerConditions, spelled out: vite is vitest's, not ours to import.
  ssr: { resolve: { conditions: ['phala-bridge-source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['test/faults/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
