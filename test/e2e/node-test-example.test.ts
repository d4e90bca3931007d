import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * phala-bridge/testing promises runner-agnostic helpers: the copyable example runs under
 * node:test as a user would run it (a child process, the package's own exports).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('examples/greeter.node-test.ts under node:test', () => {
  it('starts a devnet, gets both answers, stops, and reports every test passed', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // The package's `phala-bridge-source` export condition: the repo's sources, not a build.
      [
        '--conditions=phala-bridge-source',
        '--import',
        'tsx',
        '--test',
        '--test-reporter=tap',
        'examples/greeter.node-test.ts',
      ],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/^# tests 2$/m);
    expect(stdout).toMatch(/^# pass 2$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  }, 300_000);
});
