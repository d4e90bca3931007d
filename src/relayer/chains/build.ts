import type { ApiPromise } from '@polkadot/api';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.js';
import { EvmSignatureCollector } from '../../gatekeeper/evm/collector.js';
import { WorkerRevocationCollector } from '../../gatekeeper/sibling/revocation-collector.js';
import { ethereumAddress } from '../../crypto/keys.js';
import { processRevocations } from '../approval-cache.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';
import { signerFromUri } from '../../phala/signers.js';
import { fromHex } from '../../base/bytes.js';
import { PolkadotXcmEventSource } from './xcm-source.js';
import { RedisXcmTrackerStore } from '../../xcm/tracker/redis-store.js';
import { XcmTracker } from '../../xcm/tracker/tracker.js';
import type { XcmTopology } from '../../xcm/tracker/topology.js';
import type { AdapterContext, ChainAdapters } from '../daemon.js';
import { EvmDestination, EvmOriginWatcher } from './evm.js';
import { PhalaDestination } from './phala-destination.js';
import { PhalaOriginWatcher } from './phala-origin.js';
import { type SignedWorkerApproval, SiblingApprovalCarrier } from './sibling.js';

/**
 * Chain adapters for every chain in the config. Every EVM and Phala-style chain is watched and
 * answered; parachains and the relay chain are followed only to track XCM responses.
 */
export async function buildChainAdapters(config: Config, context: AdapterContext): Promise<ChainAdapters> {
  const adapters: ChainAdapters = { watchers: [], destinations: [], readiness: [] };
  const closers: (() => Promise<void>)[] = [];
  adapters.close = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  const logger = context.logger;

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

  const evmDestinations: EvmDestination[] = [];
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
      evmDestinations.push(destination);
    }
    adapters.readiness!.push({
      name: `chain:${chain.name}`,
      check: async () => {
        const lag = await watcher.lag();
        return { ok: lag >= 0 && lag < 1_000, detail: `lag ${lag} blocks` };
      },
    });
  }

  if (phalaConfig && phala) {
    // One tracker writes (alongside the Phala watcher, under its lease); every process reads it.
    const tracker = await createXcmTracker(config, context, phala.api, closers);
    const collector = new EvmSignatureCollector();
    const common = {
      config: phalaConfig,
      client: phala,
      checkpoints: context.checkpoints(phalaConfig.name),
      logger: logger.child({ chain: phalaConfig.name }),
      metrics: context.metrics,
      onEvmSignatures: async (senderKey: `0x${string}`, payload: `0x${string}`) => {
        const added = collector.add(fromHex(senderKey), fromHex(payload));
        for (const reason of added.rejected) logger.warn({ reason }, 'ignored a gatekeeper EVM signature');
        for (const destination of evmDestinations) await destination.carryRegistrations(collector);
      },
    };
    const carriers = await siblingCarriers(config, context, closers);
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
            onWorkerRevocationSignatures: async (senderKey: `0x${string}`, payload: `0x${string}`) => {
              const added = revocations.add(fromHex(senderKey), fromHex(payload));
              if (typeof added !== 'string')
                logger.warn({ reason: added.rejected }, 'ignored a gatekeeper worker revocation');
              for (const carrier of carriers) await carrier.carryRevocations(revocations);
            },
          }
        : {}),
      ...(carriers.length
        ? {
            onWorkerApproved: async (approval: SignedWorkerApproval) =>
              void (await Promise.all(carriers.map((c) => c.carry(approval)))),
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
          onXcmSent: (jobId, messageId) =>
            context.journeys.record(jobId, { stage: 'xcm-sent', detail: `response ${messageId}` }),
        }),
      );
    }
    adapters.readiness!.push({
      name: `chain:${phalaConfig.name}`,
      check: async () => {
        const lag = await watcher.lag();
        return { ok: lag >= 0 && lag < 100, detail: `lag ${lag} blocks` };
      },
    });
  }
  return adapters;
}

/** A tracker over the Phala-style chain, the relay chain and the parachains, for XCM responses. */
async function createXcmTracker(
  config: Config,
  context: AdapterContext,
  phalaApi: ApiPromise,
  closers: (() => Promise<void>)[],
): Promise<XcmTracker | undefined> {
  const others = config.chains.filter((c) => c.kind === 'parachain' || c.kind === 'relay');
  const phalaConfig = config.chains.find((c) => c.kind === 'phala');
  if (others.length === 0 || !phalaConfig) return undefined;
  const topology: Record<string, { paraId?: number }> = {
    [phalaConfig.name]: { paraId: phalaConfig.paraId },
  };
  for (const c of others) topology[c.name] = c.kind === 'parachain' ? { paraId: c.paraId } : {};
  const apis: { name: string; api: ApiPromise }[] = [{ name: phalaConfig.name, api: phalaApi }];
  for (const c of others) {
    const client = await createPhalaClient({ url: c.wsUrl });
    closers.push(() => closePhalaClient(client));
    apis.push({ name: c.name, api: client.api });
  }
  const tracker = new XcmTracker({
    store: new RedisXcmTrackerStore(context.redis as Redis, { prefix: config.redis.prefix }),
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
  closers: (() => Promise<void>)[],
): Promise<SiblingApprovalCarrier[]> {
  const carriers: SiblingApprovalCarrier[] = [];
  for (const chain of config.chains) {
    if (chain.kind !== 'parachain' || !chain.signer) continue;
    const client = await createPhalaClient({ url: chain.wsUrl });
    closers.push(() => closePhalaClient(client));
    const signer = await signerFromUri(chain.signer.reveal(), chain.signerType);
    carriers.push(
      new SiblingApprovalCarrier(chain.name, client, signer, context.logger.child({ chain: chain.name })),
    );
  }
  return carriers;
}
