import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(import.meta.dirname, '../../bin/phala-bridge.js');

function run(args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('phala-bridge CLI', () => {
  it('prints its version and help', () => {
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = run(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['config', 'keys', 'envelope']) expect(help.stdout).toContain(command);
    expect(run(['envelope', 'seal', '--help']).stdout).toContain('--purpose');
  });

  it('exits 2 with usage on unknown commands and bad flags', () => {
    const unknown = run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage');
    const badFlag = run(['keys', 'generate', '--nope']);
    expect(badFlag.code).toBe(2);
    expect(run(['envelope', 'seal', '--to', '0x12', '--purpose', 'output']).code).toBe(2);
    expect(run(['envelope', 'seal', '--to', `0x${'11'.repeat(32)}`, '--purpose', 'banana']).code).toBe(2);
  });

  it('keys generate + envelope seal/open round-trip; a wrong context exits 1', () => {
    const keys = JSON.parse(run(['keys', 'generate']).stdout) as {
      x25519: { secretKey: string; publicKey: string };
    };
    const sealed = run(
      ['envelope', 'seal', '--to', keys.x25519.publicKey, '--purpose', 'request', '--context', '0xbeef'],
      'secret input',
    );
    expect(sealed.code).toBe(0);
    expect(sealed.stdout.trim()).toMatch(/^0x01[0-9a-f]+$/);
    const opened = run(
      ['envelope', 'open', '--key', keys.x25519.secretKey, '--purpose', 'request', '--context', '0xbeef'],
      sealed.stdout,
    );
    expect(opened.code).toBe(0);
    expect(opened.stdout).toBe('secret input');
    const wrong = run(
      ['envelope', 'open', '--key', keys.x25519.secretKey, '--purpose', 'request', '--context', '0xbeee'],
      sealed.stdout,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Cannot open envelope');
    expect(wrong.stdout).toBe('');
  });

  it('config check prints the resolved config with secrets masked, and rejects a broken file by field path', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-'));
    const good = path.join(dir, 'good.yaml');
    writeFileSync(
      good,
      `chains:\n  - kind: evm\n    name: local\n    chainId: 31337\n    rpcUrl: http://127.0.0.1:8545\n    gateway: "0x${'11'.repeat(20)}"\n    signer: { env: PB_CLI_SIGNER }\nadmin:\n  token: { env: PB_CLI_ADMIN_TOKEN }\n`,
    );
    const env = { PB_CLI_SIGNER: '0xsupersecret', PB_CLI_ADMIN_TOKEN: 'admin-token-not-to-print' };
    const ok = run(['config', 'check', good], undefined, env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('[secret from env PB_CLI_SIGNER]');
    expect(ok.stdout).not.toContain('supersecret');
    expect(ok.stdout).not.toContain('admin-token-not-to-print');
    // A production config without an admin token is refused, naming the field.
    const tokenless = path.join(dir, 'tokenless.yaml');
    writeFileSync(tokenless, readFileSync(good, 'utf8').replace(/admin:\n.*\n$/, ''));
    const refused = run(['config', 'check', tokenless], undefined, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('admin.token');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, `chains:\n  - kind: evm\n    name: local\n    chainId: zero\n`);
    const rejected = run(['config', 'check', bad]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('chains.0.chainId');
    expect(rejected.stderr).toContain('chains.0.rpcUrl');
  });
});
