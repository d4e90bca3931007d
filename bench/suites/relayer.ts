import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Hex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { z } from 'zod';
import { fromHex, toHex } from '../../src/base/bytes.js';
import { parseConfig } from '../../src/config/load.js';
import { sealKeyHandover } from '../../src/crypto/key-handover.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import { computeRequestIdFromInput } from '../../src/evm/request-id.js';
import { createLogger } from '../../src/log/logger.js';
import { requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, confirmQueueName, requestQueueName } from '../../src/protocol/queue-names.js';
import { type RequestJob, requestJobSchema } from '../../src/protocol/request-job.js';
import { resultBatchOf } from '../../src/protocol/result-batch-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { type AdminClientParameters, getJourney } from '../../src/relayer/admin-client.js';
import { buildChainAdapters } from '../../src/relayer/chains/build.js';
import { RelayerDaemon } from '../../src/relayer/daemon.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import type {
  Destination,
  ItemResult,
  OriginWatcher,
  SentTransaction,
  WatchSink,
} from '../../src/relayer/ports.js';
import { stageJobOptions } from '../../src/relayer/queues.js';
import { createRedis } from '../../src/relayer/redis.js';
import { sealInput } from '../../src/sdk/seal.js';
import type { BenchReport } from '../index.js';
import { cpuMeter, cpuPerUnit, localRedisPid } from './cpu-time.js';
import { type RequestSent, startLoadProcess } from './relayer-load.js';
import {
  type BenchWorkers,
  CHAIN_ID,
  ECHO,
  GATEWAY,
  type WorkerBatch,
  type WorkersParameters,
  executeIn,
  feed,
  openBenchEnclave,
  presignIn,
  startWorkers,
  startWorkersProcess,
} from './relayer-workers.js';

export const name = 'relayer';

/**
 * The relayer's own cost, and what it makes of the workers it serves (issue 15, "What must show").
 *
 * (a) Queue pipeline, observe → confirmed: a real RelayerDaemon on a real Redis (unique prefix)
 * with a bench watcher feeding its observe stage (as the EVM watcher does, from 8 concurrent
 * callers) and an in-memory destination on the Destination port: no chain, it approves the bench
 * worker, any batches may share a transaction, `send` makes a fake SentTransaction, hands it to
 * `beforeBroadcast` and returns it, and `check` answers `final` with every item delivered at the
 * first look, which its `timing` puts 20 ms after sending (`rebroadcast`, `replace`: nothing to
 * do). Workers are BullMQ consumers of the cluster queue publishing what a worker service
 * publishes: ONE ResultBatchJob per worker batch, grouped and signed by the worker's own
 * ResultBatcher with the real enclave (sim TEE) and QuickJS engine on a one-line stateless
 * contract (relayer-workers.ts). They run in a process of their own, as worker services do, so
 * this process's thread is the relayer's; one row runs them in this process instead (the layout
 * of reports before 2026-12-07, `pipelineRatio4WorkersInRelayerProcess`). The results are
 * executed before timing (the relayer's cost alone; the worker service's chain reads are left
 * out, see the pruntime-worker suite).
 * End point: a request is done when the confirm job of the transaction carrying it completes
 * (QueueEvents `completed` on `confirm-bench`, timed when the event arrives, before the job is
 * read for its requests); the confirm stage has recorded the journey's `confirmed` by then. Median
 * ms between journey stages are printed beside it. Beside it, in the same run: raw BullMQ add →
 * process of empty jobs with the same feeding, and the ratio of the two rates (`pipelineRatio`: 4
 * workers, signed batches). Then the same with two relayer processes on one Redis and prefix:
 * this one (holding the watch and submit leases) and a child process (`node --import tsx` of this
 * file) running a second daemon with the same in-memory destination, so prepare and confirm work
 * spreads over both (`pipelineScale2Relayers`, the 2-process rate ÷ the 1-process rate). Latency
 * at half the peak rate.
 * CPU: each timed window also counts the CPU time of every process in it (cpu-time.ts: this
 * relayer, a second one, the workers process, and Redis when it runs on this machine), per request
 * (`pipelineCpuMsPerRequest4Workers`, `…2Relayers`; per job for raw BullMQ,
 * `rawBullmqCpuMsPerJob`), with the share of all cores kept busy (`pipelineCpuBusy…`). When both
 * runs keep the cores busy, the rate ratio is the inverse ratio of those costs
 * (`pipelineCpuCostRatio`): a figure that moves with the code, not with the host's load.
 *
 * (b) End to end on the devnet (`startDevnet`: relay + Phala-style + sibling chains, Hardhat
 * gateway, gatekeeper, 2 real worker services running 8 requests each at once, relayer), with a
 * stateless echo contract; mined →
 * mined latency is timed by a block follower (wall clock at first sight of each block). On the
 * devnet with worker batching, in order:
 *   1. the worker pool alone: the relayer stopped, N requests sent to the gateway and mined, their
 *      request jobs put on the cluster queue as the observe stage would (so the workers' on-chain
 *      checks pass), timed until every result is on the results queue; then a relayer started
 *      again on the same config fulfils them before going on (`workersAloneRequestsPerSecond`).
 *   2. a burst of 1,000 requests from 10 funded senders (sealed and signed before the clock
 *      starts) as fast as they send: the peak
 *      end-to-end rate (`e2eRequestsPerSecond`), `e2eRatio` = that ÷ the pool's own rate, and
 *      `e2eBurstP99Ms` (= `e2eP99Ms`).
 *   3. steady: half that peak rate for 60 s, paced over the senders: `e2eSteadyP50Ms`,
 *      `e2eSteadyP99Ms`, `gasPerRequestBatched`.
 * Then a second devnet with worker batching off, a burst only, for gas per request unbatched.
 *
 * Counts: BENCH_RELAYER_PIPELINE_REQUESTS, BENCH_RELAYER_PIPELINE_WORKER_BATCH,
 * BENCH_RELAYER_WORKERS_ALONE_REQUESTS, BENCH_RELAYER_E2E_REQUESTS, BENCH_RELAYER_STEADY_SECONDS,
 * BENCH_RELAYER_E2E_UNBATCHED_REQUESTS (0 skips a part), BENCH_RELAYER_E2E_WAIT_MS,
 * BENCH_RELAYER_WORKER_CONCURRENCY (8), BENCH_RELAYER_PARTS (pipeline,e2e), BENCH_VERBOSE.
 */

const REDIS_URL = process.env.PHALA_BRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const FEEDERS = 8;
const PIPELINE_REQUESTS = Number(process.env.BENCH_RELAYER_PIPELINE_REQUESTS ?? 2000);
/** The bench workers' batches (the worker service's ResultBatcher; 20 ms, its linger). */
const PIPELINE_BATCH = {
  maxSize: Number(process.env.BENCH_RELAYER_PIPELINE_WORKER_BATCH ?? 4),
  maxDelayMs: 20,
};
const WORKERS_ALONE_REQUESTS = Number(process.env.BENCH_RELAYER_WORKERS_ALONE_REQUESTS ?? 1000);
const E2E_REQUESTS = Number(process.env.BENCH_RELAYER_E2E_REQUESTS ?? 1000);
const STEADY_SECONDS = Number(process.env.BENCH_RELAYER_STEADY_SECONDS ?? 60);
const E2E_UNBATCHED_REQUESTS = Number(process.env.BENCH_RELAYER_E2E_UNBATCHED_REQUESTS ?? 1000);
const E2E_WAIT_MS = Number(process.env.BENCH_RELAYER_E2E_WAIT_MS ?? 300_000);
const VERBOSE = Boolean(process.env.BENCH_VERBOSE);
const SENDERS = 10;
/**
 * Requests each devnet worker runs at once. A request spends most of its time in the worker
 * waiting on chain reads, so 8 keep the engine threads busy where 4 left them idle.
 */
const WORKER_CONCURRENCY = Number(process.env.BENCH_RELAYER_WORKER_CONCURRENCY ?? 8);
/** argv[2] of the second relayer process (this file run by itself). */
const CHILD_FLAG = '--bench-relayer-child';
const SELF = fileURLToPath(import.meta.url);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const randomHex = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes)));

/** Resolves with `promise`, or rejects with `message` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
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
/** Where the bench workers run: in a process of their own (as worker services do) or in this one. */
type WorkersLayout = 'own process' | 'relayer process';

/**
 * The contract, its key, one worker enclave holding it (in this process and, on the same sealed
 * data, in the workers process), and requests sealed to it.
 */
async function pipelineWorld(dataDir: string) {
  const engine = await ContractEngine.start({ threads: Math.min(2, os.availableParallelism()) });
  const cluster = toHex(new Uint8Array(32).fill(0x22));
  const contractId = toHex(generateKeyPair('x25519').publicKey);
  const contractKey = generateKeyPair('x25519');
  const origin = { kind: 'evm' as const, chainId: CHAIN_ID, gateway: GATEWAY };
  const enclaveDir = path.join(dataDir, 'worker');
  const enclave = await openBenchEnclave(enclaveDir, engine);
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
  const execute = executeIn(enclave);
  // Opened after the handover, so its enclave holds the contract key too.
  const workersProcess = await startWorkersProcess({ redisUrl: REDIS_URL, dataDir: enclaveDir });
  let presigned = new Map<string, ResultJob>();
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

  return {
    cluster,
    address: enclave.publicIdentity.address.toLowerCase(),
    workersPid: workersProcess.pid,
    requests,
    /**
     * Runs `jobs` in both enclaves before the clock starts: an enclave signs a batch only over
     * results it produced itself.
     */
    async presign(jobs: RequestJob[]): Promise<void> {
      const [here] = await Promise.all([presignIn(execute, jobs), workersProcess.presign(jobs)]);
      presigned = new Map([...presigned, ...here]);
    },
    startWorkers(redis: Redis, layout: WorkersLayout, p: WorkersParameters): Promise<BenchWorkers> {
      return layout === 'own process'
        ? workersProcess.start(p)
        : startWorkers(redis, enclave, execute, presigned, p);
    },
    close: async () => {
      await workersProcess.exit();
      await engine.close();
    },
  };
}

/**
 * The chain side, in memory, on the Destination port: the bench worker is approved, every request
 * pending, any batches share a transaction, and a transaction is final, every item delivered, at
 * its first look (after 20 ms: the port's `timing`, as for a chain that is final at once). Each
 * instance signs as an address of its own, so two relayer processes' fake transactions never
 * share a nonce.
 */
function benchDestination(approved: string): Destination {
  const signer = randomHex(20);
  let nonce = 0;
  const delivered: ItemResult = { kind: 'delivered', callbackFailed: false };
  return {
    chain: 'bench',
    batch: { maxSize: 16, maxDelayMs: 20 },
    // Final at once, so looked at soon (the confirm stage's first look is at most lookEveryMs).
    timing: { lookEveryMs: 20, replaceAfterMs: 30_000 },
    accepts: (o) => o.kind === 'evm' && o.chainId === CHAIN_ID,
    isApprovedWorker: async (_cluster, worker) => worker.address.toLowerCase() === approved,
    status: async () => 'pending',
    canShare: () => true,
    send: async (_batches, beforeBroadcast) => {
      const now = Date.now();
      const sent: SentTransaction = {
        chain: 'bench',
        signer,
        nonce: nonce++,
        hashes: [randomHex(32)],
        raw: '0x02',
        fees: null,
        sentAt: now,
        lastSentAt: now,
      };
      await beforeBroadcast(sent);
      return sent;
    },
    // Items by request id, as TransactionCheck names them.
    check: async (sent, batches) => ({
      kind: 'final',
      txHash: sent.hashes.at(-1)!,
      blockNumber: sent.nonce + 1,
      gasUsed: 0n,
      items: new Map(batches.flatMap((b) => b.items.map((i) => [i.request.requestId, delivered] as const))),
    }),
    rebroadcast: async () => {},
    replace: async () => null,
  };
}

/**
 * A real RelayerDaemon under `prefix` with the in-memory destination; with `watch`, also the bench
 * watcher, whose sink (the daemon's observe stage, handed over under the watch lease) is returned.
 */
async function startDaemon(prefix: string, approved: string, watch: boolean) {
  const watchers: OriginWatcher[] = [];
  const sinkReady = watch
    ? new Promise<WatchSink>((resolve) => {
        watchers.push({
          chain: 'bench',
          start: async (s) => resolve(s),
          stop: async () => {},
          lag: async () => 0,
        });
      })
    : null;
  const destination = benchDestination(approved);
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
  return { observe: sinkReady ? await sinkReady : null, close: () => daemon.stop(2_000) };
}

/**
 * A second relayer process on `prefix`: this file run by node with CHILD_FLAG (see the end of the
 * file). It has no watcher (this process keeps the watch lease and feeds observe); it takes
 * prepare and confirm jobs, and submit if it ever held the submit lease.
 */
async function startChildRelayer(prefix: string, approved: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, CHILD_FLAG, prefix, approved], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await within(
    new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`the second relayer exited (${code}) before it was ready`)),
      );
    }),
    60_000,
    () => 'the second relayer was not ready after 60 s',
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    pid: child.pid,
    close: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The second relayer process itself: a daemon until SIGTERM. */
async function childMain(prefix: string, approved: string): Promise<void> {
  const daemon = await startDaemon(prefix, approved, false);
  process.once('SIGTERM', () => {
    void daemon.close().finally(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

/** The journey stages a request passes in the pipeline, in order. */
const PIPELINE_STAGES = ['observed', 'queued', 'dispatched', 'result', 'submitted', 'confirmed'] as const;

/** Median milliseconds between consecutive journey stages of `jobIds` (where the time goes). */
async function pipelineStages(
  redis: Redis,
  prefix: string,
  jobIds: string[],
): Promise<Record<string, number>> {
  const journeys = new JourneyStore({ redis, prefix });
  const gaps = PIPELINE_STAGES.slice(1).map(() => [] as number[]);
  for (const jobId of jobIds) {
    const entries = await journeys.entries(jobId);
    const at = (stage: string) => entries.find((e) => e.stage === stage)?.at;
    PIPELINE_STAGES.slice(1).forEach((stage, i) => {
      const a = at(PIPELINE_STAGES[i]!);
      const b = at(stage);
      if (a !== undefined && b !== undefined) gaps[i]!.push(b - a);
    });
  }
  return Object.fromEntries(
    PIPELINE_STAGES.slice(1).map((stage, i) => [
      `${PIPELINE_STAGES[i]}→${stage}`,
      Math.round(percentile(gaps[i]!, 50)),
    ]),
  );
}

/** What the bench reads of a confirm job: the requests its transaction carries. */
const confirmJobSchema = z.object({
  batches: z.array(z.object({ items: z.array(z.object({ request: requestJobSchema })) })),
});

/**
 * Feeds `jobs` through observe and times each until the confirm job of its transaction completes
 * (the journey's `confirmed`).
 */
async function timePipeline(
  redis: Redis,
  prefix: string,
  observe: WatchSink,
  jobs: RequestJob[],
  mode: Mode,
) {
  const confirm = new Queue(confirmQueueName('bench'), { connection: redis, prefix });
  const events = new QueueEvents(confirmQueueName('bench'), { connection: redis.duplicate(), prefix });
  await events.waitUntilReady();
  const observedAt = new Map<string, number>();
  const latency = new Map<string, number>();
  const unreadable: string[] = [];
  let last = 0;
  const done = new Promise<void>((resolve) => {
    events.on('completed', ({ jobId }) => {
      const at = performance.now();
      void confirm.getJob(jobId).then((job) => {
        const parsed = confirmJobSchema.safeParse(job?.data);
        if (!parsed.success) {
          unreadable.push(jobId);
          return;
        }
        for (const batch of parsed.data.batches)
          for (const { request } of batch.items) {
            const id = requestJobId(request.origin, request.requestId);
            const observed = observedAt.get(id);
            if (observed === undefined || latency.has(id)) continue;
            last = Math.max(last, at);
            latency.set(id, at - observed);
          }
        if (latency.size === jobs.length) resolve();
      });
    });
  });
  const first = performance.now();
  const one = async (i: number) => {
    const job = jobs[i]!;
    observedAt.set(requestJobId(job.origin, job.requestId), performance.now());
    await observe.request(job);
  };
  try {
    if ('width' in mode) await feed(jobs.length, mode.width, one);
    else await paced(jobs.length, mode.perSecond, one);
    await within(
      done,
      120_000,
      () =>
        `pipeline: ${latency.size} of ${jobs.length} requests confirmed after 120 s` +
        (unreadable.length ? ` (confirm jobs not read: ${unreadable.slice(0, 3).join(', ')})` : ''),
    );
  } finally {
    await events.close();
    await confirm.close();
  }
  return { seconds: (last - first) / 1000, latency };
}

/** Raw BullMQ: add → process of empty jobs, fed like the pipeline. */
async function rawBullmq(redis: Redis, prefix: string, n: number, mode: Mode, redisPid?: number) {
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
  const cpu = await cpuMeter({ bench: process.pid, redis: redisPid }).start();
  const first = performance.now();
  const one = async (i: number) => {
    addedAt.set(`j${i}`, performance.now());
    await queue.add('empty', {}, { jobId: `j${i}`, removeOnComplete: true });
  };
  if ('width' in mode) await feed(n, mode.width, one);
  else await paced(n, mode.perSecond, one);
  await done;
  const cpuMs = await cpu.stop();
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  return { rate: n / ((last - first) / 1000), latency, cpuMs };
}

async function pipelineBench(rows: Record<string, string | number>[], figures: Record<string, unknown>) {
  const base = `bench-relayer-${Date.now().toString(36)}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-relayer-'));
  const world = await pipelineWorld(dataDir);
  const prefixes: string[] = [];
  /**
   * `relayers` daemons (the first in this process with the watcher, any other a child process)
   * under a fresh prefix, for one measurement (the same requests can be fed again).
   */
  const withDaemons = async <T>(
    relayers: number,
    fn: (observe: WatchSink, prefix: string, otherPids: (number | undefined)[]) => Promise<T>,
  ): Promise<T> => {
    const prefix = `{${base}-${prefixes.length}}`;
    prefixes.push(prefix);
    const daemon = await startDaemon(prefix, world.address, true);
    const others: { pid: number | undefined; close: () => Promise<void> }[] = [];
    try {
      for (let i = 1; i < relayers; i++) others.push(await startChildRelayer(prefix, world.address));
      return await fn(
        daemon.observe!,
        prefix,
        others.map((o) => o.pid),
      );
    } finally {
      await Promise.all(others.map((o) => o.close()));
      await daemon.close();
    }
  };
  try {
    const redisPid = await localRedisPid(redis, REDIS_URL);
    const warm = world.requests(20);
    const mainJobs = world.requests(PIPELINE_REQUESTS);
    await world.presign([...warm, ...mainJobs]);
    /**
     * One measurement: `count` workers (pre-run results or not) in `layout`, optionally warmed up,
     * then `jobs` fed in `mode` and timed.
     */
    const measure = (p: {
      count: number;
      presigned: boolean;
      jobs: RequestJob[];
      mode: Mode;
      warmUp: boolean;
      batch?: WorkerBatch;
      relayers?: number;
      layout?: WorkersLayout;
    }) =>
      withDaemons(p.relayers ?? 1, async (observe, prefix, otherPids) => {
        const workers = await world.startWorkers(redis, p.layout ?? 'own process', {
          prefix,
          cluster: world.cluster,
          count: p.count,
          presigned: p.presigned,
          batch: p.batch ?? PIPELINE_BATCH,
        });
        const timed = await (async () => {
          if (p.warmUp) await timePipeline(redis, prefix, observe, warm, { width: FEEDERS });
          const cpu = await cpuMeter({
            relayer: process.pid,
            ...Object.fromEntries(otherPids.map((pid, i) => [`relayer${i + 2}`, pid])),
            workers: (p.layout ?? 'own process') === 'own process' ? world.workersPid : undefined,
            redis: redisPid,
          }).start();
          const run = await timePipeline(redis, prefix, observe, p.jobs, p.mode);
          const cpuMs = await cpu.stop();
          const stages = await pipelineStages(redis, prefix, [...run.latency.keys()]);
          return { ...run, rate: p.jobs.length / run.seconds, stages, cpuMs };
        })().catch(async (error: unknown) => {
          await workers.close();
          throw error;
        });
        return { ...timed, executeMs: await workers.close() };
      });
    const full = { presigned: true, jobs: mainJobs, mode: { width: FEEDERS }, warmUp: true } as const;
    const raw = await rawBullmq(redis, `{${base}-raw}`, PIPELINE_REQUESTS, { width: FEEDERS }, redisPid);
    prefixes.push(`{${base}-raw}`);
    const rawCpu = cpuPerUnit(raw.cpuMs, PIPELINE_REQUESTS);
    rows.push({
      case: `raw BullMQ add→process, empty jobs (${FEEDERS} feeders)`,
      'requests/s': Math.round(raw.rate),
      'p50 ms': round(percentile(raw.latency, 50)),
      'p99 ms': round(percentile(raw.latency, 99)),
      'CPU ms each': rawCpu.total,
    });
    figures.rawBullmqPerSecond = Math.round(raw.rate);
    figures.rawBullmqCpuMsPerJob = rawCpu;
    const pipelineRow = (
      label: string,
      run: { rate: number; latency: Map<string, number>; cpuMs: Record<string, number> },
    ) => {
      const values = [...run.latency.values()];
      rows.push({
        case: label,
        'requests/s': Math.round(run.rate),
        'p50 ms': round(percentile(values, 50)),
        'p99 ms': round(percentile(values, 99)),
        'vs raw': round(run.rate / raw.rate, 2),
        'CPU ms each': cpuPerUnit(run.cpuMs, run.latency.size).total,
      });
    };
    /**
     * Where a run's CPU went, per request and process, and how busy it kept the machine's cores
     * (1 = every core busy for the whole run: the rate is then what the CPU allows).
     */
    const cpuFigures = (
      key: string,
      run: { seconds: number; latency: Map<string, number>; cpuMs: Record<string, number> },
    ) => {
      const perRequest = cpuPerUnit(run.cpuMs, run.latency.size);
      const busy =
        Object.values(run.cpuMs).reduce((a, b) => a + b, 0) /
        (run.seconds * 1000 * os.availableParallelism());
      figures[`pipelineCpuMsPerRequest${key}`] = perRequest;
      figures[`pipelineCpuBusy${key}`] = round(busy, 2);
      console.error(
        `  pipeline, ${key}: CPU ms per request ${JSON.stringify(perRequest)}, cores busy ${round(busy, 2)}`,
      );
      return perRequest;
    };
    const batches = `batches ≤ ${PIPELINE_BATCH.maxSize}`;
    let peak4 = 0;
    for (const count of [1, 2, 4]) {
      const run = await measure({ ...full, count });
      pipelineRow(
        `pipeline observe→confirmed, ${count} worker${count > 1 ? 's' : ''} × 4, ${batches} (pre-signed results)`,
        run,
      );
      figures[`pipelinePerSecond${count}Workers`] = Math.round(run.rate);
      figures[`pipelineRatio${count}Workers`] = round(run.rate / raw.rate, 3);
      if (count === 4) {
        peak4 = run.rate;
        const perRequest = cpuFigures('4Workers', run);
        // What the ratio is when both runs are held by the CPU alone: one empty job's CPU ÷ one
        // request's (every process of each counted, Redis included).
        if (rawCpu.total && perRequest.total)
          figures.pipelineCpuCostRatio = round(rawCpu.total / perRequest.total, 3);
        figures.pipelineStageMedianMs4Workers = run.stages;
        console.error(`  pipeline, 4 workers: median ms per stage ${JSON.stringify(run.stages)}`);
      }
    }
    figures.pipelineRatio = figures.pipelineRatio4Workers;
    figures.pipelineWorkerBatch = PIPELINE_BATCH.maxSize;
    figures.pipelineWorkersLayout = 'own process';

    // The layout of earlier reports: the workers (their queue consumers and batch signing) on the
    // relayer's thread.
    const shared = await measure({ ...full, count: 4, layout: 'relayer process' });
    pipelineRow(`pipeline observe→confirmed, 4 workers × 4 in the relayer's process, ${batches}`, shared);
    figures.pipelinePerSecond4WorkersInRelayerProcess = Math.round(shared.rate);
    figures.pipelineRatio4WorkersInRelayerProcess = round(shared.rate / raw.rate, 3);

    const single = await measure({ ...full, count: 4, batch: { maxSize: 1, maxDelayMs: 0 } });
    pipelineRow('pipeline observe→confirmed, 4 workers × 4, batches of 1 (pre-signed results)', single);
    figures.pipelinePerSecond4WorkersUnbatched = Math.round(single.rate);
    figures.pipelineRatio4WorkersUnbatched = round(single.rate / raw.rate, 3);

    // Scale out: a second relayer process on the same Redis and prefix, the same load.
    const two = await measure({ ...full, count: 4, relayers: 2 });
    pipelineRow(`pipeline observe→confirmed, 2 relayer processes, 4 workers × 4, ${batches}`, two);
    figures.pipelineRate2Relayers = Math.round(two.rate);
    figures.pipelineScale2Relayers = round(two.rate / peak4, 2);
    cpuFigures('2Relayers', two);

    // Latency at half the peak rate (4 workers): what the relayer and the queues add.
    const half = Math.max(1, Math.round(peak4 / 2));
    const halfRun = await measure({ ...full, count: 4, mode: { perSecond: half } });
    const halfLatency = halfRun.latency;
    figures.pipelineStageMedianMsHalfPeak = halfRun.stages;
    console.error(`  pipeline at half peak: median ms per stage ${JSON.stringify(halfRun.stages)}`);
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
    const enclaveRun = await measure({
      count: 4,
      presigned: false,
      jobs: world.requests(n),
      mode: { width: FEEDERS },
      warmUp: false,
    });
    pipelineRow(
      `pipeline observe→confirmed, 4 workers × 4, ${batches}, each request run in the enclave`,
      enclaveRun,
    );
    figures.pipelineEnclavePerSecond4Workers = Math.round(enclaveRun.rate);
    figures.enclaveExecuteP50Ms = round(percentile(enclaveRun.executeMs, 50));
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

type PhaseOutcome = {
  requests: number;
  fulfilled: number;
  duplicated: number;
  /** Fulfilled ÷ (last fulfilment mined − first request mined). */
  perSecond: number;
  /** Requests sent ÷ the time sending took. */
  sentPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  gasPerRequest: number;
  transactions: number;
  meanBatch: number;
  sendSeconds: number;
  ids: Hex[];
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
  requests: { jobId: string; minedAt?: number; fulfilledAt?: number }[],
): Promise<Record<string, number>> {
  const gaps = new Map<string, number[]>(
    ['mined→observed', ...STAGE_GAPS.map(([, , name]) => name), 'confirmed→seen'].map((n) => [n, []]),
  );
  // The follower times blocks on the monotonic clock, journeys on the wall clock.
  const wallOffset = Date.now() - performance.now();
  for (const { jobId, minedAt, fulfilledAt } of requests) {
    const journey = await getJourney(admin, jobId);
    if (!journey) continue;
    const at = (stage: string) => journey.journey.find((e) => e.stage === stage)?.at;
    for (const [from, to, name] of STAGE_GAPS) {
      const a = at(from);
      const b = at(to);
      if (a !== undefined && b !== undefined) gaps.get(name)!.push(b - a);
    }
    const observed = at('observed');
    const confirmed = at('confirmed');
    if (minedAt !== undefined && observed !== undefined)
      gaps.get('mined→observed')!.push(observed - (minedAt + wallOffset));
    if (fulfilledAt !== undefined && confirmed !== undefined)
      gaps.get('confirmed→seen')!.push(fulfilledAt + wallOffset - confirmed);
  }
  return Object.fromEntries([...gaps].map(([name, values]) => [name, Math.round(percentile(values, 50))]));
}

/**
 * A devnet with funded senders and a block follower, for phases run one after another (each
 * waits until its requests are fulfilled, so no transaction carries two phases' requests).
 */
async function openDevnet(batch: WorkerBatch) {
  const logger = createLogger({ level: VERBOSE ? 'warn' : 'error' });
  const devnet = await startDevnet({
    redisUrl: REDIS_URL,
    contracts: { echo: ECHO },
    workerBatch: batch,
    workerConcurrency: WORKER_CONCURRENCY,
    logger,
    ...(VERBOSE ? { onProgress: (line: string) => console.error(line) } : {}),
  });
  let relayer: RelayerDaemon = devnet.relayer.daemon;
  let admin: AdminClientParameters = devnet.relayer.admin;
  let load: Awaited<ReturnType<typeof startLoadProcess>> | undefined;
  const stop = async () => {
    await load?.stop();
    if (relayer !== devnet.relayer.daemon) await relayer.stop(5_000);
    await devnet.stop();
  };
  try {
    const evm = devnet.chains.evm;
    const echo = devnet.contracts.echo!;
    const origin = { kind: 'evm' as const, chainId: evm.chainId, gateway: evm.gateway.toLowerCase() as Hex };
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
    const sentByTx = new Map<Hex, RequestSent>();
    const minedAt = new Map<Hex, number>();
    const fulfilledAt = new Map<Hex, number>();
    const fulfilledCount = new Map<Hex, number>();
    const fulfilTxOf = new Map<Hex, Hex>();
    const txFulfilments = new Map<Hex, number>();
    // The follower and the senders run in the load process (relayer-load.ts); its wall-clock
    // times are put on this process's monotonic clock, as the stage breakdown expects.
    load = await startLoadProcess(
      {
        rpcUrl: evm.rpcUrl,
        chainId: evm.chainId,
        gateway: evm.gateway,
        fromBlock: await client.getBlockNumber(),
      },
      (event) => {
        if (event.kind === 'error') {
          if (VERBOSE) console.error(`e2e load process: ${event.message}`);
          return;
        }
        const now = event.at - performance.timeOrigin;
        if (event.kind === 'mined')
          for (const sent of event.events) {
            sentByTx.set(sent.transactionHash.toLowerCase() as Hex, sent);
            minedAt.set(sent.requestId.toLowerCase() as Hex, now);
          }
        else
          for (const { requestId: id, tx } of event.fulfilments) {
            fulfilledCount.set(id, (fulfilledCount.get(id) ?? 0) + 1);
            if (!fulfilledAt.has(id)) {
              fulfilledAt.set(id, now);
              fulfilTxOf.set(id, tx);
            }
            txFulfilments.set(tx, (txFulfilments.get(tx) ?? 0) + 1);
          }
      },
    );

    /** Sends `count` requests over the senders, as fast as they go or paced at `perSecond`. */
    const send = async (count: number, perSecond: number | null, label: string) => {
      const responseKey = toHex(generateKeyPair('x25519').publicKey);
      // From the chain's clock, not the wall's, and a day ahead: with a block per transaction
      // Hardhat's timestamps run ahead of real time (each block a second after the last), so an
      // hour passed on chain within a steady minute of 60 requests a second and the last
      // requests reverted (`InvalidDeadline`).
      const { timestamp } = await client.getBlock();
      const deadline = timestamp + 86_400n;
      // The senders sign locally with nonces and fees fixed for the phase, one eth_sendRawTransaction
      // a request (viem would otherwise ask the node for the chain id, nonce and fees each time):
      // the load generator's own RPC traffic would compete with the system under test.
      const fees = await client.estimateFeesPerGas();
      const maxFeePerGas = fees.maxFeePerGas * 4n;
      const maxPriorityFeePerGas = fees.maxPriorityFeePerGas;
      // Sealed and signed before the clock starts: the load generator's own crypto (a few ms a
      // request) would otherwise take the devnet process's thread from the system measured.
      const signed = await Promise.all(
        senders.map(async (sender, s) => {
          const account = sender.walletClient.account;
          const sign = account.signTransaction;
          if (!sign) throw new Error('the bench senders are local accounts');
          const requester = account.address.toLowerCase() as Hex;
          let nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' });
          const txs: { i: number; raw: Hex }[] = [];
          for (let i = s; i < count; i += SENDERS) {
            const sealedInput = sealInput({
              contractPublicKey: echo.publicKey,
              contractId: echo.contractId,
              origin,
              requester,
              responseKey,
              input: `e2e ${label} ${i}`,
            });
            const raw = await sign({
              type: 'eip1559',
              chainId: evm.chainId,
              nonce: nonce++,
              to: evm.gateway,
              data: encodeRequest({
                contractId: echo.contractId,
                sealedInput,
                responseKey,
                callbackGasLimit: 0,
                deadline,
              }),
              gas: 400_000n,
              maxFeePerGas,
              maxPriorityFeePerGas,
            });
            txs.push({ i, raw });
          }
          return txs;
        }),
      );
      return load!.send(signed, perSecond);
    };

    /** The RequestSent events of `hashes`, once the follower has seen them all mined. */
    const mined = async (hashes: Hex[]): Promise<RequestSent[]> => {
      const until = Date.now() + E2E_WAIT_MS;
      while (hashes.some((h) => !sentByTx.has(h))) {
        if (Date.now() > until)
          throw new Error(
            `e2e: ${hashes.filter((h) => sentByTx.has(h)).length} of ${hashes.length} requests mined`,
          );
        await sleep(200);
      }
      return hashes.map((h) => sentByTx.get(h)!);
    };

    /** Waits until every one of `ids` is fulfilled or `ms` pass; the number fulfilled. */
    const fulfilled = async (ids: Hex[], ms: number): Promise<number> => {
      const until = Date.now() + ms;
      const count = () => ids.filter((id) => fulfilledAt.has(id)).length;
      let lastPrint = 0;
      while (count() < ids.length && Date.now() < until) {
        if (VERBOSE && Date.now() - lastPrint > 2_000) {
          lastPrint = Date.now();
          console.error(`e2e: ${count()} of ${ids.length} fulfilled`);
        }
        await sleep(200);
      }
      return count();
    };

    /** One phase: `count` requests sent (paced or not), waited for, and measured. */
    const phase = async (count: number, perSecond: number | null, label: string): Promise<PhaseOutcome> => {
      const sent = await send(count, perSecond, label);
      const ids = (await mined(sent.hashes)).map((e) => e.requestId.toLowerCase() as Hex);
      await fulfilled(ids, E2E_WAIT_MS);
      await sleep(1_000); // a late duplicate would show here
      const latencies: number[] = [];
      let firstMined = Number.POSITIVE_INFINITY;
      let lastFulfilled = 0;
      let duplicated = 0;
      const txs = new Set<Hex>();
      for (const id of ids) {
        const at = minedAt.get(id)!;
        firstMined = Math.min(firstMined, at);
        const done = fulfilledAt.get(id);
        if (done === undefined) continue;
        latencies.push(done - at);
        lastFulfilled = Math.max(lastFulfilled, done);
        duplicated += (fulfilledCount.get(id) ?? 1) - 1;
        txs.add(fulfilTxOf.get(id)!);
      }
      let gas = 0n;
      let items = 0;
      for (const hash of txs) {
        gas += (await client.getTransactionReceipt({ hash })).gasUsed;
        items += txFulfilments.get(hash) ?? 0;
      }
      return {
        requests: count,
        fulfilled: latencies.length,
        duplicated,
        perSecond: latencies.length ? latencies.length / ((lastFulfilled - firstMined) / 1000) : 0,
        sentPerSecond: count / sent.seconds,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        gasPerRequest: items ? Number(gas) / items : 0,
        transactions: txs.size,
        meanBatch: txs.size ? latencies.length / txs.size : 0,
        sendSeconds: sent.seconds,
        ids,
      };
    };

    /**
     * The worker pool alone: with the relayer stopped, `n` requests are sent and mined, their jobs
     * put on the cluster queue as the observe stage puts them, and timed from that moment until
     * each request's result is on the results queue. A relayer on the same config then starts and
     * fulfils them (counted) before the next phase.
     */
    const workersAlone = async (n: number) => {
      await relayer.stop(5_000);
      const sent = await send(n, null, 'alone');
      const events = await mined(sent.hashes);
      const chain =
        devnet.config.chains.find((c) => c.kind === 'evm' && c.chainId === evm.chainId)?.name ?? 'evm';
      const jobs = events.map((e) =>
        requestJobSchema.parse({
          v: 1,
          origin,
          requestId: e.requestId,
          contractId: e.contractId,
          cluster: echo.cluster,
          requester: e.requester.toLowerCase() as Hex,
          endUser: e.endUser.toLowerCase() as Hex,
          nonce: e.nonce.toString(),
          sealedInput: e.sealedInput,
          responseKey: e.responseKey,
          deadline: Number(e.deadline),
          callbackGasLimit: e.callbackGasLimit,
          observed: {
            chain,
            blockNumber: Number(e.blockNumber),
            blockHash: e.blockHash,
            txHash: e.transactionHash,
            logIndex: e.logIndex,
            at: Date.now(),
          },
        } satisfies RequestJob),
      );
      const ids = jobs.map((j) => j.requestId.toLowerCase() as Hex);
      const want = new Set(ids);
      const prefix = devnet.config.redis.prefix;
      const redis = createRedis(devnet.config.redis);
      const eventsRedis = createRedis(devnet.config.redis);
      const results = new Queue(RESULT_QUEUE, { connection: redis, prefix });
      const requests = new Queue(requestQueueName(echo.cluster), { connection: redis, prefix });
      const added = new QueueEvents(RESULT_QUEUE, { connection: eventsRedis, prefix });
      const resultAt = new Map<Hex, number>();
      try {
        await added.waitUntilReady();
        let resolveAll: () => void = () => {};
        const all = new Promise<void>((resolve) => {
          resolveAll = resolve;
        });
        added.on('added', ({ jobId }) => {
          const at = performance.now();
          void results.getJob(jobId).then((job) => {
            const parsed = resultBatchOf(job?.data);
            if (!parsed.success) return;
            for (const r of parsed.data.results) {
              const id = r.requestId.toLowerCase() as Hex;
              if (want.has(id) && !resultAt.has(id)) resultAt.set(id, at);
            }
            if (resultAt.size === want.size) resolveAll();
          });
        });
        const start = performance.now();
        await requests.addBulk(
          jobs.map((job) => ({
            name: 'request',
            data: job,
            opts: { ...stageJobOptions, jobId: requestJobId(job.origin, job.requestId) },
          })),
        );
        // A result that never comes (a refusal) leaves the rate on what came, with the count.
        await within(all, E2E_WAIT_MS, () => 'late').catch(() =>
          console.error(`  worker pool alone: ${resultAt.size} of ${n} results after ${E2E_WAIT_MS} ms`),
        );
        const latencies = [...resultAt.values()].map((at) => at - start);
        const outcome = {
          results: resultAt.size,
          perSecond: resultAt.size ? resultAt.size / ((Math.max(...resultAt.values()) - start) / 1000) : 0,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          sendSeconds: sent.seconds,
        };
        // The relayer again (as the devnet starts it), to fulfil what the workers answered.
        relayer = new RelayerDaemon({
          config: devnet.config,
          logger: logger.child({ role: 'relayer' }),
          adapters: (context) => buildChainAdapters(devnet.config, context),
        });
        await relayer.start();
        admin = { url: relayer.urls.admin!, token: devnet.relayer.admin.token };
        const drained = await fulfilled(ids, E2E_WAIT_MS);
        // Restarted, the relayer re-reads those requests and sends back the ones it had not
        // answered yet (`reconsider`): the next phase starts once that work is over too.
        const busy = async () => {
          const counts = await Promise.all(
            [requests, results].map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
          );
          return counts.some((c) => Object.values(c).some((n) => n > 0));
        };
        const quietBy = Date.now() + 60_000;
        while ((await busy()) && Date.now() < quietBy) await sleep(500);
        return { ...outcome, drained };
      } finally {
        await added.close();
        await results.close();
        await requests.close();
        redis.disconnect();
        eventsRedis.disconnect();
      }
    };

    return {
      phase,
      workersAlone,
      stages: (ids: Hex[]) =>
        stageBreakdown(
          admin,
          ids.map((id) => ({
            jobId: requestJobId(origin, id),
            minedAt: minedAt.get(id),
            fulfilledAt: fulfilledAt.get(id),
          })),
        ),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

type E2eRows = Record<string, string | number>[];

function phaseRow(rows: E2eRows, label: string, o: PhaseOutcome): void {
  rows.push({
    case: label,
    'requests/s': round(o.perSecond),
    'p50 ms': Math.round(o.p50Ms),
    'p99 ms': Math.round(o.p99Ms),
    'gas/request': Math.round(o.gasPerRequest),
    fulfilled: o.fulfilled,
    duplicated: o.duplicated,
    'fulfill txs': o.transactions,
    'requests/tx': round(o.meanBatch, 2),
  });
}

/** The figures of one burst, as `…Batched` / `…Unbatched` (the names before issue 15). */
function burstFigures(figures: Record<string, unknown>, key: string, o: PhaseOutcome): void {
  figures[`e2eRequests${key}`] = o.requests;
  figures[`e2eFulfilled${key}`] = o.fulfilled;
  figures[`e2eDuplicated${key}`] = o.duplicated;
  figures[`e2eRequestsPerSecond${key}`] = round(o.perSecond);
  figures[`e2eP50Ms${key}`] = Math.round(o.p50Ms);
  figures[`e2eP99Ms${key}`] = Math.round(o.p99Ms);
  figures[`gasPerRequest${key}`] = Math.round(o.gasPerRequest);
  figures[`e2eRequestsPerTx${key}`] = round(o.meanBatch, 2);
  figures[`e2eSendSeconds${key}`] = round(o.sendSeconds);
}

/** Worker batching on: the pool alone, a burst, then steady at half the burst's rate. */
async function e2eBatched(rows: E2eRows, figures: Record<string, unknown>) {
  // The worker service's defaults (config/schema.ts `worker.batch`): a waiting result holds its
  // queue slot, so a longer wait starves the pool in a burst (one burst each on 2026-12-07:
  // 107 requests/s at 50 ms, 95–102 at 200 ms).
  const devnet = await openDevnet({ maxSize: 16, maxDelayMs: 50 });
  try {
    let aloneRate: number | null = null;
    if (WORKERS_ALONE_REQUESTS > 0) {
      const alone = await devnet.workersAlone(WORKERS_ALONE_REQUESTS);
      aloneRate = alone.perSecond;
      rows.push({
        case: `worker pool alone (2 services × ${WORKER_CONCURRENCY}), ${WORKERS_ALONE_REQUESTS} on-chain requests queued at once → results`,
        'requests/s': round(alone.perSecond),
        'p50 ms': Math.round(alone.p50Ms),
        'p99 ms': Math.round(alone.p99Ms),
      });
      figures.workersAloneRequests = WORKERS_ALONE_REQUESTS;
      figures.workersAloneResults = alone.results;
      figures.workersAloneRequestsPerSecond = round(alone.perSecond);
      figures.workersAloneP50Ms = Math.round(alone.p50Ms);
      figures.workersAloneP99Ms = Math.round(alone.p99Ms);
      figures.workersAloneFulfilledAfter = alone.drained;
      if (alone.drained < WORKERS_ALONE_REQUESTS)
        console.error(
          `  worker pool alone: only ${alone.drained} of its requests fulfilled by the relayer after`,
        );
    }

    const burst = await devnet.phase(E2E_REQUESTS, null, 'burst');
    phaseRow(rows, `devnet e2e, batched, burst (${burst.requests} requests, ${SENDERS} senders)`, burst);
    burstFigures(figures, 'Batched', burst);
    figures.gasPerRequestBurstBatched = Math.round(burst.gasPerRequest);
    figures.e2eRequestsPerSecond = round(burst.perSecond);
    figures.e2eP50Ms = Math.round(burst.p50Ms);
    figures.e2eP99Ms = Math.round(burst.p99Ms);
    figures.e2eBurstP99Ms = Math.round(burst.p99Ms);
    if (aloneRate) figures.e2eRatio = round(burst.perSecond / aloneRate, 3);
    const stages = await devnet.stages(burst.ids);
    figures.e2eStageMedianMsBatched = stages;
    console.error(`  batched burst: median ms per stage ${JSON.stringify(stages)}`);

    figures.gasPerRequestBatched = Math.round(burst.gasPerRequest);
    figures.gasPerRequestBatchedAt = 'burst';
    if (STEADY_SECONDS > 0 && burst.perSecond > 0) {
      const rate = Math.max(0.5, round(burst.perSecond / 2));
      const count = Math.max(1, Math.round(rate * STEADY_SECONDS));
      const steady = await devnet.phase(count, rate, 'steady');
      phaseRow(
        rows,
        `devnet e2e, batched, steady at ${rate}/s for ${STEADY_SECONDS} s (half the burst's rate)`,
        steady,
      );
      figures.e2eSteadyPerSecond = rate;
      figures.e2eSteadySentPerSecond = round(steady.sentPerSecond);
      figures.e2eSteadyFulfilledPerSecond = round(steady.perSecond);
      figures.e2eSteadyRequests = steady.requests;
      figures.e2eSteadyFulfilled = steady.fulfilled;
      figures.e2eSteadyDuplicated = steady.duplicated;
      figures.e2eSteadyP50Ms = Math.round(steady.p50Ms);
      figures.e2eSteadyP99Ms = Math.round(steady.p99Ms);
      figures.e2eSteadyRequestsPerTx = round(steady.meanBatch, 2);
      figures.gasPerRequestBatched = Math.round(steady.gasPerRequest);
      figures.gasPerRequestBatchedAt = `steady ${rate}/s`;
      const steadyStages = await devnet.stages(steady.ids);
      figures.e2eStageMedianMsSteady = steadyStages;
      console.error(`  batched steady: median ms per stage ${JSON.stringify(steadyStages)}`);
    }
  } finally {
    await devnet.stop();
  }
}

/** Worker batching off: a burst, for gas per request unbatched. */
async function e2eUnbatched(rows: E2eRows, figures: Record<string, unknown>) {
  const devnet = await openDevnet({ maxSize: 1, maxDelayMs: 0 });
  try {
    const burst = await devnet.phase(E2E_UNBATCHED_REQUESTS, null, 'burst');
    phaseRow(rows, `devnet e2e, unbatched, burst (${burst.requests} requests, ${SENDERS} senders)`, burst);
    burstFigures(figures, 'Unbatched', burst);
    const stages = await devnet.stages(burst.ids);
    figures.e2eStageMedianMsUnbatched = stages;
    console.error(`  unbatched burst: median ms per stage ${JSON.stringify(stages)}`);
  } finally {
    await devnet.stop();
  }
}

async function e2eBench(rows: E2eRows, figures: Record<string, unknown>) {
  if (E2E_REQUESTS > 0) await e2eBatched(rows, figures);
  if (E2E_UNBATCHED_REQUESTS > 0) await e2eUnbatched(rows, figures);
  figures.e2eSetup = `startDevnet (relay, Phala-style, sibling, Hardhat, gatekeeper, 2 worker services × ${WORKER_CONCURRENCY}, relayer); stateless echo contract`;
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

// This file run by itself is the pipeline bench's second relayer process (startChildRelayer).
if (process.argv[2] === CHILD_FLAG && path.resolve(process.argv[1] ?? '') === SELF) {
  childMain(process.argv[3]!, process.argv[4]!).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
