import type { Logger } from 'pino';
import { originKey, requestJobId } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type { JourneyStore } from '../journey.js';
import type { RelayerMetrics } from '../metrics.js';
import type { PendingIndex, RecentlyConfirmed } from '../pending.js';
import type { SubmitItem, XcmDelivery } from '../ports.js';

export type ItemOutcomesParameters = {
  journeys: JourneyStore;
  pending: PendingIndex;
  confirmed: RecentlyConfirmed;
  metrics: RelayerMetrics;
  logger: Logger;
  /** Sends a request back to the workers (its answer was computed on state that moved on). */
  rerun: (request: RequestJob) => Promise<void>;
};

/**
 * Where a request's journey ends, whichever stage ends it: the journey's last stage, the
 * `completed` metric, and the request leaving the pending index (its origin chain's low-water
 * mark). Prepare ends the requests nothing needs to be sent for; confirm ends the rest.
 */
export class ItemOutcomes {
  readonly #p: ItemOutcomesParameters;

  constructor(parameters: ItemOutcomesParameters) {
    this.#p = parameters;
  }

  async delivered(
    { request }: SubmitItem,
    chain: string,
    tx: { txHash: string; blockNumber: number; gasUsed: bigint },
    xcm?: XcmDelivery,
  ): Promise<void> {
    const jobId = requestJobId(request.origin, request.requestId);
    if (xcm?.sent)
      await this.#p.journeys.record(jobId, {
        stage: 'xcm-sent',
        ...xcm.sent,
        detail: `response ${xcm.messageId}`,
      });
    if (xcm)
      await this.#p.journeys.record(jobId, {
        stage: 'xcm-processed',
        ...(xcm.processed ?? {}),
        detail: `response ${xcm.messageId}`,
      });
    await this.#p.journeys.record(jobId, {
      stage: 'confirmed',
      chain,
      txHash: tx.txHash,
      blockNumber: tx.blockNumber,
    });
    const origin = request.origin.kind;
    this.#p.metrics.completed.inc({ origin, outcome: 'fulfilled' });
    this.#p.metrics.endToEnd.observe({ origin }, (Date.now() - request.observed.at) / 1000);
    this.#p.metrics.gasSpent.inc({ chain }, Number(tx.gasUsed));
    await this.#p.confirmed.add(chain, request.cluster, jobId, tx.blockNumber);
    await this.#p.pending.remove(request.observed.chain, jobId);
  }

  /** Answered by someone else, cancelled or expired before ours landed: nothing left to do. */
  async notPending(
    { request }: SubmitItem,
    chain: string,
    status: 'already-fulfilled' | 'cancelled',
  ): Promise<void> {
    const jobId = requestJobId(request.origin, request.requestId);
    await this.#p.journeys.record(jobId, { stage: status, chain });
    this.#p.metrics.completed.inc({ origin: request.origin.kind, outcome: status });
    await this.#p.pending.remove(request.observed.chain, jobId);
  }

  /** The dead letter: no retry will help (`reason` names the chain's code or what ran out). */
  async dead({ request }: SubmitItem, chain: string, reason: string): Promise<void> {
    const jobId = requestJobId(request.origin, request.requestId);
    await this.#p.journeys.record(jobId, { stage: 'dead', chain, detail: reason.slice(0, 500) });
    this.#p.metrics.completed.inc({ origin: request.origin.kind, outcome: 'dead' });
    await this.#p.pending.remove(request.observed.chain, jobId);
    this.#p.logger.error({ jobId, origin: originKey(request.origin), reason }, 'request dead-lettered');
  }

  async rerun({ request }: SubmitItem, chain: string, reason: string): Promise<void> {
    const jobId = requestJobId(request.origin, request.requestId);
    await this.#p.journeys.record(jobId, { stage: 'retry', chain, detail: `${reason}; running again` });
    await this.#p.rerun(request);
  }
}
