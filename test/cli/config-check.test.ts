import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFile, loadConfig } from '../../src/config/load.js';
import { SecretSourceError } from '../../src/config/secret.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/phala-bridge.js');
const example = path.join(root, 'deploy/production.yaml');
const credentials = '/run/credentials/phala-bridge.service/';
const SECRETS = [
  'evm-signer',
  'phala-signer',
  'sibling-signer',
  'redis-password',
  'admin-token',
  'gatekeeper-account',
];

function run(args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The example with its credentials directory moved to a temp dir (optionally holding the files). */
function exampleIn(withFiles: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-config-check-'));
  if (withFiles) for (const name of SECRETS) writeFileSync(path.join(dir, name), `value-of-${name}\n`);
  const file = path.join(dir, 'production.yaml');
  writeFileSync(file, readFileSync(example, 'utf8').replaceAll(credentials, `${dir}/`));
  return file;
}

describe('config check and deploy/production.yaml', { timeout: 120_000 }, () => {
  it('passes on a machine without its secret files, naming each unread secret on stderr', () => {
    const result = run(['config', 'check', example]);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(
      `valid: ${example} (production mode, 4 chains; ${SECRETS.length} secrets not read here)`,
    );
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^warning: /);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { mode: string; redis: { password: string; tls: boolean } };
    expect(printed.mode).toBe('production');
    expect(printed.redis.tls).toBe(true);
    expect(printed.redis.password).toBe(`[unread secret from file ${credentials}redis-password]`);
    for (const at of ['chains.0.signer', 'redis.password', 'admin.token', 'gatekeeper.account'])
      expect(result.stderr).toMatch(new RegExp(`^warning: ${at.replaceAll('.', '\\.')}: .*ENOENT`, 'm'));
    expect(lines).toHaveLength(SECRETS.length + 1);
  });

  it('--require-secrets refuses it where the files are missing, as starting a role would', () => {
    const result = run(['config', 'check', '--require-secrets', example]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('redis.password');
    expect(result.stderr).toContain('admin.token');
    expect(result.stdout).toBe('');
  });

  it('with the files present: no warning, secrets masked, and --require-secrets passes', () => {
    const file = exampleIn(true);
    const lenient = run(['config', 'check', file]);
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toBe(`valid: ${file} (production mode, 4 chains; every secret read)\n`);
    const strict = run(['config', 'check', '--require-secrets', file]);
    expect(strict.code).toBe(0);
    expect(strict.stderr).toContain('every secret read');
    expect(strict.stdout).not.toContain('value-of-');
    expect(strict.stdout).toContain('[secret from file ');
  });

  it('an unread secret never stands in for a schema error, and is never revealed', () => {
    const file = exampleIn(false);
    writeFileSync(file, readFileSync(file, 'utf8').replace('chainId: 1\n', 'chainId: one\n'));
    const broken = run(['config', 'check', file]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('chains.0.chainId');

    const { config, unreadSecrets } = checkConfigFile(exampleIn(false));
    expect(unreadSecrets.map((s) => s.path).sort()).toEqual([
      'admin.token',
      'chains.0.signer',
      'chains.1.signer',
      'chains.2.signer',
      'gatekeeper.account',
      'redis.password',
    ]);
    expect(() => config.redis.password?.reveal()).toThrow(SecretSourceError);
    // What every role loads with is unchanged: a missing secret refuses the file.
    expect(() => loadConfig(exampleIn(false))).toThrow(/redis\.password/);
  });
});
