import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, applyEnvOverrides, loadConfig, parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import {
  DstackPlatform,
  GraminePlatform,
  TdxPlatform,
  createTeePlatform,
  platformConfigFrom,
} from '../../src/pruntime/enclave/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-config-'));
const evm = {
  kind: 'evm',
  name: 'local',
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  gateway: `0x${'11'.repeat(20)}`,
};
// Production needs an admin token (docs/operations.md#admin-api).
const adminTokenFile = path.join(dir, 'admin-token');
writeFileSync(adminTokenFile, 'test-admin-token-0123456789');
const admin = { token: { file: adminTokenFile } };

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('selects every TEE quote provider for a role, secrets revealed only to the platform', () => {
    const sealingFile = path.join(dir, 'tdx-sealing');
    writeFileSync(sealingFile, `0x${'5e'.repeat(32)}`);
    const providers = [
      [{ provider: 'sgx-gramine' }, GraminePlatform],
      [{ provider: 'gramine', devicePath: '/dev/attestation' }, GraminePlatform],
      [{ provider: 'tdx', sealingSecret: { file: sealingFile } }, TdxPlatform],
      [{ provider: 'dstack', socketPath: '/run/dstack.sock' }, DstackPlatform],
    ] as const;
    for (const [attestation, platformClass] of providers) {
      const config = parseConfig(
        { chains: [evm], admin, gatekeeper: { dataDir: '/tmp/gk', attestation } },
        'test',
        {},
      );
      const section = config.gatekeeper!.attestation!;
      expect(section.provider).toBe(attestation.provider);
      expect(inspect(section)).not.toContain('5e5e');
      expect(createTeePlatform(platformConfigFrom(section))).toBeInstanceOf(platformClass);
    }
    expect(
      issuesOf(() =>
        parseConfig(
          { chains: [evm], admin, gatekeeper: { dataDir: '/tmp/gk', attestation: { provider: 'sev' } } },
          'test',
          {},
        ),
      ).some((i) => i.startsWith('gatekeeper.attestation.provider:')),
    ).toBe(true);
  });

  it('fills production defaults', () => {
    const config = parseConfig({ chains: [evm], admin }, 'test', {});
    expect(config.mode).toBe('production');
    expect(config.redis.prefix).toBe('phala-bridge');
    expect(config.chains[0]).toMatchObject({ confirmations: 2, batch: { maxSize: 32 } });
    // The relayer's queue locks default to the worker service's (docs/operations.md#configuration).
    expect(config.queues).toMatchObject({ lockDurationMs: 30_000, stalledIntervalMs: 15_000 });
  });

  it('still loads a file that sets the deprecated queues.resultTimeoutMs, which nothing reads', () => {
    const config = parseConfig({ chains: [evm], admin, queues: { resultTimeoutMs: 60_000 } }, 'test', {});
    expect(config.queues).toMatchObject({ resultTimeoutMs: 60_000, lockDurationMs: 30_000 });
  });

  it('names every bad field by its path in one error', () => {
    const issues = issuesOf(() =>
      parseConfig(
        {
          chains: [{ ...evm, chainId: 'x', rpcUrl: 'nope' }, { kind: 'solana' }],
          redis: { url: 'http://x' },
          extra: 1,
        },
        'test',
        {},
      ),
    );
    expect(issues.some((i) => i.startsWith('chains.0.chainId:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('chains.0.rpcUrl:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('chains.1.kind:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('redis.url:'))).toBe(true);
    expect(issues.some((i) => i.includes('extra'))).toBe(true);
  });

  it('applies PHALA_BRIDGE_* overrides by path and ignores unrelated variables', () => {
    const env = {
      PHALA_BRIDGE_REDIS__URL: 'redis://10.0.0.1:6380',
      PHALA_BRIDGE_CHAINS__0__MAX_BLOCK_RANGE: '500',
      PHALA_BRIDGE_SHARED: '/somewhere',
      PHALA_BRIDGE_MODE: 'development',
    };
    const config = parseConfig({ chains: [evm] }, 'test', env);
    expect(config.redis.url).toBe('redis://10.0.0.1:6380');
    expect(config.chains[0]).toMatchObject({ maxBlockRange: 500 });
    expect(config.mode).toBe('development');
    expect(applyEnvOverrides({}, { PHALA_BRIDGE_SHARED: 'x' })).toEqual({});
  });

  it('resolves secrets from env and files and never prints them', () => {
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, '0xfile-secret\n');
    process.env.PB_TEST_SIGNER = '0xenv-secret';
    const config = parseConfig(
      { chains: [{ ...evm, signer: { env: 'PB_TEST_SIGNER' } }], admin: { token: { file: keyFile } } },
      'test',
      {},
    );
    const signer = (config.chains[0] as { signer: Secret }).signer;
    expect(signer).toBeInstanceOf(Secret);
    expect(signer.reveal()).toBe('0xenv-secret');
    expect(config.admin.token?.reveal()).toBe('0xfile-secret');
    const printed = JSON.stringify(config) + inspect(config, { depth: 10 }) + String(signer);
    expect(printed).not.toContain('env-secret');
    expect(printed).not.toContain('file-secret');
    expect(printed).toContain('[secret from env PB_TEST_SIGNER]');
  });

  it('refuses inline secrets and simulated attestation in production', () => {
    const issues = issuesOf(() =>
      parseConfig(
        {
          chains: [{ ...evm, signer: { value: '0xabc' } }],
          gatekeeper: { dataDir: '/tmp/gk', simPlatformCas: [`0x${'22'.repeat(32)}`] },
        },
        'test',
        {},
      ),
    );
    expect(issues.some((i) => i.startsWith('chains.0.signer:') && i.includes('inline'))).toBe(true);
    expect(issues.some((i) => i.startsWith('gatekeeper.simPlatformCas:'))).toBe(true);
    const dev = parseConfig(
      {
        mode: 'development',
        chains: [{ ...evm, signer: { value: '0xabc' } }],
        gatekeeper: { dataDir: '/tmp/gk', simPlatformCas: [`0x${'22'.repeat(32)}`] },
      },
      'test',
      {},
    );
    expect(dev.gatekeeper?.simPlatformCas).toHaveLength(1);
    const overridden = parseConfig(
      {
        chains: [evm],
        admin,
        gatekeeper: {
          dataDir: '/tmp/gk',
          simPlatformCas: [`0x${'22'.repeat(32)}`],
          allowSimInProduction: true,
        },
      },
      'test',
      {},
    );
    expect(overridden.gatekeeper?.allowSimInProduction).toBe(true);
  });

  it('reports a missing secret variable and unreadable or broken files', () => {
    expect(
      issuesOf(() =>
        parseConfig({ chains: [{ ...evm, signer: { env: 'PB_TEST_MISSING_VAR' } }] }, 'test', {}),
      ),
    ).toEqual(['chains.0.signer: environment variable PB_TEST_MISSING_VAR is not set']);
    expect(issuesOf(() => loadConfig(path.join(dir, 'absent.yaml'), {}))[0]).toContain('cannot read file');
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'chains: [\n');
    expect(issuesOf(() => loadConfig(broken, {}))[0]).toContain('not valid YAML');
  });

  it('loads YAML and JSON files alike', () => {
    const yamlFile = path.join(dir, 'ok.yaml');
    writeFileSync(
      yamlFile,
      `mode: development\nchains:\n  - kind: phala\n    name: phala\n    wsUrl: ws://127.0.0.1:9944\n`,
    );
    const jsonFile = path.join(dir, 'ok.json');
    writeFileSync(
      jsonFile,
      JSON.stringify({
        mode: 'development',
        chains: [{ kind: 'phala', name: 'phala', wsUrl: 'ws://127.0.0.1:9944' }],
      }),
    );
    expect(loadConfig(yamlFile, {})).toEqual(loadConfig(jsonFile, {}));
  });
});
