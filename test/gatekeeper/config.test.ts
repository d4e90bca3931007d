import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { gatekeeperSetup } from '../../src/gatekeeper/service/from-config.js';

/** The `gatekeeper` configuration section and what a gatekeeper needs from it. */

const phala = { kind: 'phala', name: 'phala', wsUrl: 'ws://127.0.0.1:9944' };
const evm = {
  kind: 'evm',
  name: 'sepolia',
  chainId: 11155111,
  rpcUrl: 'http://127.0.0.1:8545',
  gateway: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
};
const sim = {
  provider: 'sim',
  platformCaKey: { value: `0x${'ca'.repeat(32)}` },
  platformSecret: { env: 'GK_TEST_SECRET' },
};
const env = { GK_TEST_SECRET: `0x${'51'.repeat(32)}` };

// Secret sources resolve from the process environment.
beforeAll(() => {
  process.env.GK_TEST_SECRET = env.GK_TEST_SECRET;
});
afterAll(() => {
  delete process.env.GK_TEST_SECRET;
});

describe('gatekeeper configuration', () => {
  it('defaults, secrets that never print, and the EVM gateways from the chains', () => {
    const config = parseConfig(
      { mode: 'development', chains: [phala, evm], gatekeeper: { dataDir: '/tmp/gk', attestation: sim } },
      'test',
      env,
    );
    expect(config.gatekeeper).toMatchObject({ backupDelayMs: 10_000, peerMeasurements: [], threshold: 1 });
    expect(JSON.stringify(config)).not.toContain('51'.repeat(32));
    const setup = gatekeeperSetup(config);
    expect(setup.chain.name).toBe('phala');
    expect(setup.evmGateways).toEqual([{ chainId: 11155111, verifyingContract: evm.gateway }]);
    expect(setup.policy).toMatchObject({
      mode: 'development',
      quoteMaxAgeSeconds: 86_400,
      acceptTcbStatuses: ['UpToDate'],
    });
  });

  it('production refuses a sim gatekeeper unless allowSimInProduction says so', () => {
    const production = (gatekeeper: object) =>
      parseConfig(
        {
          chains: [phala],
          admin: { token: { env: 'GK_TEST_SECRET' } }, // production needs one (docs/operations.md#admin-api)
          gatekeeper: { dataDir: '/tmp/gk', ...gatekeeper },
        },
        'test',
        env,
      );
    const refused = (() => {
      try {
        production({ attestation: { ...sim, platformCaKey: { env: 'GK_TEST_SECRET' } } });
      } catch (error) {
        return error as ConfigError;
      }
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    expect(refused!.issues).toContainEqual({
      path: 'gatekeeper.attestation.provider',
      message: 'production mode refuses the sim attestation provider',
    });
    const allowed = production({
      attestation: { ...sim, platformCaKey: { env: 'GK_TEST_SECRET' } },
      allowSimInProduction: true,
    });
    expect(allowed.gatekeeper?.attestation?.provider).toBe('sim');
    expect(production({ attestation: { provider: 'gramine' } }).gatekeeper?.attestation).toEqual({
      provider: 'gramine',
      devicePath: '/dev/attestation',
    });
  });

  it('names what is missing: the section, the attestation, the chain', () => {
    const dev = (raw: object) => parseConfig({ mode: 'development', ...raw }, 'test', env);
    expect(() => gatekeeperSetup(dev({ chains: [phala] }))).toThrow(/No gatekeeper section/);
    expect(() => gatekeeperSetup(dev({ chains: [phala], gatekeeper: { dataDir: '/x' } }))).toThrow(
      /gatekeeper.attestation is required/,
    );
    expect(() =>
      gatekeeperSetup(dev({ chains: [evm], gatekeeper: { dataDir: '/x', attestation: sim } })),
    ).toThrow(/0 chains of kind phala/);
    const two = dev({
      chains: [phala, { ...phala, name: 'phala2' }],
      gatekeeper: { dataDir: '/x', attestation: sim },
    });
    expect(() => gatekeeperSetup(two)).toThrow(/name one in gatekeeper.chain/);
    expect(gatekeeperSetup({ ...two, gatekeeper: { ...two.gatekeeper!, chain: 'phala2' } }).chain.name).toBe(
      'phala2',
    );
    expect(() => dev({ chains: [phala], gatekeeper: { dataDir: '/x', peerMeasurements: ['0x12'] } })).toThrow(
      ConfigError,
    );
  });
});
