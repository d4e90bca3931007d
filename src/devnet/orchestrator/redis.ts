import { spawn } from 'node:child_process';
import net from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { BaseError, type Retry } from '../../base/errors.js';
import { redactUrl } from '../../base/redact-url.js';
import type { RedisConfig } from '../../config/schema.js';
import { createRedis } from '../../infra/redis.js';

export class RedisUnavailableError extends BaseError {
  /** Start Redis (or point the devnet at one). */
  static override readonly retry: Retry = 'after-fix';
  override name = 'RedisUnavailableError';
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_500, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(String(d).startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}

/**
 * Makes sure Redis answers at `url`: when nothing does and `redis-server` is installed, starts one
 * on loopback that keeps nothing on disk, and says so; otherwise says how to get one.
 */
export async function ensureRedis(
  url: string,
  onProgress: (line: string) => void = () => {},
): Promise<{ started: boolean }> {
  const { hostname, port } = new URL(url);
  const p = Number(port || 6379);
  if (await answers(hostname, p)) return { started: false };
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') {
    throw new RedisUnavailableError(`Redis does not answer at ${redactUrl(url)}.`);
  }
  onProgress(`starting redis-server on 127.0.0.1:${p} (nothing kept on disk)`);
  const started = await new Promise<boolean>((resolve) => {
    const child = spawn(
      'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes'],
      {
        stdio: 'ignore',
      },
    );
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
  if (!started) {
    throw new RedisUnavailableError(
      `Redis does not answer at ${redactUrl(url)} and redis-server is not installed.`,
      {
        details:
          'install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or point PHALA_BRIDGE_REDIS__URL at one',
      },
    );
  }
  for (let i = 0; i < 50; i++) {
    if (await answers(hostname, p)) return { started: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RedisUnavailableError(`redis-server started but does not answer on ${hostname}:${p}.`);
}

/**
 * Makes sure every node of a Redis Cluster answers. Nothing is started: a cluster is the
 * operator's (or a test's, test/helpers/redis-cluster.ts) to run.
 */
export async function ensureRedisCluster(nodes: { host: string; port: number }[]): Promise<void> {
  const silent: string[] = [];
  for (const { host, port } of nodes) if (!(await answers(host, port))) silent.push(`${host}:${port}`);
  if (silent.length > 0)
    throw new RedisUnavailableError(`Redis Cluster nodes do not answer: ${silent.join(', ')}.`, {
      details: 'start the cluster first, or check redis.clusterNodes',
    });
}

/**
 * Deletes every key under `<prefix>:` — what one devnet start wrote (queues, journeys, nonces,
 * checkpoints, XCM records) — on every master of a cluster. Keys are unlinked one by one: on a
 * cluster, keys of one node may still sit in different slots. Returns how many went.
 */
export async function deletePrefixedKeys(config: RedisConfig): Promise<number> {
  const redis = createRedis(config, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    let deleted = 0;
    for (const node of nodes)
      for await (const keys of node.scanStream({ match: `${config.prefix}:*`, count: 500 }) as AsyncIterable<
        string[]
      >) {
        if (keys.length === 0) continue;
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
        deleted += keys.length;
      }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/**
 * Stops a redis-server `ensureRedis` started, unless something else uses it by now (another
 * client connected, or keys that are not this devnet's): then it keeps running, and the reason
 * says why. Nothing is saved (it was started with nothing on disk).
 */
export async function stopStartedRedis(url: string): Promise<{ stopped: boolean; reason?: string }> {
  const { hostname, port } = new URL(url);
  const p = Number(port || 6379);
  // One connection, never re-made: SHUTDOWN closes it.
  const redis = new Redis(p, hostname, {
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const clients = String(await redis.client('LIST'))
      .split('\n')
      .filter((line) => line.trim().length > 0).length;
    const keys = await redis.dbsize();
    if (clients > 1 || keys > 0) {
      const others = [clients > 1 ? `${clients - 1} other clients` : '', keys > 0 ? `${keys} keys` : '']
        .filter(Boolean)
        .join(', ');
      return { stopped: false, reason: `in use (${others})` };
    }
    // The server closes the connection instead of answering.
    await redis.shutdown('NOSAVE').catch(() => undefined);
  } finally {
    redis.disconnect();
  }
  for (let i = 0; i < 50; i++) {
    if (!(await answers(hostname, p))) return { stopped: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { stopped: false, reason: 'it still answers after SHUTDOWN' };
}
