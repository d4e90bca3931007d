import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Logger } from 'pino';
import { type Address, type Hex, getContractAddress } from 'viem';
import { getTransactionCount } from 'viem/actions';
import { fromHex, toHex, utf8 } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import { pollUntil } from '../../base/poll.js';
import { redactUrl } from '../../base/redact-url.js';
import { SECRET_DIR_MODE, writeSecretFileSync } from '../../base/secret-file.js';
import { parseConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { blake2_256, keccak256 } from '../../crypto/hash.js';
import { ethereumAddress } from '../../crypto/keys.js';
import { getContractInfo } from '../../evm/gateway/read.js';
import {
  gatekeeperSetup,
  openGatekeeperEnclave,
  startGatekeeperFromConfig,
} from '../../gatekeeper/service/from-config.js';
import { createLogger } from '../../log/logger.js';
import * as balances from '../../phala/actions/balances.js';
import { submitSudo } from '../../phala/actions/common.js';
import * as contracts from '../../phala/actions/contracts.js';
import * as registry from '../../phala/actions/registry.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';
import { devSigner } from '../../phala/signers.js';
import { computeCodeMeasurement } from '../../pruntime/enclave/measurement.js';
import { startWorker, type WorkerService } from '../../pruntime/worker/service.js';
import { buildChainAdapters } from '../../relayer/chains/build.js';
import type { AdminClientParameters } from '../../relayer/admin-client.js';
import { RelayerDaemon } from '../../relayer/daemon.js';
import { type EvmNode, devAccounts, startEvmNode } from '../evm/node.js';
import { devnetClients } from '../evm/clients.js';
import { DevnetDeployError, deployExamples, deployGateway } from '../evm/deploy.js';
import { type RelayDevnet, startRelayDevnet } from '../relay-devnet.js';
import { contractCodeBytes } from '../../protocol/contract-code.js';
import { auctionContract, exampleContract, GREETER_CONTRACT } from './contracts.js';
import { wasmAuctionContract, wasmExample } from './wasm-contracts.js';
import { deletePrefixedKeys, ensureRedis, ensureRedisCluster, stopStartedRedis } from './redis.js';
import { type DevnetSecrets, devnetSecrets } from './secrets.js';

/**
 * The whole system on one machine: a relay chain with the Phala-style parachain (2035) and a
 * sibling parachain (2000), an EVM node with the gateway, one gatekeeper, workers, a deployed
 * confidential contract whose key the workers hold, and the relayer — each role started from one
 * configuration, as an operator would start them one by one.
 */
export type StartDevnetParameters = {
  /** Where chains, enclaves and the generated config live; default a fresh temporary directory. */
  dataDir?: string;
  redisUrl?: string;
  /**
   * A Redis Cluster's nodes (`redis.clusterNodes`), used by every role instead of `redisUrl`; they
   * must answer already (nothing is started for a cluster).
   */
  redisClusterNodes?: { host: string; port: number }[];
  /**
   * Key prefix in Redis; default a fresh plain one per start, whose queues and key families spread
   * over a cluster's masters. A braced one (`{…}`) keeps every key in one slot.
   */
  redisPrefix?: string;
  workers?: number;
  /** The workers' result batching (`worker.batch`); default the config's default. */
  workerBatch?: { maxSize: number; maxDelayMs: number };
  /** Requests each worker runs at once (`worker.concurrency`); default 4. */
  workerConcurrency?: number;
  /**
   * More confidential contracts to deploy beside the greeters and the examples: name → JavaScript
   * source or a WebAssembly module's bytes.
   */
  contracts?: Record<string, string | Uint8Array>;
  /** The example auction's bidding time from start (default one hour); `false`: no examples. */
  examples?: { auctionBiddingSeconds?: number } | false;
  /**
   * Makes the devnet's master key, contract ids, sim platform CA key and admin token the same on
   * every start with this seed, so sealed inputs recorded on one run open on the next (replay
   * tapes). Development only: anyone who knows the seed can derive every contract key.
   */
  seed?: string;
  /** The relayer appends every request it queues to this tape (docs/PROTOCOL.md §8). */
  recordTape?: string;
  /**
   * Leave what this start made on stop: a temporary data directory (signer keys, the sim platform's
   * CA key, the admin token) and the Redis keys under a fresh prefix are removed otherwise. A
   * `dataDir` or `redisPrefix` given by the caller is the caller's and always kept.
   */
  keep?: boolean;
  /**
   * Aborting it stops the start where it is and cleans up as `stop()` does (a Ctrl-C during
   * start-up); the start then rejects with the signal's reason.
   */
  signal?: AbortSignal;
  logger?: Logger;
  /** One line per step, for people watching. */
  onProgress?: (line: string) => void;
};

export type DeployedContract = { name: string; contractId: Hex; publicKey: Hex; cluster: Hex; codeHash: Hex };

export type Devnet = {
  dataDir: string;
  config: Config;
  configFile: string;
  chains: {
    relay: { wsUrl: string };
    phala: { wsUrl: string; paraId: number; genesisHash: Hex };
    sibling: { wsUrl: string; paraId: number };
    evm: {
      rpcUrl: string;
      wsUrl: string;
      chainId: number;
      gateway: Address;
      accounts: { address: Address; privateKey: Hex }[];
    };
  };
  gatekeeper: { address: Address; key: Hex };
  workers: { address: Hex; url: string }[];
  /** `admin`: the admin API's address and this start's token (admin.token in configFile). */
  relayer: { metricsUrl: string; adminUrl: string; admin: AdminClientParameters; daemon: RelayerDaemon };
  /** The simulated TEE platform of this start (secrets.ts): for tests that act as its host. */
  simPlatform: { caKey: Hex; workerSecret: Hex; gatekeeperSecret: Hex };
  /** By name: the JavaScript and WebAssembly greeters always, the examples (also WebAssembly ones), more given. */
  contracts: { greeter: DeployedContract; 'wasm-greeter': DeployedContract } & Record<
    string,
    DeployedContract
  >;
  /** The Solidity examples, bound to the `private-check` and `sealed-bid-auction` contracts. */
  examples: { privateCheck: Address; sealedBidAuction: Address; auctionBiddingEnds: bigint } | null;
  cluster: Hex;
  /** Clients for the demo and tests (closed by stop). */
  phala: PhalaClient;
  sibling: PhalaClient;
  stop(): Promise<void>;
};

const CLUSTER = toHex(blake2_256(utf8('phala-bridge/devnet/cluster/0')));

function waitUntil<T>(label: string, fn: () => Promise<T | null | undefined | false>): Promise<T> {
  return pollUntil(fn, { label: `devnet: ${label}`, timeoutMs: 120_000 });
}

/**
 * A fresh devnet's Redis key prefix. Random, not only the time: two devnets started together (two
 * `phala-bridge replay` commands side by side) reached this line in the same millisecond, shared
 * one prefix, and the first to stop deleted the other's queues and keys.
 */
export function devnetRedisPrefix(): string {
  return `phala-bridge-devnet-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function startDevnet(p: StartDevnetParameters = {}): Promise<Devnet> {
  p.signal?.throwIfAborted();
  // Each step starts with a progress line: an abort takes effect there (what is running is
  // being stopped by the abort already, so the step in hand fails soon anyway).
  const progress = (line: string) => {
    p.signal?.throwIfAborted();
    p.onProgress?.(line);
  };
  const logger = p.logger ?? createLogger({ level: 'warn', pretty: false });
  const ownDataDir = p.dataDir === undefined;
  const dataDir = p.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-devnet-'));
  // It holds devnet.json (signer keys, the platform CA key, the admin token) and sealed files.
  mkdirSync(dataDir, { recursive: true, mode: SECRET_DIR_MODE });
  const configFile = path.join(dataDir, 'devnet.json');
  const secrets = devnetSecrets({ seed: p.seed, configFile });
  const redisUrl = p.redisUrl ?? 'redis://127.0.0.1:6379';
  const redisPrefix = p.redisPrefix ?? devnetRedisPrefix();
  const redisClusterNodes = p.redisClusterNodes?.length ? p.redisClusterNodes : undefined;
  // Services are stopped last to first, then what this start made is cleaned up. A service
  // owned after stopping began (a step that finished after an abort) is stopped at once, and the
  // clean-up runs again after it (it may have written into the data directory meanwhile).
  const services: (() => Promise<void>)[] = [];
  const cleanups: { keys?: () => Promise<void>; redis?: () => Promise<void>; dir?: () => Promise<void> } = {};
  const runAll = async (list: (undefined | (() => Promise<void>))[]) => {
    for (const f of list) await f?.().catch(() => undefined);
  };
  const cleanUp = () => runAll([cleanups.keys, cleanups.redis, cleanups.dir]);
  let stopping: Promise<void> | undefined;
  const own = (stop: () => Promise<void>) => {
    services.push(stop);
    if (stopping) stopping = stopping.then(() => runAll([stop])).then(cleanUp);
  };
  const stopAll = () => {
    stopping ??= runAll([...services].reverse()).then(cleanUp);
    return stopping;
  };
  const onAbort = () => void stopAll();
  p.signal?.addEventListener('abort', onAbort, { once: true });
  const say = (line: string) => p.onProgress?.(line);

  if (ownDataDir && !p.keep)
    cleanups.dir = async () => {
      if (!existsSync(dataDir)) return;
      rmSync(dataDir, { recursive: true, force: true });
      say(`removed ${dataDir}`);
    };
  if (p.redisPrefix === undefined && !p.keep)
    cleanups.keys = async () => {
      const redis = { url: redisUrl, prefix: redisPrefix, tls: false, clusterNodes: redisClusterNodes };
      const deleted = await deletePrefixedKeys(redis).catch((error: unknown) => {
        say(`could not delete the Redis keys under ${redisPrefix}: ${errorMessage(error)}`);
        return 0;
      });
      if (deleted > 0) say(`deleted ${deleted} Redis keys under ${redisPrefix}:`);
    };

  try {
    progress(`data directory ${dataDir}${cleanups.dir ? ' (removed on stop)' : ''}`);
    if (redisClusterNodes) {
      await ensureRedisCluster(redisClusterNodes);
      progress(`redis cluster ${redisClusterNodes.map((n) => `${n.host}:${n.port}`).join(', ')}`);
    } else if ((await ensureRedis(redisUrl, progress)).started) {
      cleanups.redis = async () => {
        const { stopped, reason } = await stopStartedRedis(redisUrl);
        if (stopped) {
          cleanups.redis = undefined;
          say('stopped the redis-server it started');
        } else say(`left the redis-server it started running: ${reason}`);
      };
      progress(`redis-server started on ${redactUrl(redisUrl)}`);
    }

    progress('starting the relay chain, the Phala-style parachain (2035) and the sibling parachain (2000)');
    const relay: RelayDevnet = await startRelayDevnet({ dataDir: path.join(dataDir, 'chains'), dev: true });
    own(() => relay.stop());
    const phala = await createPhalaClient({ url: relay.phala.wsUrl, waitFor: 'finalized' });
    own(() => closePhalaClient(phala));
    const sibling = await createPhalaClient({ url: relay.sibling.wsUrl, waitFor: 'inBlock' });
    own(() => closePhalaClient(sibling));
    const alice = await devSigner('Alice', 30);
    progress(`  relay ${relay.relay.wsUrl} · phala ${relay.phala.wsUrl} · sibling ${relay.sibling.wsUrl}`);

    progress('starting the EVM node');
    const evm: EvmNode = await startEvmNode({});
    own(() => evm.stop());
    const evmAccounts = devAccounts(10).map((a) => ({ address: a.address, privateKey: a.privateKey as Hex }));
    progress(`  evm ${evm.rpcUrl} (chain ${evm.chainId})`);

    // The gatekeeper's identity is made inside its enclave; the gateway must know its address.
    const baseRaw = rawConfig({
      dataDir,
      redisUrl,
      redisPrefix,
      redisClusterNodes,
      relay,
      evm,
      gateway: null,
      evmAccounts,
      secrets,
    });
    const probe = await openGatekeeperEnclave(gatekeeperSetup(parseConfig(baseRaw, 'devnet', {})));
    const gatekeeperKey = toHex(probe.secp256k1PublicKey);
    const gatekeeperAddress = ethereumAddress(probe.secp256k1PublicKey);
    const gatekeeperX25519 = probe.publicIdentity.x25519;
    const gatekeeperAccount = probe.accountId;
    if (p.seed !== undefined && probe.latestEpoch() === null)
      await probe.importDevelopmentMasterKey(keccak256(utf8(`phala-bridge/devnet/master-key/${p.seed}`)));
    await probe.close();

    progress('deploying PhalaBridgeGateway');
    const deployer = devnetClients(evm, evmAccounts[0]!.privateKey);
    const gateway = await deployGateway(deployer, { gatekeepers: [gatekeeperAddress], threshold: 1 });
    progress(`  gateway ${gateway.address}`);

    const raw = rawConfig({
      dataDir,
      redisUrl,
      redisPrefix,
      redisClusterNodes,
      relay,
      evm,
      gateway: gateway.address,
      evmAccounts,
      secrets,
    });
    const config = parseConfig(raw, 'devnet', {});
    writeSecretFileSync(configFile, `${JSON.stringify(raw, null, 2)}\n`, { privateDir: true });

    progress('registering the gatekeeper and the worker measurement on the Phala-style chain');
    const workerMeasurement = toHex(computeCodeMeasurement().measurement);
    await balances.transfer(phala, { signer: alice, to: gatekeeperAccount, amount: 10n ** 16n });
    await registry.addGatekeeper(phala, {
      sudo: alice,
      gatekeeper: gatekeeperKey,
      x25519: gatekeeperX25519,
      account: gatekeeperAccount,
    });
    await registry.addMeasurement(phala, { sudo: alice, measurement: workerMeasurement });
    await submitSudo(
      sibling,
      sibling.api.tx.confidentialClient!.addGatekeeper!(gatekeeperKey),
      await devSigner('Alice', 42),
    );

    progress('starting the relayer');
    const daemon = new RelayerDaemon({
      config,
      logger: logger.child({ role: 'relayer' }),
      adapters: (context) => buildChainAdapters(config, context),
      recordTape: p.recordTape,
    });
    await daemon.start();
    own(() => daemon.stop(5_000));
    progress(
      `  metrics ${daemon.urls.metrics}/metrics · admin ${daemon.urls.admin}/jobs (token: admin.token in ${configFile})`,
    );

    progress('starting the gatekeeper (master key, approvals, contract keys)');
    const gatekeeper = await startGatekeeperFromConfig(config, {
      logger: logger.child({ role: 'gatekeeper' }),
    });
    own(() => gatekeeper.stop());
    await gatekeeper.gatekeeper.whenReady(60_000);

    const workerCount = p.workers ?? 2;
    progress(`starting ${workerCount} pRuntime workers (sim TEE)`);
    const workers: WorkerService[] = [];
    for (let i = 0; i < workerCount; i++) {
      const section = {
        ...workerSection(dataDir, i, workerTrust(relay, evm), secrets),
        ...(p.workerBatch ? { batch: p.workerBatch } : {}),
        ...(p.workerConcurrency ? { concurrency: p.workerConcurrency } : {}),
      };
      const workerConfig = parseConfig({ ...raw, worker: section }, 'devnet', {});
      const worker = await startWorker({
        config: workerConfig,
        logger: logger.child({ role: `worker-${i}` }),
        http: { host: '127.0.0.1', port: 0 },
      });
      own(() => worker.stop({ graceMs: 2_000 }));
      workers.push(worker);
    }
    progress('waiting for the gatekeeper to approve the workers');
    await Promise.all(workers.map((w) => w.whenServing()));

    // The auction contract names SealedBidAuction.sol as its only bidder and auctioneer, so the
    // Solidity contract's address is needed before it is deployed: it is the deployer's next
    // contract (nothing else sends from that account), checked once it exists.
    const auctionAddress = getContractAddress({
      from: deployer.walletClient.account.address,
      nonce: BigInt(
        await getTransactionCount(deployer.publicClient, { address: deployer.walletClient.account.address }),
      ),
    });
    const auctionOrigin = {
      kind: 'evm',
      chainId: evm.chainId,
      gateway: gateway.address,
      requester: auctionAddress,
    } as const;
    // The WebAssembly auction is open to any bidder, settled by EVM account 2 (as the auction tape's
    // JavaScript one): it is driven by requests from every origin, not by a Solidity contract.
    const wasmAuctioneer = {
      kind: 'evm',
      chainId: evm.chainId,
      gateway: gateway.address,
      requester: evmAccounts[2]!.address,
    } as const;
    const sources: Record<string, string | Uint8Array> = {
      greeter: GREETER_CONTRACT,
      'wasm-greeter': wasmExample('greeter'),
      ...(p.examples === false
        ? {}
        : {
            'private-check': exampleContract('private-check'),
            'sealed-bid-auction': auctionContract({ auctioneer: auctionOrigin, bidders: [auctionOrigin] }),
            'wasm-auction': wasmAuctionContract({
              auctioneer: wasmAuctioneer,
              bidders: 'any',
            }),
            'wasm-hash-chain': wasmExample('hash-chain'),
          }),
      ...p.contracts,
    };
    const deployed: Record<string, DeployedContract> = {};
    // Deployed one after another (one signer), then their keys awaited together.
    for (const [name, source] of Object.entries(sources)) {
      progress(`deploying the ${name} contract on the Phala-style chain`);
      deployed[name] = await deploy(phala, alice, name, source, p.seed);
      progress(`  ${name} ${deployed[name].contractId}`);
    }
    progress('waiting for their keys: published on chain, handed to the workers, registered on the gateway');
    await Promise.all(
      Object.values(deployed).map(async (contract) => {
        contract.publicKey = await waitUntil(
          `the ${contract.name} key on chain`,
          async () => (await registry.getContractKey(phala, contract.contractId))?.publicKey,
        );
        await Promise.all(workers.map((w) => w.whenHasContractKey(contract.contractId)));
        await waitUntil(
          `the ${contract.name} contract on the gateway`,
          async () =>
            (
              await getContractInfo(deployer.publicClient, {
                gateway: gateway.address,
                contractId: contract.contractId,
              })
            ).registered,
        );
      }),
    );
    const workerAddresses = workers.map((w) => w.address);
    await waitUntil('the workers on the sibling', async () => {
      const entries = await Promise.all(
        workers.map((w) =>
          sibling.api.query.confidentialClient!.workers!(CLUSTER, w.info().worker.secp256k1),
        ),
      );
      return entries.every((e) => !(e as { isEmpty: boolean }).isEmpty);
    });

    let examples: Devnet['examples'] = null;
    if (p.examples !== false) {
      progress('deploying the Solidity examples (SealedBidAuction, PrivateCheck) bound to their contracts');
      const block = await deployer.publicClient.getBlock();
      const auctionBiddingEnds = block.timestamp + BigInt(p.examples?.auctionBiddingSeconds ?? 3_600);
      const deployedExamples = await deployExamples(deployer, {
        gateway: gateway.address,
        auction: {
          contractId: deployed['sealed-bid-auction']!.contractId,
          biddingEnds: auctionBiddingEnds,
          answerWindow: 3_600n,
          settleWindow: 3_600n,
        },
        privateCheck: { contractId: deployed['private-check']!.contractId, answerWindow: 3_600n },
      });
      if (deployedExamples.sealedBidAuction.address.toLowerCase() !== auctionAddress.toLowerCase())
        throw new DevnetDeployError('SealedBidAuction is not where its confidential contract expects it.', {
          details: `deployed at ${deployedExamples.sealedBidAuction.address}, expected ${auctionAddress}`,
        });
      examples = {
        privateCheck: deployedExamples.privateCheck.address,
        sealedBidAuction: deployedExamples.sealedBidAuction.address,
        auctionBiddingEnds,
      };
      progress(`  SealedBidAuction ${examples.sealedBidAuction} · PrivateCheck ${examples.privateCheck}`);
    }

    progress('devnet ready');
    return {
      dataDir,
      config,
      configFile,
      chains: {
        relay: { wsUrl: relay.relay.wsUrl },
        phala: {
          wsUrl: relay.phala.wsUrl,
          paraId: relay.phala.paraId!,
          genesisHash: relay.phala.genesisHash,
        },
        sibling: { wsUrl: relay.sibling.wsUrl, paraId: relay.sibling.paraId! },
        evm: {
          rpcUrl: evm.rpcUrl,
          wsUrl: evm.wsUrl,
          chainId: evm.chainId,
          gateway: gateway.address,
          accounts: evmAccounts,
        },
      },
      gatekeeper: { address: gatekeeperAddress, key: gatekeeperKey },
      workers: workers.map((w, i) => ({ address: workerAddresses[i]!, url: w.url ?? '' })),
      relayer: {
        metricsUrl: daemon.urls.metrics!,
        adminUrl: daemon.urls.admin!,
        admin: { url: daemon.urls.admin!, token: secrets.adminToken },
        daemon,
      },
      simPlatform: {
        caKey: secrets.platformCaKey,
        workerSecret: secrets.workerPlatformSecret,
        gatekeeperSecret: secrets.gatekeeperPlatformSecret,
      },
      contracts: { ...deployed, greeter: deployed.greeter!, 'wasm-greeter': deployed['wasm-greeter']! },
      examples,
      cluster: CLUSTER,
      phala,
      sibling,
      stop: async () => {
        p.signal?.removeEventListener('abort', onAbort);
        await stopAll();
      },
    };
  } catch (error) {
    p.signal?.removeEventListener('abort', onAbort);
    await stopAll();
    // Aborted: whatever the step in hand failed with, it failed because everything was stopped.
    throw p.signal?.aborted ? p.signal.reason : error;
  }
}

async function deploy(
  phala: PhalaClient,
  signer: Awaited<ReturnType<typeof devSigner>>,
  name: string,
  code: string | Uint8Array,
  seed: string | undefined,
): Promise<DeployedContract> {
  const bytes = contractCodeBytes(code);
  const codeHash = toHex(blake2_256(bytes));
  if (!(await contracts.getCode(phala, codeHash)))
    await contracts.uploadCode(phala, { signer, code: toHex(bytes) });
  // Seeded: the same id on every start (a fresh chain); otherwise a new one each time.
  const salt = toHex(utf8(`${name}/${seed ?? Date.now()}`));
  const instantiated = await contracts.instantiate(phala, { signer, codeHash, cluster: CLUSTER, salt });
  return {
    name,
    contractId: instantiated.event.contractId as Hex,
    publicKey: '0x',
    cluster: CLUSTER,
    codeHash,
  };
}

/**
 * What a devnet worker pins: the Phala-style chain's genesis and GRANDPA set as its node made
 * them, and the one EVM node as its only endpoint (quorum 1: development mode only).
 */
export function workerTrust(relay: RelayDevnet, evm: EvmNode) {
  const grandpa = relay.phala.node.grandpa;
  return {
    phala: {
      genesisHash: grandpa.genesisHash,
      setId: grandpa.setId,
      authorities: grandpa.authorities.map(([id, weight]) => ({ id, weight })),
    },
    evm: [{ chainId: evm.chainId, endpoints: [evm.rpcUrl], quorum: 1, depth: 0 }],
  };
}

function workerSection(
  dataDir: string,
  index: number,
  trust: ReturnType<typeof workerTrust>,
  secrets: DevnetSecrets,
) {
  return {
    cluster: CLUSTER,
    trust,
    concurrency: 4,
    dataDir: path.join(dataDir, `worker-${index}`),
    http: { host: '127.0.0.1', port: 0 },
    attestation: {
      provider: 'sim',
      platformCaKey: { value: secrets.platformCaKey },
      platformSecret: { value: secrets.workerPlatformSecret },
    },
    funder: { value: '//Alice' },
    lockDurationMs: 10_000,
    stalledIntervalMs: 5_000,
  };
}

/** The devnet's configuration, as a file would hold it (development mode: inline secrets). */
function rawConfig(p: {
  dataDir: string;
  redisUrl: string;
  redisPrefix: string;
  redisClusterNodes: { host: string; port: number }[] | undefined;
  relay: RelayDevnet;
  evm: EvmNode;
  gateway: Address | null;
  evmAccounts: { address: Address; privateKey: Hex }[];
  secrets: DevnetSecrets;
}) {
  const chains: Record<string, unknown>[] = [
    {
      kind: 'phala',
      name: 'phala',
      wsUrl: p.relay.phala.wsUrl,
      signer: { value: '//Bob' },
      paraId: p.relay.phala.paraId,
      startBlock: 1,
      blockTimeMs: 1_000,
      xcmResponseTimeoutMs: 60_000,
      batch: { maxSize: 16, maxDelayMs: 100 },
    },
    {
      kind: 'parachain',
      name: 'sibling',
      wsUrl: p.relay.sibling.wsUrl,
      paraId: p.relay.sibling.paraId,
      signer: { value: '//Bob' },
    },
    { kind: 'relay', name: 'relay', wsUrl: p.relay.relay.wsUrl },
  ];
  if (p.gateway) {
    chains.unshift({
      kind: 'evm',
      name: 'evm',
      chainId: p.evm.chainId,
      rpcUrl: p.evm.rpcUrl,
      wsUrl: p.evm.wsUrl,
      gateway: p.gateway,
      confirmations: 0,
      pollIntervalMs: 250,
      startBlock: 0,
      replaceAfterMs: 5_000,
      signer: { value: p.evmAccounts[1]!.privateKey },
      // The production defaults (32 answers, a 500 ms window): a lone answer goes after the
      // submit stage's short linger, a stream fills transactions (docs/operations.md#configuration).
    });
  }
  return {
    mode: 'development',
    chains,
    // Every role (relayer, workers) reads this one section: a cluster reaches all of them.
    redis: {
      url: p.redisUrl,
      prefix: p.redisPrefix,
      ...(p.redisClusterNodes ? { clusterNodes: p.redisClusterNodes } : {}),
    },
    queues: { backoffMs: [500, 2_000, 10_000, 60_000] },
    gatekeeper: {
      dataDir: path.join(p.dataDir, 'gatekeeper'),
      simPlatformCas: [toHex(ed25519.getPublicKey(fromHex(p.secrets.platformCaKey)))],
      quoteMaxAgeSeconds: 3_600,
      registrationTtlSeconds: 7 * 24 * 3_600,
      attestation: {
        provider: 'sim',
        platformCaKey: { value: p.secrets.platformCaKey },
        platformSecret: { value: p.secrets.gatekeeperPlatformSecret },
      },
      account: { value: '//Charlie' },
      backupDelayMs: 0,
    },
    metrics: { host: '127.0.0.1', port: 0 },
    // Loopback, and still a token: a browser page on this machine cannot steer the devnet.
    admin: { host: '127.0.0.1', port: 0, token: { value: p.secrets.adminToken } },
    log: { level: 'warn' },
    shutdownGraceMs: 5_000,
    checkpointFile: path.join(p.dataDir, 'relayer-checkpoints.json'),
  };
}
