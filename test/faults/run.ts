/**
 * `npm run test:faults`: fault scenarios for the relayer, each checked by the one assertion that
 * matters — every request fulfilled exactly once on chain — counted from the chain itself.
 * Relayers run as real child processes (`phala-bridge start`), so they can be SIGKILLed.
 * Ends with `faults: <S> scenarios, <N> requests, <L> lost, <D> duplicated`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type Hex, getAbiItem, parseEventLogs } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { type EvmRelayFixture, startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/phala-bridge.js');
// A Redis database of its own, so that "Redis flushed" flushes only what this run wrote.
const REDIS_URL = process.env.PHALA_BRIDGE_FAULTS_REDIS ?? 'redis://127.0.0.1:6379/13';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Relayer = { child: ChildProcess; log: string[]; stop(signal?: NodeJS.Signals): Promise<void> };
/** Relayers of the running scenario; their last log lines are printed when it fails. */
const spawned: { name: string; relayer: Relayer }[] = [];

function spawnRelayer(
  f: EvmRelayFixture,
  name: string,
  overrides: Parameters<EvmRelayFixture['rawConfig']>[0] = {},
): Relayer {
  const file = path.join(f.dataDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(f.rawConfig(overrides)));
  const child = spawn(process.execPath, [bin, 'start', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  spawned.push({ name, relayer: { child, log, stop: async () => {} } });
  child.stderr!.on('data', (d: Buffer) => {
    log.push(String(d));
    if (log.length > 200) log.shift();
  });
  return {
    child,
    log,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

type Outcome = {
  name: string;
  requests: number;
  lost: number;
  duplicated: number;
  seconds: number;
  error?: string;
};

async function count(
  f: EvmRelayFixture,
  ids: Hex[],
  fromBlock: bigint,
): Promise<{ lost: number; duplicated: number }> {
  const client = f.devnet.clients.publicClient;
  const pending = await Promise.all(
    ids.map((requestId) => isRequestPending(client, { gateway: f.devnet.gateway, requestId })),
  );
  const logs = await client.getLogs({
    address: f.devnet.gateway,
    event: getAbiItem({ abi: phalaBridgeGatewayAbi, name: 'RequestFulfilled' }),
    fromBlock,
    toBlock: 'latest',
  });
  const fulfilled = new Map<string, number>();
  for (const log of parseEventLogs({ abi: phalaBridgeGatewayAbi, logs, eventName: 'RequestFulfilled' })) {
    fulfilled.set(log.args.requestId, (fulfilled.get(log.args.requestId) ?? 0) + 1);
  }
  let duplicated = 0;
  for (const id of ids) duplicated += Math.max(0, (fulfilled.get(id) ?? 0) - 1);
  return { lost: pending.filter(Boolean).length, duplicated };
}

async function allAnswered(f: EvmRelayFixture, ids: Hex[], timeoutMs = 90_000) {
  const client = f.devnet.clients.publicClient;
  await waitFor(
    async () => {
      const pending = await Promise.all(
        ids.map((requestId) => isRequestPending(client, { gateway: f.devnet.gateway, requestId })),
      );
      return pending.every((p) => !p);
    },
    timeoutMs,
    'every request answered',
  ).catch(() => undefined);
}

/** Sends `n` requests, one every `gapMs`, calling `at(i)` before the i-th. */
async function stream(
  f: EvmRelayFixture,
  n: number,
  gapMs: number,
  at: (i: number) => Promise<void> = async () => {},
) {
  const ids: Hex[] = [];
  for (let i = 0; i < n; i++) {
    await at(i);
    ids.push(await f.request(`fault ${i} ${Date.now()}`));
    await sleep(gapMs);
  }
  return ids;
}

type Scenario = { name: string; run: (f: EvmRelayFixture) => Promise<Hex[]> };

const scenarios: Scenario[] = [
  {
    name: 'relayer SIGKILLed mid-run and restarted',
    run: async (f) => {
      let relayer = spawnRelayer(f, 'r1');
      const ids = await stream(f, 16, 150, async (i) => {
        if (i === 6) {
          await relayer.stop('SIGKILL');
          relayer = spawnRelayer(f, 'r1b');
        }
      });
      await allAnswered(f, ids);
      await relayer.stop();
      return ids;
    },
  },
  {
    name: 'two relayers at once',
    run: async (f) => {
      const a = spawnRelayer(f, 'a');
      const b = spawnRelayer(f, 'b');
      const ids = await stream(f, 16, 100);
      await allAnswered(f, ids);
      await Promise.all([a.stop(), b.stop()]);
      return ids;
    },
  },
  {
    name: 'Redis flushed mid-run',
    run: async (f) => {
      const relayer = spawnRelayer(f, 'flush');
      const first = await stream(f, 8, 100);
      await waitFor(async () => (await count(f, first, 0n)).lost <= 4, 60_000, 'half answered').catch(
        () => undefined,
      );
      await f.redis.flushdb();
      if ((await f.redis.dbsize()) > 0) throw new Error('Redis still holds keys after FLUSHDB');
      const second = await stream(f, 8, 100);
      const ids = [...first, ...second];
      await allAnswered(f, ids);
      await relayer.stop();
      return ids;
    },
  },
  {
    name: 'RPC connection dropped',
    run: async (f) => {
      const proxy = await startTcpProxy(Number(new URL(f.devnet.node.rpcUrl).port));
      const relayer = spawnRelayer(f, 'rpc', { rpcUrl: proxy.url });
      const ids = await stream(f, 16, 150, async (i) => {
        if (i === 5) proxy.drop();
        if (i === 11) proxy.restore();
      });
      await allAnswered(f, ids);
      await relayer.stop();
      await proxy.close();
      return ids;
    },
  },
  {
    name: 'EVM reorg undoes fulfillments',
    run: async (f) => {
      const client = f.devnet.clients.publicClient;
      const relayer = spawnRelayer(f, 'reorg');
      const ids = await stream(f, 8, 50);
      const snapshot = await client.request({ method: 'evm_snapshot' as never, params: [] as never });
      await allAnswered(f, ids);
      await client.request({ method: 'evm_revert' as never, params: [snapshot] as never });
      const undone = (await count(f, ids, 0n)).lost;
      if (undone === 0) throw new Error('the reorg undid no fulfillment: the scenario tested nothing');
      for (let i = 0; i < 4; i++) await client.request({ method: 'evm_mine' as never, params: [] as never });
      await allAnswered(f, ids);
      await relayer.stop();
      return ids;
    },
  },
  {
    name: 'submitter nonce taken by an outside transaction',
    run: async (f) => {
      const relayer = spawnRelayer(f, 'nonce');
      const outsider = privateKeyToAccount(f.relayerAccount.privateKey as Hex);
      let stop = false;
      const interfere = (async () => {
        while (!stop) {
          await f.devnet.clients.walletClient
            .sendTransaction({
              account: outsider,
              chain: f.devnet.clients.walletClient.chain,
              to: outsider.address,
              value: 0n,
            })
            .catch(() => undefined);
          await sleep(200);
        }
      })();
      const ids = await stream(f, 16, 150);
      stop = true;
      await interfere;
      await allAnswered(f, ids);
      await relayer.stop();
      return ids;
    },
  },
];

async function main() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  await redis.flushdb();
  redis.disconnect();
  const only = process.argv.slice(2);
  const outcomes: Outcome[] = [];
  for (const scenario of scenarios) {
    if (only.length && !only.some((o) => scenario.name.includes(o))) continue;
    const f = await startEvmRelayFixture({ redisUrl: REDIS_URL });
    const worker = f.startTestWorker();
    const started = Date.now();
    const fromBlock = await f.devnet.clients.publicClient.getBlockNumber();
    let ids: Hex[] = [];
    let error: string | undefined;
    try {
      ids = await scenario.run(f);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const { lost, duplicated } = ids.length ? await count(f, ids, fromBlock) : { lost: 0, duplicated: 0 };
    const outcome: Outcome = {
      name: scenario.name,
      requests: ids.length,
      lost,
      duplicated,
      seconds: Math.round((Date.now() - started) / 1000),
      ...(error ? { error } : {}),
    };
    outcomes.push(outcome);
    console.log(
      `${lost || duplicated || error ? 'FAIL' : 'ok  '} ${scenario.name}: ${ids.length} requests, ${lost} lost, ${duplicated} duplicated (${outcome.seconds} s)${error ? ` — ${error}` : ''}`,
    );
    await worker.close();
    await f.close();
  }
  const total = outcomes.reduce((a, o) => ({ n: a.n + o.requests, l: a.l + o.lost, d: a.d + o.duplicated }), {
    n: 0,
    l: 0,
    d: 0,
  });
  console.log(
    `faults: ${outcomes.length} scenarios, ${total.n} requests, ${total.l} lost, ${total.d} duplicated`,
  );
  process.exit(outcomes.some((o) => o.lost || o.duplicated || o.error) ? 1 : 0);
}

await main();
