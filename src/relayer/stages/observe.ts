import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import { type Origin, originKey, requestJobId } from '../../protocol/origin.js';
import { type RequestJob, requestJobSchema } from '../../protocol/request-job.js';
import { type JourneyStore, terminalStages } from '../journey.js';
import type { TapeObservation } from '../../protocol/tape.js';
import type { RelayerMetrics } from '../metrics.js';
import type { WatchSink } from '../ports.js';
import type { PendingIndex, RecentlyConfirmed } from '../pending.js';
import type { RelayerQueues } from '../queues.js';

export type ObserveStageParameters = {
  queues: RelayerQueues;
  journeys: JourneyStore;
  pending: PendingIndex;
  metrics: RelayerMetrics;
  logger: Logger;
  /** Called once for each newly queued request, with its raw message (the tape recorder). */
  onRequest?: ((job: RequestJob, observation?: TapeObservation) => void) | undefined;
  /**
   * A request seen again whose job already finished: after a reorg (or a restart that rescans)
   * its answer may have been undone on chain. Given the job, this checks the chain and, if the
   * request is pending again, sends it back through the stage where it stopped.
   */
  reconsider?: ((job: RequestJob, existing: Job) => Promise<void>) | undefined;
  confirmed?: RecentlyConfirmed | undefined;
  /** Told first when a chain reorganised (destinations re-read their nonces). */
  onReorg?: ((chain: string) => Promise<void>) | undefined;
};

/** A request waiting for the next write to the queues, with its caller's promise. */
type Waiting = {
  job: RequestJob;
  observation: TapeObservation | undefined;
  done: { resolve: () => void; reject: (error: unknown) => void };
};

/** At most this many requests go to Redis in one write (a watcher's burst is cut in these). */
const MAX_WRITE = 256;

/**
 * Stage 1–2, watch → queue: every request a watcher reports becomes one job on its cluster's
 * queue, whose id is the request's id. A request reported again finds its job id taken and
 * changes nothing.
 *
 * Requests reported while a write is under way go together in the next one: one `addBulk` per
 * cluster queue and one pipelined round of journey starts, instead of five or six round trips
 * each. A lone request is written at once; a burst costs a few round trips per write, not per
 * request. Each caller's promise settles when its own request is queued (or refused).
 */
export class ObserveStage implements WatchSink {
  readonly #p: ObserveStageParameters;
  #waiting: Waiting[] = [];
  #writing: Promise<void> | null = null;

  constructor(parameters: ObserveStageParameters) {
    this.#p = parameters;
  }

  async request(input: RequestJob, observation?: TapeObservation): Promise<void> {
    const parsed = requestJobSchema.safeParse(input);
    if (!parsed.success) {
      this.rejected(
        String((input as { observed?: { chain?: string } })?.observed?.chain ?? 'unknown'),
        `request job: ${parsed.error.issues[0]?.message}`,
      );
      return;
    }
    const job = parsed.data;
    if (job.deadline * 1000 <= Date.now()) return this.#expired(job);
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ job, observation, done: { resolve, reject } });
      this.#writing ??= this.#writeAll();
    });
  }

  /** Writes what is waiting, then what came meanwhile, until nothing waits. */
  async #writeAll(): Promise<void> {
    // Requests reported in the same turn of the event loop join the first write.
    try {
      await Promise.resolve();
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_WRITE);
        try {
          await this.#write(batch);
        } catch (error) {
          for (const w of batch) w.done.reject(error);
        }
      }
    } finally {
      // Cleared in the same turn as the last look at the queue: a request pushed after this
      // starts a write of its own.
      this.#writing = null;
    }
  }

  async #write(batch: Waiting[]): Promise<void> {
    const { queues, pending } = this.#p;
    // One request reported twice in a batch is written once; both callers learn of it.
    const byId = new Map<string, Waiting[]>();
    for (const w of batch) appendTo(byId, requestJobId(w.job.origin, w.job.requestId), w);
    const unique = [...byId].map(([jobId, all]) => ({ jobId, ...all[0]! }));
    const byCluster = new Map<`0x${string}`, typeof unique>();
    for (const u of unique) appendTo(byCluster, u.job.cluster, u);
    // The journey's first stages take the time of the write: a worker may take a job (and its
    // `dispatched` be recorded, at its event's time) before the journey's start is written.
    const at = Date.now();
    await Promise.all([
      ...[...byCluster].map(([cluster, list]) =>
        queues
          .requests(cluster)
          .addBulk(list.map(({ job, jobId }) => ({ name: 'request', data: job, opts: { jobId } }))),
      ),
      ...unique.map(({ job, jobId }) => pending.add(job.observed.chain, jobId, job.observed.blockNumber)),
    ]);
    await Promise.all(
      unique.map(async ({ job, jobId, observation }) => {
        const waiting = byId.get(jobId)!;
        try {
          await this.#started(job, jobId, observation, at);
          for (const w of waiting) w.done.resolve();
        } catch (error) {
          for (const w of waiting) w.done.reject(error);
        }
      }),
    );
  }

  /**
   * After its job is queued: the first relayer to get here records the request's start (two can
   * race to it; the add is idempotent). A request seen again whose job finished is reconsidered.
   */
  async #started(
    job: RequestJob,
    jobId: string,
    observation: TapeObservation | undefined,
    at: number,
  ): Promise<void> {
    const queue = this.#p.queues.requests(job.cluster);
    const first = await this.#p.journeys.start(
      jobId,
      [
        {
          stage: 'observed',
          at,
          chain: job.observed.chain,
          blockNumber: job.observed.blockNumber,
          ...(job.observed.txHash ? { txHash: job.observed.txHash } : {}),
        },
        { stage: 'queued', at, detail: queue.name },
      ],
      { origin: originKey(job.origin), contractId: job.contractId },
    );
    if (!first) {
      await this.#seenAgain(job, jobId);
      // The write above put a request seen again back in the pending index: one that ended (and
      // was not sent back on its way) must not hold its chain's low-water mark for ever.
      const summary = await this.#p.journeys.summary(jobId);
      if (summary && terminalStages.has(summary.state))
        await this.#p.pending.remove(job.observed.chain, jobId);
      return;
    }
    this.#p.metrics.observed.inc({ origin: job.origin.kind });
    this.#p.onRequest?.(job, observation);
    this.#p.logger.info(
      { jobId, chain: job.observed.chain, block: job.observed.blockNumber },
      'request queued',
    );
  }

  /**
   * A request whose job exists already: reconsidered if that job finished (its answer may have
   * been undone). False when there is no job.
   */
  async #seenAgain(job: RequestJob, jobId: string): Promise<boolean> {
    const existing = await this.#p.queues.requests(job.cluster).getJob(jobId);
    if (!existing) return false;
    if (this.#p.reconsider && (await existing.isCompleted())) await this.#p.reconsider(job, existing);
    return true;
  }

  /** A request whose deadline passed before it was seen: recorded, and ended as dead. */
  async #expired(job: RequestJob): Promise<void> {
    const jobId = requestJobId(job.origin, job.requestId);
    if (await this.#seenAgain(job, jobId)) return;
    await this.#p.pending.add(job.observed.chain, jobId, job.observed.blockNumber);
    await this.#p.journeys.record(
      jobId,
      { stage: 'observed', chain: job.observed.chain, blockNumber: job.observed.blockNumber },
      { origin: originKey(job.origin), contractId: job.contractId },
    );
    await this.#finish(jobId, job.observed.chain, 'dead', 'deadline passed before the request was seen');
  }

  async cancelled(
    origin: Origin,
    requestId: `0x${string}`,
    detail?: { chain: string; txHash?: string },
  ): Promise<void> {
    const jobId = requestJobId(origin, requestId);
    await this.#finish(jobId, detail?.chain, 'cancelled', detail?.txHash ? `tx ${detail.txHash}` : undefined);
  }

  async fulfilled(
    origin: Origin,
    requestId: `0x${string}`,
    detail: { chain: string; txHash?: string },
  ): Promise<void> {
    // Our own submitter records `confirmed`; this only closes requests someone else answered.
    const jobId = requestJobId(origin, requestId);
    await this.#p.pending.remove(detail.chain, jobId);
  }

  async reorged(chain: string, afterBlock: number): Promise<void> {
    await this.#p.onReorg?.(chain);
    if (!this.#p.confirmed || !this.#p.reconsider) return;
    const answered = await this.#p.confirmed.after(chain, afterBlock);
    this.#p.logger.warn(
      { chain, afterBlock, answers: answered.length },
      'reorg: re-checking answers in the undone blocks',
    );
    for (const { cluster, jobId } of answered) {
      const existing = await this.#p.queues.requests(cluster).getJob(jobId);
      const parsed = existing ? requestJobSchema.safeParse(existing.data) : undefined;
      if (existing && parsed?.success) await this.#p.reconsider(parsed.data, existing);
    }
  }

  rejected(chain: string, reason: string): void {
    this.#p.metrics.errors.inc({ kind: 'bad-chain-data' });
    this.#p.logger.warn({ chain, reason }, 'ignored malformed chain data');
  }

  async #finish(
    jobId: string,
    chain: string | undefined,
    stage: 'cancelled' | 'dead',
    detail?: string,
  ): Promise<void> {
    try {
      const summary = await this.#p.journeys.summary(jobId);
      if (summary && (summary.state === 'confirmed' || summary.state === stage)) return;
      await this.#p.journeys.record(jobId, {
        stage,
        ...(chain ? { chain } : {}),
        ...(detail ? { detail } : {}),
      });
      if (chain) await this.#p.pending.remove(chain, jobId);
    } catch (error) {
      this.#p.logger.error({ jobId, err: errorMessage(error) }, 'could not record request end');
    }
  }
}

/** Adds `value` to the list under `key` (Map.groupBy needs Node 21). */
function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
