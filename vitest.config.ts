import { defineConfig } from 'vitest/config';

// `phala-bridge-source` (package.json exports): `import 'phala-bridge/…'` in the repo's own tests
// and examples means the TypeScript sources, never a stale dist/.
const conditions = ['phala-bridge-source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['phala-bridge-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['test/faults/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
