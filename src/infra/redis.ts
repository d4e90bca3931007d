import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.js';

export type RedisConnection = Redis | Cluster;

/**
 * One ioredis connection from the config's `redis` section: a URL, with TLS, Sentinel or Cluster
 * nodes when set. `maxRetriesPerRequest: null` is what BullMQ requires of its connections. Workers
 * and the relayer both connect through this, so they read the config the same way.
 */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): RedisConnection {
  const password = config.password?.reveal();
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(password ? { password } : {}),
    ...(config.tls ? { tls: {} } : {}),
    ...overrides,
  };
  if (config.clusterNodes?.length) {
    return new Cluster(config.clusterNodes, {
      redisOptions: base,
      dnsLookup: (address, callback) => callback(null, address),
    });
  }
  if (config.sentinels?.length) {
    return new Redis({ ...base, sentinels: config.sentinels, name: config.sentinelName! });
  }
  return new Redis(config.url, base);
}
