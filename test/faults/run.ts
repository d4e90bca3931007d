/**
 * `npm run test:faults`: fault scenarios for the relayer, each checked by the one assertion that
 * matters — every request fulfilled exactly once on chain — counted from the chain itself.
 * Relayers run as real child processes (`phala-bridge start`), so they can be SIGKILLed.
 * Ends with `faults: <S> scenarios, <N> requests, <L> lost, <D> duplicated`.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { requestQueueName } from '../../src/protocol/queue-names.js';
import { type EvmRelayFixture, startEvmRelayFixture, waitFor } from '../helpers/evm-relay.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { type WorkerEvmRelayFixture, startWorkerEvmRelayFixture } from '../helpers/worker-evm-relay.js';
import { clusterScenarios } from './cluster.js';
import {
  REDIS_URL,
  type Scenario,
  type ScenarioResult,
  allAnswered,
  cleanups,
  count,
  deliveredCount,
  onboardWorker,
  sleep,
  spawnRelayer,
  spawnWorker,
  spawned,
  stream,
  trace,
} from './harness.js';
import { inFlightScenarios } from './in-flight.js';
import { outageScenarios } from './outages.js';

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
  refused: number;
  seconds: number;
  error?: string;
};

const scenarios: Scenario[] = [
  {
    name: 'relayer SIGKILLed mid-run and restarted',
    run: async (f) => {
      let relayer = await spawnRelayer(f, 'r1');
      const ids = await stream(f, 16, 150, async (i) => {
        if (i === 6) {
          await relayer.stop('SIGKILL');
          relayer = await spawnRelayer(f, 'r1b');
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
      const a = await spawnRelayer(f, 'a');
      const b = await spawnRelayer(f, 'b');
      const ids = await stream(f, 16, 100);
      await allAnswered(f, ids);
      await Promise.all([a.stop(), b.stop()]);
      return ids;
    },
  },
  {
    name: 'Redis flushed mid-run',
    run: async (f) => {
      const relayer = await spawnRelayer(f, 'flush');
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
      const relayer = await spawnRelayer(f, 'rpc', { rpcUrl: proxy.url });
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
      // The requests are mined before the snapshot, their fulfilments (the relayer starts after it) after.
      const ids = await stream(f, 8, 50);
      const snapshot = await client.request({ method: 'evm_snapshot' as never, params: [] as never });
      const relayer = await spawnRelayer(f, 'reorg');
      await allAnswered(f, ids);
      // Mining stops across the revert: what the relayer sends again waits in the pool meanwhile,
      // so the fulfilments the reorg undid can be counted.
      await f.setAutomine(false);
      await client.request({ method: 'evm_revert' as never, params: [snapshot] as never });
      const undone = (await count(f, ids, 0n)).lost;
      await f.setAutomine(true);
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
      const relayer = await spawnRelayer(f, 'nonce');
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
    const relayer = await spawnRelayer(f, 'wk');
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

scenarios.push(...inFlightScenarios, ...outageScenarios, ...clusterScenarios);

async function main() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  await redis.flushdb();
  redis.disconnect();
  // `npm run test:faults -- <word> …`: only the scenarios whose name contains one of the words.
  const only = process.argv.slice(2);
  const outcomes: Outcome[] = [];
  for (const scenario of scenarios) {
    if (only.length && !only.some((o) => scenario.name.includes(o))) continue;
    const started = Date.now();
    let f: EvmRelayFixture | undefined;
    let worker: { close(): Promise<void> } | undefined;
    let result: ScenarioResult = { ids: [] };
    let error: string | undefined;
    let lost = 0;
    let duplicated = 0;
    try {
      f = scenario.start ? await scenario.start() : await startEvmRelayFixture({ redisUrl: REDIS_URL });
      // A scenario with its own fixture brings its own workers unless it asks for the test worker.
      worker = scenario.start && !scenario.testWorker ? undefined : f.startTestWorker(scenario.testWorker);
      trace('fixture started');
      const fromBlock = await f.devnet.clients.publicClient.getBlockNumber();
      try {
        const returned = await scenario.run(f);
        result = Array.isArray(returned) ? { ids: returned } : returned;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      for (const group of [{ f, ids: result.ids, fromBlock }, ...(result.elsewhere ?? [])]) {
        if (!group.ids.length) continue;
        const counted = await count(group.f, group.ids, group.fromBlock);
        lost += counted.lost;
        duplicated += counted.duplicated;
      }
      // A refused item counts as lost only if it was delivered after all (it must not be).
      if (result.refused?.length && (await deliveredCount(f, result.refused, fromBlock)) > 0)
        error ??= 'a request the gateway refused was delivered';
    } catch (e) {
      error ??= e instanceof Error ? e.message : String(e);
    }
    const requests =
      result.ids.length +
      (result.elsewhere ?? []).reduce((n, g) => n + g.ids.length, 0) +
      (result.refused?.length ?? 0);
    const outcome: Outcome = {
      name: scenario.name,
      requests,
      lost,
      duplicated,
      refused: result.refused?.length ?? 0,
      seconds: Math.round((Date.now() - started) / 1000),
      ...(error ? { error } : {}),
    };
    outcomes.push(outcome);
    const refusedNote = outcome.refused ? `, ${outcome.refused} refused as intended` : '';
    console.log(
      `${lost || duplicated || error ? 'FAIL' : 'ok  '} ${scenario.name}: ${requests} requests, ${lost} lost, ${duplicated} duplicated${refusedNote} (${outcome.seconds} s)${error ? ` — ${error}` : ''}`,
    );
    if (error || lost || duplicated)
      for (const { name, relayer } of spawned) {
        const tail = relayer.log.join('').trim().split('\n').slice(-8).join('\n      ');
        if (tail) console.log(`   ${name} (last lines):\n      ${tail}`);
      }
    // A scenario that failed part-way may leave its child processes running: none outlives it.
    for (const { relayer } of spawned.splice(0))
      if (relayer.child.exitCode === null && relayer.child.signalCode === null) relayer.child.kill('SIGKILL');
    await worker?.close().catch(() => undefined);
    await f?.close().catch(() => undefined);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  }
  const total = outcomes.reduce(
    (a, o) => ({ n: a.n + o.requests, l: a.l + o.lost, d: a.d + o.duplicated, r: a.r + o.refused }),
    { n: 0, l: 0, d: 0, r: 0 },
  );
  const times = outcomes.reduce((t, o) => t + o.seconds, 0);
  console.log(
    `faults: ${outcomes.length} scenarios, ${total.n} requests, ${total.l} lost, ${total.d} duplicated, ${total.r} refused as intended (${times} s)`,
  );
  process.exit(outcomes.some((o) => o.lost || o.duplicated || o.error) ? 1 : 0);
}

await main();
