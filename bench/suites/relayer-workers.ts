import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Hex } from 'viem';
import { z } from 'zod';
import { fromHex } from '../../src/base/bytes.js';
import { errorMessage } from '../../src/base/errors.js';
import { originKey, requestJobId } from '../../src/protocol/origin.js';
import { RESULT_QUEUE, requestQueueName } from '../../src/protocol/queue-names.js';
import { type RequestJob, requestJobSchema } from '../../src/protocol/request-job.js';
import { type ResultBatchJob, resultBatchJobId } from '../../src/protocol/result-batch-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { hex32Schema } from '../../src/protocol/schemas.js';
import { Enclave, SimPlatform } from '../../src/pruntime/enclave/index.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { resultJobOf } from '../../src/pruntime/worker/request-processor.js';
import { ResultBatcher } from '../../src/pruntime/worker/result-batcher.js';

/**
 * The relayer pipeline bench's workers: BullMQ consumers of the cluster queue publishing what a
 * worker service publishes, ONE ResultBatchJob per worker batch, grouped and signed by the
 * worker's own ResultBatcher with the real enclave (sim TEE) and QuickJS engine on a one-line
 * stateless contract. They run either in the bench's own process or, as a deployment runs worker
 * services, in a process of their own (`startWorkersProcess`: this file forked), so the relayer's
 * thread is measured without theirs.
 *
 * The enclave signs a batch only over results it produced itself, so a workers process opens the
 * same enclave data (the same identity and contract key) and runs the requests it is given
 * before the clock starts.
 */

export const ECHO = 'export function handle(input, ctx) { return { public: input, sealed: "" }; }';
export const GATEWAY = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Hex;
export const CHAIN_ID = 31337;
/** Queue slots of each bench worker (its BullMQ concurrency). */
const WORKER_SLOTS = 4;

/** One set of workers, as a measurement asks for it (and as the workers process reads it). */
const workersParametersSchema = z.strictObject({
  prefix: z.string(),
  cluster: hex32Schema,
  /** How many workers, each a BullMQ consumer with WORKER_SLOTS slots. */
  count: z.number().int().positive(),
  /** Take each request's pre-run result, or run the request in the enclave when false. */
  presigned: z.boolean(),
  /** The worker's result batching: `maxSize` 1 publishes every result as a batch of its own. */
  batch: z.strictObject({ maxSize: z.number().int().positive(), maxDelayMs: z.number().min(0) }),
});
export type WorkersParameters = z.infer<typeof workersParametersSchema>;
export type WorkerBatch = WorkersParameters['batch'];

/** Opens (or makes, on first use) the bench worker's enclave under `dataDir`. */
export function openBenchEnclave(dataDir: string, engine: ContractEngine): Promise<Enclave> {
  return Enclave.open({
    dataDir,
    platform: new SimPlatform({
      platformSecret: new Uint8Array(32).fill(7),
      platformCaKey: new Uint8Array(32).fill(9),
      measurement: new Uint8Array(32).fill(0x4d),
    }),
    engine,
  });
}

/** What a worker does for one request: run the contract in the enclave, shape the signed result. */
export function executeIn(enclave: Enclave) {
  const identity = enclave.publicIdentity;
  const target = { kind: 'evm' as const, chainId: CHAIN_ID, verifyingContract: GATEWAY };
  return async (request: RequestJob): Promise<ResultJob> => {
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
  };
}

/** Runs `task` for 0..n-1 with at most `width` at once. */
export async function feed(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Each request's result, run before the clock starts (the relayer's cost alone is timed). */
export async function presignIn(
  execute: (request: RequestJob) => Promise<ResultJob>,
  jobs: RequestJob[],
): Promise<Map<string, ResultJob>> {
  const out = new Map<string, ResultJob>();
  await feed(jobs.length, 4, async (i) => {
    const result = await execute(jobs[i]!);
    out.set(result.jobId, result);
  });
  return out;
}

/** Running workers; `close` stops them and gives each request's execute time (ms). */
export type BenchWorkers = { close: () => Promise<number[]> };

/** `count` workers in this process. */
export async function startWorkers(
  redis: Redis,
  enclave: Enclave,
  execute: (request: RequestJob) => Promise<ResultJob>,
  presigned: Map<string, ResultJob>,
  p: WorkersParameters,
): Promise<BenchWorkers> {
  const results = new Queue(RESULT_QUEUE, { connection: redis, prefix: p.prefix });
  const publish = async (job: ResultBatchJob) => {
    await results.add('result', job, { jobId: resultBatchJobId(job) });
  };
  const executeMs: number[] = [];
  const workers = Array.from({ length: p.count }, () => {
    let running = 0;
    /** Jobs in this worker's queue slots, executing or waiting for their batch (as the service counts). */
    let held = 0;
    const batcher = new ResultBatcher({
      maxSize: p.batch.maxSize,
      maxDelayMs: p.batch.maxDelayMs,
      running: () => running,
      full: () => held >= WORKER_SLOTS,
      sign: (request) => enclave.signBatch(request),
      publish,
    });
    return new Worker(
      requestQueueName(p.cluster),
      async (job: Job) => {
        const request = requestJobSchema.parse(job.data);
        const id = requestJobId(request.origin, request.requestId);
        const started = performance.now();
        held++;
        try {
          running++;
          let result: ResultJob;
          try {
            result = (p.presigned ? presigned.get(id) : undefined) ?? (await execute(request));
          } finally {
            running--;
          }
          executeMs.push(performance.now() - started);
          await batcher.add(result);
        } finally {
          held--;
        }
      },
      { connection: redis.duplicate(), prefix: p.prefix, concurrency: WORKER_SLOTS },
    );
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await results.close();
      return executeMs;
    },
  };
}

// ---------------------------------------------------------------- the workers process

const processOptionsSchema = z.strictObject({ redisUrl: z.string(), dataDir: z.string() });
type ProcessOptions = z.infer<typeof processOptionsSchema>;

const commandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('presign'), id: z.number(), jobs: z.array(requestJobSchema) }),
  z.strictObject({ kind: z.literal('start'), id: z.number(), workers: workersParametersSchema }),
  z.strictObject({ kind: z.literal('stop'), id: z.number() }),
  z.strictObject({ kind: z.literal('exit') }),
]);
type Command = z.infer<typeof commandSchema>;

type Reply =
  | { kind: 'ready' }
  | { kind: 'done'; id: number; executeMs?: number[] }
  | { kind: 'failed'; id: number; message: string };

const SELF = fileURLToPath(import.meta.url);

/**
 * The workers in a process of their own, on the enclave data under `dataDir` (made by the
 * parent). One process serves every measurement: `start` and `stop` bring up and close a set
 * of workers under a measurement's prefix.
 */
export async function startWorkersProcess(options: ProcessOptions) {
  const child: ChildProcess = fork(SELF, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting = new Map<
    number,
    { resolve: (r: Extract<Reply, { kind: 'done' }>) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      const error = new Error(`the bench workers process exited (${code})`);
      reject(error);
      for (const w of waiting.values()) w.reject(error);
    });
    child.on('message', (reply: Reply) => {
      if (reply.kind === 'ready') return resolve();
      const w = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.kind === 'done') w?.resolve(reply);
      else w?.reject(new Error(`the bench workers process failed: ${reply.message}`));
    });
  });
  const ask = (command: Extract<Command, { id: number }>) =>
    new Promise<Extract<Reply, { kind: 'done' }>>((resolve, reject) => {
      waiting.set(command.id, { resolve, reject });
      child.send(command);
    });
  await ready;
  return {
    pid: child.pid,
    /** Runs `jobs` in the process's enclave now, for workers started with `presigned`. */
    presign: async (jobs: RequestJob[]) => {
      await ask({ kind: 'presign', id: nextId++, jobs });
    },
    start: async (workers: WorkersParameters): Promise<BenchWorkers> => {
      await ask({ kind: 'start', id: nextId++, workers });
      return { close: async () => (await ask({ kind: 'stop', id: nextId++ })).executeMs ?? [] };
    },
    exit: async () => {
      if (child.exitCode === null) child.send({ kind: 'exit' } satisfies Command);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The workers process itself. */
async function workersMain(options: ProcessOptions): Promise<void> {
  const post = (reply: Reply) => process.send?.(reply);
  const engine = await ContractEngine.start({ threads: Math.min(2, os.availableParallelism()) });
  const enclave = await openBenchEnclave(options.dataDir, engine);
  const execute = executeIn(enclave);
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  let presigned = new Map<string, ResultJob>();
  let running: BenchWorkers | null = null;
  const handle = async (command: Command): Promise<number[] | undefined> => {
    switch (command.kind) {
      case 'presign':
        presigned = new Map([...presigned, ...(await presignIn(execute, command.jobs))]);
        return undefined;
      case 'start':
        if (running) throw new Error('workers are running already');
        running = await startWorkers(redis, enclave, execute, presigned, command.workers);
        return undefined;
      case 'stop': {
        const executeMs = (await running?.close()) ?? [];
        running = null;
        return executeMs;
      }
      case 'exit':
        await running?.close();
        await redis.quit();
        await engine.close();
        process.exit(0);
    }
  };
  process.on('message', (message: unknown) => {
    const parsed = commandSchema.safeParse(message);
    if (!parsed.success) {
      console.error(`bench workers process: unreadable command: ${parsed.error.issues[0]?.message}`);
      return;
    }
    const command = parsed.data;
    void handle(command).then(
      (executeMs) => {
        if (command.kind !== 'exit')
          post({ kind: 'done', id: command.id, ...(executeMs ? { executeMs } : {}) });
      },
      (error: unknown) => {
        if (command.kind !== 'exit') post({ kind: 'failed', id: command.id, message: errorMessage(error) });
      },
    );
  });
  // A bench stopped hard (an error, Ctrl-C) leaves no process of this kind behind.
  process.once('disconnect', () => process.exit(0));
  post({ kind: 'ready' });
}

if (process.argv[1] === SELF && process.send) {
  workersMain(processOptionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'))).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
