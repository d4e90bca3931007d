import { readFile } from 'node:fs/promises';
import type { Address } from 'viem';
import { fromHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import type { Config, GatekeeperConfig, PhalaChainConfig } from '../../config/schema.js';
import type { GatewayDomain } from '../../crypto/proofs.js';
import type { Logger } from '../../log/logger.js';
import { signerFromUri } from '../../phala/signers.js';
import type { AttestationPolicyInput } from '../attestation/index.js';
import { GatekeeperEnclave } from '../enclave/enclave.js';
import { createTeePlatform, platformConfigFrom } from '../../pruntime/enclave/platform.js';
import { createGatekeeperPlatform } from '../enclave/platform.js';
import { GatekeeperError } from '../errors.js';
import { type SupervisedGatekeeper, superviseGatekeeper } from './supervisor.js';

/**
 * From the configuration (src/config/schema.ts, section `gatekeeper`) to a running gatekeeper:
 * what `phala-bridge gatekeeper` does (docs/gatekeeper.md#configuration).
 */

export type GatekeeperSetup = {
  config: GatekeeperConfig;
  chain: PhalaChainConfig;
  evmGateways: GatewayDomain[];
  policy: AttestationPolicyInput;
};

/** Checks the configuration has what a gatekeeper needs; throws GatekeeperError naming what is missing. */
export function gatekeeperSetup(config: Config): GatekeeperSetup {
  const gk = config.gatekeeper;
  if (!gk)
    throw new GatekeeperError('No gatekeeper section in the configuration.', {
      docsPath: '/docs/gatekeeper.md#configuration',
    });
  if (!gk.attestation)
    throw new GatekeeperError('gatekeeper.attestation is required to run a gatekeeper.', {
      details: 'provider sim (platformCaKey, platformSecret), sgx-gramine, tdx or dstack',
      docsPath: '/docs/gatekeeper.md#configuration',
    });
  const phalaChains = config.chains.filter((c): c is PhalaChainConfig => c.kind === 'phala');
  const chain = gk.chain
    ? phalaChains.find((c) => c.name === gk.chain)
    : phalaChains.length === 1
      ? phalaChains[0]
      : undefined;
  if (!chain)
    throw new GatekeeperError('No Phala-style chain for the gatekeeper.', {
      details: gk.chain
        ? `no chain of kind phala is named ${gk.chain}`
        : `${phalaChains.length} chains of kind phala are configured; name one in gatekeeper.chain`,
    });
  const evmGateways = config.chains.flatMap((c) =>
    c.kind === 'evm' ? [{ chainId: c.chainId, verifyingContract: c.gateway as Address }] : [],
  );
  return {
    config: gk,
    chain,
    evmGateways,
    policy: {
      mode: config.mode,
      simPlatformCas: gk.simPlatformCas,
      allowSimInProduction: gk.allowSimInProduction,
      acceptTcbStatuses: gk.acceptTcbStatuses as AttestationPolicyInput['acceptTcbStatuses'],
      quoteMaxAgeSeconds: gk.quoteMaxAgeSeconds,
      measurementRules: gk.measurementRules as AttestationPolicyInput['measurementRules'],
      minTcbEvaluationDataNumber: gk.minTcbEvaluationDataNumber,
      requireQuoteFreshness: gk.requireQuoteFreshness,
    },
  };
}

/** Opens (or, the first time, creates) the gatekeeper's enclave from the configuration. */
export async function openGatekeeperEnclave(setup: GatekeeperSetup): Promise<GatekeeperEnclave> {
  const gk = setup.config;
  const attestation = gk.attestation!;
  const secretBytes = (what: string, value: string, min: number) => {
    try {
      const bytes = fromHex(value, what);
      if (bytes.length < min) throw new Error(`at least ${min} bytes`);
      return bytes;
    } catch (error) {
      throw new GatekeeperError(`gatekeeper.attestation.${what} must be hex bytes.`, {
        details: errorMessage(error),
      });
    }
  };
  const platform =
    attestation.provider === 'sim'
      ? createGatekeeperPlatform({
          provider: 'sim',
          platformCaKey: secretBytes('platformCaKey', attestation.platformCaKey.reveal(), 32),
          platformSecret: secretBytes('platformSecret', attestation.platformSecret.reveal(), 16),
        })
      : createTeePlatform(platformConfigFrom(attestation));
  let collateral: unknown;
  if (gk.collateralFile) {
    try {
      collateral = JSON.parse(await readFile(gk.collateralFile, 'utf8'));
    } catch (error) {
      throw new GatekeeperError('Cannot read gatekeeper.collateralFile.', {
        details: `${gk.collateralFile}: ${errorMessage(error)}`,
      });
    }
  }
  return GatekeeperEnclave.open({
    dataDir: gk.dataDir,
    platform,
    policy: setup.policy,
    registrationTtlSeconds: gk.registrationTtlSeconds,
    peerMeasurements: gk.peerMeasurements as `0x${string}`[],
    collateral,
  });
}

export type RunningGatekeeper = SupervisedGatekeeper;

export type StartGatekeeperOptions = {
  logger?: Logger;
  /** How long the chain connection may stay down before it is rebuilt (supervisor.ts; default 30 s). */
  reconnectTimeoutMs?: number;
};

/**
 * Opens the enclave and starts the service on its own supervised chain connection
 * (supervisor.ts). `stop()` stops it and closes the enclave.
 */
export async function startGatekeeperFromConfig(
  config: Config,
  options: StartGatekeeperOptions = {},
): Promise<RunningGatekeeper> {
  const setup = gatekeeperSetup(config);
  const enclave = await openGatekeeperEnclave(setup);
  try {
    const signer = setup.config.account ? await signerFromUri(setup.config.account.reveal()) : undefined;
    const supervised = await superviseGatekeeper({
      url: setup.chain.wsUrl,
      reconnectTimeoutMs: options.reconnectTimeoutMs,
      enclave,
      dataDir: setup.config.dataDir,
      signer,
      evmGateways: setup.evmGateways,
      minThreshold: setup.config.threshold,
      backupDelayMs: setup.config.backupDelayMs,
      logger: options.logger,
    });
    return {
      get gatekeeper() {
        return supervised.gatekeeper;
      },
      get client() {
        return supervised.client;
      },
      enclave,
      get reconnects() {
        return supervised.reconnects;
      },
      async stop() {
        await supervised.stop();
        await enclave.close();
      },
    };
  } catch (error) {
    await enclave.close();
    throw error;
  }
}
