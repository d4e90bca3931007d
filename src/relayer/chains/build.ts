import type { ApiPromise } from '@polkadot/api';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.js';
import { getGatekeeperSet } from '../../evm/gateway/read.js';
import type { GatekeeperSet } from '../../evm/types.js';
import { EvmSignatureCollector, type GatewayRef } from '../../gatekeeper/evm/collector.js';
import { WorkerRevocationCollector } from '../../gatekeeper/sibling/revocation-collector.js';
import { ethereumAddress } from '../../crypto/keys.js';
import { processRevocations } from '../approval-cache.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';
import { signerFromUri } from '../../phala/signers.js';
import { fromHex } from '../../base/bytes.js';
import { PolkadotXcmEventSource } from './xcm-source.js';
import { RedisXcmTrackerStore } from '../../xcm/tracker/redis-store.js';
import { redisNamespace } from '../redis.js';
import { XcmTracker } from '../../xcm/tracker/tracker.js';
import type { XcmTopology } from '../../xcm/tracker/topology.js';
import { CarryQueue, type CarryMetrics, RefreshedRead, createCarryMetrics } from '../carry-queue.js';
import type { AdapterContext, ChainAdapters } from '../daemon.js';
import { type ReadinessCheck, evmReadiness, substrateReadiness, unusedChainReadiness } from '../readiness.js';
import { EvmDestination } from './evm-destination.js';
import { EvmOriginWatcher, evmClient } from './evm-origin.js';
import { PhalaDestination } from './phala-destination.js';
import { PhalaOriginWatcher } from './phala-origin.js';
import { type SignedWorkerApproval, SiblingApprovalCarrier } from './sibling.js';

/**
 * Chain adapters for every chain in the config. Every EVM and Phala-style chain is watched and
 * answered; parachains and the relay chain are followed only to track XCM responses.
 *
 * What one chain's watcher finds for another chain (gatekeeper signatures for EVM gateways,
 * worker approvals and revocations for siblings) goes to that chain's carry queue
 * (carry-queue.ts): the watcher's block never waits on, or fails with, another chain. Every
 * configured chain has a readiness check (readiness.ts), in the config's order.
 */
export async function buildChainAdapters(config: Config, context: AdapterContext): Promise<ChainAdapters> {
  const adapters: ChainAdapters = { watchers: [], destinations: [], readiness: [] };
  const closers: (() => Promise<void>)[] = [];
  adapters.close = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  const logger = context.logger;
  const carryMetrics = createCarryMetrics(context.metrics.registry);
  const readiness = new Map<string, ReadinessCheck>();

  const phalaConfig = config.chains.find((c) => c.kind === 'phala');
  let phala: PhalaClient | undefined;
  let phalaSigner: Awaited<ReturnType<typeof signerFromUri>> | undefined;
  if (phalaConfig) {
    phala = await createPhalaClient({ url: phalaConfig.wsUrl, waitFor: 'finalized' });
    closers.push(() => closePhalaClient(phala!));
    adapters.phalaGenesisHash = phala.api.genesisHash.toHex() as `0x${string}`;
    if (phalaConfig.signer)
      phalaSigner = await signerFromUri(phalaConfig.signer.reveal(), phalaConfig.signerType);
  }

  const evmCarriers: EvmRegistrationCarrier[] = [];
  const evmWatchers = new Map<string, EvmOriginWatcher>();
  adapters.transactionOf = async (chain, hash) => (await evmWatchers.get(chain)?.transactionOf(hash)) ?? null;
  for (const chain of config.chains) {
    if (chain.kind !== 'evm') continue;
    const common = {
      config: chain,
      redis: context.redis,
      keyPrefix: `${config.redis.prefix}:evm`,
      checkpoints: context.checkpoints(chain.name),
      logger: logger.child({ chain: chain.name }),
      metrics: context.metrics,
    };
    const watcher = new EvmOriginWatcher(common);
    adapters.watchers.push(watcher);
    evmWatchers.set(chain.name, watcher);
    if (chain.signer) {
      const destination = new EvmDestination(common);
      adapters.destinations.push(destination);
      const carrier = evmRegistrationCarrier(chain, destination, common.logger, carryMetrics);
      closers.push(() => carrier.stop());
      evmCarriers.push(carrier);
    }
    readiness.set(
      chain.name,
      evmReadiness({
        chain: chain.name,
        rpcUrl: chain.rpcUrl,
        lag: { checkpoint: async () => (await common.checkpoints.load())?.blockNumber, maxLag: 1_000 },
      }),
    );
  }

  // Parachains and the relay chain are connected to only for the Phala-style chain's XCM.
  const substrate = phala ? await connectSubstrateChains(config, closers) : new Map<string, PhalaClient>();
  for (const chain of config.chains) {
    if (chain.kind !== 'parachain' && chain.kind !== 'relay') continue;
    const client = substrate.get(chain.name);
    readiness.set(
      chain.name,
      client
        ? substrateReadiness({ chain: chain.name, kind: chain.kind, wsUrl: chain.wsUrl, api: client.api })
        : unusedChainReadiness(chain.name, `${chain.kind}: not followed (no Phala-style chain configured)`),
    );
  }

  if (phalaConfig && phala) {
    // One tracker writes (alongside the Phala watcher, under its lease); every process reads it.
    const tracker = createXcmTracker(config, context, phala.api, substrate, closers);
    const collector = new EvmSignatureCollector();
    const common = {
      config: phalaConfig,
      client: phala,
      checkpoints: context.checkpoints(phalaConfig.name),
      logger: logger.child({ chain: phalaConfig.name }),
      metrics: context.metrics,
      // Pooled here, carried by each gateway's own queue: the block goes on at once.
      onEvmSignatures: (senderKey: `0x${string}`, payload: `0x${string}`) => {
        const added = collector.add(fromHex(senderKey), fromHex(payload));
        for (const reason of added.rejected) logger.warn({ reason }, 'ignored a gatekeeper EVM signature');
        if (added.accepted > 0) for (const carrier of evmCarriers) carrier.carry(collector);
      },
    };
    const carriers = await siblingCarriers(config, context, substrate);
    const siblings = carriers.map((carrier) => {
      const queue = new CarryQueue({
        target: carrier.chain,
        logger: logger.child({ chain: carrier.chain, component: 'carry' }),
        metrics: carryMetrics,
      });
      closers.push(() => queue.stop());
      return { carrier, queue };
    });
    const revocations = new WorkerRevocationCollector(phala.genesisHash);
    const watcher = new PhalaOriginWatcher({
      ...common,
      xcmTracker: tracker,
      // Revoked workers' results are refused by this process from the revocation's finality on.
      onWorkerVerdict: (worker, verdict, reason) => {
        const address = ethereumAddress(fromHex(worker));
        if (verdict === 'revoked') processRevocations.revoke(address, reason);
        else processRevocations.reinstate(address);
      },
      ...(carriers.length
        ? {
            onWorkerRevocationSignatures: (senderKey: `0x${string}`, payload: `0x${string}`) => {
              const added = revocations.add(fromHex(senderKey), fromHex(payload));
              if (typeof added !== 'string')
                logger.warn({ reason: added.rejected }, 'ignored a gatekeeper worker revocation');
              for (const { carrier, queue } of siblings)
                queue.schedule('revocations', () => carrier.carryRevocations(revocations));
            },
          }
        : {}),
      ...(carriers.length
        ? {
            onWorkerApproved: (approval: SignedWorkerApproval) => {
              const key = `approval:${approval.worker}:${approval.measurement}:${approval.expiresAt}`;
              for (const { carrier, queue } of siblings) queue.schedule(key, () => carrier.carry(approval));
            },
          }
        : {}),
    });
    adapters.watchers.push(watcher);
    if (phalaSigner) {
      adapters.destinations.push(
        new PhalaDestination({
          ...common,
          signer: phalaSigner,
          tracker,
        }),
      );
    }
    readiness.set(
      phalaConfig.name,
      substrateReadiness({
        chain: phalaConfig.name,
        kind: 'phala',
        wsUrl: phalaConfig.wsUrl,
        api: phala.api,
        lag: { checkpoint: async () => (await common.checkpoints.load())?.blockNumber, maxLag: 100 },
      }),
    );
  }
  for (const chain of config.chains) {
    const check = readiness.get(chain.name);
    if (check) adapters.readiness!.push(check);
  }
  return adapters;
}

/**
 * Gatekeeper-signed registrations, revocations and gatekeeper updates for one EVM gateway, carried
 * by that chain's queue. The gateway's gatekeeper set is read in the background (kept while the
 * chain is down; a new set re-runs the carry, as its members decide what is ready).
 */
type EvmRegistrationCarrier = { carry(collector: EvmSignatureCollector): void; stop(): Promise<void> };

/**
 * What the carrier needs of the destination. `gatekeepers` is the cached set: a destination that
 * takes it need not read the gateway again on the carry path.
 */
type RegistrationTarget = {
  carryRegistrations(collector: EvmSignatureCollector, gatekeepers?: GatekeeperSet): Promise<number>;
};

function evmRegistrationCarrier(
  chain: Extract<Config['chains'][number], { kind: 'evm' }>,
  destination: RegistrationTarget,
  logger: AdapterContext['logger'],
  metrics: CarryMetrics,
): EvmRegistrationCarrier {
  const queue = new CarryQueue({ target: chain.name, logger: logger.child({ component: 'carry' }), metrics });
  const gateway: GatewayRef = { chainId: BigInt(chain.chainId), gateway: chain.gateway as `0x${string}` };
  const client = evmClient(chain);
  let pool: EvmSignatureCollector | undefined;
  const carry = (collector: EvmSignatureCollector) => {
    pool = collector;
    queue.schedule('registrations', async () => {
      const set = await gatekeepers.get();
      // Nothing has this gateway's threshold of its gatekeepers' signatures: nothing to send.
      if (collector.ready(gateway, set.threshold, set.members).length === 0) return;
      await destination.carryRegistrations(collector, set);
    });
  };
  const gatekeepers: RefreshedRead<GatekeeperSet> = new RefreshedRead({
    name: `${chain.name}:gatekeepers`,
    read: () => getGatekeeperSet(client, { gateway: gateway.gateway }),
    ttlMs: 30_000,
    logger,
    metrics,
    same: (a, b) =>
      a.epoch === b.epoch && a.threshold === b.threshold && a.members.join() === b.members.join(),
    onChange: () => {
      if (pool) carry(pool);
    },
  });
  return {
    carry,
    stop: async () => {
      gatekeepers.stop();
      await queue.stop();
    },
  };
}

/** One connection per parachain and the relay chain, shared by the XCM tracker and the carriers. */
async function connectSubstrateChains(
  config: Config,
  closers: (() => Promise<void>)[],
): Promise<Map<string, PhalaClient>> {
  const clients = new Map<string, PhalaClient>();
  for (const chain of config.chains) {
    if (chain.kind !== 'parachain' && chain.kind !== 'relay') continue;
    const client = await createPhalaClient({ url: chain.wsUrl });
    closers.push(() => closePhalaClient(client));
    clients.set(chain.name, client);
  }
  return clients;
}

/** A tracker over the Phala-style chain, the relay chain and the parachains, for XCM responses. */
function createXcmTracker(
  config: Config,
  context: AdapterContext,
  phalaApi: ApiPromise,
  substrate: Map<string, PhalaClient>,
  closers: (() => Promise<void>)[],
): XcmTracker | undefined {
  const others = config.chains.filter((c) => c.kind === 'parachain' || c.kind === 'relay');
  const phalaConfig = config.chains.find((c) => c.kind === 'phala');
  if (others.length === 0 || !phalaConfig) return undefined;
  const topology: Record<string, { paraId?: number }> = {
    [phalaConfig.name]: { paraId: phalaConfig.paraId },
  };
  for (const c of others) topology[c.name] = c.kind === 'parachain' ? { paraId: c.paraId } : {};
  const apis: { name: string; api: ApiPromise }[] = [{ name: phalaConfig.name, api: phalaApi }];
  for (const c of others) apis.push({ name: c.name, api: substrate.get(c.name)!.api });
  const tracker = new XcmTracker({
    store: new RedisXcmTrackerStore(context.redis as Redis, {
      prefix: redisNamespace(config.redis.prefix, 'xcm'),
    }),
    sources: apis.map(
      ({ name, api }) =>
        new PolkadotXcmEventSource({
          chain: name,
          api,
          topology: topology as XcmTopology,
          logger: context.logger.child({ xcm: name }),
        }),
    ),
    logger: context.logger.child({ component: 'xcm-tracker' }),
  });
  closers.push(() => tracker.stop());
  return tracker;
}

/** Sibling parachains with a signer get the gatekeepers' worker approvals carried to them. */
async function siblingCarriers(
  config: Config,
  context: AdapterContext,
  substrate: Map<string, PhalaClient>,
): Promise<SiblingApprovalCarrier[]> {
  const carriers: SiblingApprovalCarrier[] = [];
  for (const chain of config.chains) {
    if (chain.kind !== 'parachain' || !chain.signer) continue;
    const client = substrate.get(chain.name);
    if (!client) continue;
    const signer = await signerFromUri(chain.signer.reveal(), chain.signerType);
    carriers.push(
      new SiblingApprovalCarrier(chain.name, client, signer, context.logger.child({ chain: chain.name })),
    );
  }
  return carriers;
}
