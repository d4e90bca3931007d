import { Cluster, Command, Redis, type RedisOptions } from 'ioredis';
import { BaseError, type Retry } from '../base/errors.js';
import { redactUrl } from '../base/redact-url.js';
import type { RedisConfig } from '../config/schema.js';

export type RedisConnection = Redis | Cluster;

/**
 * `redis.url` names a node of a Redis Cluster. One plain connection to a cluster node answers
 * most keys with `MOVED`, which BullMQ and the relayer would retry forever; so every command on
 * that connection fails with this instead. Retrying cannot help: the configuration must change.
 */
export class RedisClusterUrlError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'RedisClusterUrlError';
  readonly url: string;
  constructor(url: string) {
    super(`Redis at ${redactUrl(url)} is a Redis Cluster node, but redis.url connects to a single Redis.`, {
      details:
        'list the cluster nodes in redis.clusterNodes ([{ host, port }, …], or PHALA_BRIDGE_REDIS__CLUSTER_NODES) instead of redis.url',
      docsPath: 'docs/operations.md#redis-cluster',
    });
    this.url = redactUrl(url);
  }
}

/**
 * True when the prefix carries a hash tag (`{phala-bridge}`): Redis Cluster hashes only the first
 * tag of a key, so every key under it lands in one slot whatever tags follow (the older layout).
 */
export function isSingleSlotPrefix(prefix: string): boolean {
  const open = prefix.indexOf('{');
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1;
}

/**
 * A single-node connection that checks, before its first command, that the node is not part of a
 * cluster (`INFO cluster` → `cluster_enabled:1`). Commands wait for that one answer, then run, or
 * fail with `RedisClusterUrlError` and the connection closes: a clear error at start instead of
 * `MOVED` replies and a retry loop.
 */
class SingleNodeRedis extends Redis {
  #verified = false;
  #refusal: RedisClusterUrlError | null = null;
  #probe: Command | null = null;
  #check: Promise<void> | null = null;

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new SingleNodeRedis({ ...this.options, ...override });
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    if (this.#refusal) {
      command.reject(this.#refusal);
      return command.promise;
    }
    // Before `ready` a command goes to ioredis' offline queue and comes back here once ready.
    if (this.#verified || this.status !== 'ready' || command === this.#probe)
      return super.sendCommand(command, stream);
    this.#check ??= this.#verify();
    void this.#check.then(() => {
      if (this.#refusal) command.reject(this.#refusal);
      else super.sendCommand(command, stream);
    });
    return command.promise;
  }

  async #verify(): Promise<void> {
    this.#probe = new Command('info', ['cluster'], { replyEncoding: 'utf8' });
    super.sendCommand(this.#probe);
    // A server that refuses INFO (ACL) is taken as it is: the check is a convenience.
    const info = await this.#probe.promise.then(String, () => '');
    this.#probe = null;
    if (/^cluster_enabled:1\s*$/m.test(info)) {
      const { host, port } = this.options;
      this.#refusal = new RedisClusterUrlError(`redis://${host}:${port}`);
      this.emit('error', this.#refusal);
      this.disconnect();
    } else this.#verified = true;
  }
}

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
  return new SingleNodeRedis(config.url, base);
}
