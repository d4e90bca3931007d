import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { RedisClusterUrlError, createRedis } from '../../src/infra/redis.js';
import {
  RESULT_QUEUE,
  confirmQueueName,
  requestQueueName,
  submitQueueName,
} from '../../src/protocol/queue-names.js';
import { RelayerDaemon } from '../../src/relayer/daemon.js';
import { redisKey, redisNamespace } from '../../src/relayer/redis.js';
import { requestFromEvm, waitForEvmResult } from '../../src/sdk/evm.js';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.js';

/**
 * The devnet on a real 3-master Redis Cluster (loopback, nothing on disk): every role reaches it
 * through `redis.clusterNodes`, an EVM request is answered, one deployment's queues and key
 * families spread over the masters while each queue stays in one slot, and a plain `redis.url`
 * naming a cluster node fails at once with the error that names the fix.
 */
let cluster: RedisClusterHandle;
let devnet: Devnet | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);

afterAll(async () => {
  await devnet?.stop();
  await cluster?.stop();
}, 60_000);

/** Every key under `prefix` on each master, by master port. */
async function keysByMaster(prefix: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const node of cluster.nodes) {
    const redis = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<
      string[]
    >)
      keys.push(...batch);
    out.set(node.port, keys);
    redis.disconnect();
  }
  return out;
}

describe('Redis Cluster (3 masters)', () => {
  it('runs the devnet: an EVM request is answered; queues and keys spread over the masters', async () => {
    const prefix = `phala-bridge-cluster-${Date.now().toString(36)}`;
    devnet = await startDevnet({
      redisClusterNodes: cluster.nodes,
      redisPrefix: prefix,
      workers: 1,
      examples: false,
    });
    expect(devnet.config.redis.clusterNodes).toEqual(cluster.nodes);
    expect(devnet.relayer.daemon.redis).toBeInstanceOf(Cluster);

    const { evm } = devnet.chains;
    const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });
    const sender = createWalletClient({
      account: privateKeyToAccount(evm.accounts[3]!.privateKey),
      transport: http(evm.rpcUrl),
    });
    const sent = await requestFromEvm(sender, {
      publicClient,
      gateway: evm.gateway,
      contractId: devnet.contracts.greeter.contractId,
      input: 'cluster',
    });
    const result = await waitForEvmResult(publicClient, {
      gateway: evm.gateway,
      requestId: sent.requestId,
      fromBlock: sent.blockNumber,
      timeoutMs: 60_000,
    });
    expect(Buffer.from(result.publicOutput.slice(2), 'hex').toString()).toBe('hello, cluster!');

    // Each queue and key family in one slot, the deployment over more than one master.
    const byMaster = await keysByMaster(prefix);
    const tagOf = (key: string) => /\{([^}]+)\}/.exec(key)?.[1] ?? '';
    const mastersOfTag = new Map<string, Set<number>>();
    for (const [port, keys] of byMaster)
      for (const key of keys) {
        const tag = tagOf(key);
        expect(tag, key).not.toBe('');
        mastersOfTag.set(tag, (mastersOfTag.get(tag) ?? new Set()).add(port));
      }
    for (const [tag, masters] of mastersOfTag) expect(masters.size, tag).toBe(1);
    const requestTag = requestQueueName(devnet.cluster).slice(1, -1);
    expect([...mastersOfTag.keys()]).toEqual(
      expect.arrayContaining([requestTag, RESULT_QUEUE.slice(1, -1), 'journeys']),
    );
    const used = [...byMaster.values()].filter((keys) => keys.length > 0).length;
    expect(used, JSON.stringify(Object.fromEntries(mastersOfTag))).toBeGreaterThan(1);
  }, 150_000);

  it('keeps a braced prefix in one slot, and gives a plain one per-queue / per-family slots', async () => {
    const node = new Redis({ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port });
    const slot = async (key: string) => Number(await node.cluster('KEYSLOT', key));
    const keysOf = (prefix: string) => [
      `${prefix}:${requestQueueName('0x0123456789abcdef0123')}:wait`,
      `${prefix}:${RESULT_QUEUE}:wait`,
      `${prefix}:${submitQueueName('evm')}:wait`,
      `${prefix}:${confirmQueueName('evm')}:wait`,
      redisKey(prefix, 'pending', 'evm'),
      redisKey(prefix, 'checkpoint', 'evm'),
      redisKey(prefix, 'lease', 'submit:evm'),
      redisKey(prefix, 'instance'),
      redisKey(prefix, 'journeys'),
    ];
    const braced = await Promise.all(keysOf('{phala-bridge}').map(slot));
    expect(new Set(braced).size).toBe(1);
    expect(redisKey('{phala-bridge}', 'pending', 'evm')).toBe('{phala-bridge}:pending:evm');
    const plain = await Promise.all(keysOf('phala-bridge').map(slot));
    expect(new Set(plain).size).toBe(plain.length);
    // What one script touches together shares a slot: a journey with the index, a lease with its fence.
    expect(await slot(redisKey('phala-bridge', 'journey', 'evm-1'))).toBe(
      await slot(redisKey('phala-bridge', 'journeys')),
    );
    expect(await slot(redisKey('phala-bridge', 'journey-meta', 'evm-1'))).toBe(
      await slot(redisKey('phala-bridge', 'journeys')),
    );
    expect(redisNamespace('{phala-bridge}', 'xcm')).toBe('{phala-bridge}');
    expect(redisNamespace('phala-bridge', 'xcm')).toBe('phala-bridge:{xcm}');
    const lease = redisKey('phala-bridge', 'lease', 'submit:evm');
    expect(await slot(`${lease}:fence`)).toBe(await slot(lease));
    node.disconnect();
  });

  it('refuses a plain redis.url naming a cluster node at once, naming redis.clusterNodes', async () => {
    const config = parseConfig(
      {
        mode: 'development',
        chains: [
          {
            kind: 'evm',
            name: 'evm',
            chainId: 31337,
            rpcUrl: 'http://127.0.0.1:9',
            gateway: `0x${'11'.repeat(20)}`,
            signer: { value: `0x${'01'.repeat(32)}` },
          },
        ],
        redis: { url: cluster.firstNodeUrl, prefix: 'phala-bridge-misconfigured' },
        metrics: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
      },
      'test',
      {},
    );
    const started = Date.now();
    // The connection itself: its first command fails with the error, not MOVED.
    const redis = createRedis(config.redis);
    const errors: unknown[] = [];
    redis.on('error', (error) => errors.push(error));
    const refused = await redis.get('any-key').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RedisClusterUrlError);
    expect((refused as RedisClusterUrlError).message).toContain('redis.clusterNodes');
    expect((refused as RedisClusterUrlError).docsPath).toBe('docs/operations.md#redis-cluster');
    expect((refused as RedisClusterUrlError).retry).toBe('after-fix');
    expect(errors.some((e) => e instanceof RedisClusterUrlError)).toBe(true);
    // BullMQ on such a connection gets the same error instead of a retry loop.
    const queue = new Queue(RESULT_QUEUE, {
      connection: createRedis(config.redis),
      prefix: config.redis.prefix,
    });
    queue.on('error', () => undefined);
    await expect(queue.add('x', {})).rejects.toBeInstanceOf(RedisClusterUrlError);
    await queue.close().catch(() => undefined);

    // The relayer's start fails with it.
    const daemon = new RelayerDaemon({
      config,
      logger: pino({ level: 'silent' }),
      adapters: async () => ({ watchers: [], destinations: [] }),
    });
    await expect(daemon.start()).rejects.toBeInstanceOf(RedisClusterUrlError);
    await daemon.stop(1_000).catch(() => undefined);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('makes `phala-bridge start` exit with that one error when redis.url names a cluster node', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'phala-bridge-cluster-url-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        mode: 'development',
        chains: [
          {
            kind: 'evm',
            name: 'evm',
            chainId: 31337,
            rpcUrl: 'http://127.0.0.1:9',
            gateway: `0x${'11'.repeat(20)}`,
            signer: { value: `0x${'01'.repeat(32)}` },
          },
        ],
        redis: { url: cluster.firstNodeUrl, prefix: 'phala-bridge-misconfigured' },
        metrics: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        log: { level: 'error' },
      }),
    );
    const bin = path.resolve(import.meta.dirname, '../../bin/phala-bridge.js');
    const child = spawn(process.execPath, [bin, 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const exit = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect(exit, output).not.toBeNull();
    expect(exit, output).not.toBe(0);
    expect(output).toContain('is a Redis Cluster node');
    expect(output).toContain('redis.clusterNodes');
    expect(output).not.toContain('MOVED');
  }, 40_000);
});
