import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The real Redis that tests use; each test file takes its own key prefix so runs never collide. */
export const REDIS_URL = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * The Redis connections and key prefixes a test file makes; `cleanUp` (its afterAll) deletes
 * every key under those prefixes and closes the connections.
 */
export function redisTestKit() {
  const connections: Redis[] = [];
  const prefixes: string[] = [];
  return {
    connection(autoPipelining = false): Redis {
      const c = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableAutoPipelining: autoPipelining });
      connections.push(c);
      return c;
    },
    /** A fresh braced prefix (one Redis Cluster slot), deleted on clean-up. */
    prefix(label: string): string {
      const prefix = `{${uniquePrefix(label)}}`;
      prefixes.push(prefix);
      return prefix;
    },
    async cleanUp(): Promise<void> {
      const redis = new Redis(REDIS_URL);
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
      for (const c of connections) c.disconnect();
    },
  };
}
