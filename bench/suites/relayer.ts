import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Hex, parseEventLogs } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { fromHex, toHex } from '../../src/base/bytes.js';
import { parseConfig } from '../../src/config/load.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { sendRequest } from '../../src/evm/gateway/request.js';
import { computeRequestIdFromInput } from '../../src/evm/request-id.js';
import { createLogger } from '../../src/log/logger.js';
import { originKey, requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName, resultJobIdOf } from '../../src/protocol/queue-names.js';
import { type RequestJob, requestJobSchema } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { Enclave, SimPlatform } from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { resultJobOf } from '../../src/pruntime/worker/request-processor.js';
import { type AdminClientParameters, getJourney } from '../../src/relayer/admin-client.js';
import { RelayerDaemon } from '../../src/relayer/daemon.js';
import type { Destination, ItemOutcome, OriginWatcher, WatchSink } from '../../src/relayer/ports.js';
import { submitQueueName } from '../../src/relayer/queues.js';
import { sealInput } from '../../src/sdk/seal.js';
import type { BenchReport } from '../index.js';

export const name = 'relayer';

/**
 * The relayer's own cost, two ways.
 *
 * (a) Queue pipeline, observe → result ready to submit: a real RelayerDaemon on a real Redis
 * (unique prefix) with a bench watcher feeding its observe stage (as the EVM watcher does, from
 * 8 concurrent callers) and an in-memory destination (no chain: it approves the bench workers and
 * answers every submission at once). Workers are BullMQ consumers of the cluster queue running
 * the real enclave (sim TEE) and QuickJS engine on a one-line stateless contract, as
 * test/helpers/evm-relay.ts does; the worker service's chain reads are left out (see the
 * pruntime-worker suite). "Ready" is the submit job being added (after the result checks:
 * request match, proof recovery, approved worker). Beside it, in the same run: raw BullMQ
 * add → process of empty jobs with the same feeding, and the ratio of the two rates. Added
 * latency is observe → ready minus the enclave's own execution time, at half the peak rate.
 *
 * (b) End to end on the devnet (`startDevnet`: relay + Phala-style + sibling chains, Hardhat
 * gateway, gatekeeper, 2 real worker services, relayer), with a stateless echo contract:
 * requests sent straight to the gateway by 10 funded senders, all fulfilled; mined → mined
 * latency is timed by a block follower (wall clock at first sight of each block). Run with worker
 * batching on and then off (a second devnet), for gas per request.
 */

const REDIS_URL = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const ECHO = 'export function handle(input, ctx) { return { public: input, sealed: "" }; }';
const GATEWAY = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Hex;
const CHAIN_ID = 31337;
const FEEDERS = 8;
const PIPELINE_REQUESTS = Number(process.env.BENCH_RELAYER_PIPELINE_REQUESTS ?? 600);
const E2E_REQUESTS = Number(process.env.BENCH_RELAYER_E2E_REQUESTS ?? 1000);
const E2E_UNBATCHED_REQUESTS = Number(process.env.BENCH_RELAYER_E2E_UNBATCHED_REQUESTS ?? 1000);
const SENDERS = 10;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `task(i)` for i < n from `width` concurrent callers. */
async function feed(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Runs `task(i)` for i < n at `perSecond`, not waiting for one to finish before the next. */
async function paced(n: number, perSecond: number, task: (i: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(task(i));
  }
  await Promise.all(running);
}

// ---------------------------------------------------------------- (a) queue pipeline

type Mode = { width: number } | { perSecond: number };
type Presigned = { job: RequestJob; result: ResultJob };

/**
 * The contract, its key, one worker enclave holding it, and requests with the results that
 * enclave signed for them (the real enclave and engine, run before timing).
 */
async function pipelineWorld(dataDir: string) {
  const engine = await ContractEngine.start({ threads: Math.min(2, os.availableParallelism()) });
  const cluster = toHex(new Uint8Array(32).fill(0x22));
  const contractId = toHex(generateKeyPair('x25519').publicKey);
  const contractKey = generateKeyPair('x25519');
  const origin = { kind: 'evm' as const, chainId: CHAIN_ID, gateway: GATEWAY };
  const enclave = await Enclave.open({
    dataDir: path.join(dataDir, 'worker'),
    platform: new SimPlatform({
      platformSecret: new Uint8Array(32).fill(7),
      platformCaKey: new Uint8Array(32).fill(9),
      measurement: new Uint8Array(32).fill(0x4d),
    }),
    engine,
  });
  await enclave.receiveKeyHandover({
    envelope: sealKeyHandover(fromHex(enclave.publicIdentity.x25519), {
      kind: 'contract',
      id: fromHex(contractId),
      epoch: 1,
      secretKey: contractKey.secretKey,
    }),
    epoch: 1,
    expectedPublicKey: contractKey.publicKey,
  });
  const identity = enclave.publicIdentity;
  const target = { kind: 'evm' as const, chainId: CHAIN_ID, verifyingContract: GATEWAY };
  const responseKey = toHex(generateKeyPair('x25519').publicKey);
  const requester = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' as Hex;
  let nonce = 0n;

  /** Requests sealed beforehand (sealing is the client's cost, not the relayer's). */
  function requests(n: number): RequestJob[] {
    return Array.from({ length: n }, () => {
      nonce++;
      const sealedInput = sealInput({
        contractPublicKey: contractKey.publicKey,
        contractId,
        origin,
        requester,
        responseKey,
        input: `request ${nonce}`,
      });
      return {
        v: 1,
        origin,
        requestId: computeRequestIdFromInput({
          ...origin,
          nonce,
          requester,
          endUser: requester,
          contractId,
          responseKey,
          sealedInput,
        }),
        contractId,
        cluster,
        requester,
        nonce: nonce.toString(),
        sealedInput,
        responseKey,
        deadline: Math.floor(Date.now() / 1000) + 3_600,
        observed: {
          chain: 'bench',
          blockNumber: Number(nonce),
          blockHash: toHex(new Uint8Array(32).fill(1)),
          at: Date.now(),
        },
      } satisfies RequestJob;
    });
  }

  /** What a worker does for one request: run the contract in the enclave, shape the signed result. */
  async function execute(request: RequestJob): Promise<ResultJob> {
    const executed = await enclave.execute({
      contractId: request.contractId,
      code: ECHO,
      originKey: originKey(request.origin),
      origin: { kind: 'evm', chainId: CHAIN_ID },
      requester: fromHex(request.requester),
      requestId: request.requestId,
      sealedInput: fromHex(request.sealedInput),
      responseKey: fromHex(request.responseKey),
      state: null,
      target,
    });
    return resultJobOf(
      request,
      requestJobId(request.origin, request.requestId),
      executed,
      identity,
      Date.now(),
    );
  }

  async function presign(n: number): Promise<Presigned[]> {
    const jobs = requests(n);
    const out: Presigned[] = [];
    await feed(n, 4, async (i) => {
      out[i] = { job: jobs[i]!, result: await execute(jobs[i]!) };
    });
    return out;
  }

  return {
    cluster,
    address: identity.address.toLowerCase(),
    requests,
    execute,
    presign,
    close: () => engine.close(),
  };
}
type PipelineWorld = Awaited<ReturnType<typeof pipelineWorld>>;

/** A real RelayerDaemon under `prefix` with the bench watcher and the in-memory destination. */
async function startDaemon(prefix: string, approved: string) {
  // The watcher only hands over the daemon's observe stage (it starts under the watch lease).
  const watchers: OriginWatcher[] = [];
  const sinkReady = new Promise<WatchSink>((resolve) => {
    watchers.push({
      chain: 'bench',
      start: async (s) => resolve(s),
      stop: async () => {},
      lag: async () => 0,
    });
  });
  // The chain side, in memory: the bench worker is approved, and every submission succeeds.
  const destination: Destination & { batch: { maxSize: number; maxDelayMs: number } } = {
    chain: 'bench',
    batch: { maxSize: 16, maxDelayMs: 20 },
    accepts: (o) => o.kind === 'evm' && o.chainId === CHAIN_ID,
    isApprovedWorker: async (_cluster, worker) => worker.address.toLowerCase() === approved,
    status: async () => 'pending',
    submit: async (items, onSent) => {
      const txHash = toHex(crypto.getRandomValues(new Uint8Array(32)));
      await onSent(txHash, items);
      return items.map((): ItemOutcome => ({ kind: 'fulfilled', txHash }));
    },
  };
  const config = parseConfig(
    {
      mode: 'development',
      chains: [
        {
          kind: 'evm',
          name: 'bench',
          chainId: CHAIN_ID,
          rpcUrl: 'http://127.0.0.1:9',
          gateway: GATEWAY,
          batch: destination.batch,
        },
      ],
      redis: { url: REDIS_URL, prefix },
      queues: { backoffMs: [200, 500, 1000] },
      metrics: { port: 0 },
      admin: { port: 0 },
      log: { level: 'error' },
      shutdownGraceMs: 5_000,
    },
    'bench',
    {},
  );
  const daemon = new RelayerDaemon({
    config,
    logger: createLogger({ level: 'error' }),
    adapters: () => ({ watchers, destinations: [destination] }),
  });
  await daemon.start();
  return { observe: await sinkReady, close: () => daemon.stop(2_000) };
}

/**
 * `count` BullMQ consumers of the cluster queue (concurrency 4 each). `presigned`: a worker looks
 * up the result the enclave signed beforehand and puts it on the results queue (the relayer's
 * cost alone); otherwise it runs the request in the enclave first.
 */
async function startWorkers(
  redis: Redis,
  prefix: string,
  world: PipelineWorld,
  count: number,
  presigned: Map<string, ResultJob> | null,
) {
  const results = new Queue(RESULT_QUEUE, { connection: redis, prefix });
  const executeMs = new Map<string, number>();
  const workers = Array.from(
    { length: count },
    () =>
      new Worker(
        requestQueueName(world.cluster),
        async (job: Job) => {
          const request = requestJobSchema.parse(job.data);
          const id = requestJobId(request.origin, request.requestId);
          const started = performance.now();
          const result = presigned?.get(id) ?? (await world.execute(request));
          executeMs.set(id, performance.now() - started);
          await results.add('result', result, { jobId: resultJobIdOf(id, result.worker.address) });
        },
        { connection: redis.duplicate(), prefix, concurrency: 4 },
      ),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    executeMs,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await results.close();
    },
  };
}

/** Feeds `jobs` through observe and times each until its submit job is added (result accepted). */
async function timePipeline(
  redis: Redis,
  prefix: string,
  observe: WatchSink,
  jobs: RequestJob[],
  mode: Mode,
) {
  const events = new QueueEvents(submitQueueName('bench'), { connection: redis.duplicate(), prefix });
  await events.waitUntilReady();
  const observedAt = new Map<string, number>();
  const latency = new Map<string, number>();
  let last = 0;
  const done = new Promise<void>((resolve) => {
    events.on('added', ({ jobId }) => {
      const at = observedAt.get(jobId);
      if (at === undefined || latency.has(jobId)) return;
      last = performance.now();
      latency.set(jobId, last - at);
      if (latency.size === jobs.length) resolve();
    });
  });
  const first = performance.now();
  const one = async (i: number) => {
    const job = jobs[i]!;
    observedAt.set(requestJobId(job.origin, job.requestId), performance.now());
    await observe.request(job);
  };
  if ('width' in mode) await feed(jobs.length, mode.width, one);
  else await paced(jobs.length, mode.perSecond, one);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`pipeline: ${latency.size} of ${jobs.length} results ready after 120 s`)),
        120_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  await events.close();
  return { seconds: (last - first) / 1000, latency };
}

/** Raw BullMQ: add → process of empty jobs, fed like the pipeline. */
async function rawBullmq(redis: Redis, prefix: string, n: number, mode: Mode) {
  const name = `raw-${Math.random().toString(36).slice(2, 8)}`;
  const queue = new Queue(name, { connection: redis, prefix });
  const addedAt = new Map<string, number>();
  const latency: number[] = [];
  let last = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const worker = new Worker(name, async () => {}, { connection: redis.duplicate(), prefix, concurrency: 16 });
  worker.on('completed', (job) => {
    last = performance.now();
    latency.push(last - addedAt.get(job.id!)!);
    if (latency.length === n) resolveDone();
  });
  await worker.waitUntilReady();
  const first = performance.now();
  const one = async (i: number) => {
    addedAt.set(`j${i}`, performance.now());
    await queue.add('empty', {}, { jobId: `j${i}`, removeOnComplete: true });
  };
  if ('width' in mode) await feed(n, mode.width, one);
  else await paced(n, mode.perSecond, one);
  await done;
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  return { rate: n / ((last - first) / 1000), latency };
}

async function pipelineBench(rows: Record<string, string | number>[], figures: Record<string, unknown>) {
  const base = `bench-relayer-${Date.now().toString(36)}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-relayer-'));
  const world = await pipelineWorld(dataDir);
  const prefixes: string[] = [];
  /** One daemon, under a fresh prefix, for one measurement (the same requests can be fed again). */
  const withDaemon = async <T>(fn: (observe: WatchSink, prefix: string) => Promise<T>): Promise<T> => {
    const prefix = `{${base}-${prefixes.length}}`;
    prefixes.push(prefix);
    const daemon = await startDaemon(prefix, world.address);
    try {
      return await fn(daemon.observe, prefix);
    } finally {
      await daemon.close();
    }
  };
  try {
    const warm = await world.presign(20);
    const main = await world.presign(PIPELINE_REQUESTS);
    const presigned = new Map([...warm, ...main].map((p) => [p.result.jobId, p.result]));
    const mainJobs = main.map((p) => p.job);
    /** One daemon with `count` workers: optionally warmed up, then `jobs` fed in `mode` and timed. */
    const measure = (
      count: number,
      results: Map<string, ResultJob> | null,
      jobs: RequestJob[],
      mode: Mode,
      warmUp: boolean,
    ) =>
      withDaemon(async (observe, prefix) => {
        const workers = await startWorkers(redis, prefix, world, count, results);
        try {
          if (warmUp)
            await timePipeline(
              redis,
              prefix,
              observe,
              warm.map((p) => p.job),
              { width: FEEDERS },
            );
          const timed = await timePipeline(redis, prefix, observe, jobs, mode);
          return { ...timed, executeMs: workers.executeMs };
        } finally {
          await workers.close();
        }
      });
    const raw = await rawBullmq(redis, `{${base}-raw}`, PIPELINE_REQUESTS, { width: FEEDERS });
    prefixes.push(`{${base}-raw}`);
    rows.push({
      case: `raw BullMQ add→process, empty jobs (${FEEDERS} feeders)`,
      'requests/s': Math.round(raw.rate),
      'p50 ms': round(percentile(raw.latency, 50)),
      'p99 ms': round(percentile(raw.latency, 99)),
    });
    figures.rawBullmqPerSecond = Math.round(raw.rate);
    let peak4 = 0;
    for (const count of [1, 2, 4]) {
      const { seconds, latency } = await measure(count, presigned, mainJobs, { width: FEEDERS }, true);
      const rate = PIPELINE_REQUESTS / seconds;
      const values = [...latency.values()];
      rows.push({
        case: `pipeline observe→ready, ${count} worker${count > 1 ? 's' : ''} × 4 (pre-signed results)`,
        'requests/s': Math.round(rate),
        'p50 ms': round(percentile(values, 50)),
        'p99 ms': round(percentile(values, 99)),
        'vs raw': round(rate / raw.rate, 2),
      });
      figures[`pipelinePerSecond${count}Workers`] = Math.round(rate);
      figures[`pipelineRatio${count}Workers`] = round(rate / raw.rate, 3);
      if (count === 4) peak4 = rate;
    }
    figures.pipelineRatio = figures.pipelineRatio4Workers;

    // Latency at half the peak rate (4 workers): what the relayer and the queues add.
    const half = Math.max(1, Math.round(peak4 / 2));
    const halfLatency = (await measure(4, presigned, mainJobs, { perSecond: half }, true)).latency;
    const rawHalf = await rawBullmq(redis, `{${base}-raw}`, PIPELINE_REQUESTS, { perSecond: half });
    const added = [...halfLatency.values()];
    rows.push({
      case: `pipeline at half peak (${half}/s), 4 workers (pre-signed)`,
      'requests/s': half,
      'p50 ms': round(percentile(added, 50)),
      'p99 ms': round(percentile(added, 99)),
    });
    rows.push({
      case: `raw BullMQ at ${half}/s`,
      'requests/s': half,
      'p50 ms': round(percentile(rawHalf.latency, 50)),
      'p99 ms': round(percentile(rawHalf.latency, 99)),
    });
    figures.pipelineHalfPeakPerSecond = half;
    figures.pipelineP50AddedMs = round(percentile(added, 50));
    figures.pipelineP99AddedMs = round(percentile(added, 99));
    figures.rawBullmqP99MsAtHalfPeak = round(percentile(rawHalf.latency, 99));

    // For scale: the same pipeline with the workers running each request in the enclave.
    const n = Math.min(PIPELINE_REQUESTS, 300);
    const fresh = world.requests(n);
    const enclaveRun = await measure(4, null, fresh, { width: FEEDERS }, false);
    const enclaveRate = n / enclaveRun.seconds;
    const values = [...enclaveRun.latency.values()];
    rows.push({
      case: 'pipeline observe→ready, 4 workers × 4, each request run in the enclave',
      'requests/s': Math.round(enclaveRate),
      'p50 ms': round(percentile(values, 50)),
      'p99 ms': round(percentile(values, 99)),
      'vs raw': round(enclaveRate / raw.rate, 2),
    });
    figures.pipelineEnclavePerSecond4Workers = Math.round(enclaveRate);
    figures.enclaveExecuteP50Ms = round(percentile([...enclaveRun.executeMs.values()], 50));
  } finally {
    await world.close().catch(() => undefined);
    for (const prefix of prefixes) {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 }))
        keys.push(...(batch as string[]));
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    }
    await redis.quit();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- (b) end to end on the devnet

type E2eOutcome = {
  requests: number;
  fulfilled: number;
  duplicated: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  gasPerRequest: number;
  transactions: number;
  meanBatch: number;
  sendSeconds: number;
  /** Median milliseconds between journey stages, from the relayer's admin API. */
  stages: Record<string, number>;
};

/** Where a request's time goes: median gaps between consecutive stages of the journeys. */
const STAGE_GAPS = [
  ['observed', 'dispatched', 'queued→worker'],
  ['dispatched', 'result', 'worker'],
  ['result', 'submitted', 'result→tx sent'],
  ['submitted', 'confirmed', 'tx→confirmed'],
] as const;
async function stageBreakdown(
  admin: AdminClientParameters,
  jobIds: string[],
): Promise<Record<string, number>> {
  const gaps = new Map<string, number[]>(STAGE_GAPS.map(([, , name]) => [name, []]));
  for (const jobId of jobIds) {
    const journey = await getJourney(admin, jobId);
    if (!journey) continue;
    const at = (stage: string) => journey.journey.find((e) => e.stage === stage)?.at;
    for (const [from, to, name] of STAGE_GAPS) {
      const a = at(from);
      const b = at(to);
      if (a !== undefined && b !== undefined) gaps.get(name)!.push(b - a);
    }
  }
  return Object.fromEntries([...gaps].map(([name, values]) => [name, Math.round(percentile(values, 50))]));
}

async function e2eRun(count: number, batch: { maxSize: number; maxDelayMs: number }): Promise<E2eOutcome> {
  const devnet = await startDevnet({
    contracts: { echo: ECHO },
    workerBatch: batch,
    logger: createLogger({ level: process.env.BENCH_VERBOSE ? 'warn' : 'error' }),
    ...(process.env.BENCH_VERBOSE ? { onProgress: (line: string) => console.error(line) } : {}),
  });
  const stopped = { value: false };
  try {
    const evm = devnet.chains.evm;
    const echo = devnet.contracts.echo!;
    const funder = devnetClients(evm, evm.accounts[0]!.privateKey);
    const client = funder.publicClient;
    // Fresh senders funded by account 0 (account 1 is the relayer's signer).
    const senders = Array.from({ length: SENDERS }, () => devnetClients(evm, generatePrivateKey()));
    for (const sender of senders) {
      const hash = await funder.walletClient.sendTransaction({
        to: sender.walletClient.account.address,
        value: 10n ** 20n,
      });
      await client.waitForTransactionReceipt({ hash });
    }

    // The block follower: wall clock at first sight of each block, for both ends of a request.
    const minedAt = new Map<Hex, number>();
    const fulfilledAt = new Map<Hex, number>();
    const fulfilledCount = new Map<Hex, number>();
    const fulfillTxs = new Map<Hex, number>();
    let last = await client.getBlockNumber();
    const follower = (async () => {
      while (!stopped.value) {
        const head = await client.getBlockNumber().catch(() => last);
        if (head > last) {
          const now = performance.now();
          const logs = await client.getLogs({ address: evm.gateway, fromBlock: last + 1n, toBlock: head });
          for (const log of parseEventLogs({ abi: phalaBridgeGatewayAbi, logs })) {
            if (log.eventName === 'RequestSent') minedAt.set(log.args.requestId, now);
            else if (log.eventName === 'RequestFulfilled') {
              const id = log.args.requestId;
              fulfilledCount.set(id, (fulfilledCount.get(id) ?? 0) + 1);
              if (!fulfilledAt.has(id)) fulfilledAt.set(id, now);
              fulfillTxs.set(log.transactionHash, (fulfillTxs.get(log.transactionHash) ?? 0) + 1);
            }
          }
          last = head;
        }
        await sleep(50);
      }
    })();

    const origin = { kind: 'evm' as const, chainId: evm.chainId, gateway: evm.gateway as Hex };
    const responseKey = toHex(generateKeyPair('x25519').publicKey);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3_600);
    const perSender = Math.ceil(count / SENDERS);
    const sendStart = performance.now();
    const hashes: Hex[] = [];
    await Promise.all(
      senders.map(async (sender, s) => {
        const requester = sender.walletClient.account.address.toLowerCase() as Hex;
        for (let i = 0; i < perSender && s * perSender + i < count; i++) {
          const sealedInput = sealInput({
            contractPublicKey: echo.publicKey,
            contractId: echo.contractId,
            origin,
            requester,
            responseKey,
            input: `e2e ${s} ${i}`,
          });
          hashes.push(
            await sendRequest(sender.walletClient, {
              gateway: evm.gateway,
              contractId: echo.contractId,
              sealedInput,
              responseKey,
              callbackGasLimit: 0,
              deadline,
              gas: 400_000n,
            }),
          );
        }
      }),
    );
    const sendSeconds = (performance.now() - sendStart) / 1000;
    const until = Date.now() + Number(process.env.BENCH_RELAYER_E2E_WAIT_MS ?? 300_000);
    while ((minedAt.size < count || fulfilledAt.size < count) && Date.now() < until) {
      await sleep(200);
      if (process.env.BENCH_VERBOSE)
        console.error(`e2e: ${minedAt.size} mined, ${fulfilledAt.size} fulfilled of ${count}`);
    }
    await sleep(1_000); // a late duplicate would show here
    stopped.value = true;
    await follower;

    const latencies: number[] = [];
    for (const [id, at] of minedAt) {
      const done = fulfilledAt.get(id);
      if (done !== undefined) latencies.push(done - at);
    }
    const firstMined = Math.min(...minedAt.values());
    const lastFulfilled = Math.max(...fulfilledAt.values());
    let gas = 0n;
    for (const hash of fulfillTxs.keys()) gas += (await client.getTransactionReceipt({ hash })).gasUsed;
    let duplicated = 0;
    for (const n of fulfilledCount.values()) duplicated += n - 1;
    return {
      requests: count,
      fulfilled: fulfilledAt.size,
      duplicated,
      perSecond: fulfilledAt.size / ((lastFulfilled - firstMined) / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      gasPerRequest: fulfilledAt.size ? Number(gas) / fulfilledAt.size : 0,
      transactions: fulfillTxs.size,
      meanBatch: fulfillTxs.size ? fulfilledAt.size / fulfillTxs.size : 0,
      sendSeconds,
      stages: await stageBreakdown(
        devnet.relayer.admin,
        [...minedAt.keys()].map((id) => requestJobId(origin, id)),
      ),
    };
  } finally {
    stopped.value = true;
    await devnet.stop();
  }
}

async function e2eBench(rows: Record<string, string | number>[], figures: Record<string, unknown>) {
  const runs = [
    { label: 'batched', count: E2E_REQUESTS, batch: { maxSize: 16, maxDelayMs: 200 } },
    { label: 'unbatched', count: E2E_UNBATCHED_REQUESTS, batch: { maxSize: 1, maxDelayMs: 0 } },
  ];
  for (const r of runs) {
    if (r.count <= 0) continue;
    const o = await e2eRun(r.count, r.batch);
    rows.push({
      case: `devnet e2e, ${r.label} (${o.requests} requests, ${SENDERS} senders)`,
      'requests/s': round(o.perSecond),
      'p50 ms': Math.round(o.p50Ms),
      'p99 ms': Math.round(o.p99Ms),
      'gas/request': Math.round(o.gasPerRequest),
      fulfilled: o.fulfilled,
      duplicated: o.duplicated,
      'fulfill txs': o.transactions,
      'requests/tx': round(o.meanBatch, 2),
    });
    const key = r.label === 'batched' ? 'Batched' : 'Unbatched';
    figures[`e2eRequests${key}`] = o.requests;
    figures[`e2eFulfilled${key}`] = o.fulfilled;
    figures[`e2eDuplicated${key}`] = o.duplicated;
    figures[`e2eRequestsPerSecond${key}`] = round(o.perSecond);
    figures[`e2eP50Ms${key}`] = Math.round(o.p50Ms);
    figures[`e2eP99Ms${key}`] = Math.round(o.p99Ms);
    figures[`gasPerRequest${key}`] = Math.round(o.gasPerRequest);
    figures[`e2eRequestsPerTx${key}`] = round(o.meanBatch, 2);
    figures[`e2eSendSeconds${key}`] = round(o.sendSeconds);
    figures[`e2eStageMedianMs${key}`] = o.stages;
    console.error(`  ${r.label}: median ms per stage ${JSON.stringify(o.stages)}`);
    if (r.label === 'batched') {
      figures.e2eRequestsPerSecond = round(o.perSecond);
      figures.e2eP50Ms = Math.round(o.p50Ms);
      figures.e2eP99Ms = Math.round(o.p99Ms);
    }
  }
  figures.e2eSetup =
    'startDevnet (relay, Phala-style, sibling, Hardhat, gatekeeper, 2 worker services × 4, relayer); stateless echo contract';
}

export async function run(): Promise<BenchReport> {
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown> = {
    machine: `${os.cpus().length} cores (shared), ${os.cpus()[0]?.model ?? 'unknown'}`,
  };
  const parts = (process.env.BENCH_RELAYER_PARTS ?? 'pipeline,e2e').split(',');
  if (parts.includes('pipeline')) await pipelineBench(rows, figures);
  if (parts.includes('e2e')) await e2eBench(rows, figures);
  return { table: rows, figures };
}
