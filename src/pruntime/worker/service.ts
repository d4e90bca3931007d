import { availableParallelism } from 'node:os';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { type Hex, toHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import {
  type Config,
  type PhalaChainConfig,
  type WorkerConfig,
  jobLockOptions,
} from '../../config/schema.js';
import { type Logger, createLogger } from '../../log/logger.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';
import { signerFromUri } from '../../phala/signers.js';
import type { Signer } from '../../phala/submit.js';
import { RESULT_QUEUE, requestQueueName, resultJobIdOf } from '../../protocol/queue-names.js';
import type { ResultJob } from '../../protocol/result-job.js';
import {
  type ResultBatchJob,
  resultBatchJobId,
  resultBatchJobSchema,
} from '../../protocol/result-batch-job.js';
import { MAX_ATTEMPTS, scheduleBackoffStrategy } from '../../protocol/retry.js';
import { Enclave } from '../enclave/enclave.js';
import {
  type PlatformConfig,
  type TeePlatform,
  createTeePlatform,
  platformConfigFrom,
} from '../enclave/platform.js';
import { ContractEngine } from '../engine/engine.js';
import { ChainReader } from './chain-reader.js';
import { ChainWatch } from './chain-watch.js';
import { Admission } from './admission.js';
import { type QueryBody, QueryError, type QueryResponse, runDirectQuery } from './direct-query.js';
import { RequestDeferredError, RequestRejectedError, SECURITY_REFUSALS, WorkerError } from './errors.js';
import { Registry } from 'prom-client';
import { createSecurityRefusalCounter, recordSecurityRefusal } from '../../log/security-refusal.js';
import type { JobRefusal } from '../../protocol/job-refusal.js';
import { RequestOnChain } from './request-on-chain.js';
import { type VerifiedViewStats, type VerifiedViews, startVerifiedViews } from './verified-views.js';
import { type HttpApi, startHttpApi } from './http-api.js';
import {
  type RegistrationStatus,
  ensureFunds,
  registerOnChain,
  registrationStatusOf,
  shouldRegister,
} from './registration.js';
import { type RedisConnection, createRedis } from '../../infra/redis.js';
import type { RequestCheckContext } from './request-check.js';
import { RequestProcessor } from './request-processor.js';
import { StateCommitGate } from './state-commit-gate.js';
import { ResultBatcher } from './result-batcher.js';
import { readProgress } from './state-file.js';

/**
 * A pRuntime worker service (docs/pruntime-worker.md): it opens (or makes) its enclave identity,
 * registers on the Phala-style chain with a fresh quote from its own ecdsa account, follows the
 * chain for its approval and for the contract keys gatekeepers hand it, and while approved takes
 * requests from its cluster's queue and puts signed results on the results queue. It never
 * submits a transaction for a request: the relayer does.
 */

export type StartWorkerParameters = {
  /** The whole configuration; its `worker` section and its Phala-style chain are used. */
  config: Config;
  logger?: Logger;
  /** The TEE platform; default: from `worker.attestation`. */
  platform?: TeePlatform;
  /** A contract engine to share; default: one owned by the worker (threads = concurrency, ≤ cores). */
  engine?: ContractEngine;
  /** An open chain client to use (not closed on stop); default: a connection to the config's chain. */
  client?: PhalaClient;
  /** A Redis connection to use (not closed on stop); default: one from the config. */
  redis?: RedisConnection;
  /** Where the HTTP API listens (default `worker.http`); `false`: no HTTP API. */
  http?: { host: string; port: number } | false;
  /** How long a job this worker cannot serve now waits before it is offered again (default 2 s). */
  deferDelayMs?: number;
  /** How often the registration is re-read besides chain events (default 60 s). */
  statusRefreshMs?: number;
  /** Funding of the worker's account: top up below `minimumBalance` by `topUp` (planck). */
  funding?: { minimumBalance?: bigint; topUp?: bigint };
};

export type WorkerStats = {
  served: number;
  contractErrors: number;
  rejected: number;
  deferred: number;
  failed: number;
  keysReceived: number;
  keysRefused: number;
};

export type RejectionRecord = { jobId: string | null; reason: string; detail: string; at: number };

/** What `GET /info` shows. */
export type WorkerInfoView = {
  v: 1;
  worker: { secp256k1: Hex; x25519: Hex; address: Hex; account: string };
  tee: string;
  measurement: Hex;
  /** The attestation of the current registration (as gatekeepers verify it), else a fresh quote. */
  quote: Hex;
  cluster: Hex;
  chain: { genesisHash: Hex; cursor: number };
  registration: RegistrationStatus;
  approved: boolean;
  serving: boolean;
  keys: ReturnType<Enclave['keys']>;
  queue: { name: string; prefix: string; concurrency: number };
  stats: WorkerStats;
  recentRejections: RejectionRecord[];
};

/** The contract a queued payload names, lower-case, for admission (the payload may be anything). */
function contractIdIn(data: unknown): string | undefined {
  const id = (data as { contractId?: unknown } | null)?.contractId;
  return typeof id === 'string' && /^0x[0-9a-fA-F]{64}$/.test(id) ? id.toLowerCase() : undefined;
}

/** The request id a queued payload names, for logs (the payload may be anything). */
function requestIdIn(data: unknown): string | undefined {
  const id = (data as { requestId?: unknown } | null)?.requestId;
  return typeof id === 'string' && /^0x[0-9a-fA-F]{64}$/.test(id) ? id : undefined;
}

/** BullMQ options of a result job: as the relayer's stage jobs (src/relayer/queues.ts). */
const KEEP_FINISHED = { age: 7 * 24 * 3600, count: 200_000 } as const;
const RESULT_JOB_OPTIONS = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: 'schedule' },
  removeOnComplete: KEEP_FINISHED,
  removeOnFail: KEEP_FINISHED,
} as const;
const MAX_REJECTION_RECORDS = 32;
/** How soon a job deferred as `contract-busy` is offered again. */
const BUSY_DEFER_MS = 250;

/** Starts a worker; resolves once it is registered (or registering) and listening. */
export async function startWorker(parameters: StartWorkerParameters): Promise<WorkerService> {
  const service = new WorkerService(parameters);
  try {
    await service.start();
  } catch (error) {
    await service.stop({ graceMs: 0 }).catch(() => {});
    throw error;
  }
  return service;
}

export function workerConfigOf(config: Config): { worker: WorkerConfig; chain: PhalaChainConfig } {
  if (!config.worker)
    throw new WorkerError('The configuration has no worker section.', {
      details: 'add `worker: { cluster, dataDir, attestation }`',
    });
  const chain = config.chains.find((c): c is PhalaChainConfig => c.kind === 'phala');
  if (!chain)
    throw new WorkerError('The configuration names no Phala-style chain.', {
      details: 'a worker registers on, and reads contracts from, a `kind: phala` chain',
    });
  return { worker: config.worker, chain };
}

/** The enclave platform config of `worker.attestation`, with secrets revealed for the enclave only. */
export function platformConfigOf(worker: WorkerConfig): PlatformConfig {
  return platformConfigFrom(worker.attestation);
}

/**
 * Jobs the worker takes from the queue at once: `concurrency`, and one more kept for a contract
 * that holds none (fair share, docs/pruntime-worker.md#fair-share).
 */
export function queueSlotsFor(concurrency: number): number {
  return concurrency + 1;
}

/** The worker's own engine threads: min(concurrency, cores), and one spare when it runs several jobs. */
export function engineThreadsFor(concurrency: number, cores: number): number {
  const busy = Math.max(1, Math.min(concurrency, cores));
  return concurrency > 1 ? busy + 1 : busy;
}

export class WorkerService {
  readonly #p: StartWorkerParameters;
  readonly #worker: WorkerConfig;
  readonly #chainConfig: PhalaChainConfig;
  readonly #log: Logger;
  readonly stats: WorkerStats = {
    served: 0,
    contractErrors: 0,
    rejected: 0,
    deferred: 0,
    failed: 0,
    keysReceived: 0,
    keysRefused: 0,
  };
  readonly #rejections: RejectionRecord[] = [];

  #enclave: Enclave | null = null;
  #ownsEngine = false;
  #engine: ContractEngine | null = null;
  #client: PhalaClient | null = null;
  #redis: RedisConnection | null = null;
  #chain: ChainReader | null = null;
  #views: VerifiedViews | null = null;
  #onChain: RequestOnChain | null = null;
  /** The worker's own metrics (`GET /metrics`): security refusals by reason. */
  readonly metrics = new Registry();
  readonly #securityRefusals = createSecurityRefusalCounter(this.metrics);
  #watch: ChainWatch | null = null;
  #http: HttpApi | null = null;
  #bull: Worker | null = null;
  #results: Queue | null = null;
  #processor: RequestProcessor | null = null;
  /** Each contract's requests held at once: its share of the engine (admission.ts). */
  #jobAdmission: Admission | null = null;
  /** Each contract's direct queries at once: twice its share (one running, one next). */
  #queryAdmission: Admission | null = null;
  #batcher: ResultBatcher | null = null;
  /** Jobs between taking a request and having its result (for the batcher: more may be coming). */
  #executing = 0;
  #account: Signer | null = null;
  #funder: Signer | undefined;
  #genesis: Hex = '0x';
  #check: RequestCheckContext | null = null;
  #status: RegistrationStatus = { kind: 'unregistered' };
  #attestation: Hex = '0x';
  #serving = false;
  #bullStarted = false;
  #bullRun: Promise<void> | null = null;
  #registering: Promise<void> | null = null;
  #statusQueue: Promise<unknown> = Promise.resolve();
  #refreshTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  #abandoned = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopped: Promise<void> | null = null;
  readonly #waiters = new Set<() => void>();

  constructor(parameters: StartWorkerParameters) {
    this.#p = parameters;
    const { worker, chain } = workerConfigOf(parameters.config);
    this.#worker = worker;
    this.#chainConfig = chain;
    this.#log =
      parameters.logger ??
      createLogger({
        level: parameters.config.log.level,
        pretty: parameters.config.log.pretty,
        name: 'worker',
      });
  }

  // ------------------------------------------------------------------ public surface

  get enclave(): Enclave {
    if (!this.#enclave) throw new WorkerError('The worker is not started.');
    return this.#enclave;
  }

  /** The worker's Ethereum-style address (its identity key), as results name it. */
  get address(): Hex {
    return this.enclave.publicIdentity.address;
  }

  get cluster(): Hex {
    return this.#worker.cluster.toLowerCase() as Hex;
  }

  /** The HTTP API's base URL, or null without one. */
  get url(): string | null {
    return this.#http?.url ?? null;
  }

  get registration(): RegistrationStatus {
    return this.#status;
  }

  /** True while approved and taking requests from the queue. */
  get serving(): boolean {
    return this.#serving;
  }

  /** The request processing path without the queue (what each queue job runs). */
  get processor(): RequestProcessor {
    if (!this.#processor) throw new WorkerError('The worker is not started.');
    return this.#processor;
  }

  /** Resolves when `predicate` holds (checked whenever the worker's state changes). */
  waitUntil(
    predicate: (worker: WorkerService) => boolean,
    timeoutMs = 60_000,
    what = 'a condition',
  ): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new WorkerError(`Timed out waiting for ${what}.`, { details: `${timeoutMs} ms` }));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  whenServing(timeoutMs = 60_000): Promise<void> {
    return this.waitUntil((w) => w.serving, timeoutMs, 'approval');
  }

  whenHasContractKey(contractId: Hex, timeoutMs = 60_000): Promise<void> {
    return this.waitUntil((w) => w.enclave.hasContractKey(contractId), timeoutMs, `the key of ${contractId}`);
  }

  info(): WorkerInfoView {
    const enclave = this.enclave;
    const identity = enclave.publicIdentity;
    return {
      v: 1,
      worker: { ...identity, account: this.#account?.address ?? '' },
      tee: enclave.tee,
      measurement: enclave.measurement,
      quote: this.#attestation,
      cluster: this.cluster,
      chain: { genesisHash: this.#genesis, cursor: this.#watch?.cursor ?? -1 },
      registration: this.#status,
      approved: this.#status.kind === 'approved',
      serving: this.#serving,
      keys: enclave.keys(),
      queue: {
        name: requestQueueName(this.#worker.cluster as Hex),
        prefix: this.#p.config.redis.prefix,
        concurrency: this.#worker.concurrency,
      },
      stats: {
        ...this.stats,
        keysReceived: this.#watch?.stats.received ?? 0,
        keysRefused: this.#watch?.stats.refused ?? 0,
      },
      recentRejections: [...this.#rejections],
    };
  }

  health(): { ok: boolean; chain: boolean; redis: boolean; serving: boolean; registration: string } {
    const chain = this.#client?.api.isConnected ?? false;
    const redis = this.#redis?.status === 'ready';
    return {
      ok: chain && redis && !this.#stopping,
      chain,
      redis,
      serving: this.#serving,
      registration: this.#status.kind,
    };
  }

  /**
   * What checking requests against the chains has cost so far: checks made, their wall time, and
   * the reads behind them (light-client syncs and read proofs, EVM quorum rounds and proofs).
   */
  get verification(): { checks: number; totalMicros: number } & VerifiedViewStats {
    return { ...(this.#onChain?.stats ?? { checks: 0, totalMicros: 0 }), ...this.#views!.stats() };
  }

  /**
   * A direct confidential query (what `POST /query` runs), within its contract's share of the
   * engine: beyond it, QueryError 429 `contract-busy`.
   */
  async query(body: QueryBody): Promise<QueryResponse> {
    const place = this.#queryAdmission!.enter(body.contractId.toLowerCase());
    if (!place.ok)
      throw new QueryError(429, 'contract-busy', 'too many queries of this contract at once; retry shortly');
    try {
      return await runDirectQuery(
        { enclave: this.enclave, chain: this.#chain!, cluster: this.cluster, serving: this.#serving },
        body,
      );
    } finally {
      place.release();
    }
  }

  // ------------------------------------------------------------------ start

  async start(): Promise<void> {
    const { config } = this.#p;
    const worker = this.#worker;
    const platform = this.#p.platform ?? createTeePlatform(platformConfigOf(worker));
    if (this.#p.engine) this.#engine = this.#p.engine;
    else {
      this.#engine = await ContractEngine.start({
        // One thread per core the jobs can use, plus the one fair share keeps spare for a contract
        // not running yet (scheduler.ts): a lone contract then still has every core.
        threads: engineThreadsFor(worker.concurrency, availableParallelism()),
      });
      this.#ownsEngine = true;
    }
    const engine = this.#engine;
    // The worker takes one job more from the queue than `concurrency` (queueSlotsFor), kept for a
    // contract not holding any yet; `concurrency` is shared out among those holding jobs: a lone
    // contract holds all of it (its results run and batch together), n contracts ceil(c / n) each.
    // The engine then runs each within its share of the threads (scheduler.ts).
    const concurrency = worker.concurrency;
    this.#jobAdmission = new Admission((_contract, active) => Math.max(1, Math.ceil(concurrency / active)));
    this.#queryAdmission = new Admission((contract) => 2 * engine.shareOf(contract));
    this.#enclave = await Enclave.open({ dataDir: worker.dataDir, platform, engine: this.#engine });
    const identity = this.#enclave.publicIdentity;
    this.#log.info(
      {
        worker: identity.secp256k1,
        address: identity.address,
        measurement: this.#enclave.measurement,
        tee: this.#enclave.tee,
        newIdentity: this.#enclave.createdIdentity,
        keys: this.#enclave.keys().length,
      },
      this.#enclave.createdIdentity ? 'made a new worker identity' : 'unsealed the worker identity',
    );

    this.#client = this.#p.client ?? (await createPhalaClient({ url: this.#chainConfig.wsUrl }));
    // The chain is the one pinned in the worker's own configuration, whatever the node says.
    this.#genesis = worker.trust.phala.genesisHash.toLowerCase() as Hex;
    if (toHex(this.#client.genesisHash).toLowerCase() !== this.#genesis)
      throw new WorkerError('The Phala-style node serves another chain than the pinned one.', {
        details: `worker.trust.phala.genesisHash is ${this.#genesis}, the node's genesis ${toHex(this.#client.genesisHash)}`,
      });
    const progress = await readProgress(worker.dataDir);
    if (progress && progress.genesisHash !== this.#genesis)
      throw new WorkerError('The data directory belongs to another chain.', {
        details: `${worker.dataDir} follows ${progress.genesisHash}, the node is ${this.#genesis}`,
      });
    const ss58 = this.#client.api.registry.chainSS58 ?? 42;
    this.#account = this.#enclave.transactionSigner(ss58);
    this.#funder = worker.funder ? await signerFromUri(worker.funder.reveal(), 'sr25519', ss58) : undefined;
    this.#chain = new ChainReader(this.#client);
    const evm = config.chains.filter((c) => c.kind === 'evm');
    this.#check = {
      cluster: this.cluster,
      phalaGenesisHash: this.#genesis,
      xcmOriginIndex: this.#chain.xcmOriginIndex(),
      evmGateways: evm.length ? evm.map((c) => ({ chainId: c.chainId, gateway: c.gateway as Hex })) : null,
    };
    this.#views = await startVerifiedViews({
      trust: worker.trust,
      wsUrl: this.#chainConfig.wsUrl,
      logger: this.#log,
    });
    this.#onChain = new RequestOnChain({
      phala: this.#views.phala,
      evm: this.#views.evm,
      xcmOriginIndex: this.#check.xcmOriginIndex,
    });
    this.#processor = new RequestProcessor({
      enclave: this.#enclave,
      chain: this.#chain,
      onChain: this.#onChain,
      check: this.#check,
      isServing: () => this.#serving && !this.#stopping,
      stateCommitGate: new StateCommitGate({
        client: this.#client,
        account: this.#account,
        // The worker's own verified view decides when a commit is final, not the node's word.
        reader: this.#views.finalizedState,
      }),
    });

    this.#batcher = new ResultBatcher({
      maxSize: worker.batch.maxSize,
      maxDelayMs: worker.batch.maxDelayMs,
      maxSizeFor: (chainId, gateway) =>
        evm.find((c) => c.chainId === chainId && c.gateway.toLowerCase() === gateway.toLowerCase())?.batch
          .maxSize ?? Number.POSITIVE_INFINITY,
      running: () => this.#executing,
      full: () => this.#inFlight.size >= queueSlotsFor(worker.concurrency),
      sign: (request) => this.enclave.signBatch(request),
      publish: (batch) => this.#publish(batch),
      onSignError: (error, size) =>
        this.#log.warn(
          { err: errorMessage(error), size },
          'could not sign a result batch; publishing one by one',
        ),
    });

    this.#redis = this.#p.redis ?? createRedis(config.redis);
    this.#redis.on('error', (error: Error) => this.#log.warn({ err: errorMessage(error) }, 'redis error'));
    this.#results = new Queue(RESULT_QUEUE, { connection: this.#redis, prefix: config.redis.prefix });
    this.#bull = new Worker(
      requestQueueName(worker.cluster as Hex),
      (job, token) => this.#process(job, token),
      {
        connection: this.#redis,
        prefix: config.redis.prefix,
        autorun: false,
        concurrency: queueSlotsFor(worker.concurrency),
        ...jobLockOptions(worker),
        maxStalledCount: worker.maxStalledCount,
        name: identity.address.toLowerCase(),
        settings: { backoffStrategy: scheduleBackoffStrategy(config.queues.backoffMs) },
      },
    );
    this.#bull.on('error', (error) => this.#log.warn({ err: errorMessage(error) }, 'queue worker error'));

    // Where to read the chain from: after the last block read, or from this registration's block
    // (handovers follow the approval, which follows the registration), or from now.
    const info = await this.#chain.worker(identity.secp256k1);
    this.#attestation = info ? info.attestation : toHex(await this.#enclave.quote());
    const from = progress
      ? progress.cursor + 1
      : info
        ? info.registeredAt
        : (await this.#chain.finalizedHead()) + 1;
    this.#watch = new ChainWatch({
      enclave: this.#enclave,
      chain: this.#chain,
      dataDir: worker.dataDir,
      genesisHash: this.#genesis,
      logger: this.#log,
      onRegistryChange: () => this.#refresh(false),
      onBlock: async () => {
        this.#notify();
        const s = this.#status;
        if (s.kind === 'approved' && Date.now() / 1000 >= s.expiresAt) await this.#refresh(false);
      },
    });
    await this.#watch.start(from);

    const http = this.#p.http ?? worker.http;
    if (http) {
      this.#http = await startHttpApi({
        host: http.host,
        port: http.port,
        logger: this.#log,
        handlers: {
          info: () => this.info(),
          health: () => this.health(),
          query: (body) => this.query(body),
          metrics: async () => ({
            contentType: this.metrics.contentType,
            text: await this.metrics.metrics(),
          }),
        },
      });
      this.#log.info({ url: this.#http.url }, 'worker http api listening');
    }

    await this.#refresh(true);
    const every = this.#p.statusRefreshMs ?? 60_000;
    this.#refreshTimer = setInterval(() => {
      void this.#refresh(false).catch((error) =>
        this.#log.warn({ err: errorMessage(error) }, 'could not re-read the registration'),
      );
    }, every);
    this.#refreshTimer.unref();
  }

  // ------------------------------------------------------------------ registration and approval

  /** Re-reads the registration, serves or stops serving accordingly, and (re-)registers when due. */
  #refresh(starting: boolean): Promise<void> {
    const run = async () => {
      if (this.#stopping) return;
      const chain = this.#chain!;
      const identity = this.enclave.publicIdentity;
      const info = await chain.worker(identity.secp256k1);
      const [time, allowed] = await Promise.all([
        chain.chainTime(),
        info?.status.kind === 'approved'
          ? chain.measurementAllowed(info.status.measurement)
          : Promise.resolve(true),
      ]);
      const status = registrationStatusOf(
        info,
        { x25519: identity.x25519, cluster: this.cluster },
        time,
        allowed,
      );
      if (JSON.stringify(status) !== JSON.stringify(this.#status))
        this.#log.info({ registration: status }, `registration: ${status.kind}`);
      this.#status = status;
      if (info) this.#attestation = info.attestation;
      await this.#applyServing();
      if (!this.#registering && shouldRegister(status, starting)) {
        this.#registering = this.#registerLoop().finally(() => {
          this.#registering = null;
        });
      }
      this.#notify();
    };
    const next = this.#statusQueue.then(run, run);
    this.#statusQueue = next.catch(() => {});
    return next;
  }

  async #registerLoop(): Promise<void> {
    let delay = 1_000;
    let warnedFunds = false;
    while (!this.#stopping) {
      try {
        const funds = await ensureFunds({
          client: this.#client!,
          account: this.#account!,
          funder: this.#funder,
          ...this.#p.funding,
        });
        if (!funds.funded) {
          if (!warnedFunds)
            this.#log.warn(
              { account: this.#account!.address, balance: funds.balance.toString() },
              'the worker account cannot pay for its registration: send it funds (or configure worker.funder)',
            );
          warnedFunds = true;
          await this.#sleep(10_000);
          continue;
        }
        if (funds.toppedUp)
          this.#log.info(
            { account: this.#account!.address, balance: funds.balance.toString() },
            'funded the worker account',
          );
        const { registeredAt, attestation } = await registerOnChain({
          client: this.#client!,
          account: this.#account!,
          x25519: this.enclave.publicIdentity.x25519,
          cluster: this.cluster,
          quote: (freshness) => this.enclave.quote(freshness),
        });
        this.#attestation = toHex(attestation);
        this.#log.info(
          { registeredAt, cluster: this.cluster },
          'registered on the chain; waiting for approval',
        );
        // Not awaited inside the status queue (this loop may run from it).
        void this.#refresh(false).catch(() => {});
        return;
      } catch (error) {
        if (this.#stopping) return;
        this.#log.warn({ err: errorMessage(error), retryInMs: delay }, 'registration failed; retrying');
        await this.#sleep(delay);
        delay = Math.min(delay * 2, 60_000);
      }
    }
  }

  async #applyServing(): Promise<void> {
    const serve = this.#status.kind === 'approved' && !this.#stopping;
    if (serve === this.#serving) return;
    this.#serving = serve;
    const bull = this.#bull!;
    if (serve) {
      if (!this.#bullStarted) {
        this.#bullStarted = true;
        this.#bullRun = bull.run().catch((error) => {
          this.#log.error({ err: errorMessage(error) }, 'queue worker stopped');
        });
      } else await bull.resume();
      this.#log.info({ queue: bull.name, concurrency: this.#worker.concurrency }, 'serving requests');
    } else if (this.#bullStarted) {
      await bull.pause(true);
      this.#log.warn({ registration: this.#status.kind }, 'not serving requests');
    }
  }

  // ------------------------------------------------------------------ jobs

  #process(job: Job, token: string | undefined): Promise<{ result: string; status: string }> {
    const running = this.#processJob(job, token);
    this.#inFlight.add(running);
    void running.catch(() => {}).finally(() => this.#inFlight.delete(running));
    return running;
  }

  async #processJob(job: Job, token: string | undefined): Promise<{ result: string; status: string }> {
    const started = Date.now();
    try {
      const result = await this.#run(job);
      await this.#batcher!.add(result);
      if (result.status === 'ok') this.stats.served++;
      else this.stats.contractErrors++;
      this.#log.debug(
        { jobId: job.id, status: result.status, gas: result.gasUsed, ms: Date.now() - started },
        'request served',
      );
      return { result: resultJobIdOf(result.jobId, this.address), status: result.status };
    } catch (error) {
      if (error instanceof RequestRejectedError) {
        this.stats.rejected++;
        this.#remember({
          jobId: job.id ?? null,
          reason: error.reason,
          detail: error.shortMessage,
          at: Date.now(),
        });
        const security = SECURITY_REFUSALS.has(error.reason);
        if (security)
          recordSecurityRefusal(this.#log, this.#securityRefusals, {
            role: 'worker',
            reason: error.reason,
            jobId: job.id,
            requestId: requestIdIn(job.data),
            detail: error.detail,
          });
        else
          this.#log.warn(
            { jobId: job.id, reason: error.reason, detail: error.shortMessage },
            'request rejected',
          );
        // Left on the job for the relayer's journey (src/protocol/job-refusal.ts).
        const refusal: JobRefusal = {
          refusal: { reason: error.reason, detail: error.detail.slice(0, 1_000), security },
        };
        await job.updateProgress(refusal).catch(() => undefined);
        throw new UnrecoverableError(error.shortMessage);
      }
      if (error instanceof RequestDeferredError) {
        this.stats.deferred++;
        this.#log.debug({ jobId: job.id, reason: error.reason }, 'request deferred to another worker');
        // A busy contract's job comes back soon: its turn is one call away, not a key handover.
        const delay = this.#p.deferDelayMs ?? 2_000;
        const wait = error.reason === 'contract-busy' ? Math.min(delay, BUSY_DEFER_MS) : delay;
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
      this.stats.failed++;
      this.#log.warn({ jobId: job.id, err: errorMessage(error) }, 'request failed; it will be retried');
      throw error;
    }
  }

  /**
   * Runs a job's request, counted as executing meanwhile (results wait for it to batch). A
   * contract holding its share of the engine already is deferred, so its burst does not fill the
   * worker's queue slots (admission.ts).
   */
  async #run(job: Job): Promise<ResultJob> {
    const contract = contractIdIn(job.data);
    let place = contract === undefined ? null : this.#jobAdmission!.enter(contract);
    if (contract !== undefined && place && !place.ok) {
      // Alone on this worker, a contract's next request waits here for its next place (the
      // spare slot has nobody else to serve); with others about, it goes back to the queue.
      if (place.why !== 'tenant' || !this.#jobAdmission!.isAlone(contract))
        throw new RequestDeferredError('contract-busy', `${contract} holds its share of this worker`);
      place = await this.#jobAdmission!.waitFor(contract);
    }
    this.#executing++;
    try {
      const result = await this.processor.run(job.data, job.id);
      this.#executing--;
      return result;
    } catch (error) {
      this.#executing--;
      // Nothing from this job will join a batch: results waiting on it may go now.
      this.#batcher?.settle();
      throw error;
    } finally {
      if (place?.ok) place.release();
    }
  }

  /**
   * Puts a worker batch on the results queue under its id (`resultBatchJobId`: a lone result keeps
   * `<request job id>-<worker address>`). An earlier job under the same id (the request came back:
   * a rejected or stale answer) is replaced, unless the relayer is reading it at this moment.
   */
  async #publish(batch: ResultBatchJob): Promise<void> {
    if (this.#abandoned) throw new WorkerError('The worker stopped before the result was published.');
    const payload = resultBatchJobSchema.parse(batch);
    const id = resultBatchJobId(payload);
    const results = this.#results!;
    const existing = await results.getJob(id);
    if (existing) {
      if ((await existing.getState()) === 'active') {
        this.#log.info({ resultJob: id }, 'an earlier result is being checked; not replaced');
        return;
      }
      await existing.remove();
    }
    await results.add('result', payload, { jobId: id, ...RESULT_JOB_OPTIONS });
  }

  #remember(record: RejectionRecord): void {
    this.#rejections.push(record);
    if (this.#rejections.length > MAX_REJECTION_RECORDS) this.#rejections.shift();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
    });
  }

  // ------------------------------------------------------------------ stop

  /**
   * Stops taking work and finishes the jobs in flight within `graceMs` (default the config's
   * `shutdownGraceMs`); jobs still running then are abandoned with their lock, which expires
   * (`worker.lockDurationMs`) and hands them to another worker. Nothing is lost, nothing signed
   * half-way reaches a chain (results are only ever queued, never submitted, by a worker).
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (!this.#stopped) this.#stopped = this.#stop(options.graceMs ?? this.#p.config.shutdownGraceMs);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#serving = false;
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    await this.#http?.close().catch(() => {});
    if (this.#bull && this.#bullStarted) {
      // No new jobs; those in hand get `graceMs` to finish (and be marked completed by close()).
      await this.#bull.pause(true).catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        Promise.allSettled([...this.#inFlight]).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) {
        this.#abandoned = true;
        this.#log.warn(
          { graceMs, jobs: this.#inFlight.size },
          'jobs still running at the end of the grace period are handed back (their locks expire)',
        );
      }
      await this.#bull.close(!drained).catch(() => {});
      await this.#bullRun;
    } else await this.#bull?.close().catch(() => {});
    await this.#watch?.stop().catch(() => {});
    await this.#views?.close().catch(() => {});
    await this.#statusQueue.catch(() => {});
    await this.#results?.close().catch(() => {});
    if (!this.#p.redis && this.#redis) await this.#redis.quit().catch(() => this.#redis?.disconnect());
    if (!this.#p.client && this.#client) await closePhalaClient(this.#client).catch(() => {});
    await this.#enclave?.close().catch(() => {});
    if (this.#ownsEngine) await this.#engine?.close().catch(() => {});
    this.#log.info('worker stopped');
  }
}
