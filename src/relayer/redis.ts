// The connection itself is shared with the workers (src/infra/redis.ts).
export { type RedisConnection, createRedis } from '../infra/redis.js';

/** A key under the deployment's hash-tagged prefix. */
export function redisKey(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(':');
}
