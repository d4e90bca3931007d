import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { type Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { errorMessage } from '../base/errors.js';
import { type Config, jobLockOptions } from '../config/schema.js';
import type { RequestJob } from '../protocol/request-job.js';
import type { TapeObservation } from '../protocol/tape.js';
import { requestJobId } from '../protocol/origin.js';
import { REQUEST_QUEUE_META_MATCH, isRequestQueueName, requestQueueName } from '../protocol/queue-names.js';
import { scheduleBackoffStrategy } from '../protocol/retry.js';
import { adminRoutes } from './admin-routes.js';
import { CheckpointFile, RedisCheckpointStore } from './checkpoints.js';
import { OperatorConsole } from './console/routes.js';
import { SESSION_COOKIE } from './console/session.js';
import { startHttpServer } from './http-server.js';
import { JourneyStore } from './journey.js';
import { Lease } from './lease.js';
import { type RelayerMetrics, createRelayerMetrics } from './metrics.js';
import { PendingIndex, RecentlyConfirmed } from './pending.js';
import { redisReadiness, redisWhere, runReadiness, watchRedisErrors, withTimeout } from './readiness.js';
import type { Destination, OriginWatcher } from './ports.js';
import { RelayerQueues } from './queues.js';
import { RequestQueueFollower, followLeaseName } from './request-queue-follower.js';
import { type RedisConnection, createRedis, redisKey } from './redis.js';
import { ConfirmStage, DEFAULT_CONFIRM_TIMING } from './stages/confirm.js';
import { ItemOutcomes } from './stages/item-outcomes.js';
import { PrepareStage } from './stages/prepare.js';
import { preparedBatchSchema } from '../protocol/prepared-batch.js';
import { TapeRecorder, type TransactionLookup } from './tape/recorder.js';
import { ObserveStage } from './stages/observe.js';
import { SubmitStage } from './stages/submit.js';

/** The chain-specific parts, built from the config by `chains/` (or by tests). */
export type ChainAdapters = {
  watchers: OriginWatcher[];
  destinations: Destination[];
  phalaGenesisHash?: `0x${string}` | undefined;
  /** Extra readiness checks (each chain's RPC, approved workers per cluster). */
  readiness?: { name: string; check: () => Promise<{ ok: boolean; detail?: string }> }[];
  /** The transaction behind an EVM request log, for tapes (replay re-sends consumer contracts' requests). */
  transactionOf?: TransactionLookup;
  close?: () => Promise<void>;
};

/** What chain adapters get from the daemon they plug into. */
export type AdapterContext = {
  redis: RedisConnection;
  metrics: RelayerMetrics;
  logger: Logger;
  checkpoints: (chain: string) => RedisCheckpointStore;
  journeys: JourneyStore;
};

export type RelayerDaemonParameters = {
  config: Config;
  logger: Logger;
  /** Builds the chain adapters once the daemon's Redis connection and metrics exist. */
  adapters: (context: AdapterContext) => Promise<ChainAdapters> | ChainAdapters;
  /** Called for every newly queued request, with the raw message it was made from. */
  onRequest?: ((job: RequestJob, observation?: TapeObservation) => void) | undefined;
  /** Appends every queued request to this tape (docs/PROTOCOL.md §8); default `config.recordTape`. */
  recordTape?: string | undefined;
};

/** Journey states in which our record says the request is answered on chain. */
const ANSWERED: ReadonlySet<string> = new Set(['confirmed', 'already-fulfilled', 'xcm-processed']);
/** Journey states that ended for good otherwise (an operator retries those, not a rescan). */
const ENDED: ReadonlySet<string> = new Set(['dead', 'refused', 'cancelled']);
/** A request whose journey has not moved for this long is answered again when seen pending. */
const STALLED_MS = 5 * 60_000;

/** A running part: `stop` lets in-flight work finish; `abort` drops it (it goes back as stalled). */
type Running = { stop: () => Promise<void>; abort?: () => Promise<void> };

/**
 * The relayer daemon: one of these per process, any number of processes per Redis. Watchers and
 * each destination's submitter run only where their lease is held; prepare and confirm run
 * everywhere. Stopping takes no new work and hands in-flight jobs back within the grace period.
 */
export class RelayerDaemon {
  readonly metrics: RelayerMetrics = createRelayerMetrics();
  readonly redis: RedisConnection;
  readonly #records: RedisConnection;
  readonly queues: RelayerQueues;
  readonly journeys: JourneyStore;
  readonly pending: PendingIndex;
  readonly confirmed: RecentlyConfirmed;
  readonly #p: RelayerDaemonParameters;
  #adapters: ChainAdapters = { watchers: [], destinations: [] };
  readonly #prefix: string;
  readonly #mirror: CheckpointFile | undefined;
  readonly #observe: ObserveStage;
  readonly #recorder: TapeRecorder | undefined;
  readonly #running: Running[] = [];
  readonly #leases: Lease[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  /** Request queues this process follows, or tries to (under each queue's lease). */
  readonly #followed = new Set<string>();
  readonly #instance = randomBytes(8).toString('hex');
  #stopping = false;
  #urls: { metrics?: string; admin?: string } = {};

  constructor(parameters: RelayerDaemonParameters) {
    this.#p = parameters;
    const { config } = parameters;
    this.#prefix = config.redis.prefix;
    this.redis = createRedis(config.redis);
    this.redis.on('error', (error) =>
      parameters.logger.warn({ err: errorMessage(error) }, 'redis connection error'),
    );
    this.queues = new RelayerQueues(this.redis, this.#prefix);
    // The stages' small writes (journeys, pending index, answers) go on a connection of their own
    // that sends what is issued together in one round trip: a batch's items are recorded
    // concurrently, and one by one they cost a round trip each. Kept apart from BullMQ's
    // connection, whose blocking commands must not hold a pipeline back.
    this.#records = createRedis(config.redis, { enableAutoPipelining: true });
    this.#records.on('error', () => undefined);
    this.journeys = new JourneyStore({ redis: this.#records, prefix: this.#prefix });
    this.#mirror = config.checkpointFile ? new CheckpointFile(config.checkpointFile) : undefined;
    this.pending = new PendingIndex(this.#records, this.#prefix, this.#mirror);
    this.confirmed = new RecentlyConfirmed(this.#records, this.#prefix);
    const tape = parameters.recordTape ?? config.recordTape;
    this.#recorder = tape
      ? new TapeRecorder(tape, parameters.logger.child({ component: 'tape-recorder' }), {
          transactionOf: async (chain, hash) => (await this.#adapters.transactionOf?.(chain, hash)) ?? null,
        })
      : undefined;
    this.#observe = new ObserveStage({
      queues: this.queues,
      journeys: this.journeys,
      pending: this.pending,
      metrics: this.metrics,
      logger: parameters.logger.child({ stage: 'observe' }),
      onRequest: (job, observation) => {
        this.#followCluster(job.cluster, requestJobId(job.origin, job.requestId));
        this.#recorder?.record(job, observation);
        parameters.onRequest?.(job, observation);
      },
      reconsider: (job, existing) => this.#reconsider(job, existing),
      confirmed: this.confirmed,
      onReorg: async (chain) => {
        for (const d of this.#adapters.destinations) if (d.chain === chain) await d.afterReorg?.();
      },
    });
  }

  get urls(): { metrics?: string; admin?: string } {
    return this.#urls;
  }

  get adapters(): ChainAdapters {
    return this.#adapters;
  }

  async start(): Promise<void> {
    const { config, logger } = this.#p;
    // The health and metrics ports open first: while Redis does not answer they say so (/readyz
    // names it) and the daemon waits for it; its roles start once it answers.
    watchRedisErrors(this.redis);
    const metricsServer = await startHttpServer({
      host: config.metrics.host,
      port: config.metrics.port,
      logger,
      routes: [
        {
          method: 'GET',
          path: '/metrics',
          handler: async () => ({
            text: await this.#metricsText(),
            contentType: this.metrics.registry.contentType,
          }),
        },
        {
          method: 'GET',
          path: '/healthz',
          handler: async () => ({ json: { ok: !this.#stopping }, status: this.#stopping ? 503 : 200 }),
        },
        { method: 'GET', path: '/readyz', handler: async () => this.#readiness() },
      ],
    });
    // null: no token configured (loopback development only, config validation sees to it).
    const token = config.admin.token?.reveal() ?? null;
    const admin = adminRoutes(this.queues, this.journeys);
    // The operator console (docs/console.md) shares the admin server: same port, token and rules.
    const operatorConsole = new OperatorConsole(
      {
        config,
        redis: this.redis,
        queues: this.queues,
        journeys: this.journeys,
        metrics: this.metrics,
        adapters: () => this.#adapters,
        readiness: async () => (await this.#readiness()).json,
        logger: logger.child({ component: 'console' }),
      },
      { adminRoutes: admin, token },
    );
    const adminServer = await startHttpServer({
      host: config.admin.host,
      port: config.admin.port,
      logger,
      token,
      allowedHosts: config.admin.allowedHosts,
      routes: [...admin, ...operatorConsole.routes()],
      sessionCookie: SESSION_COOKIE,
      loginPage: operatorConsole.loginPage,
    });
    this.#running.push(
      { stop: metricsServer.close },
      { stop: adminServer.close },
      { stop: () => operatorConsole.close() },
    );
    this.#urls = { metrics: metricsServer.url, admin: adminServer.url };
    // ioredis reconnects until Redis answers the PING; but a connection closed while it
    // reconnects never settles it, so the wait also ends when stop() is called.
    let answered = false;
    const ping = this.redis.ping().then(() => {
      answered = true;
    });
    ping.catch(() => undefined);
    try {
      while (!answered && !this.#stopping) await Promise.race([ping, new Promise((r) => setTimeout(r, 200))]);
    } catch (error) {
      if (this.#stopping) return; // stopped while waiting
      await Promise.allSettled([metricsServer.close(), adminServer.close()]);
      // Refused for good (e.g. a cluster node given as a plain URL): nothing may keep the process up.
      this.redis.disconnect();
      this.#records.disconnect();
      throw error;
    }
    if (this.#stopping) return;
    operatorConsole.start();
    this.#adapters = await this.#p.adapters({
      redis: this.redis,
      metrics: this.metrics,
      logger,
      checkpoints: (chain) =>
        new RedisCheckpointStore({ redis: this.redis, prefix: this.#prefix, chain, mirror: this.#mirror }),
      journeys: this.journeys,
    });
    const adapters = this.#adapters;
    await this.#markInstance();
    this.#startPrepare();
    for (const destination of adapters.destinations) this.#startConfirm(destination);
    await this.#followExistingQueues();
    for (const watcher of adapters.watchers)
      this.#underLease(`watch:${watcher.chain}`, () => this.#startWatcher(watcher));
    for (const destination of adapters.destinations) {
      this.#underLease(`submit:${destination.chain}`, (lease) => this.#startSubmitter(destination, lease));
    }
    this.#timers.push(setInterval(() => void this.#checkRedisKeptState(), 5_000).unref());
    logger.info({ metrics: metricsServer.url, admin: adminServer.url }, 'relayer started');
  }

  /** Runs `start` whenever this process holds the named lease; stops it when the lease is lost. */
  #underLease(name: string, start: (lease: Lease) => Promise<Running>): void {
    let running: Running | undefined;
    const lease = new Lease({
      redis: this.redis,
      key: redisKey(this.#prefix, 'lease', name),
      ttlMs: 15_000,
      onLost: () => {
        this.#p.logger.warn({ lease: name }, 'lease lost; stopping');
        const r = running;
        running = undefined;
        void r?.stop();
      },
    });
    this.#leases.push(lease);
    const attempt = async () => {
      if (this.#stopping || running) return;
      try {
        if (!(await lease.tryAcquire())) return;
        running = await start(lease);
        this.#running.push({ stop: async () => running?.stop(), abort: async () => running?.abort?.() });
        this.#p.logger.info({ lease: name, token: lease.token }, 'lease acquired');
      } catch (error) {
        this.#p.logger.warn({ lease: name, err: errorMessage(error) }, 'could not start leased role');
        await lease.release();
      }
    };
    void attempt();
    this.#timers.push(setInterval(() => void attempt(), 5_000).unref());
  }

  async #startWatcher(watcher: OriginWatcher): Promise<Running> {
    await watcher.start(this.#observe);
    return { stop: () => watcher.stop() };
  }

  /** The outcomes of requests, written by whichever stage ends them. */
  #outcomes(): ItemOutcomes {
    return new ItemOutcomes({
      journeys: this.journeys,
      pending: this.pending,
      confirmed: this.confirmed,
      metrics: this.metrics,
      logger: this.#p.logger.child({ stage: 'outcome' }),
      rerun: (request) => this.#rerun(request),
    });
  }

  /** Prepare runs in every process: workers' batches are checked wherever there is room. */
  #startPrepare(): void {
    const { config, logger } = this.#p;
    const adapters = this.#adapters;
    const stage = new PrepareStage({
      queues: this.queues,
      journeys: this.journeys,
      outcomes: this.#outcomes(),
      destinations: adapters.destinations,
      metrics: this.metrics,
      logger: logger.child({ stage: 'prepare' }),
      phalaGenesisHash: adapters.phalaGenesisHash,
    });
    const worker = new Worker(this.queues.results.name, stage.process, {
      connection: this.redis,
      prefix: this.#prefix,
      ...jobLockOptions(this.#p.config.queues),
      concurrency: config.queues.dispatchConcurrency,
      settings: { backoffStrategy: scheduleBackoffStrategy(config.queues.backoffMs) },
    });
    worker.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'prepare worker error'));
    this.#running.push({ stop: () => worker.close(), abort: () => worker.close(true) });
  }

  /**
   * Confirm runs in every process: a sent transaction is watched by whichever process looks next,
   * so a relayer that dies between send and confirm loses nothing.
   */
  #startConfirm(destination: ChainAdapters['destinations'][number]): void {
    const { logger } = this.#p;
    const stage = new ConfirmStage({
      destination,
      timing: destination.timing ?? DEFAULT_CONFIRM_TIMING,
      resultsQueue: this.queues.results,
      journeys: this.journeys,
      outcomes: this.#outcomes(),
      metrics: this.metrics,
      logger: logger.child({ stage: 'confirm', chain: destination.chain }),
    });
    const worker = new Worker(this.queues.confirm(destination.chain).name, stage.process, {
      connection: this.redis,
      prefix: this.#prefix,
      ...jobLockOptions(this.#p.config.queues),
      // Each look is a few reads; a job waits between looks in the delayed set, not here.
      concurrency: 32,
    });
    worker.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'confirm worker error'));
    this.#running.push({ stop: () => worker.close(), abort: () => worker.close(true) });
  }

  async #startSubmitter(destination: ChainAdapters['destinations'][number], lease: Lease): Promise<Running> {
    const { config, logger } = this.#p;
    const outcomes = this.#outcomes();
    const stage = new SubmitStage({
      destination,
      lease,
      submitQueue: this.queues.submit(destination.chain),
      confirmQueue: this.queues.confirm(destination.chain),
      redis: this.redis,
      prefix: this.#prefix,
      journeys: this.journeys,
      outcomes,
      metrics: this.metrics,
      logger: logger.child({ stage: 'submit', chain: destination.chain }),
      firstLookMs: Math.min((destination.timing ?? DEFAULT_CONFIRM_TIMING).lookEveryMs, 250),
    });
    const worker = new Worker(this.queues.submit(destination.chain).name, stage.process, {
      connection: this.redis,
      prefix: this.#prefix,
      ...jobLockOptions(this.#p.config.queues),
      // A job is active only until its transaction leaves: enough for a few transactions' worth
      // of batches to gather while one is being signed.
      concurrency: Math.max(2 * destination.batch.maxSize, 16),
      settings: { backoffStrategy: scheduleBackoffStrategy(config.queues.backoffMs) },
    });
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (!job) return;
      void job.isFailed().then(async (final) => {
        if (!final) return;
        const batch = preparedBatchSchema.safeParse(job.data);
        if (!batch.success) return;
        for (const item of batch.data.items) await outcomes.dead(item, destination.chain, error.message);
      });
    });
    worker.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'submit worker error'));
    return {
      stop: async () => {
        await stage.drain();
        await worker.close();
      },
      abort: () => worker.close(true),
    };
  }

  /**
   * Follows a cluster's request queue for the `dispatched` and dead-letter stages of journeys,
   * from the events of `firstJobId` (the job that brought the queue to this process's notice) on.
   */
  #followCluster(cluster: `0x${string}`, firstJobId: string): void {
    this.#followQueue(requestQueueName(cluster), firstJobId);
  }

  /**
   * Request queues that exist already (a restart, or jobs someone else put there): found by a scan
   * at start, and by the registry of request queues (the relayer that queues a cluster's first
   * request names it there), so every queue is followed even where no request of it was seen.
   */
  async #followExistingQueues(): Promise<void> {
    const match = `${this.#prefix}:${REQUEST_QUEUE_META_MATCH}`;
    // Request queues sit in slots of their own on a Redis Cluster: every master is scanned.
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    for (const node of nodes)
      for await (const keys of node.scanStream({ match, count: 200 }) as AsyncIterable<string[]>)
        for (const key of keys) {
          const name = key.slice(this.#prefix.length + 1, -':meta'.length);
          if (isRequestQueueName(name)) this.#followQueue(name);
        }
    await this.#followRegisteredQueues();
    this.#timers.push(setInterval(() => void this.#followRegisteredQueues(), 5_000).unref());
  }

  async #followRegisteredQueues(): Promise<void> {
    try {
      const names = await this.#records.smembers(redisKey(this.#prefix, 'request-queues'));
      for (const name of names) if (isRequestQueueName(name)) this.#followQueue(name);
    } catch (error) {
      this.#p.logger.warn({ err: errorMessage(error) }, 'could not read the request queues');
    }
  }

  /**
   * Follows the request queue `name` whenever this process holds its lease: one process at a
   * time, each reading on where the last one stopped (request-queue-follower.ts).
   */
  #followQueue(name: string, sinceJobId?: string): void {
    if (this.#followed.has(name)) return;
    this.#followed.add(name);
    this.#underLease(followLeaseName(name), async () => {
      // Named in the registry by each holder (again after a flush), so every process finds it.
      await this.#records.sadd(redisKey(this.#prefix, 'request-queues'), name);
      const follower = new RequestQueueFollower({
        name,
        redis: this.redis,
        records: this.#records,
        prefix: this.#prefix,
        queues: this.queues,
        journeys: this.journeys,
        pending: this.pending,
        metrics: this.metrics,
        logger: this.#p.logger.child({ stage: 'follow', queue: name }),
      });
      await follower.start(sinceJobId);
      return { stop: () => follower.stop() };
    });
  }

  /** Sends a finished request job back to the workers. */
  async #rerun(request: RequestJob): Promise<void> {
    const job = await this.queues
      .requests(request.cluster)
      .getJob(requestJobId(request.origin, request.requestId));
    const state = await job?.getState();
    if (job && (state === 'completed' || state === 'failed'))
      await job.retry(state, { resetAttemptsMade: true });
  }

  /**
   * A finished request the chain still shows pending. Answered already by our record (a reorg
   * undid the block with the answer), or stalled with no move for a while (its answer lost): the
   * workers answer it again. An answer still on its way (prepare, submit, confirm) is left alone.
   */
  async #reconsider(request: RequestJob, requestJob: Job): Promise<void> {
    const destination = this.#adapters.destinations.find((d) => d.accepts(request.origin));
    if (!destination || request.deadline * 1000 <= Date.now()) return;
    const jobId = requestJobId(request.origin, request.requestId);
    const summary = await this.journeys.summary(jobId);
    const answered = summary && ANSWERED.has(summary.state);
    const stalled = !summary || (Date.now() - summary.updatedAt > STALLED_MS && !ENDED.has(summary.state));
    if (!answered && !stalled) return;
    if ((await destination.status(request)) !== 'pending') return;
    const state = await requestJob.getState();
    if (state !== 'completed' && state !== 'failed') return;
    await requestJob.retry(state, { resetAttemptsMade: true });
    await this.pending.add(request.observed.chain, jobId, request.observed.blockNumber);
    await this.journeys.record(jobId, {
      stage: 'reorged',
      chain: request.observed.chain,
      detail: 'pending on chain again; answering again',
    });
    this.#p.logger.warn({ jobId }, 'finished request is pending on chain again; sent back');
  }

  /**
   * A key written at start and checked every few seconds. If it is gone, Redis lost its data
   * (a flush, a failover without persistence): every watcher we lead rescans from its low-water
   * mark in the checkpoint file and re-queues what its chain still shows pending.
   */
  async #markInstance(): Promise<void> {
    await this.redis.set(redisKey(this.#prefix, 'instance'), this.#instance, 'NX');
  }

  async #checkRedisKeptState(): Promise<void> {
    if (this.#stopping) return;
    try {
      if (await this.redis.exists(redisKey(this.#prefix, 'instance'))) return;
      this.#p.logger.error('Redis lost its data; re-deriving pending requests from the chains');
      this.metrics.errors.inc({ kind: 'redis-data-loss' });
      await this.#markInstance();
      await this.recover();
    } catch (error) {
      this.#p.logger.warn({ err: errorMessage(error) }, 'redis state check failed');
    }
  }

  /** Rescans each chain from its low-water mark (see checkpoints.ts); returns requests re-reported. */
  async recover(): Promise<number> {
    let total = 0;
    for (const watcher of this.#adapters.watchers) {
      if (!watcher.rederive) continue;
      const mirror = this.#mirror?.get(watcher.chain);
      const from =
        mirror?.lowWater ?? (mirror?.checkpoint ? Number(mirror.checkpoint.blockNumber) : undefined);
      if (from === undefined) continue;
      total += await watcher.rederive(from, this.#observe);
    }
    return total;
  }

  /** Metrics, each read bounded: a dead Redis or RPC leaves its gauges as they were, never hangs. */
  async #metricsText(): Promise<string> {
    const now = Date.now();
    await Promise.all(
      this.queues.opened().map(async (queue) => {
        const counts = await withTimeout(
          queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'),
          2_000,
          'queue counts',
        );
        for (const [state, n] of Object.entries(counts))
          this.metrics.queueDepth.set({ queue: queue.name, state }, n);
        const [oldest] = await withTimeout(queue.getWaiting(0, 0), 2_000, 'oldest job');
        this.metrics.oldestJobAge.set(
          { stage: queue.name.replace(/^\{/, '').split('-')[0]!.replace(/\}$/, '') },
          oldest ? (now - oldest.timestamp) / 1000 : 0,
        );
      }),
    ).catch(() => undefined);
    await Promise.all(
      this.#adapters.watchers.map(async (w) =>
        this.metrics.headLag.set(
          { chain: w.chain },
          await withTimeout(w.lag(), 2_000, 'lag').catch(() => -1),
        ),
      ),
    );
    return this.metrics.registry.metrics();
  }

  async #readiness() {
    // Each check bounded (readiness.ts): a dead RPC or Redis makes its check fail, not /readyz hang.
    const checks = await runReadiness([
      redisReadiness(this.redis, redisWhere(this.#p.config.redis)),
      ...(this.#adapters.readiness ?? []),
    ]);
    const ok = !this.#stopping && Object.values(checks).every((c) => c.ok);
    return { status: ok ? 200 : 503, json: { ok, checks } };
  }

  /** Stops taking work, finishes or hands back in-flight jobs, and exits within `graceMs`. */
  async stop(graceMs = this.#p.config.shutdownGraceMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    const graceful = Promise.allSettled(this.#running.reverse().map((r) => r.stop()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([graceful.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#p.logger.warn({ graceMs }, 'grace period over; unfinished jobs go back to the queue as stalled');
      await Promise.allSettled(this.#running.map((r) => r.abort?.()));
    }
    await Promise.allSettled(this.#leases.map((l) => l.release()));
    await this.#adapters.close?.().catch(() => undefined);
    await this.#recorder?.close();
    await this.queues.close().catch(() => undefined);
    this.redis.disconnect();
    this.#records.disconnect();
  }
}
