import type { Config } from '../../config/schema.js';
import type { AdapterContext, ChainAdapters } from '../daemon.js';
import { EvmDestination, EvmOriginWatcher } from './evm.js';

/** Chain adapters for every chain in the config: each chain is watched and answered. */
export async function buildChainAdapters(config: Config, context: AdapterContext): Promise<ChainAdapters> {
  const adapters: ChainAdapters = { watchers: [], destinations: [], readiness: [] };
  for (const chain of config.chains) {
    if (chain.kind !== 'evm') continue;
    const common = {
      config: chain,
      redis: context.redis,
      keyPrefix: `${config.redis.prefix}:evm`,
      checkpoints: context.checkpoints(chain.name),
      logger: context.logger.child({ chain: chain.name }),
      metrics: context.metrics,
    };
    const watcher = new EvmOriginWatcher(common);
    adapters.watchers.push(watcher);
    if (chain.signer) adapters.destinations.push(new EvmDestination(common));
    adapters.readiness!.push({
      name: `chain:${chain.name}`,
      check: async () => {
        const lag = await watcher.lag();
        return { ok: lag >= 0 && lag < 1_000, detail: `lag ${lag} blocks` };
      },
    });
  }
  return adapters;
}
