import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { redactUrl } from '../../src/base/redact-url.js';
import { writeSecretFile, writeSecretFileSync } from '../../src/base/secret-file.js';
import { keccak256 } from '../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { devnetSecrets } from '../../src/devnet/orchestrator/secrets.js';
import { createLogger } from '../../src/log/logger.js';

/**
 * Secrets never reach a terminal, a log or a world-readable file: `config check` masks URL
 * passwords, the logger masks them in URL fields and error texts, every file holding a secret
 * is 0600 in a 0700 directory, and the devnet's sim platform CA key is its own per start.
 */
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/phala-bridge.js');
const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = (label: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pb-${label}-`));
  dirs.push(dir);
  return dir;
};
const modeOf = (file: string) => statSync(file).mode & 0o777;

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('URL passwords', () => {
  it('config check prints every URL with its userinfo masked', async () => {
    const file = path.join(tempDir('config'), 'relayer.json');
    writeFileSync(
      file,
      JSON.stringify({
        mode: 'development',
        redis: { url: 'redis://relayer:redis-pass-1@10.0.0.5:6379/0' },
        chains: [
          {
            kind: 'evm',
            name: 'evm',
            chainId: 1,
            rpcUrl: 'https://user:rpc-pass-2@rpc.example/v1',
            wsUrl: 'wss://user:ws-pass-3@rpc.example/ws',
            gateway: `0x${'11'.repeat(20)}`,
            signer: { value: '0xsigner-secret-4' },
          },
          { kind: 'phala', name: 'phala', wsUrl: 'wss://:phala-pass-5@phala.example' },
        ],
      }),
    );
    const { stdout } = await run(process.execPath, [bin, 'config', 'check', file]);
    for (const secret of ['redis-pass-1', 'rpc-pass-2', 'ws-pass-3', 'signer-secret-4', 'phala-pass-5'])
      expect(stdout).not.toContain(secret);
    const printed = JSON.parse(stdout);
    expect(printed.redis.url).toBe('redis://***@10.0.0.5:6379/0');
    expect(printed.chains[0]).toMatchObject({
      rpcUrl: 'https://***@rpc.example/v1',
      wsUrl: 'wss://***@rpc.example/ws',
      signer: '[secret from inline value]',
    });
    expect(printed.chains[1].wsUrl).toBe('wss://***@phala.example');
  });

  it('the logger masks them in URL fields and in error texts; text without userinfo is untouched', () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    logger.info({ url: 'redis://:log-pass-1@h:6379', endpoints: ['https://a:log-pass-2@b/c'] }, 'connecting');
    logger.error({ err: new Error('cannot reach wss://u:log-pass-3@node.example/ws') }, 'failed');
    logger.warn({ err: 'no answer from rediss://u:log-pass-4@cache:6380' }, 'failed');
    const text = lines.join('');
    for (const secret of ['log-pass-1', 'log-pass-2', 'log-pass-3', 'log-pass-4'])
      expect(text).not.toContain(secret);
    expect(text).toContain('redis://***@h:6379');
    expect(text).toContain('wss://***@node.example/ws');
    expect(redactUrl('http://127.0.0.1:8545 and user@example.com')).toBe(
      'http://127.0.0.1:8545 and user@example.com',
    );
  });
});

describe('secret files', () => {
  it('are written 0600, in a 0700 directory when it is the program’s own', async () => {
    const own = path.join(tempDir('secret'), 'data');
    mkdirSync(own, { mode: 0o755 });
    await writeSecretFile(path.join(own, 'sealed.bin'), new Uint8Array([1, 2, 3]), { privateDir: true });
    expect(modeOf(path.join(own, 'sealed.bin'))).toBe(0o600);
    expect(modeOf(own)).toBe(0o700);
    // A path the user chose: the file is private, the existing directory keeps its mode.
    const chosen = tempDir('chosen');
    writeFileSync(path.join(chosen, 'state.json'), 'old', { mode: 0o644 });
    const before = modeOf(chosen);
    writeSecretFileSync(path.join(chosen, 'state.json'), 'new');
    expect(modeOf(path.join(chosen, 'state.json'))).toBe(0o600);
    expect(readFileSync(path.join(chosen, 'state.json'), 'utf8')).toBe('new');
    expect(modeOf(chosen)).toBe(before);
    expect(readdirSync(chosen)).toEqual(['state.json']); // no temporary left behind
  });
});

describe('the devnet sim platform CA key', () => {
  const configFile = (dir: string) => path.join(dir, 'devnet.json');

  it('is new on every unseeded start, the same on every start with one seed, never the old constant', () => {
    const a = devnetSecrets({ configFile: configFile(tempDir('ca-a')) });
    const b = devnetSecrets({ configFile: configFile(tempDir('ca-b')) });
    expect(a.platformCaKey).not.toBe(b.platformCaKey);
    expect(a.workerPlatformSecret).not.toBe(b.workerPlatformSecret);
    expect(a.adminToken).not.toBe(b.adminToken);
    const seeded1 = devnetSecrets({ seed: 'tape-1', configFile: configFile(tempDir('ca-s1')) });
    const seeded2 = devnetSecrets({ seed: 'tape-1', configFile: configFile(tempDir('ca-s2')) });
    expect(seeded2).toEqual(seeded1);
    expect(
      devnetSecrets({ seed: 'tape-2', configFile: configFile(tempDir('ca-s3')) }).platformCaKey,
    ).not.toBe(seeded1.platformCaKey);
    const oldConstant = toHex(keccak256(utf8('phala-bridge/devnet/platform-ca')));
    for (const s of [a, b, seeded1]) {
      expect(s.platformCaKey).not.toBe(oldConstant);
      expect(s.platformCaKey).toMatch(/^0x[0-9a-f]{64}$/);
      expect(s.adminToken.length).toBeGreaterThanOrEqual(32);
    }
  });

  it('is kept from the devnet.json a previous start left in its data directory', () => {
    const dir = tempDir('ca-restart');
    const first = devnetSecrets({ configFile: configFile(dir) });
    writeSecretFileSync(
      configFile(dir),
      JSON.stringify({ gatekeeper: { attestation: { platformCaKey: { value: first.platformCaKey } } } }),
    );
    const again = devnetSecrets({ configFile: configFile(dir) });
    expect(again.platformCaKey).toBe(first.platformCaKey);
    expect(again.workerPlatformSecret).toBe(first.workerPlatformSecret);
    expect(again.gatekeeperPlatformSecret).toBe(first.gatekeeperPlatformSecret);
    expect(again.adminToken).not.toBe(first.adminToken); // the token is new on every start
    writeFileSync(configFile(dir), '{"gatekeeper":{}}');
    expect(() => devnetSecrets({ configFile: configFile(dir) })).toThrow(/platformCaKey/);
  });
});

describe('a devnet started with --data-dir (sim TEE)', () => {
  let devnet: Devnet | undefined;
  afterAll(async () => {
    await devnet?.stop();
  });

  it('writes devnet.json and the sealed files 0600 in 0700 directories; its admin API needs its token', async () => {
    const dataDir = path.join(tempDir('devnet'), 'data');
    devnet = await startDevnet({ dataDir, workers: 1, examples: false });
    expect(devnet.configFile).toBe(path.join(dataDir, 'devnet.json'));
    expect(modeOf(devnet.configFile)).toBe(0o600);
    expect(modeOf(dataDir)).toBe(0o700);
    const written = JSON.parse(readFileSync(devnet.configFile, 'utf8'));
    // The file holds this start's CA key, and the gatekeeper trusts exactly its public key.
    expect(written.gatekeeper.attestation.platformCaKey.value).toBe(devnet.simPlatform.caKey);
    expect(written.gatekeeper.simPlatformCas).toEqual([
      toHex(ed25519.getPublicKey(fromHex(devnet.simPlatform.caKey))),
    ]);
    expect(written.admin.token.value).toBe(devnet.relayer.admin.token);
    const sealedDirs = [path.join(dataDir, 'worker-0'), path.join(dataDir, 'gatekeeper')];
    for (const dir of sealedDirs) {
      expect(modeOf(dir)).toBe(0o700);
      const files = readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile());
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect([f, modeOf(path.join(dir, f))]).toEqual([f, 0o600]);
    }
    expect((await fetch(`${devnet.relayer.adminUrl}/jobs`)).status).toBe(401);
    const withToken = await fetch(`${devnet.relayer.adminUrl}/jobs`, {
      headers: { authorization: `Bearer ${devnet.relayer.admin.token}` },
    });
    expect(withToken.status).toBe(200);

    // The jobs CLI takes the token from the devnet's config (or the environment), never a flag.
    const env = { ...process.env, PHALA_BRIDGE_ADMIN_TOKEN: '' };
    const cli = (args: string[]) =>
      run(process.execPath, [bin, 'jobs', '--url', devnet!.relayer.adminUrl, ...args], { env });
    const listed = await cli(['-c', devnet.configFile, '--json', 'list']);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const refused = await cli(['list']).then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/HTTP 401.*PHALA_BRIDGE_ADMIN_TOKEN/);
  }, 180_000);
});
