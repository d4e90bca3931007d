import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import { type Origin, originKey, requestJobId } from '../../protocol/origin.js';
import { type RequestJob, requestJobSchema } from '../../protocol/request-job.js';
import type { JourneyStore } from '../journey.js';
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

/**
 * Stage 1–2, watch → queue: every request a watcher reports becomes one job on its cluster's
 * queue, whose id is the request's id. A request reported again finds its job id taken and
 * changes nothing.
 */
export class ObserveStage implements WatchSink {
  readonly #p: ObserveStageParameters;

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
    const jobId = requestJobId(job.origin, job.requestId);
    const queue = this.#p.queues.requests(job.cluster);
    const existing = await queue.getJob(jobId);
    if (existing) {
      if (this.#p.reconsider && (await existing.isCompleted())) await this.#p.reconsider(job, existing);
      return;
    }
    const origin = originKey(job.origin);
    await this.#p.pending.add(job.observed.chain, jobId, job.observed.blockNumber);
    if (job.deadline * 1000 <= Date.now()) {
      await this.#p.journeys.record(
        jobId,
        { stage: 'observed', chain: job.observed.chain, blockNumber: job.observed.blockNumber },
        { origin, contractId: job.contractId },
      );
      await this.#finish(jobId, job.observed.chain, 'dead', 'deadline passed before the request was seen');
      return;
    }
    await queue.add('request', job, { jobId });
    // Two relayers can race to here; the add is idempotent, and only the first records the journey.
    if (!(await this.#p.journeys.claim(jobId))) return;
    this.#p.metrics.observed.inc({ origin: job.origin.kind });
    await this.#p.journeys.record(
      jobId,
      {
        stage: 'observed',
        chain: job.observed.chain,
        blockNumber: job.observed.blockNumber,
        ...(job.observed.txHash ? { txHash: job.observed.txHash } : {}),
      },
      { origin, contractId: job.contractId },
    );
    await this.#p.journeys.record(jobId, { stage: 'queued', detail: queue.name });
    this.#p.onRequest?.(job, observation);
    this.#p.logger.info(
      { jobId, chain: job.observed.chain, block: job.observed.blockNumber },
      'request queued',
    );
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
