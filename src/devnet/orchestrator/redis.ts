import { spawn } from 'node:child_process';
import net from 'node:net';
import { BaseError, type Retry } from '../../base/errors.js';
import { redactUrl } from '../../base/redact-url.js';

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
