import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type RedisClusterHandle = {
  /** The masters, as `redis.clusterNodes` takes them. */
  nodes: { host: string; port: number }[];
  /** `redis://127.0.0.1:<port>` of the first master: what a misconfigured `redis.url` would name. */
  firstNodeUrl: string;
  stop(): Promise<void>;
};

/** Loopback ports nothing listens on now: taken by binding to port 0 and letting go. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 30_000,
  });
  return stdout;
}

async function until(label: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis cluster: ${label} not reached in ${timeoutMs} ms`);
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on loopback ports, nothing kept on
 * disk, in a fresh temporary directory; `stop` ends each server by its pid and removes the
 * directory. Needs `redis-server` and `redis-cli` (Debian: redis-server, redis-tools).
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-redis-cluster-'));
  const ports = await freePorts(masters);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
              return resolve();
            child.once('exit', () => resolve());
            process.kill(child.pid, 'SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
    await until('servers answering', async () => {
      const answers = await Promise.all(ports.map((p) => cli(p, 'ping').catch(() => '')));
      return answers.every((a) => a.trim() === 'PONG');
    });
    await cli(
      ports[0]!,
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    );
    await until('cluster_state:ok on every node', async () => {
      const infos = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')));
      return infos.every((info) => /cluster_state:ok/.test(info));
    });
    return {
      nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
      firstNodeUrl: `redis://127.0.0.1:${ports[0]}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
