import type { Logger } from 'pino';
import { BaseError, type Retry } from '../base/errors.js';
import type { Config, EvmChainConfig, PhalaChainConfig } from '../config/schema.js';
import { decodeGatewayLog } from '../evm/gateway/events.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../phala/client.js';
import type { TapeEntry } from '../protocol/tape.js';
import { EvmOriginWatcher } from './chains/evm-origin.js';
import { PhalaOriginWatcher } from './chains/phala-origin.js';
import { RedisCheckpointStore } from './checkpoints.js';
import { JourneyStore } from './journey.js';
import { createRelayerMetrics } from './metrics.js';
import { PendingIndex } from './pending.js';
import { RelayerQueues } from './queues.js';
import { createRedis } from './redis.js';
import { ObserveStage } from './stages/observe.js';
import { evmLogOf, phalaEventOf } from './tape/entries.js';

/**
 * Replays a tape straight into the relayer's queues (docs/PROTOCOL.md §8): each entry is decoded
 * back to the request job its chain's watcher would have made (the contract's cluster read from
 * the chain, as the watcher does) and handed to the observe stage. Requests already queued change
 * nothing, as when a watcher sees them again. The chains named by the tape must be in the config,
 * and be the chains it was recorded from: an EVM request id names the block its request was mined
 * in, so a tape from another devnet names requests these chains never had (to send a tape's
 * requests again on another devnet, use `replay` of phala-bridge/testing).
 */
export type ReplayIntoQueueResult = { entries: number; queued: number; rejected: string[] };

export class ReplayChainError extends BaseError {
  /** The tape and the configuration must agree. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'ReplayChainError';
}

export async function replayIntoQueue(
  entries: TapeEntry[],
  p: { config: Config; logger: Logger },
): Promise<ReplayIntoQueueResult> {
  const { config, logger } = p;
  const redis = createRedis(config.redis);
  const prefix = config.redis.prefix;
  const queues = new RelayerQueues(redis, prefix);
  const metrics = createRelayerMetrics();
  const rejected: string[] = [];
  let queued = 0;
  const observe = new ObserveStage({
    queues,
    journeys: new JourneyStore({ redis, prefix }),
    pending: new PendingIndex(redis, prefix),
    metrics,
    logger,
    onRequest: () => void queued++,
  });
  const sink = {
    rejected: (chain: string, reason: string) => {
      rejected.push(`${chain}: ${reason}`);
      observe.rejected(chain, reason);
    },
  };
  const evmWatchers = new Map<string, EvmOriginWatcher>();
  let phala: { client: PhalaClient; watcher: PhalaOriginWatcher } | undefined;
  const chainOf = (name: string) => {
    const chain = config.chains.find((c) => c.name === name);
    if (!chain) throw new ReplayChainError(`The tape names chain ${name}, which the config does not have.`);
    return chain;
  };
  const common = (name: string) => ({
    checkpoints: new RedisCheckpointStore({ redis, prefix, chain: name }),
    logger: logger.child({ chain: name }),
    metrics,
  });
  try {
    for (const entry of entries) {
      const chain = chainOf(entry.chain);
      if (entry.kind === 'evm.log') {
        if (chain.kind !== 'evm') throw new ReplayChainError(`Chain ${entry.chain} is not an EVM chain.`);
        let watcher = evmWatchers.get(chain.name);
        if (!watcher) {
          watcher = new EvmOriginWatcher({
            config: chain as EvmChainConfig,
            redis,
            keyPrefix: `${prefix}:evm`,
            ...common(chain.name),
          });
          evmWatchers.set(chain.name, watcher);
        }
        const event = decodeGatewayLog(evmLogOf(entry), chain.chainId);
        if (event?.kind !== 'RequestSent') {
          sink.rejected(chain.name, `block ${entry.block} #${entry.index} is not a RequestSent log`);
          continue;
        }
        const job = await watcher.jobOf(event, sink);
        if (job) await observe.request(job, { kind: entry.kind, data: entry.data, index: entry.index });
        continue;
      }
      if (chain.kind !== 'phala')
        throw new ReplayChainError(`Chain ${entry.chain} is not the Phala-style chain.`);
      if (!phala) {
        const client = await createPhalaClient({ url: chain.wsUrl });
        phala = {
          client,
          watcher: new PhalaOriginWatcher({
            config: chain as PhalaChainConfig,
            client,
            ...common(chain.name),
          }),
        };
      }
      const event = phalaEventOf(phala.client.api, entry);
      if (event.pallet !== 'PhalaContracts' || event.type !== 'RequestSubmitted') {
        sink.rejected(chain.name, `block ${entry.block} #${entry.index} is not a request`);
        continue;
      }
      const job = await phala.watcher.jobOf(event, { number: entry.block, hash: entry.blockHash }, sink);
      if (job) await observe.request(job, { kind: entry.kind, data: entry.data, index: entry.index });
    }
    return { entries: entries.length, queued, rejected };
  } finally {
    if (phala) await closePhalaClient(phala.client);
    await queues.close().catch(() => undefined);
    redis.disconnect();
  }
}
