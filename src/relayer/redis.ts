// The connection itself is shared with the workers (src/infra/redis.ts).
export { type RedisConnection, createRedis, isSingleSlotPrefix } from '../infra/redis.js';
import { isSingleSlotPrefix } from '../infra/redis.js';

/**
 * Key families that one Lua script touches together, so they must share a Redis Cluster slot:
 * a journey's entries and meta hash are written with the journey index in one script
 * (journey.ts `RECORD`).
 */
const SHARED_SLOT: Readonly<Record<string, string>> = {
  journey: 'journeys',
  'journey-meta': 'journeys',
  journeys: 'journeys',
};

/**
 * The one place the relayer names its keys: `redisKey(prefix, family, name?, ...rest)`.
 *
 * With a plain prefix (`phala-bridge`) the family and its first name are the key's hash tag, so
 * one deployment's keys spread over a cluster's masters while what belongs to one chain stays
 * together (a pipeline or script over one chain's keys works): `phala-bridge:{pending:evm}`,
 * `phala-bridge:{sent:evm}:<batch>`, `phala-bridge:{lease:submit:evm}` (its `:fence` in the same
 * slot), `phala-bridge:{instance}`; the journey families all sit under `phala-bridge:{journeys}`.
 * With a braced prefix (`{phala-bridge}`, the older layout) keys are `{phala-bridge}:pending:evm`:
 * the prefix's tag wins and every key is in one slot, exactly as before.
 * docs/operations.md#redis-cluster lists the families and why each shares what it shares.
 */
export function redisKey(prefix: string, ...parts: string[]): string {
  if (isSingleSlotPrefix(prefix) || parts.length === 0) return [prefix, ...parts].join(':');
  const shared = SHARED_SLOT[parts[0]!];
  const tagged = shared ? [shared] : parts.slice(0, 2);
  const rest = shared ? (parts.length === 1 && parts[0] === shared ? [] : parts) : parts.slice(2);
  return [prefix, `{${tagged.join(':')}}`, ...rest].join(':');
}

/**
 * The namespace for a key family whose own code appends the rest of each key and runs MULTI or
 * scripts across them (the XCM tracker store: `<namespace>:xcm:msg:<id>`, its open set, its
 * cursors): `phala-bridge:{xcm}` with a plain prefix, the prefix itself when braced (keys as before).
 */
export function redisNamespace(prefix: string, family: string): string {
  return isSingleSlotPrefix(prefix) ? prefix : `${prefix}:{${family}}`;
}
