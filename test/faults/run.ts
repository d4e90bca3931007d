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
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Hex, getAbiItem, parseEventLogs } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { isRequestPending } from '../../src/evm/gateway/read.js';
import { requestQueueName } from '../../src/protocol/queue-names.js';
import { type EvmRelayFixture, startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { type WorkerEvmRelayFixture, startWorkerEvmRelayFixture } from '../helpers/worker-evm-relay.js';

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

type WorkerChild = {
  child: ChildProcess;
  url: string;
  address: Hex;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

/** A worker service as an operator runs it (`phala-bridge worker --config`); resolves once its API listens. */
async function spawnWorker(f: WorkerEvmRelayFixture, name: string): Promise<WorkerChild> {
  const file = f.writeWorkerConfig({
    name,
    concurrency: 2,
    lockDurationMs: 2_000,
    stalledIntervalMs: 1_000,
    logLevel: 'info',
  });
  const child = spawn(process.execPath, [bin, 'worker', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  spawned.push({ name, relayer: { child, log, stop: async () => {} } });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start in time`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      for (const line of String(d).split('\n')) {
        if (!line) continue;
        log.push(line);
        if (log.length > 200) log.shift();
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'worker http api listening' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited with ${code}`));
    });
  });
  const info = (await (await fetch(`${url}/info`)).json()) as {
    worker: { secp256k1: Hex; x25519: Hex; address: Hex };
  };
  return {
    child,
    url,
    address: info.worker.address,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** Onboards a spawned worker (approval, key, gateway) and waits until it serves with the key. */
async function onboardWorker(f: WorkerEvmRelayFixture, worker: WorkerChild): Promise<void> {
  const info = async () =>
    (await (await fetch(`${worker.url}/info`)).json()) as {
      worker: { secp256k1: Hex; x25519: Hex; address: Hex };
      serving: boolean;
      keys: { id: string }[];
    };
  await f.onboard((await info()).worker);
  await waitFor(
    async () => {
      const view = await info();
      return view.serving && view.keys.some((k) => k.id === f.deployed.contractId.toLowerCase());
    },
    60_000,
    'the worker serving with the contract key',
  );
}

/** A stateless contract slow enough (a few hundred ms) that a worker is caught holding jobs. */
const SLOW_ECHO = `
export function handle(input, ctx) {
  const text = ctx.utf8.decode(input);
  let x = 0;
  for (let i = 0; i < 1500000; i++) x = (x + i) % 7;
  return { public: text.toUpperCase(), sealed: 'secret:' + text + x };
}`;

/** The fixture of the scenario running with real worker services (set by its `start`). */
let workerFixture: WorkerEvmRelayFixture | undefined;

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

type Scenario = {
  name: string;
  run: (f: EvmRelayFixture) => Promise<Hex[]>;
  /** Its own fixture (default: the EVM fixture with the in-process test worker). */
  start?: () => Promise<EvmRelayFixture>;
};

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
      // The relayer keeps writing (leases, checkpoints), so only the flush itself is checked.
      if ((await f.redis.flushdb()) !== 'OK') throw new Error('FLUSHDB refused');
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

scenarios.push({
  name: 'worker killed mid-job',
  start: async () => {
    workerFixture = await startWorkerEvmRelayFixture('faults-worker', {
      redisUrl: REDIS_URL,
      code: SLOW_ECHO,
    });
    return workerFixture;
  },
  run: async () => {
    const f = workerFixture!;
    const relayer = spawnRelayer(f, 'wk');
    const a = await spawnWorker(f, 'worker-a');
    const b = await spawnWorker(f, 'worker-b');
    try {
      await Promise.all([onboardWorker(f, a), onboardWorker(f, b)]);
      const ids = await stream(f, 12, 50);
      // SIGKILL worker A while it holds jobs; B takes them over once A's locks expire.
      const connection = f.redis.duplicate();
      const requests = new Queue(requestQueueName(f.cluster), { connection, prefix: f.prefix });
      const held = await waitFor(
        async () => {
          const active = await requests.getActive();
          const mine = active.filter((j) => j.processedBy === a.address.toLowerCase());
          return mine.length > 0 ? mine.length : null;
        },
        30_000,
        'worker A holding jobs',
      );
      await a.stop('SIGKILL');
      await requests.close();
      connection.disconnect();
      if (!held) throw new Error('worker A held no job when killed: the scenario tested nothing');
      await allAnswered(f, ids);
      return ids;
    } finally {
      await Promise.all([a.stop('SIGKILL'), b.stop(), relayer.stop()]);
    }
  },
});

async function main() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  await redis.flushdb();
  redis.disconnect();
  const only = process.argv.slice(2);
  const outcomes: Outcome[] = [];
  for (const scenario of scenarios) {
    if (only.length && !only.some((o) => scenario.name.includes(o))) continue;
    const f = scenario.start ? await scenario.start() : await startEvmRelayFixture({ redisUrl: REDIS_URL });
    const worker = scenario.start ? undefined : f.startTestWorker();
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
    // A scenario that failed part-way may leave its child processes running: none outlives it.
    for (const { relayer } of spawned.splice(0))
      if (relayer.child.exitCode === null && relayer.child.signalCode === null) relayer.child.kill('SIGKILL');
    await worker?.close();
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
