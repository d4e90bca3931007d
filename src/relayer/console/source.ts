import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { JourneyStore } from '../journey.js';
import type { RelayerMetrics } from '../metrics.js';
import type { Destination, OriginWatcher } from '../ports.js';
import type { RelayerQueues } from '../queues.js';
import type { ReadinessResult } from '../readiness.js';
import type { RedisConnection } from '../redis.js';

/**
 * What the console reads, handed over by the daemon (src/relayer/daemon.ts): its own stores,
 * queues, metrics and readiness, never copies. `adapters` is a function because the chain
 * adapters exist only once Redis answers, after the admin server (and so the console) is up.
 */
export type ConsoleSource = {
  config: Config;
  redis: RedisConnection;
  queues: RelayerQueues;
  journeys: JourneyStore;
  metrics: RelayerMetrics;
  adapters: () => { watchers: readonly OriginWatcher[]; destinations: readonly Destination[] };
  readiness: () => Promise<{ ok: boolean; checks: Record<string, ReadinessResult> }>;
  logger: Logger;
};
