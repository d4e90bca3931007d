import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(import.meta.dirname, '../../bin/phala-bridge.js');

function run(args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('phala-bridge relay-devnet', () => {
  it('documents its options and exits 2 on bad ones', () => {
    const help = run(['relay-devnet', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--data-dir',
      '--relay-port',
      '--phala-port',
      '--sibling-port',
      '--block-time',
      '--json',
    ])
      expect(help.stdout).toContain(flag);
    const badPort = run(['relay-devnet', '--relay-port', 'ninety']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--relay-port must be a whole number');
    expect(run(['relay-devnet', '--block-time', '0']).code).toBe(2);
  });
});
